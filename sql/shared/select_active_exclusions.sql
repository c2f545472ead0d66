SELECT
    kind, CAST(session_id AS text) AS session_id, CAST(question_id AS text) AS question_id,
    CAST(user_id AS text) AS user_id, theme_id, reason
FROM mastery_exclusions
WHERE revoked_at IS NULL
ORDER BY created_at, id
