//! The install script's sources (`sql/*.sql`) read the same under every session setting: no
//! plain string literal holds a backslash. PostgreSQL re-reads function bodies in the calling
//! session, and with `standard_conforming_strings = off` (a legacy database or role default) a
//! backslash in a plain literal is an escape: `'^\d{4}'` becomes `'^d{4}'` and every reading
//! time is refused. Such literals are written `E'…'`, whose backslashes mean the same under
//! either setting (docs/development.md). Reads the sources only; needs no cluster.

use std::fs;
use std::path::Path;

/// The plain (not `E'…'`) string literals of SQL text that hold a backslash, with their lines.
/// Comments and quoted identifiers are skipped; dollar quotes are read through, as the bodies
/// they quote are SQL too.
fn plain_literals_with_backslashes(text: &str) -> Vec<(usize, String)> {
    let b = text.as_bytes();
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..]
                    .find("*/")
                    .map_or(b.len(), |end| i + 2 + end + 2);
            }
            b'"' => {
                i = text[i + 1..]
                    .find('"')
                    .map_or(b.len(), |end| i + 1 + end + 1);
            }
            b'\'' => {
                let escaped = i > 0
                    && matches!(b[i - 1], b'E' | b'e')
                    && (i < 2 || !(b[i - 2].is_ascii_alphanumeric() || b[i - 2] == b'_'));
                let start = i;
                i += 1;
                while i < b.len() {
                    // a backslash escape in E'…', or a doubled quote
                    let pair = (escaped && b[i] == b'\\')
                        || (b[i] == b'\'' && b.get(i + 1) == Some(&b'\''));
                    if pair {
                        i += 2;
                    } else if b[i] == b'\'' {
                        break;
                    } else {
                        i += 1;
                    }
                }
                let literal = &text[start..(i + 1).min(b.len())];
                if !escaped && literal.contains('\\') {
                    found.push((line_of(start), literal.to_owned()));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    found
}

#[test]
fn the_scanner_finds_plain_backslashes_only() {
    let text =
        "SELECT '^\\d' -- 'a\\b' in a comment\n, E'\\\\d', e'\\'', x'\\1', \"a\\b\", 'it''s \\s'";
    assert_eq!(
        plain_literals_with_backslashes(text),
        [
            (1, "'^\\d'".to_owned()),
            (2, "'\\1'".to_owned()),
            (2, "'it''s \\s'".to_owned())
        ]
    );
}

#[test]
fn no_plain_literal_holds_a_backslash() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sql");
    let mut offenders = Vec::new();
    let mut files = 0;
    for entry in fs::read_dir(&dir).expect("sql/") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_none_or(|x| x != "sql") {
            continue;
        }
        files += 1;
        let text = fs::read_to_string(&path).expect("SQL file");
        for (line, literal) in plain_literals_with_backslashes(&text) {
            offenders.push(format!("{}:{line}: {literal}", path.display()));
        }
    }
    assert!(files > 10, "found {files} SQL files in {}", dir.display());
    assert!(
        offenders.is_empty(),
        "write these as E'…' (standard_conforming_strings):\n{}",
        offenders.join("\n")
    );
}
