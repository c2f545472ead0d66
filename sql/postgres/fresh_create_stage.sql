-- The per-student path's staging table (pipeline.run.fresh), created once per connection: the
-- columns of create_mastery_stage.sql, emptied at each commit instead of dropped, so a call
-- does not create and drop a table (and its catalog rows) every time.
CREATE TEMP TABLE IF NOT EXISTS mastery_stage (
    {{mastery_stage_columns}}
) ON COMMIT DELETE ROWS
