-- The output table's indexes that no constraint owns, with their definitions, to rebuild.
SELECT i.indexname, i.indexdef
FROM pg_indexes AS i
WHERE i.schemaname = current_schema()
    AND i.tablename = 'user_theme_mastery'
    AND i.indexname NOT IN (
        SELECT c.conname FROM pg_constraint AS c
        WHERE c.conrelid = CAST('user_theme_mastery' AS regclass)
    )
ORDER BY i.indexname
