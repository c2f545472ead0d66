-- Fill the next output table with the whole table as it stands after this run, for a rebuild
-- (see pipeline.io.store.pg_write): staged rows (an existing key keeps its id), stale rows
-- refreshed (year/block stay), and rows outside the staged keys unchanged. The same rows the
-- merge and the refresh would leave. One pass: the join feeds the insert directly, in key order
-- (one sorted pass per index built after, and a user's rows on neighbouring pages).
INSERT INTO user_theme_mastery_next (
    id, user_id, year, block_id, theme_id, attempts_total, correct_total, accuracy_pct,
    mastery_score, last_attempt_at, computed_at, algo_version_id, params_id, run_id, breakdown_json
)
SELECT
    COALESCE(m.id, gen_random_uuid()) AS id,
    COALESCE(s.user_id, m.user_id) AS user_id,
    CASE WHEN s.user_id IS NULL OR s.stale THEN m.year ELSE s.year END AS year,
    CASE WHEN s.user_id IS NULL OR s.stale THEN m.block_id ELSE s.block_id END AS block_id,
    COALESCE(s.theme_id, m.theme_id) AS theme_id,
    CASE WHEN s.user_id IS NULL THEN m.attempts_total ELSE s.attempts_total END AS attempts_total,
    CASE WHEN s.user_id IS NULL THEN m.correct_total ELSE s.correct_total END AS correct_total,
    CASE WHEN s.user_id IS NULL THEN m.accuracy_pct ELSE s.accuracy_pct END AS accuracy_pct,
    CASE WHEN s.user_id IS NULL THEN m.mastery_score ELSE s.mastery_score END AS mastery_score,
    CASE WHEN s.user_id IS NULL THEN m.last_attempt_at ELSE s.last_attempt_at END
        AS last_attempt_at,
    CASE WHEN s.user_id IS NULL THEN m.computed_at ELSE CAST(:computed_at AS timestamptz) END
        AS computed_at,
    CASE WHEN s.user_id IS NULL THEN m.algo_version_id ELSE CAST(:algo_version_id AS uuid) END
        AS algo_version_id,
    CASE WHEN s.user_id IS NULL THEN m.params_id ELSE CAST(:params_id AS uuid) END AS params_id,
    CASE WHEN s.user_id IS NULL THEN m.run_id ELSE CAST(:run_id AS uuid) END AS run_id,
    CASE WHEN s.user_id IS NULL THEN m.breakdown_json ELSE CAST(s.breakdown_json AS jsonb) END
        AS breakdown_json
FROM mastery_stage AS s
FULL JOIN user_theme_mastery AS m ON m.user_id = s.user_id AND m.theme_id = s.theme_id
ORDER BY user_id, theme_id
