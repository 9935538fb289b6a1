-- ArxOS schema, part 2: the object tree. Triggers keep every invariant for plain
-- INSERT/UPDATE/DELETE as well as for the functions below, which are thin conveniences.

-------------------------------------------------------------------------------------------------
-- Helpers
-------------------------------------------------------------------------------------------------

-- Resolves a building given by key (or by id, as text) to its id; unknown → ERROR P0002.
-- Locks a building's row (FOR KEY SHARE, as the foreign keys on it do) for the rest of the
-- transaction and says whether it is still there: what the writers that insert rows of a
-- building (put, contribute) do first, so that a building deleted by a transaction that
-- committed while they waited is an unknown building, not a foreign key's raw message
-- ("violates foreign key constraint objects_building_id_fkey").
CREATE FUNCTION arxos.building_locked(b uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM arxos.buildings x WHERE x.id = b FOR KEY SHARE;
    RETURN FOUND;
END
$$;

CREATE FUNCTION arxos.building_id(building text) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    v uuid;
BEGIN
    IF arxos.uuid_shaped(building) THEN
        SELECT b.id INTO v FROM arxos.buildings b WHERE b.id = building::uuid;
    ELSE
        SELECT b.id INTO v FROM arxos.buildings b WHERE b.key = building;
    END IF;
    IF v IS NULL THEN
        PERFORM arxos.unknown_building(building);
    END IF;
    RETURN v;
END
$$;

-- Raises the unknown-building error (P0002); returns boolean so SQL functions can close a
-- WHERE clause with it (`b IS NOT NULL OR arxos.unknown_building(key)`). VOLATILE, so the
-- planner never calls it while estimating.
CREATE FUNCTION arxos.unknown_building(building text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- NULL and blank are not a building that is missing but no building at all: bad input
    -- (NULL as a NULL path is: 22004).
    IF building IS NULL THEN
        RAISE EXCEPTION 'building must not be NULL: name it by its key or id' USING ERRCODE = '22004';
    END IF;
    IF btrim(building) = '' THEN
        RAISE EXCEPTION 'no building given: name it by its key or id' USING ERRCODE = '22023';
    END IF;
    RAISE EXCEPTION 'unknown building %', arxos.shown(building)
        USING ERRCODE = 'P0002', HINT = 'list buildings with: select key, name from arxos.buildings';
END
$$;

-- The JSON documents of an object's history and events, encoded straight into jsonb in Rust
-- (arxos_core::object_json and arxos_core::jsonb). jsonb_build_object looks up every
-- argument's type on every call and rebuilds nested documents, and JSON text must be parsed
-- (jsonb_in sorts every object's keys with a generic quicksort): either cost several times the
-- rest of a history row. STABLE SQL wrappers, so the planner inlines them.

-- The fields of an object that history and events report (derived bookkeeping left out), and
-- its id (which never changes).
CREATE FUNCTION arxos.object_fields(o arxos.objects) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT arxos.object_fields_jsonb(o.id::text, o.path, o.type, o.status, o.health, o.needs_repair,
                                     o.properties, o.x, o.y, o.z, o.floor, false, NULL)
$$;

-- {"object": fields and version}: the body of an object.created or object.deleted event.
CREATE FUNCTION arxos.object_event(o arxos.objects) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT arxos.object_fields_jsonb(o.id::text, o.path, o.type, o.status, o.health, o.needs_repair,
                                     o.properties, o.x, o.y, o.z, o.floor, true, o.version)
$$;

-- {"field": {"<side>": value}} for the fields of an object, the location only when located
-- and the floor only when set: the changes of an insert (side 'after') or a delete ('before').
CREATE FUNCTION arxos.object_snapshot(o arxos.objects, side text) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT arxos.object_snapshot_jsonb(o.path, o.type, o.status, o.health, o.needs_repair,
                                       o.properties, o.x, o.y, o.z, o.floor, side)
$$;

-- {"field": {"before": b, "after": a}} for the fields of two versions of an object that
-- differ: the history changes of an update or move (properties compared as jsonb).
CREATE FUNCTION arxos.object_changes(o arxos.objects, n arxos.objects) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT arxos.object_changes_jsonb(
               o.path, o.type, o.status, o.health, o.needs_repair, o.properties, o.x, o.y, o.z, o.floor,
               n.path, n.type, n.status, n.health, n.needs_repair, n.properties, n.x, n.y, n.z, n.floor,
               o.properties = n.properties)
$$;

-- The location of an object as jsonb ({"x","y","z","floor"}), or NULL.
CREATE FUNCTION arxos.location_json(o arxos.objects) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN o.x IS NULL AND o.floor IS NULL THEN NULL
                ELSE jsonb_build_object('x', o.x, 'y', o.y, 'z', o.z, 'floor', o.floor) END
$$;

-- Wakes idle listeners: one NOTIFY per transaction at most (identical notifications in one
-- transaction are folded by PostgreSQL), and none at all while every listener is busy polling.
CREATE FUNCTION arxos.wake() RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_notify('arxos_events', '')
      WHERE EXISTS (SELECT 1 FROM arxos.listeners WHERE wants_wake AND expires_at > now());
END
$$;

-------------------------------------------------------------------------------------------------
-- Object triggers
-------------------------------------------------------------------------------------------------

-- objects_before_write (the row trigger: path normalisation, field checks, bookkeeping columns, the depth
-- of stored documents, the instrumented flag) is written in Rust: arxos_pg/src/objects_trigger.rs.
CREATE TRIGGER objects_before_write BEFORE INSERT OR UPDATE ON arxos.objects
    FOR EACH ROW EXECUTE FUNCTION arxos.objects_before_write();

-- The three statement triggers below share one shape: a check that raises (when the statement
-- would break the tree), then one statement that writes the history rows, the outbox rows and
-- the rating delta in data-modifying WITH clauses (they run to completion whatever the main
-- query reads) and wakes idle listeners in its main query. Every statement a trigger runs
-- costs its executor start-up on every single-row write, so there are two (measured with
-- callgrind on single-row writes: a third fewer instructions than one statement per table).
CREATE FUNCTION arxos.objects_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    orphan record;
BEGIN
    SELECT n.building_id, n.path, n.parent_path INTO orphan
      FROM new_rows n
     WHERE n.parent_path <> '/'
       -- OFFSET 0 keeps this a per-row probe of the unique index. As an anti-join it would be
       -- planned from statistics, and an ANALYZE during a bulk load (which sees none of the
       -- uncommitted rows) makes the planner loop over a scan of the whole table: quadratic.
       -- FOR KEY SHARE, as a foreign key does: a concurrent delete or move of the parent waits
       -- for this transaction (and then finds the child), or this probe waits for it (and then
       -- finds no parent). Without it both commit and the child is left without a parent.
       AND NOT EXISTS (SELECT 1 FROM arxos.objects o
                        WHERE o.building_id = n.building_id AND o.path = n.parent_path
                       OFFSET 0 FOR KEY SHARE)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'parent % of % does not exist', orphan.parent_path, orphan.path
            USING ERRCODE = '23503',
                  HINT = 'create the parent first, or call arxos.put(..., parents => true)';
    END IF;

    WITH history AS (
        INSERT INTO arxos.object_history (building_id, object_id, path, op, actor, changes)
        SELECT n.building_id, n.id, n.path, 'insert', n.created_by, arxos.object_snapshot(n, 'after')
          FROM new_rows n
    ), outbox AS (
        INSERT INTO arxos.events_pending (type, building_id, object_id, path, actor, body, object_type)
        SELECT 'object.created', n.building_id, n.id, n.path, n.created_by,
               arxos.object_event(n), n.type
          FROM new_rows n
         -- a folder before its contents, whatever order the statement wrote them in (a COPY
         -- or a writable WITH may write a child first)
         ORDER BY n.building_id, n.path
    ), deltas AS (
        -- Per actor as well: each history row counts for its own actor (a statement may change
        -- arxos.actor between rows).
        INSERT INTO arxos.rating_deltas (building_id, actor, changes, objects, located, documented,
                                         with_properties, instrumented, reason, object_path)
        SELECT n.building_id, n.created_by, count(*), count(*),
               count(*) FILTER (WHERE n.x IS NOT NULL),
               count(*) FILTER (WHERE n.status <> 'unknown'),
               count(*) FILTER (WHERE n.properties <> '{}'),
               count(*) FILTER (WHERE n.instrumented),
               -- the reason is the statement's (per building), whoever the actors
               arxos.delta_reason('object_added', (sum(count(*)) OVER w)::bigint,
                                  (sum(count(*) FILTER (WHERE n.instrumented)) OVER w)::bigint),
               min(n.path)
          FROM new_rows n GROUP BY n.building_id, n.created_by
        WINDOW w AS (PARTITION BY n.building_id)
    )
    -- arxos.wake(), inlined (statement triggers also fire for statements that wrote no row).
    SELECT pg_notify('arxos_events', '') INTO orphan
     WHERE EXISTS (SELECT 1 FROM new_rows)
       AND EXISTS (SELECT 1 FROM arxos.listeners WHERE wants_wake AND expires_at > now());
    RETURN NULL;
END
$$;

-- Objects are moved or deleted under READ COMMITTED only: under REPEATABLE READ or
-- SERIALIZABLE the "has children" checks read the transaction's snapshot, which lacks children
-- committed by concurrent transactions after it was taken, and would let them be orphaned.
-- (SERIALIZABLE's own checks catch that only when every writer runs SERIALIZABLE too; the
-- shim's writers run READ COMMITTED.)
CREATE FUNCTION arxos.refuse_snapshot_isolation(what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'objects are % under READ COMMITTED only, not %', what,
        upper(current_setting('transaction_isolation'))
        USING ERRCODE = '55000',
              HINT = 'the transaction''s snapshot cannot see children that concurrent transactions add meanwhile, and would leave them without a parent: SET TRANSACTION ISOLATION LEVEL READ COMMITTED';
END
$$;

CREATE FUNCTION arxos.objects_after_update() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    bad record;
BEGIN
    -- A move must keep the tree whole: the new parent exists (a per-row probe, as on insert),
    -- and nothing is left behind under the old path (arxos.mv moves a whole subtree in one
    -- statement).
    -- The new parent is locked as on insert (FOR KEY SHARE), so that it cannot be deleted or
    -- moved away by a transaction that commits concurrently.
    -- The old and new rows are paired by a FULL JOIN (every row has both) kept in a subquery
    -- of its own (OFFSET 0, so the conditions outside cannot turn it into an inner join): a
    -- full join cannot be a nested loop. A plan cached while a statement changed one row
    -- estimates one row per transition table, and as a nested loop the pairing of a later
    -- statement of n rows would cost n² (a 5,000-object move: 3 s instead of 0.15 s).
    SELECT n.path, n.parent_path, n.old_path,
           n.parent_path <> '/' AND NOT EXISTS (SELECT 1 FROM arxos.objects x
                        WHERE x.building_id = n.building_id AND x.path = n.parent_path
                       OFFSET 0 FOR KEY SHARE) AS orphan
      INTO bad
      FROM (SELECT n.building_id, n.path, n.parent_path, o.path AS old_path
              FROM new_rows n FULL JOIN old_rows o ON o.id = n.id OFFSET 0) n
     WHERE n.path <> n.old_path
       AND ((n.parent_path <> '/' AND NOT EXISTS (SELECT 1 FROM arxos.objects x
                        WHERE x.building_id = n.building_id AND x.path = n.parent_path
                       OFFSET 0 FOR KEY SHARE))
            -- a probe per row (OFFSET 0 keeps it a subplan), the range an index condition
            -- under row-level security too (path_lower/path_upper are LEAKPROOF): planned as a
            -- join it read the whole building per moved row for the API's role
            OR EXISTS (SELECT 1 FROM arxos.objects x
                        WHERE x.building_id = n.building_id
                          AND x.path >= arxos.path_lower(n.old_path) AND x.path < arxos.path_upper(n.old_path)
                       OFFSET 0))
     LIMIT 1;
    IF FOUND AND bad.orphan THEN
        RAISE EXCEPTION 'parent % of % does not exist', bad.parent_path, bad.path
            USING ERRCODE = '23503', HINT = 'create the parent first: arxos.put(building, parent, ''directory'', parents => true)';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'moving % would leave its children behind', bad.old_path
            USING ERRCODE = '23503', HINT = 'move the whole subtree with arxos.mv(building, from, to)';
    END IF;
    -- Under REPEATABLE READ or SERIALIZABLE the probe above reads the transaction's snapshot,
    -- which lacks a child that a concurrent transaction committed after it began: the move
    -- would leave that child behind. (Two IFs: the first, a simple expression, is all that
    -- most statements evaluate.)
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.path <> o.path) THEN
            PERFORM arxos.refuse_snapshot_isolation('moved');
        END IF;
    END IF;

    -- MATERIALIZED: each row's changes are computed once for the three writers below.
    WITH pairs AS MATERIALIZED (
        SELECT n.id, n.building_id, n.path, o.path AS old_path, n.updated_by AS actor, n.type, n.version,
               arxos.object_changes(o, n) AS changes,
               (n.status, n.health, n.needs_repair) IS DISTINCT FROM (o.status, o.health, o.needs_repair) AS state_changed,
               (n.x IS NOT NULL)::int - (o.x IS NOT NULL)::int AS located,
               (n.status <> 'unknown')::int - (o.status <> 'unknown')::int AS documented,
               (n.properties <> '{}')::int - (o.properties <> '{}')::int AS with_properties,
               n.instrumented::int - o.instrumented::int AS instrumented
          FROM new_rows n FULL JOIN old_rows o ON o.id = n.id  -- not a nested loop: see above
    ), history AS (
        INSERT INTO arxos.object_history (building_id, object_id, path, op, actor, changes)
        SELECT c.building_id, c.id, c.path, CASE WHEN c.path <> c.old_path THEN 'move' ELSE 'update' END,
               c.actor, c.changes
          FROM pairs c
         WHERE c.changes <> '{}'
    ), outbox AS (
        INSERT INTO arxos.events_pending (type, building_id, object_id, path, actor, body, object_type)
        SELECT e.type, c.building_id, c.id, c.path, c.actor,
               -- object.updated and state.changed carry the fields they name, not the path:
               -- a write that also moved the object says that in its object.moved (found by
               -- an audit: object.updated carried the path's change too)
               CASE WHEN e.type = 'object.moved'
                    THEN jsonb_build_object('changes', c.changes, 'version', c.version,
                                            'from', c.old_path, 'to', c.path)
                    ELSE jsonb_build_object('changes', CASE WHEN c.path <> c.old_path THEN c.changes - 'path'
                                                            ELSE c.changes END,
                                            'version', c.version) END,
               c.type
          FROM pairs c
          CROSS JOIN LATERAL (VALUES
                (CASE WHEN c.path <> c.old_path THEN 'object.moved' END, 1),
                (CASE WHEN c.changes - 'path' <> '{}' THEN 'object.updated' END, 2),
                (CASE WHEN c.state_changed THEN 'state.changed' END, 3)) AS e(type, k)
         WHERE c.changes <> '{}' AND e.type IS NOT NULL
         -- by path: the events of a subtree's move come parent first, so that a consumer
         -- keyed by path moves a folder before what is in it
         ORDER BY c.path, e.k
    ), deltas AS (
        -- Bookkeeping-only updates (readings, monitors) change no field but may change the
        -- instrumented count.
        -- Per actor among the rows that changed a field (their history rows name them); rows
        -- that changed only bookkeeping count no change and are one group.
        INSERT INTO arxos.rating_deltas (building_id, actor, changes, located, documented, with_properties,
                                         instrumented, reason, object_path)
        SELECT b.building_id, coalesce(b.changer, arxos.current_actor()), count(*) FILTER (WHERE b.changes <> '{}'),
               sum(b.located), sum(b.documented), sum(b.with_properties), sum(b.instrumented),
               -- the reason is the statement's (per building), whoever the actors; objects
               -- that bookkeeping alone un-instrumented count too (a type taken out of
               -- sensing_types, many at once: bulk_update; found by a review), those it
               -- instrumented do not (sensor_installed, however many)
               arxos.delta_reason('object_updated',
                                  (sum(count(*) FILTER (WHERE b.changes <> '{}' OR b.instrumented < 0))
                                   OVER w)::bigint,
                                  (sum(sum(b.instrumented)) OVER w)::bigint),
               min(b.path)
          FROM (SELECT c.*, CASE WHEN c.changes <> '{}' THEN c.actor END AS changer FROM pairs c) b
         GROUP BY b.building_id, b.changer
        HAVING count(*) FILTER (WHERE b.changes <> '{}') > 0
            OR (sum(b.located), sum(b.documented), sum(b.with_properties), sum(b.instrumented)) <> (0, 0, 0, 0)
        WINDOW w AS (PARTITION BY b.building_id)
    )
    -- arxos.wake(), inlined.
    SELECT pg_notify('arxos_events', '') INTO bad
     WHERE EXISTS (SELECT 1 FROM pairs)
       AND EXISTS (SELECT 1 FROM arxos.listeners WHERE wants_wake AND expires_at > now());
    RETURN NULL;
END
$$;

CREATE FUNCTION arxos.objects_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    bad record;
BEGIN
    SELECT o.path, o.building_id INTO bad FROM old_rows o
     -- a probe per row, an index range under row-level security too (as in objects_after_update)
     WHERE EXISTS (SELECT 1 FROM arxos.objects x
                    WHERE x.building_id = o.building_id
                      AND x.path >= arxos.path_lower(o.path) AND x.path < arxos.path_upper(o.path)
                   OFFSET 0)
     LIMIT 1;
    IF FOUND THEN
        -- naming one that is left (found by an audit: a DELETE of a whole subtree that missed a
        -- child another transaction added deep inside named the subtree's root alone)
        RAISE EXCEPTION 'object % has children (% is left)', bad.path,
            (SELECT x.path FROM arxos.objects x
              WHERE x.building_id = bad.building_id
                AND x.path >= arxos.path_lower(bad.path) AND x.path < arxos.path_upper(bad.path)
              ORDER BY x.path LIMIT 1)
            USING ERRCODE = '2BP01', HINT = 'delete the subtree with arxos.rm(building, path, recursive => true)';
    END IF;
    -- As for moves (objects_after_update); objects deleted with their building leave nothing.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        IF EXISTS (SELECT 1 FROM old_rows o JOIN arxos.buildings b ON b.id = o.building_id) THEN
            PERFORM arxos.refuse_snapshot_isolation('deleted');
        END IF;
    END IF;

    -- Objects deleted with their building (ON DELETE CASCADE) leave no trace: the building's
    -- history goes too.
    WITH history AS (
        INSERT INTO arxos.object_history (building_id, object_id, path, op, actor, changes)
        SELECT o.building_id, o.id, o.path, 'delete', arxos.current_actor(), arxos.object_snapshot(o, 'before')
          FROM old_rows o
         WHERE EXISTS (SELECT 1 FROM arxos.buildings b WHERE b.id = o.building_id)
    ), outbox AS (
        INSERT INTO arxos.events_pending (type, building_id, object_id, path, actor, body, object_type)
        SELECT 'object.deleted', o.building_id, o.id, o.path, arxos.current_actor(),
               arxos.object_event(o), o.type
          FROM old_rows o
         WHERE EXISTS (SELECT 1 FROM arxos.buildings b WHERE b.id = o.building_id)
         -- a folder's contents before the folder (a recursive delete)
         ORDER BY o.building_id, o.path DESC
    ), deltas AS (
        INSERT INTO arxos.rating_deltas (building_id, changes, objects, located, documented,
                                         with_properties, instrumented, reason, object_path)
        SELECT o.building_id, count(*), -count(*),
               -count(*) FILTER (WHERE o.x IS NOT NULL),
               -count(*) FILTER (WHERE o.status <> 'unknown'),
               -count(*) FILTER (WHERE o.properties <> '{}'),
               -count(*) FILTER (WHERE o.instrumented),
               arxos.delta_reason('object_removed', count(*), -count(*) FILTER (WHERE o.instrumented)),
               min(o.path)
          FROM old_rows o
         WHERE EXISTS (SELECT 1 FROM arxos.buildings b WHERE b.id = o.building_id)
         GROUP BY o.building_id
    )
    -- arxos.wake(), inlined.
    SELECT pg_notify('arxos_events', '') INTO bad
     WHERE EXISTS (SELECT 1 FROM old_rows)
       AND EXISTS (SELECT 1 FROM arxos.listeners WHERE wants_wake AND expires_at > now());
    -- Connections deleted earlier in this statement, before these objects (connections_after_delete
    -- marks from which event on): their events get the paths of the ends deleted here.
    IF coalesce(current_setting('arxos.connection_ends_missing', true), '') <> '' THEN
        PERFORM arxos.fill_connection_ends(current_setting('arxos.connection_ends_missing')::bigint);
        PERFORM set_config('arxos.connection_ends_missing', '', true);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER objects_after_insert AFTER INSERT ON arxos.objects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.objects_after_insert();
CREATE TRIGGER objects_after_update AFTER UPDATE ON arxos.objects
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.objects_after_update();
CREATE TRIGGER objects_after_delete AFTER DELETE ON arxos.objects
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.objects_after_delete();

-- Editing the sensing types re-derives the instrumented flag (and instrumented_until) of every
-- object whose state it changes; the row trigger does the deriving. Object writes wait for the
-- edit to commit (SHARE ROW EXCLUSIVE: writers and other edits wait, readers do not), and the
-- edit waits for the writes already running: a write that went on meanwhile would derive its
-- flag from the sensing types as they were, and keep it until written again. Then the UPDATE
-- below (a statement of its own, with a snapshot taken after the wait) sees those writes.
-- Under REPEATABLE READ or SERIALIZABLE it would read the transaction's older snapshot and
-- miss them, so the types are edited under READ COMMITTED only; a writer under those levels
-- whose snapshot predates an edit gets 40001 (objects_before_write).
CREATE FUNCTION arxos.sensing_types_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'sensing types are edited under READ COMMITTED only'
            USING ERRCODE = '55000',
                  HINT = 'a later snapshot must see the objects written meanwhile: SET TRANSACTION ISOLATION LEVEL READ COMMITTED';
    END IF;
    LOCK TABLE arxos.objects IN SHARE ROW EXCLUSIVE MODE;
    UPDATE arxos.objects o SET instrumented = o.instrumented
      FROM (SELECT x.id, x.monitored_by > 0 OR EXISTS (SELECT 1 FROM arxos.sensing_types s WHERE s.type = x.type) AS for_good,
                   CASE WHEN arxos.reading_window_end(x.last_reading_at) > now()
                        THEN arxos.reading_window_end(x.last_reading_at) END AS window_end
              FROM arxos.objects x) d
     WHERE d.id = o.id
       AND (o.instrumented, o.instrumented_until) IS DISTINCT FROM
           (d.for_good OR d.window_end IS NOT NULL, CASE WHEN NOT d.for_good THEN d.window_end END);
    RETURN NULL;
END
$$;
CREATE TRIGGER sensing_types_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON arxos.sensing_types
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.sensing_types_changed();

-- An object's status is one of arxos.statuses, checked by objects_before_write with a probe of
-- the statuses' primary key rather than by a foreign key (its per-row RI trigger cost three
-- times as much, and its error named a constraint). So that no object keeps a status that is
-- gone, a status in use cannot be renamed or deleted. As for the sensing types, object writes
-- wait for the change to commit and the change waits for the writes already running (SHARE ROW
-- EXCLUSIVE); the check after the wait, a statement of its own under READ COMMITTED, sees
-- them. Under REPEATABLE READ or SERIALIZABLE the check would read the transaction's older
-- snapshot, so a status is removed under READ COMMITTED only. Run as the owner: row-level
-- security must not hide the objects that use a status.
CREATE FUNCTION arxos.statuses_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    gone text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- (A statement of its own: TRUNCATE has no old_rows.)
        IF NOT EXISTS (SELECT 1 FROM old_rows r
                        WHERE NOT EXISTS (SELECT 1 FROM arxos.statuses s WHERE s.status = r.status)) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'statuses are renamed or removed under READ COMMITTED only'
            USING ERRCODE = '55000',
                  HINT = 'a later snapshot must see the objects that use them: SET TRANSACTION ISOLATION LEVEL READ COMMITTED';
    END IF;
    -- The extension's own statuses: a new object's (active) and a created parent's (unknown);
    -- without them put and every import fail (found by an audit).
    IF TG_OP = 'TRUNCATE' THEN
        gone := 'active';
    ELSE
        SELECT r.status INTO gone FROM old_rows r
         WHERE r.status IN ('active', 'unknown')
           AND NOT EXISTS (SELECT 1 FROM arxos.statuses s WHERE s.status = r.status)
         LIMIT 1;
    END IF;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION 'status % is the extension''s own: put gives active to new objects and unknown to the parents it creates', arxos.shown(gone)
            USING ERRCODE = '23503', HINT = 'add statuses of your own beside them';
    END IF;
    gone := NULL;
    LOCK TABLE arxos.objects IN SHARE ROW EXCLUSIVE MODE;
    IF TG_OP = 'TRUNCATE' THEN
        SELECT o.status INTO gone FROM arxos.objects o LIMIT 1;
    ELSE
        SELECT r.status INTO gone FROM old_rows r
         WHERE NOT EXISTS (SELECT 1 FROM arxos.statuses s WHERE s.status = r.status)
           AND EXISTS (SELECT 1 FROM arxos.objects o WHERE o.status = r.status)
         LIMIT 1;
    END IF;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION 'status % is in use: objects have it', arxos.shown(gone)
            USING ERRCODE = '23503', HINT = 'give those objects another status first, in a transaction of its own';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER statuses_updated AFTER UPDATE ON arxos.statuses
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.statuses_removed();
CREATE TRIGGER statuses_deleted AFTER DELETE ON arxos.statuses
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.statuses_removed();
CREATE TRIGGER statuses_truncated AFTER TRUNCATE ON arxos.statuses
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.statuses_removed();

-------------------------------------------------------------------------------------------------
-- Connection triggers
-------------------------------------------------------------------------------------------------

CREATE FUNCTION arxos.connections_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.id, NEW.from_id, NEW.to_id, NEW.kind, NEW.building_id)
                            IS DISTINCT FROM (OLD.id, OLD.from_id, OLD.to_id, OLD.kind, OLD.building_id) THEN
        RAISE EXCEPTION 'a connection''s id, building, ends and kind cannot change'
            USING ERRCODE = '22023', HINT = 'disconnect and connect again';
    END IF;
    -- The messages connect gives, rather than the CHECKs' (which name a constraint and show
    -- the whole row); a NULL is left to NOT NULL.
    IF TG_OP = 'INSERT' AND NEW.kind IS NOT NULL THEN
        PERFORM arxos.check_kind(NEW.kind);
    END IF;
    IF TG_OP = 'INSERT' AND NEW.from_id = NEW.to_id THEN
        RAISE EXCEPTION 'an object cannot be connected to itself (%)',
            coalesce((SELECT o.path FROM arxos.objects o WHERE o.id = NEW.from_id), NEW.from_id::text)
            USING ERRCODE = '23514';
    END IF;
    IF jsonb_typeof(NEW.properties) <> 'object' THEN
        RAISE EXCEPTION 'properties must be a JSON object, got a JSON %', jsonb_typeof(NEW.properties)
            USING ERRCODE = '22023';
    END IF;
    -- (Always: a size shortcut would measure a value copied from a table still compressed.)
    -- An equal document written another way (`0e-16383` for `0`, `1.0` for `1`) is no change:
    -- the stored one stays (found by a review: it was stored unchecked, 16 KB of zeros).
    IF TG_OP = 'UPDATE' AND NEW.properties IS NOT DISTINCT FROM OLD.properties THEN
        NEW.properties := OLD.properties;
    ELSE
        PERFORM arxos.check_json('properties', NEW.properties);
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := now();
        NEW.created_by := arxos.current_actor();
    ELSE
        -- Bookkeeping, like an object's: who and when it was made stay as recorded.
        NEW.created_at := OLD.created_at;
        NEW.created_by := OLD.created_by;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER connections_before_write BEFORE INSERT OR UPDATE ON arxos.connections
    FOR EACH ROW EXECUTE FUNCTION arxos.connections_before_write();

-- Sets monitored_by of these objects to their number of `monitors` connections. Only it
-- writes the column (the objects' row trigger keeps it otherwise): it runs as the owner, and
-- it can only ever write the true count, so anyone may call it. The objects are locked first,
-- in path order (the order of the readings' writers, rm and mv: another order deadlocked with
-- a readings batch), and counted in a statement after the lock: under READ COMMITTED that statement
-- sees the connections of a transaction that held the lock and committed meanwhile (a count
-- taken before waiting would lose them). Under REPEATABLE READ the lock gives 40001 instead.
-- `actor` is the caller's (arxos.current_actor() where it is called): run as the owner, the
-- write would otherwise name the owner's role as its actor when the session sets none (found
-- by an audit: a `monitors` connection's rating change was the owner's).
CREATE FUNCTION arxos.recount_monitors(ids uuid[], actor text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
DECLARE
    was text := current_setting('arxos.actor', true);
BEGIN
    IF cardinality(ids) IS DISTINCT FROM 0 AND ids IS NOT NULL THEN
        IF actor IS NOT NULL THEN
            PERFORM set_config('arxos.actor', actor, true);
        END IF;
        -- Called directly, the caller's buildings only, as row-level security would have it
        -- (the owner's rights bypass it): a scoped session cannot lock or write another
        -- tenant's objects with it. From the connection triggers, the statement's objects
        -- (definer_scope_ids).
        PERFORM 1 FROM arxos.objects o
         WHERE o.id = ANY(ids)
           AND ((SELECT arxos.definer_scope_ids()) IS NULL OR o.building_id = ANY ((SELECT arxos.definer_scope_ids())::uuid[]))
         ORDER BY o.building_id, o.path FOR NO KEY UPDATE;
        UPDATE arxos.objects o SET monitored_by = m.n
          FROM (SELECT i.id, (SELECT count(*) FROM arxos.connections c
                               WHERE c.to_id = i.id AND c.kind = 'monitors')::integer AS n
                  FROM unnest(ids) i(id)) m
         WHERE o.id = m.id AND o.monitored_by IS DISTINCT FROM m.n
           AND ((SELECT arxos.definer_scope_ids()) IS NULL OR o.building_id = ANY ((SELECT arxos.definer_scope_ids())::uuid[]));
        IF actor IS NOT NULL THEN
            PERFORM set_config('arxos.actor', coalesce(was, ''), true);
        END IF;
    END IF;
END
$$;

-- The path and type of a connection's end that its statement deleted, from the newest
-- object.deleted event of it (only when `wanted`: an end still there is read from objects).
-- One SQL statement, inlined into the triggers' queries: a probe of a partial index.
CREATE FUNCTION arxos.deleted_end(object_id uuid, wanted boolean)
RETURNS TABLE (path text, object_type text)
LANGUAGE sql STABLE AS $$
    SELECT g.path, g.object_type FROM arxos.events_pending g
     WHERE wanted AND g.type = 'object.deleted' AND g.object_id = deleted_end.object_id
     ORDER BY g.seq DESC LIMIT 1
$$;

-- Fills the ends left without a path in connection.deleted and connection.updated events (from event `since` on)
-- with the paths of the object.deleted events of those ends, written since: what
-- objects_after_delete calls after a statement that deleted connections before their ends.
-- SECURITY DEFINER (the writers may insert events, not change them), and it writes nothing
-- its caller gives: only paths the outbox already holds, into ends that have none.
CREATE FUNCTION arxos.fill_connection_ends(since bigint) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
BEGIN
    UPDATE arxos.events_pending e
       SET path = coalesce(e.path, f.path),
           object_type = coalesce(e.object_type, f.object_type),
           body = jsonb_set(jsonb_set(e.body, '{connection,from}',
                                      coalesce(nullif(e.body #> '{connection,from}', 'null'), to_jsonb(f.path), 'null')),
                            '{connection,to}',
                            coalesce(nullif(e.body #> '{connection,to}', 'null'), to_jsonb(t.path), 'null'))
      FROM arxos.events_pending x
      LEFT JOIN LATERAL (SELECT g.path, g.object_type FROM arxos.events_pending g
                          WHERE g.type = 'object.deleted' AND g.seq >= since
                            AND g.object_id = (x.body #>> '{connection,from_id}')::uuid
                          ORDER BY g.seq DESC LIMIT 1) f ON true
      LEFT JOIN LATERAL (SELECT g.path FROM arxos.events_pending g
                          WHERE g.type = 'object.deleted' AND g.seq >= since
                            AND g.object_id = (x.body #>> '{connection,to_id}')::uuid
                          ORDER BY g.seq DESC LIMIT 1) t ON true
     WHERE x.seq = e.seq AND x.seq >= since AND e.seq >= since
       AND e.type IN ('connection.deleted', 'connection.updated')
       AND (e.body #> '{connection,from}' = 'null' OR e.body #> '{connection,to}' = 'null')
       AND (f.path IS NOT NULL OR t.path IS NOT NULL);
END
$$;

CREATE FUNCTION arxos.connections_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    bad record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
        RETURN NULL;
    END IF;
    -- The objects are looked up by per-row probes of their primary key (LATERAL … OFFSET 0 is
    -- never turned into a join), whatever the statistics say: an import writes objects and
    -- connections in one transaction, and an ANALYZE in between sees none of those objects.
    -- An end the writer cannot see (row-level security hides other buildings' objects; the
    -- foreign key, checked as the owner, found it) is in another building too.
    SELECT n.id INTO bad FROM new_rows n
      LEFT JOIN LATERAL (SELECT f.building_id FROM arxos.objects f WHERE f.id = n.from_id OFFSET 0) f ON true
      LEFT JOIN LATERAL (SELECT t.building_id FROM arxos.objects t WHERE t.id = n.to_id OFFSET 0) t ON true
     WHERE f.building_id IS DISTINCT FROM n.building_id OR t.building_id IS DISTINCT FROM n.building_id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a connection joins two objects of its own building' USING ERRCODE = '23514';
    END IF;

    INSERT INTO arxos.events_pending (type, building_id, object_id, path, actor, body)
    SELECT 'connection.created', n.building_id, n.from_id, f.path, n.created_by,
           jsonb_build_object('connection', jsonb_build_object(
               'id', n.id, 'from', f.path, 'to', t.path, 'from_id', n.from_id, 'to_id', n.to_id,
               'kind', n.kind, 'properties', n.properties))
      FROM new_rows n
      CROSS JOIN LATERAL (SELECT f.path FROM arxos.objects f WHERE f.id = n.from_id OFFSET 0) f
      CROSS JOIN LATERAL (SELECT t.path FROM arxos.objects t WHERE t.id = n.to_id OFFSET 0) t
     -- a statement's events in a fixed order (by the ends' paths and the kind, as a
     -- statement's object events come by path), not the order the plan happened to touch the
     -- rows in (found when a plan change swapped two events in pg_regress; ids within one
     -- millisecond are random)
     ORDER BY f.path, t.path, n.kind;

    -- (only when a monitors connection came: a SECURITY DEFINER call costs its settings)
    PERFORM arxos.recount_monitors(m.ids, arxos.current_actor())
       FROM (SELECT ARRAY(SELECT DISTINCT n.to_id FROM new_rows n WHERE n.kind = 'monitors') AS ids) m
      WHERE m.ids <> '{}';
    PERFORM arxos.wake();
    RETURN NULL;
END
$$;

-- The ends of connections a statement deleted or changed, locked (FOR KEY SHARE, as connect
-- and the foreign keys lock them) in path order before their paths are read into the events:
-- a concurrent move of an end is waited for, and the event, numbered after the move's,
-- names the end where the move put it (found by a concurrency review: a connection.deleted
-- named an end's path from before a move numbered ahead of it, and a consumer following the
-- new path never saw the delete). Ends the statement deleted itself are not visible and are
-- passed over.
-- (plpgsql: PERFORM reads every row, where a SQL function's last SELECT stops at the first)
CREATE FUNCTION arxos.lock_connection_ends(ids uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM arxos.objects o WHERE o.id = ANY (ids) ORDER BY o.path COLLATE "C" FOR KEY SHARE;
END
$$;

CREATE FUNCTION arxos.connections_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    missing bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
        RETURN NULL;
    END IF;
    PERFORM arxos.lock_connection_ends(ARRAY(SELECT d.from_id FROM old_rows d UNION SELECT d.to_id FROM old_rows d));
    -- Connections removed together with their objects report the object paths as they were.
    -- The cascade's triggers run after the objects' own statement trigger (a foreign key's
    -- actions queue their triggers until the outer statement's have fired), when the deleted
    -- ends can no longer be read; their paths are taken from the object.deleted events that
    -- trigger just wrote (the newest for the object), one probe of a partial index per
    -- missing end.
    WITH written AS (
    INSERT INTO arxos.events_pending (type, building_id, object_id, path, actor, body, object_type)
    SELECT 'connection.deleted', d.building_id, d.from_id, coalesce(f.path, gf.path), arxos.current_actor(),
           jsonb_build_object('connection', jsonb_build_object(
               'id', d.id, 'from', coalesce(f.path, gf.path), 'to', coalesce(t.path, gt.path),
               'from_id', d.from_id, 'to_id', d.to_id, 'kind', d.kind)),
           gf.object_type
      FROM old_rows d
      LEFT JOIN LATERAL (SELECT f.path FROM arxos.objects f WHERE f.id = d.from_id OFFSET 0) f ON true
      LEFT JOIN LATERAL (SELECT t.path FROM arxos.objects t WHERE t.id = d.to_id OFFSET 0) t ON true
      LEFT JOIN LATERAL arxos.deleted_end(d.from_id, f.path IS NULL) gf ON true
      LEFT JOIN LATERAL arxos.deleted_end(d.to_id, t.path IS NULL) gt ON true
     WHERE EXISTS (SELECT 1 FROM arxos.buildings b WHERE b.id = d.building_id)
     -- as connections_after_insert orders them (ends not found yet last)
     ORDER BY coalesce(f.path, gf.path), coalesce(t.path, gt.path), d.kind, d.id
    RETURNING seq, body
    )
    -- An end deleted by the same statement whose own trigger has not run yet (a writable CTE
    -- that deletes the connections before their objects): no path to be found yet.
    -- objects_after_delete fills these events in (from this seq on) once it has the rows.
    SELECT min(w.seq) INTO missing FROM written w
     WHERE w.body #> '{connection,from}' = 'null' OR w.body #> '{connection,to}' = 'null';
    IF missing IS NOT NULL AND coalesce(current_setting('arxos.connection_ends_missing', true), '') = '' THEN
        PERFORM set_config('arxos.connection_ends_missing', missing::text, true);
    END IF;

    PERFORM arxos.recount_monitors(m.ids, arxos.current_actor())
       FROM (SELECT ARRAY(SELECT DISTINCT d.to_id FROM old_rows d WHERE d.kind = 'monitors') AS ids) m
      WHERE m.ids <> '{}';
    PERFORM arxos.wake();
    RETURN NULL;
END
$$;

-- Only a connection's properties can change (connections_before_write refuses the rest).
-- An end deleted by the same statement (a writable CTE that updates connections and deletes
-- an end) is named as connections_after_delete names it: from its object.deleted event, or,
-- when that is not written yet, filled in by objects_after_delete (found by a review: the
-- event carried a null end and no path).
CREATE FUNCTION arxos.connections_after_update() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    missing bigint;
    events  bigint;
BEGIN
    PERFORM arxos.lock_connection_ends(ARRAY(SELECT n.from_id FROM new_rows n UNION SELECT n.to_id FROM new_rows n));
    WITH written AS (
    INSERT INTO arxos.events_pending (type, building_id, object_id, path, actor, body, object_type)
    SELECT 'connection.updated', n.building_id, n.from_id, coalesce(f.path, gf.path), arxos.current_actor(),
           jsonb_build_object('connection', jsonb_build_object(
               'id', n.id, 'from', coalesce(f.path, gf.path), 'to', coalesce(t.path, gt.path),
               'from_id', n.from_id, 'to_id', n.to_id, 'kind', n.kind, 'properties', n.properties),
               'changes', jsonb_build_object('properties',
                   jsonb_build_object('before', n.old_properties, 'after', n.properties))),
           gf.object_type
      -- paired by a full join, never a nested loop (objects_after_update says why)
      FROM (SELECT n.*, o.properties AS old_properties
              FROM new_rows n FULL JOIN old_rows o ON o.id = n.id OFFSET 0) n
      LEFT JOIN LATERAL (SELECT f.path FROM arxos.objects f WHERE f.id = n.from_id OFFSET 0) f ON true
      LEFT JOIN LATERAL (SELECT t.path FROM arxos.objects t WHERE t.id = n.to_id OFFSET 0) t ON true
      LEFT JOIN LATERAL arxos.deleted_end(n.from_id, f.path IS NULL) gf ON true
      LEFT JOIN LATERAL arxos.deleted_end(n.to_id, t.path IS NULL) gt ON true
     WHERE n.properties IS DISTINCT FROM n.old_properties
     ORDER BY coalesce(f.path, gf.path), coalesce(t.path, gt.path), n.kind  -- as connections_after_insert orders them
    RETURNING seq, body
    )
    SELECT min(w.seq) FILTER (WHERE w.body #> '{connection,from}' = 'null' OR w.body #> '{connection,to}' = 'null'),
           count(*)
      INTO missing, events FROM written w;
    IF missing IS NOT NULL AND coalesce(current_setting('arxos.connection_ends_missing', true), '') = '' THEN
        PERFORM set_config('arxos.connection_ends_missing', missing::text, true);
    END IF;
    IF events > 0 THEN
        PERFORM arxos.wake();
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER connections_after_insert AFTER INSERT ON arxos.connections
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.connections_after_insert();
CREATE TRIGGER connections_after_update AFTER UPDATE ON arxos.connections
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.connections_after_update();
CREATE TRIGGER connections_after_delete AFTER DELETE ON arxos.connections
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.connections_after_delete();

-- A building's bookkeeping is the triggers': created_at is set once, updated_at follows the
-- building's own fields, and first_object_at belongs to the rating engine (the sequencer's fold
-- sets it, with the owner's rights): nobody else may change it. The extension's owner keeps
-- what it inserts (a DBA's restore of rows); for anyone else a new building starts now, with
-- no first object (found by an audit: a plain INSERT set first_object_at and created_at, which
-- an UPDATE may not, and a building "documented since 2001" rated higher).
CREATE FUNCTION arxos.buildings_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    owner boolean := pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                   WHERE c.oid = 'arxos.buildings'::regclass), 'USAGE');
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT owner THEN
            NEW.created_at := now();
            NEW.updated_at := now();
            NEW.first_object_at := NULL;
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.first_object_at IS DISTINCT FROM OLD.first_object_at AND NOT owner THEN
        RAISE EXCEPTION 'first_object_at of building % is kept by the rating engine', OLD.key
            USING ERRCODE = '42501';
    END IF;
    IF NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'a building''s id cannot change (building %)', OLD.key USING ERRCODE = '22023';
    END IF;
    -- A new key renames every URL, filter and key limit that names the building: an admin's
    -- decision (an admin key checked in this transaction, or the owner's session), here rather
    -- than only in the shim's choice of scope (found by a review).
    IF NEW.key <> OLD.key AND NOT owner THEN
        PERFORM arxos.admin_call('renaming a building');
    END IF;
    NEW.created_at := OLD.created_at;
    IF (NEW.key, NEW.name, NEW.address, NEW.latitude, NEW.longitude) IS DISTINCT FROM
       (OLD.key, OLD.name, OLD.address, OLD.latitude, OLD.longitude) THEN
        NEW.updated_at := now();
    ELSE
        NEW.updated_at := OLD.updated_at;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER buildings_before_write BEFORE INSERT OR UPDATE ON arxos.buildings
    FOR EACH ROW EXECUTE FUNCTION arxos.buildings_before_write();

-- A building's own fields, as its events carry them (bookkeeping left out).
CREATE FUNCTION arxos.building_fields(b arxos.buildings) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object('id', b.id, 'key', b.key, 'name', b.name, 'address', b.address,
                              'latitude', b.latitude, 'longitude', b.longitude)
$$;

-- building.created and building.updated (the fields that changed, before and after; updates of
-- bookkeeping alone, such as the rating engine's first_object_at, are not events), and a new
-- building's initial rating.
CREATE FUNCTION arxos.buildings_after_write() RETURNS trigger
-- extra_float_digits 1: the events' latitude and longitude keep every digit
LANGUAGE plpgsql SET extra_float_digits = 1 AS $$
#variable_conflict use_column
DECLARE
    renamed uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- An empty delta: the sequencer records the new building's initial rating (5.000, the
        -- empty building's) as of its creation, by its creator.
        INSERT INTO arxos.rating_deltas (building_id, reason)
        SELECT n.id, 'initial_rating' FROM new_rows n;
        INSERT INTO arxos.events_pending (type, building_id, actor, body)
        SELECT 'building.created', n.id, arxos.current_actor(),
               jsonb_build_object('building', arxos.building_fields(n))
          FROM new_rows n;
        -- A new building may take the key of a deleted one, which the shims' remembered key
        -- checks may still name (found by an audit: a key limited to the deleted building was
        -- answered as before for up to --key-cache-seconds): they forget them, as on a rename.
        -- Buildings are created rarely; the notice costs one per creating transaction.
        PERFORM pg_notify('arxos_keys', '*');
    ELSE
        -- webhooks filtered on a renamed building keep its new key; and the shims forget the
        -- key checks they remember, which name buildings by key (arxos_keys '*': found by an
        -- audit, a limited key got 404 for the old key on one replica, 403 on another)
        renamed := ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.key <> o.key);
        IF cardinality(renamed) > 0 THEN
            PERFORM arxos.webhooks_follow_key(renamed);
            PERFORM pg_notify('arxos_keys', '*');
        END IF;
        INSERT INTO arxos.events_pending (type, building_id, actor, body)
        SELECT 'building.updated', c.id, arxos.current_actor(), jsonb_build_object('changes', c.changes)
          FROM (SELECT n.id,
                       (SELECT jsonb_object_agg(a.key, jsonb_build_object('before', b.value, 'after', a.value))
                          FROM jsonb_each(arxos.building_fields(n)) a
                          JOIN jsonb_each(arxos.building_fields(o)) b ON b.key = a.key
                         WHERE a.value IS DISTINCT FROM b.value) AS changes
                  FROM new_rows n FULL JOIN old_rows o ON o.id = n.id) c  -- see objects_after_update
         WHERE c.changes IS NOT NULL;
    END IF;
    IF FOUND THEN
        PERFORM arxos.wake();
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER buildings_after_insert AFTER INSERT ON arxos.buildings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.buildings_after_write();
CREATE TRIGGER buildings_after_update AFTER UPDATE ON arxos.buildings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.buildings_after_write();

-- A deleted building takes its object history with it (object_history has no foreign key), and
-- its objects go without events of their own (objects_after_delete): one building.deleted
-- event, with the building's fields, says it all.
CREATE FUNCTION arxos.buildings_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    DELETE FROM arxos.object_history h USING old_rows o WHERE h.building_id = o.id;
    INSERT INTO arxos.events_pending (type, building_id, actor, body)
    SELECT 'building.deleted', o.id, arxos.current_actor(), jsonb_build_object('building', arxos.building_fields(o))
      FROM old_rows o;
    IF FOUND THEN
        PERFORM arxos.wake();
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER buildings_after_delete AFTER DELETE ON arxos.buildings
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION arxos.buildings_after_delete();
