-- The session questions of the window's sessions (a semi-join on extract_sessions.sql's).
-- The snapshot is sent only for a row without a version here (it is the fallback, and JSON
-- is the costly column); rows whose version lacks a field, or names no stored version, are read
-- again with their snapshot by extract_session_snapshots*.sql (none on conforming data). No join
-- with question_versions here: it doubled this read's time on the M cohort.
SELECT
    sq.session_id,
    sq.question_id,
    sq.question_version_id,
    CASE WHEN sq.question_version_id IS NULL THEN CAST(sq.snapshot_json AS text) END AS snapshot_json
FROM session_questions AS sq
WHERE sq.session_id IN (
    SELECT s.id
    FROM test_sessions AS s
    WHERE s.status IN ('SUBMITTED', 'EXPIRED')
        AND s.submitted_at IS NOT NULL
        AND s.submitted_at >= CAST(:window_start AS timestamptz)
        AND s.submitted_at <= CAST(:as_of AS timestamptz)
        AND {{user_in_scope(s.user_id)}}
        AND {{user_in_partition(s.user_id)}}
)
