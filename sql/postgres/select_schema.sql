-- The schema the pipeline's tables live in (the first schema on the search path that exists,
-- whether or not this role may use it: current_schema() skips one it lacks USAGE on) and the
-- database, for grants and for telling an absent table from one this role may not see.
WITH search AS (
    SELECT replace(trim(BOTH ' "' FROM item), '$user', CAST(current_user AS text)) AS nspname, n
    FROM unnest(string_to_array(current_setting('search_path'), ',')) WITH ORDINALITY AS p (item, n)
)
SELECT
    coalesce(
        (SELECT ns.nspname FROM search JOIN pg_namespace AS ns ON ns.nspname = search.nspname
         ORDER BY search.n LIMIT 1),
        current_schema()
    ) AS schema_name,
    current_database() AS database_name
