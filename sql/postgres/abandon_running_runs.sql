-- Runs left RUNNING whose process is truly gone: every live run holds the session advisory lock
-- (namespace 1835102322, key hashtext(run id)) on its writing connection from
-- before its RUNNING row was committed until it ends (PostgresStore.hold_run), so a RUNNING row
-- without that lock in pg_locks belongs to a dead run. A live run is never marked.
UPDATE algo_runs AS r
SET
    status = 'FAILED',
    completed_at = now(),
    error_message = 'abandoned: its process ended without finishing the run'
WHERE r.status = 'RUNNING'
    AND NOT EXISTS (
        SELECT 1
        FROM pg_locks AS l
        WHERE l.locktype = 'advisory'
            AND l.database = (SELECT d.oid FROM pg_database AS d WHERE d.datname = current_database())
            AND l.classid = CAST(1835102322 AS oid)
            AND l.objid = CAST(hashtext(CAST(r.id AS text)) AS oid)
            AND l.objsubid = 2
    )
