SELECT CAST(id AS text), started_at FROM algo_runs WHERE status = 'RUNNING' ORDER BY started_at DESC LIMIT 1
