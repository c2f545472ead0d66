-- One row per distinct snapshot text: its tags, and whether it broke a rule of SPEC §4. An id or
-- year is a JSON integer, a number with an integral value, or a string of decimal digits;
-- anything else is NULL, and flagged unless the key is absent or JSON null. A difficulty is cut to
-- 1,000 characters (no name is longer; it stays unknown and is counted).
-- Each text is cast to JSON once and each key read once (materialized steps): written as nested
-- macros, the expressions were copied into one another and planning them cost ~15-30 ms a call.
WITH parsed AS MATERIALIZED (
    SELECT
        snapshot_json,
        CASE WHEN json_type(TRY_CAST(snapshot_json AS JSON)) = 'OBJECT'
            THEN TRY_CAST(snapshot_json AS JSON) END AS obj
    FROM snapshots
),
fields AS MATERIALIZED (
    SELECT
        snapshot_json,
        obj IS NULL AS not_object,
        json_type(obj, '$.year') AS year_type,
        json_extract_string(obj, '$.year') AS year_text,
        json_type(obj, '$.block_id') AS block_type,
        json_extract_string(obj, '$.block_id') AS block_text,
        json_type(obj, '$.theme_id') AS theme_type,
        json_extract_string(obj, '$.theme_id') AS theme_text,
        json_type(obj, '$.difficulty') AS difficulty_type,
        json_extract_string(obj, '$.difficulty') AS difficulty_text
    FROM parsed
),
tags AS (
    SELECT
        *,
        CASE
            WHEN year_type IN ('UBIGINT', 'BIGINT') THEN TRY_CAST(year_text AS INTEGER)
            WHEN year_type = 'DOUBLE'
                AND TRY_CAST(year_text AS DOUBLE) = floor(TRY_CAST(year_text AS DOUBLE))
                THEN TRY_CAST(TRY_CAST(year_text AS DOUBLE) AS INTEGER)
            WHEN year_type = 'VARCHAR' AND regexp_full_match(year_text, '[0-9]+')
                THEN TRY_CAST(year_text AS INTEGER)
        END AS snap_year,
        CASE
            WHEN block_type IN ('UBIGINT', 'BIGINT') THEN TRY_CAST(block_text AS INTEGER)
            WHEN block_type = 'DOUBLE'
                AND TRY_CAST(block_text AS DOUBLE) = floor(TRY_CAST(block_text AS DOUBLE))
                THEN TRY_CAST(TRY_CAST(block_text AS DOUBLE) AS INTEGER)
            WHEN block_type = 'VARCHAR' AND regexp_full_match(block_text, '[0-9]+')
                THEN TRY_CAST(block_text AS INTEGER)
        END AS snap_block_id,
        CASE
            WHEN theme_type IN ('UBIGINT', 'BIGINT') THEN TRY_CAST(theme_text AS INTEGER)
            WHEN theme_type = 'DOUBLE'
                AND TRY_CAST(theme_text AS DOUBLE) = floor(TRY_CAST(theme_text AS DOUBLE))
                THEN TRY_CAST(TRY_CAST(theme_text AS DOUBLE) AS INTEGER)
            WHEN theme_type = 'VARCHAR' AND regexp_full_match(theme_text, '[0-9]+')
                THEN TRY_CAST(theme_text AS INTEGER)
        END AS snap_theme_id
    FROM fields
)
SELECT
    snapshot_json,
    snap_year,
    snap_block_id,
    snap_theme_id,
    CASE WHEN difficulty_type = 'VARCHAR' THEN substr(difficulty_text, 1, 1000) END
        AS snap_difficulty,
    not_object
        OR NOT (year_type IS NULL OR year_type = 'NULL' OR snap_year IS NOT NULL)
        OR NOT (block_type IS NULL OR block_type = 'NULL' OR snap_block_id IS NOT NULL)
        OR NOT (theme_type IS NULL OR theme_type = 'NULL' OR snap_theme_id IS NOT NULL)
        OR coalesce(difficulty_type, 'NULL') NOT IN ('VARCHAR', 'NULL')
        AS snapshot_malformed
FROM tags
