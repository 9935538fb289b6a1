-- What plain SQL cannot do to the invariants: the audit trail, the outbox and the rating inputs
-- of another building, bookkeeping columns, and the readings' checks.
\set VERBOSITY terse
SELECT arxos.create_building('inv', 'Invariants') IS NOT NULL AS created;
SELECT (arxos.put('inv', '/a', 'panel')).path, (arxos.put('inv', '/b', 'circuit')).path;
SELECT arxos.building_id('inv') AS inv \gset
GRANT USAGE ON SCHEMA regress TO arxos_api;
-- A session scoped to b42 cannot queue another building's events, move its rating or write its
-- history; its own building's writes (through the triggers) still go through.
BEGIN;
SELECT (arxos.put('inv', '/c', 'outlet')).path AS pending_delta_of_inv;
SELECT count(*) > 0 AS inv_delta_pending FROM arxos.rating_deltas WHERE building_id = :'inv';
SELECT set_config('role', 'arxos_api', true) AS role,
       set_config('arxos.building_ids', arxos.building_id('b42')::text, true) IS NOT NULL AS scoped;
SELECT regress.try(format($q$INSERT INTO arxos.events_pending (type, building_id, path, actor, body)
                             VALUES ('object.deleted', %L, '/a', 'mallory', '{}')$q$, :'inv')) AS forged_event;
-- nor one without a building, which every unscoped consumer would receive (found by an audit:
-- a building.deleted naming another tenant's building reached the unscoped webhooks, signed)
SELECT regress.try($q$INSERT INTO arxos.events_pending (type, building_id, actor, body)
                      VALUES ('building.deleted', NULL, 'system', '{"building": {"key": "inv"}}')$q$) AS forged_unscoped_event;
SELECT regress.try(format($q$INSERT INTO arxos.rating_deltas (building_id, objects, reason)
                             VALUES (%L, 1000, 'object_added')$q$, :'inv')) AS forged_delta;
SELECT regress.try(format($q$INSERT INTO arxos.object_history (building_id, object_id, path, op, actor, changes)
                             VALUES (%L, gen_random_uuid(), '/f', 'update', 'x', '{}')$q$, :'inv')) AS forged_history;
SELECT regress.try(format($q$UPDATE arxos.rating_deltas SET objects = objects + 5 WHERE building_id = %L$q$, :'inv')) AS deltas_updated;
WITH u AS (UPDATE arxos.rating_deltas SET contribution_id = NULL WHERE building_id = :'inv' RETURNING 1)
SELECT count(*) AS other_deltas_named FROM u;
SELECT (arxos.put('b42', '/spaces/inv_room', 'room')).path AS own_write;
ROLLBACK;
-- The histories are append-only, even for the owner; a deleted building takes its history along.
SELECT regress.try($q$DELETE FROM arxos.object_history WHERE path = '/a'$q$) AS delete_history;
-- nor written into by hand: a forged row counted in the recount as a change (found by an
-- adversarial review)
SELECT regress.try($q$INSERT INTO arxos.object_history (building_id, object_id, path, op, actor, changes)
                      SELECT id, gen_random_uuid(), '/ghost', 'insert', 'mallory', '{}' FROM arxos.buildings WHERE key = 'b42'$q$) AS insert_history;
SELECT regress.try($q$UPDATE arxos.object_history SET actor = 'zed'$q$) AS update_history;
SELECT regress.try($q$UPDATE arxos.rating_history SET actor = 'zed'$q$) AS update_rating_history;
SELECT regress.try($q$DELETE FROM arxos.rating_history$q$) AS delete_rating_history;
-- TRUNCATE's hint says where the rows go
CREATE FUNCTION pg_temp.truncate_hint(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE format('TRUNCATE %s', t);
    RETURN 'truncated';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ' / hint: ' || h;
END
$$;
SELECT t, pg_temp.truncate_hint(t) FROM unnest(ARRAY['arxos.rating_counters', 'arxos.connections', 'arxos.webhook_cursor', 'arxos.market_settings']) t;
-- One statement, several actors (arxos.actor changed between rows): every history row counts for
-- its own actor in the incremental rating, as in the recount.
UPDATE arxos.objects SET properties = properties || jsonb_build_object('tag', set_config('arxos.actor', 'u_' || name, true))
 WHERE building_id = :'inv';
SELECT count(DISTINCT actor) AS history_actors FROM arxos.object_history WHERE building_id = :'inv' AND op = 'update';
SELECT (SELECT row(i.*)::text FROM arxos.rating_inputs(:'inv') i)
     = (SELECT row(i.*)::text FROM arxos.rating_inputs_scan(:'inv') i) AS inputs_equal_recount;
SELECT a.score = r.score AS rating_equals_recompute
  FROM arxos.rating('inv') a, arxos.recompute_rating('inv') r;
-- The reason of a history row is the statement's, however many actors it had: three objects
-- by three actors in one INSERT are a bulk update, as by one actor.
INSERT INTO arxos.objects (building_id, path, type, status)
SELECT :'inv', '/p' || i, 'room', 'active'
  FROM (SELECT i, set_config('arxos.actor', 'user' || i, true) FROM generate_series(1, 3) i) s;
SELECT arxos.sequence_events() >= 0 AS sequenced;
SELECT reason FROM arxos.rating_history WHERE building_id = :'inv' ORDER BY id DESC LIMIT 1;
-- A connection's id cannot change; who made it and when stay as recorded.
SELECT arxos.connect('inv', '/a', '/b', 'power') IS NOT NULL AS connected;
SELECT regress.try($q$UPDATE arxos.connections SET id = gen_random_uuid() WHERE kind = 'power' AND from_id = (SELECT id FROM arxos.objects WHERE path = '/a' AND building_id = arxos.building_id('inv'))$q$) AS change_id;
UPDATE arxos.connections SET created_by = 'mallory', created_at = '2000-01-01', properties = '{"a": 1}'
 WHERE building_id = :'inv'
RETURNING created_by <> 'mallory' AS creator_kept, created_at > '2000-01-02' AS time_kept, properties;
-- The readings' checks cannot be switched off with the setting the partition mover uses.
BEGIN;
SELECT set_config('role', 'arxos_api', true) AS role, set_config('arxos.readings_moving', 'on', true) AS moving;
SELECT regress.try(format($q$INSERT INTO arxos.readings (building_id, object_id, at, value, unit)
                             VALUES (%L, gen_random_uuid(), now(), 1, 'x')$q$, :'inv')) AS reading_of_no_object;
ROLLBACK;
-- and deleting the building takes its history with it
DELETE FROM arxos.buildings WHERE key = 'inv';
SELECT count(*) AS history_left FROM arxos.object_history WHERE building_id = :'inv';
SELECT count(*) AS rating_history_left FROM arxos.rating_history WHERE building_id = :'inv';
-- Plain SQL on the other tables keeps their rules too (found by an audit):
-- a status is a label, and active and unknown are the extension's own
SELECT regress.try($q$INSERT INTO arxos.statuses (status, description) VALUES (E'bad\nline', 'x')$q$) AS status_label;
SELECT regress.try($q$DELETE FROM arxos.statuses WHERE status = 'unknown'$q$) AS unknown_kept;
-- a building's bookkeeping is the triggers' for the API's role (the owner's restore keeps its own)
BEGIN;
SELECT set_config('role', 'arxos_api', true) AS role;
INSERT INTO arxos.buildings (key, name, created_at, first_object_at) VALUES ('inv2', 'Inv 2', '1999-01-01', '2001-01-01')
RETURNING created_at > '2000-01-01' AS created_now, first_object_at IS NULL AS no_first_object;
-- the rating history is the fold's: the API's role reads it
SELECT regress.try(format($q$INSERT INTO arxos.rating_history (building_id, new_grade, new_score, structure, inventory, metadata,
                                                              sensors, history, quality, activity, reason)
                             VALUES (%L, '1A', 100, 0, 0, 0, 0, 0, 0, 0, 'bulk_update')$q$, arxos.building_id('inv2'))) AS api_history_insert;
ROLLBACK;
-- and holds grades and scores only
SELECT regress.try($q$INSERT INTO arxos.rating_history (building_id, new_grade, new_score, structure, inventory, metadata,
                                                       sensors, history, quality, activity, reason)
                      VALUES (arxos.building_id('b42'), 'not-a-grade', 999.999, 0, 0, 0, 0, 0, 0, 0, 'bulk_update')$q$) AS history_grade;
-- API keys: SHA-256s, never the server's own actor, each scope once
SELECT regress.try($q$INSERT INTO arxos.api_keys (name, owner, prefix, key_hash, scopes)
                      VALUES ('k1', 'system', 'arx_x', sha256('x'), ARRAY['read'])$q$) AS owner_system,
       regress.try($q$INSERT INTO arxos.api_keys (name, owner, prefix, key_hash, scopes)
                      VALUES ('k2', 'alice', 'arx_x', convert_to('arx_plaintext', 'UTF8'), ARRAY['read'])$q$) AS plain_key,
       regress.try($q$INSERT INTO arxos.api_keys (name, owner, prefix, key_hash, scopes)
                      VALUES ('k3', 'alice', 'arx_x', sha256('y'), ARRAY['read', 'read'])$q$) AS scope_twice;
-- Deltas by hand (as a restore writes them, or the owner with the guard off): the fold copes.
ALTER TABLE arxos.rating_deltas DISABLE TRIGGER rating_deltas_insert_guard;
-- a delta of a reason that is none folds as a bulk update, not failing every building's fold
INSERT INTO arxos.rating_deltas (building_id, objects, documented, reason) VALUES (arxos.building_id('b42'), 1000, 1000, 'bogus');
SELECT arxos.sequence_events() >= 0 AS folded;
SELECT reason FROM arxos.rating_history('b42', max => 1);
INSERT INTO arxos.rating_deltas (building_id, objects, documented, reason) VALUES (arxos.building_id('b42'), -1000, -1000, 'bulk_update');
SELECT arxos.sequence_events() >= 0 AS folded_back;
-- counts no statement writes are dropped, said, not folded into an overflow of every fold
INSERT INTO arxos.rating_deltas (building_id, objects, changes, reason)
VALUES (arxos.building_id('b42'), 9223372036854775807, 9223372036854775807, 'zzz');
SELECT arxos.sequence_events() >= 0 AS folded_without_it;
-- an actor of kilobytes is refused where it is written (its key in activity_actors failed
-- every building's fold: found by a review), and a delta by hand holding one is dropped
SELECT regress.try($q$SELECT set_config('arxos.actor', repeat('x', 201), true),
                             arxos.put('b42', '/long_actor', 'room')$q$) AS put_long_actor,
       regress.try($q$SELECT set_config('arxos.actor', repeat('x', 201), true);
                      INSERT INTO arxos.objects (building_id, path, type)
                      VALUES (arxos.building_id('b42'), '/long_actor', 'room')$q$) AS insert_long_actor,
       regress.try($q$SELECT set_config('arxos.actor', repeat('é', 200), true),
                             arxos.put('b42', '/long_actor', 'room')$q$) AS put_200_characters;
INSERT INTO arxos.rating_deltas (building_id, objects, actor, reason)
VALUES (arxos.building_id('b42'), 1, repeat('x', 3000), 'zzz');
SELECT arxos.sequence_events() >= 0 AS folded_without_it;
-- and so are infinite times by hand, which made every building's age a difference of
-- infinities and stopped every fold (found by an audit); a building's first object is finite
-- (a building without a first object yet, whose age the pending deltas give: found by a
-- review, b42's own first_object_at hid the infinite delta)
SELECT arxos.create_building('infinite', 'Infinite') IS NOT NULL AS created;
INSERT INTO arxos.rating_deltas (building_id, objects, at, reason) VALUES (arxos.building_id('infinite'), 1, '-infinity', 'zzz');
SELECT (arxos.rating('infinite')).grade IS NOT NULL AS rating_reads;
SELECT arxos.sequence_events() >= 0 AS folded_without_it;
SELECT first_object_at IS NULL AS no_first_object FROM arxos.buildings WHERE key = 'infinite';
ALTER TABLE arxos.rating_deltas ENABLE TRIGGER rating_deltas_insert_guard;
DELETE FROM arxos.buildings WHERE key = 'infinite';
SELECT regress.try($$UPDATE arxos.buildings SET first_object_at = '-infinity' WHERE key = 'b42'$$) AS infinite_first_object;
-- events are not changed
SELECT regress.try($q$UPDATE arxos.events SET body = '{"forged": true}' WHERE id = (SELECT max(id) FROM arxos.events)$q$) AS event_body;
-- a webhook written with plain SQL meets the filters' rules (found by an audit)
SELECT regress.try($q$INSERT INTO arxos.webhooks (url, types, secret, starts_after)
                      VALUES ('https://example.com/h', '{"not a pattern!"}', '\x01'::bytea || decode(repeat('00', 40), 'hex'), 0)$q$) AS webhook_types,
       regress.try($q$INSERT INTO arxos.webhooks (url, secret, starts_after)
                      VALUES ('https://example.com/h', '\x01'::bytea || decode(repeat('00', 40), 'hex'), -5)$q$) AS webhook_start;
BEGIN;
INSERT INTO arxos.webhooks (url, under, secret, starts_after)
VALUES ('https://example.com/h', '/electrical//panels/', '\x01'::bytea || decode(repeat('00', 40), 'hex'), 0)
RETURNING under;
ROLLBACK;
-- A DBA (superuser) whose session names other buildings in arxos.building_ids writes past
-- row-level security; the bookkeeping of the write follows it (found by a review: the
-- watched object's count, its reading and the rating stayed as before the write, for good)
SELECT arxos.create_building('scoped_dba', 'Scoped DBA') IS NOT NULL AS created;
SELECT (arxos.put('scoped_dba', '/pump', 'pump')).path, (arxos.put('scoped_dba', '/probe', 'probe')).path;
BEGIN;
SELECT set_config('arxos.building_ids', arxos.building_id('b42')::text, true) IS NOT NULL AS scoped_elsewhere;
INSERT INTO arxos.connections (building_id, from_id, to_id, kind)
SELECT b, arxos.object_id(b, '/probe'), arxos.object_id(b, '/pump'), 'monitors' FROM arxos.building_id('scoped_dba') b;
INSERT INTO arxos.readings (building_id, object_id, at, value, unit)
SELECT b, arxos.object_id(b, '/probe'), now() - interval '1 minute', 21.5, 'C' FROM arxos.building_id('scoped_dba') b;
COMMIT;
SELECT path, monitored_by, last_reading_at IS NOT NULL AS has_reading, metrics #>> '{reading,value}' AS reading
  FROM arxos.objects WHERE building_id = arxos.building_id('scoped_dba') ORDER BY path;
SELECT (SELECT instrumented FROM arxos.rating_inputs(arxos.building_id('scoped_dba')))
     = (SELECT instrumented FROM arxos.rating_inputs_scan(arxos.building_id('scoped_dba'))) AS same_instrumented;
DELETE FROM arxos.buildings WHERE key = 'scoped_dba';
