-- The output table's owner and its grants (owner's own rights aside), to copy onto the rebuilt
-- table: grantee ('PUBLIC' for everyone), privilege, whether grantable.
SELECT
    CAST(pg_get_userbyid(c.relowner) AS text) AS owner,
    CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE CAST(pg_get_userbyid(a.grantee) AS text) END,
    a.privilege_type,
    a.is_grantable
FROM pg_class AS c
LEFT JOIN LATERAL aclexplode(c.relacl) AS a ON a.grantee <> c.relowner
WHERE c.oid = CAST('user_theme_mastery' AS regclass)
