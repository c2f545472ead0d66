-- Users with a session submitted since :since (benchmarks pick per-student calls among them).
SELECT DISTINCT CAST(user_id AS text) AS user_id
FROM test_sessions
WHERE submitted_at >= CAST(:since AS timestamptz)
ORDER BY 1
