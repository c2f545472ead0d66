-- Whether this session may rebuild the output table: only its owner (or a member of the owning
-- role) may rename it and re-key a copy, and the copy is created in the table's schema.
SELECT pg_has_role(current_user, c.relowner, 'USAGE')
    AND has_schema_privilege(c.relnamespace, 'CREATE')
FROM pg_class AS c
WHERE c.oid = to_regclass('user_theme_mastery')
