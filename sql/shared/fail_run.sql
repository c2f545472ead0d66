UPDATE algo_runs
SET status = 'FAILED', completed_at = CAST(:completed_at AS timestamptz), error_message = :error_message
WHERE id = :id
