-- The cohort view's input: how many rows share each (theme, block, score, evidence).
-- Scores are 4-decimal, so there are at most 10,001 per theme, block and evidence however
-- large the cohort; means, medians, spreads and state counts are then computed exactly from
-- these counts in Polars. Evidence (pipeline/reports/states.py says what each means):
-- 'insufficient' (too few attempts to score); 'unsure' (scored, but the breakdown's state is
-- not_enough_evidence or its interval is wider than :max_interval_width); 'stale' (v0: the
-- shortest recency bucket of the row's params is empty, so the score is capped); 'scored'.
WITH first_bucket AS (
    SELECT
        id AS params_id,
        CAST(params_json -> 'recency_buckets' -> 0 ->> 'days' AS text) || 'd' AS label
    FROM algo_params
),
graded AS (
    SELECT
        m.theme_id,
        m.block_id,
        CAST(round(m.mastery_score * 10000) AS bigint) AS mastery_units,
        CASE
            WHEN (m.breakdown_json ->> 'reason') IS NOT NULL THEN 'insufficient'
            WHEN m.breakdown_json ->> 'state' = 'not_enough_evidence' THEN 'unsure'
            WHEN CAST(
                    coalesce(m.breakdown_json -> 'interval' ->> 1, m.breakdown_json -> 'interval' ->> 'high')
                    AS numeric(12, 6)
                ) - CAST(
                    coalesce(m.breakdown_json -> 'interval' ->> 0, m.breakdown_json -> 'interval' ->> 'low')
                    AS numeric(12, 6)
                ) > CAST(:max_interval_width AS numeric(12, 6)) THEN 'unsure'
            WHEN CAST(m.breakdown_json -> 'buckets' -> f.label ->> 'attempts' AS bigint) = 0 THEN 'stale'
            ELSE 'scored'
        END AS evidence
    FROM user_theme_mastery AS m
    LEFT JOIN first_bucket AS f ON f.params_id = m.params_id
)
SELECT theme_id, block_id, mastery_units, evidence, count(*) AS n
FROM graded
GROUP BY 1, 2, 3, 4
