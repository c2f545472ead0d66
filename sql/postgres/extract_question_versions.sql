-- The frozen tags of the versions the window's session questions name (:version_ids, hex,
-- comma-separated). A difficulty is cut to 1,000 characters: no difficulty name is longer, and
-- a 10 MB one would otherwise be copied into every attempt of its question (it stays unknown,
-- and is counted).
SELECT
    qv.id AS question_version_id,
    qv.year AS qv_year,
    qv.block_id AS qv_block_id,
    qv.theme_id AS qv_theme_id,
    substr(qv.difficulty, 1, 1000) AS qv_difficulty
FROM question_versions AS qv
WHERE qv.id = ANY (CAST(string_to_array(:version_ids, ',') AS uuid[]))
