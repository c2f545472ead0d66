-- Rows of the scope left without attempts become the zero-attempt result; year/block stay.
UPDATE user_theme_mastery AS m
SET
    attempts_total = s.attempts_total,
    correct_total = s.correct_total,
    accuracy_pct = s.accuracy_pct,
    mastery_score = s.mastery_score,
    last_attempt_at = s.last_attempt_at,
    computed_at = CAST(:computed_at AS timestamptz),
    algo_version_id = CAST(:algo_version_id AS uuid),
    params_id = CAST(:params_id AS uuid),
    run_id = CAST(:run_id AS uuid),
    breakdown_json = CAST(s.breakdown_json AS {{json}})
FROM mastery_stage AS s
WHERE s.stale AND m.user_id = s.user_id AND m.theme_id = s.theme_id
