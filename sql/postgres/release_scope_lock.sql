-- Releases what try_scope_lock.sql granted: :cohort says which mode the cohort key was taken in
-- ('exclusive', 'shared' or '' for not taken), :user_ids the user keys taken.
SELECT
    CASE :cohort
        WHEN 'exclusive' THEN pg_advisory_unlock(1835102323, 0)
        WHEN 'shared' THEN pg_advisory_unlock_shared(1835102323, 0)
        ELSE true
    END
    AND coalesce(
        (SELECT bool_and(pg_advisory_unlock(1835102324, hashtext(item)))
         FROM unnest(string_to_array(:user_ids, ',')) AS item WHERE item <> ''),
        true
    )
