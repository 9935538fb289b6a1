//! SQL functions racing another session's commit, against a real cluster (no shim involved).

use std::thread;
use std::time::{Duration, Instant};

use arxos_e2e::Cluster;

/// Returns once some session of the cluster waits for a lock (the racing call is parked
/// behind the open transaction).
fn until_a_session_waits(client: &mut postgres::Client) {
    let start = Instant::now();
    loop {
        let waiting: i64 = client
            .query_one(
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no session waited for a lock"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// `arxos.patch_building` that waited for a building's row while another transaction deleted
/// it answers "unknown building" (P0002), as the other writers do: it reported a building of
/// NULLs (a new key given) or a NULL key's message (found by a review).
#[test]
fn patch_building_of_a_building_deleted_meanwhile_is_unknown() {
    let cluster = Cluster::start();
    let mut admin = cluster.client();
    for (building, changes) in [
        ("gone-a", r#"{"name": "X"}"#),
        ("gone-b", r#"{"key": "kept", "name": "X"}"#),
    ] {
        admin
            .execute("select arxos.create_building($1, 'Gone')", &[&building])
            .unwrap();
        let mut deleter = cluster.client();
        deleter.batch_execute("BEGIN").unwrap();
        deleter
            .execute("DELETE FROM arxos.buildings WHERE key = $1", &[&building])
            .unwrap();
        let url = cluster.url();
        let patcher = thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.query(
                "select * from arxos.patch_building($1, $2::text::jsonb)",
                &[&building, &changes],
            )
        });
        until_a_session_waits(&mut admin);
        deleter.batch_execute("COMMIT").unwrap();
        let err = patcher
            .join()
            .unwrap()
            .expect_err("a patch of a deleted building must fail");
        let db = err.as_db_error().expect("a database error");
        assert_eq!(db.code().code(), "P0002", "{building}: {db:?}");
        assert!(
            db.message().contains("unknown building"),
            "{building}: {}",
            db.message()
        );
    }
    let kept: i64 = admin
        .query_one(
            "select count(*) from arxos.buildings where key = 'kept'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, 0);
}
