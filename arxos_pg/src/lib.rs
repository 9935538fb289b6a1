//! The `arxos` PostgreSQL extension.
//!
//! Rust provides the pure functions (path grammar, rating and reward maths, from `arxos_core`),
//! the binary jsonb documents of history and events, and the objects' row trigger (which runs
//! once per row written, `objects_trigger.rs`); the hand-written SQL in `sql/` provides the
//! tables, the other triggers and the data-plumbing functions, so a DBA can read the schema as
//! plain SQL.

::pgrx::pg_module_magic!(name, version);

use pgrx::prelude::*;

/// Runs when a backend loads the library: registers the extension's settings.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    secrets::register_settings();
    install::remember_script();
}

mod documents;
mod ewkb;
mod install;
mod jsonb;
mod locations;
mod market;
mod messages;
mod object_json;
mod objects_trigger;
mod paths;
mod rating;
mod schema;
mod secrets;

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
