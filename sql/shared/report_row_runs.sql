-- Which runs, algorithm versions and params computed the stored rows (every report's header
-- and its warning when they are not the active ones), newest first; as_of is in each run's
-- input summary.
SELECT
    CAST(x.run_id AS text) AS run_id,
    CAST(x.algo_version_id AS text) AS algo_version_id,
    CAST(x.params_id AS text) AS params_id,
    v.version AS algorithm,
    p.checksum AS params_checksum,
    CAST(r.input_summary_json AS text) AS input_summary,
    x.n,
    x.computed_at
FROM (
    SELECT run_id, algo_version_id, params_id, count(*) AS n, max(computed_at) AS computed_at
    FROM user_theme_mastery
    GROUP BY 1, 2, 3
) AS x
LEFT JOIN algo_runs AS r ON r.id = x.run_id
LEFT JOIN algo_versions AS v ON v.id = x.algo_version_id
LEFT JOIN algo_params AS p ON p.id = x.params_id
ORDER BY x.computed_at DESC, 1
