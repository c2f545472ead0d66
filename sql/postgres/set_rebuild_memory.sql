-- Memory for a rebuild's statements, to the end of the run's transaction only (set_config's
-- is_local): at the default work_mem (4MB) the full join of the staged rows with the table and
-- its key-order sort spill to disk (16 hash batches and an 84 MB external sort on the M cohort:
-- 4.0 s against 1.9 s in memory), and every index build sorts within maintenance_work_mem.
SELECT set_config('work_mem', '256MB', true), set_config('maintenance_work_mem', '256MB', true)
