-- ArxOS schema, part 14 (after every function exists): who may call the SECURITY
-- DEFINER functions (see docs/security.md, "Roles").
--
-- A SECURITY DEFINER function runs with the extension owner's rights, so whoever may call it
-- may do what it does (write rating history, sequence the outbox, manage webhooks, drop
-- readings partitions). PostgreSQL grants EXECUTE on every new function to PUBLIC; for these
-- functions that grant is taken back here, whatever file created them, and each role keeps
-- only what it is given explicitly:
--   arxos_api            the functions the API's routes call (GRANT … ON ALL FUNCTIONS in
--                        08_security.sql and 13_readings.sql, less those revoked below);
--                        requests run only the shim's own statements, each behind
--                        arxos.authorize's check of the key's scope and building.
--   arxos_authenticator  arxos.authorize (08_security.sql), the webhook delivery functions
--                        (12_webhooks.sql), and below: arxos.tick, arxos.tick_batch and
--                        arxos.readings_maintenance (the shim's ticker),
--                        arxos.sequence_events (its listener, through arxos.events_since)
--                        and arxos.skip_event_ids (its listener, after a restore).
--   arxos_query          arxos.query_buildings and arxos_views.begin_query (08_security.sql).
--   arxos_reader         none: it reads the views of schema arxos_bi (11_bi.sql), which run
--                        with their owner's rights; its statements cost what they read (give
--                        BI logins a statement_timeout, docs/bi.md).
-- The other functions run with their caller's rights, so EXECUTE on them gives nothing that
-- the caller's table privileges do not.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
              WHERE p.pronamespace IN ('arxos'::regnamespace, 'arxos_views'::regnamespace)
                AND p.prosecdef
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION arxos.tick(timestamptz), arxos.tick_batch(uuid, integer, timestamptz),
                          arxos.readings_maintenance(),
                          arxos.sequence_events(integer, integer, boolean),
                          arxos.skip_event_ids(bigint) TO arxos_authenticator;
-- The admin guard reads admin_grants as the owner, and only answers true or refuses: every
-- caller may ask it (found by a review: a login with table grants got "permission denied for
-- function admin_call" instead of its refusal).
GRANT EXECUTE ON FUNCTION arxos.admin_call(text) TO PUBLIC;
-- The sealing of webhook secrets (secrets.rs): only the webhook functions above, which run as
-- the extension's owner, open or seal a secret; nobody calls these directly.
REVOKE EXECUTE ON FUNCTION arxos.seal_secret(bytea), arxos.open_secret(bytea),
                           arxos.secret_problem(bytea), arxos.secret_key_id(),
                           arxos.reseal_secret(bytea, text)
      FROM PUBLIC, arxos_api;
-- What no request calls and only the owner or the shim's login role runs: the clock
-- (tick), the readings' partition upkeep and retention, and the outbox's renumbering.
REVOKE EXECUTE ON FUNCTION arxos.tick(timestamptz), arxos.tick_batch(uuid, integer, timestamptz),
                           arxos.readings_maintenance(),
                           arxos.drop_readings_before(timestamptz),
                           arxos.skip_event_ids(bigint) FROM arxos_api;
-- Locks only the extension's own code takes (its SECURITY DEFINER functions call them as the
-- owner): the outbox sequencer's and the serialisation points of rare writes. A session that
-- could take one could sit on it and hold up every event stream, registration or new readings
-- month; a direct call of next_registration_rank would skip a rank.
REVOKE EXECUTE ON FUNCTION arxos.lock_sequencer(), arxos.serialize(text),
                           arxos.next_registration_rank() FROM arxos_api;
-- What no request calls: key authentication and authorisation (the shim's login role runs
-- authorize before it takes the request's role), the webhook worker's functions (the login
-- role runs them) and the secret generator.
REVOKE EXECUTE ON FUNCTION arxos.authenticate(text), arxos.authorize(text, text, text),
                           arxos.webhook_new_secret(),
                           arxos.enqueue_deliveries(integer),
                           arxos.claim_deliveries(text, integer, interval, integer, bigint),
                           arxos.finish_deliveries(text, jsonb, interval[], interval),
                           arxos.disable_failing_webhooks(interval) FROM arxos_api;

-- WAL that a reader could write: PostgreSQL lets every role emit logical decoding messages, in a
-- read-only transaction too, and a non-transactional one stays in the WAL (and reaches logical
-- decoding) whatever the rollback (found by a review: 100 MB of WAL from one POST /api/query,
-- 48 MB from a BI login). No role of the extension uses them; a superuser still may. This
-- changes a catalog function's privileges in this database (docs/security.md).
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, text),
                           pg_catalog.pg_logical_emit_message(boolean, text, bytea) FROM PUBLIC;

-- TRUNCATE fires no row or statement trigger but its own, so on the tables whose triggers keep
-- the invariants (history, events, rating counters, key revocation, the market's books, the
-- outbox's numbering) it would leave them silently wrong: it is refused there, even to the
-- owner. DELETE does the same job through the triggers. The outbox itself (events,
-- events_pending), readings (retention drops their partitions) and the webhook tables may be
-- truncated. A restore or a logical replica applies changes with session_replication_role =
-- replica, where these triggers do not fire.
CREATE FUNCTION arxos.refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of %.% is refused: it would skip the triggers that keep history, events, ratings, key revocation and the books',
        TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = '0A000',
              HINT = CASE TG_TABLE_NAME
                  WHEN 'api_keys' THEN 'revoke keys with arxos.revoke_api_key(id), or DELETE them'
                  WHEN 'objects' THEN 'remove objects with arxos.rm(building, path, recursive => true), or DELETE them'
                  WHEN 'buildings' THEN 'DELETE FROM arxos.buildings WHERE key = …'
                  WHEN 'rating_deltas' THEN 'the sequencer folds them into the totals and deletes them: SELECT arxos.sequence_events()'
                  WHEN 'event_counter' THEN 'its one row numbers the outbox; it is never emptied'
                  WHEN 'event_horizon' THEN 'its one row says how far the outbox was purged; it is never emptied'
                  WHEN 'key_generation' THEN 'its one row counts the changes of API keys; it is never emptied'
                  ELSE CASE WHEN EXISTS (
                           -- the other one-row tables (webhook_cursor, market_settings)
                           SELECT 1 FROM pg_catalog.pg_trigger g
                            WHERE g.tgrelid = TG_RELID
                              AND g.tgfoid = 'arxos.keep_only_row()'::regprocedure)
                       THEN 'its one row is never emptied: UPDATE its values instead'
                       WHEN EXISTS (
                           -- a user trigger that fires on DELETE (tgtype bit 3)
                           SELECT 1 FROM pg_catalog.pg_trigger g
                            WHERE g.tgrelid = TG_RELID AND NOT g.tgisinternal
                              AND g.tgtype::int & 8 <> 0
                              AND g.tgfoid <> 'arxos.refuse_history_change()'::regprocedure)
                       THEN format('DELETE FROM %I.%I does it through the triggers', TG_TABLE_SCHEMA, TG_TABLE_NAME)
                       ELSE 'the extension keeps these rows: they go with their building (DELETE FROM arxos.buildings WHERE key = …)'
                       END END;
END
$$;

-- The audit trail is append-only: object_history and rating_history rows are neither changed
-- nor deleted, except by the extension's own triggers (a deleted building takes its history
-- with it; that DELETE runs inside a trigger, at trigger depth 2). A statement-level check:
-- it costs a statement one call, not one per row.
CREATE FUNCTION arxos.refuse_history_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_catalog.pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'AX023',
              HINT = 'the history goes with its building (DELETE FROM arxos.buildings WHERE key = …)';
END
$$;
CREATE TRIGGER object_history_append_only BEFORE UPDATE OR DELETE ON arxos.object_history
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.refuse_history_change();
CREATE TRIGGER rating_history_append_only BEFORE UPDATE OR DELETE ON arxos.rating_history
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.refuse_history_change();
-- And object_history takes rows from the objects' triggers only: a row inserted by hand
-- would count in the recount (recompute_rating's changes and actors) as a change no write
-- made (found by an adversarial review: 20 forged rows lifted a recount from 39.1 to 47.6).
-- The WHEN is evaluated as the INSERT starts, before any trigger of its own: 0 for a
-- statement of the user's, 1 for the objects' triggers' inserts, which pass without a call.
-- The rating deltas likewise: the sequencer folds them into the totals and records the moves
-- in rating_history, so a row inserted by hand wrote a rating history row no write caused
-- (found by a review: a 1r for an empty building, as the tick). A request updates only their
-- contribution_id (08_security.sql).
CREATE FUNCTION arxos.refuse_history_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is written by the extension''s triggers only: INSERT is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'AX023',
              HINT = CASE TG_TABLE_NAME
                  WHEN 'object_history' THEN 'write the object (INSERT, UPDATE or DELETE on arxos.objects): its history row follows'
                  ELSE 'write the objects, buildings or contributions: their triggers queue the rating''s moves'
                  END;
END
$$;
CREATE TRIGGER object_history_insert_guard BEFORE INSERT ON arxos.object_history
    FOR EACH STATEMENT WHEN (pg_catalog.pg_trigger_depth() = 0)
    EXECUTE FUNCTION arxos.refuse_history_insert();
CREATE TRIGGER rating_deltas_insert_guard BEFORE INSERT ON arxos.rating_deltas
    FOR EACH STATEMENT WHEN (pg_catalog.pg_trigger_depth() = 0)
    EXECUTE FUNCTION arxos.refuse_history_insert();
-- The outbox's events are not changed either (found by an audit: an UPDATE of ids sent an
-- event again under another id, so consumers' de-duplication by webhook-id failed, and of a
-- body, a forged one): they are sequenced, read and purged (DELETE, arxos.purge_events).
CREATE FUNCTION arxos.refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'arxos.events is written by the sequencer only: its rows are not changed'
        USING ERRCODE = 'AX023',
              HINT = 'purge old events with arxos.purge_events(older_than), or DELETE them';
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE ON arxos.events
    FOR EACH STATEMENT EXECUTE FUNCTION arxos.refuse_event_change();
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['buildings', 'objects', 'connections', 'object_history', 'api_keys',
                             'event_counter', 'event_horizon', 'key_generation', 'rating_counters', 'activity_days', 'activity_actors',
                             'rating_deltas', 'rating_history', 'contributors', 'contributor_badges',
                             'contributions', 'building_pioneers', 'documented_objects', 'verifications', 'accounts',
                             'webhook_cursor', 'market_settings']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON arxos.%I FOR EACH STATEMENT EXECUTE FUNCTION arxos.refuse_truncate()',
                       t || '_no_truncate', t);
    END LOOP;
END
$$;

-- The one-row tables: the outbox's numbering (event_counter), its purge horizon
-- (event_horizon), the count of key changes (key_generation), the webhooks' fan-out position (webhook_cursor) and the market's settings
-- keep their row (without it the sequencer numbers nothing, silently, and contribute has no
-- limits); the counters never go back (a lower last_id hands out ids again, 23505 on
-- arxos.events; a lower purged_through hides a purge from consumers resuming before it).
-- A restore (session_replication_role = replica) fires none of these.
CREATE FUNCTION arxos.keep_only_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    counter text := TG_ARGV[0];
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the one row of %.% is never deleted', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = '0A000', HINT = 'UPDATE its values instead';
    END IF;
    IF counter IS NOT NULL
       AND (to_jsonb(NEW) ->> counter)::bigint < (to_jsonb(OLD) ->> counter)::bigint THEN
        RAISE EXCEPTION '%.%.% never goes back (% to %)', TG_TABLE_SCHEMA, TG_TABLE_NAME, counter,
            to_jsonb(OLD) ->> counter, to_jsonb(NEW) ->> counter
            USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER event_counter_kept BEFORE UPDATE OR DELETE ON arxos.event_counter
    FOR EACH ROW EXECUTE FUNCTION arxos.keep_only_row('last_id');
CREATE TRIGGER event_horizon_kept BEFORE UPDATE OR DELETE ON arxos.event_horizon
    FOR EACH ROW EXECUTE FUNCTION arxos.keep_only_row('purged_through');
CREATE TRIGGER key_generation_kept BEFORE UPDATE OR DELETE ON arxos.key_generation
    FOR EACH ROW EXECUTE FUNCTION arxos.keep_only_row('generation');
CREATE TRIGGER webhook_cursor_kept BEFORE DELETE ON arxos.webhook_cursor
    FOR EACH ROW EXECUTE FUNCTION arxos.keep_only_row();
CREATE TRIGGER market_settings_kept BEFORE DELETE ON arxos.market_settings
    FOR EACH ROW EXECUTE FUNCTION arxos.keep_only_row();

-- Trigger functions are the owner's alone: CREATE TRIGGER is what asks for EXECUTE (a trigger
-- fires without that check), so with it a role could attach the owner-rights ones
-- to a temporary table of its own and run them on rows it made up (found by a review: a
-- ledger entry's trigger credited an account a million tokens, the purge horizon moved, the
-- registration rank was set to its end). The extension's own triggers fire as before. At the
-- end of the last file that creates trigger functions, so that it covers them all.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
              WHERE p.pronamespace IN ('arxos'::regnamespace, 'arxos_views'::regnamespace)
                AND p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype)
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, arxos_api', f);
    END LOOP;
END
$$;
