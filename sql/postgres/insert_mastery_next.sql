-- Fill the next output table in key order (one sorted pass per index built after).
INSERT INTO user_theme_mastery_next (
    id, user_id, year, block_id, theme_id, attempts_total, correct_total, accuracy_pct,
    mastery_score, last_attempt_at, computed_at, algo_version_id, params_id, run_id, breakdown_json
)
SELECT
    id, user_id, year, block_id, theme_id, attempts_total, correct_total, accuracy_pct,
    mastery_score, last_attempt_at, computed_at, algo_version_id, params_id, run_id, breakdown_json
FROM mastery_next
ORDER BY user_id, theme_id
