//! SQL face of the path grammar (`arxos_core::path`). All functions are immutable and strict;
//! an invalid path raises `ERROR 22023` whose message names the broken rule.

use arxos_core::path::{self, PathError};
use pgrx::prelude::*;

fn raise(err: PathError) -> ! {
    ereport!(
        PgLogLevel::ERROR,
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("invalid path: {err}"),
        format!("rule: {}", err.rule()),
    );
    unreachable!("ereport(ERROR) does not return")
}

/// A path argument that must be given: NULL is `ERROR 22004` (never a NULL result that a
/// caller would read as "no such object" or an empty listing).
fn given<'a>(path: Option<&'a str>, root_hint: &str) -> &'a str {
    match path {
        Some(path) => path,
        None => {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                format!("path must not be NULL{root_hint}"),
            );
            unreachable!("ereport(ERROR) does not return")
        }
    }
}

/// Normalises an absolute path (`/` allowed); raises on an invalid or NULL one.
#[pg_extern(immutable, parallel_safe)]
pub(crate) fn normalize_path(path: Option<&str>) -> String {
    path::normalize(given(path, ": give '/' for the root")).unwrap_or_else(|e| raise(e))
}

/// Normalises the path of an object (`/` refused); raises on an invalid or NULL one.
#[pg_extern(immutable, parallel_safe)]
pub(crate) fn normalize_object_path(path: Option<&str>) -> String {
    path::normalize_object_path(given(path, "")).unwrap_or_else(|e| raise(e))
}

/// True when the path is valid (normalised or not); never raises.
#[pg_extern(immutable, strict, parallel_safe)]
fn path_is_valid(path: &str) -> bool {
    path::normalize(path).is_ok()
}

/// True when the text holds an invisible formatting character, the set the path grammar refuses
/// in segments (`arxos_core::path::invisible_in`); labels and reading units refuse them too.
#[pg_extern(immutable, strict, parallel_safe)]
fn has_invisible(value: &str) -> bool {
    path::invisible_in(value).is_some()
}

/// True when `value` is a label of at most `max` characters: no Unicode white space at either
/// end (so not blank), no control or invisible formatting characters (`arxos_core::label`). NULL for NULL,
/// so that a CHECK lets a NULL column pass.
#[pg_extern(immutable, parallel_safe)]
fn is_label(value: Option<&str>, max: Option<i32>) -> Option<bool> {
    let max = usize::try_from(max?).unwrap_or(0);
    Some(arxos_core::label::is_label(value?, max))
}

/// True when the text shows nothing: only Unicode white space, control and invisible
/// formatting characters, or none (`arxos_core::label::is_blank`).
#[pg_extern(immutable, strict, parallel_safe)]
fn is_blank(value: &str) -> bool {
    arxos_core::label::is_blank(value)
}

/// Resolves `input` (absolute or relative, with `.` and `..`) against `cwd`.
#[pg_extern(immutable, strict, parallel_safe)]
fn resolve_path(cwd: &str, input: &str) -> String {
    let cwd = path::normalize(cwd).unwrap_or_else(|e| raise(e));
    path::resolve(&cwd, input).unwrap_or_else(|e| raise(e))
}

/// Parent of a normalised path (`NULL` for `/`).
#[pg_extern(immutable, strict, parallel_safe)]
fn path_parent(path: &str) -> Option<String> {
    path::parent(path).map(str::to_owned)
}

/// Last segment of a normalised path.
#[pg_extern(immutable, strict, parallel_safe)]
fn path_name(path: &str) -> String {
    path::name(path).to_owned()
}

/// Number of segments of a normalised path (0 for `/`).
#[pg_extern(immutable, strict, parallel_safe)]
fn path_depth(path: &str) -> i32 {
    path::depth(path) as i32
}

/// Lower bound (inclusive) of the key range holding a path's strict descendants.
#[pg_extern(immutable, strict, parallel_safe)]
fn path_lower(path: &str) -> String {
    path::descendant_range(path).0
}

/// Upper bound (exclusive) of the key range holding a path's strict descendants.
#[pg_extern(immutable, strict, parallel_safe)]
fn path_upper(path: &str) -> String {
    path::descendant_range(path).1
}
