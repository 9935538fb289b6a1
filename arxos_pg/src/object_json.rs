//! SQL face of `arxos_core::object_json`: the JSON text of an object's event fields, of its
//! insert/delete snapshot and of the changes between two versions. The SQL wrappers
//! (`arxos.object_fields`, `arxos.object_snapshot`, `arxos.object_changes`) pass the columns of
//! an `arxos.objects` row and cast the text to jsonb.

use arxos_core::object_json::{self, ObjectFields};
use pgrx::prelude::*;

#[allow(clippy::too_many_arguments)]
fn object<'a>(
    path: &'a str,
    kind: &'a str,
    status: &'a str,
    health: i16,
    needs_repair: bool,
    properties: &'a str,
    x: Option<f64>,
    y: Option<f64>,
    z: Option<f64>,
    floor: Option<i32>,
) -> ObjectFields<'a> {
    ObjectFields {
        path,
        kind,
        status,
        health,
        needs_repair,
        properties,
        x,
        y,
        z,
        floor,
    }
}

/// `{"id", "path", "type", "status", "health", "needs_repair", "properties", "x", "y", "z",
/// "floor"}` as JSON text (`properties` is the jsonb's text).
#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::too_many_arguments)]
fn object_fields_json(
    id: &str,
    path: &str,
    kind: &str,
    status: &str,
    health: i16,
    needs_repair: bool,
    properties: &str,
    x: Option<f64>,
    y: Option<f64>,
    z: Option<f64>,
    floor: Option<i32>,
) -> String {
    object_json::fields(
        id,
        &object(
            path,
            kind,
            status,
            health,
            needs_repair,
            properties,
            x,
            y,
            z,
            floor,
        ),
    )
}

/// `{"field": {side: value}}` for the fields of an inserted (`after`) or deleted (`before`)
/// object, as JSON text.
#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::too_many_arguments)]
fn object_snapshot_json(
    path: &str,
    kind: &str,
    status: &str,
    health: i16,
    needs_repair: bool,
    properties: &str,
    x: Option<f64>,
    y: Option<f64>,
    z: Option<f64>,
    floor: Option<i32>,
    side: &str,
) -> String {
    object_json::snapshot(
        &object(
            path,
            kind,
            status,
            health,
            needs_repair,
            properties,
            x,
            y,
            z,
            floor,
        ),
        side,
    )
}

/// `{"field": {"before", "after"}}` for the fields that differ between two versions of an
/// object, as JSON text; `properties_equal` is the jsonb equality of their properties.
#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::too_many_arguments)]
fn object_changes_json(
    old_path: &str,
    old_kind: &str,
    old_status: &str,
    old_health: i16,
    old_needs_repair: bool,
    old_properties: &str,
    old_x: Option<f64>,
    old_y: Option<f64>,
    old_z: Option<f64>,
    old_floor: Option<i32>,
    path: &str,
    kind: &str,
    status: &str,
    health: i16,
    needs_repair: bool,
    properties: &str,
    x: Option<f64>,
    y: Option<f64>,
    z: Option<f64>,
    floor: Option<i32>,
    properties_equal: bool,
) -> String {
    object_json::changes(
        &object(
            old_path,
            old_kind,
            old_status,
            old_health,
            old_needs_repair,
            old_properties,
            old_x,
            old_y,
            old_z,
            old_floor,
        ),
        &object(
            path,
            kind,
            status,
            health,
            needs_repair,
            properties,
            x,
            y,
            z,
            floor,
        ),
        properties_equal,
    )
}
