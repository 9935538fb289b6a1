-- ArxOS schema, part 6: the functions a DBA (and the shim, and the shell) uses on the tree.
-- Buildings are given by key. Every write goes through plain INSERT/UPDATE/DELETE, so the
-- triggers of 02_objects.sql apply the same rules as for anybody else.

-- The rules of a building's own fields, each named in its error (22023), as the table's CHECKs
-- hold them: create_building and patch_building check before they write.
CREATE FUNCTION arxos.check_building(key text, name text, address text,
                                     latitude double precision, longitude double precision)
RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF key IS NULL THEN
        -- as a NULL building is for every function that takes one
        RAISE EXCEPTION 'key must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF key !~ '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid building key %: use 1 to 63 lowercase ASCII letters (a-z), digits, - and _, starting with a letter or digit',
            arxos.shown(key) USING ERRCODE = '22023';
    END IF;
    IF arxos.uuid_shaped(key) THEN
        RAISE EXCEPTION 'invalid building key %: a key must not look like a building id (a UUID)', arxos.shown(key)
            USING ERRCODE = '22023';
    END IF;
    PERFORM arxos.check_label('name', name, 200);
    PERFORM arxos.check_text('address', address, 500);
    IF (latitude IS NULL) <> (longitude IS NULL) THEN
        RAISE EXCEPTION 'latitude and longitude go together: give both or neither' USING ERRCODE = '22023';
    END IF;
    IF NOT (latitude BETWEEN -90 AND 90) OR NOT (longitude BETWEEN -180 AND 180) THEN
        RAISE EXCEPTION 'latitude must be between -90 and 90 and longitude between -180 and 180 (degrees, WGS 84), got % and %',
            latitude, longitude USING ERRCODE = '22023';
    END IF;
END
$$;

CREATE FUNCTION arxos.create_building(key text, name text, address text DEFAULT NULL,
                                      latitude double precision DEFAULT NULL,
                                      longitude double precision DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v uuid;
BEGIN
    PERFORM arxos.check_building(key, name, address, latitude, longitude);
    INSERT INTO arxos.buildings (key, name, address, latitude, longitude)
    VALUES (create_building.key, create_building.name, create_building.address,
            create_building.latitude, create_building.longitude)
    RETURNING id INTO v;
    RETURN v;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'building % already exists', key USING ERRCODE = '23505';
END
$$;

-- Change a building's own fields: changes is a JSON object of some of key, name, address,
-- latitude and longitude (as patch takes location). A field left out keeps its value; JSON
-- null clears the address, or the position (latitude and longitude, together); a name or a
-- key cannot be cleared. The new values obey create_building's rules. A changed key renames
-- every URL and filter that names the building (its id stays); building.updated carries the
-- fields that changed, and a patch that changes nothing writes no event and keeps updated_at.
CREATE FUNCTION arxos.patch_building(building text, changes jsonb)
RETURNS arxos.buildings
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b     arxos.buildings;
    field text;
    kind  text;
    want  text;
BEGIN
    IF changes IS NULL OR jsonb_typeof(changes) <> 'object' THEN
        RAISE EXCEPTION 'changes must be a JSON object of the fields to change (key, name, address, latitude, longitude), got %',
            coalesce('a JSON ' || jsonb_typeof(changes), 'NULL') USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(arxos.shown(k), ', ' ORDER BY k) INTO field
      FROM jsonb_object_keys(changes) k
     WHERE k NOT IN ('key', 'name', 'address', 'latitude', 'longitude');
    IF field IS NOT NULL THEN
        RAISE EXCEPTION 'a building has no field % to change: it has key, name, address, latitude and longitude', field
            USING ERRCODE = '22023';
    END IF;
    FOR field, kind IN SELECT e.key, jsonb_typeof(e.value) FROM jsonb_each(changes) e LOOP
        want := CASE WHEN field IN ('latitude', 'longitude') THEN 'number' ELSE 'string' END;
        IF kind = 'null' AND field IN ('key', 'name') THEN
            RAISE EXCEPTION 'a building''s % cannot be cleared: null clears only address, latitude and longitude', field
                USING ERRCODE = '22023';
        ELSIF kind NOT IN (want, 'null') THEN
            RAISE EXCEPTION '% must be a JSON %, got a JSON %', field,
                want || CASE WHEN field IN ('key', 'name') THEN '' ELSE ' or null' END, kind USING ERRCODE = '22023';
        END IF;
    END LOOP;
    -- The lock the UPDATE takes (found by a review): a new key is a key update (FOR UPDATE),
    -- and waits for the writers of the building's objects, which hold the row FOR KEY SHARE;
    -- a name, address or position alone does not wait for them (FOR NO KEY UPDATE).
    IF changes ? 'key' THEN
        SELECT * INTO b FROM arxos.buildings WHERE id = arxos.building_id(building) FOR UPDATE;
    ELSE
        SELECT * INTO b FROM arxos.buildings WHERE id = arxos.building_id(building) FOR NO KEY UPDATE;
    END IF;
    -- Deleted by a transaction that committed while this one waited for the row (found by a
    -- review: the patch then reported a building of NULLs, or a NULL key's message).
    IF NOT FOUND THEN
        PERFORM arxos.unknown_building(building);
    END IF;
    IF changes ? 'key' THEN b.key := changes->>'key'; END IF;
    IF changes ? 'name' THEN b.name := changes->>'name'; END IF;
    IF changes ? 'address' THEN b.address := changes->>'address'; END IF;
    BEGIN
        IF changes ? 'latitude' THEN b.latitude := (changes->>'latitude')::double precision; END IF;
        IF changes ? 'longitude' THEN b.longitude := (changes->>'longitude')::double precision; END IF;
    EXCEPTION WHEN numeric_value_out_of_range THEN
        SELECT c.k INTO field FROM unnest(ARRAY['latitude', 'longitude']) c(k)
         WHERE NOT arxos.fits_double(changes ->> c.k) LIMIT 1;
        RAISE EXCEPTION '% is %: latitude and longitude must be degrees that double precision holds (not so large that it overflows, and 0 or not so near 0 that it would round to it)',
            field, arxos.number_shown((changes ->> field)::numeric)
            USING ERRCODE = '22023';
    END;
    PERFORM arxos.check_building(b.key, b.name, b.address, b.latitude, b.longitude);
    BEGIN
        UPDATE arxos.buildings u
           SET key = b.key, name = b.name, address = b.address, latitude = b.latitude, longitude = b.longitude
         WHERE u.id = b.id
        RETURNING * INTO b;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'building % already exists', b.key USING ERRCODE = '23505';
    END;
    RETURN b;
END
$$;

-- A number as a message shows it: as written when short, else in scientific notation with its
-- first six significant digits (1e+400, -2.5e-401), not the hundreds of digits of a JSON number's text.
CREATE FUNCTION arxos.number_shown(n numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN n IS NULL THEN 'null'
                WHEN length(n::text) <= 24 THEN n::text
                ELSE (SELECT CASE WHEN n < 0 THEN '-' ELSE '' END
                             || left(d.sig, 1)
                             || coalesce(nullif('.' || rtrim(substr(d.sig, 2, 5), '0'), '.'), '')
                             || 'e' || CASE WHEN d.e >= 0 THEN '+' ELSE '' END || d.e
                        FROM (SELECT ltrim(replace(t.a, '.', ''), '0') AS sig,
                                     CASE WHEN abs(n) >= 1 THEN length(split_part(t.a, '.', 1)) - 1
                                          ELSE -1 - length(substring(t.a FROM E'^0\\.(0*)')) END AS e
                                FROM (SELECT abs(n)::text AS a) t) d)
           END
$$;

-- Whether a number's text (a JSON number, or NULL) converts to double precision: false when
-- it overflows or would round to 0 (1e400, 1e-400). For error messages, on the error path
-- only (each call is a subtransaction).
CREATE FUNCTION arxos.fits_double(number text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM number::double precision;
    RETURN true;
EXCEPTION WHEN numeric_value_out_of_range THEN
    RETURN false;
END
$$;

-- A put's location with a null in it: put keeps what it is not given, so the null would clear
-- nothing; refused rather than ignored.
CREATE FUNCTION arxos.refuse_location_null() RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RAISE EXCEPTION 'location: put keeps what it is not given, so a null clears nothing'
        USING ERRCODE = '22023',
              HINT = 'clear a location, or a part of it, with patch: location => ''null'' for all of it, ''{"floor": null}'' for the floor, ''{"x": null, "y": null}'' for the point';
END
$$;

-- Location argument: jsonb {"x": m, "y": m, "z": m, "floor": n}; x, y and z go together (z
-- defaults to 0), floor may come alone. Values are JSON numbers (or null); x, y and z finite
-- and within ±1e9 metres of the building's origin, 0 or at least 1e-100 in magnitude (arxos.location_in_range), floor a whole number. Any other key is refused rather than ignored.
-- With nulls => false (put, which keeps what it is not given, so a null would clear nothing) a
-- JSON null, whole or in a key, is refused too.
CREATE FUNCTION arxos.location_parts(location jsonb, nulls boolean DEFAULT true,
                                     OUT x double precision, OUT y double precision,
                                     OUT z double precision, OUT floor integer)
LANGUAGE plpgsql IMMUTABLE AS $$
#variable_conflict use_column
DECLARE
    k text;
    t text;
BEGIN
    IF location IS NULL THEN
        RETURN;
    END IF;
    IF NOT nulls AND location = 'null' THEN
        PERFORM arxos.refuse_location_null();
    END IF;
    IF jsonb_typeof(location) <> 'object' THEN
        RAISE EXCEPTION 'location must be a JSON object like {"x": 1.5, "y": 2, "z": 0, "floor": 1}'
            USING ERRCODE = '22023';
    END IF;
    FOR k, t IN SELECT e.key, jsonb_typeof(e.value) FROM jsonb_each(location) e ORDER BY e.key LOOP
        IF k NOT IN ('x', 'y', 'z', 'floor') THEN
            RAISE EXCEPTION 'location has an unknown key %: use x, y, z (metres) and floor', arxos.shown(k)
                USING ERRCODE = '22023';
        END IF;
        IF t NOT IN ('number', 'null') THEN
            RAISE EXCEPTION 'location.% must be a number, not a JSON %', k, t USING ERRCODE = '22023';
        END IF;
        IF t = 'null' AND NOT nulls THEN
            PERFORM arxos.refuse_location_null();
        END IF;
    END LOOP;
    BEGIN
        x := (location ->> 'x')::double precision;
        y := (location ->> 'y')::double precision;
        z := (location ->> 'z')::double precision;
    EXCEPTION WHEN numeric_value_out_of_range THEN
        -- the coordinate, and the number as sent (found by a review: 1e400 was told about
        -- 1e-400, and not which coordinate)
        SELECT c.k INTO k FROM unnest(ARRAY['x', 'y', 'z']) c(k)
         WHERE NOT arxos.fits_double(location ->> c.k) LIMIT 1;
        RAISE EXCEPTION 'location.% is %: x, y and z must be numbers of metres that double precision holds (finite, and 0 or not so near 0 that they would round to it)',
            k, arxos.number_shown((location ->> k)::numeric)
            USING ERRCODE = '22023';
    END;
    IF NOT arxos.location_in_range(x, y, z) THEN
        -- the first coordinate out of range, as double precision prints it (1e+200, not 200 digits)
        SELECT c.k, c.v INTO k, t
          FROM (VALUES (1, 'x', x), (2, 'y', y), (3, 'z', z)) c(n, k, v)
         WHERE NOT arxos.location_in_range(c.v, 0, 0)
         ORDER BY c.n LIMIT 1;
        RAISE EXCEPTION 'location.% is % metres: x, y and z must lie within ±1e9 metres of the building''s origin, and be 0 or at least 1e-100 in magnitude', k, t
            USING ERRCODE = '22023',
                  HINT = 'coordinates are metres in the building''s own frame; farther points would have no finite distance to others';
    END IF;
    IF (location ->> 'floor') IS NOT NULL THEN
        -- the column's whole range, as a plain write stores it (found by an audit: put
        -- refused -2147483648, which an INSERT stored)
        IF (location ->> 'floor')::numeric <> trunc((location ->> 'floor')::numeric)
           OR (location ->> 'floor')::numeric NOT BETWEEN -2147483648 AND 2147483647 THEN
            RAISE EXCEPTION 'location.floor must be a whole number of storeys (from -2147483648 to 2147483647), not %', arxos.shown((location -> 'floor')::text)
                USING ERRCODE = '22023';
        END IF;
        floor := (location ->> 'floor')::numeric::integer;
    END IF;
    -- z alone (a number or null) is refused: it goes with x and y, which null clear together.
    IF (x IS NULL) <> (y IS NULL) OR (x IS NULL AND z IS NOT NULL)
       OR (location ? 'z' AND NOT location ?| ARRAY['x', 'y'])
       -- `{"x": null}` alone too (found by a review: it cleared the whole point)
       OR (location ? 'x') <> (location ? 'y') THEN
        RAISE EXCEPTION 'location needs both x and y (z defaults to 0): %', arxos.shown(location::text) USING ERRCODE = '22023';
    END IF;
    IF x IS NOT NULL THEN
        z := coalesce(z, 0);
    END IF;
END
$$;

-- A listing's max as its LIMIT: NULL for none, a negative one refused naming the argument
-- (2201W, as LIMIT itself would say it without the name). One SQL expression, declared
-- VOLATILE so that the planner inlines it into a listing's LIMIT (computed once, when the
-- executor starts: before any row is read) instead of calling it.
CREATE FUNCTION arxos.listing_limit(max integer) RETURNS integer
LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN max < 0 THEN arxos.raise('max must not be negative, got ' || max, '2201W')::int
                ELSE max END
$$;

-- A listing's after, as the path it compares with: normalised (an after written /a/b/ would
-- otherwise sort after /a/b-2 and skip it), NULL for none. One that is not a path is refused:
-- every path would sort before it, and the answer would be an empty page rather than an error.
-- STRICT: a listing without after (the usual one) does not call it at all.
CREATE FUNCTION arxos.after_path(after text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    IF left(after, 1) <> '/' THEN
        RAISE EXCEPTION 'after must be a path (the last path of the previous page, like /spaces/room_1), got %',
            arxos.shown(after) USING ERRCODE = '22023';
    END IF;
    RETURN arxos.normalize_path(after);
END
$$;

-- A JSON object with a patch's keys merged in: a key the patch gives as null is removed (nulls
-- deeper down, or in keys the patch does not name, are values like any other). NULL patch:
-- the document as it is.
CREATE FUNCTION arxos.merge_keys(doc jsonb, patch jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    -- (Inlined where it is used: no check of its own, which would call a volatile function.
    -- Its callers pass JSON objects; patch checks its arguments.)
    SELECT CASE WHEN patch IS NULL THEN doc
                ELSE (doc || patch) - ARRAY(SELECT k.key FROM jsonb_each(patch) k
                                             WHERE jsonb_typeof(k.value) = 'null') END
$$;

-- Checks the user-facing fields of an object write, with messages that say what is allowed.
CREATE FUNCTION arxos.check_object_input(type text, status text, health integer) RETURNS void
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
    IF type IS NOT NULL AND NOT arxos.is_label(type, 100) THEN
        RAISE EXCEPTION 'invalid type %: 1 to 100 characters, no space at either end, no control or invisible formatting characters',
            arxos.shown(type) USING ERRCODE = '22023';
    END IF;
    IF status IS NOT NULL AND NOT EXISTS (SELECT 1 FROM arxos.statuses s WHERE s.status = status) THEN
        RAISE EXCEPTION 'unknown status %: use one of %', arxos.shown(status),
            (SELECT string_agg(s.status, ', ' ORDER BY s.status) FROM arxos.statuses s)
            USING ERRCODE = '22023';
    END IF;
    IF health IS NOT NULL AND health NOT BETWEEN 0 AND 100 THEN
        RAISE EXCEPTION 'health must be between 0 and 100, got %', health USING ERRCODE = '22023';
    END IF;
END
$$;

-- An object's entity tag: its id and version (`0190….3`). The version alone would match an
-- object deleted and created again at the same path; the id tells them apart. Readings
-- (metrics) change neither.
CREATE FUNCTION arxos.etag(o arxos.objects) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT o.id::text || '.' || o.version::text
$$;

-- The object at p, locked FOR UPDATE, when if_match is its etag or `*` (any object); raises
-- AX025 otherwise, a missing object included: a write conditional on what the caller saw
-- must not act on something else. Locked, the object cannot change before the caller's write.
CREATE FUNCTION arxos.matched_object(b uuid, p text, if_match text) RETURNS arxos.objects
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    r arxos.objects;
BEGIN
    SELECT * INTO r FROM arxos.objects o WHERE o.building_id = b AND o.path = p FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no object at % (if_match %)', p, arxos.shown(if_match)
            USING ERRCODE = 'AX025', HINT = 'if_match makes a write conditional on the object as it was read';
    END IF;
    IF starts_with(if_match, 'W/') THEN
        RAISE EXCEPTION 'a weak entity tag (%) never matches: a conditional write compares strong tags (an ETag, or arxos.etag, as given)', arxos.shown(if_match)
            USING ERRCODE = 'AX025', HINT = 'send the ETag header''s value as it came, without W/';
    END IF;
    -- the tag as an ETag header carries it, in double quotes, is the same tag (found by an
    -- audit: '"X"' was "changed: its etag is X")
    -- (but '"*"' is a strong tag that names no object, not the wildcard: the shim passes an
    -- If-Match: "*" as it came, so that it matches nothing; found by a review)
    IF if_match ~ '^"[^"]*"$' AND if_match <> '"*"' THEN
        if_match := substr(if_match, 2, length(if_match) - 2);
    END IF;
    IF if_match <> '*' AND if_match IS DISTINCT FROM arxos.etag(r) THEN
        RAISE EXCEPTION 'the object at % has changed: its etag is %, not %', p, arxos.shown(arxos.etag(r)), arxos.shown(if_match)
            USING ERRCODE = 'AX025', HINT = 'read it again (arxos.get) and apply the change to what it is now';
    END IF;
    RETURN r;
END
$$;

-- Creates or updates one object. NULL arguments keep what an existing object has; a new object
-- gets status active, health 100. parents => true creates missing ancestors as directories.
-- if_match (an etag, or `*`): only update the object if it is still as read (AX025).
-- if_none_match (`*` only): only create it; an object at the path is AX025.
CREATE FUNCTION arxos.put(building text, path text, type text, properties jsonb DEFAULT NULL,
                          status text DEFAULT NULL, health integer DEFAULT NULL,
                          location jsonb DEFAULT NULL, parents boolean DEFAULT false,
                          needs_repair boolean DEFAULT NULL, if_match text DEFAULT NULL,
                          if_none_match text DEFAULT NULL)
RETURNS arxos.objects
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b   uuid := arxos.building_id(building);
    p   text := arxos.normalize_object_path(path);
    loc record;
    r   arxos.objects;
    anc text[];
    held integer;
    building_held boolean := false;
BEGIN
    IF properties IS NOT NULL AND jsonb_typeof(properties) <> 'object' THEN
        RAISE EXCEPTION 'properties must be a JSON object, got a JSON %', jsonb_typeof(properties) USING ERRCODE = '22023';
    END IF;
    PERFORM arxos.check_object_input(put.type, put.status, put.health);
    IF put.type IS NULL THEN
        RAISE EXCEPTION 'type is required' USING ERRCODE = '22023';
    END IF;
    -- put keeps what it is not given, so a null cannot clear: refused rather than ignored
    SELECT * INTO loc FROM arxos.location_parts(location, nulls => false);
    IF if_none_match IS DISTINCT FROM '*' AND if_none_match IS NOT NULL THEN
        RAISE EXCEPTION 'if_none_match takes only *, got %', arxos.shown(if_none_match)
            USING ERRCODE = '22023', HINT = 'if_none_match => ''*'' creates the object only if none is at the path; if_match makes an update conditional on an etag';
    END IF;
    IF if_none_match IS NOT NULL AND if_match IS NOT NULL THEN
        RAISE EXCEPTION 'if_match and if_none_match together: a put either updates what it read (if_match) or only creates (if_none_match => ''*'')'
            USING ERRCODE = '22023';
    END IF;
    IF if_match IS NOT NULL THEN
        -- locked: the loop below finds it and updates it, nobody can in between
        PERFORM arxos.matched_object(b, p, if_match);
    END IF;
    -- (With if_match the object exists, locked, and so do its ancestors: nothing to create.)
    IF parents AND if_match IS NULL THEN
        anc := ARRAY(SELECT left(p, i - 1) FROM generate_series(2, length(p)) AS i
                      WHERE substr(p, i, 1) = '/' ORDER BY i);
        -- The building is locked before any object (below), the order of a building's delete
        -- (the building, then its objects): always, since what is there now may be deleted
        -- before the loop below locks it, and then created after the parent is locked.
        PERFORM arxos.building_locked(b) OR arxos.unknown_building(building);
        building_held := true;
        -- Ancestors a concurrent transaction deletes meanwhile are created anew. The deepest
        -- existing one is locked first (FOR KEY SHARE, as a foreign key does: a delete or move
        -- of it, or of anything above it, must touch it, and waits for this transaction; one
        -- deleted before the lock is skipped and the next one up taken). Below it each missing
        -- ancestor is made sure of in path order, its parent already held: inserted (it is
        -- then this transaction's own), or, when a concurrent transaction created it (ON
        -- CONFLICT waits for that one), locked in a statement whose snapshot sees it; deleted
        -- again in between, it is inserted again. No statement can fail on a missing parent,
        -- so no subtransaction: a loop of three attempts, each of which could lose that race
        -- to a loop of rm as a whole, failed a clean-clone CI run (found there).
        SELECT array_position(anc, o.path) INTO held
          FROM arxos.objects o
         WHERE o.building_id = b AND o.path = ANY (anc)
         ORDER BY o.path DESC LIMIT 1
           FOR KEY SHARE;
        FOR i IN coalesce(held, 0) + 1 .. cardinality(anc) LOOP
            LOOP
                INSERT INTO arxos.objects (building_id, path, type)
                VALUES (b, anc[i] COLLATE "C", 'directory')
                ON CONFLICT (building_id, path) DO NOTHING;
                EXIT WHEN FOUND;
                PERFORM 1 FROM arxos.objects o
                  WHERE o.building_id = b AND o.path = anc[i]
                 OFFSET 0 FOR KEY SHARE;
                EXIT WHEN FOUND;
            END LOOP;
        END LOOP;
    END IF;
    -- Look first, then write: an UPDATE that matches nothing still costs a statement and its
    -- (empty) statement triggers. An object moved or deleted by a concurrent transaction
    -- between the look and the write makes it look again (the UPDATE re-checks the path on the
    -- row it waited for, so it never changes what now lives elsewhere), and it is created anew.
    -- Two puts creating the same path at once: the INSERT of the second waits for the first
    -- (ON CONFLICT's check of the unique index), writes nothing when the first committed, and
    -- looks again: it then updates the object, as a put a moment later would. (Under
    -- REPEATABLE READ the object is not visible to its snapshot: 40001, retry.) With
    -- if_none_match the second finds the first's object there and is refused.
    LOOP
        SELECT * INTO r FROM arxos.objects o WHERE o.building_id = b AND o.path = p;
        IF FOUND AND if_none_match IS NOT NULL THEN
            RAISE EXCEPTION 'an object is already at % (if_none_match *): its etag is %', p, arxos.shown(arxos.etag(r))
                USING ERRCODE = 'AX025', HINT = 'if_none_match => ''*'' only creates; to change the object, read it (arxos.get) and put with if_match';
        END IF;
        IF FOUND THEN
            IF (r.type, r.properties, r.status, r.health, r.needs_repair, r.x, r.y, r.z, r.floor)
               IS NOT DISTINCT FROM
               (put.type, coalesce(put.properties, r.properties), coalesce(put.status, r.status),
                coalesce(put.health, r.health)::smallint, coalesce(put.needs_repair, r.needs_repair),
                coalesce(loc.x, r.x), coalesce(loc.y, r.y), coalesce(loc.z, r.z), coalesce(loc.floor, r.floor)) THEN
                RETURN r;   -- nothing to change
            END IF;
            UPDATE arxos.objects o
               SET type = put.type,
                   properties = coalesce(put.properties, o.properties),
                   status = coalesce(put.status, o.status),
                   health = coalesce(put.health, o.health),
                   needs_repair = coalesce(put.needs_repair, o.needs_repair),
                   x = coalesce(loc.x, o.x), y = coalesce(loc.y, o.y), z = coalesce(loc.z, o.z),
                   floor = coalesce(loc.floor, o.floor)
             WHERE o.id = r.id AND o.path = p
            RETURNING * INTO r;
        ELSE
            -- (a building deleted meanwhile: unknown, not the foreign key's message)
            PERFORM building_held OR arxos.building_locked(b) OR arxos.unknown_building(building);
            INSERT INTO arxos.objects (building_id, path, type, properties, status, health, needs_repair, x, y, z, floor)
            VALUES (b, p, put.type, coalesce(put.properties, '{}'), coalesce(put.status, 'active'),
                    coalesce(put.health, 100), coalesce(put.needs_repair, false), loc.x, loc.y, loc.z, loc.floor)
            ON CONFLICT (building_id, path) DO NOTHING
            RETURNING * INTO r;
        END IF;
        IF FOUND THEN
            RETURN r;
        END IF;
    END LOOP;
END
$$;

-- Merges properties and changes only the fields given (PATCH). location is merged key by key:
-- a key left out keeps its value (x and y without z keep z), a key given as JSON null clears it
-- (x or y null: the point, z included; floor null: the floor), and location given as JSON null
-- clears the whole location. (SQL NULL, the default, leaves it alone.)
CREATE FUNCTION arxos.patch(building text, path text, properties jsonb DEFAULT NULL,
                            status text DEFAULT NULL, health integer DEFAULT NULL,
                            needs_repair boolean DEFAULT NULL, type text DEFAULT NULL,
                            location jsonb DEFAULT NULL, metrics jsonb DEFAULT NULL,
                            if_match text DEFAULT NULL)
RETURNS arxos.objects
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b   uuid := arxos.building_id(building);
    p   text := arxos.normalize_object_path(path);
    loc record;
    r   arxos.objects;
    unlocate boolean := false;
    unplace  boolean := false;
    unfloor  boolean := false;
BEGIN
    IF properties IS NOT NULL AND jsonb_typeof(properties) <> 'object' THEN
        RAISE EXCEPTION 'properties must be a JSON object, got a JSON %', jsonb_typeof(properties) USING ERRCODE = '22023';
    END IF;
    IF metrics IS NOT NULL AND jsonb_typeof(metrics) <> 'object' THEN
        RAISE EXCEPTION 'metrics must be a JSON object, got a JSON %', jsonb_typeof(metrics) USING ERRCODE = '22023';
    END IF;
    PERFORM arxos.check_object_input(patch.type, patch.status, patch.health);
    unlocate := coalesce(jsonb_typeof(location) = 'null', false);
    SELECT * INTO loc FROM arxos.location_parts(CASE WHEN NOT unlocate THEN location END);
    unplace := coalesce(location ?| ARRAY['x', 'y'], false) AND loc.x IS NULL;
    unfloor := coalesce(location ? 'floor', false) AND loc.floor IS NULL;
    IF if_match IS NOT NULL THEN
        PERFORM arxos.matched_object(b, p, if_match);
    END IF;
    UPDATE arxos.objects o
       SET properties = arxos.merge_keys(o.properties, patch.properties),
           status = coalesce(patch.status, o.status),
           health = coalesce(patch.health, o.health),
           needs_repair = coalesce(patch.needs_repair, o.needs_repair),
           type = coalesce(patch.type, o.type),
           metrics = arxos.merge_keys(o.metrics, patch.metrics),
           x = CASE WHEN unlocate OR unplace THEN NULL ELSE coalesce(loc.x, o.x) END,
           y = CASE WHEN unlocate OR unplace THEN NULL ELSE coalesce(loc.y, o.y) END,
           z = CASE WHEN unlocate OR unplace THEN NULL
                    WHEN loc.x IS NULL THEN o.z
                    WHEN patch.location ? 'z' THEN loc.z
                    ELSE coalesce(o.z, 0) END,
           floor = CASE WHEN unlocate OR unfloor THEN NULL ELSE coalesce(loc.floor, o.floor) END
     WHERE o.building_id = b AND o.path = p
    RETURNING * INTO r;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no object at %', p USING ERRCODE = 'P0002';
    END IF;
    RETURN r;
END
$$;

CREATE FUNCTION arxos.get(building text, path text) RETURNS arxos.objects
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    b uuid := arxos.building_id(building);
    p text := arxos.normalize_object_path(path);
    r arxos.objects;
BEGIN
    SELECT * INTO r FROM arxos.objects o WHERE o.building_id = b AND o.path = p;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no object at %', p USING ERRCODE = 'P0002';
    END IF;
    RETURN r;
END
$$;

-- Normalises path and returns it when it is the root or an existing object; raises otherwise.
CREATE FUNCTION arxos.existing_path(b uuid, path text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p text := arxos.normalize_path(path);
BEGIN
    IF p <> '/' AND NOT EXISTS (SELECT 1 FROM arxos.objects o WHERE o.building_id = b AND o.path = p) THEN
        RAISE EXCEPTION 'no object at %', p USING ERRCODE = 'P0002';
    END IF;
    RETURN p;
END
$$;

-- Direct children of a path, with their own child counts and attention flags.
CREATE FUNCTION arxos.ls(building text, path text DEFAULT '/', after text DEFAULT NULL,
                         max integer DEFAULT NULL)
RETURNS TABLE (name text, path text, type text, status text, health smallint,
               needs_repair boolean, failed boolean, children bigint)
LANGUAGE sql STABLE AS $$
    -- The arguments are resolved in plain SQL (no PL/pgSQL call on the common path: that fixed
    -- cost was a third of a small listing), and reach the listing as InitPlan parameters so the
    -- (building_id, parent_path, path) index returns the rows in order, without a sort.
    WITH r AS MATERIALIZED (
        -- (the cast guarded inside the comparison too: the planner estimates an inlined call's
        -- index condition by evaluating it, and `building::uuid` of a key given as an
        -- expression, current_setting(…), failed outside the CASE; found by a review)
        SELECT CASE WHEN arxos.uuid_shaped(building)
                    THEN (SELECT b.id FROM arxos.buildings b
                           WHERE b.id = (CASE WHEN arxos.uuid_shaped(building) THEN building END)::uuid)
                    ELSE (SELECT b.id FROM arxos.buildings b WHERE b.key = building) END AS b,
               arxos.normalize_path(path) AS p, arxos.after_path(after) AS a
    ), args AS MATERIALIZED (
        SELECT r.b, r.p, r.a FROM r
         WHERE (r.b IS NOT NULL OR arxos.unknown_building(building))
           AND (r.p = '/'
                -- OFFSET 0: always one probe of the unique index, never a hashed scan of the table
                OR EXISTS (SELECT 1 FROM arxos.objects o WHERE o.building_id = r.b AND o.path = r.p OFFSET 0)
                OR arxos.raise('no object at ' || r.p, 'P0002')))
    SELECT o.name::text, o.path::text, o.type, o.status, o.health, o.needs_repair, o.status = 'failed',
           (SELECT count(*) FROM arxos.objects c WHERE c.building_id = o.building_id AND c.parent_path = o.path)
      FROM arxos.objects o
     WHERE o.building_id = (SELECT args.b FROM args) AND o.parent_path = (SELECT args.p FROM args)
       -- always a bound (every path sorts after ''), so an index condition in a generic plan
       -- too (the shim's statements are prepared): `after IS NULL OR …` was a filter there, and
       -- each page read every sibling before it
       AND o.path > (SELECT coalesce(args.a, '') FROM args) COLLATE "C"
     ORDER BY o.path
     -- through args: with max => 0 the listing reads no row, and would otherwise never
     -- evaluate args, so a bad building, path or after went unnoticed (an empty answer)
     LIMIT (SELECT arxos.listing_limit(max) FROM args)
$$;

-- A depth-limited page of tree(): the rows of [pos, hi) in path order down to `depth` levels
-- below p (at level d0), skipping the subtree of each object at the last level with one new
-- descent of the index (a skip scan): a page of the top levels of a large subtree reads those
-- levels' objects, not every object below them. `a` (the page's after) is left out.
CREATE FUNCTION arxos.tree_levels(b uuid, p text, d0 integer, lo text, hi text, depth integer,
                                  a text, max integer)
RETURNS TABLE (path text, name text, type text, status text, health smallint,
               needs_repair boolean, level integer)
-- The loop reads a few rows of each range it opens, in path order, then skips on: only an
-- index scan of (building_id, path) does that. Planned from the range's bounds, a whole-range
-- read looked cheaper: a sequential scan and a sort of the building in a session's first calls
-- (custom plans), a bitmap scan and a sort of each remaining range once the generic plan
-- misjudged its size (found by an audit: 6 to 11 s for two levels of a 100,000-object
-- building, 0.4 s for a session's first call; 10 ms with the index scan).
LANGUAGE plpgsql STABLE SET enable_seqscan = off SET enable_bitmapscan = off AS $$
#variable_conflict use_column
DECLARE
    -- byte order, as the paths': in a database of another collation `a > p` could say
    -- otherwise, and a page would start at p for an after beyond the subtree
    pos  text COLLATE "C" := CASE WHEN a > p COLLATE "C" THEN a ELSE p END;
    skip text;
    r    record;
    n    integer := 0;
BEGIN
    IF max = 0 THEN
        RETURN;
    END IF;
    LOOP
        skip := NULL;
        FOR r IN SELECT o.path, o.name, o.type, o.status, o.health, o.needs_repair, o.depth
                   FROM arxos.objects o
                  WHERE o.building_id = b AND o.path >= pos AND o.path < hi
                    AND (o.path = p OR o.path >= lo)
                  ORDER BY o.path LOOP
            CONTINUE WHEN r.path = a;
            IF r.depth - d0 > depth THEN
                -- past the object at the last level above it: after its subtree
                skip := arxos.path_upper(array_to_string((string_to_array(r.path, '/'))[1:d0 + depth + 1], '/'));
                EXIT;
            END IF;
            path := r.path; name := r.name; type := r.type; status := r.status;
            health := r.health; needs_repair := r.needs_repair; level := r.depth - d0;
            RETURN NEXT;
            n := n + 1;
            IF n = max THEN
                RETURN;
            END IF;
        END LOOP;
        EXIT WHEN skip IS NULL;
        pos := skip;
    END LOOP;
END
$$;

-- The object at path (unless root) and its descendants down to depth levels below it.
CREATE FUNCTION arxos.tree(building text, path text DEFAULT '/', depth integer DEFAULT NULL,
                           after text DEFAULT NULL, max integer DEFAULT NULL)
RETURNS TABLE (path text, name text, type text, status text, health smallint,
               needs_repair boolean, level integer)
LANGUAGE sql STABLE AS $$
    -- Two branches, of which a call runs one: without a depth, one index range; with one, a
    -- skip scan. Each resolves its own arguments, so that the UNION ALL has nothing of its own
    -- and the planner flattens it: a count(*) over the first branch then reads the index only
    -- (a CTE above the UNION made it fetch every row's other columns).
    (WITH args AS MATERIALIZED (
         SELECT b, p, arxos.path_depth(p) AS d0, arxos.path_lower(p) AS lo, arxos.path_upper(p) AS hi,
                arxos.after_path(after) AS a
           FROM arxos.building_id(building) AS b,
                LATERAL arxos.existing_path(b, path) AS p)
     -- The arguments reach the listing as InitPlan parameters (as in ls): the index range is
     -- then read in path order and stops at the page, where a join with args was planned, as
     -- arxos_api (row-level security hides the row count), as a bitmap scan of the whole range
     -- and a sort: every page of a 200,000-object building read all of it.
     SELECT o.path::text, o.name::text, o.type, o.status, o.health, o.needs_repair,
            o.depth - (SELECT args.d0 FROM args)
       FROM arxos.objects o
      WHERE $3 IS NULL
        AND o.building_id = (SELECT args.b FROM args)
        -- one index range [p, p0), from after on; the OR only drops siblings like p-x that
        -- sort inside it
        AND o.path >= (SELECT CASE WHEN args.a > args.p THEN args.a ELSE args.p END FROM args)
        AND o.path < (SELECT args.hi FROM args)
        AND (o.path = (SELECT args.p FROM args) OR o.path >= (SELECT args.lo FROM args))
        AND (after IS NULL OR o.path > (SELECT args.a FROM args) COLLATE "C")
      ORDER BY o.path
      -- through args, as in ls: max => 0 still checks the arguments
      LIMIT (SELECT arxos.listing_limit(max) FROM args))
    UNION ALL
    -- down to a depth: a skip scan past the subtrees below it (arxos.tree_levels), where the
    -- range above read every object of the subtree and dropped the deeper ones
    (WITH args AS MATERIALIZED (
         SELECT b, p, arxos.path_depth(p) AS d0, arxos.path_lower(p) AS lo, arxos.path_upper(p) AS hi,
                arxos.after_path(after) AS a
           FROM arxos.building_id(building) AS b,
                LATERAL arxos.existing_path(b, path) AS p
          WHERE depth >= 0 OR arxos.raise('depth must be 0 or more', '22023'))
     SELECT t.* FROM args, LATERAL arxos.tree_levels(args.b, args.p, args.d0, args.lo, args.hi, $3,
                                                      args.a, arxos.listing_limit(max)) t
      WHERE $3 IS NOT NULL)
$$;

-- Objects under a path matching every filter given (props: jsonb containment).
CREATE FUNCTION arxos.find(building text, under text DEFAULT '/', type text DEFAULT NULL,
                           status text DEFAULT NULL, props jsonb DEFAULT NULL,
                           needs_repair boolean DEFAULT NULL, after text DEFAULT NULL,
                           max integer DEFAULT NULL)
RETURNS SETOF arxos.objects
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    b uuid := arxos.building_id(building);
    -- Under a path that names no object: "no object at", as ls and tree say, not an empty answer.
    u text := arxos.existing_path(b, under);
    a text := arxos.after_path(after);
BEGIN
    -- A type or status filter that no object can have is a mistake, not an empty answer.
    PERFORM arxos.check_object_input(find.type, find.status, NULL);
    IF props IS NOT NULL AND jsonb_typeof(props) <> 'object' THEN
        RAISE EXCEPTION 'props must be a JSON object (the properties an object must contain), got a JSON %',
            jsonb_typeof(props) USING ERRCODE = '22023';
    END IF;
    PERFORM arxos.listing_limit(max);
    -- LIMIT max itself, not listing_limit's expression: the planner then sees the page's size
    -- (with plan_cache_mode force_custom_plan, set on the function below, in every call, not a
    -- generic plan after the fifth) and reads the (building_id, path) index in order up to it,
    -- rather than every object after `after` and a sort.
    RETURN QUERY
    SELECT o.* FROM arxos.objects o
     WHERE o.building_id = b
       AND (u = '/' OR (o.path >= u AND o.path < arxos.path_upper(u) AND (o.path = u OR o.path >= arxos.path_lower(u))))
       AND (find.type IS NULL OR o.type = find.type)
       AND (find.status IS NULL OR o.status = find.status)
       AND (props IS NULL OR o.properties @> props)
       AND (find.needs_repair IS NULL OR o.needs_repair = find.needs_repair)
       AND (a IS NULL OR o.path > a COLLATE "C")
     ORDER BY o.path
     LIMIT max;
END
$$;
ALTER FUNCTION arxos.find(text, text, text, text, jsonb, boolean, text, integer)
    SET plan_cache_mode = force_custom_plan;

-- Objects of every building the caller may see (row-level security) matching every filter
-- given, ordered by building id and path (the order of the object_path_unique index); the
-- page after the object (after_building, after_path). `under` applies in every building.
CREATE FUNCTION arxos.find_all(under text DEFAULT '/', type text DEFAULT NULL,
                               status text DEFAULT NULL, props jsonb DEFAULT NULL,
                               needs_repair boolean DEFAULT NULL, after_building uuid DEFAULT NULL,
                               after_path text DEFAULT NULL, max integer DEFAULT NULL)
RETURNS SETOF arxos.objects
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    u text := arxos.normalize_path(under);
    a text := arxos.after_path(after_path);
    -- The buildings a limited request may see: row-level security admits only theirs, but as
    -- a filter on every row read in (building, path) order; as a condition here (each call
    -- planned with its values: plan_cache_mode below) it is where the index is read.
    scope uuid[] := arxos.scope_ids();
BEGIN
    IF (after_building IS NULL) <> (after_path IS NULL) THEN
        RAISE EXCEPTION 'after_building and after_path go together' USING ERRCODE = '22023';
    END IF;
    PERFORM arxos.check_object_input(find_all.type, find_all.status, NULL);
    IF props IS NOT NULL AND jsonb_typeof(props) <> 'object' THEN
        RAISE EXCEPTION 'props must be a JSON object (the properties an object must contain), got a JSON %',
            jsonb_typeof(props) USING ERRCODE = '22023';
    END IF;
    -- Without a cursor, from the smallest (id, path): one statement whose row comparison is
    -- where the index scan starts, whether or not a cursor is given.
    RETURN QUERY
    SELECT o.* FROM arxos.objects o
     WHERE (o.building_id, o.path) > (coalesce(after_building, '00000000-0000-0000-0000-000000000000'),
                                      coalesce(a, '') COLLATE "C")
       AND (scope IS NULL OR o.building_id = ANY (scope))
       AND (u = '/' OR (o.path >= u AND o.path < arxos.path_upper(u) AND (o.path = u OR o.path >= arxos.path_lower(u))))
       AND (find_all.type IS NULL OR o.type = find_all.type)
       AND (find_all.status IS NULL OR o.status = find_all.status)
       AND (props IS NULL OR o.properties @> props)
       AND (find_all.needs_repair IS NULL OR o.needs_repair = find_all.needs_repair)
     ORDER BY o.building_id, o.path
     LIMIT arxos.listing_limit(max);
END
$$;
ALTER FUNCTION arxos.find_all(text, text, text, jsonb, boolean, uuid, text, integer)
    SET plan_cache_mode = force_custom_plan;

-- Locks the rows of a subtree (FOR UPDATE, in path order) for the rest of the transaction, so
-- that no child can be added under them meanwhile (a child's insert locks its parent FOR KEY
-- SHARE): what mv and a recursive rm do before running again when a child was added while
-- they waited.
CREATE FUNCTION arxos.lock_subtree(b uuid, p text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM arxos.objects o
     WHERE o.building_id = b
       AND (o.path >= p AND o.path < arxos.path_upper(p) AND (o.path = p OR o.path >= arxos.path_lower(p)))
     ORDER BY o.path
       FOR UPDATE OF o;
END
$$;

-- What mv and a recursive rm say when children were added under the subtree each time they
-- ran, even with it locked: a conflict to retry (40001), not the trigger's "would leave its
-- children behind", which names the function that was called as the way out.
CREATE FUNCTION arxos.subtree_kept_changing(doing text, p text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION '% % failed: objects kept being added under it by concurrent transactions', doing, p
        USING ERRCODE = '40001', HINT = 'retry the transaction';
END
$$;

-- Moves or renames a whole subtree in one statement. Returns the number of objects moved.
CREATE FUNCTION arxos.mv(building text, from_path text, to_path text) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b  uuid := arxos.building_id(building);
    f  text := arxos.normalize_object_path(from_path);
    t  text := arxos.normalize_object_path(to_path);
    n  integer;
    msg text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM arxos.objects o WHERE o.building_id = b AND o.path = f) THEN
        RAISE EXCEPTION 'no object at %', f USING ERRCODE = 'P0002';
    END IF;
    IF t = f THEN
        RETURN 0;
    END IF;
    IF starts_with(t, f || '/') THEN
        RAISE EXCEPTION 'cannot move % into its own subtree (%)', f, t USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM arxos.objects o WHERE o.building_id = b AND o.path = t) THEN
        RAISE EXCEPTION 'an object already exists at %', t USING ERRCODE = '23505';
    END IF;
    -- Under READ COMMITTED, a concurrent transaction that committed while the move waited
    -- for it may have added an object under the subtree (not in the statement's snapshot:
    -- the trigger finds it left behind, and the move runs again with a snapshot that has it)
    -- or created the target (refused as when it was there before). The second time the subtree
    -- is locked first (arxos.lock_subtree): writers adding children keep coming otherwise, and
    -- under a steady stream of them every attempt could meet a new one.
    FOR attempt IN 1..3 LOOP
        BEGIN
            IF attempt > 1 THEN
                PERFORM arxos.lock_subtree(b, f);
            END IF;
            UPDATE arxos.objects o
               SET path = t || substr(o.path, length(f) + 1)
             WHERE o.building_id = b
               AND (o.path >= f AND o.path < arxos.path_upper(f) AND (o.path = f OR o.path >= arxos.path_lower(f)));
            GET DIAGNOSTICS n = ROW_COUNT;
            EXIT;
        EXCEPTION
            WHEN unique_violation THEN
                GET STACKED DIAGNOSTICS msg = CONSTRAINT_NAME;
                IF msg <> 'object_path_unique' THEN
                    RAISE;
                END IF;
                RAISE EXCEPTION 'an object already exists at %', t USING ERRCODE = '23505';
            WHEN foreign_key_violation THEN
                GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
                IF msg NOT LIKE 'moving % would leave its children behind'
                   OR current_setting('transaction_isolation') <> 'read committed' THEN
                    RAISE;
                END IF;
                IF attempt = 3 THEN
                    PERFORM arxos.subtree_kept_changing('moving', f);
                END IF;
        END;
    END LOOP;
    IF n = 0 THEN
        -- moved or deleted by a transaction that committed while this one waited for it
        RAISE EXCEPTION 'no object at %', f USING ERRCODE = 'P0002';
    END IF;
    RETURN n;
END
$$;

-- Deletes an object; with recursive => true its whole subtree. Returns the number deleted.
-- if_match (an etag, or `*`): only if the object is still as read (AX025).
CREATE FUNCTION arxos.rm(building text, path text, recursive boolean DEFAULT false,
                         if_match text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b uuid := arxos.building_id(building);
    p text := arxos.normalize_object_path(path);
    n integer;
BEGIN
    -- The readings table before any object's row (if_match locks the object), as every delete
    -- of objects takes it (objects_delete_lock_readings, 13_readings.sql).
    PERFORM arxos.lock_readings();
    IF if_match IS NOT NULL THEN
        PERFORM arxos.matched_object(b, p, if_match);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM arxos.objects o WHERE o.building_id = b AND o.path = p) THEN
        RAISE EXCEPTION 'no object at %', p USING ERRCODE = 'P0002';
    END IF;
    IF recursive THEN
        -- An object created under the subtree by a transaction that committed while this
        -- delete waited for it is not in the statement's snapshot, and the trigger then finds
        -- it left behind (2BP01): delete again, with a snapshot that has it. (Deletes run under
        -- READ COMMITTED only: objects_after_delete.)
        FOR attempt IN 1..3 LOOP
            BEGIN
                IF attempt > 1 THEN
                    PERFORM arxos.lock_subtree(b, p);
                END IF;
                DELETE FROM arxos.objects o
                 WHERE o.building_id = b
                   AND (o.path >= p AND o.path < arxos.path_upper(p) AND (o.path = p OR o.path >= arxos.path_lower(p)));
                GET DIAGNOSTICS n = ROW_COUNT;
                EXIT;
            EXCEPTION WHEN dependent_objects_still_exist THEN
                IF current_setting('transaction_isolation') <> 'read committed' THEN
                    RAISE;
                END IF;
                IF attempt = 3 THEN
                    PERFORM arxos.subtree_kept_changing('deleting', p);
                END IF;
            END;
        END LOOP;
    ELSE
        DELETE FROM arxos.objects o WHERE o.building_id = b AND o.path = p;
        GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    IF n = 0 THEN
        -- moved or deleted by a transaction that committed while this one waited for it
        RAISE EXCEPTION 'no object at %', p USING ERRCODE = 'P0002';
    END IF;
    RETURN n;
END
$$;

CREATE FUNCTION arxos.object_id(b uuid, p text) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    v uuid;
BEGIN
    IF b IS NULL THEN
        RAISE EXCEPTION 'building must not be NULL: name it by its key or id' USING ERRCODE = '22004';
    END IF;
    SELECT o.id INTO v FROM arxos.objects o WHERE o.building_id = b AND o.path = arxos.normalize_object_path(p);
    IF v IS NULL THEN
        RAISE EXCEPTION 'no object at %', arxos.normalize_object_path(p) USING ERRCODE = 'P0002';
    END IF;
    RETURN v;
END
$$;

-- object_id, with the object locked (FOR KEY SHARE, as a foreign key would) until the
-- transaction ends: one moved or deleted by a transaction that committed while this waited for
-- it is not found at its path (P0002), rather than followed to its new path.
CREATE FUNCTION arxos.locked_object_id(b uuid, p text) RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v uuid;
BEGIN
    IF b IS NULL THEN
        RAISE EXCEPTION 'building must not be NULL: name it by its key or id' USING ERRCODE = '22004';
    END IF;
    SELECT o.id INTO v FROM arxos.objects o
     WHERE o.building_id = b AND o.path = arxos.normalize_object_path(p) FOR KEY SHARE;
    IF v IS NULL THEN
        RAISE EXCEPTION 'no object at %', arxos.normalize_object_path(p) USING ERRCODE = 'P0002';
    END IF;
    RETURN v;
END
$$;

-- The ends of a connection from → to, locked (FOR KEY SHARE, as the foreign keys would): one
-- moved or deleted by a transaction that committed while this waited is not found at its path
-- (P0002), rather than wired (connect) or named (disconnect) at its new path. In path order,
-- the order in which a move or a recursive delete of a subtree locks its rows: in argument
-- order, a connection from /a/z to /a/b deadlocked with a move of /a.
CREATE FUNCTION arxos.locked_ends(b uuid, from_path text, to_path text, OUT from_id uuid, OUT to_id uuid)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF arxos.normalize_object_path(from_path) <= arxos.normalize_object_path(to_path) COLLATE "C" THEN
        from_id := arxos.locked_object_id(b, from_path);
        to_id := arxos.locked_object_id(b, to_path);
    ELSE
        to_id := arxos.locked_object_id(b, to_path);
        from_id := arxos.locked_object_id(b, from_path);
    END IF;
END
$$;

CREATE FUNCTION arxos.connect(building text, from_path text, to_path text, kind text,
                              properties jsonb DEFAULT '{}')
RETURNS arxos.connections
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b   uuid := arxos.building_id(building);
    f   text := arxos.normalize_object_path(from_path);
    t   text := arxos.normalize_object_path(to_path);
    fid uuid;
    tid uuid;
    r   arxos.connections;
BEGIN
    PERFORM arxos.check_kind(kind);
    IF properties IS NOT NULL AND jsonb_typeof(properties) <> 'object' THEN
        RAISE EXCEPTION 'properties must be a JSON object, got a JSON %', jsonb_typeof(properties) USING ERRCODE = '22023';
    END IF;
    SELECT e.from_id, e.to_id INTO fid, tid FROM arxos.locked_ends(b, f, t) e;
    INSERT INTO arxos.connections (building_id, from_id, to_id, kind, properties)
    VALUES (b, fid, tid, kind, coalesce(properties, '{}'))
    RETURNING * INTO r;
    RETURN r;
EXCEPTION
    -- (a self-connection is the row trigger's to refuse, for plain INSERTs alike)
    WHEN unique_violation THEN
        RAISE EXCEPTION '% already has a % connection to %', f, kind, t USING ERRCODE = '23505';
END
$$;

-- Connection kinds: lowercase letters, digits and _, starting with a letter, at most 63
-- (what connect accepts; disconnect and trace refuse others rather than match nothing).
-- Returns true, so it can close a WHERE clause or a CASE.
CREATE FUNCTION arxos.check_kind(kind text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF kind IS NULL OR kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid connection kind %: use lowercase ASCII letters (a-z), digits and _ (power, data, feeds, monitors, …)',
            arxos.shown(kind) USING ERRCODE = '22023';
    END IF;
    RETURN true;
END
$$;

-- Removes the connections from → to (of one kind, or all kinds). Returns how many.
CREATE FUNCTION arxos.disconnect(building text, from_path text, to_path text, kind text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b uuid := arxos.building_id(building);
    n integer;
    fid uuid;
    tid uuid;
BEGIN
    IF disconnect.kind IS NOT NULL THEN
        PERFORM arxos.check_kind(disconnect.kind);
    END IF;
    -- The ends locked as connect locks them, so that the connection.deleted event names them
    -- where they are (found by a concurrency review: without the wait, it named the path an
    -- end had before a move numbered ahead of it).
    SELECT e.from_id, e.to_id INTO fid, tid FROM arxos.locked_ends(b, from_path, to_path) e;
    DELETE FROM arxos.connections c
     WHERE c.from_id = fid AND c.to_id = tid
       AND (disconnect.kind IS NULL OR c.kind = disconnect.kind);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- All connections into and out of an object: the outgoing ones first, then the incoming, each
-- by kind and the other end's path. Keyset pages: `after` is the place of the last connection
-- of the page before, `direction:kind:path` (`out:power:/electrical/x`, what the REST `next`
-- link gives), which stays a place when that connection is deleted meanwhile; or that
-- connection's id, while it is one of the object's (another id is 22023, not an empty page).
-- `max` is the page's size (NULL: every connection).
CREATE FUNCTION arxos.connections_of(building text, path text, after text DEFAULT NULL,
                                     max integer DEFAULT NULL)
RETURNS TABLE (direction text, kind text, other_path text, other_type text, properties jsonb, id uuid)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    me uuid := arxos.object_id(arxos.building_id(connections_of.building), connections_of.path);
    a_direction text;
    a_kind text;
    a_path text COLLATE "C";
BEGIN
    IF arxos.uuid_shaped(connections_of.after) THEN
        SELECT CASE WHEN c.from_id = me THEN 'out' ELSE 'in' END, c.kind, o.path::text
          INTO a_direction, a_kind, a_path
          FROM arxos.connections c
          JOIN arxos.objects o ON o.id = CASE WHEN c.from_id = me THEN c.to_id ELSE c.from_id END
         WHERE c.id = connections_of.after::uuid AND me IN (c.from_id, c.to_id);
        IF NOT FOUND THEN
            RAISE EXCEPTION 'after: % is not a connection of the object at %', connections_of.after,
                arxos.shown(connections_of.path)
                USING ERRCODE = '22023',
                      HINT = 'pass the place of the last connection of the page before, as the next link gives it (out:power:/electrical/x)';
        END IF;
    ELSIF connections_of.after IS NOT NULL THEN
        a_direction := split_part(connections_of.after, ':', 1);
        a_kind := split_part(connections_of.after, ':', 2);
        a_path := substr(connections_of.after, length(a_direction) + length(a_kind) + 3);
        IF a_direction NOT IN ('out', 'in') OR a_kind !~ '^[a-z][a-z0-9_]{0,62}$' OR a_path NOT LIKE '/%' THEN
            RAISE EXCEPTION 'after must be a place direction:kind:path (out:power:/electrical/x), as the next link gives it, or the id of one of the object''s connections; got %',
                arxos.shown(connections_of.after) USING ERRCODE = '22023';
        END IF;
        a_path := arxos.normalize_path(a_path);
    END IF;
    RETURN QUERY
    SELECT e.direction, e.kind, e.other_path, e.other_type, e.properties, e.id
      FROM (SELECT 'out'::text AS direction, c.kind, o.path::text AS other_path, o.type AS other_type,
                   c.properties, c.id
              FROM arxos.connections c JOIN arxos.objects o ON o.id = c.to_id
             WHERE c.from_id = me
            UNION ALL
            SELECT 'in', c.kind, o.path::text, o.type, c.properties, c.id
              FROM arxos.connections c JOIN arxos.objects o ON o.id = c.from_id
             WHERE c.to_id = me) e
     WHERE connections_of.after IS NULL
        OR e.direction < a_direction
        OR (e.direction = a_direction AND (e.kind, e.other_path COLLATE "C") > (a_kind, a_path))
     ORDER BY e.direction DESC, e.kind, e.other_path COLLATE "C"
     LIMIT arxos.listing_limit(connections_of.max);
END
$$;

-- Every connection of a building, in id order, optionally of one kind: what an export or an
-- application's copy of the building reads (connections_of is one object's). Keyset pages:
-- `after` is the last id of the previous page. The rows are arxos.connections' with both
-- ends' paths, as arxos.connect's answer over HTTP.
CREATE FUNCTION arxos.building_connections(building text, kind text DEFAULT NULL,
                                           after uuid DEFAULT NULL, max integer DEFAULT NULL)
RETURNS TABLE (id uuid, building_id uuid, from_id uuid, to_id uuid, "from" text, "to" text,
               kind text, properties jsonb, created_at timestamptz, created_by text)
LANGUAGE sql STABLE AS $$
    -- The building as an InitPlan parameter and the ends' paths looked up per row of the page:
    -- the (building_id, id) index is read in order and stops at the page (a join was planned,
    -- as arxos_api, as a scan of every connection of the building).
    SELECT c.id, c.building_id, c.from_id, c.to_id,
           (SELECT f.path::text FROM arxos.objects f WHERE f.id = c.from_id),
           (SELECT t.path::text FROM arxos.objects t WHERE t.id = c.to_id),
           c.kind, c.properties, c.created_at, c.created_by
      FROM arxos.connections c
     WHERE c.building_id = (SELECT arxos.building_id(building_connections.building))
       AND (building_connections.kind IS NULL OR c.kind = building_connections.kind)
       -- always a bound, so an index condition in a generic plan too (`after IS NULL OR …`
       -- was a filter there, and each page read every connection before it)
       AND c.id >= coalesce(building_connections.after, '00000000-0000-0000-0000-000000000000')
       AND c.id IS DISTINCT FROM building_connections.after
     ORDER BY c.id
     -- the arguments checked here, where max => 0 (no row read) still evaluates them
     LIMIT (SELECT arxos.listing_limit(building_connections.max)
             WHERE arxos.building_id(building_connections.building) IS NOT NULL
               AND (building_connections.kind IS NULL OR arxos.check_kind(building_connections.kind)))
$$;

-- One object reached by arxos.trace, with the route that first reached it (for cycles).
CREATE TYPE arxos.trace_step AS (id uuid, route uuid[]);

-- Breadth-first, level by level, each object expanded once: an object reached again later
-- (connections that rejoin) is not walked again, so the work is bounded by the connections
-- within max_depth, whatever the graph's shape (a route-by-route walk grows exponentially with
-- every pair of parallel connections in a chain). Each connection into an object at the level
-- that first reaches it is a row (an object fed twice at one depth shows both vias); a
-- connection back to an object on the route that reached it is a row with cycle = true and is
-- not followed.
CREATE FUNCTION arxos.trace(building text, path text, direction text DEFAULT 'downstream',
                            kind text DEFAULT NULL, max_depth integer DEFAULT 32)
RETURNS TABLE (depth integer, path text, type text, status text, kind text, via text, cycle boolean,
               again boolean, more boolean)
LANGUAGE sql STABLE AS $$
    SELECT w.depth, w.object_path, w.object_type, w.object_status, w.connection_kind, w.via_path, w.cycle,
           w.again, w.more
      FROM arxos.building_id(building) AS b,
           arxos.trace_walk(arxos.object_id(b, path), direction, kind, max_depth) w
$$;

-- A row of arxos.trace_walk's result before the objects are looked up.
CREATE TYPE arxos.trace_hit AS (id uuid, via uuid, kind text, cycle boolean, again boolean);

-- The walk behind arxos.trace, from an object id: level by level, holding only the level's
-- frontier (the objects first reached there, each with the route through its first via in
-- path order: what cycles are judged by), the objects seen so far (a jsonb object keyed by id:
-- a lookup is a binary search, where an array would be scanned for every connection) and the
-- level's result rows. (A recursive query kept every level's copy of what it had seen and of
-- its routes: 1000 levels of 40 chained objects took 17 s and wrote 1.4 GB of temporary files,
-- any read key's request; found by a review.)
CREATE FUNCTION arxos.trace_walk(start uuid, direction text, kind text, max_depth integer)
RETURNS TABLE (depth integer, object_path text, object_type text, object_status text,
               connection_kind text, via_path text, cycle boolean, again boolean, more boolean)
-- A level's statements are planned once per session, not at every level (custom plans of the
-- level's arrays cost 0.3 ms a level; generic ones made a 3-level walk 0.4 ms, from 1.2 ms)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    down boolean := direction = 'downstream';
    lvl integer := 0;
    frontier arxos.trace_step[] := ARRAY[ROW(start, ARRAY[start])::arxos.trace_step];
    seen jsonb;
    reached jsonb;
    hits arxos.trace_hit[] := ARRAY[ROW(start, NULL, NULL, false, false)::arxos.trace_hit];
BEGIN
    IF direction IS NULL OR direction NOT IN ('downstream', 'upstream') THEN
        RAISE EXCEPTION 'direction must be downstream or upstream, got %', arxos.shown(direction)
            USING ERRCODE = '22023';
    END IF;
    IF max_depth IS NULL OR max_depth NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'max_depth must be between 1 and 1000' USING ERRCODE = '22023';
    END IF;
    -- checked here, once, whatever the walk meets: a kind compared only with the connections
    -- found would go unchecked from an object without any
    IF $3 IS NOT NULL THEN
        PERFORM arxos.check_kind($3);
    END IF;
    IF start IS NULL THEN
        RAISE EXCEPTION 'start must be an object id, not null' USING ERRCODE = '22004';
    END IF;
    seen := jsonb_build_object(start::text, 0);
    LOOP
        RETURN QUERY
        SELECT lvl, o.path::text, o.type, o.status, h.kind, v.path::text, h.cycle, h.again,
               -- the walk stopped here at max_depth, and the object has connections it did not
               -- follow (CASE: probed only at that depth, by the index of the walk's direction)
               CASE WHEN lvl < max_depth OR h.cycle OR h.again THEN false
                    WHEN down THEN EXISTS (SELECT 1 FROM arxos.connections c
                                            WHERE c.from_id = h.id AND ($3 IS NULL OR c.kind = $3))
                    ELSE EXISTS (SELECT 1 FROM arxos.connections c
                                  WHERE c.to_id = h.id AND ($3 IS NULL OR c.kind = $3)) END
          FROM unnest(hits) h
          JOIN arxos.objects o ON o.id = h.id
          LEFT JOIN arxos.objects v ON v.id = h.via
         ORDER BY o.path, v.path, h.kind;
        -- (the start's row is the first level: none, no such object, of the session's buildings)
        IF lvl = 0 AND NOT FOUND THEN
            RAISE EXCEPTION 'no object has the id %', start USING ERRCODE = 'P0002';
        END IF;
        EXIT WHEN lvl >= max_depth OR cardinality(frontier) = 0;
        WITH edges AS MATERIALIZED (
            -- each direction is a branch keyed on an indexed column (from_id or to_id): a step
            -- is an index probe per object of the level
            SELECT f.id AS via, f.route, e.next_id, e.kind,
                   e.next_id = ANY (f.route) AS cycle, seen ? e.next_id::text AS known
              FROM unnest(frontier) f
              CROSS JOIN LATERAL (
                  SELECT c.to_id AS next_id, c.kind FROM arxos.connections c
                   WHERE down AND c.from_id = f.id AND ($3 IS NULL OR c.kind = $3)
                  UNION ALL
                  SELECT c.from_id, c.kind FROM arxos.connections c
                   WHERE NOT down AND c.to_id = f.id AND ($3 IS NULL OR c.kind = $3)) e
        ), firsts AS (
            SELECT DISTINCT ON (e.next_id) e.next_id, e.route
              FROM edges e JOIN arxos.objects v ON v.id = e.via
             WHERE NOT e.known ORDER BY e.next_id, v.path
        )
        SELECT coalesce((SELECT array_agg(ROW(x.next_id, x.route || x.next_id)::arxos.trace_step) FROM firsts x), '{}'),
               coalesce((SELECT jsonb_object_agg(x.next_id::text, lvl + 1) FROM firsts x), '{}'),
               -- every connection out of the level is a row: into a new object, back into the
               -- route (cycle), or into an object reached at a shallower depth (again: not
               -- walked a second time)
               coalesce((SELECT array_agg(ROW(e.next_id, e.via, e.kind, e.cycle, e.known AND NOT e.cycle)::arxos.trace_hit)
                           FROM edges e), '{}')
          INTO frontier, reached, hits;
        seen := seen || reached;
        lvl := lvl + 1;
    END LOOP;
END
$$;

-- The objects of a building within radius metres of a point, from a nearest-neighbour scan of
-- the GiST index on (building_id, location), which returns them in order of distance. The
-- scan stops at the first object beyond the radius, or once it has max objects and the next
-- one is further away than the last (so that objects tied at the last distance all come out;
-- arxos.near_point orders them by path and cuts at max). A search of the radius's box
-- followed by a sort would read every object in the box however small max is, and the
-- planner prefers it: cube's containment estimate is a constant that says "few rows".
-- Checks the point, radius and max of a search by distance (22023 with what is wrong), so that
-- near_point checks them even when max => 0 reads nothing; true when they are good.
CREATE FUNCTION arxos.near_arguments(x double precision, y double precision, z double precision,
                                     radius double precision, max integer)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF radius IS NULL OR NOT (radius >= 0 AND radius < 'Infinity') THEN
        RAISE EXCEPTION 'radius must be a finite number of metres, 0 or more' USING ERRCODE = '22023';
    END IF;
    IF x IS NULL OR y IS NULL THEN
        RAISE EXCEPTION 'x and y are required' USING ERRCODE = '22023';
    END IF;
    -- The objects' own range: NaN and infinities are out of it too.
    IF NOT arxos.location_in_range(x, y, coalesce(z, 0)) THEN
        RAISE EXCEPTION 'x, y and z must be finite numbers of metres within ±1e9 of the building''s origin, and 0 or at least 1e-100 in magnitude, got (%, %, %)', x, y, coalesce(z, 0)
            USING ERRCODE = '22023';
    END IF;
    PERFORM arxos.listing_limit(max);
    RETURN true;
END
$$;

CREATE FUNCTION arxos.nearest_objects(building uuid, x double precision, y double precision,
                                      z double precision, radius double precision, max integer)
RETURNS TABLE (path text, type text, status text, distance double precision, location jsonb)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    n      bigint := 0;
    r      record;
    -- A declared cursor is planned for fetching its first rows (cursor_tuple_fraction): the
    -- nearest-neighbour index scan (it cannot also order by path), where a plain query
    -- would be planned to read and sort everything.
    nearest CURSOR (b uuid, target cube) FOR
        SELECT o.path::text AS path, o.type, o.status, o.location <-> target AS distance,
               arxos.location_json(o) AS location
          FROM arxos.objects o
         WHERE o.building_id = b AND o.location IS NOT NULL
         ORDER BY o.location <-> target;
BEGIN
    PERFORM arxos.near_arguments(x, y, z, radius, max);
    IF max = 0 THEN
        RETURN;
    END IF;
    FOR r IN nearest(building, cube(ARRAY[x, y, coalesce(z, 0)])) LOOP
        EXIT WHEN r.distance > radius OR (n >= max AND r.distance > distance);
        path := r.path; type := r.type; status := r.status; distance := r.distance;
        location := r.location;
        RETURN NEXT;
        n := n + 1;
    END LOOP;
END
$$;

-- The cube type, its cube() constructor and its <-> operator live in the schema the cube
-- extension was installed in (public, usually), which a caller's search_path may leave out
-- (`type "cube" does not exist`) or put behind a schema of look-alikes of its own: the
-- function searches pg_catalog, then cube's schema, and nothing else.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION arxos.nearest_objects(uuid, double precision, double precision, '
                   'double precision, double precision, integer) SET search_path = pg_catalog, %I, pg_temp',
                   (SELECT n.nspname FROM pg_catalog.pg_extension e
                      JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
                     WHERE e.extname = 'cube'));
END
$$;

-- Objects within radius metres of a point, nearest first (ties by path).
CREATE FUNCTION arxos.near_point(building text, x double precision, y double precision,
                                 z double precision DEFAULT 0, radius double precision DEFAULT 5.0,
                                 max integer DEFAULT NULL)
RETURNS TABLE (path text, type text, status text, distance double precision, location jsonb)
LANGUAGE sql STABLE AS $$
    SELECT n.path, n.type, n.status, n.distance, n.location
      FROM arxos.nearest_objects(arxos.building_id(building), x, y, z, radius, max) n
     ORDER BY n.distance, n.path COLLATE "C"
     -- the arguments checked here too: with max => 0 no row is read, nearest_objects not called
     LIMIT (SELECT arxos.listing_limit(max)
             WHERE arxos.building_id(building) IS NOT NULL
               AND arxos.near_arguments(x, y, z, radius, max))
$$;

-- Objects within radius metres of the object at path (itself excluded), nearest first.
CREATE FUNCTION arxos.near(building text, path text, radius double precision DEFAULT 5.0,
                           max integer DEFAULT NULL)
RETURNS TABLE (path text, type text, status text, distance double precision, location jsonb)
LANGUAGE sql STABLE AS $$
    WITH me AS MATERIALIZED (
        SELECT o.* FROM arxos.get(building, path) o
         WHERE o.x IS NOT NULL OR arxos.raise('object ' || o.path || ' has no location', '22023'))
    -- one more than max, as the object itself is among them (max + 1 could overflow)
    SELECT n.* FROM me, LATERAL arxos.near_point(building, me.x, me.y, me.z, radius,
                                                 CASE WHEN max < 2147483647 THEN max + 1 END) n
     WHERE n.path <> me.path
     -- through me: max => 0 still checks the object, its location and the radius
     LIMIT (SELECT arxos.listing_limit(max) FROM me
             WHERE arxos.near_arguments(me.x, me.y, me.z, radius, max))
$$;

-- History of a path and everything below it (or the whole building), oldest first; with
-- subtree => false, of the path alone (what happened at it, and before to what moved there).
CREATE FUNCTION arxos.history(building text, path text DEFAULT NULL, since timestamptz DEFAULT NULL,
                              max integer DEFAULT NULL, after_id bigint DEFAULT NULL,
                              subtree boolean DEFAULT true)
RETURNS SETOF arxos.object_history
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    b uuid := arxos.building_id(building);
    p text := CASE WHEN path IS NULL THEN '/' ELSE arxos.normalize_path(path) END;
    -- The paths looked at are [p, upper): the subtree, or p alone (paths hold no control
    -- characters, so nothing sorts between p and p || chr(1) but p itself).
    upper text;
BEGIN
    PERFORM arxos.listing_limit(max);
    IF subtree IS NULL THEN
        RAISE EXCEPTION 'subtree must be true or false' USING ERRCODE = '22004';
    END IF;
    upper := CASE WHEN subtree THEN arxos.path_upper(p) ELSE p || chr(1) END;
    IF p = '/' AND subtree THEN
        RETURN QUERY
        SELECT h.* FROM arxos.object_history h
         WHERE h.building_id = b AND (since IS NULL OR h.at >= since)
           AND (after_id IS NULL OR h.id > after_id)
         ORDER BY h.id
         LIMIT max;
        RETURN;
    END IF;
    -- What happened under the path, what happened before to the objects that moved in (each
    -- move row names the object's path before it, where its earlier rows are, and, if it moved
    -- there too, the move row that leads further back), and the moves of objects out of it.
    -- Each of the three is cut to the page (its first `max` by id) before they are put
    -- together: the page is among those, and a subtree with 600,000 rows of history is then
    -- a top-N sort of its rows, not a union and a sort of them all.
    RETURN QUERY
    WITH RECURSIVE earlier (object_id, path, before_id, into_id) AS (
        -- the moves into the subtree (a page after after_id: a move row at or before it leads
        -- only to earlier rows), each with the path it left and the move that had brought the
        -- object there (into_id; NULL when it was created there). The steps back ignore since:
        -- a move's `at` is its transaction's start, and a long transaction's move, older than
        -- since, can lie between rows that are not (found by a review: the walk stopped there
        -- and lost them); the rows themselves are filtered.
        -- (the earlier paths in the paths' collation, C, so that the walks below are ranges
        -- of the (building_id, path, id) index)
        SELECT m.object_id, f.path, m.id, i.id
          FROM arxos.object_history m
         CROSS JOIN LATERAL (SELECT (m.changes #>> '{path,before}') COLLATE "C" AS path) f
          LEFT JOIN LATERAL (
                SELECT i.id FROM arxos.object_history i
                 WHERE i.building_id = b AND i.op = 'move' AND i.path = f.path
                   AND i.object_id = m.object_id AND i.id < m.id
                 ORDER BY i.id DESC LIMIT 1) i ON true
         WHERE m.building_id = b AND m.op = 'move'
           AND m.path >= p AND m.path < upper AND (m.path = p OR m.path >= arxos.path_lower(p))
           AND (since IS NULL OR m.at >= since)
           AND (after_id IS NULL OR m.id > after_id)
        UNION
        -- one step back: the move that brought it to the path it left, only that one (every
        -- earlier move of it into that path is a step further back; joined to all of them, an
        -- object moved back and forth 2,000 times cost 2,000² rows: found by a review)
        -- (a probe of the primary key per row, OFFSET 0: as a join it was planned as a hash
        -- of every building's history)
        SELECT m.object_id, m.path, m.id, i.id
          FROM earlier e
         CROSS JOIN LATERAL (
                SELECT m.object_id, m.id, (m.changes #>> '{path,before}') COLLATE "C" AS path
                  FROM arxos.object_history m WHERE m.id = e.into_id OFFSET 0) m
          LEFT JOIN LATERAL (
                SELECT i.id FROM arxos.object_history i
                 WHERE i.building_id = b AND i.op = 'move' AND i.path = m.path
                   AND i.object_id = m.object_id AND i.id < m.id
                 ORDER BY i.id DESC LIMIT 1) i ON true
    )
    SELECT r.* FROM (
        (SELECT h.* FROM arxos.object_history h
          WHERE h.building_id = b
            AND h.path >= p AND h.path < upper AND (h.path = p OR h.path >= arxos.path_lower(p))
            AND (since IS NULL OR h.at >= since)
            AND (after_id IS NULL OR h.id > after_id)
          ORDER BY h.id LIMIT max)
        UNION
        (SELECT h.* FROM arxos.object_history h
          WHERE h.building_id = b AND h.op = 'move'
            AND arxos.moved_from(h.changes) COLLATE "C" >= p
            AND arxos.moved_from(h.changes) COLLATE "C" < upper
            AND (arxos.moved_from(h.changes) COLLATE "C" = p
                 OR arxos.moved_from(h.changes) COLLATE "C" >= arxos.path_lower(p))
            AND (since IS NULL OR h.at >= since)
            AND (after_id IS NULL OR h.id > after_id)
          ORDER BY h.id LIMIT max)
        UNION
        -- each walk back's own page, from the index (a semi-join of every walk with the
        -- history was planned as a hash join over a scan of the whole table, every building's
        -- rows): the object's rows at the path from the move that brought it there to the one
        -- that took it away (an object a DBA inserted again by its old id, at another path,
        -- can have stints that overlap: their rows count once, DISTINCT ON, towards the cut)
        (SELECT DISTINCT ON (w.id) w.*
           FROM earlier e
          CROSS JOIN LATERAL (
                SELECT h.* FROM arxos.object_history h
                 WHERE h.building_id = b AND h.path = e.path AND h.object_id = e.object_id
                   AND h.id < e.before_id AND h.id >= coalesce(e.into_id, 0)
                   AND (since IS NULL OR h.at >= since) AND (after_id IS NULL OR h.id > after_id)
                 ORDER BY h.id LIMIT max) w
          ORDER BY w.id LIMIT max)) r
     ORDER BY r.id
     LIMIT max;
END
$$;
-- Planned with each call's values: a generic plan (after the fifth call in a session) cannot
-- see which of the three parts a call needs, and read a subtree's whole history for a page.
ALTER FUNCTION arxos.history(text, text, timestamptz, integer, bigint, boolean)
    SET plan_cache_mode = force_custom_plan;

-- EWKB (little-endian PointZ, no SRID: the building's own frame) of an object's location.
CREATE FUNCTION arxos.location_ewkb(object uuid) RETURNS bytea
LANGUAGE sql STABLE STRICT AS $$
    -- NULL for an object without a location; an id that names no object is P0002
    SELECT arxos.ewkb_point_z(o.x, o.y, o.z)
      FROM (SELECT 1) one LEFT JOIN arxos.objects o ON o.id = object
     WHERE o.id IS NOT NULL OR arxos.raise('no object with id ' || object, 'P0002')
$$;

-- Sets an object's location from EWKB/WKB of a Point or PointZ (z = 0 for 2-D points).
-- extra_float_digits 1: the coordinates reach the location document with every digit whatever
-- the session's setting (found by an audit: 0 or below stored them rounded).
CREATE FUNCTION arxos.set_location_ewkb(building text, path text, ewkb bytea) RETURNS arxos.objects
LANGUAGE plpgsql VOLATILE SET extra_float_digits = 1 AS $$
#variable_conflict use_column
DECLARE
    xyz double precision[] := arxos.ewkb_parse_point(ewkb);
BEGIN
    IF ewkb IS NULL THEN
        RAISE EXCEPTION 'ewkb must be a point, got NULL' USING ERRCODE = '22023';
    END IF;
    RETURN arxos.patch(building, path,
        location => jsonb_build_object('x', xyz[1], 'y', xyz[2], 'z', xyz[3]));
END
$$;
