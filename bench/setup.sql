-- Benchmark fixtures, run once after the building is generated (psql, variable :building = key).
-- Everything lives in schema bench, next to the extension's tables:
--   bench.tree_fixed, bench.trace_fixed   arxos.tree and arxos.trace with index-friendly joins
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
    EXECUTE format('INSERT INTO bench.plain (%s) SELECT %s FROM arxos.objects', cols, cols);
    -- Primary key, unique and foreign-key constraints, then the other indexes, as on arxos.objects.
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
-- arxos.tree with its key condition rewritten, measured next to the real one: the real one
-- joins on `path = p OR (path >= lo AND path < hi)`, which no index scan can serve, so it reads
-- the whole table; here the range [p, hi) is the index condition and the OR only a filter.
-------------------------------------------------------------------------------------------------
CREATE FUNCTION bench.tree_fixed(building text, path text DEFAULT '/', depth integer DEFAULT NULL,
                                 after text DEFAULT NULL, max integer DEFAULT NULL)
RETURNS TABLE (path text, name text, type text, status text, health smallint,
               needs_repair boolean, level integer)
LANGUAGE sql STABLE AS $$
    WITH args AS MATERIALIZED (
        SELECT b, p, arxos.path_depth(p) AS d0, arxos.path_lower(p) AS lo, arxos.path_upper(p) AS hi
          FROM arxos.building_id(building) AS b,
               LATERAL arxos.existing_path(b, path) AS p
         WHERE depth IS NULL OR depth >= 0 OR arxos.raise('depth must be 0 or more', '22023'))
    SELECT o.path::text, o.name::text, o.type, o.status, o.health, o.needs_repair, o.depth - args.d0
      FROM args JOIN arxos.objects o
        ON o.building_id = args.b
       AND o.path >= args.p AND o.path < args.hi
       AND (o.path = args.p OR o.path >= args.lo)
     WHERE ($3 IS NULL OR o.depth - args.d0 <= $3)
       AND (after IS NULL OR o.path > after COLLATE "C")
     ORDER BY o.path
     LIMIT max
$$;

-------------------------------------------------------------------------------------------------
-- arxos.trace with its join rewritten, measured next to the real one: the real one joins the
-- walk to connections on `CASE WHEN down THEN from_id ELSE to_id END = id`, which no index
-- serves, so each step reads every connection; here each direction is a branch of a UNION ALL
-- whose key (from_id or to_id) the indexes of arxos.connections serve.
-------------------------------------------------------------------------------------------------
CREATE FUNCTION bench.trace_fixed(building text, path text, direction text DEFAULT 'downstream',
                                  kind text DEFAULT NULL, max_depth integer DEFAULT 32)
RETURNS TABLE (depth integer, path text, type text, status text, kind text, via text, cycle boolean)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE args AS MATERIALIZED (
        SELECT arxos.object_id(b, path) AS start, direction = 'downstream' AS down
          FROM arxos.building_id(building) AS b
         WHERE (direction IN ('downstream', 'upstream')
                OR arxos.raise('direction must be downstream or upstream, got ' || coalesce(direction, 'NULL'), '22023'))
           AND (max_depth BETWEEN 1 AND 1000 OR arxos.raise('max_depth must be between 1 and 1000', '22023'))
    ), walk(depth, id, kind, via, route, cycle) AS (
        SELECT 0, args.start, NULL::text, NULL::uuid, ARRAY[args.start], false FROM args
        UNION ALL
        SELECT w.depth + 1, e.next_id, e.kind, w.id, w.route || e.next_id, e.next_id = ANY (w.route)
          FROM walk w
          CROSS JOIN args
          JOIN (SELECT c.from_id AS this_id, c.to_id AS next_id, c.kind, true AS down FROM arxos.connections c
                UNION ALL
                SELECT c.to_id, c.from_id, c.kind, false FROM arxos.connections c) e
            ON e.this_id = w.id AND e.down = args.down
         WHERE NOT w.cycle AND w.depth < max_depth
           AND ($4 IS NULL OR e.kind = $4)
    )
    SELECT w.depth, o.path::text, o.type, o.status, w.kind, v.path::text, w.cycle
      FROM walk w
      JOIN arxos.objects o ON o.id = w.id
      LEFT JOIN arxos.objects v ON v.id = w.via
     ORDER BY w.depth, o.path, v.path
$$;

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
