CREATE TABLE IF NOT EXISTS algo_params (
    id uuid PRIMARY KEY,
    algo_version_id uuid NOT NULL REFERENCES algo_versions (id),
    params_json {{json}} NOT NULL,
    checksum text NOT NULL,
    is_active boolean NOT NULL,
    created_at timestamptz DEFAULT now()
);
{{one_active_params_per_version}}
