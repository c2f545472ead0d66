SELECT CAST(indexname AS text) AS name
FROM pg_indexes
WHERE tablename IN ('test_sessions', 'session_answers', 'session_questions')
    AND schemaname = current_schema()
