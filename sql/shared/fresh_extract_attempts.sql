-- The per-student path's extract (pipeline.run.fresh): extract_attempts.sql for a list of users,
-- with no partition and no "all users" branch, so the plan the server keeps for this prepared
-- statement is always the index lookup by user (ix_test_sessions_user_submitted), never a scan
-- of the window (a generic plan for extract_attempts.sql cannot know the user list is not empty).
-- Columns, bounds and the snapshot rule as in extract_attempts.sql.
SELECT
    CAST(s.user_id AS text) AS user_id,
    CAST(a.session_id AS text) AS session_id,
    CAST(a.question_id AS text) AS question_id,
    a.is_correct,
    CASE
        WHEN a.answered_at >= CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)
            THEN CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)
        WHEN a.answered_at < CAST('1900-01-01 00:00:00+00' AS timestamptz)
            THEN CAST('1899-12-31 23:59:59.999999+00' AS timestamptz)
        ELSE a.answered_at
    END AS answered_at,
    s.submitted_at,
    qv.year AS qv_year,
    qv.block_id AS qv_block_id,
    qv.theme_id AS qv_theme_id,
    substr(qv.difficulty, 1, 1000) AS qv_difficulty,
    CASE
        WHEN qv.year IS NULL OR qv.block_id IS NULL OR qv.theme_id IS NULL OR qv.difficulty IS NULL
        THEN CAST(sq.snapshot_json AS text)
    END AS snapshot_json
FROM test_sessions AS s
JOIN session_answers AS a ON a.session_id = s.id
JOIN session_questions AS sq ON sq.session_id = a.session_id AND sq.question_id = a.question_id
LEFT JOIN question_versions AS qv ON qv.id = sq.question_version_id
WHERE s.status IN ('SUBMITTED', 'EXPIRED')
    AND s.submitted_at IS NOT NULL
    AND s.submitted_at >= CAST(:window_start AS timestamptz)
    AND s.submitted_at <= CAST(:as_of AS timestamptz)
    AND s.user_id = ANY (CAST(string_to_array(:user_ids, ',') AS uuid[]))
