SELECT CAST(user_id AS text) AS user_id, theme_id
FROM user_theme_mastery
WHERE (CAST(:user_ids AS text) = '' OR user_id = ANY (CAST(string_to_array(:user_ids, ',') AS uuid[])))
    AND (CAST(:partitions AS int) = 1
        OR mod(hashtext(CAST(user_id AS text)) & 2147483647, CAST(:partitions AS int))
            = CAST(:partition AS int))
