-- ArxOS schema, part 7: the sample building of the architecture document (key b42).

-- Loads "Building 42" unless a building with key b42 exists. Returns true when it loaded.
CREATE FUNCTION arxos.load_sample() RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    prior_actor text := current_setting('arxos.actor', true);
BEGIN
    IF EXISTS (SELECT 1 FROM arxos.buildings WHERE key = 'b42') THEN
        RETURN false;
    END IF;
    -- The sample's writes are the sample's (unless an actor is set); the rest of the caller's
    -- transaction keeps its own.
    PERFORM set_config('arxos.actor', coalesce(nullif(prior_actor, ''), 'sample'), true);
    PERFORM arxos.create_building('b42', 'Building 42', '42 Example Street, Springfield');

    -- Systems and their folders
    PERFORM arxos.put('b42', '/electrical', 'system', '{"description": "Electrical distribution"}');
    PERFORM arxos.put('b42', '/plumbing',   'system', '{"description": "Domestic water"}');
    PERFORM arxos.put('b42', '/hvac',       'system', '{"description": "Heating, ventilation and air conditioning"}');
    PERFORM arxos.put('b42', '/spaces',     'system', '{"description": "Floors and rooms"}');
    PERFORM arxos.put('b42', '/electrical/panels',   'directory', status => 'active');
    PERFORM arxos.put('b42', '/electrical/circuits', 'directory', status => 'active');
    PERFORM arxos.put('b42', '/plumbing/valves',     'directory', status => 'active');
    PERFORM arxos.put('b42', '/hvac/zones',          'directory', status => 'active');

    -- Spaces
    PERFORM arxos.put('b42', '/spaces/floor_1', 'floor', '{"level": 1, "area_m2": 420}',
        location => '{"x": 0, "y": 0, "z": 0, "floor": 1}');
    PERFORM arxos.put('b42', '/spaces/floor_1/room_101', 'room',
        '{"name": "Plant room", "area_m2": 24.5, "use": "mechanical"}',
        location => '{"x": 4.0, "y": 3.0, "z": 0, "floor": 1}');

    -- Electrical
    PERFORM arxos.put('b42', '/electrical/panels/panel_1', 'panel',
        '{"voltage": 240, "amperage": 200, "phases": 1, "manufacturer": "Square D", "model": "QO130L200PG"}',
        location => '{"x": 2.0, "y": 1.0, "z": 1.5, "floor": 1}');
    PERFORM arxos.put('b42', '/electrical/circuits/1', 'circuit',
        '{"voltage": 120, "amperage": 15, "breaker": 1, "serves": "lighting"}',
        location => '{"x": 2.0, "y": 1.2, "z": 1.5, "floor": 1}');
    PERFORM arxos.put('b42', '/electrical/circuits/2', 'circuit',
        '{"voltage": 120, "amperage": 20, "breaker": 2, "serves": "receptacles"}',
        location => '{"x": 2.0, "y": 1.4, "z": 1.5, "floor": 1}');
    PERFORM arxos.put('b42', '/electrical/circuits/2/outlet_2A', 'outlet',
        '{"voltage": 120, "amperage": 20, "receptacle": "NEMA 5-20R"}', status => 'active',
        location => '{"x": 5.5, "y": 3.0, "z": 0.3, "floor": 1}');
    PERFORM arxos.put('b42', '/electrical/circuits/2/outlet_2B', 'outlet',
        '{"voltage": 120, "amperage": 20, "receptacle": "NEMA 5-20R", "fault": "no voltage"}',
        status => 'failed', health => 25, needs_repair => true,
        location => '{"x": 7.0, "y": 3.0, "z": 0.3, "floor": 1}');

    -- Plumbing
    PERFORM arxos.put('b42', '/plumbing/water_heater_1', 'water_heater',
        '{"capacity_l": 190, "fuel": "electric", "setpoint_c": 60}',
        location => '{"x": 4.5, "y": 2.0, "z": 0, "floor": 1}');
    PERFORM arxos.put('b42', '/plumbing/valves/hot_water_valve_1', 'valve',
        '{"fluid": "hot water", "size_mm": 22, "normally": "open"}',
        location => '{"x": 4.8, "y": 2.2, "z": 0.5, "floor": 1}');

    -- HVAC
    PERFORM arxos.put('b42', '/hvac/zones/zone_1', 'hvac_zone',
        '{"serves": "floor 1 east", "design_cooling_kw": 7.5}',
        location => '{"x": 10.0, "y": 5.0, "z": 2.7, "floor": 1}');
    PERFORM arxos.put('b42', '/hvac/zones/zone_1/thermostat_1', 'thermostat',
        '{"setpoint_c": 21.5, "mode": "auto", "deadband_c": 1.0}',
        location => '{"x": 4.2, "y": 3.1, "z": 1.5, "floor": 1}');

    -- Connections
    PERFORM arxos.connect('b42', '/electrical/panels/panel_1', '/electrical/circuits/1', 'power');
    PERFORM arxos.connect('b42', '/electrical/panels/panel_1', '/electrical/circuits/2', 'power');
    PERFORM arxos.connect('b42', '/electrical/circuits/2', '/electrical/circuits/2/outlet_2A', 'power');
    PERFORM arxos.connect('b42', '/electrical/circuits/2', '/electrical/circuits/2/outlet_2B', 'power');
    PERFORM arxos.connect('b42', '/electrical/circuits/1', '/plumbing/water_heater_1', 'power');
    PERFORM arxos.connect('b42', '/plumbing/water_heater_1', '/plumbing/valves/hot_water_valve_1', 'plumbing');
    PERFORM arxos.connect('b42', '/hvac/zones/zone_1/thermostat_1', '/hvac/zones/zone_1', 'monitors');
    PERFORM set_config('arxos.actor', coalesce(prior_actor, ''), true);
    RETURN true;
END
$$;
COMMENT ON FUNCTION arxos.load_sample() IS 'Loads the sample building b42 once; a second call does nothing.';
