-- Where `mastery follow` stopped (pipeline.run.follow): the newest submission a worker has
-- handled and the run that handled it, stored after every committed batch so a restarted worker
-- (or one started after a database restart) resumes there and loses no user.
CREATE TABLE IF NOT EXISTS mastery_follow_state (
    worker text PRIMARY KEY,
    watermark timestamptz NOT NULL,
    run_id uuid NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
