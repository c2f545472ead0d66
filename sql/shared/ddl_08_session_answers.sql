CREATE TABLE IF NOT EXISTS session_answers (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES test_sessions (id){{on_delete_cascade}},
    question_id uuid NOT NULL,
    selected_index int,
    is_correct boolean,
    answered_at timestamptz,
    UNIQUE (session_id, question_id)
);
