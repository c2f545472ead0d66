-- SPEC §8: a row is never replaced by one computed as of an earlier instant. Staged rows whose
-- stored row was written by a run with a later as_of are set aside before the write (merge,
-- stale refresh or rebuild alike), so the fresher row stays; the count is newer_rows_kept.
DELETE FROM mastery_stage
WHERE EXISTS (
    SELECT 1
    FROM user_theme_mastery AS m
    WHERE m.user_id = mastery_stage.user_id
        AND m.theme_id = mastery_stage.theme_id
        AND m.run_id IN (
            SELECT r.id
            FROM algo_runs AS r
            WHERE CAST(r.input_summary_json ->> 'as_of' AS timestamptz)
                > CAST(:as_of AS timestamptz)
        )
)
