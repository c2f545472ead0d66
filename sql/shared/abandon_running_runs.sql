UPDATE algo_runs
SET status = 'FAILED', completed_at = now(), error_message = 'abandoned: its process ended without finishing the run'
WHERE status = 'RUNNING'
