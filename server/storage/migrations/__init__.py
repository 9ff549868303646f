"""The numbered schema migrations: ``NNNN_name.sql``, applied in order by
:mod:`server.storage.migrate`, each in its own transaction that sets ``PRAGMA user_version``
to its number. A migration, once released, is never edited: change the schema with a new one.
"""
