-- The session questions of the window's sessions, each with its session's row number in
-- extract_sessions.sql (session_index, as in extract_session_answers.sql).
-- The snapshot is sent only for a row without a version here (it is the fallback, and JSON
-- is the costly column); rows whose version lacks a field, or names no stored version, are read
-- again with their snapshot by extract_session_snapshots*.sql (none on conforming data). No join
-- with question_versions here: it doubled this read's time on the M cohort.
SELECT
    w.session_index,
    sq.question_id,
    sq.question_version_id,
    CASE WHEN sq.question_version_id IS NULL THEN CAST(sq.snapshot_json AS text) END AS snapshot_json
FROM session_questions AS sq
JOIN (
    SELECT s.id, CAST(row_number() OVER (ORDER BY s.id) - 1 AS int) AS session_index
    FROM test_sessions AS s
    WHERE {{session_in_window(s)}}
        AND {{user_in_scope(s.user_id)}}
        AND {{user_in_partition(s.user_id)}}
) AS w ON w.id = sq.session_id
