UPDATE mastery_exclusions
SET revoked_at = CAST(:revoked_at AS timestamptz), revoked_by = :revoked_by
WHERE revoked_at IS NULL
    AND kind = :kind
    AND (CAST(:session_id AS uuid) IS NULL OR session_id = CAST(:session_id AS uuid))
    AND (CAST(:question_id AS uuid) IS NULL OR question_id = CAST(:question_id AS uuid))
    AND (CAST(:user_id AS uuid) IS NULL OR user_id = CAST(:user_id AS uuid))
    AND (CAST(:theme_id AS int) IS NULL OR theme_id = CAST(:theme_id AS int))
