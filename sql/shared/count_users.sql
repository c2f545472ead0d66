SELECT count(*) AS n FROM users
