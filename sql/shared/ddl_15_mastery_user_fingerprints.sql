-- Per user, a hash of their attempts in the window as of the last incremental or full run that
-- wrote it (pipeline.run.incremental): what `mastery recompute --incremental` compares to find
-- the users whose rows can have changed. The nil uuid holds the run's own baseline (params,
-- algorithm, lookups, as_of) as JSON in fingerprint.
CREATE TABLE IF NOT EXISTS mastery_user_fingerprints (
    user_id uuid PRIMARY KEY,
    fingerprint text NOT NULL,
    as_of timestamptz NOT NULL,
    run_id uuid NOT NULL
);
