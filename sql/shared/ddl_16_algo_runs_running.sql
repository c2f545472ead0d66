-- Every run first marks abandoned runs (abandon_running_runs): on Postgres a partial index keeps
-- that lookup on the few RUNNING rows however long the ledger grows (a per-student hook adds a
-- run per call). DuckDB has no partial index, and its columnar scan of one column is cheap.
SELECT 1;
