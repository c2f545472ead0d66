-- The per-student path's extract (pipeline.run.fresh): extract_attempts.sql for a list of users,
-- with no partition and no "all users" branch, so the plan the server keeps for this prepared
-- statement is always the index lookup by user (ix_test_sessions_user_submitted), never a scan
-- of the window (a generic plan for extract_attempts.sql cannot know the user list is not empty).
-- Each session's answers and session questions are read as two range scans of their
-- (session_id, question_id) keys, merged in key order (the OFFSET 0 keeps that per-session join
-- apart), not one key lookup of session_questions per answer: half the work on the server.
-- Columns, bounds and the snapshot rule as in extract_attempts.sql.
SELECT
    CAST(s.user_id AS text) AS user_id,
    CAST(x.session_id AS text) AS session_id,
    CAST(x.question_id AS text) AS question_id,
    x.is_correct,
    CASE
        WHEN x.answered_at >= CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)
            THEN CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)
        WHEN x.answered_at < CAST('1900-01-01 00:00:00+00' AS timestamptz)
            THEN CAST('1899-12-31 23:59:59.999999+00' AS timestamptz)
        ELSE x.answered_at
    END AS answered_at,
    s.submitted_at,
    qv.year AS qv_year,
    qv.block_id AS qv_block_id,
    qv.theme_id AS qv_theme_id,
    substr(qv.difficulty, 1, 1000) AS qv_difficulty,
    CASE
        WHEN qv.year IS NULL OR qv.block_id IS NULL OR qv.theme_id IS NULL OR qv.difficulty IS NULL
        THEN CAST(x.snapshot_json AS text)
    END AS snapshot_json
FROM test_sessions AS s
CROSS JOIN LATERAL (
    SELECT
        a.session_id, a.question_id, a.is_correct, a.answered_at, sq.question_version_id,
        sq.snapshot_json
    FROM session_answers AS a
    JOIN session_questions AS sq ON sq.question_id = a.question_id
    WHERE a.session_id = s.id AND sq.session_id = s.id
    OFFSET 0
) AS x
LEFT JOIN question_versions AS qv ON qv.id = x.question_version_id
WHERE s.status IN ('SUBMITTED', 'EXPIRED')
    AND s.submitted_at IS NOT NULL
    AND s.submitted_at >= CAST(:window_start AS timestamptz)
    AND s.submitted_at <= CAST(:as_of AS timestamptz)
    AND s.user_id = ANY (CAST(string_to_array(:user_ids, ',') AS uuid[]))
