-- SUCCESS only ever replaces RUNNING: a run marked otherwise meanwhile (abandoned by another
-- run) updates nothing here, and the caller rolls the whole run back.
UPDATE algo_runs
SET status = 'SUCCESS', completed_at = CAST(:completed_at AS timestamptz),
    input_summary_json = :input_summary_json, output_summary_json = :output_summary_json
WHERE id = :id AND status = 'RUNNING'
