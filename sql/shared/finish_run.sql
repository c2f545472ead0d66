UPDATE algo_runs
SET status = 'SUCCESS', completed_at = now(), output_summary_json = :output_summary_json
WHERE id = :id
