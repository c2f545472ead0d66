UPDATE algo_runs
SET status = 'FAILED', completed_at = now(), error_message = :error_message
WHERE id = :id
