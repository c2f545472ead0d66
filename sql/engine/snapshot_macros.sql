-- SPEC §4 snapshot rules for one key of a JSON object: an id or year is a JSON integer, a number
-- with an integral value, or a string of decimal digits; anything else is NULL.
CREATE OR REPLACE TEMP MACRO snapshot_int(obj, path) AS (
    CASE json_type(obj, path)
        WHEN 'UBIGINT' THEN TRY_CAST(json_extract_string(obj, path) AS INTEGER)
        WHEN 'BIGINT' THEN TRY_CAST(json_extract_string(obj, path) AS INTEGER)
        WHEN 'DOUBLE' THEN CASE
            WHEN TRY_CAST(json_extract_string(obj, path) AS DOUBLE)
                = floor(TRY_CAST(json_extract_string(obj, path) AS DOUBLE))
            THEN TRY_CAST(TRY_CAST(json_extract_string(obj, path) AS DOUBLE) AS INTEGER)
        END
        WHEN 'VARCHAR' THEN CASE
            WHEN regexp_full_match(json_extract_string(obj, path), '[0-9]+')
            THEN TRY_CAST(json_extract_string(obj, path) AS INTEGER)
        END
    END
);
CREATE OR REPLACE TEMP MACRO snapshot_usable(obj, path) AS (
    json_type(obj, path) IS NULL
    OR json_type(obj, path) = 'NULL'
    OR snapshot_int(obj, path) IS NOT NULL
);
