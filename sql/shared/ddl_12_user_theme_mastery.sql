CREATE TABLE IF NOT EXISTS user_theme_mastery (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id){{on_delete_cascade}},
    year int NOT NULL,
    block_id int NOT NULL REFERENCES blocks (id),
    theme_id int NOT NULL REFERENCES themes (id),
    attempts_total int NOT NULL,
    correct_total int NOT NULL,
    accuracy_pct numeric(5, 2) NOT NULL,
    mastery_score numeric(6, 4) NOT NULL,
    last_attempt_at timestamptz,
    computed_at timestamptz NOT NULL,
    algo_version_id uuid NOT NULL REFERENCES algo_versions (id),
    params_id uuid NOT NULL REFERENCES algo_params (id),
    run_id uuid NOT NULL REFERENCES algo_runs (id),
    breakdown_json {{json}} NOT NULL,
    CONSTRAINT uq_user_theme_mastery_user_theme UNIQUE (user_id, theme_id)
);
CREATE INDEX IF NOT EXISTS ix_utm_user_id ON user_theme_mastery (user_id);
CREATE INDEX IF NOT EXISTS ix_utm_user_score ON user_theme_mastery (user_id, mastery_score);
CREATE INDEX IF NOT EXISTS ix_utm_user_computed_at ON user_theme_mastery (user_id, computed_at);
CREATE INDEX IF NOT EXISTS ix_utm_theme_score ON user_theme_mastery (theme_id, mastery_score);
CREATE INDEX IF NOT EXISTS ix_utm_algo_version_id ON user_theme_mastery (algo_version_id);
CREATE INDEX IF NOT EXISTS ix_utm_params_id ON user_theme_mastery (params_id);
CREATE INDEX IF NOT EXISTS ix_utm_run_id ON user_theme_mastery (run_id);
