-- The session questions of the sessions named in :session_ids (hex, comma-separated, in the
-- order of extract_sessions.sql's rows), with session_index as in
-- extract_session_answers.sql. The snapshot is sent only for a row without a version
-- here; rows whose version lacks a field, or names no stored version, are read again with
-- their snapshot by extract_session_snapshots.sql.
SELECT
    CAST(w.n - 1 AS int) AS session_index,
    sq.question_id,
    sq.question_version_id,
    CASE WHEN sq.question_version_id IS NULL THEN CAST(sq.snapshot_json AS text) END AS snapshot_json
FROM unnest(CAST(string_to_array(:session_ids, ',') AS uuid[])) WITH ORDINALITY AS w (id, n)
JOIN session_questions AS sq ON sq.session_id = w.id
