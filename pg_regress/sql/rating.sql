-- The BILT rating: grades, the worked example, components on crafted buildings, history,
-- events, breakdown and the oracle.
\set VERBOSITY terse
-- grade boundaries
SELECT s, arxos.grade(s) FROM unnest(ARRAY[0, 4.999, 5, 69.999, 70, 72.5, 97.499, 97.5, 100]::float8[]) s;
SELECT arxos.grade(100.001);
SELECT arxos.grade(-0.001);
SELECT arxos.grade('NaN');
SELECT g, arxos.grade_ordinal(g), arxos.grade_value(g) FROM unnest(ARRAY['0z', '0q', '1z', '1A']) g;
SELECT arxos.grade_ordinal('1a');
-- a name in an error is cut and written out (arxos.shown), whatever its size or characters
SELECT arxos.grade_ordinal(repeat('z', 1000000));
SELECT arxos.grade_value(E'1A\n\u202E');
SELECT * FROM arxos.rating_components();
-- the worked example: 19 objects, all located and with a status, 8 with properties, no history
SELECT arxos.rating_compute(19, 19, 19, 8, 0, 0, 0, 0, 0);
-- a crafted building: empty, then objects added one statement at a time
SELECT arxos.create_building('crafted', 'Crafted') IS NOT NULL AS created;
SELECT grade, score, structure, inventory, metadata, sensors, history, quality, activity, version = 0 AS no_history_yet FROM arxos.rating('crafted');
INSERT INTO arxos.objects (building_id, path, type, status, x, y, z, properties)
SELECT b.id, '/o' || g, 'thing', 'active', g, 0, 0, CASE WHEN g <= 8 THEN '{"k": 1}'::jsonb ELSE '{}' END
  FROM arxos.buildings b, generate_series(1, 19) g WHERE b.key = 'crafted';
SELECT grade, score, structure, inventory, metadata, sensors, history, quality, activity FROM arxos.rating('crafted');
-- the incremental rating equals the oracle (a recount of objects and history)
SELECT (SELECT row(grade, score, structure, inventory, metadata, sensors, history, quality, activity)::text FROM arxos.rating('crafted')) =
       (SELECT row(grade, score, structure, inventory, metadata, sensors, history, quality, activity)::text FROM arxos.recompute_rating('crafted')) AS equals_oracle;
-- sensors count: a sensor and a monitored object
SELECT (arxos.put('crafted', '/s1', 'sensor')).path;
SELECT (arxos.connect('crafted', '/s1', '/o1', 'monitors')).kind;
SELECT sensors FROM arxos.rating('crafted');
SELECT (SELECT sensors FROM arxos.rating('crafted')) = (SELECT sensors FROM arxos.recompute_rating('crafted')) AS sensors_equal;
-- history rows: one per committed transaction that moved the grade or the score by >= 0.1
SELECT old_grade, new_grade, reason, object_path FROM arxos.rating_history('crafted') ORDER BY id;
SELECT (SELECT version FROM arxos.rating('crafted')) = (SELECT max(id) FROM arxos.rating_history('crafted')) AS version_is_latest_history_id;
-- a transaction with several changes writes one history row
BEGIN;
SELECT (arxos.put('crafted', '/s2', 'sensor')).path;
SELECT (arxos.put('crafted', '/s3', 'sensor')).path;
COMMIT;
SELECT reason FROM arxos.rating_history('crafted', max => 1);
-- max NULL: every row; a negative max is refused like any listing's
SELECT count(*) = (SELECT count(*) FROM arxos.rating_history h WHERE h.building_id = arxos.building_id('crafted')) AS null_max_is_all
  FROM arxos.rating_history('crafted', max => NULL);
SELECT count(*) FROM arxos.rating_history('crafted', max => -1);
-- a rolled-back transaction leaves no trace in the counters
BEGIN;
DELETE FROM arxos.objects WHERE building_id = arxos.building_id('crafted') AND path LIKE '/o1%';
ROLLBACK;
SELECT (SELECT score FROM arxos.rating('crafted')) = (SELECT score FROM arxos.recompute_rating('crafted')) AS still_equal;
-- writers append deltas; rating() counts them at once; the sequencer folds them into the totals
-- and records the move of each transaction
SELECT arxos.sequence_events() >= 0 AS sequenced;
SELECT count(*) AS waiting FROM arxos.rating_deltas WHERE building_id = arxos.building_id('crafted');
SELECT (arxos.put('crafted', '/s4', 'sensor')).path;
SELECT count(*) AS waiting, min(reason) AS reason, sum(objects) AS objects, sum(instrumented) AS instrumented,
       sum(changes) AS changes FROM arxos.rating_deltas WHERE building_id = arxos.building_id('crafted');
SELECT score AS score_before_fold, sensors AS sensors_before_fold FROM arxos.rating('crafted') \gset
SELECT arxos.sequence_events() > 0 AS sequenced;
SELECT count(*) AS waiting FROM arxos.rating_deltas WHERE building_id = arxos.building_id('crafted');
SELECT score = :score_before_fold AND sensors = :sensors_before_fold AS same_after_fold FROM arxos.rating('crafted');
SELECT reason, object_path, actor = current_user AS by_writer FROM arxos.rating_history('crafted', max => 1);
-- two transactions folded in one batch: one history row each, in order, each with its object
SELECT arxos.create_building('twosteps', 'Two steps') IS NOT NULL AS created;
SELECT (arxos.put('twosteps', '/a', 'thing')).path;
SELECT (arxos.put('twosteps', '/b', 'sensor')).path;
SELECT count(*) AS waiting FROM arxos.rating_deltas WHERE building_id = arxos.building_id('twosteps');
SELECT reason, object_path, new_grade FROM arxos.rating_history('twosteps') ORDER BY id;
SELECT (SELECT row(new_grade, new_score)::text FROM arxos.rating_history('twosteps', max => 1)) =
       (SELECT row(grade, score)::text FROM arxos.rating('twosteps')) AS last_row_is_current;
DELETE FROM arxos.buildings WHERE key = 'twosteps';
-- removing one sensor is object_removed, not a bulk update: the recount of what it monitored
-- has no say (found by an audit); the row names the first writer, not the least by name
SELECT arxos.create_building('onesensor', 'One sensor') IS NOT NULL AS created;
SELECT (arxos.put('onesensor', '/s', 'widget')).path, (arxos.put('onesensor', '/p', 'pump')).path;
SELECT (arxos.connect('onesensor', '/s', '/p', 'monitors')).kind;
SELECT reason FROM arxos.rating_history('onesensor', max => 1);
SELECT arxos.rm('onesensor', '/s');
SELECT reason, object_path FROM arxos.rating_history('onesensor', max => 1);
BEGIN;
SELECT set_config('arxos.actor', 'zed', true) IS NOT NULL AS zed, (arxos.put('onesensor', '/z', 'thing', properties => '{"a": 1}')).path;
SELECT set_config('arxos.actor', 'alice', true) IS NOT NULL AS alice, (arxos.put('onesensor', '/y', 'thing', properties => '{"a": 1}')).path;
COMMIT;
SELECT reason, actor FROM arxos.rating_history('onesensor', max => 1);
-- a sensor installed beside an update is not hidden by it (found by a review): a bulk update,
-- named after the first of them, its path and actor from one statement
SELECT (arxos.put('onesensor', '/s2', 'widget')).path, (arxos.put('onesensor', '/t', 'pump')).path;
BEGIN;
SELECT set_config('arxos.actor', 'carol', true) IS NOT NULL AS carol, (arxos.connect('onesensor', '/s2', '/t', 'monitors')).kind;
SELECT set_config('arxos.actor', 'dave', true) IS NOT NULL AS dave, (arxos.put('onesensor', '/y', 'thing', properties => '{"a": 2}')).path;
COMMIT;
SELECT reason, object_path, actor FROM arxos.rating_history('onesensor', max => 1);
DELETE FROM arxos.buildings WHERE key = 'onesensor';
-- a type added to the sensing types instruments objects (sensor_installed, however many);
-- taken out, it un-instruments many in one statement: a bulk update (found by a review: an
-- update of the first of them)
SELECT arxos.create_building('gizmos', 'Gizmos') IS NOT NULL AS created;
SELECT count(*) FROM (SELECT (arxos.put('gizmos', '/g' || i, 'gizmo', properties => '{"a": 1}')).path
                        FROM generate_series(1, 3) i) x;
INSERT INTO arxos.sensing_types VALUES ('gizmo');
SELECT reason, object_path FROM arxos.rating_history('gizmos', max => 1);
DELETE FROM arxos.sensing_types WHERE type = 'gizmo';
SELECT reason, object_path FROM arxos.rating_history('gizmos', max => 1);
DELETE FROM arxos.buildings WHERE key = 'gizmos';
-- the listener's lazy fold (fold_due(true)): once the oldest delta has waited 100 ms, or once
-- 256 wait; an eager fold whenever any waits. Deltas dated ahead keep the age rule out of it.
SELECT arxos.sequence_events() >= 0 AS drained;
SELECT arxos.fold_due(true) AS lazy_due_when_empty, arxos.fold_due(false) AS eager_due_when_empty;
BEGIN;
ALTER TABLE arxos.rating_deltas DISABLE TRIGGER rating_deltas_insert_guard; -- deltas by hand (as a restore writes them)
INSERT INTO arxos.rating_deltas (building_id, at, reason)
VALUES (arxos.building_id('crafted'), now() + interval '1 hour', 'object_added');
SELECT arxos.fold_due(true) AS lazy_due_one_young, arxos.fold_due(false) AS eager_due_one_young;
INSERT INTO arxos.rating_deltas (building_id, at, reason)
SELECT arxos.building_id('crafted'), now() + interval '1 hour', 'object_added' FROM generate_series(1, 254);
SELECT arxos.fold_due(true) AS lazy_due_255_young;
INSERT INTO arxos.rating_deltas (building_id, at, reason)
VALUES (arxos.building_id('crafted'), now() + interval '1 hour', 'object_added');
SELECT arxos.fold_due(true) AS lazy_due_256_young;
ROLLBACK;
BEGIN;
ALTER TABLE arxos.rating_deltas DISABLE TRIGGER rating_deltas_insert_guard; -- deltas by hand (as a restore writes them)
INSERT INTO arxos.rating_deltas (building_id, at, reason)
VALUES (arxos.building_id('crafted'), now() - interval '1 second', 'object_added');
SELECT arxos.fold_due(true) AS lazy_due_one_old;
ROLLBACK;
-- the events: bilt.rating.changed and market.signal, bilt.rating.calculated on recompute
SELECT type, body ->> 'reason' AS reason, body ->> 'new_grade' AS new_grade
  FROM arxos.events_since(0, types => ARRAY['bilt.*'], building => 'crafted') ORDER BY id;
SELECT count(*) AS signals, bool_and(body ? 'new_price') AS priced
  FROM arxos.events_since(0, types => ARRAY['market.signal'], building => 'crafted');
-- breakdown: components, weights and recommendations
SELECT jsonb_pretty(arxos.rating_breakdown('crafted') - 'calculated_at');
-- recommendations for an excellent building
SELECT arxos.rating_recommendations(ARRAY[100, 100, 100, 100, 100, 100, 100]::float8[]);
SELECT arxos.rating_recommendations(ARRAY[10, 10, 10, 10, 10, 10, 10]::float8[]);
-- deleting objects lowers the counts again
DELETE FROM arxos.objects WHERE building_id = arxos.building_id('crafted') AND path IN ('/o19', '/o18');
SELECT (SELECT row(score, structure, inventory, metadata, sensors)::text FROM arxos.rating('crafted')) =
       (SELECT row(score, structure, inventory, metadata, sensors)::text FROM arxos.recompute_rating('crafted')) AS equal_after_delete;
-- the ratings view has one row per building
SELECT building, grade FROM arxos.ratings ORDER BY building;
-- tick records nothing when no time has passed
SELECT arxos.tick() AS recorded;
SELECT arxos.rating('nope');
-- times must be finite: a NULL would zero the time-based components
SELECT arxos.tick(NULL);
SELECT arxos.rating_recommendations(ARRAY[NULL, 1, 2, 3, 4, 5, 6]::float8[]);
-- what follows the seven is ignored, a NULL too
SELECT arxos.rating_recommendations(ARRAY[100, 100, 100, 100, 100, 100, 100, NULL]::float8[]) AS trailing_null_ignored;
SELECT arxos.rating_recommendations(ARRAY['NaN', 1, 2, 3, 4, 5, 6]::float8[]);
SELECT arxos.rating('b42', 'infinity');
-- the windows' day buckets are kept for 32 days (today and the 31 before): a rating more than 2 days back is refused
SELECT arxos.rating('b42', now() - interval '3 days');
SELECT grade IS NOT NULL AS yesterday FROM arxos.rating('b42', now() - interval '1 day');
-- recompute_rating records what it returns, the rating from scratch, whatever the totals say
-- (here made wrong by hand), and puts the totals right (found by an adversarial review: they
-- stayed wrong for good)
BEGIN;
UPDATE arxos.rating_counters SET objects = objects + 1000 WHERE building_id = arxos.building_id('b42');
DELETE FROM arxos.activity_actors WHERE building_id = arxos.building_id('b42');
UPDATE arxos.activity_days SET changes = changes + 500 WHERE building_id = arxos.building_id('b42');
INSERT INTO arxos.activity_actors (building_id, day, actor) VALUES (arxos.building_id('b42'), arxos.utc_day(), 'ghost');
SELECT score AS wrong FROM arxos.rating('b42') \gset
SELECT score AS scanned FROM arxos.recompute_rating('b42') \gset
SELECT :scanned = (SELECT (p.body ->> 'score')::numeric FROM arxos.events_pending p
                    WHERE p.type = 'bilt.rating.calculated' ORDER BY p.seq DESC LIMIT 1) AS event_is_the_scan,
       :scanned = (SELECT h.new_score FROM arxos.rating_history h
                    WHERE h.building_id = arxos.building_id('b42') ORDER BY h.id DESC LIMIT 1) AS history_is_the_scan,
       :wrong <> :scanned AS totals_were_wrong,
       :scanned = (SELECT score FROM arxos.rating('b42')) AS totals_put_right,
       (SELECT row(objects, located, documented, with_properties, instrumented, changes_30d, actors_30d, verified_30d)::text
          FROM arxos.rating_inputs(arxos.building_id('b42')))
     = (SELECT row(objects, located, documented, with_properties, instrumented, changes_30d, actors_30d, verified_30d)::text
          FROM arxos.rating_inputs_scan(arxos.building_id('b42'))) AS inputs_agree;
ROLLBACK;
-- recompute_rating folds every delta waiting first, more than one batch (10,000) of them
-- (another transaction's, committed: a transaction's own deltas wait for its commit, so these
-- carry an xid that is not this one's)
BEGIN;
ALTER TABLE arxos.rating_deltas DISABLE TRIGGER rating_deltas_insert_guard; -- deltas by hand (as a restore writes them)
INSERT INTO arxos.rating_deltas (building_id, reason, xid)
SELECT arxos.building_id('b42'), 'object_updated', '3' FROM generate_series(1, 10050);
SELECT grade IS NOT NULL AS recomputed FROM arxos.recompute_rating('b42');
SELECT count(*) AS deltas_left FROM arxos.rating_deltas;
ROLLBACK;
DELETE FROM arxos.buildings WHERE key = 'crafted';
-- time moves the windows: 40 days on, nothing happened in the last 30 days
SELECT arxos.create_building('aging', 'Aging') IS NOT NULL AS created;
SELECT (arxos.put('aging', '/a', 'thing', '{"k": 1}')).path;
SELECT changes_30d, actors_30d FROM arxos.rating_inputs(arxos.building_id('aging'), now() + interval '40 days');
SELECT quality, activity FROM arxos.rating('aging');
SELECT quality, activity FROM arxos.rating('aging', now() + interval '40 days');
SELECT arxos.tick(now() + interval '40 days') >= 1 AS tick_recorded;
SELECT reason, new_score FROM arxos.rating_history('aging', max => 1);
-- the shim's ticker does the same in batches of its own transactions (tick_batch): one
-- building at a time here walks every building once, and the last batch says it is done
BEGIN;
CREATE TEMP TABLE batches AS
WITH RECURSIVE walk(n, recorded, next_after) AS (
    SELECT 1, t.recorded, t.next_after FROM arxos.tick_batch(NULL, 1, now() + interval '80 days') t
    UNION ALL
    SELECT w.n + 1, t.recorded, t.next_after
      FROM walk w, arxos.tick_batch(w.next_after, 1, now() + interval '80 days') t
     WHERE w.next_after IS NOT NULL)
SELECT * FROM walk;
SELECT count(*) = (SELECT count(*) + 1 FROM arxos.buildings) AS one_batch_per_building_and_the_last,
       count(*) FILTER (WHERE next_after IS NULL) AS ends,
       sum(recorded) >= 1 AS recorded_some
  FROM batches;
ROLLBACK;
SELECT regress.try($$SELECT * FROM arxos.tick_batch(NULL, 0)$$) AS zero_batch;
SELECT count(*) FROM arxos.events_since(0, types => ARRAY['bilt.rating.calculated'], building => 'aging');
DELETE FROM arxos.buildings WHERE key = 'aging';
-- and for pg_cron, a procedure that commits after each batch (inside a transaction block it
-- cannot commit: tick() is for that)
CALL arxos.tick_in_batches(2);
SELECT regress.try($$CALL arxos.tick_in_batches(0)$$) AS zero_batches;
BEGIN;
CALL arxos.tick_in_batches();
ROLLBACK;
-- a write that commits while a tick runs (its delta not folded yet) is not recorded as time's
-- move: record_rating reads the folded totals; the next fold records the write as its own
-- (the write's delta carries another transaction's xid, as a committed one would)
BEGIN;
ALTER TABLE arxos.rating_deltas DISABLE TRIGGER rating_deltas_insert_guard; -- deltas by hand (as a restore writes them)
SELECT arxos.record_rating(arxos.building_id('b42'), 'time_window', NULL, NULL) IS NOT NULL AS settled;
INSERT INTO arxos.rating_deltas (building_id, changes, objects, documented, reason, xid)
SELECT id, 1, 1000, 1000, 'bulk_update', '3' FROM arxos.buildings WHERE key = 'b42';
SELECT arxos.record_rating(arxos.building_id('b42'), 'time_window', NULL, NULL) AS recorded_as_time;
SELECT reason FROM arxos.rating_history('b42', 1);
ROLLBACK;
-- a new building's first history row is its creation's (5.000, the empty building's), by its
-- creator at its time, without waiting for a tick (found by a review: the tick wrote it, as
-- system, up to a minute later, and never when an object came first)
SELECT arxos.create_building('born', 'Born rated') IS NOT NULL AS created;
SELECT arxos.sequence_events() >= 0 AS sequenced;
SELECT h.reason, h.new_grade, h.new_score, h.actor = current_user AS by_creator,
       h.at = (SELECT b.created_at FROM arxos.buildings b WHERE b.key = 'born') AS at_creation
  FROM arxos.rating_history h WHERE h.building_id = arxos.building_id('born');
SELECT type, body ->> 'reason' AS reason FROM arxos.events_since(0, types => ARRAY['bilt.*'], building => 'born');
DELETE FROM arxos.buildings WHERE key = 'born';
-- BI views: refreshed concurrently, readable by arxos_reader and nothing else; under READ
-- COMMITTED only (refreshed_at is a time after which each view was read)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT arxos.refresh_views();
ROLLBACK;
SELECT arxos.refresh_views();
SELECT building, grade, rank FROM arxos.bi_leaderboard ORDER BY rank, building;
SELECT grade, buildings FROM arxos.bi_grade_distribution WHERE buildings > 0 ORDER BY ordinal;
SELECT building, type, status, objects FROM arxos.bi_objects_by_type_status WHERE building = 'b42' AND type = 'outlet' ORDER BY status;
SELECT building, changes > 0 AS has_changes FROM arxos.bi_rating_trend_30d ORDER BY building;
-- the trend: every building; the score in force when the window opened is its first point
BEGIN;
SELECT arxos.create_building('quiet', 'Never rated') IS NOT NULL AS created;
SELECT h.new_score AS b42_first_score FROM arxos.rating_history h
 WHERE h.building_id = arxos.building_id('b42') ORDER BY h.id LIMIT 1 \gset
-- (history is append-only: the test moves a row back in time behind the trigger's back)
ALTER TABLE arxos.rating_history DISABLE TRIGGER rating_history_append_only;
UPDATE arxos.rating_history SET at = at - interval '40 days'
 WHERE id = (SELECT min(id) FROM arxos.rating_history WHERE building_id = arxos.building_id('b42'));
REFRESH MATERIALIZED VIEW arxos.bi_rating_trend_30d;
SELECT t.building, t.first_score = :b42_first_score AS opens_with_the_old_score,
       t.last_score = (SELECT h.new_score FROM arxos.rating_history h WHERE h.building_id = t.building_id
                        ORDER BY h.id DESC LIMIT 1) AS ends_with_the_last_row,
       t.min_score <= t.first_score AND t.max_score >= t.last_score AS bounds,
       t.changes = (SELECT count(*) FROM arxos.rating_history h
                     WHERE h.building_id = t.building_id AND h.at >= now() - interval '30 days') AS changes_inside
  FROM arxos.bi_rating_trend_30d t
 WHERE t.building = 'b42';
SELECT building, first_score, last_score, changes FROM arxos.bi_rating_trend_30d WHERE building = 'quiet';
-- a row's at is its transaction's start: of overlapping transactions, the one that committed
-- later (higher id) can be dated earlier. The history's order is the ids': a row dated inside
-- the window that precedes the opening row is before the window (found by an audit: it was
-- counted inside, as the trend's first point)
UPDATE arxos.rating_history SET at = now()
 WHERE id = (SELECT min(id) FROM arxos.rating_history WHERE building_id = arxos.building_id('b42'));
SELECT h.id AS opening_id, h.new_score AS opening_score FROM arxos.rating_history h
 WHERE h.building_id = arxos.building_id('b42') ORDER BY h.id OFFSET 1 LIMIT 1 \gset
UPDATE arxos.rating_history SET at = at - interval '40 days' WHERE id = :opening_id;
REFRESH MATERIALIZED VIEW arxos.bi_rating_trend_30d;
SELECT t.first_score = :opening_score AS opens_with_the_later_row,
       t.changes = (SELECT count(*) FROM arxos.rating_history h
                     WHERE h.building_id = t.building_id AND h.id > :opening_id) AS changes_after_it
  FROM arxos.bi_rating_trend_30d t
 WHERE t.building = 'b42';
ROLLBACK;
-- the grade distribution counts the leaderboard's grades (one snapshot of the ratings)
SELECT bool_and(d.buildings = (SELECT count(*) FROM arxos.bi_leaderboard l WHERE l.grade = d.grade)) AS agrees
  FROM arxos.bi_grade_distribution d;
-- every view says when it was refreshed
SELECT count(DISTINCT refreshed_at) AS refresh_times FROM (
    SELECT refreshed_at FROM arxos_bi.leaderboard UNION ALL SELECT refreshed_at FROM arxos_bi.grade_distribution
    UNION ALL SELECT refreshed_at FROM arxos_bi.rating_trend_30d UNION ALL SELECT refreshed_at FROM arxos_bi.objects_by_type_status) r;
-- a refresh rewrites only the rows that changed (the time is not in them): the same counts
-- again leave the summary's rows where they were
SELECT array_agg(ctid ORDER BY building_id, type, status) AS rows_before FROM arxos.bi_objects_by_type_status \gset
SELECT arxos.refresh_views();
SELECT array_agg(ctid ORDER BY building_id, type, status) = :'rows_before' AS rows_kept FROM arxos.bi_objects_by_type_status;
SET ROLE arxos_reader;
-- a BI login reads schema arxos_bi, which tools find in information_schema (materialized
-- views are not there), and nothing of schema arxos
SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'arxos_bi' ORDER BY table_name;
SELECT count(*) > 0 AS can_read FROM arxos_bi.leaderboard;
SELECT count(*) > 0 AS objects, count(DISTINCT floor) >= 0 AS by_floor FROM arxos_bi.objects;
SELECT count(*) >= 0 AS history FROM arxos_bi.rating_history;
SELECT count(*) >= 0 AS readings FROM arxos_bi.readings;
SELECT count(*) FROM arxos.bi_leaderboard;
SELECT count(*) FROM arxos.objects;
SELECT count(*) FROM arxos.api_keys;
SELECT count(*) FROM arxos_views.objects;
-- nor any SECURITY DEFINER function: they act with the owner's rights
SELECT arxos.tick();
SELECT count(*) FROM arxos.list_webhooks();
SELECT arxos.sequence_events();
SELECT arxos.drop_readings_before(now());
RESET ROLE;
-- the API's role may call refresh_views, but only the owner may refresh: said first, naming
-- the owner (found by an audit: "permission denied for function serialize")
SET ROLE arxos_api;
SELECT arxos.refresh_views();
RESET ROLE;
-- a temporary table named like a catalog does not fool the checks: outside /api/query the
-- query role still sees no building, and first_object_at stays the engine's
BEGIN;
SET SESSION AUTHORIZATION arxos_query;
CREATE TEMP TABLE pg_roles (oid oid, rolname name, rolsuper boolean);
SELECT count(*) AS buildings_seen FROM arxos_views.buildings;
RESET SESSION AUTHORIZATION;
ROLLBACK;
BEGIN;
SET LOCAL ROLE arxos_api;
CREATE TEMP TABLE pg_class (oid oid, relowner oid);
UPDATE arxos.buildings SET first_object_at = now() - interval '10 years' WHERE key = 'b42';
ROLLBACK;
-- PUBLIC may call no SECURITY DEFINER function of the extension but the admin guard, which
-- writes nothing and answers true or refuses (14_privileges.sql), and the schema check's
-- look at the one-row tables, which reads only whether they have their row (15_backup.sql)
SELECT p.oid::regprocedure AS callable_by_public FROM pg_proc p
 WHERE p.pronamespace IN ('arxos'::regnamespace, 'arxos_views'::regnamespace) AND p.prosecdef
   AND has_function_privilege('public', p.oid, 'EXECUTE');
-- the rating's own bookkeeping cannot be written around: monitored_by counts monitors
-- connections (kept by their triggers) and first_object_at is the engine's
BEGIN;
UPDATE arxos.objects SET monitored_by = 7 WHERE building_id = arxos.building_id('b42');
SELECT count(*) FILTER (WHERE monitored_by = 7) AS forged FROM arxos.objects WHERE building_id = arxos.building_id('b42');
SELECT (SELECT sensors FROM arxos.rating('b42')) = (SELECT sensors FROM arxos.recompute_rating('b42')) AS sensors_still_equal;
SET LOCAL ROLE arxos_api;
UPDATE arxos.buildings SET first_object_at = now() - interval '10 years' WHERE key = 'b42';
ROLLBACK;
-- nor through a trigger of one's own (on a temporary table), which runs nested but as the
-- user: monitored_by and last_reading_at stay; the bookkeeping functions, called directly,
-- write only the truth (monitors) or nothing past the readings' bound (a reading's time)
BEGIN;
CREATE ROLE arxos_regress_writer IN ROLE arxos_api;
SET LOCAL ROLE arxos_regress_writer;
CREATE TEMP TABLE nudge (a int);
CREATE FUNCTION pg_temp.forge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE arxos.objects SET monitored_by = 1, last_reading_at = now() + interval '10 years'
     WHERE building_id = arxos.building_id('b42') AND path = '/plumbing/water_heater_1';
    PERFORM arxos.recount_monitors(ARRAY(SELECT id FROM arxos.objects WHERE building_id = arxos.building_id('b42')));
    PERFORM arxos.note_latest_readings(ARRAY[(SELECT id FROM arxos.objects WHERE building_id = arxos.building_id('b42') AND path = '/plumbing/water_heater_1')],
                                       ARRAY[now() + interval '10 years'], ARRAY[1.0::float8], ARRAY['C']);
    PERFORM arxos.note_latest_readings(ARRAY[(SELECT id FROM arxos.objects WHERE building_id = arxos.building_id('b42') AND path = '/plumbing/water_heater_1')],
                                       ARRAY['1900-01-01 00:00:00+00'::timestamptz], ARRAY[1.0::float8], ARRAY['C']);
    RETURN NULL;
END $$;
CREATE TRIGGER forge AFTER INSERT ON nudge FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.forge();
INSERT INTO nudge VALUES (1);
SELECT monitored_by, last_reading_at, metrics ? 'reading' AS has_reading
  FROM arxos.objects WHERE building_id = arxos.building_id('b42') AND path = '/plumbing/water_heater_1';
SELECT (SELECT sensors FROM arxos.rating('b42')) = (SELECT sensors FROM arxos.recompute_rating('b42')) AS sensors_still_equal;
ROLLBACK;
BEGIN;
SET LOCAL ROLE arxos_api;
SELECT updated_at AS before_rename FROM arxos.buildings WHERE key = 'b42' \gset
UPDATE arxos.buildings SET name = 'Building 42, renamed' WHERE key = 'b42';
SELECT updated_at > :'before_rename' AS updated_at_moved, first_object_at IS NOT NULL AS first_object_kept
  FROM arxos.buildings WHERE key = 'b42';
ROLLBACK;
-- a transaction the fold's batch would cut in two is folded whole: one history row
SELECT arxos.create_building('cut', 'Cut in two') IS NOT NULL AS created;
SELECT arxos.sequence_events() >= 0 AS drained;
BEGIN;
SELECT (arxos.put('cut', '/a', 'room')).path;
SELECT (arxos.put('cut', '/b', 'room')).path;
SELECT (arxos.put('cut', '/c', 'room')).path;
COMMIT;
SELECT arxos.fold_ratings(2) AS folded;
SELECT count(*) AS history_rows, max(reason) AS reason FROM arxos.rating_history h
 WHERE h.building_id = arxos.building_id('cut') AND h.reason <> 'initial_rating';
DELETE FROM arxos.buildings WHERE key = 'cut';
-- A writing transaction that runs the sequencer between two writes (rating_history in psql)
-- gets one history row and one bilt.rating.changed, recorded after it commits: its first half
-- was a state no one else saw (found by a review: two rows and two market.signal events)
SELECT arxos.create_building('onetx', 'One transaction') IS NOT NULL AS created;
SELECT (arxos.put('onetx', '/base', 'thing')).path;
SELECT arxos.sequence_events() >= 0 AS drained;
BEGIN;
INSERT INTO arxos.objects (building_id, path, type, properties)
SELECT arxos.building_id('onetx'), '/s' || i, 'sensor', '{"a": 1}' FROM generate_series(1, 20) i;
SELECT string_agg(reason, ', ' ORDER BY id) AS history_inside FROM arxos.rating_history('onetx');
-- recompute_rating returns the recount with this transaction's writes, and records nothing
SELECT (SELECT score FROM arxos.recompute_rating('onetx')) = (SELECT score FROM arxos.rating('onetx')) AS recount_has_own_writes;
INSERT INTO arxos.objects (building_id, path, type, properties)
SELECT arxos.building_id('onetx'), '/t' || i, 'thing', '{}' FROM generate_series(1, 20) i;
COMMIT;
SELECT arxos.sequence_events() >= 0 AS folded;
SELECT string_agg(reason || ' ' || coalesce(object_path, '-'), ', ' ORDER BY id) AS history
  FROM arxos.rating_history('onetx');
SELECT count(*) AS rating_changed_events FROM arxos.events
 WHERE building_id = arxos.building_id('onetx') AND type = 'bilt.rating.changed';
SELECT (SELECT new_score FROM arxos.rating_history('onetx', max => 1)) = (SELECT score FROM arxos.recompute_rating('onetx')) AS recorded_equals_oracle;
DELETE FROM arxos.buildings WHERE key = 'onetx';
-- tick() in a writing transaction leaves the buildings it wrote to alone: a building created
-- and documented in it is not recorded empty first (score 5) and then documented
BEGIN;
SELECT arxos.create_building('newtx', 'New in a transaction') IS NOT NULL AS created;
SELECT count(*) FROM (SELECT arxos.put('newtx', '/s' || g, 'sensor', properties => '{"a": 1}', location => '{"x": 1, "y": 2}')
                        FROM generate_series(1, 10) g) x;
SELECT arxos.tick() >= 0 AS ticked;
COMMIT;
SELECT arxos.sequence_events() >= 0 AS folded;
SELECT count(*) AS history_rows, min(new_score) > 5 AS never_recorded_empty
  FROM arxos.rating_history WHERE building_id = arxos.building_id('newtx');
SELECT count(*) AS rating_events FROM arxos.events
 WHERE building_id = arxos.building_id('newtx') AND type LIKE 'bilt.rating.%';
DELETE FROM arxos.buildings WHERE key = 'newtx';
-- Nobody but the owner may execute a trigger function: CREATE TRIGGER asks for EXECUTE, and
-- with it a trigger of one's own on a temporary table ran the owner-rights ones on rows it
-- made up (found by a review: a ledger entry's trigger credited an account a million tokens)
SELECT p.oid::regprocedure AS trigger_function, r.role
  FROM pg_proc p, (VALUES ('public'), ('arxos_api'), ('arxos_authenticator'), ('arxos_query'), ('arxos_reader')) r(role)
 WHERE p.pronamespace IN ('arxos'::regnamespace, 'arxos_views'::regnamespace)
   AND p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype)
   AND has_function_privilege(r.role, p.oid, 'EXECUTE');
BEGIN;
CREATE ROLE arxos_regress_forger IN ROLE arxos_api;
SET LOCAL ROLE arxos_regress_forger;
CREATE TEMP TABLE fake (transaction_id bigint, account_id bigint, amount numeric);
CREATE TRIGGER fake AFTER INSERT ON fake FOR EACH ROW EXECUTE FUNCTION arxos.ledger_entries_after_insert();
ROLLBACK;
-- and the rating's deltas come from the triggers only: a row by hand is refused, as is a
-- change of a delta's counts (a request names only its contribution)
BEGIN;
SET LOCAL ROLE arxos_api;
INSERT INTO arxos.rating_deltas (building_id, objects, reason)
VALUES (arxos.building_id('b42'), 1000, 'time_window');
ROLLBACK;
BEGIN;
SELECT (arxos.put('b42', '/forged_delta', 'room')).path;
SET LOCAL ROLE arxos_api;
UPDATE arxos.rating_deltas SET objects = 1000 WHERE building_id = arxos.building_id('b42');
ROLLBACK;
BEGIN;
SELECT (arxos.put('b42', '/named_delta', 'room')).path;
SET LOCAL ROLE arxos_api;
UPDATE arxos.rating_deltas SET contribution_id = NULL
 WHERE building_id = arxos.building_id('b42') AND xid = pg_current_xact_id();
ROLLBACK;
-- nor may a reader write WAL through logical decoding messages (found by a review: 100 MB per
-- POST /api/query, rolled back or not)
SELECT has_function_privilege(r.role, 'pg_catalog.pg_logical_emit_message(boolean, text, text)', 'EXECUTE') AS text_form,
       has_function_privilege(r.role, 'pg_catalog.pg_logical_emit_message(boolean, text, bytea)', 'EXECUTE') AS bytea_form, r.role
  FROM (VALUES ('public'), ('arxos_api'), ('arxos_query'), ('arxos_reader')) r(role);
