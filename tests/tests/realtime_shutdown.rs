//! A stopped shim unregisters its event listener, so writers stop sending it wake-ups at once.

use std::time::Duration;

use arxos_e2e::{wait_until, Cluster, Shim};

#[test]
fn sigterm_removes_the_listener_registration() {
    let cluster = Cluster::start();
    let mut shim = Shim::start(&cluster.url());
    let mut db = cluster.client();
    wait_until(Duration::from_secs(20), "the listener registers", || {
        let n: i64 = db
            .query_one("select count(*) from arxos.listeners", &[])
            .unwrap()
            .get(0);
        (n == 1).then_some(())
    });
    shim.signal("TERM");
    let status = shim
        .wait_exit(Duration::from_secs(20))
        .expect("the shim exits");
    assert!(status.success(), "{status:?}");
    let n: i64 = db
        .query_one("select count(*) from arxos.listeners", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the registration was removed at shutdown");
}
