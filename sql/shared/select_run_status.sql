SELECT status, CAST(algo_version_id AS text) AS algo_version_id, CAST(params_id AS text) AS params_id
FROM algo_runs
WHERE id = CAST(:id AS uuid)
