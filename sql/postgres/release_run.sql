SELECT pg_advisory_unlock(1835102322, hashtext(:run_id))
