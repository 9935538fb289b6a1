-- Locations: nearest-neighbour search and EWKB interop (without PostGIS).
\set VERBOSITY terse
SELECT path, round(distance::numeric, 3) AS distance, location FROM arxos.near('b42', '/spaces/floor_1/room_101');
SELECT path, round(distance::numeric, 3) AS distance FROM arxos.near('b42', '/spaces/floor_1/room_101', radius => 1.2);
SELECT path FROM arxos.near('b42', '/spaces/floor_1/room_101', radius => 50, max => 3);
SELECT path, round(distance::numeric, 3) AS distance FROM arxos.near_point('b42', 2, 1, 1.5, 0.5);
SELECT arxos.near('b42', '/electrical', 5);
SELECT arxos.near_point('b42', 0, 0, 0, -1);
SELECT arxos.near_point('b42', 0, 0, 0, 'Infinity');
-- the planner uses the GiST index for the nearest-neighbour order
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT path FROM arxos.objects o
 WHERE building_id = '00000000-0000-0000-0000-000000000000' AND location IS NOT NULL
 ORDER BY location <-> cube(ARRAY[1, 2, 3]::float8[]) LIMIT 10;
RESET enable_seqscan;
-- EWKB: little-endian PointZ without SRID
SELECT encode(arxos.location_ewkb(id), 'hex') FROM arxos.objects WHERE path = '/electrical/panels/panel_1';
SELECT arxos.ewkb_parse_point(arxos.ewkb_point_z(1.5, -2.25, 3));
-- PostGIS writes SRID=4326;POINT Z (1 2 3) like this; big-endian 2-D points work too
SELECT arxos.ewkb_parse_point('\x01010000a0e6100000000000000000f03f00000000000000400000000000000840');
SELECT arxos.ewkb_parse_point('\x000000000140100000000000004014000000000000');
SELECT arxos.ewkb_parse_point('\x0102000000');
SELECT arxos.ewkb_parse_point('\x010200000001000000000000000000f03f000000000000f03f');
SELECT x, y, z FROM arxos.set_location_ewkb('b42', '/spaces/floor_1', arxos.ewkb_point_z(0.5, 0.5, 0));
SELECT x, y, z FROM arxos.set_location_ewkb('b42', '/spaces/floor_1', arxos.ewkb_point_z(0, 0, 0));
