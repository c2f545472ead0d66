CREATE TABLE IF NOT EXISTS themes (
    id int PRIMARY KEY,
    block_id int NOT NULL REFERENCES blocks (id),
    title text NOT NULL,
    order_index int NOT NULL DEFAULT 0
);
