-- Whether this session may rebuild the output table: only its owner (or a member of the owning
-- role) may TRUNCATE it, drop its indexes and re-add its keys.
SELECT pg_has_role(current_user, c.relowner, 'USAGE')
FROM pg_class AS c
WHERE c.oid = to_regclass('user_theme_mastery')
