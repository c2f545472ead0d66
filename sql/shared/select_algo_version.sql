SELECT CAST(id AS text) AS id FROM algo_versions WHERE algo_key = :algo_key AND version = :version
