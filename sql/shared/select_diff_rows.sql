-- The stored rows `mastery diff` compares against (scores as text: exact decimals).
SELECT
    CAST(user_id AS text) AS user_id,
    theme_id,
    CAST(mastery_score AS text) AS mastery_score,
    CAST(breakdown_json AS text) AS breakdown_json,
    CAST(run_id AS text) AS run_id
FROM user_theme_mastery
