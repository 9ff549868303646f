-- meta held only ('schema_version', '1'); PRAGMA user_version is the schema's version now.
DROP TABLE meta;
