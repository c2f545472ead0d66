-- The input summary of the latest successful run over all users (its as_of is what the stored
-- rows mean), for notebooks that recompute in memory and compare.
SELECT CAST(input_summary_json AS text) AS input_summary
FROM algo_runs
WHERE status = 'SUCCESS' AND user_id IS NULL
ORDER BY completed_at DESC, id
LIMIT 1
