\set ON_ERROR_STOP on
DROP SCHEMA IF EXISTS canon CASCADE;
CREATE SCHEMA canon;
SET search_path = canon, public;
CREATE FUNCTION memp_canonical_labels(labels jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT CASE WHEN labels::text IS NFC NORMALIZED THEN labels ELSE
            (SELECT coalesce(jsonb_object_agg(normalize(key, NFC), normalize(value, NFC)), '{}'::jsonb)
            FROM jsonb_each_text(labels)) END
    $$;
-- 200,000 rows shaped like memory: 5 sources (one non-ASCII, stored half NFC, half NFD), labels fold and kind.
CREATE TABLE plain (number bigint PRIMARY KEY, source text NOT NULL, labels jsonb NOT NULL, task text NOT NULL);
CREATE TABLE indexed (LIKE plain INCLUDING ALL);
CREATE INDEX plain_by_source ON plain (source);
CREATE INDEX plain_by_label ON plain USING gin (labels jsonb_path_ops);
CREATE INDEX indexed_by_source ON indexed (source);
CREATE INDEX indexed_by_label ON indexed USING gin (labels jsonb_path_ops);
CREATE INDEX indexed_by_canonical_source ON indexed (normalize(source, NFC));
CREATE INDEX indexed_by_canonical_label ON indexed USING gin (memp_canonical_labels(labels) jsonb_path_ops);
CREATE TEMP TABLE rows AS
SELECT g AS number,
    (ARRAY['alfworld', 'textworld', 'webshop', 'caf' || chr(233) || '-run', 'cafe' || chr(769) || '-run'])[1 + g % 5] AS source,
    jsonb_build_object('fold', (ARRAY['train', 'test', chr(233) || 't' || chr(233), 'e' || chr(769) || 'te' || chr(769)])[1 + (g / 5) % 4],
        'kind', CASE WHEN g % 100 = 0 THEN 'n' || chr(771) || 'andu' || chr(769) ELSE 'k' || (g % 7) END) AS labels,
    repeat('heat some mug and put it in the coffeemachine ', 4) AS task
FROM generate_series(1, 200000) AS g;
