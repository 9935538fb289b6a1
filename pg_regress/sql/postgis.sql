-- Locations round-trip through the real PostGIS (the extension itself does not need it).
\set VERBOSITY terse
CREATE EXTENSION IF NOT EXISTS postgis;
SELECT ST_AsText(ST_GeomFromEWKB(arxos.location_ewkb(id))) FROM arxos.objects WHERE path = '/electrical/panels/panel_1';
SELECT x, y, z FROM arxos.set_location_ewkb('b42', '/spaces/floor_1/room_101', ST_AsEWKB(ST_SetSRID(ST_MakePoint(4.25, 3.5, 0.1), 4326)));
SELECT x, y, z FROM arxos.set_location_ewkb('b42', '/spaces/floor_1/room_101', ST_AsBinary(ST_MakePoint(4, 3)));
SELECT ST_Equals(ST_GeomFromEWKB(arxos.location_ewkb(id)), 'POINT Z (4 3 0)'::geometry) FROM arxos.objects WHERE path = '/spaces/floor_1/room_101';
SELECT arxos.set_location_ewkb('b42', '/spaces/floor_1/room_101', ST_AsEWKB('LINESTRING(0 0, 1 1)'::geometry));
DROP EXTENSION postgis;
