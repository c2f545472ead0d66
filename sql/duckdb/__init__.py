"""DuckDB dialect SQL."""
