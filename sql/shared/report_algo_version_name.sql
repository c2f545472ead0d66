-- The version name ("v0") of the active params' algorithm, for the report header.
SELECT version FROM algo_versions WHERE id = CAST(:algo_version_id AS uuid)
