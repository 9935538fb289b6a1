//! `arxos import` of a Zinc grid (tests/fixtures/haystack_small.zinc; the format is guessed
//! from the content): the same rules as Haystack JSON, since libhaystack decodes the grid and
//! the importer reads the Hayson it encodes to. Idempotent re-import.

mod import_common;

use std::process::Command;

use arxos_e2e::{arxos_bin, Cluster};
use import_common::{arxos, fixture, parent, path_of};
use serde_json::{json, Value};

/// `arxos import` of the Zinc fixture: the summary (stdout) and the skipped records with their
/// reasons (stderr).
fn import(cluster: &Cluster, building: &str) -> String {
    let file = fixture("haystack_small.zinc");
    let out = arxos(
        cluster,
        &["import", "--building", building, file.to_str().unwrap()],
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn zinc_import_builds_the_tree_and_is_idempotent() {
    let cluster = Cluster::start();
    let mut db = cluster.client();
    db.execute("SELECT arxos.create_building('hz', 'HQ')", &[])
        .unwrap();
    let summary = import(&cluster, "hz");
    assert!(summary.contains("10 created"), "{summary}");

    // The tree: siteRef, floorRef, spaceRef, equipRef (equipment under equipment).
    let site = path_of(&mut db, "hz", "site-1");
    assert_eq!(site, "/site-1");
    let floor = path_of(&mut db, "hz", "floor:1");
    assert_eq!(parent(&floor), site);
    let space = path_of(&mut db, "hz", "space.101");
    assert_eq!(parent(&space), floor);
    let ahu = path_of(&mut db, "hz", "ahu-1");
    assert_eq!(parent(&ahu), site);
    assert_eq!(parent(&path_of(&mut db, "hz", "ahu-1.fan")), ahu);
    let vav = path_of(&mut db, "hz", "vav:101");
    assert_eq!(parent(&vav), space);
    let temp = path_of(&mut db, "hz", "vav:101-temp");
    assert_eq!(parent(&temp), vav);

    // Tags: markers, numbers with units, refs.
    let row = db
        .query_one(
            "SELECT type, properties::text FROM arxos.objects
              WHERE building_id = arxos.building_id('hz') AND path = $1",
            &[&temp],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "sensor");
    let props: Value = serde_json::from_str(row.get(1)).unwrap();
    assert_eq!(props["curVal"], json!({"value": 21.5, "unit": "°C"}));
    assert_eq!(props["temp"], true);
    assert_eq!(props["equipRef"], "@vav:101");

    // Refs as connections; the dangling elecRef is skipped with its reason.
    let kinds: Vec<String> = db
        .query(
            "SELECT kind FROM arxos.connections WHERE building_id = arxos.building_id('hz')
              ORDER BY kind",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        kinds,
        ["air_ref", "chilled_water_ref", "hot_water_ref"],
        "{summary}"
    );
    assert!(summary.contains("does-not-exist"), "{summary}");

    // Again: nothing changes.
    let again = import(&cluster, "hz");
    assert!(
        again.contains("0 created") && again.contains("10 unchanged"),
        "{again}"
    );
}

/// On a terminal the CLI draws a progress bar (on stderr); piped, it does not.
#[test]
fn the_progress_bar_shows_on_a_terminal_only() {
    let cluster = Cluster::start();
    let file = fixture("haystack_small.zinc");
    let piped = import(&cluster, "piped");
    assert!(!piped.contains("objects and connections"), "{piped}");

    // script(1) runs the import on a pseudo-terminal and copies what it draws to stdout.
    let command = format!(
        "{} import --building tty {}",
        arxos_bin().display(),
        file.display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("DATABASE_URL", cluster.url())
        .env_remove("RUST_LOG")
        .output()
        .expect("run script(1)");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("objects and connections"), "{screen}");
    assert!(screen.contains("10 created"), "{screen}");
}
