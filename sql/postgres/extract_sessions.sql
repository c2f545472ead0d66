-- The sessions of SPEC §4's window, scope and partition: the first read of the separate-table
-- extract (pipeline.io.store.postgres), which pulls each table on its own in binary and joins
-- in Polars. uuids leave as their 16 bytes (ADBC: arrow.uuid, Polars: Binary).
-- Ordered by id: the n-th row (from 0) is the session the other reads call session_index
-- (they read these sessions by their ids, in this order).
-- submitted_at needs no care: the window bounds it.
SELECT s.id AS session_id, s.user_id, s.submitted_at
FROM test_sessions AS s
WHERE {{session_in_window(s)}}
    AND {{user_in_scope(s.user_id)}}
    AND {{user_in_partition(s.user_id)}}
ORDER BY s.id
