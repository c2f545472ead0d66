CREATE TABLE IF NOT EXISTS test_sessions (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id){{on_delete_cascade}},
    mode text NOT NULL CHECK (mode IN ('TUTOR', 'EXAM')),
    status text NOT NULL CHECK (status IN ('ACTIVE', 'SUBMITTED', 'EXPIRED')),
    created_at timestamptz NOT NULL,
    submitted_at timestamptz
);
CREATE INDEX IF NOT EXISTS ix_test_sessions_submitted_at ON test_sessions (submitted_at);
CREATE INDEX IF NOT EXISTS ix_test_sessions_user_id ON test_sessions (user_id);
