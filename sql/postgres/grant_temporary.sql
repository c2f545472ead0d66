-- A run stages its rows in a temporary table; {database} and {role} are quoted identifiers.
GRANT TEMPORARY ON DATABASE {database} TO {role}
