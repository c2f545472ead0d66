{{create_temp_table}} mastery_stage (
    user_id uuid NOT NULL,
    theme_id int NOT NULL,
    year int,
    block_id int,
    attempts_total int NOT NULL,
    correct_total int NOT NULL,
    accuracy_pct numeric(5, 2) NOT NULL,
    mastery_score numeric(6, 4) NOT NULL,
    last_attempt_at timestamptz,
    breakdown_json text NOT NULL,
    stale boolean NOT NULL
){{on_commit_drop}}
