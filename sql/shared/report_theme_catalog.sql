-- Every theme with its (current) block: the names the cohort view prints per theme.
SELECT
    t.id AS theme_id,
    t.title AS theme_title,
    t.block_id,
    b.name AS block_name
FROM themes AS t
JOIN blocks AS b ON b.id = t.block_id
