-- The scope's users that exist in users (a run refuses ids that do not).
SELECT CAST(id AS text) AS id
FROM users
WHERE {{user_in_scope(id)}}
