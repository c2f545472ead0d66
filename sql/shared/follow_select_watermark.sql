-- `mastery follow`'s stored watermark (pipeline.run.follow): the newest submission handled.
SELECT watermark FROM mastery_follow_state WHERE worker = :worker
