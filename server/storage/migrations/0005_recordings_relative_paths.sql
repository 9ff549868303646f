-- A recording's path is kept relative to the recordings folder ("<interview id>/<file>"), so
-- nodes that mount one shared folder at different places, or whose data directories differ,
-- find the same file. Rows whose path ends in "/<interview id>/<file>" (every row the server
-- wrote: it names files that way) lose the prefix; any other path is left as it was (it is
-- still read and deleted while it lies inside the folder). rtrim(path, <its characters but
-- '/'>) is the path up to and with its last '/'.
UPDATE recordings
SET path = interview_id || '/' || substr(path, length(rtrim(path, replace(path, '/', ''))) + 1)
WHERE substr(rtrim(path, replace(path, '/', '')), -(length(interview_id) + 2))
  = '/' || interview_id || '/';
