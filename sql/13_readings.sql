-- ArxOS schema, part 13: sensor readings, time-partitioned, and the batch writer of imports
-- (see docs/integrations.md).
--
-- Readings are (object, time)-keyed samples with their unit, in monthly range partitions of
-- arxos.readings (UTC months). The writers create the partition of a month on demand before
-- inserting (arxos.ensure_readings_partition); a DEFAULT partition catches plain INSERTs into
-- months that have none yet, and arxos.readings_maintenance() (run every minute, in a
-- transaction of its own, by the shim's ticker or pg_cron)
-- moves such rows into their month. Retention drops whole partitions
-- (arxos.drop_readings_before).
--
-- A reading also updates its object: metrics.reading = {value, unit, at} and last_reading_at
-- (only when it is the newest sample), without history rows or object.updated events (the
-- update trigger compares arxos.object_fields, which leave both out). An object with a reading
-- in the last 30 days counts as instrumented for the rating (trigger below); the events are
-- metric.recorded, one per object per transaction, emitted at commit.

-------------------------------------------------------------------------------------------------
-- The table
-------------------------------------------------------------------------------------------------

CREATE TABLE arxos.readings (
    building_id uuid NOT NULL,
    object_id   uuid NOT NULL,
    -- From the Unix epoch on, and before the year 10000: a plain INSERT of 'infinity' (or of a
    -- five-digit year, which readings_YYYYMM cannot name) would otherwise sit in the DEFAULT
    -- partition, which no month partition can take. (The writers also refuse times ahead of
    -- the clock: arxos.record_readings.)
    at          timestamptz NOT NULL CHECK (at >= '1970-01-01 00:00:00+00' AND at < '10000-01-01 00:00:00+00'),
    -- Finite (NaN sorts above every number, so it fails the bound) and below 1e100 in
    -- magnitude, so that sums and averages over any bucket stay finite.
    value       double precision NOT NULL CHECK (value > '-1e100' AND value < '1e100'),
    -- Not BETWEEN: it nests the ANDs, pg_dump prints them back flat, and restoring a dump
    -- then fails to attach the monthly partitions ("different definition for check constraint").
    unit        text CHECK (arxos.is_label(unit, 50)),
    received_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT readings_key PRIMARY KEY (object_id, at)
) PARTITION BY RANGE (at);
COMMENT ON TABLE arxos.readings IS
    'Sensor samples, one per (object, at); monthly partitions readings_YYYYMM (UTC), DEFAULT catches the rest.';
CREATE INDEX readings_at ON arxos.readings USING brin (at);
CREATE INDEX readings_building ON arxos.readings (building_id, at);
CREATE TABLE arxos.readings_default PARTITION OF arxos.readings DEFAULT;
-- DEFAULT's rows by time (its alone: the months have their own tables): which months it holds,
-- and how many rows of one, are read through it (ensure_readings_partition,
-- readings_maintenance, drop_readings_before) rather than by reading DEFAULT whole.
CREATE INDEX readings_default_at ON arxos.readings_default (at);

-- The most rows of one month in DEFAULT that move into a new partition by default
-- (ensure_readings_partition): the move holds every reader and writer of readings until its
-- transaction ends (about 15 µs a row: 50,000 rows, under a second); readings_maintenance
-- moves at most this many in a run, in all.
CREATE FUNCTION arxos.readings_move_max() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 50000 $$;

-- How many rows of the month starting at `lower` DEFAULT holds, counted to at most one past
-- `bound` (more than `bound`: too many to move) through readings_default_at. With the owner's
-- rights: the writers' own check runs as the caller, who may not read DEFAULT (it says no more
-- than whether a month of anyone's readings is there in bulk).
CREATE FUNCTION arxos.readings_month_waiting(lower timestamptz, bound bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
    SELECT count(*)
      FROM (SELECT 1 FROM arxos.readings_default d
             WHERE d.at >= lower AND d.at < ((lower AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
             LIMIT CASE WHEN bound < 9223372036854775807 THEN bound + 1 END) x
$$;

-- The most a writer of readings moves (ensure_readings_partition with fallback, inside a
-- request): 1,000 rows, about 15 ms; a month with more waits for readings_maintenance.
CREATE FUNCTION arxos.readings_writer_move_max() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 1000 $$;

-- Objects instrumented by their readings alone, by the end of their window: arxos.rating_inputs
-- counts those whose window has closed (normally none: tick() expires them every minute), and
-- arxos.expire_reading_window finds them. Sensing-type and monitored objects are not in it.
CREATE INDEX objects_reading_window ON arxos.objects (building_id, instrumented_until)
    WHERE instrumented_until IS NOT NULL;

-- The month partition [start, start + 1 month) for t, as (name, start, end).
CREATE FUNCTION arxos.readings_partition_of(t timestamptz,
                                            OUT name text, OUT lower timestamptz, OUT upper timestamptz)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'readings_' || to_char(m, 'YYYYMM'), m AT TIME ZONE 'UTC', (m + interval '1 month') AT TIME ZONE 'UTC'
      FROM (SELECT date_trunc('month', t AT TIME ZONE 'UTC') AS m) x
$$;

-- How many month partitions the writers create at most (ten years of months); the DBA's
-- retention (drop_readings_before) makes room again.
CREATE FUNCTION arxos.readings_partitions_max() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 120 $$;

-- Whether the month partitions there are reach readings_partitions_max().
CREATE FUNCTION arxos.readings_partitions_full() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM pg_catalog.pg_inherits i
             WHERE i.inhparent = 'arxos.readings'::regclass
               AND i.inhrelid <> 'arxos.readings_default'::regclass) >= arxos.readings_partitions_max()
$$;

-- Whether the month starting at `lower` gets no partition of its own: past the bound, every
-- month but this one and the next stays in DEFAULT.
CREATE FUNCTION arxos.readings_month_capped(lower timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT (lower >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                AND lower < (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months') AT TIME ZONE 'UTC')
       AND arxos.readings_partitions_full()
$$;

-- Creates the month partition holding t unless it exists (or arxos.readings_partitions_max()
-- are there, for a month other than this one and the next: false, and the month stays in
-- DEFAULT); rows of that month sitting in the
-- DEFAULT partition are moved into it. Runs with the owner's rights (API requests cannot
-- create tables); concurrent callers serialise (arxos.serialize). Returns true if it created.
CREATE FUNCTION arxos.ensure_readings_partition(t timestamptz, fallback boolean DEFAULT true,
                                                move_max bigint DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    p       record;
    was     text;
    made    boolean := false;
    bound   bigint;
BEGIN
    IF move_max < 0 THEN
        RAISE EXCEPTION 'move_max must be 0 or more, got %', move_max USING ERRCODE = '22023';
    END IF;
    -- How many of the month's rows in DEFAULT may move (below): a writer
    -- readings_writer_move_max(), others readings_move_max(), unless the caller says.
    bound := coalesce(move_max, CASE WHEN fallback THEN arxos.readings_writer_move_max() ELSE arxos.readings_move_max() END);
    IF t IS NULL OR NOT isfinite(t) THEN
        RAISE EXCEPTION 'a reading needs a finite time, got %', coalesce(t::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF t < '1970-01-01 00:00:00+00' OR t >= '10000-01-01 00:00:00+00' THEN
        RAISE EXCEPTION 'readings run from 1970 to the year 9999: a partition for % could never hold one', to_json(t)
            USING ERRCODE = '22023';
    END IF;
    -- This month and the next (made ahead by readings_maintenance) at most: no reading can be
    -- later than now plus reading_clock_skew, and a partition made for a far month would hold
    -- nothing for years while it counted against readings_partitions_max. (UTC months, in
    -- timestamp arithmetic: timestamptz + interval would follow the session's zone.)
    IF t >= (date_trunc('month', (clock_timestamp() + arxos.reading_clock_skew()) AT TIME ZONE 'UTC')
             + interval '2 months') AT TIME ZONE 'UTC' THEN
        RAISE EXCEPTION 'no reading can be in the month of % yet: readings are at most % ahead, and the month''s partition is made when its time comes', to_json(t), arxos.reading_clock_skew()
            USING ERRCODE = '22023';
    END IF;
    SELECT * INTO p FROM arxos.readings_partition_of(t);
    IF to_regclass('arxos.' || p.name) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Every delete of an object visits every partition (and locks it): past the bound, months
    -- other than this one and the next stay in DEFAULT (stored and read all the same), so that
    -- readings backdated month by month cannot make every tenant's deletes slower. Checked
    -- before the serialisation point too, so that writers of such months do not queue on it.
    IF arxos.readings_month_capped(p.lower) THEN
        RETURN false;
    END IF;
    -- The month's rows in DEFAULT move under the lock below, which holds every reader and
    -- writer of readings, every tenant's, until this transaction ends: more than `bound` of
    -- them (counted to one past it through readings_default_at, before the serialisation
    -- point, which writers of such a month then do not queue on: found by a review), and the
    -- month stays in DEFAULT, stored and read the same. A writer moves a few (a brief spill
    -- heals at the next write; it runs in a request), readings_maintenance at most
    -- readings_move_max() a run; a bigger month waits for a DBA's call with a larger move_max
    -- in a quiet hour (found by a review: 3 million rows held the readings for 46 s, and a
    -- writer's move ran into its statement timeout, rolled back, on every try). (Counted once:
    -- rows that arrive meanwhile move too.)
    IF arxos.readings_month_waiting(p.lower, bound) > bound THEN
        RETURN false;
    END IF;
    -- Making the partition waits for every transaction reading the readings (a BI query, a
    -- dump, an analyst's open transaction), and every other reader and writer of readings
    -- queues behind the wait; so does the serialisation point, held by a writer in that wait
    -- or by one that made a partition, until it commits. A writer (fallback, record and
    -- record_batch) waits at most readings_partition_wait(), or its own lock_timeout if
    -- shorter, for each, and then leaves the month's readings in DEFAULT, stored and read the
    -- same, until readings_maintenance makes the partition (found by an audit: a backfill
    -- while a dashboard's query ran held up every sensor's writes for the query's length; and
    -- by a review: the serialisation point's wait had no bound, and a caller with a
    -- lock_timeout of its own lost its readings to the error). readings_maintenance (no
    -- fallback) waits as its own lock_timeout says (2 s), and hears of the timeout.
    IF fallback THEN
        was := current_setting('lock_timeout');
        PERFORM set_config('lock_timeout',
            least(CASE WHEN extract(epoch FROM was::interval) > 0 THEN extract(epoch FROM was::interval) * 1000 END,
                  extract(epoch FROM arxos.readings_partition_wait()) * 1000)::bigint || 'ms', true);
    END IF;
    BEGIN
        PERFORM arxos.serialize('readings_partition');
        -- Made by the writer this one waited for? Asked of pg_class itself: to_regclass reads
        -- the catalog cache, which waiting on a row lock does not refresh, so it still said no,
        -- and the CREATE below failed with 42P07 (a 500 for the second of two writers of a new
        -- month).
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                        WHERE c.relnamespace = 'arxos'::regnamespace AND c.relname = p.name)
           AND NOT arxos.readings_month_capped(p.lower) THEN
            -- The parent first, as CREATE … PARTITION OF and a partition's DROP lock it before
            -- DEFAULT (the DELETE below would otherwise lock DEFAULT first: a deadlock with a
            -- retention drop).
            LOCK TABLE ONLY arxos.readings IN ACCESS EXCLUSIVE MODE;
            -- The month's rows in DEFAULT wait in a temporary table while the partition is
            -- created (it cannot be while DEFAULT holds rows of its range): a table, so that a
            -- month of any size moves (an array of them would stop at 1 GB, and with it every
            -- later tick). (Dropped again below; an error rolls its creation back.)
            EXECUTE 'CREATE TEMP TABLE arxos_readings_moving (LIKE arxos.readings) ON COMMIT DROP';
            EXECUTE 'WITH moved AS (DELETE FROM arxos.readings_default d WHERE d.at >= $1 AND d.at < $2 RETURNING d.*)
                     INSERT INTO pg_temp.arxos_readings_moving SELECT * FROM moved'
              USING p.lower, p.upper;
            -- The bounds written in UTC whatever the caller's TimeZone and DateStyle (found by
            -- a review: `%L` of a timestamptz follows them, and an abbreviation such as CST or
            -- IST reads back as another zone, so the partition held the wrong hours and the
            -- next month's overlapped it).
            EXECUTE format('CREATE TABLE arxos.%I PARTITION OF arxos.readings FOR VALUES FROM (%L) TO (%L)',
                           p.name, to_char(p.lower AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00',
                           to_char(p.upper AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00');
            -- Moved, not new: the readings trigger leaves these rows alone.
            PERFORM set_config('arxos.readings_moving', 'on', true);
            EXECUTE 'INSERT INTO arxos.readings SELECT * FROM pg_temp.arxos_readings_moving';
            PERFORM set_config('arxos.readings_moving', 'off', true);
            EXECUTE 'DROP TABLE pg_temp.arxos_readings_moving';
            made := true;
        END IF;
    EXCEPTION WHEN lock_not_available THEN
        IF NOT fallback THEN
            RAISE;
        END IF;
    END;
    IF fallback THEN
        PERFORM set_config('lock_timeout', was, true);
    END IF;
    RETURN made;
END
$$;

-- How long a writer of readings waits to create a month's partition (ensure_readings_partition)
-- before it leaves the month's readings in DEFAULT: 200 ms.
CREATE FUNCTION arxos.readings_partition_wait() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT interval '200 milliseconds' $$;

-------------------------------------------------------------------------------------------------
-- Instrumented: a reading in the last 30 days
-------------------------------------------------------------------------------------------------

-- arxos.objects_before_write (02_objects.sql) sets the flag for a reading in the last 30 days,
-- so the statement triggers' rating deltas see the final flag.

-- Re-derives the flag of objects whose last reading left the 30-day window (an UPDATE through
-- the same triggers, so the rating counters follow). Returns how many objects it touched.
-- The rating does not wait for it: arxos.rating_inputs already leaves such objects out.
CREATE FUNCTION arxos.expire_reading_window() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
BEGIN
    -- Objects a writer holds are left for the next tick (SKIP LOCKED): one being written is
    -- likely getting a reading, and rating() leaves closed windows out meanwhile anyway. The
    -- tick, which runs this, must not queue on rows batches hold.
    UPDATE arxos.objects o SET instrumented = false
     WHERE o.id IN (SELECT x.id FROM arxos.objects x
                     WHERE x.instrumented_until IS NOT NULL AND x.instrumented_until <= now()
                       FOR NO KEY UPDATE SKIP LOCKED);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-------------------------------------------------------------------------------------------------
-- Events: metric.recorded, one per object per transaction, with the latest value
-------------------------------------------------------------------------------------------------

CREATE UNLOGGED TABLE arxos.readings_pending (
    xid         xid8 NOT NULL,
    object_id   uuid NOT NULL,
    building_id uuid NOT NULL,
    value       double precision NOT NULL,
    unit        text,
    at          timestamptz NOT NULL,
    count       bigint NOT NULL,
    PRIMARY KEY (xid, object_id)
);

-- At commit, once per (transaction, object): the deferred row trigger of its first reading.
-- (TimeZone UTC: the event's `at` is JSON text, written as the answers write times, whatever
-- the writing session's zone; extra_float_digits 1: the value keeps every digit whatever the
-- session's setting, docs/operations.md "Session settings".)
CREATE FUNCTION arxos.readings_pending_flush() RETURNS trigger
LANGUAGE plpgsql SET TimeZone = 'UTC' SET extra_float_digits = 1 AS $$
DECLARE
    r arxos.readings_pending;
BEGIN
    DELETE FROM arxos.readings_pending x WHERE x.xid = NEW.xid AND x.object_id = NEW.object_id
    RETURNING * INTO r;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- The object's path now, at commit: it may have moved since the reading (a path taken
    -- then would name a place where the object no longer is, and miss `under` filters).
    INSERT INTO arxos.events_pending (type, building_id, object_id, path, actor, body)
    SELECT 'metric.recorded', r.building_id, r.object_id, o.path, arxos.current_actor(),
           jsonb_build_object('value', r.value, 'unit', r.unit, 'at', r.at, 'count', r.count)
      FROM arxos.objects o WHERE o.id = r.object_id;
    IF FOUND THEN
        PERFORM arxos.wake();
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER readings_pending_flush AFTER INSERT ON arxos.readings_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION arxos.readings_pending_flush();

-- The readings table, as every delete of objects takes it before any object's row (the order
-- of the readings' writers: see record_readings). Returns true, so that a statement can start
-- with it (the API's delete by id, before it locks the object it looks up).
CREATE FUNCTION arxos.lock_readings() RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    LOCK TABLE ONLY arxos.readings IN ROW EXCLUSIVE MODE;
    RETURN true;
END
$$;

-- The objects readings are written for, as every writer of readings locks them: the objects
-- table (ROW EXCLUSIVE, as a write takes it), then the rows in path order, FOR NO KEY UPDATE
-- (the lock the update of their latest metrics takes anyway). See record_readings for why.
CREATE FUNCTION arxos.lock_reading_objects(ids uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    LOCK TABLE arxos.objects IN ROW EXCLUSIVE MODE;
    PERFORM 1 FROM arxos.objects o
     WHERE o.id = ANY (ids)
     ORDER BY o.building_id, o.path
       FOR NO KEY UPDATE OF o;
END
$$;

-- Every delete of objects (rm, a plain DELETE, a building's cascade) takes the readings table
-- before any object's row, as the readings' writers do (objects_delete_readings needs it
-- after the rows are locked): a writer that made a new month's partition, and holds the
-- readings off until it commits, then waits for the delete rather than deadlock with it over
-- an object the delete already holds.
CREATE FUNCTION arxos.objects_delete_lock_readings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM arxos.lock_readings();
    RETURN NULL;
END
$$;
CREATE TRIGGER objects_before_delete_readings BEFORE DELETE ON arxos.objects
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.objects_delete_lock_readings();

-- A deleted object takes its readings with it.
CREATE FUNCTION arxos.objects_delete_readings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- By the ids' array, planned for this statement's array (EXECUTE): joined with the
    -- transition table, the delete read every reading of every partition (a hash join over
    -- sequential scans) even for one deleted object; with a few ids each partition's primary
    -- key finds them, and with very many (a building's delete) the plan may scan instead.
    EXECUTE 'DELETE FROM arxos.readings r WHERE r.object_id = ANY ($1)'
      USING ARRAY(SELECT o.id FROM old_rows o);
    RETURN NULL;
END
$$;
CREATE TRIGGER objects_after_delete_readings AFTER DELETE ON arxos.objects
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.objects_delete_readings();

-- Makes these samples (object, at, value, unit) their objects' latest reading where they are
-- not older than it: metrics.reading and last_reading_at. Only it writes last_reading_at (the
-- objects' row trigger keeps it otherwise): it runs as the owner, never backwards and only
-- within the readings' own bounds (from 1970 to now plus reading_clock_skew), so a call of
-- its own sets no time a reading written and deleted could not have set (metrics are
-- writable anyway), though it leaves no metric.recorded event. (It
-- does not look the samples up in arxos.readings: that probe initialised a scan of every
-- month partition per call, and tripled a single reading's cost.)
CREATE FUNCTION arxos.note_latest_readings(ids uuid[], ats timestamptz[], vs double precision[], us text[])
RETURNS void
-- plpgsql, not sql: a SECURITY DEFINER sql function is planned on every call (its plan, with
-- the partitioned readings, is not kept), 3.5 times the cost of a single reading's write.
-- TimeZone UTC: metrics.reading.at is JSON text, written as the answers write times,
-- whatever the writing session's zone; extra_float_digits 1: the value keeps every digit.
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp SET TimeZone = 'UTC'
    SET extra_float_digits = 1 AS $$
BEGIN
    UPDATE arxos.objects o
       SET metrics = o.metrics || jsonb_build_object('reading',
                         jsonb_build_object('value', l.v, 'unit', l.u, 'at', l.at)),
           last_reading_at = l.at
      FROM unnest(ids, ats, vs, us) AS l(id, at, v, u)
     WHERE o.id = l.id AND (o.last_reading_at IS NULL OR l.at >= o.last_reading_at)
       AND l.at <= clock_timestamp() + arxos.reading_clock_skew() AND l.at >= '1970-01-01 00:00:00+00'
       -- called directly, the caller's buildings only, as row-level security would have it
       -- (the owner's rights bypass it): a scoped session calling it directly cannot touch
       -- another tenant's objects; from the readings' trigger, the statement's (definer_scope_ids)
       AND ((SELECT arxos.definer_scope_ids()) IS NULL OR o.building_id = ANY ((SELECT arxos.definer_scope_ids())::uuid[]));
END
$$;

-- What a new or replaced reading does to its object, whoever writes it (arxos.record_readings
-- or a plain INSERT/UPDATE): the object must exist in that building; when the sample is the
-- object's newest, metrics.reading becomes {value, unit, at} and last_reading_at its time
-- (bookkeeping: no history row, no new version); and the transaction's metric.recorded summary
-- of the object (readings_pending, flushed at commit) counts it. Rows moved out of the DEFAULT
-- partition by ensure_readings_partition are not new. Deleting readings changes nothing on
-- the object: last_reading_at is the newest reading ever recorded.
CREATE FUNCTION arxos.readings_after_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    ids uuid[];
    bs  uuid[];
    ats timestamptz[];
    vs  double precision[];
    us  text[];
    cs  bigint[];
BEGIN
    -- Rows moved by ensure_readings_partition (it runs as the extension's owner) are not new.
    -- The setting alone proves nothing: any session can set it.
    IF current_setting('arxos.readings_moving', true) = 'on'
       AND current_user = (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c
                            WHERE c.oid = 'arxos.readings'::regclass) THEN
        RETURN NULL;
    END IF;
    -- The objects locked first (FOR NO KEY UPDATE, as arxos.record_readings locks them; a
    -- foreign key would take FOR KEY SHARE), in path order (the order of a recursive
    -- delete's): a delete of the object that commits while this waits
    -- leaves nothing here, and one that comes later waits for this transaction and deletes
    -- its readings too. Without the lock a reading written while its object was deleted
    -- outlived it (the delete's trigger did not see it), and the writer reported it recorded.
    -- (Through an array: this statement's plan is made once per session, and a join with the
    -- transition table planned for a batch of thousands would scan the objects for every
    -- later single reading. arxos.record_readings locks them before it inserts, so that a
    -- reading written again, whose row its upsert locks first, cannot deadlock with a delete.)
    ids := ARRAY(SELECT DISTINCT n.object_id FROM new_rows n);
    PERFORM arxos.lock_reading_objects(ids);
    SELECT n.object_id, n.building_id INTO bad FROM new_rows n
     WHERE NOT EXISTS (SELECT 1 FROM arxos.objects o
                        WHERE o.id = n.object_id AND o.building_id = n.building_id OFFSET 0)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a reading names an object its building does not have'
            USING ERRCODE = '23503', DETAIL = format('object %s, building %s', bad.object_id, bad.building_id),
                  HINT = 'readings go to existing objects: arxos.record(building, path, …) finds them by path';
    END IF;
    -- A value nearer 0 than 1e-100 (but not 0) would be a number the object's metrics cannot
    -- hold (arxos.check_json): refused here, naming the reading, whoever writes it.
    SELECT n.object_id, n.value INTO bad FROM new_rows n WHERE n.value <> 0 AND abs(n.value) < 1e-100 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a reading''s value is too near 0 to store: readings are 0 or 1e-100 to 1e100 in magnitude'
            USING ERRCODE = '22023', DETAIL = format('object %s, value %s', bad.object_id, bad.value);
    END IF;
    -- A sample from the future (past the clock skew record_readings allows) would stay its
    -- object's latest reading, and keep the object instrumented, until that time: refused
    -- whoever writes it.
    SELECT n.object_id, n.at INTO bad FROM new_rows n WHERE n.at > clock_timestamp() + arxos.reading_clock_skew() LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a reading is in the future: readings are at most % minutes ahead of the database''s clock',
            (extract(epoch FROM arxos.reading_clock_skew()) / 60)::integer
            USING ERRCODE = '22023', DETAIL = format('object %s, at %s', bad.object_id, to_json(bad.at)),
                  HINT = 'readings are samples already taken; check the sender''s clock';
    END IF;
    -- Each object's newest sample of the statement, into arrays: the statements below then
    -- join arxos.objects through parameters (planned as index probes whatever the size), not
    -- through the transition table, whose cached plan would keep the row count of the first
    -- statement this session ran (a plan made for 10,000 readings would scan every object for
    -- one).
    SELECT array_agg(l.id), array_agg(l.building_id), array_agg(l.at), array_agg(l.v), array_agg(l.u),
           array_agg(l.c)
      INTO ids, bs, ats, vs, us, cs
      FROM (SELECT DISTINCT ON (n.object_id) n.object_id AS id, n.building_id, n.at, n.value AS v,
                   n.unit AS u, count(*) OVER (PARTITION BY n.object_id) AS c
              FROM new_rows n
             ORDER BY n.object_id, n.at DESC) l;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM arxos.note_latest_readings(ids, ats, vs, us);
    INSERT INTO arxos.readings_pending AS p (xid, object_id, building_id, value, unit, at, count)
    SELECT pg_current_xact_id(), l.id, l.building_id, l.v, l.u, l.at, l.c
      FROM unnest(ids, bs, ats, vs, us, cs) AS l(id, building_id, at, v, u, c)
    ON CONFLICT (xid, object_id) DO UPDATE
       SET value = CASE WHEN excluded.at >= p.at THEN excluded.value ELSE p.value END,
           unit = CASE WHEN excluded.at >= p.at THEN excluded.unit ELSE p.unit END,
           at = greatest(p.at, excluded.at),
           count = p.count + excluded.count;
    RETURN NULL;
END
$$;
CREATE TRIGGER readings_after_insert AFTER INSERT ON arxos.readings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.readings_after_write();
CREATE TRIGGER readings_after_update AFTER UPDATE ON arxos.readings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.readings_after_write();

-------------------------------------------------------------------------------------------------
-- Writing readings
-------------------------------------------------------------------------------------------------

-- How far ahead of the database clock a reading's time may be (sensor clocks drift). A later
-- time would hold metrics.reading and the instrumented flag on a sample nobody has taken yet.
CREATE FUNCTION arxos.reading_clock_skew() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT interval '5 minutes' $$;

-- How many month partitions one call of the writers may create.
CREATE FUNCTION arxos.reading_new_months_max() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 24 $$;

-- A batch naming objects that do not exist: P0002 naming the first path (sorted), and in the
-- detail how many and the first ten, so that a gateway fixes them all in one round trip.
CREATE FUNCTION arxos.readings_without_object(missing text[], hint text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    sorted text[] := ARRAY(SELECT m FROM unnest(missing) m ORDER BY m COLLATE "C");
BEGIN
    RAISE EXCEPTION 'no object at %', sorted[1] USING ERRCODE = 'P0002', HINT = hint,
        DETAIL = format('%s path%s of the batch name%s no object: %s%s', cardinality(sorted),
                        CASE WHEN cardinality(sorted) = 1 THEN '' ELSE 's' END,
                        CASE WHEN cardinality(sorted) = 1 THEN 's' ELSE '' END,
                        array_to_string(sorted[1:10], ', '),
                        CASE WHEN cardinality(sorted) > 10 THEN ', …' ELSE '' END);
END
$$;

-- The writer behind arxos.record and arxos.record_batch: parallel arrays, one reading each.
-- A repeated (object, at) replaces the earlier value (the last one of a batch wins); samples
-- older than the object's newest are stored without touching its latest metrics. Units are
-- stored as given: never converted. Returns {"recorded": n, "objects": m}.
CREATE FUNCTION arxos.record_readings(b uuid, paths text[], vals double precision[], units text[],
                                      ats timestamptz[])
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ids     uuid[];
    missing text[];
    bad     record;
    n       bigint;
    objs    bigint;
BEGIN
    IF cardinality(paths) IS DISTINCT FROM cardinality(vals)
       OR cardinality(paths) IS DISTINCT FROM cardinality(units)
       OR cardinality(paths) IS DISTINCT FROM cardinality(ats) THEN
        RAISE EXCEPTION 'paths, values, units and times must have the same length' USING ERRCODE = '22023';
    END IF;
    IF coalesce(cardinality(paths), 0) = 0 THEN
        RETURN jsonb_build_object('recorded', 0, 'objects', 0);
    END IF;
    -- Magnitudes stay below 1e100 so that sums and averages over any bucket stay finite.
    SELECT x.i, x.v, x.u INTO bad FROM unnest(vals, units) WITH ORDINALITY x(v, u, i)
     WHERE x.v IS NULL OR x.v IN ('Infinity', '-Infinity', 'NaN') OR abs(x.v) >= 1e100
        OR (x.v <> 0 AND abs(x.v) < 1e-100)
        OR (x.u IS NOT NULL AND NOT arxos.is_label(x.u, 50))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'reading % is invalid: %', bad.i,
            CASE WHEN bad.v IS NULL OR bad.v IN ('Infinity', '-Infinity', 'NaN')
                 THEN 'value must be a finite number, got ' || coalesce(bad.v::text, 'null')
                 WHEN abs(bad.v) >= 1e100 OR (bad.v <> 0 AND abs(bad.v) < 1e-100)
                 THEN 'value ' || bad.v::text || ' is out of range: readings are 0 or 1e-100 to 1e100 in magnitude (the object''s metrics hold the latest)'
                 ELSE 'unit must be 1 to 50 characters, no space at either end, without control or invisible formatting characters' END
            USING ERRCODE = '22023';
    END IF;
    SELECT x.i, x.a INTO bad FROM unnest(ats) WITH ORDINALITY x(a, i)
     WHERE x.a IS NULL OR NOT x.a >= '1970-01-01 00:00:00+00'
        OR x.a > clock_timestamp() + arxos.reading_clock_skew()
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'reading % is invalid: %', bad.i,
            CASE WHEN bad.a IS NULL THEN 'it needs a time'
                 WHEN NOT bad.a >= '1970-01-01 00:00:00+00' THEN format('time %s is before 1970', to_json(bad.a))
                 ELSE format('time %s is ahead of the database clock by more than %s minutes', to_json(bad.a),
                             (extract(epoch FROM arxos.reading_clock_skew()) / 60)::integer) END
            USING ERRCODE = '22023',
            HINT = 'readings are samples already taken: times run from 1970 to now (plus the allowed clock skew)';
    END IF;
    -- The readings' parent before DEFAULT is read (the count below, and the partition's
    -- creation): partition upkeep (readings_maintenance, drop_readings_before, a DBA's
    -- ensure_readings_partition) locks the parent, then DEFAULT, and a writer that read
    -- DEFAULT first and then queued for the parent behind it deadlocked with it (found by a
    -- review: 40P01 for writers, maintenance and retention). Held from here, the parent only
    -- holds off the upkeep's exclusive lock, which waits for this transaction (at most its 2 s),
    -- and this writer's own partition creation waits boundedly for the serialisation point
    -- the upkeep holds, then leaves the month in DEFAULT.
    PERFORM arxos.lock_readings();
    -- Each new month costs a partition (a table and its indexes): a call creates a bounded number.
    -- (Months that would get one: past readings_partitions_max(), only this one and the next.)
    SELECT count(*) INTO n
      FROM (SELECT DISTINCT date_trunc('month', a AT TIME ZONE 'UTC') AS m FROM unnest(ats) a) months
     WHERE to_regclass('arxos.readings_' || to_char(months.m, 'YYYYMM')) IS NULL
       AND NOT arxos.readings_month_capped(months.m AT TIME ZONE 'UTC')
       -- (not those a writer leaves in DEFAULT: more of their rows there than it moves)
       AND arxos.readings_month_waiting(months.m AT TIME ZONE 'UTC', arxos.readings_writer_move_max())
           <= arxos.readings_writer_move_max();
    IF n > arxos.reading_new_months_max() THEN
        RAISE EXCEPTION 'these readings span % months without a partition; one call creates at most %',
            n, arxos.reading_new_months_max() USING ERRCODE = '54000',
            HINT = 'split the batch by time, or create the months first with arxos.ensure_readings_partition(at, fallback => false)';
    END IF;
    SELECT array_agg(o.id ORDER BY x.i), array_agg(DISTINCT x.np) FILTER (WHERE o.id IS NULL)
      INTO ids, missing
      -- normalised in a subquery of its own (OFFSET 0): joined on the function's result, the
      -- index could not be used under row-level security (the function is not leakproof) and
      -- every reading would read every object of the building
      FROM (SELECT x.p, x.i, arxos.normalize_object_path(x.p) AS np
              FROM unnest(paths) WITH ORDINALITY x(p, i) OFFSET 0) x
      LEFT JOIN arxos.objects o ON o.building_id = b AND o.path = x.np;
    IF missing IS NOT NULL THEN
        PERFORM arxos.readings_without_object(missing, 'readings go to existing objects: create it with arxos.put first');
    END IF;
    -- The locks, in the order every writer of readings and objects takes them (tables, then
    -- rows): the readings' parent (above: ROW EXCLUSIVE, as a write takes it; ONLY, which a
    -- new or dropped partition locks too, not every partition), a new month's partition (its
    -- creation waits, boundedly, for every transaction using the readings, and holds them off
    -- until this one commits, so it must come before this transaction holds any row another
    -- could be waiting on), then the objects table (an edit of the sensing types, which locks
    -- arxos.objects against writes and then updates objects, waits before this holds any of
    -- their rows), then the objects' rows, in path order, FOR NO KEY UPDATE (the lock the update of their latest
    -- metrics takes anyway). Held before the upsert, the row locks cannot deadlock with a
    -- delete through a reading written again (whose row the upsert locks), nor with another
    -- batch naming the same objects; and as locks batches take in turn (not shared ones), a
    -- steady stream of batches queues with a delete or move of the object instead of
    -- overtaking it for ever. Batches naming the same objects therefore run one at a time.
    PERFORM arxos.ensure_readings_partition(m)
       FROM (SELECT DISTINCT date_trunc('month', a AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m
               FROM unnest(ats) a) months;
    PERFORM arxos.lock_reading_objects(ids);
    -- Deleted while this waited for it: not found, as before. (Moved meanwhile: a reading
    -- follows its object, which keeps its id; the path is how the batch named it.)
    SELECT array_agg(DISTINCT arxos.normalize_object_path(x.p)) INTO missing
      FROM unnest(paths, ids) AS x(p, id)
     WHERE x.id = ANY (ARRAY(SELECT DISTINCT u FROM unnest(ids) u
                              WHERE NOT EXISTS (SELECT 1 FROM arxos.objects o WHERE o.id = u)));
    IF missing IS NOT NULL THEN
        PERFORM arxos.readings_without_object(missing, 'deleted while these readings waited for it');
    END IF;

    INSERT INTO arxos.readings AS r (building_id, object_id, at, value, unit)
    SELECT DISTINCT ON (x.id, x.at) b, x.id, x.at, x.v, x.u
      FROM unnest(ids, ats, vals, units) WITH ORDINALITY x(id, at, v, u, i)
     ORDER BY x.id, x.at, x.i DESC
    ON CONFLICT (object_id, at) DO UPDATE
       SET value = excluded.value, unit = excluded.unit, received_at = excluded.received_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- The objects' latest metrics and the metric.recorded summary: the readings trigger.
    SELECT count(DISTINCT x) INTO objs FROM unnest(ids) x;
    RETURN jsonb_build_object('recorded', n, 'objects', objs);
END
$$;

-- Records one reading of the object at path. Returns {"recorded": 1, "objects": 1}. Without
-- a time, at the database's clock when it is called (clock_timestamp()), not the transaction's
-- start (now()): a gateway recording samples in one long transaction gets one reading each,
-- where each call replaced the one before it (found by a review); and the future bound reads
-- the same clock.
CREATE FUNCTION arxos.record(building text, path text, value double precision, unit text DEFAULT NULL,
                             at timestamptz DEFAULT clock_timestamp())
RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    SELECT arxos.record_readings(arxos.building_id(building), ARRAY[path], ARRAY[value], ARRAY[unit],
                                 ARRAY[coalesce(at, clock_timestamp())])
$$;

-- A reading's time as record_batch reads it (ISO 8601 with a zone, checked before): digits
-- past the microsecond are dropped, not rounded, so that 23:59:59.9999999 stays in its second
-- (and its day and month), where rounding would move it onto the next second's sample and
-- silently replace it. Go's RFC3339Nano sends nanoseconds.
CREATE FUNCTION arxos.reading_time(at text) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT regexp_replace(at, E'(\\.\\d{6})\\d+', E'\\1')::timestamptz
$$;

-- Records a batch: a JSON array of {"path": text, "value": number, "unit": text?, "at": time?}
-- (at defaults to the clock when the batch is read, clock_timestamp()). All or nothing. Returns {"recorded": n, "objects": m}.
CREATE FUNCTION arxos.record_batch(building text, readings jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    b     uuid := arxos.building_id(building);
    bad   record;
    paths text[];
    vals  double precision[];
    units text[];
    ats   timestamptz[];
    -- the time of the readings given without one: the clock when the batch is read, one for
    -- the whole batch (arxos.record)
    stamp timestamptz := clock_timestamp();
BEGIN
    IF readings IS NULL OR jsonb_typeof(readings) <> 'array' THEN
        RAISE EXCEPTION 'readings must be a JSON array of {"path", "value", "unit", "at"}'
            USING ERRCODE = '22023';
    END IF;
    SELECT e.i, e.j INTO bad FROM jsonb_array_elements(readings) WITH ORDINALITY e(j, i)
     WHERE jsonb_typeof(e.j) <> 'object'
        OR jsonb_typeof(e.j -> 'path') IS DISTINCT FROM 'string'
        OR jsonb_typeof(e.j -> 'value') IS DISTINCT FROM 'number'
        OR coalesce(jsonb_typeof(e.j -> 'unit'), 'null') NOT IN ('null', 'string')
        OR coalesce(jsonb_typeof(e.j -> 'at'), 'null') NOT IN ('null', 'string')
     LIMIT 1;
    -- The rule broken is named (found by an audit: "value": "NaN" was answered with the
    -- reading and the shape alone)
    IF FOUND THEN
        RAISE EXCEPTION 'reading % is invalid: %: %', bad.i,
            CASE WHEN jsonb_typeof(bad.j) <> 'object' THEN 'a reading is a JSON object, not a JSON ' || jsonb_typeof(bad.j)
                 WHEN jsonb_typeof(bad.j -> 'path') IS DISTINCT FROM 'string' THEN 'path must be a string, got ' || coalesce('a JSON ' || jsonb_typeof(bad.j -> 'path'), 'none')
                 WHEN jsonb_typeof(bad.j -> 'value') IS DISTINCT FROM 'number' THEN 'value must be a JSON number (a finite one: JSON has no NaN or infinity), got ' || coalesce('a JSON ' || jsonb_typeof(bad.j -> 'value'), 'none')
                 WHEN coalesce(jsonb_typeof(bad.j -> 'unit'), 'null') NOT IN ('null', 'string') THEN 'unit must be a string, got a JSON ' || jsonb_typeof(bad.j -> 'unit')
                 ELSE 'at must be a string (ISO 8601 with a zone), got a JSON ' || jsonb_typeof(bad.j -> 'at') END,
            arxos.shown(bad.j::text) USING ERRCODE = '22023',
            HINT = 'each reading is {"path": "/a/b", "value": 21.5, "unit": "°C", "at": "2026-01-01T00:00:00Z"}; unit and at are optional';
    END IF;
    -- A key this function does not read (a misspelt "timestamp" for "at") would be dropped and
    -- the reading recorded at the batch's default time: refused instead.
    SELECT e.i, k.key INTO bad
      FROM jsonb_array_elements(readings) WITH ORDINALITY e(j, i), jsonb_object_keys(e.j) k(key)
     WHERE k.key NOT IN ('path', 'value', 'unit', 'at')
     ORDER BY e.i
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'reading % has an unknown key %', bad.i, arxos.shown(bad.key) USING ERRCODE = '22023',
            HINT = 'a reading has the keys path, value, unit (optional) and at (optional, ISO 8601 with a zone)';
    END IF;
    -- A time without a zone would be read in the session's TimeZone: the same document would
    -- mean different instants on different connections. ISO 8601 with Z or an offset only.
    -- PostgreSQL reads a leap second (23:59:60) as the next minute's first, and 24:00 as the
    -- next day's midnight, where either would silently replace the sample recorded then:
    -- refused too (24:00: found by a review).
    SELECT e.i, e.j ->> 'at' AS at, e.j ->> 'at' ~ E'^\\s*\\d{4}-\\d\\d-\\d\\d[Tt ]\\d\\d:\\d\\d:60' AS leap,
           e.j ->> 'at' ~ E'^\\s*\\d{4}-\\d\\d-\\d\\d[Tt ]24:' AS day_end INTO bad
      FROM jsonb_array_elements(readings) WITH ORDINALITY e(j, i)
     WHERE e.j ->> 'at' !~ E'^\\s*\\d{4}-\\d\\d-\\d\\d[Tt ]\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?\\s*([Zz]|[+-]\\d\\d(:?\\d\\d)?)\\s*$'
        OR e.j ->> 'at' ~ E'^\\s*\\d{4}-\\d\\d-\\d\\d[Tt ](\\d\\d:\\d\\d:60|24:)'
     ORDER BY e.i
     LIMIT 1;
    IF FOUND AND bad.leap THEN
        RAISE EXCEPTION 'reading % is invalid: time % is a leap second, which timestamps cannot hold', bad.i, arxos.shown(bad.at)
            USING ERRCODE = '22023',
            HINT = 'record it at 23:59:59.999999, or at the next second';
    ELSIF FOUND AND bad.day_end THEN
        RAISE EXCEPTION 'reading % is invalid: time % is the end of its day, which is the next day''s 00:00', bad.i, arxos.shown(bad.at)
            USING ERRCODE = '22023',
            HINT = 'write the next day''s 00:00 (another reading may be recorded then), or 23:59:59.999999';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'reading % is invalid: time % is not ISO 8601 with a zone', bad.i, arxos.shown(bad.at)
            USING ERRCODE = '22023',
            HINT = 'times are ISO 8601 with Z or an offset, like 2026-01-01T00:00:00Z or 2026-01-01T01:00:00+01:00';
    END IF;
    BEGIN
        SELECT array_agg(e.j ->> 'path' ORDER BY e.i), array_agg((e.j ->> 'value')::double precision ORDER BY e.i),
               array_agg(e.j ->> 'unit' ORDER BY e.i),
               array_agg(coalesce(arxos.reading_time(e.j ->> 'at'), stamp) ORDER BY e.i)
          INTO paths, vals, units, ats
          FROM jsonb_array_elements(readings) WITH ORDINALITY e(j, i);
    EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format OR invalid_time_zone_displacement_value
                   OR numeric_value_out_of_range THEN
        -- Name the reading: find the first one whose value or time does not convert.
        FOR bad IN SELECT e.i, e.j FROM jsonb_array_elements(readings) WITH ORDINALITY e(j, i) ORDER BY e.i LOOP
            BEGIN
                PERFORM (bad.j ->> 'value')::double precision;
            EXCEPTION WHEN numeric_value_out_of_range THEN
                -- (PostgreSQL's message quotes every digit of 1e400 and names the reason last)
                RAISE EXCEPTION 'reading % is invalid: value % is out of range', bad.i,
                    arxos.number_shown((bad.j ->> 'value')::numeric)
                    USING ERRCODE = '22023',
                    HINT = 'values are finite numbers below 1e100 in magnitude, and 0 or at least 1e-100';
            END;
            BEGIN
                PERFORM arxos.reading_time(bad.j ->> 'at');
            EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format OR invalid_time_zone_displacement_value
                           OR numeric_value_out_of_range THEN
                RAISE EXCEPTION 'reading % is invalid: %', bad.i, left(SQLERRM, 300) USING ERRCODE = '22023',
                    HINT = 'values are finite numbers below 1e100 in magnitude; times are ISO 8601 with a zone, like 2026-01-01T00:00:00Z';
            END;
        END LOOP;
        RAISE EXCEPTION 'invalid reading: %', left(SQLERRM, 300) USING ERRCODE = '22023',
            HINT = 'times are ISO 8601 with a zone, like 2026-01-01T00:00:00Z';
    END;
    RETURN arxos.record_readings(b, paths, vals, units, ats);
END
$$;

-------------------------------------------------------------------------------------------------
-- Reading readings back
-------------------------------------------------------------------------------------------------

-- The readings of one object in [from, to), oldest first; with bucket, one row per time bucket
-- (aligned on the Unix epoch) with avg/min/max/count. Raw rows have count 1 and min = max = avg.
-- unit is the unit of the rows (NULL in a bucket that mixes units: units are never converted).
CREATE FUNCTION arxos.readings_range(building text, path text, "from" timestamptz, "to" timestamptz,
                                     bucket interval DEFAULT NULL)
RETURNS TABLE (at timestamptz, avg double precision, min double precision, max double precision,
               count bigint, unit text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    o uuid := arxos.object_id(arxos.building_id(building), path);
BEGIN
    IF "from" IS NULL OR "to" IS NULL THEN
        RAISE EXCEPTION 'readings_range needs from and to (the range [from, to))' USING ERRCODE = '22004';
    END IF;
    IF "from" > "to" THEN
        RAISE EXCEPTION 'readings_range needs from <= to' USING ERRCODE = '22023';
    END IF;
    IF bucket IS NULL THEN
        RETURN QUERY
        SELECT r.at, r.value, r.value, r.value, 1::bigint, r.unit
          FROM arxos.readings r WHERE r.object_id = o AND r.at >= "from" AND r.at < "to"
         ORDER BY r.at;
        RETURN;
    END IF;
    IF bucket <= interval '0' THEN
        RAISE EXCEPTION 'bucket must be a positive interval, got %', bucket USING ERRCODE = '22023';
    END IF;
    -- (date_bin's own overflow, past 2^63 microseconds, said no more than "interval out of
    -- range": found by a review)
    IF bucket > interval '1000000 days' THEN
        RAISE EXCEPTION 'bucket must be at most 1000000 days, got %', bucket USING ERRCODE = '22023';
    END IF;
    -- date_bin bins by a fixed length: months and years have none (it would raise 0A000)
    IF extract(year FROM bucket) <> 0 OR extract(month FROM bucket) <> 0 THEN
        RAISE EXCEPTION 'bucket must be days, hours, minutes or seconds (months and years have no fixed length), got %', bucket
            USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT date_bin(bucket, r.at, timestamptz '1970-01-01 00:00:00+00') AS b,
           avg(r.value), min(r.value), max(r.value), count(*),
           CASE WHEN count(DISTINCT coalesce(r.unit, '')) = 1 THEN min(r.unit) END
      FROM arxos.readings r WHERE r.object_id = o AND r.at >= "from" AND r.at < "to"
     GROUP BY b ORDER BY b;
END
$$;

-------------------------------------------------------------------------------------------------
-- Maintenance and retention
-------------------------------------------------------------------------------------------------

-- Creates this month's and next month's partitions and moves rows out of the DEFAULT
-- partition into their months. Returns the number of partitions created.
CREATE FUNCTION arxos.readings_maintenance() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    m       timestamptz;
    n       integer := 0;
    p       record;
    -- Rows this run may still move out of DEFAULT: the moves hold the readings until it ends.
    budget  bigint := arxos.readings_move_max();
    waiting bigint;
BEGIN
    -- At most 2 s of waiting for a lock (a dump or a long query reading the readings holds off
    -- a new partition, and every writer would queue behind this meanwhile): then nothing is
    -- made this minute, and the next run tries again (a WARNING says so).
    PERFORM set_config('lock_timeout', '2s', true);
    -- The serialisation point before DEFAULT is read: a writer making a partition holds it
    -- while it waits for DEFAULT, which this would otherwise be reading, waiting for it.
    PERFORM arxos.serialize('readings_partition');
    -- (DEFAULT's months only while there is room for them: past the bound they stay there, and
    -- DEFAULT is not read every minute for nothing.)
    -- Next month in UTC: `now() + interval '1 month'` follows the session's zone, which
    -- clamps the day at a month's end, and late on the 30th west of UTC that lands two UTC
    -- months ahead, which ensure_readings_partition refuses (found by a review).
    -- DEFAULT's months found month by month through readings_default_at (not by reading it
    -- whole every minute).
    FOR m IN SELECT x.m FROM (
                 SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m, 0 AS o
                 UNION ALL SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC', 1
                 UNION ALL SELECT d.m, 2 FROM arxos.readings_default_months() AS d(m)
                            WHERE NOT arxos.readings_partitions_full()) x
             GROUP BY x.m ORDER BY min(x.o), x.m
    LOOP
        SELECT * INTO p FROM arxos.readings_partition_of(m);
        waiting := arxos.readings_month_waiting(p.lower, arxos.readings_move_max());
        IF waiting > arxos.readings_move_max() THEN
            IF to_regclass('arxos.' || p.name) IS NULL AND NOT arxos.readings_month_capped(p.lower) THEN
                RAISE WARNING 'readings_maintenance: the DEFAULT partition holds more than % readings of %, too many to move while every reader and writer of readings waits: they stay there, stored and read the same', arxos.readings_move_max(), to_char(p.lower AT TIME ZONE 'UTC', 'YYYY-MM')
                    USING HINT = format('in a quiet hour: SELECT arxos.ensure_readings_partition(%L, fallback => false, move_max => 100000000)',
                                        to_char(p.lower AT TIME ZONE 'UTC', 'YYYY-MM-DD') || 'Z');
            END IF;
        ELSIF waiting <= budget THEN
            IF arxos.ensure_readings_partition(m, fallback => false, move_max => budget) THEN
                n := n + 1;
                budget := budget - waiting;
            END IF;
        END IF;
        -- (a month that fits the bound but not what is left of this run's: the next run)
    END LOOP;
    RETURN n;
EXCEPTION WHEN lock_not_available THEN
    RAISE WARNING 'readings_maintenance: a lock was not free within 2 s; the next run tries again';
    RETURN n;
END
$$;

-- Retention: drops the month partitions that end at or before the cutoff, and deletes the
-- DEFAULT partition's rows of those months, at most readings_move_max() of them a call (the
-- oldest; a WARNING says when more are left for the next call: every reader and writer of
-- readings waits while they go, and 3 million took 13 s; found by a review). Readings of a
-- partly covered month stay. Returns the names of the partitions dropped. A run with nothing
-- to drop takes no lock; one that has waits at most 2 s for the readings' lock (every writer
-- of readings queues behind it meanwhile: a dashboard's long query or a dump held up the
-- sensors' writes past their statement timeout; found by a review), and otherwise drops
-- nothing and says so (55P03).
CREATE FUNCTION arxos.drop_readings_before(cutoff timestamptz) RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp
SET lock_timeout = '2s' AS $$
DECLARE
    p record;
    -- DEFAULT's rows as a partition's: whole months before the cutoff's UTC month, so that a
    -- month kept in DEFAULT is kept as a partition of it would be (found by a review: DEFAULT
    -- lost the part of a month before a mid-month cutoff).
    kept_from timestamptz := date_trunc('month', cutoff AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
BEGIN
    IF cutoff IS NULL THEN
        RAISE EXCEPTION 'cutoff is required' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM arxos.readings_months_before(cutoff))
       AND NOT EXISTS (SELECT 1 FROM arxos.readings_default d WHERE d.at < kept_from) THEN
        RETURN;
    END IF;
    -- Apart from the writers making partitions (their serialisation point), and the parent
    -- before DEFAULT, as they lock them.
    PERFORM arxos.serialize('readings_partition');
    LOCK TABLE ONLY arxos.readings IN ACCESS EXCLUSIVE MODE;
    FOR p IN SELECT m.name FROM arxos.readings_months_before(cutoff) m LOOP
        EXECUTE format('DROP TABLE arxos.%I', p.name);
        RETURN NEXT p.name;
    END LOOP;
    DELETE FROM arxos.readings_default d
     WHERE d.ctid = ANY (ARRAY(SELECT o.ctid FROM arxos.readings_default o WHERE o.at < kept_from
                                ORDER BY o.at LIMIT arxos.readings_move_max()));
    IF EXISTS (SELECT 1 FROM arxos.readings_default d WHERE d.at < kept_from) THEN
        RAISE WARNING 'drop_readings_before: more readings before % are left in the DEFAULT partition (at most % go a call, as every reader and writer of readings waits meanwhile)', to_char(kept_from AT TIME ZONE 'UTC', 'YYYY-MM-DD') || 'Z', arxos.readings_move_max()
            USING HINT = 'call it again';
    END IF;
EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION 'drop_readings_before: the readings were in use (a lock was not free within 2 s): nothing was dropped'
        USING ERRCODE = '55P03',
              HINT = 'a long query or a dump is reading them; run it again when none is (while it waits, every writer of readings waits too)';
END
$$;

-- The months (their first instants, UTC) DEFAULT holds rows of, oldest first: one index probe
-- per month (readings_default_at).
CREATE FUNCTION arxos.readings_default_months() RETURNS SETOF timestamptz
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE months(m) AS (
        SELECT date_trunc('month', min(d.at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM arxos.readings_default d
        UNION ALL
        SELECT (SELECT date_trunc('month', min(d.at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                  FROM arxos.readings_default d
                 WHERE d.at >= ((months.m AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC')
          FROM months WHERE months.m IS NOT NULL
    )
    SELECT m FROM months WHERE m IS NOT NULL
$$;

-- The month partitions that end at or before the cutoff, by name (drop_readings_before's).
CREATE FUNCTION arxos.readings_months_before(cutoff timestamptz) RETURNS TABLE (name text)
LANGUAGE sql STABLE AS $$
    SELECT c.relname::text
      FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'arxos.readings'::regclass AND c.relname ~ '^readings_[0-9]{6}$'
       AND ((to_date(substr(c.relname, 10, 6), 'YYYYMM')::timestamp + interval '1 month') AT TIME ZONE 'UTC') <= cutoff
     ORDER BY c.relname
$$;

-------------------------------------------------------------------------------------------------
-- Imports: many puts and connections in one call
-------------------------------------------------------------------------------------------------

-- Applies a batch of an import: batch = {"objects": [{"path", "type", "properties"}],
-- "connections": [{"from", "to", "kind", "properties"}]}. Objects are created (status
-- unknown: an import says what exists, not whether it works) or updated: the type is set and
-- the properties merged (keys the batch does not name are kept). Missing ancestors are created
-- as directories. Connections are created, or their properties replaced; both ends must
-- exist. Returns {"created", "updated", "unchanged", "directories", "connections_created",
-- "connections_updated", "connections_unchanged"}.
-- What is wrong with one entry of an import batch, or NULL: not a JSON object, a key other
-- than `required` and properties, a required key missing or not a string, properties not an
-- object. import_batch names it in its message.
CREATE FUNCTION arxos.batch_entry_problem(entry jsonb, required text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
BEGIN
    IF jsonb_typeof(entry) <> 'object' THEN
        RETURN format('a JSON %s, not a JSON object', jsonb_typeof(entry));
    END IF;
    SELECT x INTO k FROM jsonb_object_keys(entry) x WHERE x <> ALL (required) AND x <> 'properties' LIMIT 1;
    IF FOUND THEN
        RETURN format('unknown key %s', arxos.shown(k));
    END IF;
    FOREACH k IN ARRAY required LOOP
        IF NOT entry ? k THEN
            RETURN format('"%s" is missing', k);
        ELSIF jsonb_typeof(entry -> k) <> 'string' THEN
            RETURN format('"%s" is a JSON %s, not a string', k, jsonb_typeof(entry -> k));
        END IF;
    END LOOP;
    IF coalesce(jsonb_typeof(entry -> 'properties'), 'object') <> 'object' THEN
        RETURN format('"properties" is a JSON %s, not a JSON object', jsonb_typeof(entry -> 'properties'));
    END IF;
    RETURN NULL;
END
$$;

-- An object and a connection of an import batch, resolved (import_batch holds them in arrays:
-- no temporary table, so that the API's role needs no TEMPORARY privilege: docs/bi.md).
CREATE TYPE arxos.import_object AS (path text COLLATE "C", type text, properties jsonb);
CREATE TYPE arxos.import_connection AS (i bigint, from_path text COLLATE "C", to_path text COLLATE "C",
                                        from_id uuid, to_id uuid, kind text, properties jsonb);

CREATE FUNCTION arxos.import_batch(building text, batch jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b        uuid := arxos.building_id(building);
    objs     jsonb := coalesce(batch -> 'objects', '[]');
    conns    jsonb := coalesce(batch -> 'connections', '[]');
    items    arxos.import_object[];
    links    arxos.import_connection[];
    total    bigint;
    created  bigint := 0;
    dirs     bigint := 0;
    updated  bigint := 0;
    c_total  bigint;
    c_new    bigint := 0;
    c_upd    bigint := 0;
    bad      record;
BEGIN
    -- An import writes a whole model at once: an admin's (an admin key checked in this
    -- transaction, or the owner's session), here rather than only in the shim's choice of
    -- scope (found by a review).
    PERFORM arxos.admin_call('import_batch');
    -- Unknown keys are refused, not dropped: a misspelt "object" would import nothing.
    IF batch IS NULL OR jsonb_typeof(batch) <> 'object' OR jsonb_typeof(objs) <> 'array'
       OR jsonb_typeof(conns) <> 'array'
       OR EXISTS (SELECT 1 FROM jsonb_object_keys(batch) k WHERE k NOT IN ('objects', 'connections')) THEN
        RAISE EXCEPTION 'batch must be {"objects": [...], "connections": [...]}' USING ERRCODE = '22023';
    END IF;
    -- The first entry that breaks a rule, and the rule (found by an audit: the message named
    -- the entry but not what was wrong with it).
    SELECT x.i, x.j, x.why INTO bad
      FROM (SELECT e.i, e.j, arxos.batch_entry_problem(e.j, ARRAY['path', 'type']) AS why
              FROM jsonb_array_elements(objs) WITH ORDINALITY e(j, i)) x
     WHERE x.why IS NOT NULL ORDER BY x.i LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'object % of the batch is invalid (%): %', bad.i, bad.why, arxos.shown(bad.j::text)
            USING ERRCODE = '22023', HINT = 'objects are {"path": "/a/b", "type": "ahu", "properties": {}}, with no other key';
    END IF;
    SELECT x.i, x.j, x.why INTO bad
      FROM (SELECT e.i, e.j,
                   coalesce(arxos.batch_entry_problem(e.j, ARRAY['from', 'to', 'kind']),
                            CASE WHEN (e.j ->> 'kind') !~ '^[a-z][a-z0-9_]{0,62}$'
                                 THEN '"kind" must be 1 to 63 lowercase ASCII letters, digits and _, starting with a letter' END) AS why
              FROM jsonb_array_elements(conns) WITH ORDINALITY e(j, i)) x
     WHERE x.why IS NOT NULL ORDER BY x.i LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'connection % of the batch is invalid (%): %', bad.i, bad.why, arxos.shown(bad.j::text)
            USING ERRCODE = '22023', HINT = 'connections are {"from": "/a", "to": "/b", "kind": "feeds", "properties": {}}, with no other key';
    END IF;

    -- The building locked, as put and contribute lock it: deleted meanwhile, it is unknown.
    PERFORM arxos.building_locked(b) OR arxos.unknown_building(building);

    items := ARRAY(SELECT ROW(p, e.j ->> 'type', coalesce(e.j -> 'properties', '{}'))::arxos.import_object
                     FROM jsonb_array_elements(objs) e(j),
                          LATERAL arxos.normalize_object_path(e.j ->> 'path') p
                    ORDER BY p);
    -- A path given twice (as written or once normalised) is refused, as contribute refuses it:
    -- one would silently win, and the counts would not add up to the entries (found by an
    -- audit: the last one won). The importers' plans give every entity a path of its own.
    SELECT count(DISTINCT i.path) INTO total FROM unnest(items) i;
    IF total < jsonb_array_length(objs) THEN
        SELECT x.prev, x.i, x.p INTO bad
          FROM (SELECT e.i, p, lag(e.i) OVER (PARTITION BY p ORDER BY e.i) AS prev
                  FROM jsonb_array_elements(objs) WITH ORDINALITY e(j, i),
                       LATERAL arxos.normalize_object_path(e.j ->> 'path') p) x
         WHERE x.prev IS NOT NULL ORDER BY x.i LIMIT 1;
        RAISE EXCEPTION 'objects % and % of the batch are both at %', bad.prev, bad.i, bad.p
            USING ERRCODE = '22023', HINT = 'give each object once';
    END IF;
    SELECT i.path, i.type INTO bad FROM unnest(items) i
     WHERE i.type IS NULL OR NOT arxos.is_label(i.type, 100) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invalid type % of %: 1 to 100 characters, no space at either end, no control or invisible formatting characters',
            arxos.shown(bad.type), bad.path USING ERRCODE = '22023';
    END IF;

    WITH given AS MATERIALIZED (
        SELECT i.path, i.type, i.properties FROM unnest(items) i
    ), wanted AS (
        SELECT g.path, g.type, g.properties FROM given g
        UNION ALL
        SELECT DISTINCT a.path, 'directory', '{}'::jsonb
          FROM given g,
               LATERAL (SELECT left(g.path, k - 1) COLLATE "C" AS path
                          FROM generate_series(2, length(g.path)) AS k
                         WHERE substr(g.path, k, 1) = '/') a
         WHERE NOT EXISTS (SELECT 1 FROM given x WHERE x.path = a.path)
    ), ins AS (
        INSERT INTO arxos.objects (building_id, path, type, properties, status)
        SELECT b, w.path, w.type, w.properties, 'unknown'
          FROM wanted w
         WHERE NOT EXISTS (SELECT 1 FROM arxos.objects o WHERE o.building_id = b AND o.path = w.path)
         ORDER BY w.path
        ON CONFLICT (building_id, path) DO NOTHING
        RETURNING path
    )
    -- (a join: as a subquery per row it read the whole batch for each object created)
    SELECT count(x.path), count(*) - count(x.path)
      INTO created, dirs FROM ins LEFT JOIN given x ON x.path = ins.path;
    -- The objects there already updated after the insert, in a statement of its own: an object
    -- another transaction created while the insert waited on it (ON CONFLICT DO NOTHING) is
    -- updated too, as a put a moment later would (updated first, it was skipped and counted
    -- unchanged, and the import's type and properties were lost). The objects just created
    -- already hold what the batch says, and are not counted again. The rows to change are
    -- locked first, in path order: the UPDATE locks in the order of its join, and two imports
    -- naming the same objects deadlocked (a review's concurrent loops, 4,000 objects inserted
    -- in reverse path order; no isolation spec reproduced the join order that deadlocks).
    PERFORM 1 FROM arxos.objects o JOIN unnest(items) i ON o.building_id = b AND o.path = i.path
     WHERE (o.type, o.properties) IS DISTINCT FROM (i.type, o.properties || i.properties)
     ORDER BY o.path
       FOR NO KEY UPDATE OF o;
    -- Properties the merge would make larger than a stored document may be (arxos.check_json,
    -- 1 MiB): refused naming the object, which the trigger's message does not (found by a
    -- review: a re-import adding a large property beside one already there failed unnamed).
    -- Only a large pair is merged to measure (a CASE: the planner orders plain quals by
    -- cost, and merged every pair first; found by a review). The merge may take more than the
    -- two sizes summed (an entry after a string is realigned: up to 3 bytes for each entry of
    -- at least 12), so below 3/4 of the limit the pair cannot pass it.
    SELECT o.path, arxos.jsonb_raw_size(o.properties || i.properties) AS size INTO bad
      FROM arxos.objects o JOIN unnest(items) i ON o.building_id = b AND o.path = i.path
     WHERE CASE WHEN arxos.jsonb_raw_size(o.properties) + arxos.jsonb_raw_size(i.properties) > 786432
                THEN arxos.jsonb_raw_size(o.properties || i.properties) > 1048576 END
     ORDER BY o.path LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the import would make the properties of % take % bytes as stored (its own and the file''s merged), more than the 1048576 (1 MiB) a document may take',
                        bad.path, bad.size
            USING ERRCODE = '22023',
                  HINT = 'an import adds to the properties an object has: remove the ones it no longer needs first (arxos.patch with null values)';
    END IF;
    UPDATE arxos.objects o
       SET type = i.type, properties = o.properties || i.properties
      FROM unnest(items) i
     WHERE o.building_id = b AND o.path = i.path
       AND (o.type, o.properties) IS DISTINCT FROM (i.type, o.properties || i.properties);
    GET DIAGNOSTICS updated = ROW_COUNT;

    -- The connections resolved once: the paths normalised in a subquery of their own
    -- (OFFSET 0), so that the joins probe the index under row-level security too (see
    -- record_readings); a connection given twice is refused below.
    links := ARRAY(
        SELECT ROW(e.i, e.fp, e.tp, f.id, t.id, e.j ->> 'kind', coalesce(e.j -> 'properties', '{}'))::arxos.import_connection
          FROM (SELECT e.j, e.i, arxos.normalize_object_path(e.j ->> 'from') AS fp,
                       arxos.normalize_object_path(e.j ->> 'to') AS tp
                  FROM jsonb_array_elements(conns) WITH ORDINALITY e(j, i) OFFSET 0) e
          LEFT JOIN arxos.objects f ON f.building_id = b AND f.path = e.fp
          LEFT JOIN arxos.objects t ON t.building_id = b AND t.path = e.tp
         ORDER BY e.i);
    c_total := cardinality(links);
    -- A connection given twice (the same ends and kind) is refused as an object given twice is.
    SELECT x.prev, x.i, x.from_path, x.to_path, x.kind INTO bad
      FROM (SELECT i.i, i.from_path, i.to_path, i.kind,
                   lag(i.i) OVER (PARTITION BY i.from_path, i.to_path, i.kind ORDER BY i.i) AS prev
              FROM unnest(links) i) x
     WHERE x.prev IS NOT NULL ORDER BY x.i LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'connections % and % of the batch are both the % connection from % to %',
            bad.prev, bad.i, bad.kind, bad.from_path, bad.to_path
            USING ERRCODE = '22023', HINT = 'connections are unique per from, to and kind: give each once';
    END IF;
    SELECT i.i, i.from_path, i.to_path, i.from_id, i.to_id INTO bad FROM unnest(links) i
     WHERE i.from_id IS NULL OR i.to_id IS NULL OR i.from_id = i.to_id LIMIT 1;
    IF FOUND THEN
        IF bad.from_id = bad.to_id THEN
            RAISE EXCEPTION 'an object cannot be connected to itself (%)', bad.from_path USING ERRCODE = '23514';
        END IF;
        RAISE EXCEPTION 'no object at %', CASE WHEN bad.from_id IS NULL THEN bad.from_path ELSE bad.to_path END
            USING ERRCODE = 'P0002', HINT = 'write a connection''s objects before the connection';
    END IF;
    -- The endpoints locked (FOR KEY SHARE, in path order), as connect locks them, and looked at
    -- again: one moved or deleted by a transaction that committed meanwhile is not at its path
    -- any more (P0002, as connect says), rather than wired at its new path.
    PERFORM 1 FROM arxos.objects o
     WHERE o.id IN (SELECT i.from_id FROM unnest(links) i
                    UNION SELECT i.to_id FROM unnest(links) i)
     ORDER BY o.building_id, o.path
       FOR KEY SHARE OF o;
    SELECT CASE WHEN f.path IS DISTINCT FROM i.from_path THEN i.from_path ELSE i.to_path END AS gone
      INTO bad
      FROM unnest(links) i
      LEFT JOIN arxos.objects f ON f.id = i.from_id
      LEFT JOIN arxos.objects t ON t.id = i.to_id
     WHERE f.path IS DISTINCT FROM i.from_path OR t.path IS DISTINCT FROM i.to_path
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'no object at %', bad.gone
            USING ERRCODE = 'P0002', HINT = 'it was moved or deleted while the import waited for it';
    END IF;
    WITH upd AS (
        UPDATE arxos.connections c SET properties = i.properties
          FROM unnest(links) i
         WHERE c.from_id = i.from_id AND c.to_id = i.to_id AND c.kind = i.kind
           AND c.properties IS DISTINCT FROM i.properties
        RETURNING c.id
    ), ins AS (
        INSERT INTO arxos.connections (building_id, from_id, to_id, kind, properties)
        SELECT b, i.from_id, i.to_id, i.kind, i.properties FROM unnest(links) i
         WHERE NOT EXISTS (SELECT 1 FROM arxos.connections c
                            WHERE c.from_id = i.from_id AND c.to_id = i.to_id AND c.kind = i.kind)
        ON CONFLICT (from_id, to_id, kind) DO NOTHING
        RETURNING id
    )
    SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd) INTO c_new, c_upd;

    RETURN jsonb_build_object(
        'created', created, 'updated', updated, 'unchanged', total - created - updated,
        'directories', dirs,
        'connections_created', c_new, 'connections_updated', c_upd,
        'connections_unchanged', c_total - c_new - c_upd);
END
$$;

-------------------------------------------------------------------------------------------------
-- Privileges and building scope
-------------------------------------------------------------------------------------------------

GRANT SELECT, INSERT, UPDATE, DELETE ON arxos.readings TO arxos_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON arxos.readings_pending TO arxos_api;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA arxos TO arxos_api;
ALTER TABLE arxos.readings ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.readings
    USING ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));

CREATE VIEW arxos_views.readings WITH (security_barrier) AS
    SELECT r.building_id, b.key AS building, r.object_id, o.path::text AS path, r.at, r.value, r.unit,
           r.received_at
      FROM arxos.readings r
      JOIN arxos.buildings b ON b.id = r.building_id
      JOIN arxos.objects o ON o.id = r.object_id
     WHERE ((SELECT arxos.query_buildings()) IS NULL
            OR r.building_id = ANY ((SELECT arxos.query_buildings())::uuid[]));
GRANT SELECT ON arxos_views.readings TO arxos_query;

-- For BI tools (11_bi.sql): the readings with their building and object.
CREATE VIEW arxos_bi.readings AS
    SELECT r.building_id, b.key AS building, r.object_id, o.path::text AS path, o.type, r.at,
           r.value, r.unit
      FROM arxos.readings r
      JOIN arxos.buildings b ON b.id = r.building_id
      JOIN arxos.objects o ON o.id = r.object_id;
COMMENT ON VIEW arxos_bi.readings IS 'Live: every sensor reading with its building and object (path as it is now). Filter on at first: the table is partitioned by month of at.';
GRANT SELECT ON arxos_bi.readings TO arxos_reader;

