CREATE TABLE IF NOT EXISTS mastery_exclusions (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('session', 'question', 'user_theme')),
    session_id uuid,
    question_id uuid,
    user_id uuid,
    theme_id int,
    reason text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_by text
);
