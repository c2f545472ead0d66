-- The first statement of a transaction whose reads an exported snapshot pins
-- (PostgresStore.exported_snapshot): every statement in it sees one state of the database.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ
