-- Whether session_answers and session_questions both hold a unique index on exactly
-- (session_id, question_id) (SPEC §2): then no attempt can appear twice in the extract.
SELECT count(DISTINCT c.relname) = 2
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indrelid
JOIN pg_namespace AS ns ON ns.oid = c.relnamespace
WHERE ns.nspname = current_schema()
    AND c.relname IN ('session_answers', 'session_questions')
    AND i.indisunique
    AND i.indpred IS NULL
    AND i.indnkeyatts = 2
    AND (
        SELECT array_agg(CAST(a.attname AS text) ORDER BY a.attname)
        FROM pg_attribute AS a
        WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
    ) = ARRAY['question_id', 'session_id']
