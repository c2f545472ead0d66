-- {privileges} come from JOB_PRIVILEGES (fixed keywords); {schema}, {table} and {role} are
-- quoted identifiers.
GRANT {privileges} ON TABLE {schema}.{table} TO {role}
