-- Locations: nearest-neighbour search and EWKB interop (without PostGIS).
\set VERBOSITY terse
SELECT path, round(distance::numeric, 3) AS distance, location FROM arxos.near('b42', '/spaces/floor_1/room_101');
SELECT path, round(distance::numeric, 3) AS distance FROM arxos.near('b42', '/spaces/floor_1/room_101', radius => 1.2);
SELECT path FROM arxos.near('b42', '/spaces/floor_1/room_101', radius => 50, max => 3);
SELECT path, round(distance::numeric, 3) AS distance FROM arxos.near_point('b42', 2, 1, 1.5, 0.5);
SELECT arxos.near('b42', '/electrical', 5);
SELECT arxos.near_point('b42', 0, 0, 0, -1);
SELECT arxos.near_point('b42', 0, 0, 0, 'Infinity');
SELECT arxos.near_point('b42', 0, 0, 0, NULL);
SELECT arxos.near_point('b42', 0, 0, 0, 5, -1);
SELECT arxos.near_point('b42', 'NaN', 0, 0, 5);
SELECT arxos.near_point('b42', 0, 0, '-Infinity', 5);
SELECT arxos.near_point('b42', 2e9, 0, 0, 5);
SELECT count(*) FROM arxos.near_point('b42', 0, 0, 0, 5, 0);
-- nearest_objects reads the GiST index in distance order (its cursor, planned as PL/pgSQL
-- plans it: for the first rows), on a building large enough for the choice to matter
SELECT arxos.generate_building('knn', 3000, 1) > 0 AS generated;
ANALYZE arxos.objects;
BEGIN;
EXPLAIN (COSTS OFF) DECLARE nearest CURSOR FOR
    SELECT o.path::text AS path, o.location <-> cube(ARRAY[1, 2, 3]::float8[]) AS distance
      FROM arxos.objects o
     WHERE o.building_id = arxos.building_id('knn') AND o.location IS NOT NULL
     ORDER BY o.location <-> cube(ARRAY[1, 2, 3]::float8[]);
ROLLBACK;
-- the same answers as a search of the radius's box: max cuts after the ties at its distance
SELECT count(*) AS differences FROM generate_series(1, 50) i,
       LATERAL (SELECT (i * 7 % 40)::float8 AS x, (i * 3 % 25)::float8 AS y, (i % 4)::float8 AS z) p,
       LATERAL (VALUES (0.0::float8, 5), (2, NULL), (6, 12)) AS a(radius, max)
 WHERE (SELECT array_agg(row(n.path, n.distance)::text) FROM arxos.near_point('knn', p.x, p.y, p.z, a.radius, a.max) n)
       IS DISTINCT FROM
       (SELECT array_agg(row(o.path, o.location <-> cube(ARRAY[p.x, p.y, p.z]))::text
                         ORDER BY o.location <-> cube(ARRAY[p.x, p.y, p.z]), o.path)
          FROM (SELECT o.* FROM arxos.objects o
                 WHERE o.building_id = arxos.building_id('knn')
                   AND o.location <@ cube_enlarge(cube(ARRAY[p.x, p.y, p.z]), a.radius, 3)
                   AND o.location <-> cube(ARRAY[p.x, p.y, p.z]) <= a.radius
                 ORDER BY o.location <-> cube(ARRAY[p.x, p.y, p.z]), o.path
                 LIMIT a.max) o);
SELECT count(*) > 0 AS some_found FROM arxos.near_point('knn', 10, 10, 1, 3);
DELETE FROM arxos.buildings WHERE key = 'knn';
-- the generator: any seed (the largest too), an existing empty building by id, an id that names
-- no building; its actor is its own writes' only
SELECT arxos.generate_building('00000000-0000-0000-0000-000000000000', 5);
BEGIN;
SELECT arxos.generate_building('seedmax', 30, 2147483647) AS generated;
SELECT arxos.create_building('empty', 'Empty') AS empty_id \gset
SELECT arxos.generate_building(upper(:'empty_id'), 5) AS filled_by_id;
SELECT count(*) AS objects FROM arxos.objects WHERE building_id = :'empty_id';
SELECT actor FROM arxos.object_history WHERE building_id = :'empty_id' GROUP BY actor;
SELECT arxos.current_actor() = current_user AS actor_restored;
ROLLBACK;
-- objects at the same distance come out in byte order of their paths, whatever the database's
-- collation (this suite's database sorts text with ICU's root collation, where a_b < a-b < B)
SELECT arxos.create_building('ties', 'Ties') IS NOT NULL AS created;
SELECT count(*) AS put FROM (VALUES ('/B'), ('/a-b'), ('/a_b'), ('/ab')) v(p),
       LATERAL arxos.put('ties', v.p, 'thing', location => '{"x": 1, "y": 0, "z": 0}') o;
SELECT array_agg(p ORDER BY p) AS database_order FROM (VALUES ('/B'), ('/a-b'), ('/a_b'), ('/ab')) v(p);
SELECT path, distance FROM arxos.near_point('ties', 0, 0, 0, 2);
SELECT path FROM arxos.near_point('ties', 0, 0, 0, 2, max => 2);
DELETE FROM arxos.buildings WHERE key = 'ties';
-- opposite corners of the coordinate range are still a finite distance apart
SELECT arxos.create_building('far', 'Far') IS NOT NULL AS created;
SELECT path FROM arxos.put('far', '/a', 'sensor', location => '{"x": 1e9, "y": 1e9, "z": 1e9}');
SELECT path FROM arxos.put('far', '/b', 'sensor', location => '{"x": -1e9, "y": -1e9, "z": -1e9}');
SELECT path, round(distance::numeric) AS distance FROM arxos.near('far', '/a', radius => 4e9);
DELETE FROM arxos.buildings WHERE key = 'far';
-- EWKB: little-endian PointZ without SRID
SELECT encode(arxos.location_ewkb(id), 'hex') FROM arxos.objects WHERE path = '/electrical/panels/panel_1';
SELECT arxos.ewkb_parse_point(arxos.ewkb_point_z(1.5, -2.25, 3));
-- PostGIS writes SRID=4326;POINT Z (1 2 3) like this; big-endian 2-D points work too
SELECT arxos.ewkb_parse_point('\x01010000a0e6100000000000000000f03f00000000000000400000000000000840');
SELECT arxos.ewkb_parse_point('\x000000000140100000000000004014000000000000');
SELECT arxos.ewkb_parse_point('\x0102000000');
SELECT arxos.ewkb_parse_point('\x010200000001000000000000000000f03f000000000000f03f');
SELECT arxos.set_location_ewkb('b42', '/spaces/floor_1', arxos.ewkb_point_z(0, 0, 1e10));
SELECT arxos.set_location_ewkb('b42', '/spaces/floor_1', arxos.ewkb_point_z(0, 1e-320, 0));
-- a point out of range is a bad value (22023, as for put); bytes that are no point 22P03
SELECT regress.try($$SELECT arxos.set_location_ewkb('b42', '/spaces/floor_1', arxos.ewkb_point_z(0, 0, 1e10))$$) AS out_of_range,
       regress.try($$SELECT arxos.set_location_ewkb('b42', '/spaces/floor_1', '\x0101'::bytea)$$) AS no_point;
SELECT x, y, z FROM arxos.set_location_ewkb('b42', '/spaces/floor_1', arxos.ewkb_point_z(0.5, 0.5, 0));
SELECT x, y, z FROM arxos.set_location_ewkb('b42', '/spaces/floor_1', arxos.ewkb_point_z(0, 0, 0));
-- every digit, whatever the session's extra_float_digits (found by an audit: -15 stored 1000)
SET extra_float_digits = -15;
SELECT x = 1234.5678 AS x_kept, y = 1.0/7 AS y_kept FROM arxos.set_location_ewkb('b42', '/spaces/floor_1', arxos.ewkb_point_z(1234.5678, 1.0/7, 0));
RESET extra_float_digits;
SELECT x, y, z FROM arxos.set_location_ewkb('b42', '/spaces/floor_1', arxos.ewkb_point_z(0, 0, 0));
