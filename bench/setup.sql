-- Benchmark fixtures, run once after the building is generated (psql, variable :building = key).
-- Everything lives in schema bench, next to the extension's tables:
--   bench.plain  a copy of arxos.objects without the extension's triggers (same columns,
--                generated columns, CHECK and foreign-key constraints and indexes, same rows)
--   bench.lt     the same objects with an ltree path (labels translated) and a GiST index
--   bench.dirs / bench.located / bench.sources / bench.ids   samples the pgbench scripts pick from
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE SCHEMA bench;

SELECT id AS bid FROM arxos.buildings WHERE key = :'building' \gset

-------------------------------------------------------------------------------------------------
-- The plain table
-------------------------------------------------------------------------------------------------
CREATE TABLE bench.plain (LIKE arxos.objects INCLUDING DEFAULTS INCLUDING GENERATED
                          INCLUDING CONSTRAINTS INCLUDING STATISTICS INCLUDING STORAGE);
DO $$
DECLARE
    cols text;
    r    record;
BEGIN
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_attribute a
     WHERE a.attrelid = 'arxos.objects'::regclass AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attgenerated = '';
    -- Primary key, unique and foreign-key constraints, then the other indexes, as on
    -- arxos.objects; built before the rows go in, so they grow row by row as arxos.objects'
    -- did (freshly built indexes are packed full and split on the first updates).
    FOR r IN SELECT c.conname, pg_get_constraintdef(c.oid) AS def
               FROM pg_constraint c
              WHERE c.conrelid = 'arxos.objects'::regclass AND c.contype IN ('p', 'u', 'f')
              ORDER BY c.contype DESC, c.conname
    LOOP
        EXECUTE format('ALTER TABLE bench.plain ADD CONSTRAINT %I %s', r.conname, r.def);
    END LOOP;
    FOR r IN SELECT pg_get_indexdef(i.indexrelid) AS def
               FROM pg_index i
              WHERE i.indrelid = 'arxos.objects'::regclass
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    LOOP
        EXECUTE replace(r.def, ' ON arxos.objects ', ' ON bench.plain ');
    END LOOP;
    EXECUTE format('INSERT INTO bench.plain (%s) SELECT %s FROM arxos.objects', cols, cols);
END
$$;

-------------------------------------------------------------------------------------------------
-- The ltree layout. PostgreSQL 15 ltree labels hold only [A-Za-z0-9_] (at most 255 of them):
-- such a segment is kept, any other becomes 'x' and its UTF-8 bytes in hex. (The generator's
-- names are all plain labels; the translation is there for paths that are not.)
-------------------------------------------------------------------------------------------------
CREATE FUNCTION bench.ltree_label(segment text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN segment ~ '^[A-Za-z0-9_]{1,255}$' THEN segment
                ELSE 'x' || encode(convert_to(segment, 'UTF8'), 'hex') END
$$;
CREATE FUNCTION bench.to_ltree(path text) RETURNS ltree
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT text2ltree(string_agg(bench.ltree_label(s), '.' ORDER BY n))
      FROM unnest(string_to_array(substr(path, 2), '/')) WITH ORDINALITY AS u(s, n)
$$;
CREATE TABLE bench.lt AS
SELECT o.id, bench.to_ltree(o.path) AS path, o.name, o.type, o.status, o.health, o.needs_repair
  FROM arxos.objects o WHERE o.building_id = :'bid';
ALTER TABLE bench.lt ADD PRIMARY KEY (id);
CREATE INDEX lt_path ON bench.lt USING gist (path);

-------------------------------------------------------------------------------------------------
-- Samples (deterministic: ordered by a hash of the path)
-------------------------------------------------------------------------------------------------
-- Objects with children: what ls and a subtree count are asked about.
CREATE TABLE bench.dirs AS
SELECT row_number() OVER (ORDER BY md5(o.path))::integer AS id, o.path,
       arxos.path_lower(o.path) AS lo, arxos.path_upper(o.path) AS hi,
       bench.to_ltree(o.path)::text AS lpath, bench.to_ltree(o.path)::text || '.*{1}' AS lchildren
  FROM arxos.objects o
 WHERE o.building_id = :'bid'
   AND EXISTS (SELECT 1 FROM arxos.objects c WHERE c.building_id = o.building_id AND c.parent_path = o.path)
 ORDER BY md5(o.path)
 LIMIT 2000;
ALTER TABLE bench.dirs ADD PRIMARY KEY (id);
ALTER TABLE bench.dirs ADD COLUMN descendants bigint, ADD COLUMN children bigint;
UPDATE bench.dirs d
   SET descendants = (SELECT count(*) FROM arxos.objects o
                       WHERE o.building_id = :'bid' AND o.path >= d.lo AND o.path < d.hi),
       children = (SELECT count(*) FROM arxos.objects o
                    WHERE o.building_id = :'bid' AND o.parent_path = d.path);

-- Objects with a location: where near() looks around.
CREATE TABLE bench.located AS
SELECT row_number() OVER (ORDER BY md5(o.path))::integer AS id, o.path
  FROM arxos.objects o
 WHERE o.building_id = :'bid' AND o.location IS NOT NULL
 ORDER BY md5(o.path)
 LIMIT 2000;
ALTER TABLE bench.located ADD PRIMARY KEY (id);

-- Starts of connections below the building's plant (depth > 2): what trace() follows.
CREATE TABLE bench.sources AS
SELECT row_number() OVER (ORDER BY md5(s.path))::integer AS id, s.path
  FROM (SELECT DISTINCT o.path FROM arxos.connections c JOIN arxos.objects o ON o.id = c.from_id
         WHERE c.building_id = :'bid' AND o.depth > 2) s
 ORDER BY md5(s.path)
 LIMIT 2000;
ALTER TABLE bench.sources ADD PRIMARY KEY (id);

-- Object ids for single-row updates (the same ids exist in bench.plain).
CREATE TABLE bench.ids AS
SELECT row_number() OVER (ORDER BY md5(o.id::text))::integer AS n, o.id
  FROM arxos.objects o WHERE o.building_id = :'bid'
 ORDER BY md5(o.id::text)
 LIMIT 100000;
ALTER TABLE bench.ids ADD PRIMARY KEY (n);

-- Where single-row writes go, in both tables.
CREATE SEQUENCE bench.wseq;
SELECT (arxos.put(:'building', '/network/bench_writes', 'directory', status => 'active')).id IS NOT NULL AS ok;

VACUUM ANALYZE;
