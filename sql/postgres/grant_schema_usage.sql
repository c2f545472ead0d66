-- {schema} and {role} are identifiers, quoted by psycopg.sql (a GRANT cannot bind them).
GRANT USAGE ON SCHEMA {schema} TO {role}
