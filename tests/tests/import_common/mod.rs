//! Helpers shared by the import tests: fixtures, the `arxos` binary, paths by source id.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Output;

use arxos_e2e::{run_arxos, Cluster};

/// A file of tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Runs `arxos ARGS` against the cluster; asserts that it succeeded.
pub fn arxos(cluster: &Cluster, args: &[&str]) -> Output {
    let out = run_arxos(cluster, args);
    assert!(
        out.status.success(),
        "arxos {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `arxos ARGS` against the cluster, expecting it to fail: its exit code and stderr.
pub fn arxos_failing(cluster: &Cluster, args: &[&str]) -> (Option<i32>, String) {
    let out = run_arxos(cluster, args);
    assert!(!out.status.success(), "arxos {args:?} succeeded");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The path of the object imported from a source id (kept in `properties.source_id`).
pub fn path_of(db: &mut postgres::Client, building: &str, id: &str) -> String {
    db.query_one(
        "SELECT path::text FROM arxos.objects
          WHERE building_id = arxos.building_id($1) AND properties->>'source_id' = $2",
        &[&building, &id],
    )
    .unwrap_or_else(|e| panic!("{id}: {e}"))
    .get(0)
}

pub fn parent(path: &str) -> &str {
    &path[..path.rfind('/').unwrap()]
}
