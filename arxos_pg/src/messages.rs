//! SQL face of `arxos_core::message`: how the PL/pgSQL functions' error messages show a value.

use pgrx::prelude::*;

/// `value` quoted, control and invisible characters written out, cut after 100 characters
/// with the full count appended; `NULL` for NULL.
#[pg_extern(immutable, parallel_safe)]
fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_owned(), arxos_core::message::shown)
}

/// Why `url` is no webhook URL (`arxos_core::webhook_url`: the delivery client's parser), or
/// `NULL` when it is one; the message never quotes the URL.
#[pg_extern(immutable, strict, parallel_safe)]
fn webhook_url_problem(url: &str) -> Option<String> {
    arxos_core::webhook_url::problem(url)
}
