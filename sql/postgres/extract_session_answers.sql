-- The answers of the window's sessions, each with its session's row number in
-- extract_sessions.sql (session_index: the same predicate, numbered in the same id order), so
-- the client joins on small integers and never receives the 16-byte session id per answer.
-- answered_at leaves clamped to plain instants (answered_at_clamped: pipeline.io.sqlfiles).
SELECT
    w.session_index,
    a.question_id,
    a.is_correct,
    {{answered_at_clamped(a)}} AS answered_at
FROM session_answers AS a
JOIN (
    SELECT s.id, CAST(row_number() OVER (ORDER BY s.id) - 1 AS int) AS session_index
    FROM test_sessions AS s
    WHERE {{session_in_window(s)}}
        AND {{user_in_scope(s.user_id)}}
        AND {{user_in_partition(s.user_id)}}
) AS w ON w.id = a.session_id
