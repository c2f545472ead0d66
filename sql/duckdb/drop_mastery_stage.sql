DROP TABLE IF EXISTS mastery_stage
