-- Every mastery row with its theme and block names, for notebooks (scores as 0.0001 units).
SELECT
    CAST(m.user_id AS text) AS user_id,
    m.theme_id,
    t.title AS theme_title,
    m.block_id,
    b.name AS block_name,
    m.attempts_total,
    m.correct_total,
    CAST(round(m.mastery_score * 10000) AS bigint) AS mastery_units,
    (m.breakdown_json ->> 'reason') IS NOT NULL AS insufficient,
    m.last_attempt_at
FROM user_theme_mastery AS m
JOIN themes AS t ON t.id = m.theme_id
JOIN blocks AS b ON b.id = m.block_id
