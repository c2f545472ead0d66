-- `mastery follow` stores its watermark after every batch it committed, so a restarted worker
-- resumes where the last one stopped; it never moves back (two workers, or a late writer).
INSERT INTO mastery_follow_state (worker, watermark, run_id, updated_at)
VALUES (:worker, CAST(:watermark AS timestamptz), CAST(:run_id AS uuid), now())
ON CONFLICT (worker) DO UPDATE SET
    watermark = excluded.watermark,
    run_id = excluded.run_id,
    updated_at = excluded.updated_at
WHERE mastery_follow_state.watermark <= excluded.watermark
