SELECT CAST(user_id AS text) AS user_id, theme_id
FROM user_theme_mastery
WHERE (:user_ids = '' OR list_contains(string_split(:user_ids, ','), CAST(user_id AS text)))
    AND (CAST(:partitions AS INTEGER) = 1
        OR hash(CAST(user_id AS text)) % CAST(:partitions AS INTEGER) = CAST(:partition AS INTEGER))
