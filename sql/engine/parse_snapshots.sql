-- One row per distinct snapshot text: its tags, and whether it broke a rule of SPEC §4. A
-- difficulty is cut to 1,000 characters (no name is longer; it stays unknown and is counted).
WITH parsed AS (
    SELECT
        snapshot_json,
        CASE WHEN json_type(TRY_CAST(snapshot_json AS JSON)) = 'OBJECT'
            THEN TRY_CAST(snapshot_json AS JSON) END AS obj
    FROM snapshots
)
SELECT
    snapshot_json,
    snapshot_int(obj, '$.year') AS snap_year,
    snapshot_int(obj, '$.block_id') AS snap_block_id,
    snapshot_int(obj, '$.theme_id') AS snap_theme_id,
    CASE WHEN json_type(obj, '$.difficulty') = 'VARCHAR'
        THEN substr(json_extract_string(obj, '$.difficulty'), 1, 1000) END AS snap_difficulty,
    obj IS NULL
        OR NOT snapshot_usable(obj, '$.year')
        OR NOT snapshot_usable(obj, '$.block_id')
        OR NOT snapshot_usable(obj, '$.theme_id')
        OR coalesce(json_type(obj, '$.difficulty'), 'NULL') NOT IN ('VARCHAR', 'NULL')
        AS snapshot_malformed
FROM parsed
