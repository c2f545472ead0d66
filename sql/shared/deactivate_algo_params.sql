UPDATE algo_params SET is_active = false
WHERE is_active AND algo_version_id IN (SELECT id FROM algo_versions WHERE algo_key = :algo_key)
