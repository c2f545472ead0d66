UPDATE algo_runs
SET status = 'SUCCESS', completed_at = CAST(:completed_at AS timestamptz),
    output_summary_json = :output_summary_json
WHERE id = :id
