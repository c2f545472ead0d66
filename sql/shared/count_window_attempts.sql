-- How many answers the window's sessions hold (an upper bound on its attempts): what
-- pipeline.run.history sizes its user partitions by, before reading any of them.
SELECT count(*) AS n
FROM test_sessions AS s
JOIN session_answers AS a ON a.session_id = s.id
WHERE {{session_in_window(s)}}
    AND {{user_in_scope(s.user_id)}}
