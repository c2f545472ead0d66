-- Export this REPEATABLE READ transaction's snapshot, so the extract's other connections
-- read exactly what this one reads (extract_import_snapshot.sql).
SELECT pg_export_snapshot()
