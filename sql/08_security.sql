-- ArxOS schema, part 8: roles, grants and row-level security (see docs/security.md).
--
-- Roles (cluster-wide, created once, never dropped by the extension):
--   arxos_authenticator  what the HTTP shim logs in as (NOLOGIN here: the operator gives it
--                        LOGIN and a password). Member of arxos_api only; per request it runs
--                        SET LOCAL ROLE arxos_api after arxos.authorize() accepted the key.
--   arxos_api            what API requests run as: EXECUTE on the functions, table privileges
--                        limited by row-level security to the key's buildings.
--   arxos_query          what POST /api/query runs as. It logs in by itself (no membership of
--                        anything, so SQL it runs cannot SET ROLE elsewhere), sees only schema
--                        arxos_views, in a READ ONLY transaction.
--   arxos_reader         for BI tools: USAGE on schema arxos_bi and SELECT on its views
--                        (11_bi.sql), and nothing else (no schema arxos, no arxos_views, no
--                        SECURITY DEFINER function).
--
-- Building scope: arxos.authorize() hands the shim the key's buildings; the shim sets
-- arxos.building_ids (comma-separated UUIDs, empty = every building) in the transaction, and
-- the policies below admit only those rows. Requests cannot run SQL of their own as arxos_api,
-- so the setting cannot be forged there. /api/query can set any setting, so its views consult
-- arxos.query_scope instead: a row only arxos_views.begin_query() writes, in a transaction the
-- shim always rolls back.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'arxos_api') THEN
        CREATE ROLE arxos_api NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'arxos_query') THEN
        CREATE ROLE arxos_query NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'arxos_reader') THEN
        CREATE ROLE arxos_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'arxos_authenticator') THEN
        CREATE ROLE arxos_authenticator NOLOGIN NOINHERIT;
    END IF;
END
$$;
GRANT arxos_api TO arxos_authenticator;
ALTER ROLE arxos_query SET search_path = arxos_views, pg_catalog;
-- The query role's spill limit is the operator's to tune: set here only while the role has no
-- value of its own for it, so that a new database's CREATE EXTENSION (a restore, a
-- subscriber, a reinstall) does not loosen what an operator tightened for the whole cluster
-- (found by an operations review). temp_file_limit: what a query may spill to disk (sorts,
-- hashes, materialised results); its memory has no cap of PostgreSQL's own (docs/security.md,
-- "Rate limits, sizes, timeouts, CORS"). Its time limit is the shim's --query-timeout-ms,
-- which a statement_timeout of the role's own only tightens: seeded here as well, it capped
-- every larger flag at 5 s (found by a review).
DO $$
DECLARE
    setting record;
BEGIN
    FOR setting IN SELECT * FROM (VALUES ('temp_file_limit', '1GB')) v(name, value)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) c
                        WHERE s.setrole = 'arxos_query'::regrole AND s.setdatabase = 0
                          AND split_part(c, '=', 1) = setting.name) THEN
            EXECUTE format('ALTER ROLE arxos_query SET %I = %L', setting.name, setting.value);
        END IF;
    END LOOP;
END
$$;
-- Every /api/query session runs as this one role, and a role sees its own sessions' SQL in
-- pg_stat_activity: with the activity of these sessions not tracked, a key cannot read another
-- key's query (and the literals in it) while it runs. Monitoring sees their state, not their
-- text. Both settings are the superuser's to change, so the query role cannot turn them back.
ALTER ROLE arxos_query SET track_activities = off;
-- begin_query takes the API key as a parameter: a server that logs statements must not print it,
-- nor with an error (log_parameter_max_length_on_error, off by default, is there for debugging:
-- a refused authorize of a valid key would write the key to the log).
ALTER ROLE arxos_query SET log_parameter_max_length = 0;
ALTER ROLE arxos_query SET log_parameter_max_length_on_error = 0;
-- The shim's statements carry API keys and webhook secrets as parameters: a server that logs
-- statements (log_min_duration_statement, auto_explain) or their errors must not print their
-- values.
ALTER ROLE arxos_authenticator SET log_parameter_max_length = 0;
ALTER ROLE arxos_authenticator SET log_parameter_max_length_on_error = 0;

-------------------------------------------------------------------------------------------------
-- Authentication and authorization of one request
-------------------------------------------------------------------------------------------------

-- True when the request may see rows of the building: arxos.building_ids is empty or unset
-- (every building), or lists it.
-- The policies below spell the same test out with InitPlans (see "Row-level security").
CREATE FUNCTION arxos.building_allowed(building uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT arxos.scope_ids() IS NULL OR building = ANY (arxos.scope_ids())
$$;

-- Checks an API key for one request: the key exists and is not revoked (else 28000), has the
-- scope (admin ⊇ write ⊇ read; else 42501), and may use the building when one is named
-- (else 42501). For a key limited to buildings an unknown building is refused the same way,
-- so that the key cannot tell which buildings exist; for others it is left for the call itself
-- to report (P0002). A blank building is no building (22023, as every call says), for every
-- key. Admin routes need a key that is not limited to buildings.
CREATE FUNCTION arxos.authorize(api_key text, scope text, building text DEFAULT NULL)
RETURNS TABLE (key_id uuid, owner text, scopes text[], building_ids uuid[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
#variable_conflict use_column
DECLARE
    k   record;
    b   uuid;
BEGIN
    IF scope IS NULL OR scope NOT IN ('read', 'write', 'admin') THEN
        RAISE EXCEPTION 'unknown scope %', arxos.shown(scope) USING ERRCODE = '22023';
    END IF;
    SELECT * INTO k FROM arxos.authenticate(api_key) LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invalid or revoked API key' USING ERRCODE = '28000';
    END IF;
    IF NOT (k.scopes && CASE scope WHEN 'read' THEN ARRAY['read', 'write', 'admin']
                                   WHEN 'write' THEN ARRAY['write', 'admin']
                                   ELSE ARRAY['admin'] END) THEN
        RAISE EXCEPTION 'this API key lacks the % scope', scope USING ERRCODE = '42501',
            HINT = 'its scopes are ' || array_to_string(k.scopes, ', ');
    END IF;
    IF scope = 'admin' AND k.building_ids IS NOT NULL THEN
        RAISE EXCEPTION 'admin operations need a key that is not limited to buildings'
            USING ERRCODE = '42501';
    END IF;
    IF btrim(building) = '' THEN
        -- (a key limited to buildings was let through: the call refused it after, found by a
        -- review)
        RAISE EXCEPTION 'no building given: name it by its key or id' USING ERRCODE = '22023';
    END IF;
    IF building IS NOT NULL AND k.building_ids IS NOT NULL THEN
        IF arxos.uuid_shaped(building) THEN
            SELECT x.id INTO b FROM arxos.buildings x WHERE x.id = building::uuid;
        ELSE
            SELECT x.id INTO b FROM arxos.buildings x WHERE x.key = building;
        END IF;
        -- A deleted building the key was limited to, while the outbox holds its deletion:
        -- its events stay readable to the key (found by a review); any other call meets the
        -- building's absence itself (P0002).
        IF b IS NULL THEN
            b := arxos.deleted_building_id(building);
        END IF;
        IF b IS NULL OR NOT b = ANY (k.building_ids) THEN
            RAISE EXCEPTION 'this API key may not access building %', arxos.shown(building) USING ERRCODE = '42501';
        END IF;
    END IF;
    -- The admin functions ask for this check in their own transaction (arxos.admin_call). A
    -- read-only transaction (a hot standby) records nothing: it can call none of them.
    IF scope = 'admin' AND current_setting('transaction_read_only') = 'off' THEN
        -- Rows of ended transactions go (a committed admin request leaves its row behind),
        -- those another admin check is deleting skipped: a delete that waited would hold up
        -- every admin request behind a long one (an import), and fail under REPEATABLE READ
        -- (found by a review). Left to the next check at those isolation levels.
        IF current_setting('transaction_isolation') = 'read committed' THEN
            DELETE FROM arxos.admin_grants g
             WHERE g.txid IN (SELECT h.txid FROM arxos.admin_grants h
                               WHERE h.txid < pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())
                                 FOR UPDATE SKIP LOCKED);
        END IF;
        INSERT INTO arxos.admin_grants (txid, key_id)
        VALUES (pg_catalog.pg_current_xact_id(), k.key_id)
        ON CONFLICT (txid) DO NOTHING;
    END IF;
    RETURN QUERY SELECT k.key_id, k.owner, k.scopes, k.building_ids;
END
$$;
COMMENT ON FUNCTION arxos.authorize IS
    'Checks an API key, its scope and building for one request; raises 28000 or 42501.';

-------------------------------------------------------------------------------------------------
-- Privileges of arxos_api
-------------------------------------------------------------------------------------------------

GRANT USAGE ON SCHEMA arxos TO arxos_api;
GRANT SELECT, INSERT, UPDATE ON arxos.buildings TO arxos_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON arxos.objects, arxos.connections TO arxos_api;
GRANT SELECT, INSERT ON arxos.object_history, arxos.events_pending TO arxos_api;
-- The rating history is the fold's (SECURITY DEFINER): a request's role reads it (found by an
-- audit: its INSERT let a session of its own write rows the market reads back).
GRANT SELECT ON arxos.rating_history TO arxos_api;
GRANT SELECT ON arxos.events, arxos.event_counter, arxos.event_horizon, arxos.key_generation, arxos.statuses, arxos.sensing_types TO arxos_api;
-- The rating totals are written by the sequencer only (SECURITY DEFINER); requests append
-- deltas.
GRANT SELECT ON arxos.rating_counters, arxos.activity_days, arxos.activity_actors TO arxos_api;
-- Of the deltas a request updates only contribution_id (arxos.contribute names the rating move
-- its writes caused): a delta's counts changed by hand moved a rating no write had moved.
GRANT SELECT, INSERT, UPDATE (contribution_id) ON arxos.rating_deltas TO arxos_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON arxos.listeners TO arxos_api;
GRANT SELECT ON arxos.ratings TO arxos_api;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA arxos TO arxos_api;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA arxos TO arxos_api;

-- Key management and authentication are for the shim and for admins, nobody else.
REVOKE EXECUTE ON FUNCTION arxos.create_api_key(text, text[], text[], text),
                           arxos.list_api_keys(text, integer), arxos.revoke_api_key(uuid),
                           arxos.authenticate(text), arxos.authorize(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION arxos.authorize(text, text, text) TO arxos_authenticator;
GRANT USAGE ON SCHEMA arxos TO arxos_authenticator;

-- The sequencer moves every building's events; it runs with the owner's rights so that a
-- building-scoped request that triggers it does not leave other buildings' events behind.
ALTER FUNCTION arxos.sequence_events(integer, integer, boolean) SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp;
ALTER FUNCTION arxos.lock_sequencer() SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp;
-- recompute_rating folds every building's waiting deltas first (as the sequencer does): a
-- request's role may not write the totals itself. The route has checked the building.
ALTER FUNCTION arxos.recompute_rating(text) SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp;
-- A shim's listener that finds the outbox behind what it published moves the numbering on.
ALTER FUNCTION arxos.skip_event_ids(bigint) SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp;

-- The descendant range of a path: pure string functions that raise nothing and reveal nothing
-- of their argument, so LEAKPROOF. Under row-level security (the shim's roles) only leakproof
-- functions may form an index condition; without it the triggers' "has children" probes of a
-- move or a recursive delete read the whole building for every row (minutes for a subtree of
-- a few thousand objects, where a superuser took a fifth of a second).
ALTER FUNCTION arxos.path_lower(text) LEAKPROOF;
ALTER FUNCTION arxos.path_upper(text) LEAKPROOF;

-- The ratings view computes through arxos.rating(): let it see only what its caller may see.
ALTER VIEW arxos.ratings SET (security_invoker = true);

-------------------------------------------------------------------------------------------------
-- Row-level security: the building scope of a request
-------------------------------------------------------------------------------------------------

-- Every policy admits a row when the request sees every building (arxos.scope_ids() is NULL)
-- or lists the row's building: arxos.building_allowed(building_id), written out so that
-- arxos.scope_ids() is an InitPlan, evaluated once per statement. As a function call per row
-- it read and parsed the setting for every row a scan passed (a count of 200,000 objects took
-- 140 ms of CPU instead of 25), and the planner, which cannot estimate a function's
-- selectivity, guessed that 0.5 % of the rows pass and chose top-N sorts of whole subtrees.
-- The cast keeps `= ANY ((SELECT …))` an array comparison, not `= ANY (subquery)`.

ALTER TABLE arxos.buildings ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.buildings
    USING ((SELECT arxos.scope_ids()) IS NULL OR id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK ((SELECT arxos.scope_ids()) IS NULL OR id = ANY ((SELECT arxos.scope_ids())::uuid[]));

ALTER TABLE arxos.objects ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.objects
    USING ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));

ALTER TABLE arxos.connections ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.connections
    USING ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));

ALTER TABLE arxos.object_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.object_history
    USING ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));

ALTER TABLE arxos.rating_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.rating_history
    USING ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));

-- What the triggers append for the sequencer: the outbox's pending rows and the rating deltas.
-- A request writes them for its own buildings only, so a scoped session cannot queue another
-- building's events or move its rating. Events without a building (webhook.disabled, from the
-- delivery functions) reach only consumers of every building: a scoped session queues and
-- reads none (found by an audit: one queued a building.deleted naming another tenant's
-- building, which every unscoped stream and webhook received, signed; and read pending
-- webhook.disabled reasons naming other tenants' buildings). The readers of the queue (the
-- sequencer, fill_connection_ends) run with the owner's rights.
ALTER TABLE arxos.events_pending ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.events_pending
    USING ((SELECT arxos.scope_ids()) IS NULL
           OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK ((SELECT arxos.scope_ids()) IS NULL
           OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));

ALTER TABLE arxos.rating_deltas ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.rating_deltas
    USING ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]))
    WITH CHECK ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));

-- Events without a building are visible only to requests that see every building (for a
-- scoped request, `NULL = ANY (…)` is not true).
ALTER TABLE arxos.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY building_scope ON arxos.events
    USING ((SELECT arxos.scope_ids()) IS NULL OR building_id = ANY ((SELECT arxos.scope_ids())::uuid[]));

-------------------------------------------------------------------------------------------------
-- /api/query: the views arxos_query can read, and its scope
-------------------------------------------------------------------------------------------------

-- One row per running /api/query transaction, written by arxos_views.begin_query() before the
-- transaction turns read-only and rolled back with it: never committed, unforgeable by the query.
CREATE UNLOGGED TABLE arxos.query_scope (
    txid         xid8 PRIMARY KEY,
    key_id       uuid NOT NULL,
    building_ids uuid[]
);

-- The buildings the current query may see, NULL for every building. In a /api/query
-- transaction: the key's buildings (its query_scope row; NULL for a key limited to none).
-- Elsewhere: every building, except for non-superuser members of arxos_query, who see none.
-- The views below filter with it as InitPlans, evaluated once per statement: as a function
-- of each row's building (a SECURITY DEFINER function, never inlined) it cost about 8 µs a
-- row, and counting 200,000 objects took 1.7 s.
CREATE FUNCTION arxos.query_buildings() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
    SELECT CASE
        WHEN s.txid IS NOT NULL THEN s.building_ids
        WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                      WHERE r.rolname = session_user AND NOT r.rolsuper
                        AND pg_has_role(r.oid, 'arxos_query', 'MEMBER')) THEN '{}'::uuid[]
        END
      FROM (SELECT NULL) one
      LEFT JOIN arxos.query_scope s ON s.txid = pg_current_xact_id_if_assigned()
$$;

CREATE SCHEMA arxos_views;
COMMENT ON SCHEMA arxos_views IS 'The read-only views of POST /api/query (docs/api.md); BI tools read schema arxos_bi (docs/bi.md).';

-- Called by the shim at the start of a /api/query transaction: checks the key (read scope)
-- and records its building scope for the views. Fails in a read-only transaction, so a query
-- cannot call it to widen its own scope.
-- Whether the session's role is one /api/query may run a tenant's SQL as: arxos_query itself
-- (the role docs/security.md sets up: a member of nothing, neither superuser nor BYPASSRLS, its
-- activity untracked and its parameters unlogged by ALTER ROLE settings, which a member role
-- would not have). A server pointed at another role's URL (a superuser's, the authenticator's,
-- a member of arxos_query) would run queries with that role's rights or settings.
-- begin_query refuses otherwise; the shim logs an error at start.
CREATE FUNCTION arxos_views.query_role_fits() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_roles r
         WHERE r.rolname = session_user AND r.rolname = 'arxos_query'
           AND NOT r.rolsuper AND NOT r.rolbypassrls
           AND NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid))
$$;

CREATE FUNCTION arxos_views.begin_query(api_key text)
RETURNS TABLE (key_id uuid, owner text, building_ids uuid[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
#variable_conflict use_column
DECLARE
    k record;
BEGIN
    -- The shim calls it before the transaction turns read-only; a query calling it afterwards
    -- is refused before the key is looked at (else its answer, 28000 or the read-only error,
    -- would tell whether any key is valid, past the failed-authentication limit).
    IF current_setting('transaction_read_only') = 'on' THEN
        RAISE EXCEPTION 'begin_query is the server''s, called before a query, not by one'
            USING ERRCODE = '25006';
    END IF;
    -- The query runs as the session's role (arxos_views.query_role_fits).
    IF NOT arxos_views.query_role_fits() THEN
        RAISE EXCEPTION 'POST /api/query refuses to run as role %: it runs as arxos_query itself, a member of no role, neither superuser nor BYPASSRLS', session_user
            USING ERRCODE = '42501', HINT = 'point --query-database-url at arxos_query (docs/security.md, "Deployment")';
    END IF;
    SELECT * INTO k FROM arxos.authorize(api_key, 'read') LIMIT 1;
    INSERT INTO arxos.query_scope (txid, key_id, building_ids)
    VALUES (pg_current_xact_id(), k.key_id, k.building_ids);
    RETURN QUERY SELECT k.key_id, k.owner, k.building_ids;
END
$$;

CREATE VIEW arxos_views.buildings WITH (security_barrier) AS
    SELECT b.id, b.key, b.name, b.address, b.latitude, b.longitude, b.first_object_at,
           b.created_at, b.updated_at
      FROM arxos.buildings b WHERE ((SELECT arxos.query_buildings()) IS NULL
            OR b.id = ANY ((SELECT arxos.query_buildings())::uuid[]));

CREATE VIEW arxos_views.objects WITH (security_barrier) AS
    SELECT o.id, o.building_id, b.key AS building, o.path::text AS path, o.parent_path::text AS parent_path,
           o.name::text AS name, o.depth, o.type, o.status, o.health, o.needs_repair, o.properties,
           o.metrics, o.x, o.y, o.z, o.floor, o.instrumented, o.last_reading_at, o.created_at,
           o.updated_at, o.created_by, o.updated_by, o.version
      FROM arxos.objects o JOIN arxos.buildings b ON b.id = o.building_id
     WHERE ((SELECT arxos.query_buildings()) IS NULL
            OR o.building_id = ANY ((SELECT arxos.query_buildings())::uuid[]));

CREATE VIEW arxos_views.connections WITH (security_barrier) AS
    SELECT c.id, c.building_id, b.key AS building, f.path::text AS from_path, t.path::text AS to_path,
           c.from_id, c.to_id, c.kind, c.properties, c.created_at, c.created_by
      FROM arxos.connections c
      JOIN arxos.buildings b ON b.id = c.building_id
      JOIN arxos.objects f ON f.id = c.from_id
      JOIN arxos.objects t ON t.id = c.to_id
     WHERE ((SELECT arxos.query_buildings()) IS NULL
            OR c.building_id = ANY ((SELECT arxos.query_buildings())::uuid[]));

CREATE VIEW arxos_views.object_history WITH (security_barrier) AS
    SELECT h.id, h.building_id, b.key AS building, h.object_id, h.path::text AS path, h.op, h.actor,
           h.at, h.changes
      FROM arxos.object_history h JOIN arxos.buildings b ON b.id = h.building_id
     WHERE ((SELECT arxos.query_buildings()) IS NULL
            OR h.building_id = ANY ((SELECT arxos.query_buildings())::uuid[]));

CREATE VIEW arxos_views.events WITH (security_barrier) AS
    SELECT e.id, e.type, e.building_id, e.object_id, e.path::text AS path, e.actor, e.at, e.body
      FROM arxos.events e
     WHERE ((SELECT arxos.query_buildings()) IS NULL
            OR e.building_id = ANY ((SELECT arxos.query_buildings())::uuid[]));

CREATE VIEW arxos_views.rating_history WITH (security_barrier) AS
    SELECT h.id, h.building_id, b.key AS building, h.id AS version, h.old_grade, h.new_grade, h.old_score,
           h.new_score, h.structure, h.inventory, h.metadata, h.sensors, h.history, h.quality,
           h.activity, h.reason, h.object_path, h.contribution_id, h.actor, h.at
      FROM arxos.rating_history h JOIN arxos.buildings b ON b.id = h.building_id
     WHERE ((SELECT arxos.query_buildings()) IS NULL
            OR h.building_id = ANY ((SELECT arxos.query_buildings())::uuid[]));

-- The last recorded rating of each building (arxos.rating() gives the live one).
CREATE VIEW arxos_views.ratings WITH (security_barrier) AS
    SELECT DISTINCT ON (h.building_id) h.building_id, b.key AS building, b.name, h.new_grade AS grade,
           h.new_score AS score, h.structure, h.inventory, h.metadata, h.sensors, h.history,
           h.quality, h.activity, h.id AS version, h.at AS recorded_at
      FROM arxos.rating_history h JOIN arxos.buildings b ON b.id = h.building_id
     WHERE ((SELECT arxos.query_buildings()) IS NULL
            OR h.building_id = ANY ((SELECT arxos.query_buildings())::uuid[]))
     ORDER BY h.building_id, h.id DESC;

CREATE VIEW arxos_views.statuses AS
    SELECT s.status, s.documented, s.description FROM arxos.statuses s;

REVOKE EXECUTE ON FUNCTION arxos.query_buildings(), arxos_views.begin_query(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION arxos.query_buildings() TO arxos_query;
GRANT EXECUTE ON FUNCTION arxos_views.begin_query(text) TO arxos_query;
GRANT USAGE ON SCHEMA arxos_views TO arxos_query;
GRANT SELECT ON ALL TABLES IN SCHEMA arxos_views TO arxos_query;
