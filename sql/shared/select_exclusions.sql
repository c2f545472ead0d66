SELECT
    CAST(id AS text) AS id, kind, CAST(session_id AS text) AS session_id,
    CAST(question_id AS text) AS question_id, CAST(user_id AS text) AS user_id, theme_id,
    reason, created_by, created_at, revoked_at, revoked_by
FROM mastery_exclusions
ORDER BY created_at, id
