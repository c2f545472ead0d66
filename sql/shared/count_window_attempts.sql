-- How many answers the window's sessions hold (an upper bound on its attempts): what
-- pipeline.run.history sizes its user partitions by, before reading any of them.
SELECT count(*) AS n
FROM test_sessions AS s
JOIN session_answers AS a ON a.session_id = s.id
WHERE s.status IN ('SUBMITTED', 'EXPIRED')
    AND s.submitted_at IS NOT NULL
    AND s.submitted_at >= CAST(:window_start AS timestamptz)
    AND s.submitted_at <= CAST(:as_of AS timestamptz)
    AND {{user_in_scope(s.user_id)}}
