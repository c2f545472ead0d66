-- Attempts of SPEC §4 in the window and scope, with the version's frozen tags; the snapshot is
-- sent only when a version field is missing (it is the fallback, and JSON is the costly column).
-- With :partitions > 1, only the users whose stable hash falls in :partition.
SELECT
    CAST(s.user_id AS text) AS user_id,
    CAST(a.session_id AS text) AS session_id,
    CAST(a.question_id AS text) AS question_id,
    a.is_correct,
    a.answered_at,
    s.submitted_at,
    qv.year AS qv_year,
    qv.block_id AS qv_block_id,
    qv.theme_id AS qv_theme_id,
    qv.difficulty AS qv_difficulty,
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
    AND {{user_in_scope(s.user_id)}}
    AND {{user_in_partition(s.user_id)}}
