-- The answers of the sessions named in :session_ids (hex, comma-separated, in the order of
-- extract_sessions.sql's rows), each with its session's position in that list from 0
-- (session_index), so the client joins on small integers and never receives the 16-byte
-- session id per answer. Index lookups on the (session_id, question_id) key, however long the
-- history (the reading connection has hash and merge joins off: pipeline.io.store.pg_extract).
-- answered_at leaves clamped to plain instants (answered_at_clamped: pipeline.io.sqlfiles).
SELECT
    CAST(w.n - 1 AS int) AS session_index,
    a.question_id,
    a.is_correct,
    {{answered_at_clamped(a)}} AS answered_at
FROM unnest(CAST(string_to_array(:session_ids, ',') AS uuid[])) WITH ORDINALITY AS w (id, n)
JOIN session_answers AS a ON a.session_id = w.id
