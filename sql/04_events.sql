-- ArxOS schema, part 4: the event outbox's sequencer and its consumers' functions.

-- Whether this database is a logical replica of another ArxOS (the database setting
-- arxos.replica = on): then nothing here sequences, folds or ticks.
CREATE FUNCTION arxos.is_replica() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('arxos.replica', true), '') = 'on'
$$;

-- Folds committed rating deltas (arxos.fold_ratings: totals, history rows and rating events)
-- and moves committed events from events_pending into arxos.events, numbering them from the
-- counter. Runs under the sequencer's lock (arxos.lock_sequencer), so sequencers never
-- interleave. When
-- another sequencer holds the lock, it waits up to wait_ms for it (polling every millisecond;
-- the holder's events are then visible as sequenced) and returns 0 when the time is up: a
-- sequencer inside a long open transaction must not stall its callers for longer.
-- Returns the number of events sequenced.
CREATE FUNCTION arxos.sequence_events(max integer DEFAULT 10000, wait_ms integer DEFAULT 0,
                                      lazy_fold boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    last     bigint;
    n        integer;
    deadline timestamptz := clock_timestamp() + make_interval(secs => greatest(wait_ms, 0) / 1000.0);
    prior    text;
BEGIN
    IF max IS NULL OR max < 1 THEN
        RAISE EXCEPTION 'max must be a positive count, got %', coalesce(max::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF wait_ms IS NULL OR wait_ms NOT BETWEEN 0 AND 60000 THEN
        RAISE EXCEPTION 'wait_ms must be from 0 to 60000 milliseconds, got %', coalesce(wait_ms::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    -- A logical replica numbers nothing: the publisher's numbering arrives with its rows, and
    -- numbering the replicated pending events here too would collide with it
    -- (docs/operations.md, "Replication").
    IF arxos.is_replica() THEN
        RETURN 0;
    END IF;
    -- Nor does a read-only transaction (the shell's sql, a hot standby): the sequencer writes,
    -- so events_since and rating_history there read what is sequenced (found by an audit: the
    -- shell's sql failed with "cannot execute SELECT FOR UPDATE in a read-only transaction"
    -- while events were pending).
    IF current_setting('transaction_read_only') = 'on' THEN
        RETURN 0;
    END IF;
    -- Nor under REPEATABLE READ or SERIALIZABLE, as events_since: the sequencer's row lock
    -- would fail the transaction (40001) once another sequencer moved on (found by an audit).
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN 0;
    END IF;
    LOOP
        -- Nothing to number and no fold due: return at once (the listener polls every few
        -- milliseconds while writes flow). min(seq) reads the primary key from its low end,
        -- where dead entries are skipped once marked; EXISTS would be planned as a sequential
        -- scan through every dead row the queue holds until autovacuum's next visit.
        IF (SELECT min(p.seq) FROM arxos.events_pending p) IS NULL AND NOT arxos.fold_due(lazy_fold) THEN
            RETURN 0;
        END IF;
        PERFORM 1 FROM arxos.event_counter FOR UPDATE SKIP LOCKED;
        EXIT WHEN FOUND;
        IF clock_timestamp() >= deadline THEN
            RETURN 0;
        END IF;
        PERFORM pg_sleep(0.001);
    END LOOP;
    -- The rating events a fold writes join this batch, after the events of their transactions.
    -- A fold that waits for a row lock gives up after 50 ms and is tried again by the next
    -- call, while the events are numbered now: the fold writes its buildings' rows
    -- (first_object_at) and references them (rating_history, the totals), so a transaction
    -- left open on a building's row (a DBA's UPDATE, a DELETE or a key's rename not yet
    -- committed) stopped every building's outbox until it ended (found by a review). The
    -- rating stays exact meanwhile (arxos.rating adds the deltas not folded yet); its history
    -- rows and events wait.
    prior := current_setting('lock_timeout');
    BEGIN
        IF prior = '0' OR prior::interval > interval '50 ms' THEN
            PERFORM set_config('lock_timeout', '50ms', true);
        END IF;
        PERFORM arxos.fold_ratings(max, lazy => lazy_fold);
        PERFORM set_config('lock_timeout', prior, true);
    EXCEPTION WHEN lock_not_available THEN
        NULL;  -- (the block's abort restored lock_timeout)
    END;
    -- After the largest id present too: an event a DBA inserted by hand above the counter
    -- would otherwise collide with the next one numbered, on every call (found by a review).
    -- One probe of the primary key's end.
    SELECT greatest(c.last_id, coalesce((SELECT max(e.id) FROM arxos.events e), 0)) INTO last
      FROM arxos.event_counter c;
    IF last > 9223372036854775807 - max THEN
        RAISE EXCEPTION 'the events cannot be numbered after event %: too close to the largest id', last
            USING ERRCODE = '22003',
                  HINT = format('an event inserted by hand? delete it: DELETE FROM arxos.events WHERE id = %s', last);
    END IF;
    WITH moved AS (
        DELETE FROM arxos.events_pending p
         WHERE p.seq = ANY (ARRAY(SELECT q.seq FROM arxos.events_pending q ORDER BY q.seq LIMIT max))
        RETURNING p.*
    )
    INSERT INTO arxos.events (id, type, building_id, object_id, path, actor, at, body,
                              building_key, object_type)
    SELECT last + row_number() OVER (ORDER BY m.seq), m.type, m.building_id, m.object_id, m.path,
           m.actor, m.at, m.body,
           -- per-row probes of the primary keys, whatever the batch's size or the tables'
           -- (a join could be planned as a scan of every building or object); the object is
           -- looked up only for events that did not record its type (connections)
           -- a building deleted before its events were sequenced: its key from the
           -- building.deleted event, still pending (the statement sees the queue as it was)
           coalesce((SELECT b.key FROM arxos.buildings b WHERE b.id = m.building_id),
                    m.body #>> '{building,key}',
                    (SELECT d.body #>> '{building,key}' FROM arxos.events_pending d
                      WHERE m.building_id IS NOT NULL AND d.type = 'building.deleted'
                        AND d.building_id = m.building_id LIMIT 1)),
           coalesce(m.object_type, m.body #>> '{object,type}',
                    (SELECT o.type FROM arxos.objects o WHERE o.id = m.object_id))
      FROM moved m;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        UPDATE arxos.event_counter SET last_id = last + n;
        -- Wake the other consumers (other shim replicas): this is one NOTIFY per batch.
        PERFORM pg_notify('arxos_events', '');
    END IF;
    RETURN n;
END
$$;

-- True when the event's type matches one of the patterns: an exact dotted name, or a prefix
-- ending in '*' ('bilt.*' matches every bilt event).
CREATE FUNCTION arxos.event_type_matches(type text, patterns text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT patterns IS NULL OR EXISTS (
        SELECT 1 FROM unnest(patterns) p
         WHERE p = type OR p = '*'
            OR (right(p, 1) = '*' AND starts_with(type, left(p, -1))))
$$;

-- Event type filters (events_since, webhooks, streams): dotted lowercase names such as
-- object.created, prefixes such as bilt.*, or * alone; at most 100 of at most 200 characters.
-- NULL (every type) passes; an empty list is the caller's to judge.
-- The messages are the shim's for the streams' `types` (arxos_http realtime/filter.rs): the
-- count said as such, and the first bad pattern named (found by an audit: 101 valid patterns
-- were called an invalid pattern, the whole list quoted).
-- A list argument is a one-dimensional array: PostgreSQL takes '{{a},{b}}' for a text[] too,
-- and some operators read it flattened while others refuse it (found by an audit: a 2-D
-- building list was 0A000 from deep inside, 2-D scopes were stored as given). Returns true,
-- so it can close a WHERE clause.
CREATE FUNCTION arxos.check_list(what text, list anyarray) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF array_ndims(list) > 1 THEN
        RAISE EXCEPTION '% must be a list (a one-dimensional array), not a %-dimensional array', what, array_ndims(list)
            USING ERRCODE = '22023', HINT = 'write it as ARRAY[''a'', ''b''] or ''{a,b}''';
    END IF;
    RETURN true;
END
$$;

-- The types of the events the extension writes to the outbox (docs/realtime.md, docs/rating.md,
-- docs/market.md): not webhook.test or event.purged, types of webhook message bodies only.
CREATE FUNCTION arxos.event_type_names() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['object.created', 'object.updated', 'object.deleted', 'object.moved', 'state.changed',
                 'connection.created', 'connection.updated', 'connection.deleted', 'metric.recorded',
                 'building.created', 'building.updated', 'building.deleted',
                 'bilt.rating.changed', 'bilt.rating.calculated',
                 'market.contribution', 'market.reward', 'market.signal', 'market.trade',
                 'webhook.disabled']
$$;

CREATE FUNCTION arxos.check_event_types(types text[]) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    bad record;
BEGIN
    PERFORM arxos.check_list('types', types);
    IF cardinality(types) > 100 THEN
        RAISE EXCEPTION 'types names % patterns; at most 100 are allowed', cardinality(types) USING ERRCODE = '22023',
            HINT = 'use at most 100 dotted names such as object.created, or prefixes such as bilt.*';
    END IF;
    SELECT t INTO bad FROM unnest(types) t
     WHERE t IS NULL OR length(t) > 200 OR t !~ E'^(\\*|[a-z0-9_]+(\\.[a-z0-9_]+)*(\\.\\*)?)$'
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invalid event type pattern %: use dotted names such as object.created, or prefixes such as bilt.*, of at most 200 characters',
            coalesce(arxos.shown(bad.t), 'null') USING ERRCODE = '22023';
    END IF;
    -- A name or prefix no event has matches nothing, ever (`object.creatd`, `object` for
    -- `object.*`): refused by webhooks, the event stream and events_since alike (found by
    -- reviews: accepted without a word, a webhook never fired, a stream stayed silent).
    SELECT t INTO bad FROM unnest(types) t
     WHERE t <> '*' AND NOT EXISTS (
           SELECT FROM unnest(arxos.event_type_names()) n
            WHERE n = t OR (t LIKE '%.*' AND starts_with(n, left(t, -1))))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'no event has the type %: nothing would ever match it', arxos.shown(bad.t)
            USING ERRCODE = '22023',
                  HINT = 'the event types are ' || array_to_string(arxos.event_type_names(), ', ') || ' (and prefixes such as object.*)';
    END IF;
END
$$;

-- Whether a consumer may resume after `after_id`: true, or AX026 when events after it were
-- purged (it would skip them without knowing). 0 means "from the oldest event kept", what a
-- new consumer that has taken its snapshot asks for. STABLE: in a query it reads the horizon
-- in the query's snapshot, as the query reads the events.
CREATE FUNCTION arxos.check_resume(after_id bigint) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    purged bigint := (SELECT h.purged_through FROM arxos.event_horizon h);
BEGIN
    IF after_id > 0 AND after_id < purged THEN
        RAISE EXCEPTION 'events after % were purged (through %): a consumer resuming there would miss them', after_id, purged
            USING ERRCODE = 'AX026',
                  HINT = 'take a new snapshot of what you follow, then resume from the head (SELECT last_id FROM arxos.event_counter)';
    END IF;
    RETURN true;
END
$$;

-- The building a consumer of events names (key or id): a building that exists, else one whose
-- `building.deleted` event the outbox still holds (its last changes and its deletion stay
-- readable by key or id: found by an audit, the consumer following one building got "unknown
-- building" instead), else P0002. A key both a building and a deleted one had is the live
-- building's: the deleted one is followed by its id.
CREATE FUNCTION arxos.event_building_id(building text) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v uuid;
BEGIN
    RETURN arxos.building_id(building);
EXCEPTION WHEN no_data_found THEN
    v := arxos.deleted_building_id(building);
    IF v IS NULL THEN
        PERFORM arxos.unknown_building(building);
    END IF;
    RETURN v;
END
$$;

-- The id of a deleted building, named by key or id, whose `building.deleted` event the outbox
-- still holds (the latest such building for a key); NULL if none. Raises nothing.
-- A deletion not sequenced yet counts too (its row in the small events_pending): a reader that
-- does not sequence first (an SSE subscription) finds a building deleted a moment ago (found
-- by a review).
CREATE FUNCTION arxos.deleted_building_id(building text) RETURNS uuid
LANGUAGE sql STABLE AS $$
    -- (each cast guarded where it stands, as in arxos.ls: inlined, a comparison's operand is
    -- evaluated to estimate it, outside the CASE around it)
    SELECT CASE WHEN arxos.uuid_shaped(building) THEN
               coalesce(
                   (SELECT p.building_id FROM arxos.events_pending p
                     WHERE p.building_id = (CASE WHEN arxos.uuid_shaped(building) THEN building END)::uuid
                       AND p.type = 'building.deleted'
                     ORDER BY p.seq DESC LIMIT 1),
                   (SELECT e.building_id FROM arxos.events e
                     WHERE e.building_id = (CASE WHEN arxos.uuid_shaped(building) THEN building END)::uuid
                       AND e.type = 'building.deleted'
                     ORDER BY e.id DESC LIMIT 1))
           ELSE
               coalesce(
                   (SELECT p.building_id FROM arxos.events_pending p
                     WHERE p.type = 'building.deleted' AND p.body #>> '{building,key}' = building
                     ORDER BY p.seq DESC LIMIT 1),
                   (SELECT e.building_id FROM arxos.events e
                     WHERE e.type = 'building.deleted' AND e.building_key = building
                     ORDER BY e.id DESC LIMIT 1))
           END
$$;

-- Events with id > after_id, oldest first, optionally filtered. Sequences pending events first,
-- so a DBA in psql sees everything committed so far (under READ COMMITTED: a REPEATABLE READ
-- or SERIALIZABLE transaction reads what was sequenced when its snapshot was taken, since the
-- sequencer's row lock would fail it with 40001; a read-only transaction reads what is
-- sequenced, since the sequencer writes). A position below the purge horizon is AX026
-- (arxos.check_resume).
CREATE FUNCTION arxos.events_since(after_id bigint DEFAULT 0, types text[] DEFAULT NULL,
                                   building text DEFAULT NULL, under text DEFAULT NULL,
                                   max integer DEFAULT 1000, lazy_fold boolean DEFAULT false)
RETURNS SETOF arxos.events
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    b  uuid;
    u  text;
BEGIN
    IF max IS NULL OR max < 1 OR max > 100000 THEN
        RAISE EXCEPTION 'max must be between 1 and 100000, got %', coalesce(max::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    -- 0 is "from the oldest event kept"; a negative position is no event's (as over HTTP)
    IF after_id IS NULL OR after_id < 0 THEN
        RAISE EXCEPTION 'after_id must be 0 (from the oldest event kept) or an event id, got %', coalesce(after_id::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    PERFORM arxos.check_event_types(types);
    IF under IS NOT NULL THEN
        u := arxos.normalize_path(under);
    END IF;
    -- Sequence at least a page's worth, so a caller asking for many events gets them now;
    -- wait a little for a concurrent sequencer (a shim's listener) rather than skip its batch.
    IF current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM arxos.sequence_events(greatest(max, 10000), wait_ms => 250, lazy_fold => lazy_fold);
    END IF;
    -- After the sequencing: a building deleted a moment ago is found by its building.deleted
    -- event, which must be in the outbox by then (found by an audit: "unknown building", or
    -- an earlier building of the same key, right after a deletion).
    IF building IS NOT NULL THEN
        b := arxos.event_building_id(building);
    END IF;
    -- The purge horizon is checked in the statement that reads the events, in its snapshot: a
    -- check of its own, before the sequencing (which may wait), could pass while a purge
    -- that commits in between removes what the read then skips.
    RETURN QUERY
    SELECT e.* FROM arxos.events e
     WHERE arxos.check_resume(after_id)
       AND e.id > after_id
       -- the filter rules of SSE and webhooks (12_webhooks.sql), inlined
       AND arxos.event_matches(e, types, b, u, NULL)
     ORDER BY e.id
     LIMIT max;
END
$$;

-- Deletes events older than the horizon; returns how many. Consumers further behind than the
-- horizon are told so when they resume (AX026: arxos.check_resume, arxos.event_horizon).
CREATE FUNCTION arxos.purge_events(older_than interval DEFAULT '30 days') RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    n bigint;
    kept bigint;
    kept_above bigint;
    cut bigint;
BEGIN
    PERFORM arxos.check_period('older_than', older_than);
    -- While a webhook is enabled, the events not fanned out into deliveries yet (above
    -- arxos.webhook_cursor: no shim's webhook worker has run since) stay whatever their age,
    -- or they would never reach a webhook and nothing would say so.
    SELECT c.last_event_id INTO kept_above FROM arxos.webhook_cursor c
     WHERE EXISTS (SELECT 1 FROM arxos.webhooks w WHERE w.enabled);
    -- A prefix of the ids: the events below the first one (by id) that is not older than the
    -- horizon. An event's `at` is its transaction's start, so a long transaction's events can
    -- be stamped before events numbered ahead of them; deleting by time alone would leave
    -- older ids kept below purged ones, and a consumer reading from the oldest kept would be
    -- told it had missed events (AX026) or, live, pass over the gap without a word.
    cut := (SELECT e.id FROM arxos.events e WHERE e.at >= now() - older_than ORDER BY e.id LIMIT 1);
    DELETE FROM arxos.events
     WHERE (cut IS NULL OR id < cut) AND (kept_above IS NULL OR id <= kept_above);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF kept_above IS NOT NULL THEN
        -- the events the cursor alone holds back (below the cut, all are older than the horizon;
        -- those above it are kept by the prefix rule, whatever the webhooks)
        SELECT count(*) INTO kept FROM arxos.events e WHERE e.id > kept_above AND (cut IS NULL OR e.id < cut);
        IF kept > 0 THEN
            RAISE WARNING 'kept % events older than the horizon: no webhook worker has queued them for the webhooks yet', kept
                USING HINT = 'a shim with its webhook worker queues them; disable the webhooks that should not get them';
        END IF;
    END IF;
    RETURN n;
END
$$;

-- Every delete of events moves the purge horizon (arxos.event_horizon) up to the largest id it
-- deleted, whoever deletes (purge_events, a DBA's DELETE); a TRUNCATE moves it to the head.
-- Ids above the head (an event a DBA inserted by hand, not numbered yet: no reader has passed
-- it) do not move it.
CREATE FUNCTION arxos.events_purged() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE arxos.event_horizon
           SET purged_through = greatest(purged_through, (SELECT c.last_id FROM arxos.event_counter c));
    ELSE
        UPDATE arxos.event_horizon
           SET purged_through = greatest(purged_through,
                                         (SELECT max(o.id) FROM old_rows o
                                           WHERE o.id <= (SELECT c.last_id FROM arxos.event_counter c)))
         WHERE EXISTS (SELECT 1 FROM old_rows o WHERE o.id <= (SELECT c.last_id FROM arxos.event_counter c));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_purged AFTER DELETE ON arxos.events
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.events_purged();
CREATE TRIGGER events_truncated AFTER TRUNCATE ON arxos.events
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.events_purged();

-- A TRUNCATE of the queue of pending events numbers them first, so that it drops nothing a
-- consumer would not hear of: the events move to the outbox, where a purge moves the horizon
-- (found by a review: TRUNCATE events_pending lost committed events without a trace). The
-- TRUNCATE holds the table's lock by now, so every writer that queued an event has ended.
-- Where the sequencer numbers nothing (a REPEATABLE READ or read-only transaction, a logical
-- replica) the events left would be lost: refused.
CREATE FUNCTION arxos.events_pending_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    left_over bigint;
BEGIN
    LOOP
        -- (waiting up to 5 s for a sequencer that is numbering a batch)
        EXIT WHEN arxos.sequence_events(100000, wait_ms => 5000) = 0;
    END LOOP;
    SELECT count(*) INTO left_over FROM arxos.events_pending;
    IF left_over > 0 THEN
        RAISE EXCEPTION 'TRUNCATE of arxos.events_pending would drop events not numbered yet (%), which no consumer would hear of', left_over
            USING ERRCODE = '55000',
                  HINT = 'truncate it in a READ COMMITTED transaction that may write, on the publisher, when no other sequencer is busy: the events are numbered first (arxos.sequence_events); arxos.purge_events removes old ones';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_pending_truncate BEFORE TRUNCATE ON arxos.events_pending
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.events_pending_truncate();

-- After a failover to a standby that was behind, or a restore into a database that shims
-- served, the outbox would number new events with ids its consumers have already seen (and
-- skip, since they read `id > last seen`). This moves the numbering on: every event sequenced
-- from now on, pending ones included, gets an id above `past`. Returns the last id handed out.
-- Ids are not dense anyway; the gap costs nothing. A shim's listener calls it by itself when it
-- reconnects to an outbox behind what it published. docs/operations.md, "Replication".
CREATE FUNCTION arxos.skip_event_ids(past bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last bigint;
BEGIN
    -- Bounded well below bigint's end, so that the numbering can never overflow after it.
    IF past IS NULL OR past < 0 OR past > 4611686018427387904 THEN
        RAISE EXCEPTION 'past must be an event id from 0 to 2^62, got %', coalesce(past::text, 'NULL')
              USING ERRCODE = '22023';
    END IF;
    IF arxos.is_replica() THEN
        RETURN (SELECT c.last_id FROM arxos.event_counter c);
    END IF;
    -- The row lock waits for a sequencer at work, so no batch is numbered below `past` after.
    UPDATE arxos.event_counter SET last_id = greatest(last_id, past) RETURNING last_id INTO last;
    RETURN last;
END
$$;

-- Registers (or refreshes) a listener and says whether it wants a NOTIFY wake-up.
CREATE FUNCTION arxos.listener_heartbeat(listener uuid, wants_wake boolean, ttl interval DEFAULT '30 seconds')
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF listener IS NULL OR wants_wake IS NULL THEN
        RAISE EXCEPTION 'listener and wants_wake must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF ttl IS NULL OR ttl <= interval '0' OR ttl > interval '1 day' THEN
        RAISE EXCEPTION 'ttl must be a positive interval of at most a day, got %', coalesce(ttl::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO arxos.listeners AS l (id, wants_wake, expires_at)
    VALUES (listener, wants_wake, now() + ttl)
    ON CONFLICT (id) DO UPDATE SET wants_wake = excluded.wants_wake, expires_at = excluded.expires_at;
    DELETE FROM arxos.listeners l WHERE l.expires_at < now() - interval '1 minute';
END
$$;

CREATE FUNCTION arxos.listener_leave(listener uuid) RETURNS void
LANGUAGE sql VOLATILE AS $$ DELETE FROM arxos.listeners WHERE id = listener $$;
