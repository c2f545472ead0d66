-- Every constraint of the output table but NOT NULL, with its definition, to re-create on the
-- table a rebuild builds: CHECKs first (every refilled row is checked as before), then the keys,
-- then the foreign keys.
SELECT c.conname, c.contype, pg_get_constraintdef(c.oid)
FROM pg_constraint AS c
WHERE c.conrelid = CAST('user_theme_mastery' AS regclass)
ORDER BY CASE c.contype WHEN 'c' THEN 0 WHEN 'f' THEN 2 ELSE 1 END, c.conname
