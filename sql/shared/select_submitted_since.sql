-- Sessions submitted after :since and up to :until (`mastery follow` polls with a safety lag);
-- served by ix_test_sessions_submitted_at.
SELECT CAST(id AS text) AS session_id, CAST(user_id AS text) AS user_id, submitted_at
FROM test_sessions
WHERE status IN ('SUBMITTED', 'EXPIRED')
    AND submitted_at > CAST(:since AS timestamptz)
    AND submitted_at <= CAST(:until AS timestamptz)
ORDER BY submitted_at
