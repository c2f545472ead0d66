CREATE TABLE IF NOT EXISTS session_questions (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES test_sessions (id){{on_delete_cascade}},
    question_id uuid NOT NULL,
    question_version_id uuid REFERENCES question_versions (id),
    position int NOT NULL,
    snapshot_json {{json}},
    UNIQUE (session_id, question_id)
);
