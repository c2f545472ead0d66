-- DuckDB needs no setting for the fingerprint statement (see sql/postgres/).
SELECT 1
