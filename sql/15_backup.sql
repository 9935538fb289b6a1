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
