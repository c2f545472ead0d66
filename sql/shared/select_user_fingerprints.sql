-- Stored per-user fingerprints (pipeline.run.incremental); the nil uuid is the baseline row.
SELECT CAST(user_id AS text) AS user_id, fingerprint, CAST(run_id AS text) AS run_id
FROM mastery_user_fingerprints
