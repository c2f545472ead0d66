-- Every table of the schema, readable or not (information_schema lists only the tables this
-- role holds some right on, so a missing SELECT would read as a missing table).
SELECT c.relname
FROM pg_class AS c
JOIN pg_namespace AS ns ON ns.oid = c.relnamespace
WHERE ns.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
