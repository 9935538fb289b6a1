//! Logical replication: the commands of docs/operations.md ("Replication"), run as written
//! between two clusters, give the subscriber every row of the publisher, before and after the
//! subscription, without the subscriber's triggers or sequencer writing anything of their own.

use std::process::Command;
use std::time::Duration;

use arxos_e2e::contents::{digests, documented_commands, verified_contribution};
use arxos_e2e::{wait_until, Cluster};

/// Every table of schema arxos that survives a crash, readings as one table (the subscriber
/// keeps them in partitions of its own): what the subscriber must hold. Sequences are not
/// replicated.
fn contents(client: &mut postgres::Client) -> Vec<(String, String)> {
    digests(
        client,
        "select c.oid::regclass::text, c.relkind::text from pg_class c \
          where c.relnamespace = 'arxos'::regnamespace and c.relkind in ('r', 'p') \
            and c.relpersistence = 'p' and not c.relispartition order by c.relname",
    )
}

fn conninfo(cluster: &Cluster, database: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user=postgres dbname={database}",
        cluster.port()
    )
}

#[test]
fn a_subscriber_holds_every_row_of_the_publisher() {
    let publisher = Cluster::start();
    publisher
        .client()
        .batch_execute("ALTER SYSTEM SET wal_level = logical")
        .unwrap();
    publisher.stop();
    publisher.restart();
    let mut p = publisher.client();
    // Before the subscription: objects, events (sequenced and pending), ratings, readings in
    // two months, a webhook, a key, edited settings.
    p.batch_execute(
        "select arxos.load_sample();
         select arxos.generate_building('g', 200, 7);
         update arxos.market_settings set rate_limit = 500;
         select arxos.record('g', p.path, 21.5, 'degC'),
                arxos.record('g', p.path, 20.5, 'degC', now() - interval '40 days')
           from (select path from arxos.objects
                  where building_id = arxos.building_id('g') and type = 'sensor'
                  order by path limit 1) p;
         select arxos.create_webhook('https://example.com/hook');
         select arxos.create_api_key('replicated', array['read']);",
    )
    .unwrap();
    // (after the writes commit: their rating moves are folded, and recorded, once committed)
    p.batch_execute(
        "select count(*) from arxos.events_since(0, max => 100000);
         select arxos.tick();
         select arxos.put('g', '/pending', 'thing');",
    )
    .unwrap();

    let subscriber = Cluster::start();
    subscriber
        .client()
        .batch_execute("CREATE DATABASE replica")
        .unwrap();
    let bin = std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
    let out = Command::new("bash")
        .args([
            "-euo",
            "pipefail",
            "-c",
            &documented_commands("operations.md", "<!-- replication-commands -->"),
        ])
        .env(
            "PATH",
            format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()),
        )
        .env("PUBLISHER", conninfo(&publisher, "arxos"))
        .env("SUBSCRIBER", conninfo(&subscriber, "replica"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the documented replication commands failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // After: moves, deletes, readings in a month the subscriber has no partition for, a
    // contribution with its ledger, a building created and one deleted, the sequencer and a
    // tick on the publisher.
    p.batch_execute(
        "select arxos.mv('b42', '/hvac', '/air');
         select arxos.rm('g', p.path, recursive => true)
           from (select path from arxos.objects where building_id = arxos.building_id('g')
                  and depth = 1 order by path limit 1) p;
         select arxos.record('b42', '/electrical/panels/panel_1', 3, 'kW', now() - interval '70 days');
         select arxos.create_building('gone', 'Gone');
         select arxos.put('gone', '/x', 'thing');
         delete from arxos.buildings where key = 'gone';
         select arxos.create_building('late', 'Late');",
    )
    .unwrap();
    verified_contribution(&mut p, "g", "worker", "verifier");
    p.batch_execute(
        "select count(*) from arxos.events_since(0, max => 100000);
         select arxos.tick();
         select arxos.put('g', '/pending_at_the_end', 'thing');",
    )
    .unwrap();

    // Once the last write's pending events are on the subscriber, its readers call what
    // would sequence, fold or tick elsewhere: there it must change nothing.
    let mut s = postgres::Client::connect(&subscriber.url_for("replica"), postgres::NoTls).unwrap();
    wait_until(
        Duration::from_secs(60),
        "the last write on the subscriber",
        || {
            let n: i64 = s
                .query_one(
                    "select count(*) from arxos.events_pending where path = '/pending_at_the_end'",
                    &[],
                )
                .unwrap()
                .get(0);
            (n > 0).then_some(())
        },
    );
    s.batch_execute(
        "select count(*) from arxos.events_since(0, max => 100000);
         select arxos.tick();
         select arxos.refresh_views();",
    )
    .unwrap();

    let expected = contents(&mut p);
    for table in [
        "arxos.objects",
        "arxos.events",
        "arxos.events_pending",
        "arxos.readings",
        "arxos.ledger_entries",
        "arxos.rating_history",
    ] {
        let digest = &expected.iter().find(|(name, _)| name == table).unwrap().1;
        assert!(
            !digest.starts_with("0 "),
            "the test wrote nothing to {table}"
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = contents(&mut s);
    while last != expected && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        last = contents(&mut s);
    }
    let differ: Vec<_> = expected.iter().zip(&last).filter(|(e, l)| e != l).collect();
    assert!(
        differ.is_empty() && last.len() == expected.len(),
        "the subscriber differs after 60 s (publisher, subscriber): {differ:?}"
    );

    // Read-only answers match: the rating, the events, the BI views once refreshed.
    s.batch_execute("select arxos.refresh_views()").unwrap();
    let rating = "select (r).grade || ' ' || (r).score::text from (select arxos.rating('g') r) x";
    let mut read_only = s.transaction().unwrap();
    read_only
        .batch_execute("SET TRANSACTION READ ONLY")
        .unwrap();
    let on_subscriber: String = read_only.query_one(rating, &[]).unwrap().get(0);
    read_only.rollback().unwrap();
    let on_publisher: String = p.query_one(rating, &[]).unwrap().get(0);
    assert_eq!(on_subscriber, on_publisher);
    let leaders: i64 = s
        .query_one("select count(*) from arxos.bi_leaderboard", &[])
        .unwrap()
        .get(0);
    assert_eq!(leaders, 3, "b42, g and late");
    let gone: String = s
        .query_one(
            "select building_key from arxos.events where type = 'building.deleted'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(gone, "gone");
}
