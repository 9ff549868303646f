-- Attempt counters against guessing (login per account and per address, invitation links per
-- address) when no Redis is configured: one row per counted attempt, in the database every
-- process of a deployment shares, so N processes allow the documented numbers, not N times
-- them (server.security.ratelimit.DatabaseLimits). ``digest`` is a hash of the
-- account or address, never the text; rows leave one window after the attempt.
CREATE TABLE attempts (
  kind TEXT NOT NULL, digest TEXT NOT NULL, at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX attempts_key ON attempts(kind, digest, at);
CREATE INDEX attempts_expiry ON attempts(expires_at);
