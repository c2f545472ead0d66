-- The per-student path's users (pipeline.run.fresh), each with the themes of its stored rows
-- (theme_id null: a known user without rows); a user absent here is not in users. One list of
-- users and no "all users" branch, so the server's kept plan is an index lookup by user.
SELECT CAST(u.id AS text) AS user_id, m.theme_id
FROM users AS u
LEFT JOIN user_theme_mastery AS m ON m.user_id = u.id
WHERE u.id = ANY (CAST(string_to_array(:user_ids, ',') AS uuid[]))
