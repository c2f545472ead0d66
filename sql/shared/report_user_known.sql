-- Is the requested user a row of users? (the report tells an unknown user from an unscored one)
SELECT count(*) AS n FROM users WHERE id = CAST(:user_id AS uuid)
