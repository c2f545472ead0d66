SELECT
    CAST(id AS text) AS id,
    status,
    trigger,
    started_at,
    completed_at,
    CAST(output_summary_json AS text) AS output_summary_json,
    error_message
FROM algo_runs
ORDER BY started_at DESC, id
LIMIT :limit
