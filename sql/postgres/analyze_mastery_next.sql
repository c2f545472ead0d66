-- Planner statistics for the rebuilt table before readers get it, on every column readers
-- filter or join on. breakdown_json is left to autovacuum's next analyze: no reader filters on
-- it, and sampling its jsonb took 60 % of this statement's time on the M cohort.
ANALYZE user_theme_mastery_next (
    id, user_id, year, block_id, theme_id, attempts_total, correct_total, accuracy_pct,
    mastery_score, last_attempt_at, computed_at, algo_version_id, params_id, run_id
)
