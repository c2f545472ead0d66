CREATE TABLE IF NOT EXISTS blocks (
    id int PRIMARY KEY,
    year int NOT NULL,
    name text NOT NULL,
    order_index int NOT NULL DEFAULT 0
);
