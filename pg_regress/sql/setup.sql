-- Installs the extension and the sample building used by the other tests.
CREATE EXTENSION arxos CASCADE;
SELECT extname, extversion FROM pg_extension WHERE extname = 'arxos';
-- The schema was made by the build installed (its install script's digest recorded in it).
SELECT arxos.schema_problem() IS NULL AS made_by_this_build,
       arxos.schema_made_from() = arxos.install_script_digest() AS digests_agree,
       arxos.schema_made_from() ~ '^[0-9a-f]{64}$' AS a_sha256;
-- and the shim's login role may ask (found by a review: permission denied for
-- market_settings, and readiness passed without the check)
BEGIN;
SET LOCAL ROLE arxos_authenticator;
SELECT arxos.schema_problem() IS NULL AS the_login_role_asks;
ROLLBACK;
BEGIN;
CREATE OR REPLACE FUNCTION arxos.schema_made_from() RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT repeat('0', 64) $$;
SELECT left(arxos.schema_problem(), 130) AS another_build;
ROLLBACK;
-- A restore of a dump made by an older build leaves one-row tables it had no rows for empty
-- (arxos.restoring = on empties them for the dump to fill): said, and filled.
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM arxos.key_generation;
DELETE FROM arxos.webhook_cursor;
SET LOCAL session_replication_role = origin;
SELECT arxos.single_rows_missing();
SELECT left(arxos.schema_problem(), 120) AS without_rows;
SELECT arxos.fill_single_rows();
SELECT arxos.schema_problem() IS NULL AS mended, arxos.fill_single_rows() AS again,
       (SELECT generation FROM arxos.key_generation) AS generation,
       (SELECT last_event_id = (SELECT last_id FROM arxos.event_counter) FROM arxos.webhook_cursor) AS cursor_at_head;
ROLLBACK;
SELECT arxos.load_sample();
SELECT arxos.load_sample();  -- second call: nothing to do
SELECT count(*) AS objects FROM arxos.objects;
SELECT count(*) AS connections FROM arxos.connections;
-- Helpers the later tests share (each test runs in a session of its own).
CREATE SCHEMA regress;
-- Runs a statement; returns 'ok' or 'SQLSTATE: message' (ids masked, the message cut at 300).
-- The statement's writes are rolled back when it fails, like a failed call's.
CREATE FUNCTION regress.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || left(regexp_replace(SQLERRM,
        '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<id>', 'g'), 300);
END
$$;
