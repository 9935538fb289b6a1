-- Session settings a database or role may carry by default do not change what the extension
-- stores or answers (docs/operations.md, "Session settings"): legacy string literals, fewer
-- float digits, a search_path without public or with a schema of look-alikes first.
\set VERBOSITY terse
SET timezone = 'UTC';
SELECT arxos.create_building('ss', 'Sessions') IS NOT NULL AS created;
SELECT (arxos.put('ss', '/room', 'room', location => '{"x": 1, "y": 2, "z": 0}')).version;
SELECT (arxos.put('ss', '/room/t', 'Temperature_Sensor', location => '{"x": 1.25, "y": 2, "z": 0}')).version;
-- standard_conforming_strings off: the extension's patterns keep their backslashes
SET standard_conforming_strings = off;
SET escape_string_warning = off;
SELECT arxos.reading_time('2026-11-30T23:59:59.9999999Z');
SELECT arxos.try_timestamptz('2024-05-01T10:30:00Z');
SELECT arxos.record_batch('ss', '[{"path": "/room/t", "value": 21.5, "at": "2026-11-30T12:00:00Z"}]');
SELECT count(*) >= 0 AS read FROM arxos.events_since(0, ARRAY['object.*'], 'ss');
SELECT arxos.put('ss', '/room/x', 'a' || chr(7) || 'b');
RESET standard_conforming_strings;
RESET escape_string_warning;
-- extra_float_digits below 1: the JSON written keeps every digit
SET extra_float_digits = -15;
SELECT arxos.record('ss', '/room/t', 123.456789, 'degC', '2026-11-30T13:00:00Z');
SELECT metrics -> 'reading' -> 'value' AS value FROM arxos.objects WHERE path = '/room/t' AND building_id = arxos.building_id('ss');
SELECT body -> 'value' AS value FROM arxos.events_pending WHERE type = 'metric.recorded' AND building_id = arxos.building_id('ss')
UNION ALL
SELECT body -> 'value' FROM arxos.events WHERE type = 'metric.recorded' AND building_id = arxos.building_id('ss')
ORDER BY 1;
-- a rating written from components of 17 significant digits (recompute_rating's path): the
-- events carry them with three decimals, as the history row and GET …/rating do, whatever the
-- session's extra_float_digits
SELECT arxos.record_rating(arxos.building_id('ss'), 'manual_recalculation', NULL, NULL, true,
    computed => ARRAY[80.12345678901234, 70.1, 0.30000000000000004, 0, 0, 50, 15, 40.5]::float8[]);
SELECT type, body -> 'components' -> 'structure' AS structure, body -> 'components' -> 'metadata' AS metadata
  FROM (SELECT type, body FROM arxos.events_pending WHERE building_id = arxos.building_id('ss')
        UNION ALL
        SELECT type, body FROM arxos.events WHERE building_id = arxos.building_id('ss')) e
 WHERE body -> 'components' -> 'structure' = '80.123' ORDER BY type;
RESET extra_float_digits;
-- a search_path without public (where cube usually is): near still finds the sensor
SET search_path = arxos;
SELECT path, distance FROM arxos.near_point('ss', 1, 2, 0, 1);
-- a schema of look-alikes first: its cube() is not called
RESET search_path;
CREATE SCHEMA lookalikes;
CREATE FUNCTION lookalikes.cube(double precision[]) RETURNS public.cube
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'lookalikes.cube was called'; END $$;
SET search_path = lookalikes, public;
SELECT path, distance FROM arxos.near_point('ss', 1, 2, 0, 1);
RESET search_path;
DROP SCHEMA lookalikes CASCADE;
-- JSON answers are UTC and keep every digit whatever the session (found by an audit: test
-- webhook bodies stored the caller's offset, breakdown weights lost digits)
SET TimeZone = 'Pacific/Chatham';
SET extra_float_digits = -15;
SELECT arxos.rating_breakdown('ss') ->> 'calculated_at' LIKE '%+00:00' AS breakdown_utc,
       (SELECT string_agg(c ->> 'weight', ',' ORDER BY c ->> 'name') FROM jsonb_array_elements(arxos.rating_breakdown('ss') -> 'components') c) AS weights;
SELECT w ->> 'created_at' LIKE '%+00:00' AS webhook_utc FROM arxos.create_webhook('https://example.com/tz') w \gset
SELECT :'webhook_utc' AS webhook_utc,
       arxos.test_webhook((SELECT id FROM arxos.webhooks WHERE url = 'https://example.com/tz')) ->> 'created_at' LIKE '%+00:00' AS test_utc;
SELECT payload ->> 'at' LIKE '%+00:00' AS test_body_utc FROM arxos.webhook_deliveries d
 WHERE d.webhook_id = (SELECT id FROM arxos.webhooks WHERE url = 'https://example.com/tz') AND payload IS NOT NULL;
DELETE FROM arxos.webhooks WHERE url = 'https://example.com/tz';
RESET extra_float_digits;
RESET TimeZone;
-- under REPEATABLE READ sequence_events numbers nothing (its lock would fail the transaction
-- once another sequencer moved on), as events_since
SELECT (arxos.put('ss', '/room/rr', 'thing')).id IS NOT NULL AS written;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT arxos.sequence_events() AS sequenced_under_repeatable_read;
-- and what must sequence refuses such a transaction, saying so (found by a review: tick did
-- nothing there, without a word)
SELECT regress.try($$SELECT arxos.tick()$$) AS tick_refused;
COMMIT;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT regress.try($$SELECT arxos.recompute_rating('ss')$$) AS recompute_refused;
COMMIT;
SELECT arxos.sequence_events() > 0 AS sequenced_under_read_committed;
