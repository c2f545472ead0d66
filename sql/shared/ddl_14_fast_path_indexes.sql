-- Per dialect: see sql/postgres/ddl_14_fast_path_indexes.sql and sql/duckdb/.
SELECT 1;
