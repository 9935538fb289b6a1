//! Lines the command-line tools print. A closed pipe (`arxos import … | head -1`) loses a line
//! rather than panicking as `println!` and `eprintln!` do (found by a review: `arxos import`
//! exited 101, sometimes before its COMMIT).

use std::io::Write;

/// A line on stdout.
pub fn say(line: std::fmt::Arguments) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Text on stdout that must arrive (a secret shown once): written and flushed, or the error.
pub fn write_out(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// A line on stderr.
pub fn say_err(line: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
