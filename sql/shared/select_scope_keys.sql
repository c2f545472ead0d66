SELECT CAST(user_id AS text) AS user_id, theme_id
FROM user_theme_mastery
WHERE {{user_in_scope(user_id)}}
    AND {{user_in_partition(user_id)}}
