-- Attempt counters shared by every process on the database (see SQLite's 0006).
CREATE TABLE attempts (
  kind TEXT NOT NULL, digest TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
  expires_at DOUBLE PRECISION NOT NULL);
CREATE INDEX attempts_key ON attempts(kind, digest, at);
CREATE INDEX attempts_expiry ON attempts(expires_at);
