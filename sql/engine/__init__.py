"""SQL run by the in-memory DuckDB engine over frames, whatever the store."""
