-- The output table's foreign keys with their definitions, to add back after a bulk refill.
SELECT c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint AS c
WHERE c.conrelid = CAST('user_theme_mastery' AS regclass) AND c.contype = 'f'
ORDER BY c.conname
