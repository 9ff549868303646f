-- The schema as the code before numbered migrations (commit 8de6b64) left a database: its
-- CREATE statements plus the columns its start-up check appended (interviews.owner,
-- interviews.erased_at, orgs.settings, recordings.deleted_at, resume_batches.node,
-- candidates.claimed_by), all of them TEXT. IF NOT EXISTS: a database made by that code is
-- adopted by this migration (server.storage.migrate first adds the columns it lacks).
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '1');
CREATE TABLE IF NOT EXISTS orgs (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL, settings TEXT);
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL, role TEXT NOT NULL, department TEXT NOT NULL DEFAULT '',
  active INTEGER NOT NULL DEFAULT 1, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS staff_tokens (
  token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS questions (
  id TEXT PRIMARY KEY, org_id TEXT REFERENCES orgs(id), data TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), title TEXT NOT NULL,
  department TEXT NOT NULL, data TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS interviews (
  id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id), org_id TEXT NOT NULL,
  candidate TEXT NOT NULL, language TEXT NOT NULL, status TEXT NOT NULL, plan TEXT NOT NULL,
  nonce TEXT NOT NULL, expires_at REAL NOT NULL, flow TEXT, consent TEXT, device_check TEXT,
  created_at REAL NOT NULL, updated_at REAL NOT NULL, owner TEXT, erased_at TEXT);
CREATE INDEX IF NOT EXISTS interviews_job ON interviews(job_id, status);
CREATE TABLE IF NOT EXISTS answers (
  id TEXT PRIMARY KEY, interview_id TEXT NOT NULL REFERENCES interviews(id), idx INTEGER NOT NULL,
  question_id TEXT NOT NULL, status TEXT NOT NULL, started_at REAL, ended_at REAL,
  answer_used_s REAL NOT NULL DEFAULT 0, end_reason TEXT, scratchpad TEXT NOT NULL DEFAULT '',
  text_answer TEXT NOT NULL DEFAULT '', UNIQUE(interview_id, idx));
CREATE TABLE IF NOT EXISTS recordings (
  id TEXT PRIMARY KEY, answer_id TEXT NOT NULL REFERENCES answers(id), interview_id TEXT NOT NULL,
  seq INTEGER NOT NULL, path TEXT NOT NULL, container TEXT NOT NULL, duration_s REAL NOT NULL,
  video_frames INTEGER NOT NULL, audio_packets INTEGER NOT NULL, bytes INTEGER NOT NULL,
  created_at REAL NOT NULL, media_start_s REAL, deleted_at TEXT);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, interview_id TEXT, org_id TEXT, at REAL NOT NULL,
  kind TEXT NOT NULL, actor TEXT NOT NULL DEFAULT '', data TEXT NOT NULL DEFAULT '{}',
  prev_hash TEXT, hash TEXT);
CREATE INDEX IF NOT EXISTS events_interview ON events(interview_id, id);
CREATE TABLE IF NOT EXISTS analysis_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, interview_id TEXT NOT NULL, type TEXT NOT NULL,
  question_index INTEGER, t REAL NOT NULL, data TEXT NOT NULL, created_at REAL NOT NULL,
  event_id TEXT);
CREATE INDEX IF NOT EXISTS analysis_interview ON analysis_events(interview_id, type, id);
-- events re-delivered from the Redis results stream carry the same id: stored once
CREATE UNIQUE INDEX IF NOT EXISTS analysis_event_id ON analysis_events(event_id)
  WHERE event_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS reviews (
  interview_id TEXT NOT NULL REFERENCES interviews(id), reviewer_id TEXT NOT NULL,
  reviewer TEXT NOT NULL, dimension TEXT NOT NULL, value REAL NOT NULL, comment TEXT NOT NULL,
  created_at REAL NOT NULL, PRIMARY KEY (interview_id, reviewer_id, dimension));
CREATE TABLE IF NOT EXISTS decisions (
  interview_id TEXT NOT NULL REFERENCES interviews(id), reviewer_id TEXT NOT NULL,
  reviewer TEXT NOT NULL, recommendation TEXT NOT NULL, comment TEXT NOT NULL,
  created_at REAL NOT NULL, PRIMARY KEY (interview_id, reviewer_id));
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL,
  events TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL REFERENCES webhooks(id), event TEXT NOT NULL,
  payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at REAL NOT NULL, last_status INTEGER, last_error TEXT,
  created_at REAL NOT NULL, delivered_at REAL);
CREATE TABLE IF NOT EXISTS outbox (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, interview_id TEXT NOT NULL, kind TEXT NOT NULL,
  recipient TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,
  error TEXT, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE TABLE IF NOT EXISTS candidates (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, job_id TEXT NOT NULL REFERENCES jobs(id),
  batch_id TEXT, filename TEXT NOT NULL, file_path TEXT, file_sha256 TEXT NOT NULL,
  file_bytes INTEGER NOT NULL, profile TEXT NOT NULL, resume_text TEXT NOT NULL,
  match TEXT NOT NULL, score REAL NOT NULL, eligible INTEGER NOT NULL, status TEXT NOT NULL,
  interview_id TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL, claimed_by TEXT,
  UNIQUE(job_id, file_sha256));
CREATE INDEX IF NOT EXISTS candidates_job ON candidates(job_id, score);
CREATE TABLE IF NOT EXISTS training_courses (
  id INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT NOT NULL, course TEXT NOT NULL,
  competency TEXT NOT NULL, level TEXT NOT NULL, link TEXT NOT NULL, description TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS training_org ON training_courses(org_id, competency);
CREATE TABLE IF NOT EXISTS resume_batches (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, job_id TEXT NOT NULL, actor TEXT NOT NULL,
  total INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL, result TEXT, created_at REAL NOT NULL, finished_at REAL, node TEXT);
