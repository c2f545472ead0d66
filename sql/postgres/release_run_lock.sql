-- Released explicitly: a closed connection's locks go only when its server process has ended,
-- which the next run's try may not wait for.
SELECT pg_advisory_unlock(:key)
