"""DDL and queries, one statement (or one table) per file, loaded by ``pipeline.io.sqlfiles``."""
