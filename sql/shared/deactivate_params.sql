UPDATE algo_params SET is_active = false WHERE algo_version_id = :algo_version_id AND is_active
