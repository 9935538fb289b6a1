use pgrx::prelude::*;

#[pg_test]
fn normalizes_paths() {
    assert_eq!(crate::paths::normalize_path("/a//b/"), "/a/b");
}
