//! `#[pg_test]`s: the extension inside a real backend. Each test runs in its own transaction,
//! rolled back afterwards.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn one<T: pgrx::IntoDatum + pgrx::FromDatum>(sql: &str) -> T {
        Spi::get_one::<T>(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unwrap_or_else(|| panic!("{sql}: NULL"))
    }

    fn run(sql: &str) {
        Spi::run(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    #[pg_test]
    fn normalizes_paths() {
        assert_eq!(crate::paths::normalize_path(Some("/a//b/")), "/a/b");
        assert_eq!(
            one::<String>("select arxos.normalize_path('//x//y//')"),
            "/x/y"
        );
        assert_eq!(one::<i32>("select arxos.path_depth('/a/b/c')"), 3);
        assert_eq!(one::<String>("select arxos.path_upper('/a')"), "/a0");
    }

    #[pg_test(
        error = "invalid path: path segment \"..\" is not allowed: '.' and '..' cannot be part of a stored path"
    )]
    fn refuses_dot_dot() {
        run("select arxos.normalize_path('/a/../b')");
    }

    #[pg_test(error = "invalid path: path has 65 levels; at most 64 are allowed")]
    fn refuses_deep_paths_on_plain_insert() {
        run("select arxos.create_building('t1', 'T1')");
        run("insert into arxos.objects (building_id, path, type) \
             select id, repeat('/a', 65), 'thing' from arxos.buildings where key = 't1'");
    }

    #[pg_test]
    fn put_get_and_sample() {
        assert!(one::<bool>("select arxos.load_sample()"));
        assert!(!one::<bool>("select arxos.load_sample()"));
        assert_eq!(one::<i64>("select count(*) from arxos.objects"), 19);
        assert_eq!(
            one::<String>(
                "select status from arxos.get('b42', '/electrical/circuits/2/outlet_2B')"
            ),
            "failed"
        );
        assert_eq!(
            one::<i64>(
                "select count(*) from arxos.ls('b42', '/electrical/circuits/2') where needs_repair"
            ),
            1
        );
        run("select arxos.put('b42', '/electrical/circuits/2/outlet_2C', 'outlet', '{\"voltage\": 120}')");
        assert_eq!(
            one::<i64>(
                "select children from arxos.ls('b42', '/electrical/circuits') where name = '2'"
            ),
            3
        );
    }

    #[pg_test]
    fn subtree_move_keeps_ids_and_connections() {
        run("select arxos.load_sample()");
        let before: i64 = one("select count(*) from arxos.connections");
        let id: pgrx::Uuid =
            one("select id from arxos.objects where path = '/electrical/circuits/2/outlet_2A'");
        assert_eq!(
            one::<i32>("select arxos.mv('b42', '/electrical/circuits', '/electrical/branch')"),
            5
        );
        let moved: String = Spi::get_one_with_args(
            "select path::text from arxos.objects where id = $1",
            &[id.into()],
        )
        .unwrap()
        .unwrap();
        assert_eq!(moved, "/electrical/branch/2/outlet_2A");
        assert_eq!(one::<i64>("select count(*) from arxos.connections"), before);
        assert_eq!(
            one::<i64>("select count(*) from arxos.object_history where op = 'move'"),
            5
        );
    }

    #[pg_test]
    fn recursive_delete_writes_history_and_events() {
        run("select arxos.load_sample()");
        // The tests run concurrently, and another test's transaction may hold the sequencer's
        // lock (recompute_rating sequences): wait for it, then this transaction holds it.
        run("select arxos.sequence_events(wait_ms => 60000)");
        let n: i32 = one("select arxos.rm('b42', '/electrical', recursive => true)");
        assert_eq!(n, 8);
        assert_eq!(
            one::<i64>("select count(*) from arxos.object_history where op = 'delete'"),
            8
        );
        assert_eq!(
            one::<i64>(
                "select count(*) from arxos.events_since(0, types => array['object.deleted'])"
            ),
            8
        );
        // connections into the deleted subtree went with it, each with its event
        assert_eq!(
            one::<i64>(
                "select count(*) from arxos.events_since(0, types => array['connection.deleted'])"
            ),
            5
        );
    }

    #[pg_test]
    fn trace_reports_cycles() {
        run("select arxos.load_sample()");
        run("select arxos.connect('b42', '/electrical/circuits/2/outlet_2A', '/electrical/panels/panel_1', 'feeds')");
        assert_eq!(
            one::<i64>(
                "select count(*) from arxos.trace('b42', '/electrical/panels/panel_1') where cycle"
            ),
            1
        );
    }

    /// A deterministic workload of inserts, updates, moves, deletes, connections and
    /// disconnections, contributions and their verifications: after each step the
    /// counters-based rating equals the recomputation from scratch.
    #[pg_test]
    fn incremental_rating_equals_oracle_under_a_random_workload() {
        run("select arxos.create_building('prop', 'Property test')");
        run("select arxos.register_contributor('alice', 'Alice'), arxos.register_contributor('bob', 'Bob')");
        // Peer verification needs some trust.
        run("update arxos.contributors set reputation = 350 where handle = 'bob'");
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let types = ["thing", "sensor", "outlet", "meter", "room"];
        let statuses = ["active", "failed", "unknown", "degraded"];
        for step in 0..120 {
            let a = next(30);
            let b = next(30);
            let sql = match next(11) {
                0 | 1 => format!(
                    "select arxos.put('prop', '/n{a}', '{}', {}, status => '{}', location => {})",
                    types[next(5) as usize],
                    if next(2) == 0 { "'{}'" } else { "'{\"k\": 1}'" },
                    statuses[next(4) as usize],
                    if next(2) == 0 {
                        "null".to_string()
                    } else {
                        format!("'{{\"x\": {a}, \"y\": {b}}}'")
                    },
                ),
                2 => format!(
                    "select arxos.patch('prop', '/n{a}', status => '{}')",
                    statuses[next(4) as usize]
                ),
                3 => format!("select arxos.rm('prop', '/n{a}', recursive => true)"),
                4 => format!("select arxos.mv('prop', '/n{a}', '/n{b}')"),
                5 => format!("select arxos.connect('prop', '/n{a}', '/n{b}', 'monitors')"),
                6 => format!("select arxos.disconnect('prop', '/n{a}', '/n{b}', 'monitors')"),
                7 => format!(
                    "select arxos.contribute('prop', arxos.contributor_id('alice'), 'floor_plan_upload', \
                     encode(sha256('{step}'::bytea), 'hex'), '{{\"floor\": {}}}')",
                    1 + next(3)
                ),
                8 => "select arxos.verify_contribution((select c.id from arxos.contributions c \
                      order by c.created_at desc, c.id limit 1), arxos.contributor_id('bob'), 'peer_verified')"
                    .to_string(),
                // A reading up to 42 days old: instrumented for what is left of its 30 days.
                9 => format!(
                    "select arxos.record('prop', '/n{a}', 1.5, 'W', now() - interval '{} hours')",
                    next(1000)
                ),
                _ => format!(
                    "insert into arxos.objects (building_id, path, type, status, properties) \
                     select id, '/n{a}/c' || g, 'sensor', 'active', '{{\"v\": 1}}' \
                     from arxos.buildings, generate_series(1, {}) g where key = 'prop'",
                    1 + next(4)
                ),
            };
            // Statements that fail (missing objects, conflicts) roll back to a savepoint, like a
            // client's failed transaction: nothing of theirs may stay in the counters.
            let body = match sql.strip_prefix("select ") {
                Some(call) => format!("perform {call}"),
                None => sql.clone(),
            };
            run(&format!(
                "do $$ begin {body}; exception when others then null; end $$"
            ));
            let incremental: String = one(
                "select row(grade, score, structure, inventory, metadata, sensors, history, quality, activity)::text \
                 from arxos.rating('prop')",
            );
            let oracle: String = one(
                "select row(grade, score, structure, inventory, metadata, sensors, history, quality, activity)::text \
                 from arxos.recompute_rating('prop')",
            );
            assert_eq!(incremental, oracle, "step {step}: {sql}");
            // Reading windows close as time passes, with no tick(): the rating's count of
            // instrumented objects some days on equals a scan's.
            let days = next(40);
            let (later, scanned): (i64, i64) = (
                one(&format!(
                    "select instrumented from arxos.rating_inputs((select id from arxos.buildings where key = 'prop'), now() + interval '{days} days')"
                )),
                one(&format!(
                    "select instrumented from arxos.rating_inputs_scan((select id from arxos.buildings where key = 'prop'), now() + interval '{days} days')"
                )),
            );
            assert_eq!(later, scanned, "step {step}, {days} days on: {sql}");
        }
        // The workload really contributed, verified and disconnected (failed steps are
        // swallowed above).
        let (contributed, verified): (i64, i64) = (
            one("select count(*) from arxos.contributions"),
            one("select count(*) from arxos.contributions where status = 'peer_verified'"),
        );
        assert!(contributed > 0 && verified > 0, "{contributed} {verified}");
        let read: i64 = one("select count(*) from arxos.readings");
        assert!(read > 0, "no reading was recorded");
    }

    /// The history and event documents are encoded in Rust (arxos_core::jsonb): byte for byte
    /// what PostgreSQL makes of the same document's text, and the same document as
    /// jsonb_build_object makes from the columns.
    #[pg_test]
    fn object_documents_are_postgres_own_jsonb() {
        use crate::jsonb::Jsonb;
        run("select arxos.generate_building('docs', 3000, 7)");
        let b = "(select id from arxos.buildings where key = 'docs')";
        // the edges: no location, a floor without one, >32 keys (offset entries), nested
        // arrays, unicode and escapes, awkward doubles, an empty object, properties stored
        // out of line (TOAST)
        run(&format!(
            "insert into arxos.objects (building_id, path, type, status, health, needs_repair, properties, x, y, z, floor) values
             ({b}, '/edge', 'directory', 'unknown', 0, true, '{{}}', null, null, null, null),
             ({b}, '/edge/wide', 'thing', 'active', 100, false,
              (select jsonb_object_agg('key_' || i, i * 1.5) from generate_series(1, 70) i), 0.1, -0, -999999999.999, -3),
             ({b}, '/edge/deep', 'thing', 'failed', 7, false,
              '{{\"a\": [1, [2, {{\"b\": null}}], \"\\u00e9\\n\\\"\"], \"\": true, \"long\": 1e-7}}', 1e-7, 123456.789, -2.5, 2),
             ({b}, '/edge/été \"q\"', 'thing', 'active', 50, false, '{{\"x\": \"☃\"}}', null, null, null, 12),
             ({b}, '/edge/big', 'thing', 'active', 50, false,
              (select jsonb_object_agg(md5(i::text), repeat(md5(i::text), 3)) from generate_series(1, 3000) i), 5, 5, 5, 1)"
        ));
        run(&format!(
            "update arxos.objects set health = 1, properties = properties || '{{\"added\": [1]}}', x = 2, y = 3, z = 4
              where building_id = {b} and path like '/edge/%'"
        ));
        let docs = [
            "arxos.object_snapshot(o, 'after')",
            "arxos.object_snapshot(o, 'before')",
            "arxos.object_fields(o)",
            "arxos.object_event(o)",
            "arxos.object_changes(o, p)",
            "arxos.object_changes(p, o)",
            "h.changes",
            "e.body",
        ];
        for doc in docs {
            let sql = format!(
                "select {doc} as mine, ({doc})::text::jsonb as theirs
                   from arxos.objects o
                   join lateral (select * from arxos.objects p where p.building_id = o.building_id
                                  and p.path < o.path order by p.path desc limit 1) p on true
                   join arxos.object_history h on h.object_id = o.id
                   join arxos.events_pending e on e.object_id = o.id and e.type = 'object.created'
                  where o.building_id = {b} and h.op = 'insert'"
            );
            let compared = Spi::connect(|client| {
                let rows = client
                    .select(&sql, None, &[])
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                let mut n = 0;
                for row in rows {
                    let mine: Jsonb = row.get(1).unwrap().unwrap();
                    let theirs: Jsonb = row.get(2).unwrap().unwrap();
                    assert!(mine.container() == theirs.container(), "{doc}, row {n}");
                    n += 1;
                }
                n
            });
            assert_eq!(compared, 3004, "{doc}");
        }
        // The content, against jsonb_build_object of the columns.
        let differ: i64 = one(&format!(
            "select count(*) from arxos.objects o where building_id = {b} and (
               arxos.object_event(o) <> jsonb_build_object('object', jsonb_build_object(
                 'id', o.id, 'path', o.path, 'type', o.type, 'status', o.status, 'health', o.health,
                 'needs_repair', o.needs_repair, 'properties', o.properties, 'x', o.x, 'y', o.y, 'z', o.z,
                 'floor', o.floor, 'version', o.version))
               or arxos.object_snapshot(o, 'after') <> (
                 select jsonb_object_agg(key, jsonb_build_object('after', value))
                   from jsonb_each(arxos.object_fields(o) - 'id')
                  where not (key in ('x', 'y', 'z') and o.x is null) and not (key = 'floor' and o.floor is null)))"
        ));
        assert_eq!(differ, 0);
        let toasted: bool = one(&format!(
            "select pg_column_size(properties) < octet_length(properties::text)
               from arxos.objects where building_id = {b} and path = '/edge/big'"
        ));
        assert!(
            toasted,
            "the big properties are stored compressed or out of line"
        );
    }

    #[pg_test(error = "an embedded jsonb container must be an object or an array, not a scalar")]
    fn object_documents_refuse_scalar_properties() {
        run("select arxos.object_fields_jsonb(gen_random_uuid()::text, '/a', 't', 'active', 1::int2, false, '5', null, null, null, null, false, null)");
    }
}
