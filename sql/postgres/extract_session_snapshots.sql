-- Session questions whose version (:version_ids, hex, comma-separated) lacks a field or is not
-- stored, with their snapshot (SPEC §4: the snapshot is the fallback per field).
SELECT
    sq.session_id,
    sq.question_id,
    sq.question_version_id,
    CAST(sq.snapshot_json AS text) AS snapshot_json
FROM session_questions AS sq
WHERE sq.question_version_id = ANY (CAST(string_to_array(:version_ids, ',') AS uuid[]))
    AND sq.session_id IN (
    SELECT s.id
    FROM test_sessions AS s
    WHERE s.status IN ('SUBMITTED', 'EXPIRED')
        AND s.submitted_at IS NOT NULL
        AND s.submitted_at >= CAST(:window_start AS timestamptz)
        AND s.submitted_at <= CAST(:as_of AS timestamptz)
        AND {{user_in_scope(s.user_id)}}
        AND {{user_in_partition(s.user_id)}}
)
