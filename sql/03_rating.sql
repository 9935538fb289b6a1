-- ArxOS schema, part 3: the BILT rating, always fresh and never scanning objects.
--
-- Statement-level triggers on objects (02_objects.sql) call arxos.count_changes(), which
-- adds the statement's deltas to striped counter rows: each backend writes the stripe
-- pg_backend_pid() % 16, so concurrent writers of one building rarely wait on the same row, and
-- a read sums at most 16 rows. Activity is kept in per-day buckets (UTC days), striped the same
-- way, plus one row per (building, day, actor). arxos.rating() folds these in constant time;
-- arxos.recompute_rating() recomputes from the objects and the history (the oracle).

CREATE TABLE arxos.rating_counters (
    building_id     uuid NOT NULL REFERENCES arxos.buildings(id) ON DELETE CASCADE,
    slot            smallint NOT NULL,
    objects         bigint NOT NULL DEFAULT 0,
    located         bigint NOT NULL DEFAULT 0,
    documented      bigint NOT NULL DEFAULT 0,
    with_properties bigint NOT NULL DEFAULT 0,
    instrumented    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (building_id, slot)
);

CREATE TABLE arxos.activity_days (
    building_id uuid NOT NULL REFERENCES arxos.buildings(id) ON DELETE CASCADE,
    day         date NOT NULL,
    slot        smallint NOT NULL,
    changes     bigint NOT NULL DEFAULT 0,
    verified    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (building_id, day, slot)
);

CREATE TABLE arxos.activity_actors (
    building_id uuid NOT NULL REFERENCES arxos.buildings(id) ON DELETE CASCADE,
    day         date NOT NULL,
    actor       text NOT NULL,
    PRIMARY KEY (building_id, day, actor)
);

CREATE TABLE arxos.rating_history (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id   uuid NOT NULL REFERENCES arxos.buildings(id) ON DELETE CASCADE,
    old_grade     text,
    new_grade     text NOT NULL,
    old_score     numeric(6, 3),
    new_score     numeric(6, 3) NOT NULL,
    structure     numeric(6, 3) NOT NULL,
    inventory     numeric(6, 3) NOT NULL,
    metadata      numeric(6, 3) NOT NULL,
    sensors       numeric(6, 3) NOT NULL,
    history       numeric(6, 3) NOT NULL,
    quality       numeric(6, 3) NOT NULL,
    activity      numeric(6, 3) NOT NULL,
    reason        text NOT NULL CHECK (reason IN ('initial_rating', 'object_added', 'object_updated',
                      'object_removed', 'contribution_verified', 'sensor_installed', 'time_window',
                      'manual_recalculation', 'bulk_update')),
    object_path   text,
    contribution_id uuid,
    actor         text NOT NULL DEFAULT arxos.current_actor(),
    at            timestamptz NOT NULL DEFAULT now()
);
-- id orders a building's history and serves as the rating's version: concurrent committing
-- transactions each compare with the last committed row and never wait for one another.
CREATE INDEX rating_history_building ON arxos.rating_history (building_id, id);

-- The UTC day a change counts on, and the first day of the 30-day window that ends today.
CREATE FUNCTION arxos.utc_day(t timestamptz DEFAULT now()) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT (t AT TIME ZONE 'UTC')::date $$;

CREATE FUNCTION arxos.counter_slot() RETURNS smallint
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$ SELECT (pg_backend_pid() % 16)::smallint $$;

-- Adds one statement's deltas for one building (changes: history rows written; the others:
-- differences of the object counts). reason/path say why, for the rating history row written
-- at commit.
CREATE FUNCTION arxos.count_changes(building uuid, changes bigint, objects bigint, located bigint,
                                    documented bigint, with_properties bigint, instrumented bigint,
                                    reason text, path text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
DECLARE
    v_slot   smallint := arxos.counter_slot();
    v_today  date := arxos.utc_day();
    v_counts boolean := (objects, located, documented, with_properties, instrumented) <> (0, 0, 0, 0, 0);
BEGIN
    IF v_counts THEN
        INSERT INTO arxos.rating_counters AS c
               (building_id, slot, objects, located, documented, with_properties, instrumented)
        VALUES (building, v_slot, objects, located, documented, with_properties, instrumented)
        ON CONFLICT ON CONSTRAINT rating_counters_pkey DO UPDATE
           SET objects = c.objects + excluded.objects,
               located = c.located + excluded.located,
               documented = c.documented + excluded.documented,
               with_properties = c.with_properties + excluded.with_properties,
               instrumented = c.instrumented + excluded.instrumented;
    END IF;
    IF changes > 0 THEN
        INSERT INTO arxos.activity_days AS a (building_id, day, slot, changes)
        VALUES (building, v_today, v_slot, changes)
        ON CONFLICT ON CONSTRAINT activity_days_pkey DO UPDATE SET changes = a.changes + excluded.changes;
        INSERT INTO arxos.activity_actors (building_id, day, actor)
        VALUES (building, v_today, arxos.current_actor())
        ON CONFLICT DO NOTHING;
    END IF;
    IF changes > 0 OR v_counts THEN
        PERFORM arxos.note_rating_change(building,
            CASE WHEN instrumented > 0 THEN 'sensor_installed' ELSE reason END, path, NULL, changes);
    END IF;
END
$$;

-------------------------------------------------------------------------------------------------
-- Reading the rating
-------------------------------------------------------------------------------------------------

-- The inputs of the rating formula for one building, from the counters (constant cost).
CREATE FUNCTION arxos.rating_inputs(building uuid, at timestamptz DEFAULT now())
RETURNS TABLE (objects bigint, located bigint, documented bigint, with_properties bigint,
               instrumented bigint, age_days double precision, changes_30d bigint,
               actors_30d bigint, verified_30d bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(c.objects, 0), coalesce(c.located, 0), coalesce(c.documented, 0),
           coalesce(c.with_properties, 0), coalesce(c.instrumented, 0),
           coalesce(floor(extract(epoch FROM at - b.first_object_at) / 86400.0), 0)::double precision,
           coalesce(a.changes, 0), coalesce(u.actors, 0), coalesce(a.verified, 0)
      FROM arxos.buildings b
      LEFT JOIN LATERAL (
            SELECT sum(r.objects)::bigint AS objects, sum(r.located)::bigint AS located,
                   sum(r.documented)::bigint AS documented,
                   sum(r.with_properties)::bigint AS with_properties,
                   sum(r.instrumented)::bigint AS instrumented
              FROM arxos.rating_counters r WHERE r.building_id = b.id) c ON true
      LEFT JOIN LATERAL (
            SELECT sum(d.changes)::bigint AS changes, sum(d.verified)::bigint AS verified
              FROM arxos.activity_days d
             WHERE d.building_id = b.id AND d.day > arxos.utc_day(at) - 30 AND d.day <= arxos.utc_day(at)) a ON true
      LEFT JOIN LATERAL (
            SELECT count(DISTINCT x.actor) AS actors
              FROM arxos.activity_actors x
             WHERE x.building_id = b.id AND x.day > arxos.utc_day(at) - 30 AND x.day <= arxos.utc_day(at)) u ON true
     WHERE b.id = building
$$;

CREATE TYPE arxos.rating_result AS (
    building      text,
    grade         text,
    score         numeric(6, 3),
    structure     numeric(6, 3),
    inventory     numeric(6, 3),
    metadata      numeric(6, 3),
    sensors       numeric(6, 3),
    history       numeric(6, 3),
    quality       numeric(6, 3),
    activity      numeric(6, 3),
    version       bigint,
    calculated_at timestamptz
);

CREATE FUNCTION arxos.rating_from_values(building text, v double precision[], version bigint)
RETURNS arxos.rating_result
LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(building, arxos.grade(v[8]), v[8], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
               version, now())::arxos.rating_result
$$;

-- The exact rating for the committed data (and this transaction's own changes) at this moment.
-- `at` moves only the clock of the time-dependent components (age and the 30-day windows);
-- the object counts are always the current ones.
CREATE FUNCTION arxos.rating(building text, at timestamptz DEFAULT now()) RETURNS arxos.rating_result
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    b  uuid := arxos.building_id(building);
    i  record;
    v  double precision[];
BEGIN
    SELECT * INTO i FROM arxos.rating_inputs(b, at);
    v := arxos.rating_compute(i.objects, i.located, i.documented, i.with_properties, i.instrumented,
                              i.age_days, i.changes_30d, i.actors_30d, i.verified_30d);
    RETURN arxos.rating_from_values(
        (SELECT key FROM arxos.buildings WHERE id = b), v,
        coalesce((SELECT max(h.id) FROM arxos.rating_history h WHERE h.building_id = b), 0));
END
$$;

-- Recomputes from scratch: counts objects and history rows. The oracle the counters must equal.
CREATE FUNCTION arxos.rating_inputs_scan(building uuid, at timestamptz DEFAULT now())
RETURNS TABLE (objects bigint, located bigint, documented bigint, with_properties bigint,
               instrumented bigint, age_days double precision, changes_30d bigint,
               actors_30d bigint, verified_30d bigint)
LANGUAGE sql STABLE AS $$
    SELECT o.objects, o.located, o.documented, o.with_properties, o.instrumented,
           coalesce(floor(extract(epoch FROM at - b.first_object_at) / 86400.0), 0)::double precision,
           h.changes, h.actors, arxos.verified_in_window(building, at)
      FROM arxos.buildings b,
           LATERAL (SELECT count(*) AS objects,
                           count(*) FILTER (WHERE x IS NOT NULL) AS located,
                           count(*) FILTER (WHERE status <> 'unknown') AS documented,
                           count(*) FILTER (WHERE properties <> '{}') AS with_properties,
                           count(*) FILTER (WHERE instrumented) AS instrumented
                      FROM arxos.objects WHERE building_id = b.id) o,
           LATERAL (SELECT count(*) AS changes, count(DISTINCT actor) AS actors
                      FROM arxos.object_history
                     WHERE building_id = b.id
                       AND arxos.utc_day(object_history.at) > arxos.utc_day(rating_inputs_scan.at) - 30
                       AND arxos.utc_day(object_history.at) <= arxos.utc_day(rating_inputs_scan.at)) h
     WHERE b.id = building
$$;

-- Verified contributions in the 30-day window; replaced by the market schema (06_market.sql).
CREATE FUNCTION arxos.verified_in_window(building uuid, at timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT 0::bigint $$;

CREATE FUNCTION arxos.recompute_rating(building text) RETURNS arxos.rating_result
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b  uuid := arxos.building_id(building);
    i  record;
    v  double precision[];
    r  arxos.rating_result;
BEGIN
    SELECT * INTO i FROM arxos.rating_inputs_scan(b);
    v := arxos.rating_compute(i.objects, i.located, i.documented, i.with_properties, i.instrumented,
                              i.age_days, i.changes_30d, i.actors_30d, i.verified_30d);
    PERFORM arxos.record_rating(b, 'manual_recalculation', NULL, NULL, true);
    r := arxos.rating_from_values(
        (SELECT key FROM arxos.buildings WHERE id = b), v,
        coalesce((SELECT max(h.id) FROM arxos.rating_history h WHERE h.building_id = b), 0));
    RETURN r;
END
$$;

-------------------------------------------------------------------------------------------------
-- Rating history and events, once per building per transaction
-------------------------------------------------------------------------------------------------

-- Compares the current rating with the last recorded one and, when the grade changed or the
-- score moved by 0.1 or more (or always, with force), writes a history row and the
-- bilt.rating.changed and market.signal events. Returns true when it wrote.
CREATE FUNCTION arxos.record_rating(building uuid, reason text, object_path text,
                                    contribution uuid, force boolean DEFAULT false,
                                    at timestamptz DEFAULT now())
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    i     record;
    v     double precision[];
    last  arxos.rating_history;
    g     text;
    s     numeric(6, 3);
    key   text;
    moved boolean;
BEGIN
    SELECT * INTO i FROM arxos.rating_inputs(building, at);
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    v := arxos.rating_compute(i.objects, i.located, i.documented, i.with_properties, i.instrumented,
                              i.age_days, i.changes_30d, i.actors_30d, i.verified_30d);
    s := v[8];
    g := arxos.grade(v[8]);
    SELECT * INTO last FROM arxos.rating_history h WHERE h.building_id = building
     ORDER BY h.id DESC LIMIT 1;
    moved := last.id IS NULL OR last.new_grade <> g OR abs(last.new_score - s) >= 0.1;
    IF NOT moved AND NOT force THEN
        RETURN false;
    END IF;
    SELECT b.key INTO key FROM arxos.buildings b WHERE b.id = building;
    IF moved THEN
        INSERT INTO arxos.rating_history (building_id, old_grade, new_grade, old_score, new_score,
               structure, inventory, metadata, sensors, history, quality, activity, reason,
               object_path, contribution_id)
        VALUES (building, last.new_grade, g, last.new_score, s,
                v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                CASE WHEN last.id IS NULL THEN 'initial_rating' ELSE reason END,
                object_path, contribution);
        INSERT INTO arxos.events_pending (type, building_id, path, actor, body)
        VALUES ('bilt.rating.changed', building, object_path, arxos.current_actor(),
                jsonb_build_object('building', key,
                    'reason', CASE WHEN last.id IS NULL THEN 'initial_rating' ELSE reason END,
                    'old_grade', last.new_grade, 'new_grade', g, 'old_score', last.new_score, 'new_score', s,
                    'object_path', object_path, 'contribution_id', contribution,
                    'components', jsonb_build_object('structure', v[1], 'inventory', v[2],
                        'metadata', v[3], 'sensors', v[4], 'history', v[5], 'quality', v[6], 'activity', v[7]))),
               ('market.signal', building, NULL, arxos.current_actor(),
                jsonb_build_object('building', key, 'old_grade', last.new_grade, 'new_grade', g,
                    'old_score', last.new_score, 'new_score', s,
                    'old_price', CASE WHEN last.id IS NULL THEN NULL
                                      ELSE arxos.token_price(last.new_score::float8, last.new_grade) END,
                    'new_price', arxos.token_price(s::float8, g)));
    END IF;
    IF force OR (reason = 'time_window' AND moved) THEN
        INSERT INTO arxos.events_pending (type, building_id, actor, body)
        VALUES ('bilt.rating.calculated', building, arxos.current_actor(),
                jsonb_build_object('building', key, 'reason', reason, 'grade', g, 'score', s,
                    'components', jsonb_build_object('structure', v[1], 'inventory', v[2],
                        'metadata', v[3], 'sensors', v[4], 'history', v[5], 'quality', v[6], 'activity', v[7])));
    END IF;
    PERFORM arxos.wake();
    RETURN moved;
END
$$;

-- Token price used by market signals; replaced with the full token maths by 06_market.sql.
CREATE FUNCTION arxos.token_price(score double precision, grade text) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT round((0.01 * arxos.grade_value(grade) * (1 + score / 100))::numeric, 6)
$$;

-- Per transaction and building, the reason for the rating check at commit.
CREATE UNLOGGED TABLE arxos.rating_dirty (
    xid         xid8 NOT NULL,
    building_id uuid NOT NULL,
    reason      text NOT NULL,
    object_path text,
    contribution_id uuid,
    PRIMARY KEY (xid, building_id)
);

-- Remembers that this transaction touched the building's rating inputs. The first note of a
-- transaction queues a deferred check; later notes only refine the reason (several different
-- reasons, or a statement that changed more than one object, make it bulk_update).
CREATE FUNCTION arxos.note_rating_change(building uuid, reason text, path text, contribution uuid,
                                         changed bigint DEFAULT 1)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    mine xid8 := pg_current_xact_id();
    r    text := CASE WHEN changed > 1 THEN 'bulk_update' ELSE reason END;
BEGIN
    INSERT INTO arxos.rating_dirty AS d (xid, building_id, reason, object_path, contribution_id)
    VALUES (mine, building, r, path, contribution)
    ON CONFLICT (xid, building_id) DO UPDATE
       SET reason = CASE WHEN d.reason = excluded.reason THEN d.reason
                         WHEN excluded.reason = 'contribution_verified' THEN excluded.reason
                         WHEN d.reason = 'contribution_verified' THEN d.reason
                         ELSE 'bulk_update' END,
           object_path = coalesce(d.object_path, excluded.object_path),
           contribution_id = coalesce(excluded.contribution_id, d.contribution_id);
END
$$;

CREATE FUNCTION arxos.rating_dirty_check() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    d arxos.rating_dirty;
BEGIN
    DELETE FROM arxos.rating_dirty x WHERE x.xid = NEW.xid AND x.building_id = NEW.building_id
    RETURNING * INTO d;
    IF FOUND AND EXISTS (SELECT 1 FROM arxos.buildings b WHERE b.id = d.building_id) THEN
        PERFORM arxos.record_rating(d.building_id, d.reason, d.object_path, d.contribution_id);
    END IF;
    RETURN NULL;
END
$$;

-- Fires at commit, once per (transaction, building): the deferred row trigger of the first note.
CREATE CONSTRAINT TRIGGER rating_dirty_check AFTER INSERT ON arxos.rating_dirty
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION arxos.rating_dirty_check();

-- Records the moves that time alone causes (history, quality, activity windows). Safe to call
-- from pg_cron; the shim calls it every minute. Returns the number of buildings recorded.
CREATE FUNCTION arxos.tick(at timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b uuid;
    n integer := 0;
BEGIN
    -- Reading windows that ran out stop counting as instrumented (13_readings.sql).
    PERFORM arxos.readings_tick();
    FOR b IN SELECT id FROM arxos.buildings ORDER BY id LOOP
        IF arxos.record_rating(b, 'time_window', NULL, NULL, false, at) THEN
            n := n + 1;
        END IF;
    END LOOP;
    -- Old day buckets fall out of every window: fold them away.
    DELETE FROM arxos.activity_days WHERE day < arxos.utc_day() - 31;
    DELETE FROM arxos.activity_actors WHERE day < arxos.utc_day() - 31;
    PERFORM arxos.sequence_events();
    RETURN n;
END
$$;
-- tick() is run by the shim's login role (arxos_authenticator in production) or by pg_cron: it
-- records rating moves for every building, so it runs with the owner's rights.
ALTER FUNCTION arxos.tick(timestamptz) SECURITY DEFINER SET search_path = pg_catalog, arxos;

-------------------------------------------------------------------------------------------------
-- Breakdown and history
-------------------------------------------------------------------------------------------------

CREATE FUNCTION arxos.rating_breakdown(building text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    r arxos.rating_result := arxos.rating(building);
    v double precision[] := ARRAY[r.structure, r.inventory, r.metadata, r.sensors, r.history, r.quality, r.activity];
BEGIN
    RETURN jsonb_build_object(
        'building', r.building,
        'grade', r.grade,
        'score', r.score,
        'max_possible', 100,
        'components', (SELECT jsonb_agg(jsonb_build_object(
                            'name', c.name, 'score', v[c.position], 'weight', c.weight,
                            'weighted', round((v[c.position] * c.weight)::numeric, 3),
                            'description', c.description) ORDER BY c.position)
                         FROM arxos.rating_components() c),
        'recommendations', to_jsonb(arxos.rating_recommendations(v)),
        'calculated_at', r.calculated_at);
END
$$;

CREATE FUNCTION arxos.rating_history(building text, max integer DEFAULT 100)
RETURNS SETOF arxos.rating_history
LANGUAGE sql STABLE AS $$
    SELECT * FROM arxos.rating_history h
     WHERE h.building_id = arxos.building_id(building)
     ORDER BY h.id DESC
     LIMIT greatest(max, 0)
$$;

-- One row per building with its current rating.
CREATE VIEW arxos.ratings AS
    SELECT b.id AS building_id, b.key AS building, b.name, r.grade, r.score, r.structure, r.inventory,
           r.metadata, r.sensors, r.history, r.quality, r.activity, r.version, r.calculated_at
      FROM arxos.buildings b, LATERAL arxos.rating(b.key) r;
