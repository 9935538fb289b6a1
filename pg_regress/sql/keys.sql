-- API keys: shown once, stored hashed, revocable.
\set VERBOSITY terse
SELECT key AS k, prefix FROM arxos.create_api_key('ci', ARRAY['read', 'write'], ARRAY['b42'], 'ci-bot') \gset
SELECT length(:'k') AS key_length, left(:'k', 4) AS key_prefix, :'prefix' = left(:'k', 12) AS prefix_matches;
SELECT count(*) AS stored_in_clear FROM arxos.api_keys WHERE key_hash = convert_to(:'k', 'UTF8') OR prefix = :'k';
SELECT owner, scopes, array_length(building_ids, 1) AS buildings FROM arxos.authenticate(:'k');
SELECT count(*) AS unknown FROM arxos.authenticate('arx_not_a_key');
SELECT name, owner, scopes, buildings, revoked_at IS NULL AS active FROM arxos.list_api_keys();
SELECT generation AS keys_before FROM arxos.key_generation \gset
SELECT arxos.revoke_api_key(id) FROM arxos.api_keys WHERE name = 'ci';
SELECT count(*) AS after_revoke FROM arxos.authenticate(:'k');
-- a change a key check depends on moves the key generation, which the shims' listeners read
-- with their pages of events (the NOTIFY may come after later events); its use does not
SELECT generation - :keys_before AS moved_by_revoke FROM arxos.key_generation;
UPDATE arxos.api_keys SET last_used_at = now() WHERE name = 'ci';
UPDATE arxos.api_keys SET building_ids = '{}' WHERE false;
SELECT generation - :keys_before AS not_moved_by_use FROM arxos.key_generation;
-- at the commit (deferred: the generation's row is locked after the keys' rows), or when the
-- constraint is set immediate
BEGIN;
DELETE FROM arxos.api_keys WHERE name = 'ci';
SELECT generation - :keys_before AS not_before_the_commit FROM arxos.key_generation;
SET CONSTRAINTS arxos.api_keys_deleted IMMEDIATE;
SELECT generation - :keys_before AS moved_by_delete FROM arxos.key_generation;
ROLLBACK;
SELECT has_table_privilege('arxos_api', 'arxos.key_generation', 'SELECT') AS api_reads_it,
       has_table_privilege('arxos_authenticator', 'arxos.key_generation', 'SELECT') AS listener_reads_it,
       has_table_privilege('arxos_api', 'arxos.key_generation', 'UPDATE') AS api_moves_it;
SELECT arxos.create_api_key('bad', ARRAY['root']);
SELECT arxos.create_api_key('bad', ARRAY['read'], ARRAY['nope']);
-- lists are one-dimensional (found by an audit: a 2-D building list was 0A000 from deep
-- inside, 2-D scopes were stored as given, 2-D webhook types shown nested)
SELECT regress.try($$SELECT arxos.create_api_key('bad', '{{read},{write}}')$$) AS two_d_scopes;
SELECT regress.try($$SELECT arxos.create_api_key('bad', '{read}', '{{b42},{b42}}')$$) AS two_d_buildings;
SELECT regress.try($$SELECT arxos.create_webhook('https://example.com/hook', '{{object.created}}')$$) AS two_d_types;
SELECT regress.try($$SELECT count(*) FROM arxos.events_since(0, types => '{{object.created}}')$$) AS two_d_types_read;
-- an empty list (or a NULL in it) is not "every building": refused, in the function and the table
SELECT arxos.create_api_key('bad', ARRAY['admin'], ARRAY[]::text[]);
SELECT arxos.create_api_key('bad', ARRAY['admin'], ARRAY[NULL]::text[]);
SELECT arxos.create_api_key('bad', ARRAY['read', 'admin'], ARRAY['b42']);
-- buildings are given by key or id; a building deleted since is listed by its id (the key stays
-- limited: NULL would read as "every building")
BEGIN;
SELECT arxos.create_building('gone', 'Gone') AS gone_id \gset
SELECT prefix IS NOT NULL AS created
  FROM arxos.create_api_key('by-id', ARRAY['read'], ARRAY[upper(arxos.building_id('b42')::text), 'gone']);
SELECT buildings = ARRAY['b42', 'gone'] AS listed_by_key FROM arxos.list_api_keys() WHERE name = 'by-id';
-- an id in any form PostgreSQL reads (found by a review: without hyphens it was unknown)
SELECT prefix IS NOT NULL AS created_by_compact_id
  FROM arxos.create_api_key('by-compact-id', ARRAY['read'], ARRAY[replace(arxos.building_id('b42')::text, '-', '')]);
SELECT buildings = ARRAY['b42'] AS compact_listed_by_key FROM arxos.list_api_keys() WHERE name = 'by-compact-id';
DELETE FROM arxos.buildings WHERE key = 'gone';
SELECT buildings = ARRAY['b42', :'gone_id'] AS deleted_listed_by_id FROM arxos.list_api_keys() WHERE name = 'by-id';
ROLLBACK;
-- scopes are stored once each, in the order read, write, admin
SELECT prefix IS NOT NULL AS created FROM arxos.create_api_key('dup', ARRAY['write', 'read', 'read']);
SELECT scopes FROM arxos.list_api_keys() WHERE name = 'dup';
-- the listing pages by creation: after the place (created_at,id) of the last key of a page,
-- whether or not that key still exists; a place that is not one is refused
SELECT count(*) = (SELECT count(*) FROM arxos.api_keys) - 1 AS rest_after_first
  FROM arxos.list_api_keys(after => (SELECT (to_jsonb(created_at) #>> '{}') || ',' || id FROM arxos.list_api_keys(max => 1)));
SELECT count(*) AS one FROM arxos.list_api_keys(max => 1);
SELECT count(*) AS none_after_a_future_place FROM arxos.list_api_keys(after => '2999-01-01T00:00:00Z,00000000-0000-0000-0000-000000000000');
SELECT arxos.list_api_keys(after => 'x');
SELECT arxos.list_api_keys(after => '2026-12-06,00000000-0000-0000-0000-000000000000,x');
SELECT arxos.list_api_keys(max => -1);
-- an owner is not `system` (the server's own writes) nor a database role's name (the actor of
-- a session that sets none), given or defaulted from the name
SELECT regress.try($$SELECT arxos.create_api_key('ops', ARRAY['read'], owner => 'system')$$) AS system_owner;
SELECT regress.try($$SELECT arxos.create_api_key('postgres', ARRAY['read'])$$) AS role_name;
SELECT regress.try($$SELECT arxos.create_api_key('ops', ARRAY['read'], owner => 'arxos_api')$$) AS api_role;
SELECT regress.try($$SELECT arxos.create_api_key('ops', ARRAY['read'], owner => 'System')$$) AS any_case;
-- keys of one owner act as one actor: an owner defaulted from the name does not join keys of
-- other building limits (two tenants' "gateway" keys), revoked ones included (their
-- contributors remain), nor contributors registered by no key of those limits; an explicit
-- owner shares on purpose, and a rotation (same name, same limits) keeps the owner
BEGIN;
SELECT prefix IS NOT NULL AS created FROM arxos.create_api_key('gateway', ARRAY['read'], ARRAY['b42']);
SELECT prefix IS NOT NULL AS same_limits FROM arxos.create_api_key('gateway', ARRAY['read', 'write'], ARRAY['b42']);
SELECT regress.try($$SELECT arxos.create_api_key('gateway', ARRAY['read'])$$) AS every_building;
SELECT prefix IS NOT NULL AS shared_on_purpose FROM arxos.create_api_key('gateway', ARRAY['read'], owner => 'gateway');
UPDATE arxos.api_keys SET revoked_at = now() WHERE owner = 'gateway';
SELECT regress.try($$SELECT arxos.create_api_key('gateway', ARRAY['read'], ARRAY['b42'])$$) AS other_limits_after_revocation;
ROLLBACK;
BEGIN;
SELECT prefix IS NOT NULL AS created FROM arxos.create_api_key('rotating', ARRAY['read'], ARRAY['b42']);
UPDATE arxos.api_keys SET revoked_at = now() WHERE owner = 'rotating';
SELECT prefix IS NOT NULL AS rotated FROM arxos.create_api_key('rotating', ARRAY['read', 'write'], ARRAY['b42']);
ROLLBACK;
BEGIN;
SELECT set_config('arxos.actor', 'fieldcrew', true) = 'fieldcrew' AS acting,
       arxos.register_contributor('crew-one', 'Crew one') IS NOT NULL AS registered;
SELECT regress.try($$SELECT arxos.create_api_key('fieldcrew', ARRAY['read'])$$) AS contributors_of_no_key;
ROLLBACK;
-- names and owners are labels
SELECT arxos.create_api_key('', ARRAY['read']);
SELECT arxos.create_api_key('ok', ARRAY['read'], owner => E'evil\nowner');
UPDATE arxos.api_keys SET owner = ' ' WHERE name = 'ci';
UPDATE arxos.api_keys SET scopes = ARRAY['admin'] WHERE name = 'ci';
UPDATE arxos.api_keys SET building_ids = '{}' WHERE name = 'ci';
DELETE FROM arxos.api_keys;
-- the shim's login role: statement logs never print parameter values (keys, secrets)
SELECT unnest(setconfig) AS authenticator_setting FROM pg_db_role_setting
 WHERE setrole = 'arxos_authenticator'::regrole ORDER BY 1;
-- Only the shim's login role checks keys: a request's role (arxos_api) cannot, so a session
-- whose identity was not reset fails loudly instead of checking another key
SELECT has_function_privilege('arxos_api', 'arxos.authorize(text, text, text)', 'EXECUTE') AS api_authorizes,
       has_function_privilege('arxos_authenticator', 'arxos.authorize(text, text, text)', 'EXECUTE') AS login_authorizes;
-- the admin functions act on every building: a session limited to some (a scoped key's) may
-- not call them (a guard against a routing mistake of the shim's), every one of them
GRANT USAGE ON SCHEMA regress TO arxos_api;
BEGIN;
SET LOCAL ROLE arxos_api;
SELECT set_config('arxos.building_ids', (SELECT id::text FROM arxos.buildings WHERE key = 'b42'), true) IS NOT NULL AS scoped;
SELECT left(regress.try(q), 60) AS refused
  FROM unnest(ARRAY[
         $$SELECT arxos.create_api_key('escalate', ARRAY['admin'])$$,
         $$SELECT arxos.list_api_keys()$$,
         $$SELECT arxos.revoke_api_key(gen_random_uuid())$$,
         $$SELECT arxos.create_webhook('https://example.com/hook')$$,
         $$SELECT arxos.list_webhooks()$$,
         $$SELECT arxos.get_webhook(gen_random_uuid())$$,
         $$SELECT arxos.patch_webhook(gen_random_uuid(), '{}')$$,
         $$SELECT arxos.delete_webhook(gen_random_uuid())$$,
         $$SELECT arxos.rotate_webhook_secret(gen_random_uuid())$$,
         $$SELECT arxos.test_webhook(gen_random_uuid())$$,
         $$SELECT arxos.webhook_deliveries(gen_random_uuid())$$,
         $$SELECT arxos.retry_webhook_delivery(gen_random_uuid(), 1)$$]) WITH ORDINALITY AS u(q, n)
 ORDER BY n;
-- recompute_rating runs as the owner, past row-level security: a request limited to b42 finds
-- no other building there either
RESET ROLE;
SELECT set_config('arxos.building_ids', '', true) = '' AS unscoped, arxos.create_building('kx', 'KX') IS NOT NULL AS other_building;
SET LOCAL ROLE arxos_api;
SELECT set_config('arxos.building_ids', (SELECT id::text FROM arxos.buildings WHERE key = 'b42'), true) IS NOT NULL AS scoped;
SELECT left(regress.try($$SELECT arxos.recompute_rating('kx')$$), 40) AS other_refused,
       (arxos.recompute_rating('b42')).grade IS NOT NULL AS own_recomputed;
ROLLBACK;
-- The shim's login role may take the API's role, but the admin functions also want an admin
-- key checked by arxos.authorize in the same transaction (found by an audit: the login alone
-- minted admin keys, which outlive a change of its password). The owner's session needs none.
SELECT key AS admin_key FROM arxos.create_api_key('regress-admin', ARRAY['admin']) \gset
SELECT key AS write_key FROM arxos.create_api_key('regress-write', ARRAY['write']) \gset
SET SESSION AUTHORIZATION arxos_authenticator;
BEGIN;
SET LOCAL ROLE arxos_api;
SELECT left(regress.try(q), 110) AS login_refused
  FROM unnest(ARRAY[
         $$SELECT arxos.create_api_key('escalate', ARRAY['admin'])$$,
         $$SELECT arxos.list_api_keys()$$,
         $$SELECT arxos.list_webhooks()$$,
         $$SELECT arxos.rotate_webhook_secret(gen_random_uuid())$$,
         -- a page of none is refused too (it read no row, and skipped the check)
         $$SELECT arxos.list_api_keys(max => 0)$$,
         $$SELECT arxos.list_webhooks(max => 0)$$]) WITH ORDINALITY AS u(q, n)
 ORDER BY n;
ROLLBACK;
-- a write key's check is no admin check; nor for a building's new key or an import, admin
-- operations the database decides, not only the shim's choice of scope (found by a review)
BEGIN;
SELECT owner FROM arxos.authorize(:'write_key', 'write');
SET LOCAL ROLE arxos_api;
SELECT left(regress.try($$SELECT arxos.list_api_keys()$$), 60) AS write_key_refused;
SELECT regress.try($$SELECT (arxos.patch_building('b42', '{"key": "b42-renamed"}')).key$$) AS rename_refused;
SELECT regress.try($$UPDATE arxos.buildings SET key = 'b42-renamed' WHERE key = 'b42'$$) AS plain_rename_refused;
SELECT (arxos.patch_building('b42', '{"name": "Building 42"}')).key AS other_fields_need_write_only;
SELECT left(regress.try($$SELECT arxos.import_batch('b42', '{"objects": []}')$$), 60) AS import_refused;
ROLLBACK;
BEGIN;
SELECT owner FROM arxos.authorize(:'admin_key', 'admin');
SET LOCAL ROLE arxos_api;
SELECT (arxos.patch_building('b42', '{"key": "b42-renamed"}')).key AS admin_renames,
       arxos.import_batch('b42-renamed', '{"objects": []}') ->> 'created' AS admin_imports;
ROLLBACK;
-- an admin key's check opens them for its transaction only
BEGIN;
SELECT owner FROM arxos.authorize(:'admin_key', 'admin');
SET LOCAL ROLE arxos_api;
SELECT count(*) > 0 AS admin_lists FROM arxos.list_api_keys();
COMMIT;
BEGIN;
SET LOCAL ROLE arxos_api;
SELECT left(regress.try($$SELECT arxos.list_api_keys()$$), 60) AS next_transaction_refused;
ROLLBACK;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS admin_grants_left FROM arxos.admin_grants;
SELECT arxos.revoke_api_key(id) IS NOT NULL AS revoked FROM arxos.api_keys WHERE name LIKE 'regress-%' ORDER BY name;
REVOKE USAGE ON SCHEMA regress FROM arxos_api;
-- The building scope of a request: arxos.scope_ids() is NULL for every building (unset or
-- empty), the listed buildings otherwise, and a malformed list an error rather than every
-- building. The policies read it once per statement (InitPlans), not once per row.
CREATE FUNCTION pg_temp.scope_filters(q text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE l text;
BEGIN
    -- the scope's part of a plan (the scan node itself depends on the statistics)
    FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        IF l ~ 'InitPlan|Filter' THEN RETURN NEXT btrim(l); END IF;
    END LOOP;
END $f$;
BEGIN;
SELECT arxos.scope_ids() IS NULL AS unset_sees_all;
SELECT set_config('arxos.building_ids', '', true) = '' AS emptied, arxos.scope_ids() IS NULL AS empty_sees_all;
SELECT set_config('arxos.building_ids', (SELECT id::text FROM arxos.buildings WHERE key = 'b42'), true) IS NOT NULL AS scoped,
       arxos.scope_ids() = ARRAY[arxos.building_id('b42')] AS lists_b42,
       arxos.building_allowed(arxos.building_id('b42')) AS b42_allowed,
       arxos.building_allowed(gen_random_uuid()) AS other_allowed;
SET LOCAL ROLE arxos_api;
SELECT pg_temp.scope_filters('SELECT count(*) FROM arxos.objects') AS objects_plan;
RESET ROLE;
SELECT set_config('arxos.building_ids', 'b42', true) IS NOT NULL AS malformed;
SAVEPOINT s;
SELECT arxos.scope_ids();
ROLLBACK TO SAVEPOINT s;
SET LOCAL ROLE arxos_api;
SELECT count(*) FROM arxos.objects;
ROLLBACK;
-- The views of /api/query likewise: their scope is an InitPlan
SELECT pg_temp.scope_filters('SELECT count(*) FROM arxos_views.events') AS events_view_plan;
-- The API's role imports without TEMPORARY on the database (docs/bi.md takes it from PUBLIC):
-- import_batch holds a batch in arrays, and without temporary tables and functions the role
-- can make no trigger of its own
SELECT key AS import_key FROM arxos.create_api_key('regress-import', ARRAY['admin']) \gset
BEGIN;
DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$;
SELECT owner FROM arxos.authorize(:'import_key', 'admin');
SET LOCAL ROLE arxos_api;
SELECT arxos.import_batch('b42', '{"objects": [{"path": "/imported/a", "type": "room"}, {"path": "/imported/b", "type": "room"}],
                                   "connections": [{"from": "/imported/a", "to": "/imported/b", "kind": "feeds"}]}') AS imported_without_temp;
DO $$
BEGIN
    BEGIN
        CREATE TEMP TABLE nudge (a int);
        RAISE NOTICE 'a temporary table was made';
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'no temporary table (%)', SQLSTATE;
    END;
    BEGIN
        CREATE FUNCTION pg_temp.forge() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
        RAISE NOTICE 'a temporary function was made';
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'no temporary function (%)', SQLSTATE;
    END;
END
$$;
ROLLBACK;
