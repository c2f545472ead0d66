-- Per user, the runs that wrote their rows and how many rows each (pipeline.run.incremental).
SELECT CAST(user_id AS text) AS user_id, CAST(run_id AS text) AS run_id, count(*) AS n_rows
FROM user_theme_mastery
GROUP BY user_id, run_id
