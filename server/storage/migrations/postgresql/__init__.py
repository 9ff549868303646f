"""The PostgreSQL migrations, in step with the SQLite ones one folder up: the same numbers and
names, the same tables and columns at the latest version (types: TEXT stays TEXT, REAL is
DOUBLE PRECISION, INTEGER is BIGINT, an AUTOINCREMENT key is an identity column)."""
