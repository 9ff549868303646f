"""The database thread and the store (SQL lives here)."""
