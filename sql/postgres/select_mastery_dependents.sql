-- What a rename-swap of the output table would break: views (and rules) reading it, foreign
-- keys of other tables pointing at it, its own triggers, row security. Any of them: merge.
SELECT DISTINCT 'view ' || CAST(CAST(r.ev_class AS regclass) AS text) AS dependent
FROM pg_depend AS d
JOIN pg_rewrite AS r ON r.oid = d.objid
WHERE d.classid = CAST('pg_rewrite' AS regclass)
    AND d.refobjid = CAST('user_theme_mastery' AS regclass)
    AND r.ev_class <> d.refobjid
UNION ALL
SELECT 'foreign key ' || c.conname || ' of ' || CAST(CAST(c.conrelid AS regclass) AS text)
FROM pg_constraint AS c
WHERE c.contype = 'f'
    AND c.confrelid = CAST('user_theme_mastery' AS regclass)
    AND c.conrelid <> c.confrelid
UNION ALL
SELECT 'trigger ' || t.tgname
FROM pg_trigger AS t
WHERE t.tgrelid = CAST('user_theme_mastery' AS regclass) AND NOT t.tgisinternal
UNION ALL
SELECT 'row security'
FROM pg_class AS c
WHERE c.oid = CAST('user_theme_mastery' AS regclass) AND c.relrowsecurity
ORDER BY 1
