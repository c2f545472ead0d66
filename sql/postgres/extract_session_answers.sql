-- The answers of the window's sessions, each with its session's row number in
-- extract_sessions.sql (session_index: the same predicate, numbered in the same id order), so
-- the client joins on small integers and never receives the 16-byte session id per answer.
-- An answered_at outside [1900-01-01, 9999-12-31 23:59:59.999999) UTC (infinity, -infinity,
-- year 1, 4713 BC) leaves the database as the upper bound, or as one microsecond before 1900:
-- plain instants every driver carries (ADBC turns Postgres' infinity into a negative number),
-- which pipeline.io.tags.screen_attempts counts as out of range (the bounds are
-- ANSWERED_AT_LATEST and ANSWERED_AT_EARLIEST in pipeline/io/store/base.py).
SELECT
    w.session_index,
    a.question_id,
    a.is_correct,
    CASE
        WHEN a.answered_at >= CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)
            THEN CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)
        WHEN a.answered_at < CAST('1900-01-01 00:00:00+00' AS timestamptz)
            THEN CAST('1899-12-31 23:59:59.999999+00' AS timestamptz)
        ELSE a.answered_at
    END AS answered_at
FROM session_answers AS a
JOIN (
    SELECT s.id, CAST(row_number() OVER (ORDER BY s.id) - 1 AS int) AS session_index
    FROM test_sessions AS s
    WHERE s.status IN ('SUBMITTED', 'EXPIRED')
        AND s.submitted_at IS NOT NULL
        AND s.submitted_at >= CAST(:window_start AS timestamptz)
        AND s.submitted_at <= CAST(:as_of AS timestamptz)
        AND {{user_in_scope(s.user_id)}}
        AND {{user_in_partition(s.user_id)}}
) AS w ON w.id = a.session_id
