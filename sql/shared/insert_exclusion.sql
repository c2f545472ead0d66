INSERT INTO mastery_exclusions (
    id, kind, session_id, question_id, user_id, theme_id, reason, created_by, created_at
)
VALUES (
    :id, :kind, CAST(:session_id AS uuid), CAST(:question_id AS uuid), CAST(:user_id AS uuid),
    CAST(:theme_id AS int), :reason, :created_by, CAST(:created_at AS timestamptz)
)
