-- Session questions whose version (:version_ids, hex, comma-separated) lacks a field or is not
-- stored, with their snapshot (SPEC §4: the snapshot is the fallback per field), and
-- session_index as in extract_session_questions.sql.
SELECT
    w.session_index,
    sq.question_id,
    sq.question_version_id,
    CAST(sq.snapshot_json AS text) AS snapshot_json
FROM session_questions AS sq
JOIN (
    SELECT s.id, CAST(row_number() OVER (ORDER BY s.id) - 1 AS int) AS session_index
    FROM test_sessions AS s
    WHERE {{session_in_window(s)}}
        AND {{user_in_scope(s.user_id)}}
        AND {{user_in_partition(s.user_id)}}
) AS w ON w.id = sq.session_id
WHERE sq.question_version_id = ANY (CAST(string_to_array(:version_ids, ',') AS uuid[]))
