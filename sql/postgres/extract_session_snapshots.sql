-- Session questions naming a version that is not stored (:version_ids, hex, comma-separated;
-- possible only where the foreign key was dropped), with their snapshot (SPEC §4: the
-- snapshot is the fallback per field), of the sessions named in :session_ids, with
-- session_index as in extract_session_questions.sql. A conforming database never runs it.
SELECT
    CAST(w.n - 1 AS int) AS session_index,
    sq.question_id,
    sq.question_version_id,
    CAST(sq.snapshot_json AS text) AS snapshot_json
FROM unnest(CAST(string_to_array(:session_ids, ',') AS uuid[])) WITH ORDINALITY AS w (id, n)
JOIN session_questions AS sq ON sq.session_id = w.id
WHERE sq.question_version_id = ANY (CAST(string_to_array(:version_ids, ',') AS uuid[]))
