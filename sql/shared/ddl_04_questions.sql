CREATE TABLE IF NOT EXISTS questions (
    id uuid PRIMARY KEY,
    year int,
    block_id int,
    theme_id int,
    difficulty text,
    status text
);
