-- Concurrency by scope (SPEC §8): key (1835102323, 0) is taken exclusively by a whole-cohort
-- run and shared by scoped runs; each scoped run also takes (1835102324, hashtext(user id))
-- exclusively for every user of its scope. Session locks on the writing connection: losing it
-- loses the locks and the writes together. One row per key: whether it was granted.
SELECT 0 AS kind, '' AS user_id,
    CASE WHEN :whole THEN pg_try_advisory_lock(1835102323, 0)
         ELSE pg_try_advisory_lock_shared(1835102323, 0) END AS granted
UNION ALL
SELECT 1, u.user_id, pg_try_advisory_lock(1835102324, hashtext(u.user_id))
FROM (
    SELECT DISTINCT lower(trim(item)) AS user_id
    FROM unnest(string_to_array(:user_ids, ',')) AS item
    WHERE NOT :whole AND trim(item) <> ''
) AS u
