-- The answers of the sessions named in :session_ids (hex, comma-separated, in the order of
-- extract_sessions.sql's rows; few sessions: index lookups), each with its session's position
-- in that list from 0 (session_index), so the client joins on small integers.
-- An answered_at outside [1900-01-01, 9999-12-31 23:59:59.999999) UTC (infinity, -infinity,
-- year 1, 4713 BC) leaves the database as the upper bound, or as one microsecond before 1900:
-- plain instants every driver carries (ADBC turns Postgres' infinity into a negative number),
-- which pipeline.io.tags.screen_attempts counts as out of range (the bounds are
-- ANSWERED_AT_LATEST and ANSWERED_AT_EARLIEST in pipeline/io/store/base.py).
SELECT
    CAST(w.n - 1 AS int) AS session_index,
    a.question_id,
    a.is_correct,
    CASE
        WHEN a.answered_at >= CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)
            THEN CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)
        WHEN a.answered_at < CAST('1900-01-01 00:00:00+00' AS timestamptz)
            THEN CAST('1899-12-31 23:59:59.999999+00' AS timestamptz)
        ELSE a.answered_at
    END AS answered_at
FROM unnest(CAST(string_to_array(:session_ids, ',') AS uuid[])) WITH ORDINALITY AS w (id, n)
JOIN session_answers AS a ON a.session_id = w.id
