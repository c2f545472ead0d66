CREATE TABLE IF NOT EXISTS question_versions (
    id uuid PRIMARY KEY,
    question_id uuid NOT NULL REFERENCES questions (id),
    version int NOT NULL,
    year int,
    block_id int,
    theme_id int,
    difficulty text,
    created_at timestamptz NOT NULL DEFAULT now()
);
