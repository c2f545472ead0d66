-- One run by its id or the start of it (`mastery runs --run ID`); two rows tell the caller a
-- prefix is ambiguous. The pattern is bound: the caller checks it holds only hex digits and
-- dashes and appends the wildcard.
SELECT
    CAST(r.id AS text) AS id,
    r.status,
    r.trigger,
    CAST(r.user_id AS text) AS user_id,
    r.started_at,
    r.completed_at,
    v.version AS algorithm,
    CAST(r.params_id AS text) AS params_id,
    p.checksum AS params_checksum,
    CAST(r.input_summary_json AS text) AS input_summary_json,
    CAST(r.output_summary_json AS text) AS output_summary_json,
    r.error_message
FROM algo_runs AS r
LEFT JOIN algo_versions AS v ON v.id = r.algo_version_id
LEFT JOIN algo_params AS p ON p.id = r.params_id
WHERE CAST(r.id AS text) LIKE :id_pattern
ORDER BY r.started_at DESC, r.id
LIMIT 2
