SELECT CAST(id AS text) AS id, CAST(params_json AS text) AS params_json, checksum
FROM algo_params
WHERE algo_version_id = :algo_version_id
ORDER BY is_active DESC, created_at DESC
LIMIT 1
