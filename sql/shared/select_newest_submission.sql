-- The newest plausible submission: the mass-change guard refuses an as_of far before it. A
-- submitted_at later than tomorrow is bad data (counted by the extract), not "the newest".
SELECT max(submitted_at) AS newest
FROM test_sessions
WHERE status IN ('SUBMITTED', 'EXPIRED')
    AND submitted_at <= CAST(:tomorrow AS timestamptz)
