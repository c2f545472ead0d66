-- One student's mastery rows with the block and theme names the report prints.
-- Scores come as integer units of 0.0001 so no back end turns them into floats.
-- The breakdown comes as text; the report parses it (only this student's handful of rows).
SELECT
    m.theme_id,
    t.title AS theme_title,
    m.block_id,
    b.name AS block_name,
    m.attempts_total,
    m.correct_total,
    CAST(round(m.mastery_score * 10000) AS bigint) AS mastery_units,
    (m.breakdown_json ->> 'reason') IS NOT NULL AS insufficient,
    CAST(m.breakdown_json ->> 'required' AS int) AS required_attempts,
    CAST(m.breakdown_json AS text) AS breakdown_json,
    m.last_attempt_at
FROM user_theme_mastery AS m
JOIN themes AS t ON t.id = m.theme_id
JOIN blocks AS b ON b.id = m.block_id
WHERE m.user_id = CAST(:user_id AS uuid)
ORDER BY m.theme_id
