INSERT INTO algo_params (id, algo_version_id, params_json, checksum, is_active, created_at)
VALUES (:id, :algo_version_id, :params_json, :checksum, :is_active, now())
