SELECT CAST(user_id AS text) AS user_id, theme_id
FROM user_theme_mastery
WHERE (CAST(:user_ids AS text) = '' OR user_id = ANY (CAST(string_to_array(:user_ids, ',') AS uuid[])))
