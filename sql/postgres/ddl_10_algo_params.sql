CREATE TABLE IF NOT EXISTS algo_params (
    id uuid PRIMARY KEY,
    algo_version_id uuid NOT NULL REFERENCES algo_versions (id),
    params_json jsonb NOT NULL,
    checksum text NOT NULL,
    is_active boolean NOT NULL,
    created_at timestamptz DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_algo_params_one_active
    ON algo_params (algo_version_id) WHERE is_active;
