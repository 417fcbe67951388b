\set ON_ERROR_STOP on
SET search_path = canon, public;
\timing on
-- ASCII source, bytes (both tables)
SELECT count(*) FROM indexed WHERE source = ANY(ARRAY['alfworld']);
-- non-ASCII source: before (scan on plain), after (expression index)
SELECT count(*) FROM plain WHERE normalize(source, NFC) = 'caf' || chr(233) || '-run';
SELECT count(*) FROM indexed WHERE normalize(source, NFC) = ANY(ARRAY['caf' || chr(233) || '-run']);
-- ASCII label
SELECT count(*) FROM indexed WHERE labels @> jsonb_build_object('fold'::text, 'train'::text);
-- non-ASCII label: before (EXISTS scan), after (expression GIN)
SELECT count(*) FROM plain WHERE EXISTS (SELECT 1 FROM jsonb_each_text(labels) AS label(key, value) WHERE normalize(label.key, NFC) = 'fold' AND normalize(label.value, NFC) = chr(233) || 't' || chr(233));
SELECT count(*) FROM indexed WHERE memp_canonical_labels(labels) @> jsonb_build_object('fold'::text, chr(233) || 't' || chr(233));
-- a non-ASCII label 1% of rows have (stored NFD, asked NFC): before, after
SELECT count(*) FROM plain WHERE EXISTS (SELECT 1 FROM jsonb_each_text(labels) AS label(key, value) WHERE normalize(label.key, NFC) = 'kind' AND normalize(label.value, NFC) = chr(241) || 'and' || chr(250));
SELECT count(*) FROM indexed WHERE memp_canonical_labels(labels) @> jsonb_build_object('kind'::text, chr(241) || 'and' || chr(250));
-- a non-ASCII label no row has
SELECT count(*) FROM indexed WHERE memp_canonical_labels(labels) @> jsonb_build_object('fold'::text, 'n' || chr(233) || 'ant');
-- one source bound alone and as an array, found and not
SELECT count(*) FROM indexed WHERE source = 'alfworld';
SELECT count(*) FROM indexed WHERE source = ANY(ARRAY['alfworld']);
SELECT count(*) FROM indexed WHERE source = 'nowhere';
SELECT count(*) FROM indexed WHERE source = ANY(ARRAY['nowhere']);
\timing off
