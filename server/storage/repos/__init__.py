"""One repository per group of tables; :class:`server.storage.store.Store` combines them.

Every repository issues its SQL through :class:`server.storage.db.Database`, so all of it runs
on a database thread (SQLite's one, or one of PostgreSQL's pool), each method in one short
transaction, in the one dialect both backends run (see ``server.storage.db``).
"""
