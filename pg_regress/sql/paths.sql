-- The path grammar: normalisation, and every rule, through functions and plain INSERT.
\set VERBOSITY terse
SELECT arxos.normalize_path('/a//b///c/') AS normalized,
       arxos.normalize_path('///') AS root,
       arxos.normalize_path('/electrical/circuits/2/outlet_2A') AS unchanged;
SELECT arxos.path_parent('/a/b/c'), arxos.path_parent('/a'), arxos.path_parent('/');
SELECT arxos.path_name('/a/b/outlet_2A'), arxos.path_depth('/'), arxos.path_depth('/a/b');
SELECT arxos.path_lower('/a_b'), arxos.path_upper('/a_b');
SELECT arxos.resolve_path('/electrical/circuits/2', '../1/./x/..') AS resolved;
-- Each rule, named in the error
SELECT arxos.normalize_path('');
SELECT arxos.normalize_path('electrical/panels');
SELECT arxos.normalize_path('/a/./b');
SELECT arxos.normalize_path('/a/../b');
SELECT arxos.normalize_path(E'/a/b\tc');
-- invisible formatting characters (zero-width space, bidirectional overrides) make look-alikes;
-- the joiners scripts need stay names
SELECT arxos.normalize_path(E'/panel\u202E1');
SELECT arxos.normalize_path(E'/room\u200B101');
SELECT arxos.normalize_path(E'/\u0645\u06CC\u200C\u062E') IS NOT NULL AS zwnj_ok;
-- between Latin letters a joiner shows nothing: refused
SELECT arxos.normalize_path(E'/x\u200Dy');
SELECT arxos.normalize_path('/' || repeat('x', 256));
SELECT length(arxos.normalize_path('/' || repeat('x', 255))) AS max_segment_ok;
SELECT arxos.normalize_path(repeat('/a', 65));
SELECT arxos.path_depth(arxos.normalize_path(repeat('/a', 64))) AS max_depth_ok;
SELECT arxos.normalize_path(repeat('/' || repeat('y', 255), 4) || '/z');
SELECT arxos.normalize_object_path('/');
SELECT arxos.resolve_path('/a', '../..');
SELECT arxos.path_is_valid('/ok/path'), arxos.path_is_valid('no/slash');
-- Plain INSERT normalises and enforces the same rules
INSERT INTO arxos.objects (building_id, path, type)
SELECT id, '//spaces//floor_1/room_102/', 'room' FROM arxos.buildings WHERE key = 'b42';
SELECT path, name, parent_path, depth FROM arxos.objects WHERE path = '/spaces/floor_1/room_102';
INSERT INTO arxos.objects (building_id, path, type)
SELECT id, '/spaces/../etc', 'room' FROM arxos.buildings WHERE key = 'b42';
INSERT INTO arxos.objects (building_id, path, type)
SELECT id, 'relative/path', 'room' FROM arxos.buildings WHERE key = 'b42';
INSERT INTO arxos.objects (building_id, path, type)
SELECT id, '/', 'room' FROM arxos.buildings WHERE key = 'b42';
-- every rule holds through a plain INSERT too: empty, a control character, a segment over
-- 255 bytes, a path over 1024 bytes
INSERT INTO arxos.objects (building_id, path, type)
SELECT id, '', 'room' FROM arxos.buildings WHERE key = 'b42';
INSERT INTO arxos.objects (building_id, path, type)
SELECT id, E'/spaces/tab\there', 'room' FROM arxos.buildings WHERE key = 'b42';
INSERT INTO arxos.objects (building_id, path, type)
SELECT id, E'/spaces/\uFEFFroom', 'room' FROM arxos.buildings WHERE key = 'b42';
INSERT INTO arxos.objects (building_id, path, type)
SELECT id, '/spaces/' || repeat('x', 256), 'room' FROM arxos.buildings WHERE key = 'b42';
INSERT INTO arxos.objects (building_id, path, type)
SELECT id, repeat('/' || repeat('y', 100), 11), 'room' FROM arxos.buildings WHERE key = 'b42';
-- Parent must exist
INSERT INTO arxos.objects (building_id, path, type)
SELECT id, '/nowhere/thing', 'room' FROM arxos.buildings WHERE key = 'b42';
-- A plain UPDATE of a path is normalised and checked the same way
UPDATE arxos.objects SET path = '/spaces/floor_1//room_103/' WHERE path = '/spaces/floor_1/room_102';
SELECT path, name FROM arxos.objects WHERE path LIKE '/spaces/floor\_1/room\_10%' ORDER BY path;
UPDATE arxos.objects SET path = '/spaces/floor_1/./x' WHERE path = '/spaces/floor_1/room_103';
-- '_' and '%' are ordinary characters in paths (no LIKE wildcard surprises)
SELECT (arxos.put('b42', '/spaces/a_b', 'directory')).path;
SELECT (arxos.put('b42', '/spaces/axb', 'directory')).path;
SELECT (arxos.put('b42', '/spaces/a_b/inside', 'room')).path;
SELECT path FROM arxos.tree('b42', '/spaces/a_b');
SELECT arxos.rm('b42', '/spaces/a_b', recursive => true), arxos.rm('b42', '/spaces/axb');
SELECT arxos.rm('b42', '/spaces/floor_1/room_103');
-- white space at a segment's ends would make a second, identical-looking path
SELECT arxos.normalize_path('/spaces/floor_1 ');
SELECT arxos.normalize_path(E'/spaces/\u00a0');
SELECT arxos.path_is_valid('/spaces/Room 1') AS inner_space_ok, arxos.path_is_valid('/ ') AS blank_segment_ok;
