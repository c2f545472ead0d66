-- Users with a session submitted in [:since, :until] (benchmarks/bench_fresh.py picks its
-- per-student calls among them, so each call's window holds their attempts).
SELECT DISTINCT CAST(user_id AS text) AS user_id
FROM test_sessions
WHERE submitted_at >= CAST(:since AS timestamptz)
    AND submitted_at <= CAST(:until AS timestamptz)
ORDER BY 1
