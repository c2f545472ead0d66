-- Upsert computed rows; a row that exists keeps its id (SPEC §3).
INSERT INTO user_theme_mastery AS m (
    id, user_id, year, block_id, theme_id, attempts_total, correct_total, accuracy_pct,
    mastery_score, last_attempt_at, computed_at, algo_version_id, params_id, run_id, breakdown_json
)
SELECT
    gen_random_uuid(), s.user_id, s.year, s.block_id, s.theme_id, s.attempts_total,
    s.correct_total, s.accuracy_pct, s.mastery_score, s.last_attempt_at,
    CAST(:computed_at AS timestamptz), CAST(:algo_version_id AS uuid), CAST(:params_id AS uuid),
    CAST(:run_id AS uuid), CAST(s.breakdown_json AS {{json}})
FROM mastery_stage AS s
WHERE NOT s.stale
ON CONFLICT (user_id, theme_id) DO UPDATE SET
    year = excluded.year,
    block_id = excluded.block_id,
    attempts_total = excluded.attempts_total,
    correct_total = excluded.correct_total,
    accuracy_pct = excluded.accuracy_pct,
    mastery_score = excluded.mastery_score,
    last_attempt_at = excluded.last_attempt_at,
    computed_at = excluded.computed_at,
    algo_version_id = excluded.algo_version_id,
    params_id = excluded.params_id,
    run_id = excluded.run_id,
    breakdown_json = excluded.breakdown_json
