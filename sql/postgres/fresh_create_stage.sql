-- The per-student path's staging table (pipeline.run.fresh), created once per connection: the
-- same columns as create_mastery_stage.sql, emptied at each commit instead of dropped, so a call
-- does not create and drop a table (and its catalog rows) every time.
CREATE TEMP TABLE IF NOT EXISTS mastery_stage (
    user_id uuid NOT NULL,
    theme_id int NOT NULL,
    year int,
    block_id int,
    attempts_total int NOT NULL,
    correct_total int NOT NULL,
    accuracy_pct numeric(5, 2) NOT NULL,
    mastery_score numeric(6, 4) NOT NULL,
    last_attempt_at timestamptz,
    breakdown_json text NOT NULL,
    stale boolean NOT NULL
) ON COMMIT DELETE ROWS
