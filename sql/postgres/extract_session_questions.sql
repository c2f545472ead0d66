-- The session questions of the sessions named in :session_ids (hex, comma-separated, in the
-- order of extract_sessions.sql's rows), with session_index as in
-- extract_session_answers.sql. The snapshot is sent only where SPEC §4 may need it: a row
-- without a version, or whose version lacks a tag field (the hashed subquery reads the small
-- question_versions table once per statement). A row naming a version that is not stored (a
-- database without the foreign key) is read again with its snapshot by
-- extract_session_snapshots.sql.
SELECT
    CAST(w.n - 1 AS int) AS session_index,
    sq.question_id,
    sq.question_version_id,
    CASE
        WHEN sq.question_version_id IS NULL
            OR sq.question_version_id IN (
                SELECT qv.id
                FROM question_versions AS qv
                WHERE qv.year IS NULL
                    OR qv.block_id IS NULL
                    OR qv.theme_id IS NULL
                    OR qv.difficulty IS NULL
            )
            THEN CAST(sq.snapshot_json AS text)
    END AS snapshot_json
FROM unnest(CAST(string_to_array(:session_ids, ',') AS uuid[])) WITH ORDINALITY AS w (id, n)
JOIN session_questions AS sq ON sq.session_id = w.id
