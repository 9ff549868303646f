-- interviews.erased_at holds a time in seconds, but was added as TEXT (so a float came back
-- as a string such as '1796591416.46528'): rebuild the table with a REAL column and convert the
-- stored values. The rowids are kept, and the index is recreated.
CREATE TABLE interviews_new (
  id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id), org_id TEXT NOT NULL,
  candidate TEXT NOT NULL, language TEXT NOT NULL, status TEXT NOT NULL, plan TEXT NOT NULL,
  nonce TEXT NOT NULL, expires_at REAL NOT NULL, flow TEXT, consent TEXT, device_check TEXT,
  created_at REAL NOT NULL, updated_at REAL NOT NULL, owner TEXT, erased_at REAL);
INSERT INTO interviews_new(rowid, id, job_id, org_id, candidate, language, status, plan, nonce,
  expires_at, flow, consent, device_check, created_at, updated_at, owner, erased_at)
SELECT rowid, id, job_id, org_id, candidate, language, status, plan, nonce, expires_at, flow,
  consent, device_check, created_at, updated_at, owner, CAST(NULLIF(erased_at, '') AS REAL)
FROM interviews;
DROP TABLE interviews;
ALTER TABLE interviews_new RENAME TO interviews;
CREATE INDEX interviews_job ON interviews(job_id, status);
