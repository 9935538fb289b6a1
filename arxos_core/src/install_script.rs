//! The digest of the extension's install script (`arxos--VERSION.sql`), which tells apart
//! two builds whose schemas differ although their version is the same (before the first
//! release, every build is 0.1.0: docs/development.md, "Upgrades"). A database records the
//! digest of the script it was made from; the library compares it with the script installed
//! next to it (`arxos.schema_problem()`).
//!
//! Comments are left out: lines that are only a `--` comment, and `/* … */` within a line.
//! pgrx writes the Rust source file and line of every function above its SQL
//! (`-- arxos_pg/src/paths.rs:54`), which moves whenever code above it does, and the Rust type
//! of each argument beside it (`"value" TEXT /* &str */`), which a refactoring changes
//! (`String` for `&str`), neither of them a change of the schema.

use sha2::{Digest, Sha256};

/// The SHA-256, in hexadecimal, of `script`'s lines without their `/* … */` comments and
/// trailing blanks, those that are then blank or only a `--` comment left out, each with its
/// end of line.
pub fn digest(script: &str) -> String {
    let mut hasher = Sha256::new();
    for line in script.lines().map(without_block_comments) {
        let kept = line.trim();
        if kept.is_empty() || kept.starts_with("--") {
            continue;
        }
        hasher.update(line.trim_end().as_bytes());
        hasher.update(b"\n");
    }
    crate::secret_box::hex(&hasher.finalize())
}

/// `line` without the `/* … */` that open and close on it (one left open runs on: kept).
fn without_block_comments(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("/*") {
        let Some(end) = rest[start + 2..].find("*/") else {
            break;
        };
        out.push_str(&rest[..start]);
        rest = &rest[start + 2 + end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "/* <begin connected objects> */
-- arxos_pg/src/paths.rs:54
-- arxos::paths::has_invisible
CREATE FUNCTION arxos.has_invisible(value text) RETURNS bool
STRICT LANGUAGE c AS 'MODULE_PATHNAME', 'has_invisible_wrapper';
/* </end connected objects> */
";

    #[test]
    fn comment_lines_do_not_count_and_everything_else_does() {
        let d = digest(SCRIPT);
        assert_eq!(d.len(), 64);
        // pgrx's source line moved: the same schema
        assert_eq!(digest(&SCRIPT.replace("paths.rs:54", "paths.rs:61")), d);
        // a function's definition changed: another schema
        assert_ne!(digest(&SCRIPT.replace("STRICT ", "")), d);
        assert_ne!(digest(&SCRIPT.replace("value text", "v text")), d);
        // a comment after code is part of the line (it is stored in function bodies)
        assert_ne!(
            digest(&SCRIPT.replace("RETURNS bool", "RETURNS bool -- why")),
            d
        );
        // lines are told apart: joining two is a change
        assert_ne!(digest(&SCRIPT.replace("bool\nSTRICT", "bool STRICT")), d);
        // an argument's Rust type, in pgrx's comment beside it, is no part of the schema
        let typed = SCRIPT.replace("RETURNS bool\n", "RETURNS bool  /* & '_ str */\n");
        assert_eq!(digest(&typed), d);
        assert_eq!(digest(&typed.replace("& '_ str", "String")), d);
        // a blank line is none; a comment left open runs on, kept
        assert_eq!(digest(&SCRIPT.replace("STRICT", "\nSTRICT")), d);
        assert_ne!(digest(&SCRIPT.replace("STRICT", "/* STRICT")), d);
    }
}
