-- ArxOS schema, part 10: a deterministic generator of realistic buildings (benchmarks, demos).
--
-- arxos.generate_building(key, objects, seed) fills a building with exactly `objects` objects:
-- six systems (/electrical, /fire, /hvac, /network, /plumbing, /spaces), building plant
-- (switchboard, meters, pumps, chiller, ...), and per floor a set of panels, air handlers, fire
-- zones and network switches; per room (/spaces/floor_N/room_NNN) its sensors, thermostat and
-- lights, a circuit with its outlets, a VAV box with damper and diffusers, a smoke detector and
-- sprinklers, data ports, and every tenth room a restroom's plumbing. Most objects have a
-- location in metres (rooms are 6 m x 6 m, floors 4 m apart), statuses are mostly active with a
-- few failed or needing repair; connections (power, air, chilled_water, plumbing, data,
-- monitors), 5 to 8 for every 100 objects (fewer in bigger buildings), join the plant and the floors' equipment and, in the
-- tenth of the rooms whose connections are documented, the room's devices.
--
-- Everything is derived from hashes of (seed, position), so the same seed gives the same tree,
-- the same properties and the same connections. Objects go in with one INSERT ... SELECT and
-- connections with another, so the triggers run once per statement, as for any bulk load.
-- The objects are the first `objects` candidates in (floor, room, rank) order, an order in which
-- every parent comes before its children: cutting it anywhere leaves a whole tree.

CREATE FUNCTION arxos.generate_building(key text, objects integer, seed integer DEFAULT 42)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET work_mem = '256MB'
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    b         uuid;
    rooms     integer;
    floors    integer;
    per_floor integer;
    total     bigint;
    n         integer;
    prior_actor text := current_setting('arxos.actor', true);
BEGIN
    IF objects IS NULL OR objects < 1 OR objects > 100000000 THEN
        RAISE EXCEPTION 'objects must be between 1 and 100000000, got %', coalesce(objects::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF seed IS NULL THEN
        RAISE EXCEPTION 'seed must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- The generator's writes are the generator's (unless an actor is set); what the caller's
    -- transaction writes afterwards is not.
    PERFORM set_config('arxos.actor', coalesce(nullif(prior_actor, ''), 'generator'), true);
    -- Keeps autovacuum out of arxos.objects while the big INSERT runs. A VACUUM in the middle
    -- counts none of the uncommitted rows and records the table as holding 0 rows on many
    -- pages; the insert trigger's parent check, planned at the end of the statement, then
    -- estimates one row for every building and may probe through a building-wide index, once
    -- per new row (docs/operations.md, "Bulk loads").
    LOCK TABLE arxos.objects IN SHARE UPDATE EXCLUSIVE MODE;
    SELECT x.id INTO b FROM arxos.buildings x
     WHERE CASE WHEN arxos.uuid_shaped(generate_building.key) THEN x.id = generate_building.key::uuid
                ELSE x.key = generate_building.key END;
    IF b IS NULL AND arxos.uuid_shaped(key) THEN
        PERFORM arxos.unknown_building(key);  -- an id names a building that exists
    ELSIF b IS NULL THEN
        b := arxos.create_building(key, 'Generated building ' || key,
                                   'seed ' || seed || ', ' || objects || ' objects');
    ELSIF EXISTS (SELECT 1 FROM arxos.objects o WHERE o.building_id = b) THEN
        RAISE EXCEPTION 'building % already has objects', key
            USING ERRCODE = '23505', HINT = 'generate into a new building key';
    END IF;

    -- Size the layout: enough rooms that the candidates cover `objects` (a room yields 19 to
    -- 40 objects, 27 on average); the surplus of the last room or floor is cut off below.
    rooms := greatest(1, ceil(objects / 27.0)::integer);
    LOOP
        floors := greatest(1, least(200, ceil(sqrt(rooms / 2.0))::integer));
        per_floor := ceil(rooms::numeric / floors)::integer;
        floors := ceil(rooms::numeric / per_floor)::integer;

        IF to_regclass('pg_temp.arxos_gen_rooms') IS NOT NULL THEN
            DROP TABLE pg_temp.arxos_gen_rooms;
        END IF;
        CREATE TEMP TABLE arxos_gen_rooms ON COMMIT DROP AS
        SELECT g, fl, r, ceil(sqrt(per_floor))::integer AS cols,
               'floor_' || fl AS floor_name,
               'room_' || fl || lpad(r::text, greatest(2, length(per_floor::text)), '0') AS room,
               2 + (h1 & 7) % 5 AS lights,                 -- 2..6
               3 + ((h1 >> 3) & 7) % 6 AS outlets,         -- 3..8
               1 + ((h1 >> 6) & 3) % 3 AS diffusers,       -- 1..3
               1 + ((h1 >> 8) & 3) AS sprinklers,          -- 1..4
               r % 3 = 0 AS access_point,
               r % 10 = 5 AS restroom,
               ((h1 >> 10) & 1023) < 102 AS surveyed,      -- 10%: connections documented
               CASE WHEN r % 10 = 5 THEN 'restroom'
                    ELSE (ARRAY['office', 'office', 'office', 'office', 'office', 'office',
                                'office', 'office', 'office', 'office', 'office', 'office',
                                'meeting', 'meeting', 'meeting', 'storage', 'storage',
                                'kitchen', 'lab', 'mechanical'])[1 + ((h1 >> 20) & 65535) % 20]
               END AS room_use,
               ((h1 >> 36) & 65535) / 65536.0 AS u
          FROM (SELECT g, g / per_floor + 1 AS fl, g % per_floor + 1 AS r,
                       hashint8extended(g, seed) AS h1
                  FROM generate_series(0, rooms - 1) AS g) s;
        ALTER TABLE pg_temp.arxos_gen_rooms ADD PRIMARY KEY (g);
        ANALYZE pg_temp.arxos_gen_rooms;

        IF to_regclass('pg_temp.arxos_gen_floors') IS NOT NULL THEN
            DROP TABLE pg_temp.arxos_gen_floors;
        END IF;
        CREATE TEMP TABLE arxos_gen_floors ON COMMIT DROP AS
        SELECT fl, 'floor_' || fl AS floor_name, count(*)::integer AS rooms,
               ceil(count(*) / 24.0)::integer AS panels,
               ceil(count(*) / 40.0)::integer AS ahus,
               ceil(count(*) / 30.0)::integer AS zones,
               ceil(count(*) / 24.0)::integer AS switches
          FROM pg_temp.arxos_gen_rooms GROUP BY fl;
        ANALYZE pg_temp.arxos_gen_floors;

        SELECT 20
               + (SELECT sum(8 + 2 * panels + ahus + zones + switches) FROM pg_temp.arxos_gen_floors)
               + (SELECT sum(1 + 4 + lights + 1 + outlets + 1 + 2 + diffusers + 1 + sprinklers
                             + 2 + access_point::int + 7 * restroom::int)
                    FROM pg_temp.arxos_gen_rooms)
          INTO total;
        EXIT WHEN total >= objects;
        rooms := rooms + ceil((objects - total) / 19.0)::integer + 1;
    END LOOP;

    WITH cand AS (
        -- The building: systems, then its plant.
        SELECT 0 AS fl, 0 AS r, NULL::integer AS g, v.rank, 0 AS i, v.kind, v.path COLLATE "C" AS path
          FROM (VALUES
                (1, 'system', '/electrical'), (1, 'system', '/fire'), (1, 'system', '/hvac'),
                (1, 'system', '/network'), (1, 'system', '/plumbing'), (1, 'system', '/spaces'),
                (2, 'switchboard', '/electrical/main_switchboard'),
                (2, 'utility_meter', '/electrical/utility_meter'),
                (2, 'generator', '/electrical/generator'),
                (2, 'fire_alarm_panel', '/fire/fire_alarm_panel'),
                (2, 'fire_pump', '/fire/fire_pump'),
                (2, 'chiller', '/hvac/chiller_1'), (2, 'chiller', '/hvac/chiller_2'),
                (2, 'boiler', '/hvac/boiler_1'), (2, 'cooling_tower', '/hvac/cooling_tower_1'),
                (2, 'core_switch', '/network/core_switch'), (2, 'firewall', '/network/firewall'),
                (2, 'water_meter', '/plumbing/water_meter'),
                (2, 'booster_pump', '/plumbing/booster_pump_1'),
                (2, 'water_heater', '/plumbing/water_heater_1')) AS v(rank, kind, path)
        UNION ALL
        -- Each floor: the floor, and per system its folder and shared equipment.
        SELECT f.fl, 0, NULL, v.rank, v.i, v.kind, v.path
          FROM pg_temp.arxos_gen_floors f
         CROSS JOIN LATERAL (
                SELECT 1 AS rank, 0 AS i, 'floor' AS kind, '/spaces/' || f.floor_name AS path
                UNION ALL SELECT 2, 0, 'folder', '/electrical/' || f.floor_name
                UNION ALL SELECT 3, p, 'panel', '/electrical/' || f.floor_name || '/panel_' || p
                            FROM generate_series(1, f.panels) p
                UNION ALL SELECT 4, p, 'panel_meter', '/electrical/' || f.floor_name || '/panel_' || p || '/meter'
                            FROM generate_series(1, f.panels) p
                UNION ALL SELECT 5, 0, 'folder', '/hvac/' || f.floor_name
                UNION ALL SELECT 6, a, 'ahu', '/hvac/' || f.floor_name || '/ahu_' || a
                            FROM generate_series(1, f.ahus) a
                UNION ALL SELECT 7, 0, 'folder', '/fire/' || f.floor_name
                UNION ALL SELECT 8, z, 'fire_zone', '/fire/' || f.floor_name || '/zone_' || z
                            FROM generate_series(1, f.zones) z
                UNION ALL SELECT 9, 0, 'folder', '/network/' || f.floor_name
                UNION ALL SELECT 10, s, 'network_switch', '/network/' || f.floor_name || '/switch_' || s
                            FROM generate_series(1, f.switches) s
                UNION ALL SELECT 11, 0, 'folder', '/plumbing/' || f.floor_name
                UNION ALL SELECT 12, 1, 'riser_valve', '/plumbing/' || f.floor_name || '/riser_valve'
                UNION ALL SELECT 12, 2, 'circulation_pump', '/plumbing/' || f.floor_name || '/circulation_pump'
         ) v
        UNION ALL
        -- Each room: the room and its devices, the circuit, VAV box, fire and network points.
        SELECT m.fl, m.r, m.g, v.rank, v.i, v.kind, v.path
          FROM pg_temp.arxos_gen_rooms m
         CROSS JOIN LATERAL (SELECT '/spaces/' || m.floor_name || '/' || m.room AS room_path,
                                    '/electrical/' || m.floor_name || '/panel_' || ((m.r - 1) / 24 + 1)
                                        || '/circuit_' || ((m.r - 1) % 24 + 1) AS circuit_path,
                                    '/hvac/' || m.floor_name || '/ahu_' || ((m.r - 1) / 40 + 1)
                                        || '/vav_' || m.room AS vav_path,
                                    '/fire/' || m.floor_name || '/zone_' || ((m.r - 1) / 30 + 1) AS zone_path,
                                    '/network/' || m.floor_name || '/switch_' || ((m.r - 1) / 24 + 1) AS switch_path,
                                    '/plumbing/' || m.floor_name || '/restroom_' || m.room AS restroom_path) p
         CROSS JOIN LATERAL (
                SELECT 1 AS rank, 0 AS i, 'room' AS kind, p.room_path AS path
                UNION ALL SELECT 2, 1, 'thermostat', p.room_path || '/thermostat'
                UNION ALL SELECT 2, 2, 'temperature_sensor', p.room_path || '/temperature_sensor'
                UNION ALL SELECT 2, 3, 'co2_sensor', p.room_path || '/co2_sensor'
                UNION ALL SELECT 2, 4, 'occupancy_sensor', p.room_path || '/occupancy_sensor'
                UNION ALL SELECT 2, 10 + l, 'light', p.room_path || '/light_' || l
                            FROM generate_series(1, m.lights) l
                UNION ALL SELECT 3, 0, 'circuit', p.circuit_path
                UNION ALL SELECT 4, o, 'outlet', p.circuit_path || '/outlet_' || o
                            FROM generate_series(1, m.outlets) o
                UNION ALL SELECT 5, 0, 'vav', p.vav_path
                UNION ALL SELECT 6, 1, 'damper', p.vav_path || '/damper'
                UNION ALL SELECT 6, 2, 'airflow_sensor', p.vav_path || '/airflow_sensor'
                UNION ALL SELECT 6, 10 + d, 'diffuser', p.vav_path || '/diffuser_' || d
                            FROM generate_series(1, m.diffusers) d
                UNION ALL SELECT 7, 0, 'smoke_detector', p.zone_path || '/smoke_detector_' || m.room
                UNION ALL SELECT 7, s, 'sprinkler', p.zone_path || '/sprinkler_' || m.room || '_' || s
                            FROM generate_series(1, m.sprinklers) s
                UNION ALL SELECT 8, q, 'data_port', p.switch_path || '/port_' || m.room || '_' || q
                            FROM generate_series(1, 2) q
                UNION ALL SELECT 8, 3, 'access_point', p.switch_path || '/ap_' || m.room
                            WHERE m.access_point
                UNION ALL SELECT 9, 0, 'restroom', p.restroom_path WHERE m.restroom
                UNION ALL SELECT 10, x.i, x.kind, p.restroom_path || x.name
                            FROM (VALUES (1, 'shutoff_valve', '/shutoff_valve'), (2, 'sink', '/sink_1'),
                                         (3, 'sink', '/sink_2'), (4, 'toilet', '/toilet_1'),
                                         (5, 'toilet', '/toilet_2'), (6, 'toilet', '/toilet_3')) x(i, kind, name)
                           WHERE m.restroom
         ) v
    ), chosen AS (
        SELECT c.*, hashtextextended(c.path, seed) AS h
          FROM cand c
         ORDER BY c.fl, c.r, c.rank, c.i, c.path
         LIMIT objects
    ), shaped AS (
        -- Per object: four independent uniform numbers u1..u4 in [0, 1) from its path's hash,
        -- its type, its room's corner (x0, y0) and its floor's height z0.
        SELECT c.*, m.room, m.room_use, m.u AS room_u, f.rooms AS floor_rooms, f.panels,
               ((c.h) & 65535) / 65536.0 AS u1, ((c.h >> 16) & 65535) / 65536.0 AS u2,
               ((c.h >> 32) & 65535) / 65536.0 AS u3, ((c.h >> 48) & 65535) / 65536.0 AS u4,
               CASE c.kind
                   WHEN 'folder' THEN 'directory'
                   WHEN 'panel_meter' THEN 'meter'
                   WHEN 'utility_meter' THEN 'meter'
                   WHEN 'water_meter' THEN 'meter'
                   WHEN 'temperature_sensor' THEN 'sensor'
                   WHEN 'co2_sensor' THEN 'sensor'
                   WHEN 'occupancy_sensor' THEN 'sensor'
                   WHEN 'airflow_sensor' THEN 'sensor'
                   WHEN 'smoke_detector' THEN 'detector'
                   WHEN 'fire_pump' THEN 'pump'
                   WHEN 'booster_pump' THEN 'pump'
                   WHEN 'circulation_pump' THEN 'pump'
                   WHEN 'riser_valve' THEN 'valve'
                   WHEN 'shutoff_valve' THEN 'valve'
                   WHEN 'core_switch' THEN 'network_switch'
                   WHEN 'restroom' THEN 'fixture_group'
                   ELSE c.kind
               END AS type,
               ((m.r - 1) % m.cols) * 6.0 AS x0, ((m.r - 1) / m.cols) * 6.0 AS y0,
               (c.fl - 1) * 4.0 AS z0
          FROM chosen c
          LEFT JOIN pg_temp.arxos_gen_rooms m ON m.g = c.g
          LEFT JOIN pg_temp.arxos_gen_floors f ON f.fl = c.fl
    ), stated AS (
        -- Status: structure (systems, folders, floors, rooms) is active; equipment is mostly
        -- active, with 1% failed, 2% degraded and needing repair, 2% in maintenance, 4%
        -- inactive and 5% not documented yet (status unknown, no properties).
        SELECT s.*,
               CASE WHEN s.kind IN ('system', 'folder', 'floor', 'room', 'restroom') THEN 'active'
                    WHEN s.u4 < 0.01 THEN 'failed'
                    WHEN s.u4 < 0.03 THEN 'degraded'
                    WHEN s.u4 < 0.05 THEN 'maintenance'
                    WHEN s.u4 < 0.09 THEN 'inactive'
                    WHEN s.u4 < 0.14 THEN 'unknown'
                    ELSE 'active' END AS status
          FROM shaped s
    )
    INSERT INTO arxos.objects (building_id, path, type, status, health, needs_repair, properties,
                               x, y, z, floor)
    SELECT b, s.path, s.type, s.status,
           CASE s.status WHEN 'failed' THEN 5 + floor(s.u3 * 35)
                         WHEN 'degraded' THEN 50 + floor(s.u3 * 30)
                         WHEN 'maintenance' THEN 60 + floor(s.u3 * 30)
                         WHEN 'active' THEN CASE WHEN s.kind IN ('system', 'folder', 'floor', 'room', 'restroom')
                                                 THEN 100 ELSE 85 + floor(s.u3 * 16) END
                         ELSE 100 END,
           s.status IN ('failed', 'degraded'),
           CASE WHEN s.status = 'unknown' THEN '{}'::jsonb ELSE
           CASE s.kind
               WHEN 'system' THEN jsonb_build_object('description', CASE s.path
                   WHEN '/electrical' THEN 'Electrical distribution'
                   WHEN '/fire' THEN 'Fire detection and suppression'
                   WHEN '/hvac' THEN 'Heating, ventilation and air conditioning'
                   WHEN '/network' THEN 'Data network'
                   WHEN '/plumbing' THEN 'Domestic water'
                   ELSE 'Floors and rooms' END)
               WHEN 'folder' THEN '{}'::jsonb
               WHEN 'switchboard' THEN jsonb_build_object('voltage', 480, 'amperage', 4000, 'phases', 3,
                   'manufacturer', 'Eaton', 'model', 'Pow-R-Line Xpert')
               WHEN 'utility_meter' THEN jsonb_build_object('measures', 'electric energy', 'unit', 'kWh',
                   'utility', 'City Power', 'account', 'CP-' || (100000 + seed::bigint))
               WHEN 'generator' THEN jsonb_build_object('fuel', 'diesel', 'power_kw', 1500, 'voltage', 480)
               WHEN 'fire_alarm_panel' THEN jsonb_build_object('manufacturer', 'Notifier', 'model', 'NFS2-3030', 'loops', 10)
               WHEN 'fire_pump' THEN jsonb_build_object('flow_lps', 95, 'head_m', 70, 'power_kw', 110)
               WHEN 'chiller' THEN jsonb_build_object('cooling_kw', 1750, 'refrigerant', 'R-1234ze', 'cop', 6.1)
               WHEN 'boiler' THEN jsonb_build_object('heating_kw', 1200, 'fuel', 'natural gas', 'efficiency', 0.94)
               WHEN 'cooling_tower' THEN jsonb_build_object('capacity_kw', 2100, 'fans', 2)
               WHEN 'core_switch' THEN jsonb_build_object('ports', 96, 'uplink_gbps', 100, 'model', 'Catalyst 9500')
               WHEN 'firewall' THEN jsonb_build_object('model', 'FortiGate 600F', 'throughput_gbps', 20)
               WHEN 'water_meter' THEN jsonb_build_object('measures', 'water volume', 'unit', 'm3', 'size_mm', 100)
               WHEN 'booster_pump' THEN jsonb_build_object('flow_lps', 12, 'head_m', 60, 'power_kw', 15)
               WHEN 'water_heater' THEN jsonb_build_object('capacity_l', 2500, 'fuel', 'natural gas', 'setpoint_c', 60)
               WHEN 'floor' THEN jsonb_build_object('level', s.fl, 'area_m2', s.floor_rooms * 36, 'height_m', 4.0)
               WHEN 'panel' THEN jsonb_build_object('voltage', 208, 'amperage', (ARRAY[100, 225, 400])[1 + floor(s.u1 * 3)::int],
                   'phases', 3, 'manufacturer', (ARRAY['Square D', 'Eaton', 'Siemens', 'ABB'])[1 + floor(s.u2 * 4)::int],
                   'circuits', 24)
               WHEN 'panel_meter' THEN jsonb_build_object('measures', 'electric energy', 'unit', 'kWh', 'ct_ratio', '200:5')
               WHEN 'ahu' THEN jsonb_build_object('airflow_m3h', 12000 + 1000 * floor(s.u1 * 12),
                   'cooling_kw', 80 + 10 * floor(s.u2 * 8), 'fan_kw', 11, 'serves', '/spaces/floor_' || s.fl)
               WHEN 'fire_zone' THEN jsonb_build_object('zone', s.fl || '.' || s.i, 'loop', 1 + s.fl % 10)
               WHEN 'network_switch' THEN jsonb_build_object('ports', 48, 'poe', true, 'model', 'Catalyst 9300',
                   'vlan_data', 10, 'vlan_voice', 20)
               WHEN 'riser_valve' THEN jsonb_build_object('fluid', 'domestic cold water', 'size_mm', 50, 'normally', 'open')
               WHEN 'circulation_pump' THEN jsonb_build_object('fluid', 'domestic hot water', 'flow_lps', 0.8,
                   'head_m', 6, 'power_kw', 0.4)
               WHEN 'room' THEN jsonb_build_object('name', initcap(s.room_use) || ' ' || substr(s.room, 6),
                   'use', s.room_use, 'area_m2', 36, 'occupancy', CASE s.room_use WHEN 'office' THEN 4
                   WHEN 'meeting' THEN 10 WHEN 'kitchen' THEN 6 WHEN 'lab' THEN 3 ELSE 0 END)
               WHEN 'thermostat' THEN jsonb_build_object('setpoint_c', 20 + 0.5 * floor(s.u1 * 8), 'mode', 'auto',
                   'deadband_c', 1.0)
               WHEN 'temperature_sensor' THEN jsonb_build_object('measures', 'temperature', 'unit', 'degC',
                   'range', '0-50')
               WHEN 'co2_sensor' THEN jsonb_build_object('measures', 'co2', 'unit', 'ppm', 'range', '0-2000')
               WHEN 'occupancy_sensor' THEN jsonb_build_object('measures', 'occupancy', 'technology',
                   CASE WHEN s.u1 < 0.7 THEN 'PIR' ELSE 'ultrasonic' END)
               WHEN 'light' THEN jsonb_build_object('lamp', 'LED', 'watts', (ARRAY[18, 24, 36])[1 + floor(s.u1 * 3)::int],
                   'dimmable', s.u2 < 0.6)
               WHEN 'circuit' THEN jsonb_build_object('voltage', 120, 'amperage', CASE WHEN s.u1 < 0.7 THEN 20 ELSE 15 END,
                   'breaker', (s.r - 1) % 24 + 1,
                   'poles', 1, 'serves', '/spaces/floor_' || s.fl || '/' || s.room)
               WHEN 'outlet' THEN jsonb_build_object('voltage', 120, 'amperage', CASE WHEN s.u1 < 0.7 THEN 20 ELSE 15 END,
                   'receptacle', CASE WHEN s.u1 < 0.7 THEN 'NEMA 5-20R' ELSE 'NEMA 5-15R' END,
                   'gfci', s.room_use IN ('kitchen', 'restroom', 'lab'))
               WHEN 'vav' THEN jsonb_build_object('max_airflow_m3h', 300 + 100 * floor(s.u1 * 7),
                   'min_airflow_m3h', 100, 'reheat', s.u2 < 0.4, 'serves', '/spaces/floor_' || s.fl || '/' || s.room)
               WHEN 'damper' THEN jsonb_build_object('actuator', '0-10V', 'size_mm', 200 + 50 * floor(s.u1 * 4))
               WHEN 'airflow_sensor' THEN jsonb_build_object('measures', 'airflow', 'unit', 'm3/h')
               WHEN 'diffuser' THEN jsonb_build_object('kind', 'square ceiling', 'size_mm', 600)
               WHEN 'smoke_detector' THEN jsonb_build_object('kind', CASE WHEN s.room_use = 'kitchen' THEN 'heat' ELSE 'smoke' END,
                   'addressable', true, 'loop', 1 + s.fl % 10)
               WHEN 'sprinkler' THEN jsonb_build_object('k_factor', 5.6, 'temp_rating_c', 68, 'orientation', 'pendent')
               WHEN 'data_port' THEN jsonb_build_object('vlan', CASE WHEN s.i = 1 THEN 10 ELSE 20 END,
                   'speed_mbps', 1000, 'poe', s.i = 2)
               WHEN 'access_point' THEN jsonb_build_object('standard', '802.11ax', 'band', 'dual', 'poe_w', 15.4)
               WHEN 'restroom' THEN jsonb_build_object('fixtures', 5, 'serves', '/spaces/floor_' || s.fl || '/' || s.room)
               WHEN 'shutoff_valve' THEN jsonb_build_object('fluid', 'domestic cold water', 'size_mm', 25, 'normally', 'open')
               WHEN 'sink' THEN jsonb_build_object('flow_lpm', 5.7, 'sensor_tap', s.u1 < 0.5)
               WHEN 'toilet' THEN jsonb_build_object('flush_l', 4.8, 'flush_valve', 'manual')
               ELSE '{}'::jsonb
           END END,
           -- Location: none for systems and folders, and none for 3% of the rest (not surveyed).
           CASE WHEN s.kind IN ('system', 'folder') OR s.u2 >= 0.97 THEN NULL
                WHEN s.fl = 0 THEN round((4 + 2 * s.i)::numeric, 2)::float8
                WHEN s.kind = 'floor' THEN 0.0::float8
                WHEN s.r = 0 THEN round((2.0 * s.rank - 3 + s.i * 0.5)::numeric, 2)::float8
                WHEN s.kind = 'room' THEN round((s.x0 + 3)::numeric, 2)::float8
                ELSE round((s.x0 + 0.5 + 5 * s.u1)::numeric, 2)::float8 END,
           CASE WHEN s.kind IN ('system', 'folder') OR s.u2 >= 0.97 THEN NULL
                WHEN s.fl = 0 THEN 1.0::float8
                WHEN s.kind = 'floor' THEN 0.0::float8
                WHEN s.r = 0 THEN 1.0::float8
                WHEN s.kind = 'room' THEN round((s.y0 + 3)::numeric, 2)::float8
                ELSE round((s.y0 + 0.5 + 5 * s.u3)::numeric, 2)::float8 END,
           CASE WHEN s.kind IN ('system', 'folder') OR s.u2 >= 0.97 THEN NULL
                WHEN s.fl = 0 THEN -4.0::float8
                ELSE s.z0::float8 + CASE s.kind
                    WHEN 'floor' THEN 0 WHEN 'room' THEN 0
                    WHEN 'outlet' THEN 0.3 WHEN 'data_port' THEN 0.3 WHEN 'sink' THEN 0.85
                    WHEN 'toilet' THEN 0.4 WHEN 'shutoff_valve' THEN 0.5
                    WHEN 'thermostat' THEN 1.5 WHEN 'temperature_sensor' THEN 1.5
                    WHEN 'co2_sensor' THEN 1.5 WHEN 'panel' THEN 1.5 WHEN 'panel_meter' THEN 1.8
                    WHEN 'light' THEN 2.8 WHEN 'diffuser' THEN 2.8 WHEN 'access_point' THEN 2.8
                    WHEN 'occupancy_sensor' THEN 2.8 WHEN 'smoke_detector' THEN 2.9 WHEN 'sprinkler' THEN 2.9
                    WHEN 'vav' THEN 3.3 WHEN 'damper' THEN 3.3 WHEN 'airflow_sensor' THEN 3.3
                    ELSE 1.0 END END,
           CASE WHEN s.kind = 'system' THEN NULL ELSE s.fl END
      FROM stated s;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- Until the statistics know the new building, the planner takes it for empty and may look
    -- objects up through another index of building_id, scanning the whole building each time.
    IF n >= 10000 THEN
        ANALYZE arxos.objects;
    END IF;

    -- Connections, where both ends exist: the electrical backbone and each floor's plant always;
    -- the devices of a room only in the rooms whose connections are documented ("surveyed").
    -- The ends are looked up one by one through the (building_id, path) key: the statistics
    -- of arxos.objects do not know the new building yet, so a planned join could go astray.
    INSERT INTO arxos.connections (building_id, from_id, to_id, kind, properties)
    SELECT b, f.id, t.id, e.kind, e.properties
      FROM (
            SELECT '/electrical/utility_meter' AS from_path, '/electrical/main_switchboard' AS to_path,
                   'power' AS kind, '{}'::jsonb AS properties
            UNION ALL SELECT '/electrical/generator', '/electrical/main_switchboard', 'power', '{"standby": true}'
            UNION ALL SELECT '/plumbing/water_meter', '/plumbing/booster_pump_1', 'plumbing', '{}'
            UNION ALL SELECT '/plumbing/booster_pump_1', '/plumbing/water_heater_1', 'plumbing', '{}'
            UNION ALL SELECT '/hvac/cooling_tower_1', '/hvac/chiller_1', 'condenser_water', '{}'
            UNION ALL SELECT '/hvac/cooling_tower_1', '/hvac/chiller_2', 'condenser_water', '{}'
            UNION ALL SELECT '/fire/fire_pump', '/fire/fire_alarm_panel', 'monitors', '{}'
            UNION ALL
            SELECT v.from_path, v.to_path, v.kind, v.properties
              FROM pg_temp.arxos_gen_floors f
             CROSS JOIN LATERAL (
                    SELECT '/electrical/main_switchboard' AS from_path,
                           '/electrical/' || f.floor_name || '/panel_' || p AS to_path, 'power' AS kind,
                           jsonb_build_object('feeder', 'F' || f.fl || '-' || p) AS properties
                      FROM generate_series(1, f.panels) p
                    UNION ALL
                    SELECT '/electrical/' || f.floor_name || '/panel_' || p || '/meter',
                           '/electrical/' || f.floor_name || '/panel_' || p, 'monitors', '{}'
                      FROM generate_series(1, f.panels) p
                    UNION ALL
                    SELECT '/hvac/chiller_' || (1 + a % 2), '/hvac/' || f.floor_name || '/ahu_' || a,
                           'chilled_water', '{}'
                      FROM generate_series(1, f.ahus) a
                    UNION ALL
                    SELECT '/network/core_switch', '/network/' || f.floor_name || '/switch_' || s, 'data',
                           jsonb_build_object('uplink_gbps', 10)
                      FROM generate_series(1, f.switches) s
                    UNION ALL
                    SELECT '/plumbing/booster_pump_1', '/plumbing/' || f.floor_name || '/riser_valve', 'plumbing', '{}'
                    UNION ALL
                    SELECT '/plumbing/water_heater_1', '/plumbing/' || f.floor_name || '/circulation_pump', 'plumbing', '{}'
             ) v
            UNION ALL
            SELECT v.from_path, v.to_path, v.kind, v.properties
              FROM pg_temp.arxos_gen_rooms m
             CROSS JOIN LATERAL (SELECT '/spaces/' || m.floor_name || '/' || m.room AS room_path,
                                        '/electrical/' || m.floor_name || '/panel_' || ((m.r - 1) / 24 + 1) AS panel_path,
                                        '/electrical/' || m.floor_name || '/panel_' || ((m.r - 1) / 24 + 1)
                                            || '/circuit_' || ((m.r - 1) % 24 + 1) AS circuit_path,
                                        '/hvac/' || m.floor_name || '/ahu_' || ((m.r - 1) / 40 + 1) AS ahu_path,
                                        '/hvac/' || m.floor_name || '/ahu_' || ((m.r - 1) / 40 + 1)
                                            || '/vav_' || m.room AS vav_path,
                                        '/network/' || m.floor_name || '/switch_' || ((m.r - 1) / 24 + 1) AS switch_path,
                                        '/plumbing/' || m.floor_name || '/restroom_' || m.room AS restroom_path) p
             CROSS JOIN LATERAL (
                    -- Restrooms are always on the riser.
                    SELECT '/plumbing/' || m.floor_name || '/riser_valve' AS from_path,
                           p.restroom_path || '/shutoff_valve' AS to_path, 'plumbing' AS kind,
                           '{}'::jsonb AS properties
                     WHERE m.restroom
                    UNION ALL
                    SELECT p.restroom_path || '/shutoff_valve', p.restroom_path || x.name, 'plumbing', '{}'
                      FROM (VALUES ('/sink_1'), ('/sink_2'), ('/toilet_1'), ('/toilet_2'), ('/toilet_3')) x(name)
                     WHERE m.restroom AND m.surveyed
                    UNION ALL
                    -- Power: panel -> circuit -> first outlet -> next outlet (a daisy chain).
                    SELECT p.panel_path, p.circuit_path, 'power', '{}' WHERE m.surveyed
                    UNION ALL
                    SELECT p.circuit_path, p.circuit_path || '/outlet_1', 'power', '{}' WHERE m.surveyed
                    UNION ALL
                    SELECT p.circuit_path || '/outlet_' || o, p.circuit_path || '/outlet_' || (o + 1), 'power', '{}'
                      FROM generate_series(1, m.outlets - 1) o WHERE m.surveyed
                    UNION ALL
                    -- Air: AHU -> VAV box -> diffusers; the thermostat and the airflow sensor watch the box.
                    SELECT p.ahu_path, p.vav_path, 'air', '{}' WHERE m.surveyed
                    UNION ALL
                    SELECT p.vav_path, p.vav_path || '/diffuser_' || d, 'air', '{}'
                      FROM generate_series(1, m.diffusers) d WHERE m.surveyed
                    UNION ALL
                    SELECT p.room_path || '/thermostat', p.vav_path, 'monitors', '{}' WHERE m.surveyed
                    UNION ALL
                    SELECT p.vav_path || '/airflow_sensor', p.vav_path, 'monitors', '{}' WHERE m.surveyed
                    UNION ALL
                    SELECT p.switch_path, p.switch_path || '/ap_' || m.room, 'data', '{}'
                     WHERE m.surveyed AND m.access_point
             ) v
           ) e
     CROSS JOIN LATERAL (SELECT o.id FROM arxos.objects o
                          WHERE o.building_id = b AND o.path = e.from_path LIMIT 1) f
     CROSS JOIN LATERAL (SELECT o.id FROM arxos.objects o
                          WHERE o.building_id = b AND o.path = e.to_path LIMIT 1) t;

    DROP TABLE pg_temp.arxos_gen_rooms;
    DROP TABLE pg_temp.arxos_gen_floors;
    PERFORM set_config('arxos.actor', coalesce(prior_actor, ''), true);
    RETURN n;
END
$$;
COMMENT ON FUNCTION arxos.generate_building(text, integer, integer) IS
    'Fills a new (or empty) building with exactly `objects` deterministic, realistic objects and their connections; returns the number of objects.';
