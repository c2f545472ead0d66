-- A run's params by id (`mastery diff --run A --run B` recomputes each run's rows).
SELECT CAST(params_json AS text) AS params_json FROM algo_params WHERE id = CAST(:id AS uuid)
