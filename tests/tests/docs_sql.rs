//! docs/sql.md names every SQL function of the extension: those written in SQL (`sql/*.sql`,
//! trigger functions aside) and those written in Rust (`#[pg_extern]` in `arxos_pg/src`); and
//! where the docs spell a call out, its argument names are the function's own (a named call
//! as documented works). Reads the sources only; needs no cluster.

use std::collections::{BTreeMap, BTreeSet};
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

/// The text after each `CREATE FUNCTION arxos.` and `CREATE PROCEDURE arxos.` of a SQL file
/// (found by a review: a procedure, `tick_in_batches`, was missing from docs/sql.md unseen).
fn definitions(text: &str) -> impl Iterator<Item = &str> {
    ["CREATE FUNCTION arxos.", "CREATE PROCEDURE arxos."]
        .into_iter()
        .flat_map(move |prefix| {
            text.match_indices(prefix)
                .map(move |(at, _)| &text[at + prefix.len()..])
        })
}

/// `CREATE FUNCTION arxos.<name>(…) RETURNS <type>` (and `CREATE PROCEDURE`) of every SQL
/// file, with whether it returns `trigger`.
fn sql_function_heads() -> Vec<(String, bool)> {
    let mut heads = Vec::new();
    for file in read_dir_sorted(&root().join("sql"), "sql") {
        let text = fs::read_to_string(&file).expect("SQL file");
        for rest in definitions(&text) {
            let name = identifier(rest);
            let head = &rest[..rest.find("AS $$").unwrap_or(rest.len())];
            let returns_trigger = head
                .split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w[0].eq_ignore_ascii_case("RETURNS") && w[1] == "trigger");
            heads.push((name.to_owned(), returns_trigger));
        }
    }
    heads
}

/// The SQL functions callers call: trigger functions left out.
fn sql_functions() -> BTreeSet<String> {
    sql_function_heads()
        .into_iter()
        .filter(|(_, trigger)| !trigger)
        .map(|(name, _)| name)
        .collect()
}

/// The trigger functions: SQL ones and Rust `#[pg_trigger]` ones.
fn trigger_functions() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = sql_function_heads()
        .into_iter()
        .filter(|(_, trigger)| *trigger)
        .map(|(name, _)| name)
        .collect();
    names.extend(rust_items("#[pg_trigger"));
    names
}

/// The Rust functions exported with `#[pg_extern]`.
fn rust_functions() -> BTreeSet<String> {
    rust_items("#[pg_extern")
}

/// The names of the Rust functions under an attribute.
fn rust_items(attribute: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in read_dir_sorted(&root().join("arxos_pg/src"), "rs") {
        let text = fs::read_to_string(&file).expect("Rust file");
        for (at, _) in text.match_indices(attribute) {
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
fn every_trigger_function_is_documented() {
    let doc = fs::read_to_string(root().join("docs/sql.md")).expect("docs/sql.md");
    let triggers = trigger_functions();
    assert!(
        triggers.contains("objects_after_insert") && triggers.contains("objects_before_write"),
        "the parsers miss trigger functions: {triggers:?}"
    );
    let missing: Vec<&String> = triggers.iter().filter(|f| !mentions(&doc, f)).collect();
    assert!(
        missing.is_empty(),
        "trigger functions missing from docs/sql.md (section Triggers): {missing:?}"
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

/// The characters of `text` outside quotes, each with its index and the bracket depth after it:
/// `(`, `[` and `<` open, `)`, `]` and `>` close (not the `>` of `=>`).
fn bracketed(text: &str) -> Vec<(usize, char, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                continue;
            }
            (Some(_), _) => continue,
            (None, '\'' | '"') => {
                quote = Some(c);
                continue;
            }
            (None, '(' | '[' | '<') => depth += 1,
            (None, '>') if text[..i].ends_with('=') => {}
            (None, ')' | ']' | '>') => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push((i, c, depth));
    }
    out
}

/// The text between the parenthesis at the start of `text` and its match, or None.
fn parenthesised(text: &str) -> Option<&str> {
    if !text.starts_with('(') {
        return None;
    }
    let (end, _, _) = bracketed(text)
        .into_iter()
        .find(|&(_, c, depth)| depth == 0 && matches!(c, ')' | ']' | '>'))?;
    Some(&text[1..end])
}

/// Splits at the commas outside brackets and quotes.
fn top_level_parts(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c, depth) in bracketed(text) {
        if c == ',' && depth == 0 {
            parts.push(text[start..i].trim());
            start = i + 1;
        }
    }
    parts.push(text[start..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

/// The input argument names of every function, overloads merged: SQL `name(arg type …)` (OUT
/// arguments left out) and Rust `fn name(arg: Type, …)`.
fn argument_names() -> BTreeMap<String, BTreeSet<String>> {
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in read_dir_sorted(&root().join("sql"), "sql") {
        let text = fs::read_to_string(&file).expect("SQL file");
        for rest in definitions(&text) {
            let name = identifier(rest);
            let args = parenthesised(&rest[name.len()..]).expect("argument list");
            let entry = names.entry(name.to_owned()).or_default();
            for part in top_level_parts(args) {
                let mut words = part.split_whitespace();
                let first = words.next().unwrap_or_default();
                let arg = match first.to_ascii_uppercase().as_str() {
                    "OUT" => continue,
                    "IN" | "INOUT" | "VARIADIC" => words.next().unwrap_or_default(),
                    _ => first,
                };
                entry.insert(identifier(arg.trim_matches('"')).to_owned());
            }
        }
    }
    for file in read_dir_sorted(&root().join("arxos_pg/src"), "rs") {
        let text = fs::read_to_string(&file).expect("Rust file");
        for (at, _) in text.match_indices("#[pg_extern") {
            let rest = &text[at..];
            let Some(fn_at) = rest.find("fn ") else {
                continue;
            };
            let rest = &rest[fn_at + 3..];
            let name = identifier(rest);
            let args = parenthesised(&rest[name.len()..]).expect("parameter list");
            let entry = names.entry(name.to_owned()).or_default();
            for part in top_level_parts(args) {
                let arg = part.trim_start_matches("mut ");
                entry.insert(identifier(arg).to_owned());
            }
        }
    }
    names
}

/// Type names, which a document may write in place of arguments: `normalize_path(text)`.
const SQL_TYPES: &[&str] = &[
    "text",
    "bytea",
    "uuid",
    "integer",
    "int",
    "int4",
    "int8",
    "bigint",
    "smallint",
    "float8",
    "double",
    "numeric",
    "boolean",
    "bool",
    "jsonb",
    "json",
    "timestamptz",
    "date",
    "interval",
];

/// Calls spelled out in a document, `` `name(a, b => 1)` `` or `` `arxos.name(…)` ``, with the
/// argument names they use (literals and expressions left out). With `bare` false, only the
/// arguments written as names (`b => 1`, `b text`): elsewhere than in the reference, a bare
/// word may be the column a call is given (`building_allowed(building_id)` in a policy).
fn documented_calls(doc: &str, bare: bool) -> Vec<(String, Vec<String>)> {
    let mut calls = Vec::new();
    for (at, _) in doc.match_indices('`') {
        let rest = &doc[at + 1..];
        let rest = rest.strip_prefix("arxos.").unwrap_or(rest);
        let name = identifier(rest);
        if name.is_empty() || !rest[name.len()..].starts_with('(') {
            continue;
        }
        let Some(args) = parenthesised(&rest[name.len()..]) else {
            continue;
        };
        let mut used = Vec::new();
        for part in top_level_parts(args) {
            let arg = identifier(part);
            let after = part[arg.len()..].trim_start();
            let is_name = !arg.is_empty()
                && arg.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && !matches!(arg, "true" | "false" | "null" | "now" | "array")
                && !SQL_TYPES.contains(&arg)
                && !after.starts_with('(')
                && !after.starts_with('.')
                && !after.starts_with("::")
                && (bare
                    || after.starts_with("=>")
                    || after.starts_with(|c: char| c.is_ascii_lowercase()));
            if is_name {
                used.push(arg.to_owned());
            }
        }
        calls.push((name.to_owned(), used));
    }
    calls
}

#[test]
fn documented_calls_use_the_real_argument_names() {
    let names = argument_names();
    assert!(names["put"].contains("parents") && names["normalize_path"].contains("path"));
    let mut wrong = Vec::new();
    for doc in [
        "sql.md",
        "rating.md",
        "market.md",
        "realtime.md",
        "operations.md",
        "bi.md",
        "security.md",
    ] {
        let text = fs::read_to_string(root().join("docs").join(doc)).expect("doc");
        for (function, used) in documented_calls(&text, doc == "sql.md") {
            let Some(real) = names.get(&function) else {
                continue; // not one of ours (count(…), a Rust call, a shell command)
            };
            for arg in used.iter().filter(|a| !real.contains(*a)) {
                wrong.push(format!(
                    "{doc}: {function}({arg} …): arguments are {real:?}"
                ));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "documented argument names that the functions do not have:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn documented_calls_are_read_as_written() {
    let text = "`ls(building, path => '/', max => 10)` and `arxos.rating('b42', now() - '1 day')` or `f(x, true, float8[])`";
    let calls = documented_calls(text, true);
    assert_eq!(
        calls,
        [
            (
                "ls".to_owned(),
                vec!["building".into(), "path".into(), "max".into()]
            ),
            ("rating".to_owned(), vec![]),
            ("f".to_owned(), vec!["x".into()]),
        ]
    );
    let named = documented_calls("`ls(building, path => '/', max integer)`", false);
    assert_eq!(
        named,
        [("ls".to_owned(), vec!["path".into(), "max".into()])]
    );
}
