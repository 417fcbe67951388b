\set ON_ERROR_STOP on
-- By hand, after tables.sql in the same psql session (about 10 minutes on 2 cores): 20,000 rows with a vector(384)
-- column, its HNSW index and the tsvector GIN, inserted with and without the v5 indexes, alternately.
SET search_path = canon, public;
DROP TABLE IF EXISTS mem_before, mem_after;
CREATE TABLE mem_before (number bigint PRIMARY KEY, source text NOT NULL, labels jsonb NOT NULL, search_text text NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED, task_vector vector(384) NOT NULL);
CREATE INDEX ON mem_before (source); CREATE INDEX ON mem_before USING gin (labels jsonb_path_ops);
CREATE INDEX ON mem_before USING gin (search); CREATE INDEX ON mem_before USING hnsw (task_vector vector_cosine_ops);
CREATE TABLE mem_after (LIKE mem_before INCLUDING ALL);
CREATE INDEX ON mem_after (normalize(source, NFC)); CREATE INDEX ON mem_after USING gin (memp_canonical_labels(labels) jsonb_path_ops);
CREATE TEMP TABLE vrows AS SELECT number, source, labels, task AS search_text,
    (SELECT array_agg(random()::real) FROM generate_series(1, 384) WHERE number > 0)::vector(384) AS task_vector
    FROM rows WHERE number <= 20000;
\timing on
INSERT INTO mem_before (number, source, labels, search_text, task_vector) SELECT * FROM vrows;
INSERT INTO mem_after (number, source, labels, search_text, task_vector) SELECT * FROM vrows;
TRUNCATE mem_before; TRUNCATE mem_after;
INSERT INTO mem_after (number, source, labels, search_text, task_vector) SELECT * FROM vrows;
INSERT INTO mem_before (number, source, labels, search_text, task_vector) SELECT * FROM vrows;
\timing off
