-- recordings.deleted_at was never written nor read: a deleted recording's row is removed (see
-- the retention sweep and erasure), so the column goes. A rebuild rather than
-- ALTER TABLE DROP COLUMN, which SQLite before 3.35 lacks. The rowids are kept.
CREATE TABLE recordings_new (
  id TEXT PRIMARY KEY, answer_id TEXT NOT NULL REFERENCES answers(id), interview_id TEXT NOT NULL,
  seq INTEGER NOT NULL, path TEXT NOT NULL, container TEXT NOT NULL, duration_s REAL NOT NULL,
  video_frames INTEGER NOT NULL, audio_packets INTEGER NOT NULL, bytes INTEGER NOT NULL,
  created_at REAL NOT NULL, media_start_s REAL);
INSERT INTO recordings_new(rowid, id, answer_id, interview_id, seq, path, container, duration_s,
  video_frames, audio_packets, bytes, created_at, media_start_s)
SELECT rowid, id, answer_id, interview_id, seq, path, container, duration_s, video_frames,
  audio_packets, bytes, created_at, media_start_s
FROM recordings;
DROP TABLE recordings;
ALTER TABLE recordings_new RENAME TO recordings;
