INSERT INTO algo_runs (
    id, algo_version_id, params_id, user_id, trigger, status, started_at, input_summary_json
)
VALUES (
    :id, :algo_version_id, :params_id, :user_id, :trigger, 'RUNNING', CAST(:started_at AS timestamptz),
    :input_summary_json
)
