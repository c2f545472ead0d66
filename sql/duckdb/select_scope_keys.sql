SELECT CAST(user_id AS text) AS user_id, theme_id
FROM user_theme_mastery
WHERE (:user_ids = '' OR list_contains(string_split(:user_ids, ','), CAST(user_id AS text)))
