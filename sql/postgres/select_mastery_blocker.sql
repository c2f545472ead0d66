-- Who holds a lock on the output table (or on a row we wait for): the oldest other session
-- holding any lock on user_theme_mastery, with its state and for how long (null where this role
-- may not see another role's activity).
SELECT l.pid, a.state,
    CAST(extract(EPOCH FROM clock_timestamp() - coalesce(a.state_change, a.xact_start)) AS int)
FROM pg_locks AS l
LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'relation'
    AND l.relation = to_regclass('user_theme_mastery')
    AND l.granted
    AND l.pid <> pg_backend_pid()
ORDER BY a.xact_start NULLS LAST, l.pid
LIMIT 1
