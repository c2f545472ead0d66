CREATE TABLE IF NOT EXISTS session_questions (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES test_sessions (id),
    question_id uuid NOT NULL,
    question_version_id uuid REFERENCES question_versions (id),
    position int NOT NULL,
    snapshot_json JSON,
    UNIQUE (session_id, question_id)
);
