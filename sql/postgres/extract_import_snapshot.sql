-- The first statement of another extract connection's REPEATABLE READ transaction: read the
-- snapshot extract_export_snapshot.sql exported. A utility statement takes no bound value, so
-- {snapshot} is filled in by the store with an id it has checked (hex groups and dashes only).
SET TRANSACTION SNAPSHOT '{snapshot}'
