CREATE TABLE IF NOT EXISTS algo_versions (
    id uuid PRIMARY KEY,
    algo_key text NOT NULL,
    version text NOT NULL,
    status text NOT NULL CHECK (status IN ('ACTIVE', 'DEPRECATED')),
    description text,
    created_at timestamptz DEFAULT now(),
    UNIQUE (algo_key, version)
);
