CREATE TABLE IF NOT EXISTS users (
    id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('STUDENT', 'ADMIN', 'REVIEWER')),
    year int,
    created_at timestamptz NOT NULL DEFAULT now()
);
