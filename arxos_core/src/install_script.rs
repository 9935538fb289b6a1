//! The digest of the extension's install script (`arxos--VERSION.sql`), which tells apart
//! two builds whose schemas differ although their version is the same (before the first
//! release, every build is 0.1.0: docs/development.md, "Upgrades"). A database records the
//! digest of the script it was made from; the library compares it with the script installed
//! next to it (`arxos.schema_problem()`).
//!
//! Lines that are only a comment are left out: pgrx writes the Rust source file and line of
//! every function above its SQL (`-- arxos_pg/src/paths.rs:54`), which moves whenever code
//! above it does, without any change to the schema.

use sha2::{Digest, Sha256};

/// The SHA-256, in hexadecimal, of `script`'s lines that are not only a comment (`-- …`, or
/// `/* … */` on one line), each with its end of line.
pub fn digest(script: &str) -> String {
    let mut hasher = Sha256::new();
    for line in script.lines().filter(|line| !is_comment(line)) {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_comment(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("--") || (line.starts_with("/*") && line.ends_with("*/"))
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
    }
}
