-- The cohort view's input: how many rows share each (theme, block, score, insufficient).
-- Scores are 4-decimal, so there are at most 10,001 per theme and block however large the
-- cohort; means, medians and shares are then computed exactly from these counts in Polars.
SELECT
    m.theme_id,
    m.block_id,
    CAST(round(m.mastery_score * 10000) AS bigint) AS mastery_units,
    (m.breakdown_json ->> 'reason') IS NOT NULL AS insufficient,
    count(*) AS n
FROM user_theme_mastery AS m
GROUP BY 1, 2, 3, 4
