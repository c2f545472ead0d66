-- Statistics on the staging table's keys (a temporary table is never auto-analyzed), so the
-- rebuild's full join with the output table is planned on real row counts; the other columns
-- are only carried.
ANALYZE mastery_stage (user_id, theme_id, stale)
