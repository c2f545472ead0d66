INSERT INTO mastery_user_fingerprints (user_id, fingerprint, as_of, run_id)
SELECT CAST(user_id AS uuid), fingerprint, CAST(as_of AS timestamptz), CAST(run_id AS uuid)
FROM fingerprint_stage
ON CONFLICT (user_id) DO UPDATE SET
    fingerprint = excluded.fingerprint,
    as_of = excluded.as_of,
    run_id = excluded.run_id
