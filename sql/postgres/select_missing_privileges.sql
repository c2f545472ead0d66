-- The rights a role lacks, in the order asked: the role is the bound role name, or this
-- session's own when it is empty; the rights are 'PRIVILEGE=table' items joined by commas (only
-- tables of the schema that exist are checked). USAGE on the schema comes first (without it no
-- table of the schema can be named), then, with the database flag set, TEMPORARY on the
-- database (a run's staging table).
WITH who AS (
    SELECT CAST(CASE WHEN :role = '' THEN CAST(current_user AS text) ELSE :role END AS name) AS role
),

needed AS (
    SELECT split_part(item, '=', 1) AS privilege, split_part(item, '=', 2) AS table_name, n
    FROM unnest(string_to_array(:rights, ',')) WITH ORDINALITY AS u (item, n)
)

SELECT missing.privilege, missing.target, CAST(who.role AS text)
FROM (
    SELECT 0 AS n, 'USAGE' AS privilege, 'schema ' || ns.nspname AS target
    FROM who, pg_namespace AS ns
    WHERE ns.nspname = :schema
        AND NOT has_schema_privilege(who.role, ns.oid, 'USAGE')
    UNION ALL
    SELECT 1, 'TEMPORARY', 'database ' || current_database()
    FROM who
    WHERE CAST(:with_database AS boolean)
        AND NOT has_database_privilege(who.role, current_database(), 'TEMPORARY')
    UNION ALL
    SELECT 1 + needed.n, needed.privilege, needed.table_name
    FROM who
    CROSS JOIN needed
    JOIN pg_namespace AS ns ON ns.nspname = :schema
    JOIN pg_class AS c ON c.relnamespace = ns.oid AND c.relname = needed.table_name
    WHERE NOT has_table_privilege(who.role, c.oid, needed.privilege)
) AS missing
CROSS JOIN who
ORDER BY missing.n
