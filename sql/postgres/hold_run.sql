-- The run's own liveness lock (see abandon_running_runs.sql): never contended, held on the
-- writing connection until the run ends or its connection is lost.
SELECT pg_advisory_lock(1835102322, hashtext(:run_id))
