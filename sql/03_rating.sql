-- ArxOS schema, part 3: the BILT rating, always fresh and never scanning objects.
--
-- Writers only append: the statement-level triggers on objects (02_objects.sql) and the
-- contribution triggers (09_market.sql) insert one row per statement and building into
-- arxos.rating_deltas (the statement's differences of the object counts, its history rows, its
-- verified contributions, and why). Nothing every writer updates, so writers never queue on a
-- row lock, and a write costs one small insert.
--
-- The sequencer (arxos.sequence_events, 04_events.sql) folds committed deltas, in order, into
-- the per-building totals (rating_counters, activity_days, activity_actors) and, replaying them
-- transaction by transaction, records a history row and the bilt.rating.changed event for each
-- transaction that moved a grade or a score by 0.1 or more. arxos.rating() adds the deltas not
-- folded yet to the totals, so it is exact for the committed data at any moment and costs the
-- same for 10 objects and 10 million. arxos.recompute_rating() recomputes from the objects and
-- the history (the oracle).

CREATE TABLE arxos.rating_counters (
    building_id     uuid PRIMARY KEY REFERENCES arxos.buildings(id) ON DELETE CASCADE,
    objects         bigint NOT NULL DEFAULT 0,
    located         bigint NOT NULL DEFAULT 0,
    documented      bigint NOT NULL DEFAULT 0,
    with_properties bigint NOT NULL DEFAULT 0,
    instrumented    bigint NOT NULL DEFAULT 0
);

CREATE TABLE arxos.activity_days (
    building_id uuid NOT NULL REFERENCES arxos.buildings(id) ON DELETE CASCADE,
    day         date NOT NULL,
    changes     bigint NOT NULL DEFAULT 0,
    verified    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (building_id, day)
);

CREATE TABLE arxos.activity_actors (
    building_id uuid NOT NULL REFERENCES arxos.buildings(id) ON DELETE CASCADE,
    day         date NOT NULL,
    actor       text NOT NULL,
    PRIMARY KEY (building_id, day, actor)
);

-- The UTC day a change counts on.
CREATE FUNCTION arxos.utc_day(t timestamptz DEFAULT now()) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT (t AT TIME ZONE 'UTC')::date $$;

-- The journal of rating inputs: one row per writing statement and building, insert-only.
-- changes: history rows written; objects … instrumented: differences of the object counts;
-- verified: verified contributions added (or removed) on `day`. No foreign key: a write must
-- not lock its building's row, and the sequencer drops the deltas of a deleted building.
CREATE TABLE arxos.rating_deltas (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    building_id     uuid NOT NULL,
    day             date NOT NULL DEFAULT arxos.utc_day(),
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL DEFAULT arxos.current_actor(),
    changes         bigint NOT NULL DEFAULT 0,
    objects         bigint NOT NULL DEFAULT 0,
    located         bigint NOT NULL DEFAULT 0,
    documented      bigint NOT NULL DEFAULT 0,
    with_properties bigint NOT NULL DEFAULT 0,
    instrumented    bigint NOT NULL DEFAULT 0,
    verified        bigint NOT NULL DEFAULT 0,
    reason          text NOT NULL,
    object_path     text,
    contribution_id uuid
);
-- No index by building: the queue holds what the sequencer has not folded yet (normally a
-- handful of rows), and each index would cost every write. Rows come and go all the time:
-- vacuum after every thousand dead rows, or the sequencer's scans from its head wade through
-- dead index entries.
ALTER TABLE arxos.rating_deltas SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
COMMENT ON TABLE arxos.rating_deltas IS
    'Rating inputs written by one statement, not yet folded into the totals by the sequencer.';

-- The reason a statement gives for its rating change: several objects at once is a bulk
-- update, a new sensing object is a sensor installation.
CREATE FUNCTION arxos.delta_reason(reason text, changed bigint, instrumented bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN changed > 1 THEN 'bulk_update'
                WHEN instrumented > 0 THEN 'sensor_installed'
                ELSE reason END
$$;

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
    at            timestamptz NOT NULL DEFAULT now(),
    -- What the fold and the market read back (token prices, the impact bonus's high-water
    -- mark): a row by hand with a grade that is none stopped every fold, so the outbox of
    -- every building (found by an audit).
    CONSTRAINT rating_history_grades CHECK (new_grade ~ '^(0[m-z]|1[p-z]|1A)$'
                                            AND (old_grade IS NULL OR old_grade ~ '^(0[m-z]|1[p-z]|1A)$')),
    CONSTRAINT rating_history_scores CHECK (new_score BETWEEN 0 AND 100
                                            AND (old_score IS NULL OR old_score BETWEEN 0 AND 100))
);
-- id orders a building's history and serves as the rating's version.
CREATE INDEX rating_history_building ON arxos.rating_history (building_id, id);
-- The highest score a building's history records: the impact bonus's high-water mark
-- (arxos.contribute), one probe.
CREATE INDEX rating_history_score ON arxos.rating_history (building_id, new_score);

-------------------------------------------------------------------------------------------------
-- Reading the rating
-------------------------------------------------------------------------------------------------

-- Objects of a building instrumented by readings alone whose window closed by `at` (and that
-- tick() has not expired yet). A function of its own, so that the planner of rating_inputs
-- costs it as a call: counted inline, the range's unknown bound made the generic plan of
-- rating() look expensive, and every call was planned afresh (0.7 ms instead of 0.2 ms).
CREATE FUNCTION arxos.closed_reading_windows(building uuid, at timestamptz) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT count(*) FROM arxos.objects o
             WHERE o.building_id = closed_reading_windows.building
               AND o.instrumented_until IS NOT NULL AND o.instrumented_until <= closed_reading_windows.at);
END
$$;

-- The inputs of the rating formula for one building: the folded totals plus, unless pending is
-- false, the deltas the sequencer has not folded yet (this transaction's own among them), less
-- the objects whose reading window closed by `at` and that tick() has not expired yet (an
-- index range that tick() keeps empty). The cost depends on the deltas and expiries waiting,
-- never on the number of objects.
CREATE FUNCTION arxos.rating_inputs(building uuid, at timestamptz DEFAULT now(), pending boolean DEFAULT true)
RETURNS TABLE (objects bigint, located bigint, documented bigint, with_properties bigint,
               instrumented bigint, age_days double precision, changes_30d bigint,
               actors_30d bigint, verified_30d bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(c.objects, 0) + coalesce(p.objects, 0),
           coalesce(c.located, 0) + coalesce(p.located, 0),
           coalesce(c.documented, 0) + coalesce(p.documented, 0),
           coalesce(c.with_properties, 0) + coalesce(p.with_properties, 0),
           coalesce(c.instrumented, 0) + coalesce(p.instrumented, 0)
               -- the earliest window's end first (one index probe, costed as such in a
               -- generic plan); counting only when some window has closed
               - CASE WHEN (SELECT min(o.instrumented_until) FROM arxos.objects o
                             WHERE o.building_id = b.id AND o.instrumented_until IS NOT NULL)
                           <= rating_inputs.at
                      THEN arxos.closed_reading_windows(b.id, rating_inputs.at) ELSE 0 END,
           coalesce(floor(extract(epoch FROM rating_inputs.at - coalesce(b.first_object_at, p.first_at)) / 86400.0),
                    0)::double precision,
           coalesce(a.changes, 0) + coalesce(p.changes, 0),
           coalesce(u.actors, 0),
           coalesce(a.verified, 0) + coalesce(p.verified, 0)
      FROM arxos.buildings b
      LEFT JOIN arxos.rating_counters c ON c.building_id = b.id
      LEFT JOIN LATERAL (
            SELECT sum(d.objects)::bigint AS objects, sum(d.located)::bigint AS located,
                   sum(d.documented)::bigint AS documented,
                   sum(d.with_properties)::bigint AS with_properties,
                   sum(d.instrumented)::bigint AS instrumented,
                   min(d.at) FILTER (WHERE d.objects > 0) AS first_at,
                   sum(d.changes) FILTER (WHERE d.day > arxos.utc_day(rating_inputs.at) - 30 AND d.day <= arxos.utc_day(rating_inputs.at))::bigint AS changes,
                   sum(d.verified) FILTER (WHERE d.day > arxos.utc_day(rating_inputs.at) - 30 AND d.day <= arxos.utc_day(rating_inputs.at))::bigint AS verified
              -- what the fold will fold (it drops the others)
              FROM arxos.rating_deltas d
             WHERE rating_inputs.pending AND d.building_id = b.id AND arxos.delta_in_range(d)) p ON true
      LEFT JOIN LATERAL (
            SELECT sum(d.changes)::bigint AS changes, sum(d.verified)::bigint AS verified
              FROM arxos.activity_days d
             WHERE d.building_id = b.id AND d.day > arxos.utc_day(rating_inputs.at) - 30 AND d.day <= arxos.utc_day(rating_inputs.at)) a ON true
      LEFT JOIN LATERAL (
            SELECT count(DISTINCT x.actor) AS actors
              FROM (SELECT y.actor FROM arxos.activity_actors y
                     WHERE y.building_id = b.id AND y.day > arxos.utc_day(rating_inputs.at) - 30 AND y.day <= arxos.utc_day(rating_inputs.at)
                    UNION ALL
                    SELECT d.actor FROM arxos.rating_deltas d
                     WHERE rating_inputs.pending AND d.building_id = b.id AND d.changes > 0
                       AND arxos.delta_in_range(d) AND d.day > arxos.utc_day(rating_inputs.at) - 30 AND d.day <= arxos.utc_day(rating_inputs.at)) x) u ON true
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
    IF at IS NULL OR NOT isfinite(at) THEN
        RAISE EXCEPTION 'rating needs a finite time, got %', coalesce(at::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    -- The 30-day windows are summed from day buckets that tick() keeps for 32 days (today and the 31 before).
    -- 48 hours, not 2 days: in the session's TimeZone a day across a DST change is 23 or
    -- 25 hours, and the window could reach past the buckets kept (found by an audit)
    IF at < now() - interval '48 hours' THEN
        RAISE EXCEPTION 'rating looks back at most 48 hours'
            USING ERRCODE = '22023', DETAIL = format('asked for %s', to_json(at)),
                  HINT = 'the activity of the 30-day windows is kept by the day for 32 days (today and the 31 before); rating_history has the ratings of the past';
    END IF;
    SELECT * INTO i FROM arxos.rating_inputs(b, at);
    v := arxos.rating_compute(i.objects, i.located, i.documented, i.with_properties, i.instrumented,
                              i.age_days, i.changes_30d, i.actors_30d, i.verified_30d);
    RETURN arxos.rating_from_values(
        (SELECT key FROM arxos.buildings WHERE id = b), v,
        coalesce((SELECT max(h.id) FROM arxos.rating_history h WHERE h.building_id = b), 0));
END
$$;

-- Recomputes from scratch: counts objects and history rows. The oracle the counters must equal.
-- An object counts as instrumented if a `monitors` connection points at it (counted here from
-- the connections, not from the monitored_by counter the triggers keep), it is of a sensing
-- type, or it had a reading in the 30 days before `at`.
CREATE FUNCTION arxos.rating_inputs_scan(building uuid, at timestamptz DEFAULT now())
RETURNS TABLE (objects bigint, located bigint, documented bigint, with_properties bigint,
               instrumented bigint, age_days double precision, changes_30d bigint,
               actors_30d bigint, verified_30d bigint)
LANGUAGE sql STABLE AS $$
    SELECT o.objects, o.located, o.documented, o.with_properties, o.instrumented,
           -- first_object_at is set when the sequencer folds the first object in; before
           -- that, the oracle finds the first insert in the history itself
           coalesce(floor(extract(epoch FROM at - coalesce(b.first_object_at,
                        (SELECT min(f.at) FROM arxos.object_history f
                          WHERE f.building_id = b.id AND f.op = 'insert'))) / 86400.0), 0)::double precision,
           h.changes, h.actors, arxos.verified_in_window(building, at)
      FROM arxos.buildings b,
           LATERAL (SELECT count(*) AS objects,
                           count(*) FILTER (WHERE x IS NOT NULL) AS located,
                           count(*) FILTER (WHERE status <> 'unknown') AS documented,
                           count(*) FILTER (WHERE properties <> '{}') AS with_properties,
                           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM arxos.connections c
                                                          WHERE c.to_id = objects.id AND c.kind = 'monitors')
                                              OR arxos.reading_window_end(last_reading_at) > rating_inputs_scan.at
                                              OR type IN (SELECT s.type FROM arxos.sensing_types s)) AS instrumented
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

-- Takes the outbox sequencer's lock (arxos.sequence_events) for the rest of the transaction,
-- waiting at most 5 s (then 55P03): tick() and recompute_rating() fold and record under it,
-- so that no fold runs between theirs and their history rows. The lock is the row lock of
-- arxos.event_counter's one row, which only the extension's owner may take (not an advisory
-- lock: any role can take any advisory lock key, /api/query's too). SECURITY DEFINER
-- (08_security.sql), so that its callers need no UPDATE right on the counter.
CREATE FUNCTION arxos.lock_sequencer() RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    old text := current_setting('lock_timeout');
BEGIN
    -- Under REPEATABLE READ or SERIALIZABLE a sequencer that moved on while this one waited
    -- for its lock cannot be followed (40001), and sequence_events numbers nothing there: its
    -- callers (tick, recompute_rating, create_webhook) refuse such a transaction, as
    -- refresh_views does (found by an audit: a pg_cron tick in a database whose default
    -- isolation is repeatable read failed with a bare "could not serialize access", or did
    -- nothing).
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'tick(), recompute_rating() and create_webhook() run under READ COMMITTED only (this transaction is %)',
            current_setting('transaction_isolation')
            USING ERRCODE = '55000',
                  HINT = 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED; for a pg_cron role or a database whose default is another, ALTER ROLE … SET default_transaction_isolation = ''read committed''';
    END IF;
    PERFORM set_config('lock_timeout', '5s', true);
    PERFORM 1 FROM arxos.event_counter FOR UPDATE;
    PERFORM set_config('lock_timeout', old, true);
EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION 'the outbox sequencer is busy: another transaction has held its lock for 5 s'
        USING ERRCODE = '55P03',
              HINT = 'an open transaction called events_since(), rating_history() or another sequencing function; try again';
END
$$;

-- Sets a building's totals (rating_counters, and the day buckets activity_days and
-- activity_actors of the last 32 days) to what its objects, history and contributions say:
-- recompute_rating's repair, so that totals a DBA changed by hand, or any drift, end with the
-- recount (found by an adversarial review: totals written by hand stayed wrong for good).
-- Called with the sequencer's lock held and every delta of the building folded; each
-- statement writes only while the building has no delta waiting in its own snapshot, so that
-- the rows it counts are exactly those the totals hold (a write committed since is counted by
-- its delta, folded later). Returns whether every table was reset.
CREATE FUNCTION arxos.reset_rating_totals(building uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b     uuid := reset_rating_totals.building;
    since date := arxos.utc_day() - 32;
    n     integer;
    done  integer := 0;
BEGIN
    INSERT INTO arxos.rating_counters AS c
           (building_id, objects, located, documented, with_properties, instrumented)
    SELECT b, count(*), count(*) FILTER (WHERE o.x IS NOT NULL),
           count(*) FILTER (WHERE o.status <> 'unknown'), count(*) FILTER (WHERE o.properties <> '{}'),
           count(*) FILTER (WHERE o.instrumented)
      FROM arxos.objects o
     WHERE o.building_id = b
    HAVING NOT EXISTS (SELECT 1 FROM arxos.rating_deltas d WHERE d.building_id = b)
    ON CONFLICT (building_id) DO UPDATE
       SET objects = excluded.objects, located = excluded.located, documented = excluded.documented,
           with_properties = excluded.with_properties, instrumented = excluded.instrumented;
    GET DIAGNOSTICS n = ROW_COUNT;
    done := done + n;
    -- every day of the window, one upsert (a day without changes gets zeros)
    WITH changed AS (
        SELECT arxos.utc_day(h.at) AS day, count(*) AS n
          FROM arxos.object_history h
         WHERE h.building_id = b AND h.at >= (since + 1)::timestamp AT TIME ZONE 'UTC'
         GROUP BY 1),
    verified AS (
        SELECT arxos.utc_day(c.verified_at) AS day, count(*) AS n
          FROM arxos.contributions c
         WHERE c.building_id = b AND NOT c.verified_by_same_owner
           AND c.verified_at >= (since + 1)::timestamp AT TIME ZONE 'UTC'
         GROUP BY 1)
    INSERT INTO arxos.activity_days AS a (building_id, day, changes, verified)
    SELECT b, g.day::date, coalesce(k.n, 0), coalesce(v.n, 0)
      FROM generate_series((since + 1)::timestamp, arxos.utc_day()::timestamp, interval '1 day') g(day)
      LEFT JOIN changed k ON k.day = g.day::date
      LEFT JOIN verified v ON v.day = g.day::date
     WHERE NOT EXISTS (SELECT 1 FROM arxos.rating_deltas d WHERE d.building_id = b)
    ON CONFLICT (building_id, day) DO UPDATE SET changes = excluded.changes, verified = excluded.verified;
    GET DIAGNOSTICS n = ROW_COUNT;
    done := done + least(n, 1);
    -- the actors: those no history row of theirs names go, those missing come (a delta
    -- committed in between adds its own actor when folded)
    DELETE FROM arxos.activity_actors a
     WHERE a.building_id = b AND a.day > since
       AND a.actor NOT IN (SELECT h.actor FROM arxos.object_history h
                            WHERE h.building_id = b AND h.at >= (since + 1)::timestamp AT TIME ZONE 'UTC'
                              AND arxos.utc_day(h.at) = a.day)
       AND NOT EXISTS (SELECT 1 FROM arxos.rating_deltas d WHERE d.building_id = b);
    INSERT INTO arxos.activity_actors (building_id, day, actor)
    SELECT DISTINCT b, arxos.utc_day(h.at), h.actor
      FROM arxos.object_history h
     WHERE h.building_id = b AND h.at >= (since + 1)::timestamp AT TIME ZONE 'UTC'
       AND length(h.actor) <= 200
       AND NOT EXISTS (SELECT 1 FROM arxos.rating_deltas d WHERE d.building_id = b)
    ON CONFLICT DO NOTHING;
    RETURN done = 2;
END
$$;

CREATE FUNCTION arxos.recompute_rating(building text) RETURNS arxos.rating_result
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b  uuid := arxos.building_id(building);
    i  record;
    v  double precision[];
    r  arxos.rating_result;
    settled boolean;
    mine xid8 := pg_current_xact_id_if_assigned();
    own  boolean;
BEGIN
    -- It runs as the owner (08_security.sql), past row-level security: a request limited to
    -- other buildings finds no such building, as everywhere else.
    IF NOT arxos.building_allowed(b) THEN
        PERFORM arxos.unknown_building(building);
    END IF;
    -- Fold and record the writes so far first, however many deltas wait (a sequencing folds
    -- one batch): their moves belong to them, not to this call. The sequencer's lock stays
    -- held to the end of the transaction, so no fold runs in between.
    -- The building held to the end (a delete committed meanwhile: unknown, not a rating of
    -- nothing), before the sequencer's lock: waiting for a DELETE or a key's rename of it
    -- must not hold every other building's outbox (found by a review).
    PERFORM arxos.building_locked(b) OR arxos.unknown_building(building);
    PERFORM arxos.lock_sequencer();
    -- The recount runs in a later snapshot than the fold: a write of the building that
    -- committed in between is in the recount but not in the totals, and recording it here
    -- would take its move (its reason, object and actor) from it. Its deltas are then still
    -- queued (nobody else folds while the lock is held): fold them and count again. A
    -- building written without pause for five rounds gets its recount returned, not recorded.
    FOR attempt IN 1..5 LOOP
        WHILE arxos.fold_ratings(10000) >= 10000 LOOP
        END LOOP;
        PERFORM arxos.sequence_events();
        SELECT * INTO i FROM arxos.rating_inputs_scan(b);
        v := arxos.rating_compute(i.objects, i.located, i.documented, i.with_properties, i.instrumented,
                                  i.age_days, i.changes_30d, i.actors_30d, i.verified_30d);
        settled := NOT EXISTS (SELECT 1 FROM arxos.rating_deltas d
                                WHERE d.building_id = b AND d.xid IS DISTINCT FROM mine);
        EXIT WHEN settled;
    END LOOP;
    -- This transaction's own writes of the building are folded once it commits (fold_ratings
    -- folds committed deltas only): the recount holds them, the totals not yet, so recording
    -- it now would put them in the history twice.
    own := EXISTS (SELECT 1 FROM arxos.rating_deltas d WHERE d.building_id = b AND d.xid = mine);
    IF settled AND own THEN
        RAISE NOTICE 'this transaction wrote to building %: the recount is returned, not recorded (the writes are, when the transaction commits, if they move the rating)', arxos.shown(building);
    ELSIF settled THEN
        -- The totals put right (whatever changed them by hand), then the history row and the
        -- event carry what this call returns: the rating from scratch.
        PERFORM arxos.reset_rating_totals(b);
        PERFORM arxos.record_rating(b, 'manual_recalculation', NULL, NULL, true, computed => v);
    ELSE
        RAISE NOTICE 'building % kept changing while its rating was recounted: the recount is returned, not recorded', arxos.shown(building);
    END IF;
    r := arxos.rating_from_values(
        (SELECT key FROM arxos.buildings WHERE id = b), v,
        coalesce((SELECT max(h.id) FROM arxos.rating_history h WHERE h.building_id = b), 0));
    RETURN r;
END
$$;

-------------------------------------------------------------------------------------------------
-- Rating history and events, once per building per transaction
-------------------------------------------------------------------------------------------------

-- Whether a rating v (seven components and the score) moved away from the last history row
-- (its grade and score; NULL when there is none): the grade changed or the score by 0.1 or more.
CREATE FUNCTION arxos.rating_moved(last_grade text, last_score numeric, v double precision[])
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT last_grade IS NULL OR last_grade <> arxos.grade(v[8])
        OR abs(last_score - v[8]::numeric(6, 3)) >= 0.1
$$;

-- The seven components of a rating v as the events carry them: with three decimals, as the
-- history row stores them and GET …/rating shows them (found by a review: `73.67` beside a
-- `new_score` of `5.000`).
CREATE FUNCTION arxos.rating_components_json(v double precision[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('structure', v[1]::numeric(6, 3), 'inventory', v[2]::numeric(6, 3),
                              'metadata', v[3]::numeric(6, 3), 'sensors', v[4]::numeric(6, 3),
                              'history', v[5]::numeric(6, 3), 'quality', v[6]::numeric(6, 3),
                              'activity', v[7]::numeric(6, 3))
$$;

-- Writes the history row of a rating move and its bilt.rating.changed and market.signal
-- events. last is the building's previous history row (all NULL for the first one); v the
-- seven components and the score. Returns the new history row.
CREATE FUNCTION arxos.write_rating_change(building uuid, key text, last arxos.rating_history,
                                          v double precision[], reason text, object_path text,
                                          contribution uuid, actor text, at timestamptz)
RETURNS arxos.rating_history
-- extra_float_digits 1: the events' components keep every digit whatever the session's setting
LANGUAGE plpgsql VOLATILE SET extra_float_digits = 1 AS $$
#variable_conflict use_column
DECLARE
    s   numeric(6, 3) := v[8];
    g   text := arxos.grade(v[8]);
    -- (a delta written by hand with a reason that is none folds as a bulk update, rather than
    -- fail the fold of every building: found by an audit)
    why text := CASE WHEN last.id IS NULL THEN 'initial_rating'
                     WHEN reason IN ('object_added', 'object_updated', 'object_removed', 'contribution_verified',
                                     'sensor_installed', 'time_window', 'manual_recalculation', 'bulk_update')
                         THEN reason
                     ELSE 'bulk_update' END;
    row arxos.rating_history;
BEGIN
    INSERT INTO arxos.rating_history (building_id, old_grade, new_grade, old_score, new_score,
           structure, inventory, metadata, sensors, history, quality, activity, reason,
           object_path, contribution_id, actor, at)
    VALUES (building, last.new_grade, g, last.new_score, s,
            v[1], v[2], v[3], v[4], v[5], v[6], v[7], why, object_path, contribution, actor, at)
    RETURNING * INTO row;
    INSERT INTO arxos.events_pending (type, building_id, path, actor, at, body)
    VALUES ('bilt.rating.changed', building, object_path, actor, at,
            jsonb_build_object('building', key, 'reason', why,
                'old_grade', last.new_grade, 'new_grade', g, 'old_score', last.new_score, 'new_score', s,
                'object_path', object_path, 'contribution_id', contribution,
                'components', arxos.rating_components_json(v))),
           ('market.signal', building, NULL, actor, at,
            jsonb_build_object('building', key, 'old_grade', last.new_grade, 'new_grade', g,
                'old_score', last.new_score, 'new_score', s,
                'old_price', CASE WHEN last.id IS NULL THEN NULL
                                  ELSE arxos.token_price(last.new_score::float8, last.new_grade) END,
                'new_price', arxos.token_price(s::float8, g)));
    RETURN row;
END
$$;

-- Compares the current rating with the last recorded one and, when the grade changed or the
-- score moved by 0.1 or more (or always, with force), writes a history row and the
-- bilt.rating.changed and market.signal events. Used by tick() (reason time_window) and
-- recompute_rating() (manual_recalculation); writes are recorded by the sequencer
-- (fold_ratings). It reads the folded totals only: its callers fold first, holding the
-- sequencer's lock, and a write that committed since is left for the next fold, which records
-- it with its own reason and object. `computed` (seven components and the score) replaces the
-- rating the totals give: recompute_rating records the one it computed from scratch. Returns
-- true when it wrote.
CREATE FUNCTION arxos.record_rating(building uuid, reason text, object_path text,
                                    contribution uuid, force boolean DEFAULT false,
                                    at timestamptz DEFAULT now(),
                                    computed double precision[] DEFAULT NULL)
RETURNS boolean
-- extra_float_digits 1: bilt.rating.calculated's components keep every digit
LANGUAGE plpgsql VOLATILE SET extra_float_digits = 1 AS $$
#variable_conflict use_column
DECLARE
    i     record;
    v     double precision[] := computed;
    last  arxos.rating_history;
    g     text;
    s     numeric(6, 3);
    key   text;
    moved boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM arxos.buildings b WHERE b.id = building) THEN
        RETURN false;
    END IF;
    IF v IS NULL THEN
        SELECT * INTO i FROM arxos.rating_inputs(building, at, pending => false);
        v := arxos.rating_compute(i.objects, i.located, i.documented, i.with_properties, i.instrumented,
                                  i.age_days, i.changes_30d, i.actors_30d, i.verified_30d);
    END IF;
    s := v[8];
    g := arxos.grade(v[8]);
    SELECT * INTO last FROM arxos.rating_history h WHERE h.building_id = building
     ORDER BY h.id DESC LIMIT 1;
    moved := arxos.rating_moved(last.new_grade, last.new_score, v);
    IF NOT moved AND NOT force THEN
        RETURN false;
    END IF;
    -- The history row's foreign key shares the building's row: a row another transaction
    -- holds for a DELETE or a key's rename is passed over (false: the next tick records it),
    -- rather than waited for with the sequencer's lock held (found by a review).
    SELECT b.key INTO key FROM arxos.buildings b WHERE b.id = building FOR KEY SHARE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF moved THEN
        PERFORM arxos.write_rating_change(building, key, last, v, reason, object_path, contribution,
                                          arxos.current_actor(), now());
    END IF;
    IF force OR (reason = 'time_window' AND moved) THEN
        INSERT INTO arxos.events_pending (type, building_id, actor, body)
        VALUES ('bilt.rating.calculated', building, arxos.current_actor(),
                jsonb_build_object('building', key, 'reason', reason, 'grade', g, 'score', s,
                    'components', arxos.rating_components_json(v)));
    END IF;
    PERFORM arxos.wake();
    RETURN moved;
END
$$;

-- Whether fold_ratings(lazy => lazy) has work to do now: any delta waits; lazily, the oldest
-- has waited 100 ms or 256 deltas wait. Both are probes of the primary key's two ends (the
-- listener asks every 5 ms while writes flow): the count is judged from the first and last
-- sequence numbers, which rolled-back writes can only spread, so a fold comes early, never late.
CREATE FUNCTION arxos.fold_due(lazy boolean DEFAULT false) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT lazy THEN
        -- min(seq), not EXISTS: see sequence_events.
        RETURN (SELECT min(d.seq) FROM arxos.rating_deltas d) IS NOT NULL;
    END IF;
    RETURN coalesce((SELECT d.at FROM arxos.rating_deltas d ORDER BY d.seq LIMIT 1)
                        <= clock_timestamp() - interval '100 ms'
                    OR (SELECT max(d.seq) - min(d.seq) FROM arxos.rating_deltas d) >= 255, false);
END
$$;

-- Whether a delta's counts are ones a statement could write (within ±10^12): the fold's sums
-- of them stay far from bigint's end; and its time and day finite, as a statement's are (an
-- infinite one by hand stopped every building's fold: age is a difference of times; found by
-- an audit).
CREATE FUNCTION arxos.delta_in_range(d arxos.rating_deltas) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT isfinite(d.at) AND isfinite(d.day)
       AND d.changes BETWEEN -1e12 AND 1e12 AND d.objects BETWEEN -1e12 AND 1e12
       AND d.located BETWEEN -1e12 AND 1e12 AND d.documented BETWEEN -1e12 AND 1e12
       AND d.with_properties BETWEEN -1e12 AND 1e12 AND d.instrumented BETWEEN -1e12 AND 1e12
       AND d.verified BETWEEN -1e12 AND 1e12
       -- an actor as current_actor() gives one (a longer one fails the index of activity_actors)
       AND length(d.actor) <= 200
$$;

-- Folds max committed deltas, oldest first (and the rest of a transaction they cut in two,
-- if it lies within the next max), into the per-building totals, and records
-- the rating moves they caused: the deltas of one transaction and building are replayed as
-- one step on top of the totals, and a step that moves the grade, or the score by 0.1 or
-- more since the last history row, writes a history row and its events (write_rating_change)
-- with the transaction's reason, object, contribution, actor and time. Called by the
-- sequencer; it takes the sequencer's lock itself (already held there), so folds never
-- interleave. lazy (the shim's listener, which polls every 5 ms while writes flow)
-- folds only once 256 deltas wait or the oldest has waited 100 ms: a fold has a fixed cost of
-- about a millisecond, which per poll would cost more than the writes themselves. Returns the
-- number of deltas folded.
CREATE FUNCTION arxos.fold_ratings(max integer DEFAULT 10000, lazy boolean DEFAULT false) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    batch arxos.rating_deltas[];
    n     integer;
    wild  integer;
    today date := arxos.utc_day();
    g     record;
    cur   uuid;
    last  arxos.rating_history;
    mine  xid8 := pg_current_xact_id_if_assigned();
    heads uuid[];
    lockable uuid[];
    held  uuid[];
BEGIN
    IF max IS NULL OR max < 1 THEN
        RAISE EXCEPTION 'max must be a positive count, got %', coalesce(max::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF NOT arxos.fold_due(lazy) THEN
        RETURN 0;
    END IF;
    -- The sequencer's lock (arxos.lock_sequencer); the callers hold it already.
    PERFORM 1 FROM arxos.event_counter FOR UPDATE;
    -- The buildings of the next deltas, locked now for what the fold writes (first_object_at;
    -- the foreign keys of its rows share them), skipping those another transaction holds (a
    -- DBA's UPDATE, a DELETE or a key's rename not yet committed): their deltas wait for a
    -- later fold, the other buildings' are folded now (found by reviews: one held building row
    -- stopped every building's outbox, and then every building's fold). A building deleted
    -- since has no row: its deltas are dropped below.
    -- (Three rounds: a held building's deltas, however many, do not hide the others'.)
    lockable := '{}';
    held := '{}';
    FOR round IN 1..3 LOOP
        heads := ARRAY(SELECT DISTINCT q.building_id
                         FROM (SELECT d.building_id FROM arxos.rating_deltas d
                                WHERE d.xid IS DISTINCT FROM mine AND d.building_id <> ALL (held)
                                ORDER BY d.seq LIMIT max) q);
        lockable := lockable || ARRAY(SELECT b.id FROM arxos.buildings b
                                       WHERE b.id = ANY (heads) AND b.id <> ALL (lockable)
                                       ORDER BY b.id FOR NO KEY UPDATE SKIP LOCKED);
        heads := ARRAY(SELECT b.id FROM arxos.buildings b WHERE b.id = ANY (heads) AND b.id <> ALL (lockable));
        EXIT WHEN cardinality(heads) = 0;
        held := held || heads;
    END LOOP;
    WITH head AS MATERIALIZED (
        -- Committed deltas only: a writing transaction that runs the sequencer (rating_history,
        -- events_since, tick … in psql) sees its own, and folded now they would be a step of
        -- their own, then the rest of the transaction a second one: two history rows and
        -- events for one transaction, the first a state no one else ever saw. They are
        -- folded after it commits, as the step they are. (Other transactions' uncommitted
        -- deltas are invisible here anyway.)
        SELECT q.seq, q.xid FROM arxos.rating_deltas q
         WHERE q.xid IS DISTINCT FROM mine
           AND (q.building_id = ANY (lockable)
                OR NOT EXISTS (SELECT 1 FROM arxos.buildings b WHERE b.id = q.building_id))
         ORDER BY q.seq LIMIT max
    ), gone AS (
        DELETE FROM arxos.rating_deltas d
         -- = ANY(ARRAY(…)): probes of the primary key, whatever the (churning) statistics say
         WHERE d.seq = ANY (ARRAY(
                   SELECT h.seq FROM head h
                   UNION ALL
                   -- A transaction the head cuts in two is folded whole (one history row
                   -- per building and transaction) when the rest of it lies within the next
                   -- max deltas: the batch stays bounded (2 max) and so does this scan (a
                   -- range of the primary key). A longer one is folded in parts.
                   SELECT q.seq FROM arxos.rating_deltas q
                    WHERE (SELECT count(*) FROM head) = max
                      AND q.seq > (SELECT max(h.seq) FROM head h)
                      AND q.seq <= (SELECT max(h.seq) FROM head h) + max
                      AND q.xid IN (SELECT h.xid FROM head h)
                      AND (q.building_id = ANY (lockable)
                           OR NOT EXISTS (SELECT 1 FROM arxos.buildings b WHERE b.id = q.building_id))))
        RETURNING d)
    -- The deltas of a building deleted since are dropped here, and so are counts no statement
    -- writes (a row by hand of 9e18 objects overflowed the fold, which stopped every
    -- building's outbox: found by a review), said in the server's log.
    SELECT array_agg(gone.d ORDER BY (gone.d).seq)
               FILTER (WHERE EXISTS (SELECT 1 FROM arxos.buildings b WHERE b.id = (gone.d).building_id)
                         AND arxos.delta_in_range(gone.d)),
           count(*), count(*) FILTER (WHERE NOT arxos.delta_in_range(gone.d))
      INTO batch, n, wild FROM gone;
    IF wild > 0 THEN
        RAISE WARNING 'dropped % rating deltas whose counts are beyond 10^12, whose time is not finite or whose actor is longer than 200 characters (written by hand?)', wild;
    END IF;
    IF batch IS NULL THEN
        RETURN n;
    END IF;
    -- A building's age counts from its first object.
    UPDATE arxos.buildings b SET first_object_at = f.at
      FROM (SELECT x.building_id, min(x.at) AS at FROM unnest(batch) x WHERE x.objects > 0
             GROUP BY x.building_id) f
     WHERE b.id = f.building_id AND b.first_object_at IS NULL;

    -- The replay: each step (the deltas of one transaction and building) on top of the totals
    -- before the fold, its rating computed set-based. Only the buildings where some step moved
    -- away from the last history row need the step-by-step comparison below; in a large
    -- building a single write never does.
    FOR g IN
        WITH r AS (
            SELECT x.*, (x.day > today - 30 AND x.day <= today) AS in_window,
                   -- a delta that changed an object or raised the instrumented count: these name
                   -- the step (below)
                   (x.changes > 0 OR x.instrumented > 0) AS telling
              FROM unnest(batch) x),
        -- An actor counts once in the window: at the first step that brings them in.
        newcomers AS (
            SELECT f.building_id, f.xid, count(*) AS n
              FROM (SELECT DISTINCT ON (r.building_id, r.actor) r.building_id, r.xid, r.actor
                      FROM r
                     WHERE r.changes > 0 AND r.in_window
                     ORDER BY r.building_id, r.actor, r.seq) f
             WHERE NOT EXISTS (SELECT 1 FROM arxos.activity_actors y
                                WHERE y.building_id = f.building_id AND y.actor = f.actor
                                  AND y.day > today - 30 AND y.day <= today)
             GROUP BY f.building_id, f.xid),
        steps AS (
            SELECT r.building_id, r.xid, min(r.seq) AS first_seq,
                   sum(r.objects) AS objects, sum(r.located) AS located, sum(r.documented) AS documented,
                   sum(r.with_properties) AS with_properties, sum(r.instrumented) AS instrumented,
                   coalesce(sum(r.changes) FILTER (WHERE r.in_window), 0) AS changes,
                   coalesce(sum(r.verified) FILTER (WHERE r.in_window), 0) AS verified,
                   coalesce(min(nc.n), 0) AS actors,
                   -- The deltas that changed an object or raised the instrumented count name the
                   -- step, its path and actor: bookkeeping that only lowered it (the recount of
                   -- the object a deleted sensor monitored) has no say beside them (found by an
                   -- audit: removing one sensor read as a bulk update; and by a review: a
                   -- sensor installed beside an update must not be hidden, nor the row's path
                   -- and actor come from another statement than its reason).
                   CASE WHEN min(r.reason) <> max(r.reason) AND bool_or(r.reason = 'contribution_verified')
                            THEN 'contribution_verified'
                        WHEN bool_or(r.telling) THEN
                            CASE WHEN min(r.reason) FILTER (WHERE r.telling)
                                    = max(r.reason) FILTER (WHERE r.telling)
                                 THEN min(r.reason) FILTER (WHERE r.telling)
                                 ELSE 'bulk_update' END
                        WHEN min(r.reason) = max(r.reason) THEN min(r.reason)
                        ELSE 'bulk_update' END AS reason,
                   -- the first such statement's path (min over "seq|path": no sort per step),
                   -- else the first statement's
                   coalesce(substr(min(lpad(r.seq::text, 20, '0') || r.object_path)
                                       FILTER (WHERE r.telling), 21),
                            substr(min(lpad(r.seq::text, 20, '0') || r.object_path), 21)) AS object_path,
                   (array_agg(r.contribution_id) FILTER (WHERE r.contribution_id IS NOT NULL))[1] AS contribution_id,
                   -- and its actor (found by an audit: it was the least by name)
                   coalesce(substr(min(lpad(r.seq::text, 20, '0') || r.actor)
                                       FILTER (WHERE r.telling), 21),
                            substr(min(lpad(r.seq::text, 20, '0') || r.actor), 21)) AS actor, max(r.at) AS at
              FROM r
              LEFT JOIN newcomers nc ON nc.building_id = r.building_id AND nc.xid = r.xid
             GROUP BY r.building_id, r.xid),
        base AS (
            SELECT b.id AS building_id, b.key, b.first_object_at, i.*, h.new_grade AS last_grade,
                   h.new_score AS last_score
              FROM arxos.buildings b
              CROSS JOIN LATERAL arxos.rating_inputs(b.id, now(), pending => false) i
              LEFT JOIN LATERAL (SELECT h.new_grade, h.new_score FROM arxos.rating_history h
                                  WHERE h.building_id = b.id ORDER BY h.id DESC LIMIT 1) h ON true
             WHERE b.id IN (SELECT DISTINCT s.building_id FROM steps s)),
        rated AS (
            SELECT s.*, base.key, base.last_grade, base.last_score,
                   arxos.rating_compute(
                       (base.objects + sum(s.objects) OVER w)::bigint,
                       (base.located + sum(s.located) OVER w)::bigint,
                       (base.documented + sum(s.documented) OVER w)::bigint,
                       (base.with_properties + sum(s.with_properties) OVER w)::bigint,
                       (base.instrumented + sum(s.instrumented) OVER w)::bigint,
                       coalesce(floor(extract(epoch FROM s.at - base.first_object_at) / 86400.0), 0),
                       (base.changes_30d + sum(s.changes) OVER w)::bigint,
                       (base.actors_30d + sum(s.actors) OVER w)::bigint,
                       (base.verified_30d + sum(s.verified) OVER w)::bigint) AS v
              FROM steps s JOIN base USING (building_id)
            WINDOW w AS (PARTITION BY s.building_id ORDER BY s.first_seq)),
        moved AS (
            SELECT rated.*, bool_or(arxos.rating_moved(rated.last_grade, rated.last_score, rated.v))
                              OVER (PARTITION BY rated.building_id) AS any_moved
              FROM rated)
        SELECT * FROM moved WHERE any_moved ORDER BY building_id, first_seq
    LOOP
        IF cur IS DISTINCT FROM g.building_id THEN
            cur := g.building_id;
            SELECT * INTO last FROM arxos.rating_history h WHERE h.building_id = cur
             ORDER BY h.id DESC LIMIT 1;
        END IF;
        IF arxos.rating_moved(last.new_grade, last.new_score, g.v) THEN
            last := arxos.write_rating_change(cur, g.key, last, g.v, g.reason, g.object_path,
                                              g.contribution_id, g.actor, g.at);
        END IF;
    END LOOP;

    -- The totals: one upsert per building (per day) for the whole batch.
    INSERT INTO arxos.rating_counters AS c
           (building_id, objects, located, documented, with_properties, instrumented)
    SELECT x.building_id, sum(x.objects), sum(x.located), sum(x.documented),
           sum(x.with_properties), sum(x.instrumented)
      FROM unnest(batch) x
     GROUP BY x.building_id
    HAVING (sum(x.objects), sum(x.located), sum(x.documented), sum(x.with_properties),
            sum(x.instrumented)) <> (0, 0, 0, 0, 0)
    ON CONFLICT (building_id) DO UPDATE
       SET objects = c.objects + excluded.objects,
           located = c.located + excluded.located,
           documented = c.documented + excluded.documented,
           with_properties = c.with_properties + excluded.with_properties,
           instrumented = c.instrumented + excluded.instrumented;
    INSERT INTO arxos.activity_days AS a (building_id, day, changes, verified)
    SELECT x.building_id, x.day, sum(x.changes), sum(x.verified)
      FROM unnest(batch) x
     GROUP BY x.building_id, x.day
    HAVING sum(x.changes) <> 0 OR sum(x.verified) <> 0
    ON CONFLICT (building_id, day) DO UPDATE
       SET changes = a.changes + excluded.changes, verified = a.verified + excluded.verified;
    INSERT INTO arxos.activity_actors (building_id, day, actor)
    SELECT DISTINCT x.building_id, x.day, x.actor
      FROM unnest(batch) x
     WHERE x.changes > 0
    ON CONFLICT DO NOTHING;
    RETURN n;
END
$$;

-- Token price used by market signals; replaced with the full token maths by 06_market.sql.
CREATE FUNCTION arxos.token_price(score double precision, grade text) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT round((0.01 * arxos.grade_value(grade) * (1 + score / 100))::numeric, 6)
$$;

-- tick_batch: the buildings after `after` in id order, at most `max` of them (NULL: all), in
-- one transaction; next_after is the last building it looked at, NULL once it reached the end
-- (and then it also expires the closed reading windows and the old day buckets). The shim's
-- ticker calls it in transactions of 500 buildings, so that the sequencer's lock, which it
-- holds to the end of its transaction, holds the outbox up for one batch at a time (found by
-- an adversarial review: a tick over 20,000 buildings held every event 9 to 12 s).
CREATE FUNCTION arxos.tick_batch(after uuid, max integer, at timestamptz DEFAULT now(),
                                 OUT recorded integer, OUT next_after uuid)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b uuid;
    n integer := 0;
    seen integer := 0;
    own uuid[];
BEGIN
    recorded := 0;
    IF max IS NOT NULL AND max < 1 THEN
        RAISE EXCEPTION 'max must be at least 1 (NULL: every building), got %', max USING ERRCODE = '22023';
    END IF;
    -- The sequencer's lock first (held to the end of the transaction, see record_rating), so
    -- that nothing below waits for it while holding rows. The readings' partitions are not
    -- made here but by arxos.readings_maintenance() in a transaction of its own (the shim's
    -- ticker runs both): making one waits for every transaction using the readings and then
    -- holds them off, and it must hold neither the sequencer nor a building's row meanwhile. The writes so far are folded and
    -- recorded before time's own moves; a reading window that closed is one of those (the
    -- rating already leaves the object out), so the flags are expired after the recording,
    -- which leaves the rating as it is (13_readings.sql). A logical replica records nothing:
    -- the publisher's ticks arrive with its rows.
    IF at IS NULL OR NOT isfinite(at) THEN
        RAISE EXCEPTION 'tick needs a finite time, got %', coalesce(at::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    -- Never back: what a past time would record (the windows as they were then, stamped now,
    -- into the append-only history, with its events and market signals) is a rating the
    -- building never had at that moment. rating(building, at) previews any time.
    IF at < now() THEN
        RAISE EXCEPTION 'tick records the time windows as they are now (or, in tests, later), not at a past time'
            USING ERRCODE = '22023', DETAIL = format('asked for %s', to_json(at)),
                  HINT = 'arxos.rating(building, at) shows a building''s rating at another time and records nothing';
    END IF;
    -- A later time is a test's clock, and what it records (the windows as they will be,
    -- stamped now, with their events and market signals) is a rating the building does not
    -- have: only the extension's owner (or a member of its role, a superuser) may write that.
    -- The shim's login role, which runs the ticker with this function's rights, ticks at now
    -- (found by an operations review: it recorded a false dip that the next tick reversed).
    IF at > now() AND NOT arxos.owner_session() THEN
        RAISE EXCEPTION 'tick at a later time than now is for tests, run by the extension''s owner'
            USING ERRCODE = '42501', DETAIL = format('asked for %s as %s', to_json(at), session_user),
                  HINT = 'arxos.rating(building, at) shows a building''s rating at another time and records nothing';
    END IF;
    IF arxos.is_replica() THEN
        RETURN;
    END IF;
    PERFORM arxos.lock_sequencer();
    PERFORM arxos.sequence_events();
    -- Buildings this transaction has written to are left alone: their totals lack its writes
    -- (folded once it commits), so what time's move would record is a state nobody saw (a
    -- building created in the transaction would get an initial rating of the empty building).
    -- The commit's fold records them; the next tick their time moves.
    -- So are buildings whose deltas a fold left waiting (another transaction holds the
    -- building's row): without them the totals would record a rating nobody had (found by
    -- a review).
    own := ARRAY(SELECT DISTINCT d.building_id FROM arxos.rating_deltas d);
    FOR b IN SELECT x.id FROM arxos.buildings x
              WHERE (tick_batch.after IS NULL OR x.id > tick_batch.after) AND x.id <> ALL (own)
              ORDER BY x.id LIMIT max LOOP
        IF arxos.record_rating(b, 'time_window', NULL, NULL, false, at) THEN
            n := n + 1;
        END IF;
        seen := seen + 1;
        next_after := b;
    END LOOP;
    PERFORM arxos.sequence_events();
    recorded := n;
    IF max IS NOT NULL AND seen = max THEN
        RETURN;
    END IF;
    next_after := NULL;
    -- After the last fold, which may write a building's rows (history, day buckets: their
    -- foreign keys lock the building): objects locked before it would deadlock with a
    -- building's delete, which locks the building and then its objects. What the expiry
    -- leaves to fold moves no rating (rating() already leaves closed windows out); the next
    -- sequencing takes it.
    PERFORM arxos.expire_reading_window();
    -- Old day buckets fall out of every window: fold them away.
    DELETE FROM arxos.activity_days WHERE day < arxos.utc_day() - 31;
    DELETE FROM arxos.activity_actors WHERE day < arxos.utc_day() - 31;
END
$$;

-- Records the moves that time alone causes (history, quality, activity windows), every
-- building in one transaction (tick_batch). Safe to call from pg_cron; the shim's ticker calls
-- tick_batch. Returns the number of buildings recorded.
CREATE FUNCTION arxos.tick(at timestamptz DEFAULT now()) RETURNS integer
LANGUAGE sql VOLATILE AS $$
    SELECT t.recorded FROM arxos.tick_batch(NULL, NULL, at) t
$$;
-- What the shim's ticker does, for pg_cron (`CALL arxos.tick_in_batches()`): tick_batch over
-- every building, `batch` at a time, committing after each batch, so that events flow between
-- them (tick() holds them for the whole tick). A procedure, and not SECURITY DEFINER (such a
-- one cannot commit): tick_batch is. Called inside a transaction block it cannot commit and
-- fails (2D000): use tick() there.
CREATE PROCEDURE arxos.tick_in_batches(batch integer DEFAULT 500)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    after uuid;
BEGIN
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be at least 1, got %', coalesce(batch::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    LOOP
        SELECT * INTO r FROM arxos.tick_batch(after, batch);
        COMMIT;
        EXIT WHEN r.next_after IS NULL;
        after := r.next_after;
    END LOOP;
END
$$;

-- tick() and tick_batch() are run by the shim's login role (arxos_authenticator in production)
-- or by pg_cron: they record rating moves for every building, so they run with the owner's
-- rights.
ALTER FUNCTION arxos.tick_batch(uuid, integer, timestamptz) SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp;
ALTER FUNCTION arxos.tick(timestamptz) SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp;

-------------------------------------------------------------------------------------------------
-- Breakdown and history
-------------------------------------------------------------------------------------------------

-- (UTC times and every float digit whatever the caller's session, as stored JSON: found by an
-- audit, calculated_at followed the TimeZone and the weights lost digits at extra_float_digits
-- -15)
CREATE FUNCTION arxos.rating_breakdown(building text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET TimeZone = 'UTC' SET extra_float_digits = 1 AS $$
#variable_conflict use_column
DECLARE
    r arxos.rating_result := arxos.rating(building);
    -- the components as the rating gives them (numeric, three decimals: 73.670, as
    -- arxos.rating and the history write them), and as numbers for the recommendations
    n numeric[] := ARRAY[r.structure, r.inventory, r.metadata, r.sensors, r.history, r.quality, r.activity];
    v double precision[] := n::double precision[];
BEGIN
    RETURN jsonb_build_object(
        'building', r.building,
        'grade', r.grade,
        'score', r.score,
        'max_possible', 100,
        'components', (SELECT jsonb_agg(jsonb_build_object(
                            'name', c.name, 'score', n[c.position], 'weight', c.weight,
                            'weighted', round((v[c.position] * c.weight)::numeric, 3),
                            'description', c.description) ORDER BY c.position)
                         FROM arxos.rating_components() c),
        'recommendations', to_jsonb(arxos.rating_recommendations(v)),
        'calculated_at', r.calculated_at);
END
$$;

-- Sequences (and so folds and records) the writes committed so far first, like events_since.
CREATE FUNCTION arxos.rating_history(building text, max integer DEFAULT 100, before bigint DEFAULT NULL)
RETURNS SETOF arxos.rating_history
LANGUAGE sql VOLATILE AS $$
    SELECT arxos.sequence_events(wait_ms => 250);
    SELECT * FROM arxos.rating_history h
     WHERE h.building_id = arxos.building_id(building)
       AND (before IS NULL OR h.id < before)
     ORDER BY h.id DESC
     -- the building checked here too: with max => 0 no row is read and the WHERE never runs
     LIMIT (SELECT arxos.listing_limit(max) WHERE arxos.building_id(building) IS NOT NULL)
$$;

-- One row per building with its current rating.
CREATE VIEW arxos.ratings AS
    SELECT b.id AS building_id, b.key AS building, b.name, r.grade, r.score, r.structure, r.inventory,
           r.metadata, r.sensors, r.history, r.quality, r.activity, r.version, r.calculated_at
      FROM arxos.buildings b, LATERAL arxos.rating(b.key) r;
