-- ArxOS schema, part 1: tables. Hand-written; pulled into the extension's install script
-- before the Rust functions. Functions and triggers follow in the later files.

-- Who is acting: the shim and the shell set arxos.actor in the transaction (the API key's
-- owner, the shell user); otherwise the database role.
-- Raises an error with the given SQLSTATE; returns boolean so it can close a WHERE clause
-- (`cond OR arxos.raise(...)`) in SQL functions.
CREATE FUNCTION arxos.raise(message text, sqlstate text DEFAULT 'P0001') RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION '%', message USING ERRCODE = sqlstate;
END
$$;

-- At most 200 characters (22023): an actor is a key in the rating's bookkeeping (one
-- actor of kilobytes failed every building's fold: found by a review), and a name, not a
-- document. (The row trigger in Rust, objects_trigger.rs, applies the same rule.) The
-- refusal is a STABLE function, so that current_actor() stays inlinable in the writers'
-- statements and defaults (a VOLATILE raise made it a function call per row: review).
CREATE FUNCTION arxos.actor_too_long(characters integer) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RAISE EXCEPTION 'arxos.actor must be at most 200 characters, got %', characters USING ERRCODE = '22023';
END
$$;
CREATE FUNCTION arxos.current_actor() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(coalesce(nullif(current_setting('arxos.actor', true), ''), current_user::text)) <= 200
                THEN coalesce(nullif(current_setting('arxos.actor', true), ''), current_user::text)
                ELSE arxos.actor_too_long(length(current_setting('arxos.actor', true))) END
$$;

-- Whether the session's login role (session_user, which SET ROLE and SECURITY DEFINER leave
-- alone) is the extension's owner: a superuser, or a member of the role owning schema arxos
-- (psql as a DBA, `arxos keys`, `arxos import`), not the shim's login role. What only the owner
-- may do inside functions that run with the owner's rights for everyone asks this.
CREATE FUNCTION arxos.owner_session() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_has_role(session_user,
               (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = 'arxos'), 'MEMBER')
$$;

-- A time-ordered UUID (version 7, RFC 9562): 48 bits of Unix time in milliseconds, then random
-- bits. The ids of buildings, objects and connections: new rows land at the right end of the
-- primary key and of every index that starts with an object id (history by object), instead of
-- on a random page each, which halved the WAL of a single-object write (a random page's first
-- change after a checkpoint writes the whole page) and keeps recent rows together in memory.
-- An id reveals when its row was created, to the millisecond.
CREATE FUNCTION arxos.uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    -- a version 4 UUID (variant already 10) with its first 48 bits replaced by the time and
    -- its version nibble turned from 4 (0100) into 7 (0111)
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                  PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                  FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

-- arxos.reading_window_end(t), when a reading taken at t stops making its object instrumented
-- (30 days of 24 hours later: hours, so the window is the same whatever the session's time
-- zone), is written in Rust next to the row trigger that applies it (objects_trigger.rs).

-- Labels (building names, key names and owners): 1 to max characters, no space at either end, without
-- control or invisible formatting characters. Texts (addresses) may run over several lines: tabs and line breaks are
-- the control characters they may hold. The tables CHECK these; the functions that write them
-- call arxos.check_label / arxos.check_text first, for an error that names the field.
-- arxos.is_label(value, max) is written in Rust (arxos_core::label; arxos_pg/src/paths.rs).

-- Text PostgreSQL reads as a UUID: 32 hexadecimal digits, a hyphen allowed after any group of
-- four, optionally in braces (a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11, a0eebc999c0b4ef8bb6d6bb9bd380a11,
-- {a0eebc99…}). Where a building or a contributor may be named by key or handle or by id, text
-- of this shape is an id, in every form (found by an audit: a handle of 32 hex digits was
-- registered as another contributor's id without hyphens, and took its payments); keys and
-- handles may not have it.
CREATE FUNCTION arxos.uuid_shaped(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT value ~ '^([{]([0-9a-fA-F]{4}-?){7}[0-9a-fA-F]{4}[}]|([0-9a-fA-F]{4}-?){7}[0-9a-fA-F]{4})$'
$$;

CREATE FUNCTION arxos.is_text(value text, max integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT length(value) <= max AND value !~ E'[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]'
$$;

CREATE FUNCTION arxos.check_label(what text, value text, max integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF value IS NULL OR NOT arxos.is_label(value, max) THEN
        RAISE EXCEPTION '% must be 1 to % characters, no space at either end, without control or invisible formatting characters%', what, max,
            CASE WHEN value IS NULL THEN ', not NULL'
                 WHEN length(value) > max THEN format(' (got %s)', length(value)) ELSE '' END
            USING ERRCODE = '22023';
    END IF;
END
$$;

-- A period given as an interval (a retention, a disable period): from 0 to 1000 years, not NULL.
CREATE FUNCTION arxos.check_period(what text, value interval) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF value IS NULL OR value < interval '0' OR value > interval '1000 years' THEN
        RAISE EXCEPTION '% must be an interval from 0 to 1000 years, got %', what, coalesce(value::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
END
$$;

CREATE FUNCTION arxos.check_text(what text, value text, max integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF NOT arxos.is_text(value, max) THEN
        RAISE EXCEPTION '% must be at most % characters, without control characters but tabs and line breaks%',
            what, max, CASE WHEN length(value) > max THEN format(' (got %s)', length(value)) ELSE '' END
            USING ERRCODE = '22023';
    END IF;
END
$$;

-------------------------------------------------------------------------------------------------
-- Buildings
-------------------------------------------------------------------------------------------------
CREATE TABLE arxos.buildings (
    id              uuid PRIMARY KEY DEFAULT arxos.uuid_v7(),
    key             text NOT NULL UNIQUE
                    CONSTRAINT building_key_format
                    CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,62}$'
                           AND NOT arxos.uuid_shaped(key)),
    name            text NOT NULL CONSTRAINT building_name_label CHECK (arxos.is_label(name, 200)),
    address         text CONSTRAINT building_address_text CHECK (arxos.is_text(address, 500)),
    latitude        double precision CONSTRAINT building_latitude_range CHECK (latitude BETWEEN -90 AND 90),
    longitude       double precision CONSTRAINT building_longitude_range CHECK (longitude BETWEEN -180 AND 180),
    -- finite: a building's age is a difference of times (an infinite one by hand stopped every
    -- building's rating fold: found by an audit)
    first_object_at timestamptz CONSTRAINT building_first_object_finite CHECK (isfinite(first_object_at)),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT building_position_pair CHECK ((latitude IS NULL) = (longitude IS NULL))
);
COMMENT ON TABLE arxos.buildings IS 'One row per building; key is the human handle (b42).';

-------------------------------------------------------------------------------------------------
-- Objects: the tree. path is unique per building and compared byte-wise (COLLATE "C"), so a
-- subtree is the key range [path || '/', path || '0').
-------------------------------------------------------------------------------------------------
-- The rating counts an object as documented when its status is not 'unknown' (the triggers
-- compare with that literal, which costs nothing per row); the CHECK keeps the column saying
-- the same for any status a DBA adds.
CREATE TABLE arxos.statuses (
    -- a label, as an object's type (found by an audit: '', a line break or 3,000 characters
    -- were statuses, and every "unknown status" error listed them)
    status      text PRIMARY KEY CONSTRAINT status_format CHECK (arxos.is_label(status, 100)),
    -- decided by the rule below; the default fits every status a DBA adds
    documented  boolean NOT NULL DEFAULT true,
    description text NOT NULL,
    CONSTRAINT status_documented_rule CHECK (documented = (status <> 'unknown'))
);
INSERT INTO arxos.statuses VALUES
    ('active',      true,  'in service and working'),
    ('inactive',    true,  'installed, switched off or unused'),
    ('degraded',    true,  'working with reduced performance'),
    ('failed',      true,  'not working'),
    ('maintenance', true,  'taken out of service for maintenance'),
    ('offline',     true,  'not reachable (for connected devices)'),
    ('unknown',     false, 'not documented yet');

CREATE TABLE arxos.objects (
    id              uuid PRIMARY KEY DEFAULT arxos.uuid_v7(),
    building_id     uuid NOT NULL REFERENCES arxos.buildings(id) ON DELETE CASCADE,
    path            text COLLATE "C" NOT NULL,
    parent_path     text COLLATE "C" GENERATED ALWAYS AS (arxos.path_parent(path)) STORED,
    name            text COLLATE "C" GENERATED ALWAYS AS (arxos.path_name(path)) STORED,
    depth           integer GENERATED ALWAYS AS (arxos.path_depth(path)) STORED,
    -- a label: 1 to 100 characters, no space at either end, no control or invisible formatting characters
    type            text NOT NULL CONSTRAINT object_type_format CHECK (arxos.is_label(type, 100)),
    -- one of arxos.statuses: checked by objects_before_write, not a foreign key (see
    -- arxos.statuses_removed in 02_objects.sql)
    status          text NOT NULL DEFAULT 'unknown',
    health          smallint NOT NULL DEFAULT 100 CHECK (health BETWEEN 0 AND 100),
    needs_repair    boolean NOT NULL DEFAULT false,
    properties      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(properties) = 'object'),
    metrics         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metrics) = 'object'),
    x               double precision,
    y               double precision,
    z               double precision,
    floor           integer,
    -- NULL unless all three coordinates are given, so that a partial location reaches the CHECK
    -- object_location_complete below (cube() of an array holding a NULL fails with its own
    -- message, and generated columns are computed before the CHECKs).
    location        cube GENERATED ALWAYS AS (
                        CASE WHEN x IS NULL OR y IS NULL OR z IS NULL THEN NULL
                             ELSE cube(ARRAY[x, y, z]) END) STORED,
    instrumented    boolean NOT NULL DEFAULT false,
    monitored_by    integer NOT NULL DEFAULT 0,
    last_reading_at timestamptz,
    instrumented_until timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL DEFAULT arxos.current_actor(),
    updated_by      text NOT NULL DEFAULT arxos.current_actor(),
    version         integer NOT NULL DEFAULT 1,
    CONSTRAINT object_path_unique UNIQUE (building_id, path),
    -- x, y and z all given or all NULL; each finite and within ±1e9 metres (a million
    -- kilometres: distances between such points stay finite, arxos_core::location), and 0 or
    -- at least 1e-100 in magnitude (no 300-digit decimals in documents). Functions (arxos_pg/src/locations.rs)
    -- rather than SQL expressions: PostgreSQL re-reads CHECK expressions at the start of every
    -- writing statement, and the spelled-out forms cost a single-row write 6 % more.
    CONSTRAINT object_location_complete CHECK (arxos.location_is_complete(x, y, z)),
    CONSTRAINT object_location_in_range CHECK (arxos.location_in_range(x, y, z))
);
COMMENT ON TABLE arxos.objects IS
    'Every panel, circuit, outlet, valve and room of a building, addressed by path.';
COMMENT ON COLUMN arxos.objects.instrumented IS
    'Maintained by triggers: the object is a sensing device, is monitored by one, or had a reading in the last 30 days.';
COMMENT ON COLUMN arxos.objects.instrumented_until IS
    'Maintained by triggers: when the object is instrumented by its readings alone, the end of its last reading''s 30-day window (then it stops counting); else null.';
CREATE INDEX objects_location ON arxos.objects USING gist (building_id, location)
    WHERE location IS NOT NULL;
CREATE INDEX objects_children ON arxos.objects (building_id, parent_path, path);
CREATE INDEX objects_type ON arxos.objects (building_id, type);
-- The objects that need attention or are not in service, by status and path: what `find` reads for a
-- status filter (`offline`, `maintenance`, `failed`: a few objects among many, which a read of
-- the building's objects in path order would pass by the thousand) and for needs_repair.
-- Active objects, and those of unknown status (what a plain INSERT and a created parent get),
-- are most of a building: left out, so their writes do not touch it.
CREATE INDEX objects_attention ON arxos.objects (building_id, status, path)
    WHERE needs_repair OR status NOT IN ('active', 'unknown');

-- Types whose objects sense the building (they count as instrumented). Editable by a DBA.
-- A sensing type is an object type: a label (what objects.type accepts).
CREATE TABLE arxos.sensing_types (
    type text PRIMARY KEY CONSTRAINT sensing_type_format CHECK (arxos.is_label(type, 100))
);
INSERT INTO arxos.sensing_types VALUES
    ('sensor'), ('meter'), ('thermostat'), ('point'), ('detector'), ('camera');

-------------------------------------------------------------------------------------------------
-- Connections: typed, directed edges between objects of one building.
-------------------------------------------------------------------------------------------------
CREATE TABLE arxos.connections (
    id          uuid PRIMARY KEY DEFAULT arxos.uuid_v7(),
    building_id uuid NOT NULL REFERENCES arxos.buildings(id) ON DELETE CASCADE,
    from_id     uuid NOT NULL REFERENCES arxos.objects(id) ON DELETE CASCADE,
    to_id       uuid NOT NULL REFERENCES arxos.objects(id) ON DELETE CASCADE,
    kind        text NOT NULL CONSTRAINT connection_kind_format CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    properties  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(properties) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT arxos.current_actor(),
    CONSTRAINT connection_unique UNIQUE (from_id, to_id, kind),
    CONSTRAINT connection_not_self CHECK (from_id <> to_id)
);
CREATE INDEX connections_to ON arxos.connections (to_id, kind);
-- A building's connections, in id order (arxos.building_connections pages through them).
CREATE INDEX connections_building ON arxos.connections (building_id, id);

-------------------------------------------------------------------------------------------------
-- Audit history: one row per insert, update, delete or move of an object.
-------------------------------------------------------------------------------------------------
-- building_id has no foreign key: a per-row RI check would double the cost of bulk writes; the
-- history of a deleted building is removed by the buildings_after_delete trigger instead.
CREATE TABLE arxos.object_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id uuid NOT NULL,
    object_id   uuid NOT NULL,
    path        text COLLATE "C" NOT NULL,
    op          text NOT NULL CHECK (op IN ('insert', 'update', 'delete', 'move')),
    actor       text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    changes     jsonb NOT NULL
);
COMMENT ON COLUMN arxos.object_history.changes IS
    '{"field": {"before": …, "after": …}} for the fields that changed (all fields on insert/delete).';
CREATE INDEX object_history_path ON arxos.object_history (building_id, path, id);
-- No index by object_id: nothing in the extension reads history by object, and on an update of
-- a random object such an index dirties a random leaf page (a full-page image in the WAL after
-- every checkpoint). One object's history across moves: filter by building_id and object_id.
-- A building's history in id order (the whole building's history, a page at a time): in the
-- primary key's order, a building among others read past every other building's rows to
-- fill its page. Each building's rows are appended at its own end of this index.
CREATE INDEX object_history_building ON arxos.object_history (building_id, id);
CREATE INDEX object_history_at ON arxos.object_history USING brin (at);
-- The path a move row left (its changes' path.before). PL/pgSQL, so never inlined, and
-- LEAKPROOF (it cannot fail: a missing key is NULL): under row-level security a condition on it
-- can be an index condition, which `changes #>> …` (jsonb_extract_path_text, not leakproof)
-- could not, so the history of a path scanned every row of the building's history.
CREATE FUNCTION arxos.moved_from(changes jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF AS $$
BEGIN
    RETURN changes #>> '{path,before}';
END
$$;
-- Moves by the path they left: the history of a path shows an object moving away from it;
-- and by the path they reached (the walk back to an object's earlier paths starts from them).
-- Partial (move rows only), so no other write touches them.
CREATE INDEX object_history_moved_from ON arxos.object_history
    (building_id, (arxos.moved_from(changes) COLLATE "C"), id) WHERE op = 'move';
CREATE INDEX object_history_moves ON arxos.object_history (building_id, path, id) WHERE op = 'move';

-------------------------------------------------------------------------------------------------
-- Events: the durable outbox.
--
-- Writers append to events_pending in their own transaction. The sequencer
-- (arxos.sequence_events(), run by events_since() and by the shim's listener) moves committed
-- rows into arxos.events and gives them ids from a counter it alone advances under a lock.
-- An id is therefore assigned only after its transaction committed, in sequencing order, so a
-- consumer reading id > last_seen can never skip an event that commits late.
-------------------------------------------------------------------------------------------------
CREATE TABLE arxos.events_pending (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type        text NOT NULL,
    building_id uuid,
    object_id   uuid,
    path        text COLLATE "C",
    actor       text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    body        jsonb NOT NULL DEFAULT '{}',
    -- The object's type when the event was written (the object triggers set it).
    object_type text
);
-- The object.deleted events of a statement, by object: connections_after_delete reads the
-- paths of deleted ends from them (02_objects.sql). Partial, so writes of other events
-- (inserts, updates) maintain no entry.
CREATE INDEX events_pending_deleted ON arxos.events_pending (object_id) WHERE type = 'object.deleted';
-- A queue: vacuumed after every 5,000 dead rows, without cost delay.
ALTER TABLE arxos.events_pending SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0);

CREATE TABLE arxos.events (
    id          bigint PRIMARY KEY,
    type        text NOT NULL,
    building_id uuid,
    object_id   uuid,
    path        text COLLATE "C",
    actor       text NOT NULL,
    at          timestamptz NOT NULL,
    body        jsonb NOT NULL DEFAULT '{}',
    -- Filled by the sequencer, once per event, so that readers (the listener, webhooks, SSE
    -- replay) need no lookups per event: the building's key, and the object's type (when the
    -- event was written, for the object events; else the object's type when sequenced).
    building_key text,
    object_type  text
);
CREATE INDEX events_building ON arxos.events (building_id, id);
CREATE INDEX events_at ON arxos.events USING brin (at);
-- The deleted buildings a consumer may still follow by key (arxos.event_building_id): one
-- entry per deleted building, none for the other events.
CREATE INDEX events_building_deleted ON arxos.events (building_key, id) WHERE type = 'building.deleted';
COMMENT ON TABLE arxos.events IS
    'Sequenced outbox: ids increase in the order events became visible; never skip-prone.';

CREATE TABLE arxos.event_counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_id  bigint NOT NULL DEFAULT 0
);
INSERT INTO arxos.event_counter DEFAULT VALUES;

-- How far the outbox was purged: the largest id deleted from arxos.events (by purge_events, a
-- DBA's DELETE or a TRUNCATE; the triggers in 04_events.sql keep it). A consumer resuming
-- after an id below it may have missed events and is told so (arxos.check_resume, AX026),
-- instead of silently continuing past the gap. A row of its own, off the sequencer's row.
CREATE TABLE arxos.event_horizon (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    purged_through bigint NOT NULL DEFAULT 0 CHECK (purged_through >= 0)
);
INSERT INTO arxos.event_horizon DEFAULT VALUES;

-- How many times API keys changed in a way a request's check depends on (revoked, deleted, new
-- scopes, buildings or owner): arxos.api_keys_changed moves it at the changing transaction's
-- commit. The shim's listener reads it after each page of events (and the streams' replayed
-- pages after theirs), so an event committed after a key
-- changed is never handed to the key's streams before the shim knows of the change, whether or
-- not the change's NOTIFY has arrived yet (found by a review: a page read by statements with
-- newer snapshots than the NOTIFY's delivery could be filtered with the key's old buildings).
-- A row of its own, off the sequencer's.
CREATE TABLE arxos.key_generation (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation bigint NOT NULL DEFAULT 0 CHECK (generation >= 0)
);
INSERT INTO arxos.key_generation DEFAULT VALUES;

-- Listeners that want a NOTIFY wake-up. A writer sends one NOTIFY per transaction only while
-- some listener is idle and asked for it; a busy listener polls instead, so NOTIFY's commit
-- lock stays off the write path under load.
CREATE UNLOGGED TABLE arxos.listeners (
    id          uuid PRIMARY KEY,
    wants_wake  boolean NOT NULL DEFAULT false,
    expires_at  timestamptz NOT NULL
);

-------------------------------------------------------------------------------------------------
-- API keys (hash only; the key itself is shown once).
-------------------------------------------------------------------------------------------------
CREATE TABLE arxos.api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CONSTRAINT api_key_name_label CHECK (arxos.is_label(name, 100)),
    -- (found by an audit: a plain INSERT made keys of owner `system`, the server's own actor, a
    -- key_hash holding the key itself, and scopes listed twice)
    owner        text NOT NULL CONSTRAINT api_key_owner_label CHECK (arxos.is_label(owner, 100))
                 CONSTRAINT api_key_owner_not_system CHECK (lower(owner) <> 'system'),
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE CONSTRAINT api_key_hash_sha256 CHECK (octet_length(key_hash) = 32),
    scopes       text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write', 'admin'] AND cardinality(scopes) > 0)
                 CONSTRAINT api_key_scopes_once CHECK (cardinality(scopes) = ('read' = ANY (scopes))::int
                     + ('write' = ANY (scopes))::int + ('admin' = ANY (scopes))::int),
    -- NULL: every building. Never empty and never with a NULL: an empty list would reach the
    -- request as an empty arxos.building_ids, which means every building.
    building_ids uuid[] CONSTRAINT api_key_buildings_listed
                 CHECK (cardinality(building_ids) > 0 AND array_position(building_ids, NULL) IS NULL),
    -- Admin operations see every building: an admin key is never limited to some.
    CONSTRAINT api_key_admin_everywhere CHECK (building_ids IS NULL OR NOT 'admin' = ANY (scopes)),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
COMMENT ON TABLE arxos.api_keys IS 'API keys: SHA-256 of the key only; building_ids NULL = all buildings.';

-------------------------------------------------------------------------------------------------
-- Serialisation points of rare writes: a contributor's registration rank (09_market.sql), a
-- new readings partition (13_readings.sql), a new API key (05_keys.sql) and a refresh of the
-- BI views (11_bi.sql).
-- One row each, locked (updated) by arxos.serialize(name) until the transaction ends. Not advisory locks: any role that can
-- connect may take any advisory lock key, so a read-only BI login holding one in an idle
-- session stalled every registration; only the extension's owner may lock these rows.
-------------------------------------------------------------------------------------------------
CREATE TABLE arxos.serial_locks (
    name  text PRIMARY KEY,
    -- how many times it was taken (registration_rank: the last rank taken,
    -- arxos.next_registration_rank). Each one updates the row, so that a REPEATABLE READ
    -- transaction whose snapshot predates another's is refused (40001) instead of deciding
    -- on a snapshot without it.
    value bigint NOT NULL DEFAULT 0
);
INSERT INTO arxos.serial_locks (name) VALUES ('registration_rank'), ('readings_partition'), ('api_key_owner'), ('bi_refresh');

-- Only the extension's own code (SECURITY DEFINER functions and triggers) calls it: no role is
-- granted it (14_privileges.sql); the API's role reaches it only through the functions that
-- need it, within the request's transaction. A row missing (a dump taken before the table
-- existed, restored) is put back first.
CREATE FUNCTION arxos.serialize(what text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
BEGIN
    IF what IS NULL OR what NOT IN ('readings_partition', 'api_key_owner', 'bi_refresh') THEN
        RAISE EXCEPTION 'no serialisation point %', arxos.shown(what) USING ERRCODE = '22023',
            HINT = 'serialize takes readings_partition, api_key_owner and bi_refresh (registration ranks: next_registration_rank)';
    END IF;
    INSERT INTO arxos.serial_locks (name) VALUES (what) ON CONFLICT DO NOTHING;
    UPDATE arxos.serial_locks s SET value = s.value + 1 WHERE s.name = what;
END
$$;
