-- ArxOS schema, part 15 (runs last): what pg_dump saves (see docs/operations.md, "Backups").
--
-- pg_dump leaves out the rows of an extension's tables unless the extension marks them as
-- configuration (pg_extension_config_dump): a dump of an ArxOS database would otherwise
-- restore an empty ArxOS. Every table of schema arxos that keeps its rows across a crash is
-- marked, with no filter (all its rows), and so is every sequence (the identity columns'
-- counters), so a restored database goes on numbering history rows, deliveries and ledger
-- entries after the restored ones. The UNLOGGED tables (listeners, query scopes, pending
-- readings) hold only what is in flight; a crash empties them too, and a dump leaves them out.
--
-- A restore must copy the rows as they were: with the extension's triggers off (they would
-- stamp new times, versions and actors, and write history, events and rating deltas for every
-- row restored) and without the rows this script seeds (statuses, sensing types, counters,
-- settings, contribution rules), which the dump holds in their saved state. So the restoring
-- session sets session_replication_role = replica (a superuser's setting: ordinary triggers do
-- not fire) and arxos.restoring = on, and this script then empties the tables it seeded.
DO $$
DECLARE
    t regclass;
BEGIN
    IF coalesce(current_setting('arxos.restoring', true), '') NOT IN ('', 'off')
       AND current_setting('arxos.restoring', true) <> 'on' THEN
        RAISE EXCEPTION 'arxos.restoring must be on or off, got %', current_setting('arxos.restoring', true)
            USING ERRCODE = '22023';
    END IF;
    IF current_setting('arxos.restoring', true) = 'on'
       AND current_setting('session_replication_role') <> 'replica' THEN
        RAISE EXCEPTION 'arxos.restoring = on needs session_replication_role = replica'
            USING ERRCODE = '55000',
                  DETAIL = 'Without it the triggers would rewrite every restored row.',
                  HINT = 'restore as a superuser with PGOPTIONS=''-c session_replication_role=replica -c arxos.restoring=on'' (docs/operations.md, "Backups")';
    END IF;
    FOR t IN
        SELECT c.oid::regclass
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
         WHERE c.relnamespace = 'arxos'::regnamespace
           AND c.relkind IN ('r', 'S') AND c.relpersistence = 'p'
         ORDER BY c.relname
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t, '');
        IF current_setting('arxos.restoring', true) = 'on'
           AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t) = 'r' THEN
            EXECUTE format('DELETE FROM %s', t);
        END IF;
    END LOOP;
END
$$;

-- What this database's schema was made from: the digest of the install script that created it
-- (arxos.install_script_digest(), read from the extension directory as this script runs; NULL
-- when it could not be read), kept as the body of a function, which belongs to the extension:
-- pg_dump does not save it and logical replication does not carry it, so a restored database
-- or a subscriber records the script of the build that made it. Before the first release every
-- build is version 0.1.0, and ALTER EXTENSION UPDATE has nothing to apply (docs/development.md,
-- "Upgrades"): a database made by one build and served by another whose schema differs runs the
-- new library against the old tables and functions. arxos.schema_problem() says so, and the
-- shim's readiness with it (found by a review). An upgrade script ends by making this function
-- again, with the digest of the install script of the version it upgrades to.
DO $$
BEGIN
    EXECUTE format(
        'CREATE FUNCTION arxos.schema_made_from() RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
        format('SELECT %L::text', arxos.install_script_digest()));
END
$$;

-- The one-row tables (counters and settings) that have no row: none, unless a restore emptied
-- them (arxos.restoring = on empties what this script seeds, for the dump to fill) from a dump
-- made by an older build, which had no rows for them because it had no such table (found by a
-- review: arxos.key_generation left empty stopped the shim's listener).
-- SECURITY DEFINER (it reads whether five rows exist, nothing of them): the shim's login role
-- runs arxos.schema_problem() for its readiness, and has no right to read market_settings
-- (found by a review: the check failed there, and readiness passed without it).
CREATE FUNCTION arxos.single_rows_missing() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, arxos, pg_temp AS $$
    SELECT coalesce(array_agg(t.name ORDER BY t.name), '{}')
      FROM (VALUES ('arxos.event_counter', NOT EXISTS (SELECT FROM arxos.event_counter)),
                   ('arxos.event_horizon', NOT EXISTS (SELECT FROM arxos.event_horizon)),
                   ('arxos.key_generation', NOT EXISTS (SELECT FROM arxos.key_generation)),
                   ('arxos.market_settings', NOT EXISTS (SELECT FROM arxos.market_settings)),
                   ('arxos.webhook_cursor', NOT EXISTS (SELECT FROM arxos.webhook_cursor))) t (name, missing)
     WHERE t.missing
$$;
-- (created after 14_privileges.sql's revocation from PUBLIC: granted as such, on purpose, as
-- admin_call is there)
GRANT EXECUTE ON FUNCTION arxos.single_rows_missing() TO PUBLIC;

-- Gives each one-row table without its row the row a new database starts with, made to fit
-- the restored rows (the counters after the events there are, the webhook cursor at the last
-- event: nothing is delivered again); returns the tables it filled. For after a restore of a
-- dump made by an older build (docs/operations.md, "Upgrades"); does nothing otherwise.
CREATE FUNCTION arxos.fill_single_rows() RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    missing text[] := arxos.single_rows_missing();
    head bigint := coalesce((SELECT max(e.id) FROM arxos.events e), 0);
BEGIN
    IF 'arxos.event_counter' = ANY (missing) THEN
        INSERT INTO arxos.event_counter (last_id) VALUES (head);
    END IF;
    IF 'arxos.event_horizon' = ANY (missing) THEN
        INSERT INTO arxos.event_horizon DEFAULT VALUES;
    END IF;
    IF 'arxos.key_generation' = ANY (missing) THEN
        INSERT INTO arxos.key_generation DEFAULT VALUES;
    END IF;
    IF 'arxos.market_settings' = ANY (missing) THEN
        INSERT INTO arxos.market_settings (rate_limit) VALUES (60);
    END IF;
    IF 'arxos.webhook_cursor' = ANY (missing) THEN
        INSERT INTO arxos.webhook_cursor (last_event_id) VALUES (head);
    END IF;
    RETURN missing;
END
$$;

-- NULL when the schema was made from the install script installed now (or either is not
-- known) and every one-row table has its row, else what is wrong and what to do.
CREATE FUNCTION arxos.schema_problem() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(
        (SELECT format('this database''s arxos schema was made by another build of the extension than the one installed (from an install script with digest %s…, where the installed one''s is %s…): the library runs against tables and functions it was not built for. Dump the database and restore it into a new one made with this build (docs/operations.md, "Upgrades"), or install the build it was made with',
                       left(d.made, 12), left(d.installed, 12))
           FROM (SELECT arxos.schema_made_from() AS made, arxos.install_script_digest() AS installed) d
          WHERE d.made <> d.installed),
        (SELECT format('%s: one-row tables without their row (restored from a dump made by an older build, which had none?); SELECT arxos.fill_single_rows() gives them their first values (docs/operations.md, "Upgrades")',
                       array_to_string(m.missing, ', '))
           FROM (SELECT arxos.single_rows_missing() AS missing) m
          WHERE cardinality(m.missing) > 0))
$$;
