-- What a warm per-student recomputer checks before each call: when this changes, it reads the
-- active params, the themes/blocks lookups and the active exclusions again.
SELECT
    (SELECT CAST(max(CAST(id AS text)) AS text) FROM algo_params WHERE is_active) AS params_id,
    (SELECT count(*) FROM algo_params WHERE is_active) AS active_params,
    (SELECT count(*) FROM themes) AS themes,
    (SELECT CAST(coalesce(sum(CAST(id AS bigint) * 131 + block_id), 0) AS bigint) FROM themes) AS themes_sum,
    (SELECT count(*) FROM blocks) AS blocks,
    (SELECT CAST(coalesce(sum(CAST(id AS bigint) * 131 + year), 0) AS bigint) FROM blocks) AS blocks_sum,
    (SELECT count(*) FROM mastery_exclusions) AS exclusions,
    (SELECT count(revoked_at) FROM mastery_exclusions) AS exclusions_revoked
