-- A recording's path is kept relative to the recordings folder ("<interview id>/<file>"), as on
-- SQLite (see its 0005): rows whose path ends in "/<interview id>/<file>" lose the prefix.
UPDATE recordings
SET path = interview_id || '/' || substring(path from '[^/]*$')
WHERE right(left(path, length(path) - length(substring(path from '[^/]*$'))),
            length(interview_id) + 2)
  = '/' || interview_id || '/';
