//! Webhook secrets at rest across a change of the server's key (docs/security.md, "Webhook
//! secrets at rest"): a secret sealed under the old key is refused under the new one with both
//! key ids named, and `reseal_secret` with the old key file brings it back unchanged.

use arxos_e2e::{wait_until, Cluster};
use std::time::Duration;

#[test]
fn changing_the_key_file_and_resealing_keeps_every_secret() {
    let cluster = Cluster::start();
    let mut c = cluster.client();
    let created: String = c
        .query_one(
            "select arxos.create_webhook('https://example.com/hook')->>'secret'",
            &[],
        )
        .unwrap()
        .get(0);
    let old_id: String = c
        .query_one("select arxos.secret_key_id()", &[])
        .unwrap()
        .get(0);
    let opened = |c: &mut postgres::Client| -> Result<String, String> {
        c.query_one(
            "select 'whsec_' || encode(arxos.open_secret(secret), 'base64') from arxos.webhooks",
            &[],
        )
        .map(|row| row.get(0))
        .map_err(|e| {
            let db = e.as_db_error().expect("a database error");
            format!("{} {}", db.code().code(), db.message())
        })
    };
    assert_eq!(opened(&mut c).unwrap(), created);

    // A new key, outside the data directory; the old one stays where it was created.
    let new_key = cluster.scratch_file("new.key");
    std::fs::write(&new_key, format!("{}\n", "5a".repeat(32))).unwrap();
    c.execute(
        &format!(
            "alter system set arxos.secret_key_file = '{}'",
            new_key.display()
        ),
        &[],
    )
    .unwrap();
    c.batch_execute("select pg_reload_conf()").unwrap();
    let mut c = wait_until(Duration::from_secs(10), "the new key in force", || {
        let mut fresh = cluster.client();
        let id: String = fresh
            .query_one("select arxos.secret_key_id()", &[])
            .unwrap()
            .get(0);
        (id != old_id).then_some(fresh)
    });
    let new_id: String = c
        .query_one("select arxos.secret_key_id()", &[])
        .unwrap()
        .get(0);

    let refused = opened(&mut c).unwrap_err();
    assert!(refused.starts_with("F0000 "), "{refused}");
    assert!(
        refused.contains(&old_id) && refused.contains(&new_id),
        "{refused}"
    );

    c.batch_execute(
        "update arxos.webhooks
            set secret = arxos.reseal_secret(secret, 'arxos_secret.key'),
                previous_secret = arxos.reseal_secret(previous_secret, 'arxos_secret.key')",
    )
    .unwrap();
    assert_eq!(opened(&mut c).unwrap(), created);
    let sealed_with: String = c
        .query_one(
            "select encode(substr(secret, 2, 4), 'hex') from arxos.webhooks",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(sealed_with, new_id);

    // A key file that is not a key says so.
    std::fs::write(&new_key, "not a key\n").unwrap();
    let bad = opened(&mut c).unwrap_err();
    assert!(
        bad.starts_with("F0000 ") && bad.contains("is not a key"),
        "{bad}"
    );
}

/// The default key file gone (a new data directory after pg_upgrade, a promoted standby, a
/// deleted file): sealing refuses to make a new key that could open none of the secrets, and
/// the worker's claims say why instead of failing; putting the file back mends everything.
#[test]
fn a_missing_key_file_is_an_error_not_a_new_key() {
    let cluster = Cluster::start();
    let mut c = cluster.client();
    let first: String = c
        .query_one(
            "select arxos.create_webhook('https://example.com/first')->>'id'",
            &[],
        )
        .unwrap()
        .get(0);
    let id: String = c
        .query_one("select arxos.secret_key_id()", &[])
        .unwrap()
        .get(0);
    let file = cluster.scratch_file("data/arxos_secret.key");
    let saved = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();

    let err = c
        .query_one(
            "select arxos.create_webhook('https://example.com/second')",
            &[],
        )
        .unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code().code(), "F0000");
    assert!(
        db.message().contains("is missing") && db.message().contains(&id),
        "{}",
        db.message()
    );
    assert!(!file.exists(), "no new key was made");

    c.execute("select arxos.test_webhook($1::text::uuid)", &[&first])
        .unwrap();
    let claim =
        "select delivery_id, lease_end::text, secret_error from arxos.claim_deliveries('t', 10)";
    let claimed = c.query_one(claim, &[]).unwrap();
    let (delivery, lease, reason): (i64, String, String) =
        (claimed.get(0), claimed.get(1), claimed.get(2));
    assert!(reason.contains("does not exist"), "{reason}");
    // The worker's outcome says the failure was its own (`local`): the delivery waits for
    // the next try without using up the schedule, and the webhook is not held failing, even
    // with a schedule of one step and disable_after 0 (found by a review: a key outage
    // dead-lettered every delivery and disabled every webhook, blaming its receiver).
    let finish = "select arxos.finish_deliveries('t', jsonb_build_array(jsonb_build_object(
                      'delivery', $1::bigint, 'lease', $2::text, 'status', null,
                      'error', $3::text, 'local', $4::boolean)),
                  array['0 seconds']::interval[], '0 seconds')";
    assert_eq!(
        c.query_one(finish, &[&delivery, &lease, &reason, &true])
            .unwrap()
            .get::<_, i32>(0),
        1
    );
    let state = "select d.status, d.attempts, w.enabled, w.failing_since is null
                   from arxos.webhook_deliveries d join arxos.webhooks w on w.id = d.webhook_id
                  where d.id = $1";
    let row = c.query_one(state, &[&delivery]).unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, i32>(1),
            row.get::<_, bool>(2),
            row.get::<_, bool>(3)
        ),
        ("pending".to_owned(), 0, true, true)
    );
    // a second local failure with the same error is not recorded as another attempt
    let claimed = c.query_one(claim, &[]).unwrap();
    let lease: String = claimed.get(1);
    c.query_one(finish, &[&delivery, &lease, &reason, &true])
        .unwrap();
    let recorded: i64 = c
        .query_one(
            "select count(*) from arxos.webhook_attempts where delivery_id = $1",
            &[&delivery],
        )
        .unwrap()
        .get(0);
    assert_eq!(recorded, 1);
    // (the same outcome from the endpoint's side is a failure of the endpoint's)
    let claimed = c.query_one(claim, &[]).unwrap();
    let lease: String = claimed.get(1);
    c.query_one(finish, &[&delivery, &lease, &reason, &false])
        .unwrap();
    let row = c.query_one(state, &[&delivery]).unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, bool>(2)),
        ("pending".to_owned(), false),
        "one attempt of a one-step schedule is retried once; the webhook failing for 0 s is disabled"
    );

    std::fs::write(&file, saved).unwrap();
    c.query_one(
        "select arxos.create_webhook('https://example.com/second')",
        &[],
    )
    .unwrap();
    let opened: i64 = c
        .query_one(
            "select count(*) from arxos.webhooks where octet_length(arxos.open_secret(secret)) = 32",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(opened, 2);
}
