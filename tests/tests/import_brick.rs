//! `arxos import --format brick` and `arxos export`: the tree, the connections, the rating
//! inputs, idempotent re-import and the round trip, with tests/fixtures/brick_small.ttl.

mod import_common;

use std::collections::BTreeSet;

use arxos_e2e::Cluster;
use import_common::{arxos, arxos_failing, fixture};

fn objects(db: &mut postgres::Client, building: &str) -> BTreeSet<(String, String)> {
    db.query(
        "SELECT path::text, type FROM arxos.objects WHERE building_id = arxos.building_id($1)",
        &[&building],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

fn connections(db: &mut postgres::Client, building: &str) -> BTreeSet<(String, String, String)> {
    db.query(
        "SELECT f.path::text, t.path::text, c.kind FROM arxos.connections c
           JOIN arxos.objects f ON f.id = c.from_id JOIN arxos.objects t ON t.id = c.to_id
          WHERE c.building_id = arxos.building_id($1)",
        &[&building],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

const FLOOR: &str = "/site/bldg-A/floor-1";

#[test]
fn brick_import_builds_the_tree_and_is_idempotent() {
    let cluster = Cluster::start();
    let file = fixture("brick_small.ttl");
    let out = arxos(
        &cluster,
        &["import", "--building", "ib", file.to_str().unwrap()],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("objects: 13 created, 0 updated, 0 unchanged"),
        "{text}"
    );
    assert!(text.contains("connections: 4 created"), "{text}");
    let errors = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        errors.contains("schema declaration"),
        "skipped triples are reported: {errors}"
    );

    let mut db = cluster.client();
    let got = objects(&mut db, "ib");
    let room = format!("{FLOOR}/room-101");
    let vav = format!("{room}/VAV-101");
    let ahu = format!("{FLOOR}/AHU-1");
    let sanitized = got
        .iter()
        .find(|(p, _)| p.starts_with(&format!("{FLOOR}/AHU_2~")))
        .expect("AHU:2 gets a sanitised segment")
        .0
        .clone();
    let expected: BTreeSet<(String, String)> = [
        ("/site", "Site"),
        ("/site/bldg-A", "Building"),
        (FLOOR, "Floor"),
        (&format!("{FLOOR}/zone-1"), "HVAC_Zone"),
        (&room, "Room"),
        (&ahu, "AHU"),
        (&format!("{ahu}/SF-1"), "Supply_Fan"),
        (&format!("{ahu}/SAT"), "Supply_Air_Temperature_Sensor"),
        (&vav, "VAV"),
        (&format!("{vav}/ai-3"), "Zone_Air_Temperature_Sensor"),
        (
            &format!("{vav}/vav-101-sp"),
            "Zone_Air_Temperature_Setpoint",
        ),
        (&format!("{room}/widget-9"), "SmartWidget"),
        (&sanitized, "AHU"),
    ]
    .into_iter()
    .map(|(p, t)| (p.to_owned(), t.to_owned()))
    .collect();
    let got_without_dirs: BTreeSet<_> = got
        .iter()
        .filter(|(_, t)| t != "directory")
        .cloned()
        .collect();
    assert_eq!(got, got_without_dirs, "no directories needed");
    assert_eq!(got_without_dirs, expected);

    let conns = connections(&mut db, "ib");
    let want: BTreeSet<(String, String, String)> = [
        (ahu.clone(), vav.clone(), "feeds"),
        (vav.clone(), format!("{FLOOR}/zone-1"), "feeds"),
        (room.clone(), format!("{FLOOR}/zone-1"), "is_part_of"),
        (format!("{room}/widget-9"), ahu.clone(), "powered_by"),
    ]
    .into_iter()
    .map(|(a, b, k)| (a, b, k.to_owned()))
    .collect();
    assert_eq!(conns, want);

    // The original IRI and literals are kept in properties.
    let row = db
        .query_one(
            "SELECT properties::text FROM arxos.objects WHERE building_id = arxos.building_id('ib') AND path = $1",
            &[&room],
        )
        .unwrap();
    let props: serde_json::Value = serde_json::from_str(row.get(0)).unwrap();
    assert_eq!(props["source_id"], "http://example.com/building#room-101");
    assert_eq!(props["area"]["value"], 20.5);
    let row = db
        .query_one(
            "SELECT properties->>'source_id' FROM arxos.objects WHERE building_id = arxos.building_id('ib') AND path = $1",
            &[&sanitized],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "http://example.com/building#AHU:2");

    // Rating inputs: counters equal the oracle; nothing sensing yet (Brick classes are not
    // sensing types), a reading makes the sensor instrumented.
    let inputs = |db: &mut postgres::Client| -> (i64, i64, i64) {
        let r = db
            .query_one(
                "SELECT i.objects, i.instrumented, s.instrumented
                   FROM arxos.rating_inputs(arxos.building_id('ib')) i,
                        arxos.rating_inputs_scan(arxos.building_id('ib')) s",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(inputs(&mut db), (13, 0, 0));
    db.execute(
        "SELECT arxos.record('ib', $1, 19.5, '°C')",
        &[&format!("{ahu}/SAT")],
    )
    .unwrap();
    assert_eq!(inputs(&mut db), (13, 1, 1));

    // The same file again: nothing created, nothing duplicated.
    let out = arxos(
        &cluster,
        &[
            "import",
            "--building",
            "ib",
            "--format",
            "brick",
            file.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("objects: 0 created, 0 updated, 13 unchanged"),
        "{text}"
    );
    assert!(
        text.contains("connections: 0 created, 0 updated, 4 unchanged"),
        "{text}"
    );
    assert_eq!(objects(&mut db, "ib"), got);
}

#[test]
fn export_reimports_to_the_same_tree() {
    let cluster = Cluster::start();
    let mut db = cluster.client();
    // A building made in ArxOS (the sample) and one imported from Brick.
    db.execute("SELECT arxos.load_sample()", &[]).unwrap();
    let file = fixture("brick_small.ttl");
    arxos(
        &cluster,
        &["import", "--building", "ib", file.to_str().unwrap()],
    );
    let dir = std::env::temp_dir().join(format!("arxos-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // An entity whose parent changed between two imports: the second import creates it at
    // the new path and keeps the old object, both with the same source IRI (found by an
    // audit: the export named both by it, and the re-import lost one).
    let revision = |n: u8, floor: &str| {
        let file = dir.join(format!("v{n}.ttl"));
        std::fs::write(
            &file,
            format!(
                "@prefix brick: <https://brickschema.org/schema/Brick#> .\n\
                 @prefix ex: <http://example.com/b#> .\n\
                 ex:F1 a brick:Floor .\nex:F2 a brick:Floor .\n\
                 ex:S a brick:Temperature_Sensor ; brick:isPartOf ex:{floor} .\n"
            ),
        )
        .unwrap();
        arxos(
            &cluster,
            &["import", "--building", "mv", file.to_str().unwrap()],
        );
    };
    revision(1, "F1");
    revision(2, "F2");
    assert_eq!(
        objects(&mut db, "mv").len(),
        4,
        "{:?}",
        objects(&mut db, "mv")
    );
    for (from, to) in [("b42", "b42-copy"), ("ib", "ib-copy"), ("mv", "mv-copy")] {
        let ttl = dir.join(format!("{from}.ttl"));
        arxos(
            &cluster,
            &[
                "export",
                "--building",
                from,
                "--format",
                "brick",
                "-o",
                ttl.to_str().unwrap(),
            ],
        );
        arxos(
            &cluster,
            &["import", "--building", to, ttl.to_str().unwrap()],
        );
        assert_eq!(objects(&mut db, to), objects(&mut db, from), "{from}");
        assert_eq!(
            connections(&mut db, to),
            connections(&mut db, from),
            "{from}"
        );
        // Properties too, of objects and connections, provenance included.
        let properties = |db: &mut postgres::Client, building: &str| -> BTreeSet<String> {
            db.query(
                "SELECT o.path || ' ' || o.properties::text FROM arxos.objects o
                  WHERE o.building_id = arxos.building_id($1)
                 UNION ALL
                 SELECT f.path || ' -> ' || t.path || ' ' || c.kind || ' ' || c.properties::text
                   FROM arxos.connections c
                   JOIN arxos.objects f ON f.id = c.from_id JOIN arxos.objects t ON t.id = c.to_id
                  WHERE c.building_id = arxos.building_id($1)",
                &[&building],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
        };
        assert_eq!(properties(&mut db, to), properties(&mut db, from), "{from}");
    }
    // The IRIs come from the building's key, whichever way --building names it (found by a
    // review: by id, the file was another's); a file that cannot be written is named.
    let id: String = db
        .query_one(
            "SELECT id::text FROM arxos.buildings WHERE key = 'b42'",
            &[],
        )
        .unwrap()
        .get(0);
    let by_key = arxos(&cluster, &["export", "--building", "b42"]);
    let by_id = arxos(&cluster, &["export", "--building", &id]);
    assert!(!by_key.stdout.is_empty());
    assert_eq!(by_id.stdout, by_key.stdout);
    let (code, err) = arxos_failing(
        &cluster,
        &["export", "--building", "b42", "-o", "/nonexistent/x.ttl"],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.starts_with("error: cannot write /nonexistent/x.ttl: "),
        "{err}"
    );

    // A database error is said once (found by an audit: the message, then the driver's
    // "db error: ERROR: …" repeating it)
    let (code, err) = arxos_failing(
        &cluster,
        &["export", "--building", "nosuch", "--format", "brick"],
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.matches("unknown building").count(), 1, "{err}");
    assert!(!err.contains("db error"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `--dry-run` parses and counts without a database: no connection string needed. Commands
/// that connect say which one is missing.
#[test]
fn a_dry_run_needs_no_database() {
    let run = |args: &[&str]| {
        std::process::Command::new(arxos_e2e::arxos_bin())
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG")
            .output()
            .expect("run the arxos binary")
    };
    let file = fixture("brick_small.ttl");
    let dry = run(&[
        "import",
        "--dry-run",
        "--building",
        "ib",
        file.to_str().unwrap(),
    ]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        text.contains("would write 13 objects and 4 connections"),
        "{text}"
    );
    for args in [
        &["import", "--building", "ib", file.to_str().unwrap()][..],
        &["keys", "list"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("set DATABASE_URL or pass --database-url"),
            "{args:?}: {err}"
        );
    }
}
