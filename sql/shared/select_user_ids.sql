SELECT CAST(id AS text) AS id FROM users
