-- Indexes the per-student path (pipeline.run.fresh) and `mastery follow` rely on, created only
-- on a source table that this init transaction itself created: init never alters a platform's
-- existing table (a FreshRecomputer reports a missing one instead). The table's row type is
-- created with it and never updated, so its xmin is this transaction's id exactly when the
-- table is new. session_answers (session_id) and session_questions (session_id, question_id)
-- are served by their unique (session_id, question_id) keys.
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_type AS t
        WHERE t.typrelid = to_regclass('test_sessions')
            AND t.xmin = pg_current_xact_id()::xid
    ) THEN
        CREATE INDEX IF NOT EXISTS ix_test_sessions_user_submitted
            ON test_sessions (user_id, submitted_at);
    END IF;
END
$$;
