-- What a rebuild writes, counted as the merge and the stale refresh count it.
SELECT
    count(*) FILTER (WHERE NOT stale) AS upserted,
    count(*) FILTER (WHERE stale) AS stale
FROM mastery_stage
