-- Readings: record, batch, duplicates and out-of-order samples, partitions, ranges, retention,
-- the instrumented flag and its counters, metric.recorded events; import_batch.
\set VERBOSITY terse
SET timezone = 'UTC';
SELECT arxos.create_building('rd', 'Readings') IS NOT NULL AS created;
-- import_batch: objects with missing ancestors, then the same batch again (idempotent)
SELECT arxos.import_batch('rd', '{"objects": [
    {"path": "/site/ahu-1", "type": "AHU", "properties": {"source_id": "urn:x#ahu-1"}},
    {"path": "/site/ahu-1/temp", "type": "Supply_Air_Temperature_Sensor"},
    {"path": "/site/ahu-1/fan", "type": "Fan"}],
  "connections": [{"from": "/site/ahu-1", "to": "/site/ahu-1/fan", "kind": "has_part"}]}');
SELECT arxos.import_batch('rd', '{"objects": [
    {"path": "/site/ahu-1", "type": "AHU", "properties": {"source_id": "urn:x#ahu-1"}},
    {"path": "/site/ahu-1/temp", "type": "Supply_Air_Temperature_Sensor"},
    {"path": "/site/ahu-1/fan", "type": "Fan"}],
  "connections": [{"from": "/site/ahu-1", "to": "/site/ahu-1/fan", "kind": "has_part"}]}');
-- an update merges properties and changes the type
SELECT arxos.import_batch('rd', '{"objects": [{"path": "/site/ahu-1", "type": "Air_Handling_Unit", "properties": {"label": "AHU 1"}}]}');
SELECT path, type, status, properties FROM arxos.objects WHERE building_id = arxos.building_id('rd') ORDER BY path;
-- bad batches
SELECT arxos.import_batch('rd', '{"objects": [{"path": "/x"}]}');
SELECT arxos.import_batch('rd', '{"connections": [{"from": "/site", "to": "/nowhere", "kind": "feeds"}]}');
SELECT arxos.import_batch('rd', '{"connections": [{"from": "/site", "to": "/site", "kind": "feeds"}]}');
SELECT arxos.import_batch('rd', '{"connections": [{"from": "/site", "to": "/site/ahu-1", "kind": "Bad Kind"}]}');
SELECT arxos.import_batch('rd', '[]');
-- each entry's message names the rule it breaks (found by an audit: only the entry)
SELECT regress.try(format('SELECT arxos.import_batch(%L, %L)', 'rd', j)) FROM (VALUES
    ('{"objects": [{"path": "/a", "type": "t"}, {"path": "/b", "type": null}]}'),
    ('{"objects": [{"path": "/a", "type": "t", "properties": []}]}'),
    ('{"objects": [{"path": 5, "type": "t"}]}'),
    ('{"objects": ["/a"]}'),
    ('{"connections": [{"from": "/site", "to": "/site/ahu-1"}]}'),
    ('{"connections": [{"from": "/site", "to": "/site/ahu-1", "kind": "feeds", "properties": null}]}')) v(j);
-- an object or a connection given twice is refused, not won by one of them (found by an
-- audit: the last one won, and the counts fell short of the entries)
SELECT regress.try($$SELECT arxos.import_batch('rd', '{"objects": [{"path": "/site/dup", "type": "t2"}, {"path": "/x", "type": "t"}, {"path": "//site/dup/", "type": "t3"}]}')$$);
SELECT regress.try($$SELECT arxos.import_batch('rd', '{"connections": [{"from": "/site", "to": "/site/ahu-1", "kind": "feeds"}, {"from": "/site/", "to": "/site/ahu-1", "kind": "feeds", "properties": {"z": 1}}]}')$$);
SELECT count(*) AS nothing_written FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path IN ('/site/dup', '/x');
-- nothing is instrumented yet: the sensor's class is not a sensing type
SELECT instrumented FROM arxos.rating_inputs(arxos.building_id('rd'));
-- one reading now: instrumented, counters equal the oracle, no history row
SELECT arxos.record('rd', '/site/ahu-1/temp', 18.5, '°C');
SELECT path, instrumented, metrics -> 'reading' -> 'value' AS value, metrics -> 'reading' ->> 'unit' AS unit
  FROM arxos.objects WHERE building_id = arxos.building_id('rd') ORDER BY path;
SELECT (SELECT instrumented FROM arxos.rating_inputs(arxos.building_id('rd'))) AS counters,
       (SELECT instrumented FROM arxos.rating_inputs_scan(arxos.building_id('rd'))) AS oracle;
SELECT count(*) AS updates_in_history FROM arxos.object_history
 WHERE building_id = arxos.building_id('rd') AND op = 'update' AND path = '/site/ahu-1/temp';
-- a batch in the past: duplicates (last wins), out of order, two months, no unit conversion
SELECT arxos.record_batch('rd', '[
  {"path": "/site/ahu-1/temp", "value": 20, "unit": "°C", "at": "2025-03-01T00:00:00Z"},
  {"path": "/site/ahu-1/temp", "value": 21, "unit": "°C", "at": "2025-03-01T00:10:00Z"},
  {"path": "/site/ahu-1/temp", "value": 70, "unit": "°F", "at": "2025-03-01T00:05:00Z"},
  {"path": "/site/ahu-1/temp", "value": 22, "unit": "°C", "at": "2025-03-01T00:10:00Z"},
  {"path": "/site/ahu-1/fan", "value": 1, "at": "2025-04-15T12:00:00Z"}]');
-- the same sample again replaces the stored value
SELECT arxos.record('rd', '/site/ahu-1/temp', 23, '°C', '2025-03-01T00:10:00Z');
SELECT tableoid::regclass AS partition, at, value, unit FROM arxos.readings
 WHERE building_id = arxos.building_id('rd') AND at < '2026-01-01' ORDER BY at;
-- older samples leave the latest metrics alone; the fan's old sample does not instrument it
SELECT path, instrumented, metrics -> 'reading' -> 'value' AS value, last_reading_at < '2026-01-01' AS old
  FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path LIKE '/site/ahu-1/%' ORDER BY path;
-- ranges: raw, then bucketed (a bucket mixing units has no unit)
SELECT * FROM arxos.readings_range('rd', '/site/ahu-1/temp', '2025-03-01', '2025-03-02');
SELECT * FROM arxos.readings_range('rd', '/site/ahu-1/temp', '2025-03-01', '2025-03-02', '1 hour');
SELECT * FROM arxos.readings_range('rd', '/site/ahu-1/temp', '2025-03-01', '2025-03-01 00:05:00+00', '1 hour');
SELECT * FROM arxos.readings_range('rd', '/site/ahu-1/temp', '2025-03-02', '2025-03-01');
SELECT * FROM arxos.readings_range('rd', '/site/ahu-1/temp', '2025-03-01', '2025-03-02', '-1 hour');
SELECT * FROM arxos.readings_range('rd', '/site/ahu-1/temp', '2025-03-01', '2025-03-02', '1 month');
-- and one past date_bin's range (it was PostgreSQL's bare "interval out of range")
SELECT * FROM arxos.readings_range('rd', '/site/ahu-1/temp', '2025-03-01', '2025-03-02', '106751992 days');
-- errors: unknown object, bad values, bad times, not an array
SELECT arxos.record('rd', '/nowhere', 1);
SELECT arxos.record('rd', '/site', 'NaN');
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": "1"}]');
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 1, "at": "yesterday-ish"}]');
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 1, "at": "2016-12-31T23:59:59Z"}, {"path": "/site", "value": 2, "at": "2016-12-31T23:59:60Z"}]');
-- 24:00 is the next day's midnight, where it would replace what was recorded then (review)
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 7, "at": "2016-12-01T24:00:00Z"}]');
SELECT arxos.record_batch('rd', '{"path": "/site", "value": 1}');
SELECT arxos.record_batch('rd', '[]');
-- a value a float8 cannot hold is named as out of range (not 400 digits of it)
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 1}, {"path": "/site", "value": 1e400}]');
-- digits past the microsecond are dropped, not rounded into the next second (and month),
-- where the sample would replace another; a lowercase t separates date and time too
BEGIN;
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 100, "at": "2024-11-01T00:00:00Z"},
                                  {"path": "/site", "value": 999, "at": "2024-10-31t23:59:59.9999999Z"}]');
SELECT at, value FROM arxos.readings WHERE object_id = (SELECT id FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site')
   AND at BETWEEN '2024-10-31 23:59:59Z' AND '2024-11-01 00:00:00Z' ORDER BY at;
ROLLBACK;
-- metrics.reading.at (and metric.recorded's) are written in UTC whatever the session's zone
BEGIN;
SET LOCAL TimeZone = 'America/New_York';
SELECT arxos.record('rd', '/site', 5, at => '2025-03-03 12:00:00+00');
SELECT metrics #>> '{reading,at}' AS reading_at FROM arxos.objects
 WHERE building_id = arxos.building_id('rd') AND path = '/site';
ROLLBACK;
-- unknown keys are refused (a misspelt time would be recorded at now()), values stay below 1e100
-- in magnitude (bucket sums stay finite), units are not blank; plain INSERTs keep the same bounds
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 1}, {"path": "/site", "value": 2, "timestamp": "2025-03-01T00:00:00Z"}]');
SELECT arxos.record('rd', '/site', 1.79e308);
SELECT arxos.record('rd', '/site', -1e100);
SELECT arxos.record('rd', '/site', 1, '   ');
SELECT arxos.record('rd', '/site', 1, E'\u00B0C\u200B');
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT building_id, id, '2025-03-01', 'NaN' FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site';
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT building_id, id, '2025-03-01', 1e300 FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site';
INSERT INTO arxos.readings (building_id, object_id, at, value, unit)
SELECT building_id, id, '2025-03-01', 1, ' ' FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site';
-- nor nearer 0 than 1e-100 (but 0 itself): the object's metrics hold the latest value, and
-- stored documents hold numbers of 0 or 1e-100 to 1e100 in magnitude
SELECT arxos.record('rd', '/site', 1e-150);
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT building_id, id, '2025-03-01', 5e-324 FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site';
-- a batch naming objects that do not exist: the first path, and in the detail how many and which
DO $$
DECLARE d text; m text;
BEGIN
    PERFORM arxos.record_batch('rd', '[{"path": "/site", "value": 1}, {"path": "/gone/b", "value": 1},
                                      {"path": "/gone/a", "value": 1}, {"path": "/gone/a", "value": 2}]');
EXCEPTION WHEN no_data_found THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
    RAISE NOTICE '% | %', m, d;
END $$;
-- times: a zone is required, nothing before 1970 or ahead of the clock (5 minutes of skew),
-- and one call creates at most 24 month partitions
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 1, "at": "2025-03-01T00:00:00"}]');
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 1, "at": "2025-03-01 00:00 Europe/Paris"}]');
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 1, "at": "1969-12-31T23:59:59Z"}]');
-- a time that matches the shape but is no instant names its reading
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 1}, {"path": "/site", "value": 1, "at": "2026-02-30T00:00:00Z"}]');
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 1, "at": "2026-01-01T00:00:00+25:00"}]');
SELECT arxos.record('rd', '/site', 1, 'kW', '2999-01-01T00:00:00Z');
SELECT arxos.record('rd', '/site', 1, 'kW', 'infinity');
BEGIN;
SELECT arxos.record('rd', '/site', 1, 'kW', now() + interval '4 minutes') ->> 'recorded' AS skew_allowed;
ROLLBACK;
SELECT arxos.record_batch('rd', jsonb_agg(jsonb_build_object('path', '/site', 'value', 1,
           'at', to_char(timestamptz '1990-01-15 00:00:00+00' + m * interval '1 month', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))))
  FROM generate_series(0, 24) m;
SELECT count(*) AS partitions_before_2000 FROM pg_class WHERE relname ~ '^readings_19';
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT building_id, id, 'infinity', 5 FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site';
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT building_id, id, '10000-01-01', 5 FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site';
-- no partition that could never hold a reading
SELECT arxos.ensure_readings_partition('1900-01-01');
SELECT arxos.ensure_readings_partition('294276-01-01');
-- a month no reading can be in yet (after the next one): refused (its date in the message
-- changes, so the SQLSTATE only); the next month itself is made ahead (below)
SELECT left(regress.try($$SELECT arxos.ensure_readings_partition(now() + interval '3 months')$$), 6) AS far_month;
-- metric.recorded: one per object per transaction, with the latest value and a count
BEGIN;
SELECT arxos.record('rd', '/site', 1, 'kW', '2025-05-01T00:00:00Z');
SELECT arxos.record('rd', '/site', 3, 'kW', '2025-05-01T00:02:00Z');
SELECT arxos.record('rd', '/site', 2, 'kW', '2025-05-01T00:01:00Z');
COMMIT;
SELECT type, path, body FROM arxos.events_since(0, types => ARRAY['metric.recorded'], building => 'rd')
 WHERE path = '/site';
-- a plain INSERT into a month without partition lands in DEFAULT; maintenance moves it
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT building_id, id, '2024-07-04 12:00:00+00', 5 FROM arxos.objects
 WHERE building_id = arxos.building_id('rd') AND path = '/site';
SELECT tableoid::regclass AS partition FROM arxos.readings WHERE at = '2024-07-04 12:00:00+00';
SELECT arxos.readings_maintenance() >= 1 AS created;
SELECT tableoid::regclass AS partition FROM arxos.readings WHERE at = '2024-07-04 12:00:00+00';
-- a plain INSERT of a sample from the future is refused as record_batch refuses it: it would stay
-- the object's latest reading, and keep it instrumented, until then
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT building_id, id, now() + interval '1 day', 5 FROM arxos.objects
 WHERE building_id = arxos.building_id('rd') AND path = '/site';
-- two months moved in one transaction, each through its own temporary table
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT building_id, id, t, 6 FROM arxos.objects, unnest(ARRAY['2024-08-01 00:00:00+00', '2024-08-31 23:59:59+00',
                                                                '2024-09-15 00:00:00+00']::timestamptz[]) t
 WHERE building_id = arxos.building_id('rd') AND path = '/site';
-- A writer (fallback, the default) moves at most readings_writer_move_max() of them (lowered
-- to 1 here): past it, its month stays in DEFAULT, as the move would hold every reader and
-- writer of readings (a review moved 3 million for 46 s), and it does not queue on the
-- serialisation point; neither does a move past move_max
BEGIN;
CREATE OR REPLACE FUNCTION arxos.readings_writer_move_max() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;
SELECT (SELECT value FROM arxos.serial_locks WHERE name = 'readings_partition') AS serial_before \gset
SELECT arxos.ensure_readings_partition('2024-08-10') AS writer_made,
       (SELECT value FROM arxos.serial_locks WHERE name = 'readings_partition') IS NOT DISTINCT FROM :'serial_before' AS not_queued;
ROLLBACK;
SELECT arxos.ensure_readings_partition('2024-08-10', fallback => false, move_max => 1) AS past_move_max,
       left(regress.try($$SELECT arxos.ensure_readings_partition('2024-08-10', move_max => -1)$$), 40) AS negative;
SELECT tableoid::regclass AS partition, count(*) FROM arxos.readings
 WHERE at >= '2024-08-01' AND at < '2024-10-01' GROUP BY 1 ORDER BY 1;
BEGIN;
SELECT arxos.ensure_readings_partition('2024-08-10', fallback => false) AS august,
       arxos.ensure_readings_partition('2024-09-10', fallback => false, move_max => 1) AS september;
COMMIT;
SELECT tableoid::regclass AS partition, count(*) FROM arxos.readings
 WHERE at >= '2024-08-01' AND at < '2024-10-01' GROUP BY 1 ORDER BY 1;
-- maintenance moves at most readings_move_max() rows a run, in all, and says which months hold
-- more than that (lowered to 2 for the test; June 2023 waits in DEFAULT with 3 rows, May 2023
-- with 2): May moves; June, too big, stays, with a WARNING naming the call that moves it
BEGIN;
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT building_id, id, t, 7 FROM arxos.objects, unnest(ARRAY['2023-05-01 00:00:00+00', '2023-05-02 00:00:00+00',
                                                                '2023-06-01 00:00:00+00', '2023-06-02 00:00:00+00',
                                                                '2023-06-03 00:00:00+00']::timestamptz[]) t
 WHERE building_id = arxos.building_id('rd') AND path = '/site/ahu-1/temp';
SELECT * FROM arxos.readings_default_months() m WHERE m < '2024-01-01';
CREATE OR REPLACE FUNCTION arxos.readings_move_max() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 2 $$;
SELECT arxos.readings_maintenance() >= 1 AS created;
SELECT tableoid::regclass AS partition, count(*) FROM arxos.readings
 WHERE at >= '2023-05-01' AND at < '2023-07-01' GROUP BY 1 ORDER BY 1;
-- retention deletes at most readings_move_max() of DEFAULT's rows a call, and says when more
-- are left
SELECT * FROM arxos.drop_readings_before('2023-07-01');
SELECT count(*) AS left_in_default FROM arxos.readings_default WHERE at < '2023-07-01';
ROLLBACK;
-- a bounded number of month partitions (every object delete visits each): past
-- readings_partitions_max(), an old month's readings stay in DEFAULT, read all the same, while
-- this month's and the next month's partitions are still made (the bound lowered to the
-- partitions there are, for the test)
BEGIN;
CREATE OR REPLACE FUNCTION arxos.readings_partitions_max() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT count(*)::integer - 1 FROM pg_inherits WHERE inhparent = 'arxos.readings'::regclass $$;
SELECT arxos.record_batch('rd', '[{"path": "/site", "value": 7, "at": "2001-02-03T00:00:00Z"}]');
SELECT tableoid::regclass AS partition, value FROM arxos.readings WHERE at = '2001-02-03 00:00:00+00';
DO $$ BEGIN
    EXECUTE format('DROP TABLE IF EXISTS arxos.%I', 'readings_' || to_char((now() + interval '1 month') AT TIME ZONE 'UTC', 'YYYYMM'));
END $$;
SELECT arxos.ensure_readings_partition('2001-02-03') AS old_month_created,
       arxos.ensure_readings_partition(now() + interval '1 month') AS next_month_created;
SELECT count(*) AS readings_of_2001 FROM arxos.readings_range('rd', '/site', '2001-01-01', '2001-03-01');
ROLLBACK;
-- the partitions and the registration rank serialise on rows only the extension's owner can
-- lock: no advisory lock any login could hold, and no other role locks them
SELECT name FROM arxos.serial_locks ORDER BY name;
SELECT has_table_privilege('arxos_api', 'arxos.serial_locks', 'UPDATE') AS api_may_lock,
       has_table_privilege('arxos_reader', 'arxos.serial_locks', 'SELECT') AS reader_may_read,
       has_function_privilege('arxos_reader', 'arxos.serialize(text)', 'EXECUTE') AS reader_may_serialize;
SELECT r.rolname, p.oid::regprocedure AS may_take
  FROM pg_roles r, pg_proc p
 WHERE r.rolname IN ('arxos_api', 'arxos_authenticator', 'arxos_query', 'arxos_reader')
   AND p.oid IN ('arxos.serialize(text)'::regprocedure, 'arxos.next_registration_rank()'::regprocedure,
                 'arxos.lock_sequencer()'::regprocedure)
   AND has_function_privilege(r.oid, p.oid, 'EXECUTE');
-- a row missing (a dump from before the table, restored) is put back when it is needed
BEGIN;
DELETE FROM arxos.serial_locks;
SELECT arxos.register_contributor('rank-after-restore', 'Rank') IS NOT NULL AS registered;
SELECT name FROM arxos.serial_locks;
ROLLBACK;
-- an INSERT that inserts nothing (ON CONFLICT DO NOTHING) takes no rank: the next one follows
BEGIN;
SELECT coalesce(max(registration_rank), 0) AS top FROM arxos.contributors \gset
SELECT arxos.register_contributor('rank-one', 'One') IS NOT NULL AS registered;
INSERT INTO arxos.contributors (handle, display_name) VALUES ('rank-one', 'Again') ON CONFLICT (handle) DO NOTHING;
SELECT arxos.register_contributor('rank-two', 'Two') IS NOT NULL AS registered;
SELECT handle, registration_rank - :top AS rank_after FROM arxos.contributors
 WHERE handle IN ('rank-one', 'rank-two') ORDER BY registration_rank;
ROLLBACK;
SELECT count(*) AS advisory_locks_taken FROM pg_proc p
 WHERE p.pronamespace = 'arxos'::regnamespace AND p.prosrc LIKE '%pg\_advisory%';
-- retention drops whole months before the cutoff
SELECT * FROM arxos.drop_readings_before('2025-04-01');
SELECT count(*) FILTER (WHERE at < '2025-04-01') AS before, count(*) FILTER (WHERE at >= '2025-04-01') AS after
  FROM arxos.readings WHERE building_id = arxos.building_id('rd');
-- a month's partition is bounded in UTC whatever the session's TimeZone and DateStyle (found
-- by a review: `CST` was read back as US Central, and the month's first hours went to DEFAULT)
BEGIN;
SET LOCAL TimeZone = 'Asia/Shanghai';
SET LOCAL DateStyle = 'SQL';
SELECT arxos.ensure_readings_partition('2024-02-01 00:30+00') AS made;
SELECT (arxos.record('rd', '/site/ahu-1/temp', 1, 'C', '2024-02-01 00:30+00'))->>'recorded' AS recorded;
SELECT tableoid::regclass AS stored_in FROM arxos.readings WHERE at = '2024-02-01 00:30+00';
ROLLBACK;
-- retention keeps a month stored in DEFAULT whole, as it keeps a partition of it
BEGIN;
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT o.building_id, o.id, t, 1
  FROM arxos.objects o,
       unnest(ARRAY['2024-05-20 00:00+00', '2024-06-03 00:00+00', '2024-06-20 00:00+00']::timestamptz[]) t
 WHERE o.building_id = arxos.building_id('rd') AND o.path = '/site/ahu-1/temp';
SELECT * FROM arxos.drop_readings_before('2024-06-10');
SELECT to_json(at) AS kept FROM arxos.readings_default WHERE at < '2024-07-01' ORDER BY at;
ROLLBACK;
-- readings without a time in one transaction are separate readings (the clock, not the
-- transaction's start: found by a review, each replaced the one before)
BEGIN;
SELECT arxos.record('rd', '/site/ahu-1/temp', 1, 'C') IS NOT NULL AS first,
       pg_sleep(0.01) IS NOT NULL AS later,
       arxos.record('rd', '/site/ahu-1/temp', 2, 'C') IS NOT NULL AS second;
SELECT count(*) AS readings_in_this_transaction FROM arxos.readings
 WHERE building_id = arxos.building_id('rd') AND received_at = now() AND at > now() - interval '1 minute';
ROLLBACK;
-- last_reading_at belongs to the readings: a plain UPDATE of it changes nothing
UPDATE arxos.objects SET last_reading_at = now() - interval '31 days'
 WHERE building_id = arxos.building_id('rd') AND path = '/site/ahu-1/temp';
SELECT instrumented, last_reading_at > now() - interval '1 day' AS kept
  FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site/ahu-1/temp';
-- the 30-day window: a reading 31 days old does not instrument
SELECT (arxos.put('rd', '/site/old-meter', 'thing')).path;
SELECT arxos.record('rd', '/site/old-meter', 1, 'kWh', now() - interval '31 days');
SELECT instrumented, last_reading_at IS NOT NULL AS has_reading
  FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site/old-meter';
-- a plain INSERT is a reading like any other: the object's metrics, one metric.recorded at
-- commit; a reading of an object of another building (or none) is refused
INSERT INTO arxos.readings (building_id, object_id, at, value, unit)
SELECT building_id, id, now() - interval '1 minute', 7.5, 'kWh' FROM arxos.objects
 WHERE building_id = arxos.building_id('rd') AND path = '/site/old-meter';
SELECT instrumented, metrics #> '{reading,value}' AS value
  FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site/old-meter';
SELECT body ->> 'value' AS value, body ->> 'count' AS count
  FROM arxos.events_since(0, types => ARRAY['metric.recorded'], building => 'rd') WHERE path = '/site/old-meter' ORDER BY id;
INSERT INTO arxos.readings (building_id, object_id, at, value)
SELECT arxos.building_id('b42'), id, now(), 1 FROM arxos.objects
 WHERE building_id = arxos.building_id('rd') AND path = '/site/old-meter';
SELECT arxos.rm('rd', '/site/old-meter');
SELECT (SELECT instrumented FROM arxos.rating_inputs(arxos.building_id('rd'))) AS counters,
       (SELECT instrumented FROM arxos.rating_inputs_scan(arxos.building_id('rd'))) AS oracle;
-- time passing without writes: the rating leaves an object out the moment its window closes,
-- before any tick(); seen from 31 days on, then simulated by moving the last reading (and the
-- window's end) back with the triggers off (no write seen by the rating)
SELECT arxos.record('rd', '/site', 4, 'kW');
SELECT instrumented_until = arxos.reading_window_end(last_reading_at) AS window_end
  FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site';
SELECT (SELECT instrumented FROM arxos.rating_inputs(arxos.building_id('rd'))) AS now_counters,
       (SELECT instrumented FROM arxos.rating_inputs(arxos.building_id('rd'), now() + interval '31 days')) AS later_counters,
       (SELECT instrumented FROM arxos.rating_inputs_scan(arxos.building_id('rd'), now() + interval '31 days')) AS later_oracle;
SELECT arxos.sequence_events() >= 0 AS sequenced;
ALTER TABLE arxos.objects DISABLE TRIGGER USER;
UPDATE arxos.objects SET last_reading_at = now() - interval '40 days',
                         instrumented_until = arxos.reading_window_end(now() - interval '40 days')
 WHERE building_id = arxos.building_id('rd') AND path = '/site';
ALTER TABLE arxos.objects ENABLE TRIGGER USER;
SELECT instrumented AS stale FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site';
SELECT (SELECT instrumented FROM arxos.rating_inputs(arxos.building_id('rd'))) AS counters,
       (SELECT instrumented FROM arxos.rating_inputs_scan(arxos.building_id('rd'))) AS oracle;
-- tick() records the move as time's (one time_window row) and then expires the flag, which
-- leaves the rating as it is: the fold of that update records nothing
SELECT coalesce(max(id), 0) AS last_row FROM arxos.rating_history WHERE building_id = arxos.building_id('rd') \gset
SELECT arxos.tick() >= 1 AS ticked;
SELECT arxos.sequence_events() >= 0 AS sequenced;
SELECT reason FROM arxos.rating_history WHERE building_id = arxos.building_id('rd') AND id > :last_row ORDER BY id;
SELECT instrumented, instrumented_until FROM arxos.objects WHERE building_id = arxos.building_id('rd') AND path = '/site';
SELECT (SELECT instrumented FROM arxos.rating_inputs(arxos.building_id('rd'))) AS counters,
       (SELECT instrumented FROM arxos.rating_inputs_scan(arxos.building_id('rd'))) AS oracle;
-- a sensing type is instrumented for good: no window; dropping the type gives the window back
INSERT INTO arxos.sensing_types VALUES ('probe-class');
UPDATE arxos.objects SET type = 'probe-class' WHERE building_id = arxos.building_id('rd') AND path = '/site/ahu-1/temp';
SELECT arxos.record('rd', '/site/ahu-1/temp', 21.5, 'C');
SELECT instrumented, instrumented_until IS NULL AS for_good FROM arxos.get('rd', '/site/ahu-1/temp');
DELETE FROM arxos.sensing_types WHERE type = 'probe-class';
SELECT instrumented, instrumented_until = arxos.reading_window_end(last_reading_at) AS window_back
  FROM arxos.get('rd', '/site/ahu-1/temp');
SELECT (SELECT instrumented FROM arxos.rating_inputs(arxos.building_id('rd'), now() + interval '31 days')) AS later_counters,
       (SELECT instrumented FROM arxos.rating_inputs_scan(arxos.building_id('rd'), now() + interval '31 days')) AS later_oracle;
-- deleting an object deletes its readings
SELECT arxos.rm('rd', '/site/ahu-1/fan');
SELECT count(*) FROM arxos.readings r JOIN arxos.objects o ON o.id = r.object_id WHERE o.path = '/site/ahu-1/fan';
SELECT count(*) AS orphans FROM arxos.readings r WHERE NOT EXISTS (SELECT 1 FROM arxos.objects o WHERE o.id = r.object_id);
DELETE FROM arxos.buildings WHERE key = 'rd';
SELECT count(*) AS left_over FROM arxos.readings;
-- the bookkeeping functions the API's role may call reach the caller's buildings only (found
-- by a review: a session limited to one building wrote another's metrics through them)
SELECT arxos.create_building('scoped_a', 'Scope A') IS NOT NULL AS a, arxos.create_building('scoped_b', 'Scope B') IS NOT NULL AS b;
SELECT (arxos.put('scoped_b', '/meter', 'meter')).id AS meter \gset
BEGIN;
SELECT set_config('arxos.building_ids', arxos.building_id('scoped_a')::text, true) IS NOT NULL AS scoped;
SET LOCAL ROLE arxos_api;
SELECT arxos.note_latest_readings(ARRAY[:'meter'::uuid], ARRAY[now()], ARRAY[666::float8], ARRAY['hacked']);
SELECT arxos.recount_monitors(ARRAY[:'meter'::uuid]);
RESET ROLE;
SELECT metrics, last_reading_at FROM arxos.objects WHERE id = :'meter';
ROLLBACK;
DELETE FROM arxos.buildings WHERE key IN ('scoped_a', 'scoped_b');
