-- Attempts of SPEC §4 in the window and scope, with the version's frozen tags; the snapshot is
-- sent only when a version field is missing (it is the fallback, and JSON is the costly column).
-- With :partitions > 1, only the users whose stable hash falls in :partition.
-- answered_at leaves clamped to plain instants (answered_at_clamped: pipeline.io.sqlfiles),
-- which screen_attempts treats as after any as_of, or as a null answered_at. submitted_at needs
-- no care: the window bounds it.
-- A difficulty is cut to 1,000 characters: no difficulty name is longer, and a 10 MB one would
-- otherwise be copied into every attempt of its question (it stays unknown, and is counted).
SELECT
    CAST(s.user_id AS text) AS user_id,
    CAST(a.session_id AS text) AS session_id,
    CAST(a.question_id AS text) AS question_id,
    a.is_correct,
    {{answered_at_clamped(a)}} AS answered_at,
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
WHERE {{session_in_window(s)}}
    AND {{user_in_scope(s.user_id)}}
    AND {{user_in_partition(s.user_id)}}
