SELECT CAST(id AS text) AS id
FROM algo_params
WHERE algo_version_id = :algo_version_id AND checksum = :checksum
ORDER BY created_at
LIMIT 1
