CREATE TABLE IF NOT EXISTS algo_runs (
    id uuid PRIMARY KEY,
    algo_version_id uuid REFERENCES algo_versions (id),
    params_id uuid REFERENCES algo_params (id),
    user_id uuid,
    trigger text CHECK (trigger IN ('cli', 'schedule', 'api', 'notebook', 'test')),
    status text CHECK (status IN ('RUNNING', 'SUCCESS', 'FAILED')),
    started_at timestamptz DEFAULT now(),
    completed_at timestamptz,
    input_summary_json {{json}},
    output_summary_json {{json}},
    error_message text
);
CREATE INDEX IF NOT EXISTS ix_algo_runs_started_at ON algo_runs (started_at);
