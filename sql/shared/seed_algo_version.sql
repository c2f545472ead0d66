INSERT INTO algo_versions (id, algo_key, version, status, description, created_at)
VALUES (:id, :algo_key, :version, 'ACTIVE', :description, now())
ON CONFLICT (algo_key, version) DO NOTHING
