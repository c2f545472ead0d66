SELECT count(*) AS n FROM blocks
