-- Whether session_answers and session_questions both hold a unique key on exactly
-- (session_id, question_id) (SPEC §2): then no attempt can appear twice in the extract.
SELECT count(DISTINCT table_name) = 2
FROM duckdb_constraints()
WHERE schema_name = current_schema()
    AND table_name IN ('session_answers', 'session_questions')
    AND constraint_type IN ('UNIQUE', 'PRIMARY KEY')
    AND list_sort(constraint_column_names) = ['question_id', 'session_id']
