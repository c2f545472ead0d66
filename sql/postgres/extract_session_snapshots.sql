-- Session questions whose version (:version_ids, hex, comma-separated) lacks a field or is not
-- stored, with their snapshot (SPEC §4: the snapshot is the fallback per field), of the
-- sessions named in :session_ids, with session_index as in extract_session_questions.sql.
SELECT
    CAST(w.n - 1 AS int) AS session_index,
    sq.question_id,
    sq.question_version_id,
    CAST(sq.snapshot_json AS text) AS snapshot_json
FROM unnest(CAST(string_to_array(:session_ids, ',') AS uuid[])) WITH ORDINALITY AS w (id, n)
JOIN session_questions AS sq ON sq.session_id = w.id
WHERE sq.question_version_id = ANY (CAST(string_to_array(:version_ids, ',') AS uuid[]))
