SELECT CAST(p.id AS text) AS id, CAST(p.params_json AS text) AS params_json, p.checksum,
       CAST(v.id AS text) AS algo_version_id, v.version
FROM algo_params p
JOIN algo_versions v ON v.id = p.algo_version_id
WHERE v.algo_key = :algo_key AND p.is_active
ORDER BY v.version
