-- The requested student (the report tells an unknown user from an unscored one and shows the
-- email rather than the bare id).
SELECT CAST(id AS text) AS user_id, email FROM users WHERE id = CAST(:user_id AS uuid)
