"""One repository per group of tables; :class:`server.storage.store.Store` combines them.

Every repository issues its SQL through :class:`server.storage.db.Database`, so all of it runs
on the one database thread, each method in one short transaction.
"""
