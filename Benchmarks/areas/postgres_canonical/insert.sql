\set ON_ERROR_STOP on
SET search_path = canon, public;
TRUNCATE plain; TRUNCATE indexed;
\timing on
INSERT INTO plain SELECT * FROM rows;
INSERT INTO indexed SELECT * FROM rows;
\timing off
VACUUM ANALYZE plain; VACUUM ANALYZE indexed;
