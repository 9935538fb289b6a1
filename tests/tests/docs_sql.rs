//! docs/sql.md names every SQL function of the extension: those written in SQL (`sql/*.sql`,
//! trigger functions aside) and those written in Rust (`#[pg_extern]` in `arxos_pg/src`).
//! Reads the sources only; needs no cluster.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
        .to_owned()
}

fn read_dir_sorted(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// `CREATE FUNCTION arxos.<name>(…) RETURNS <type>` of every SQL file, trigger functions left out.
fn sql_functions() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in read_dir_sorted(&root().join("sql"), "sql") {
        let text = fs::read_to_string(&file).expect("SQL file");
        for (at, _) in text.match_indices("CREATE FUNCTION arxos.") {
            let rest = &text[at + "CREATE FUNCTION arxos.".len()..];
            let name = identifier(rest);
            let head = &rest[..rest.find("AS $$").unwrap_or(rest.len())];
            let returns_trigger = head
                .split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w[0].eq_ignore_ascii_case("RETURNS") && w[1] == "trigger");
            if !returns_trigger {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// The Rust functions exported with `#[pg_extern]`.
fn rust_functions() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in read_dir_sorted(&root().join("arxos_pg/src"), "rs") {
        let text = fs::read_to_string(&file).expect("Rust file");
        for (at, _) in text.match_indices("#[pg_extern") {
            let rest = &text[at..];
            if let Some(fn_at) = rest.find("fn ") {
                names.insert(identifier(&rest[fn_at + 3..]).to_owned());
            }
        }
    }
    names
}

/// Named as code: `` `name` `` or `` `name(…)` ``. A bare word (a column of the same name in a
/// sentence) does not count.
fn mentions(doc: &str, name: &str) -> bool {
    [format!("`{name}`"), format!("`{name}(")]
        .iter()
        .any(|form| doc.contains(form.as_str()))
}

#[test]
fn every_sql_function_is_documented() {
    let doc = fs::read_to_string(root().join("docs/sql.md")).expect("docs/sql.md");
    let sql = sql_functions();
    let rust = rust_functions();
    assert!(
        sql.len() > 100,
        "found only {} SQL functions: is the parser broken?",
        sql.len()
    );
    assert!(
        rust.len() > 10,
        "found only {} Rust functions: is the parser broken?",
        rust.len()
    );
    let missing: Vec<&String> = sql
        .iter()
        .chain(&rust)
        .filter(|f| !mentions(&doc, f))
        .collect();
    assert!(
        missing.is_empty(),
        "functions missing from docs/sql.md: {missing:?}"
    );
}

#[test]
fn the_parsers_see_known_functions() {
    let sql = sql_functions();
    assert!(sql.contains("put") && sql.contains("events_since"));
    assert!(
        !sql.contains("objects_after_insert"),
        "trigger functions are left out"
    );
    assert!(rust_functions().contains("normalize_path"));
}

#[test]
fn a_column_of_the_same_name_is_not_a_mention() {
    assert!(!mentions("columns: object_id, path", "object_id"));
    assert!(!mentions("`my_object_id(x)`", "object_id"));
    assert!(mentions("functions `grade`, `object_id`", "object_id"));
    assert!(mentions("| `object_id(b, p)` | the id |", "object_id"));
}
