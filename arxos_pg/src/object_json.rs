//! SQL face of `arxos_core::object_json`: an object's event fields, its insert/delete snapshot
//! and the changes between two versions, encoded straight into jsonb (`crate::jsonb`). The SQL
//! wrappers (`arxos.object_fields`, `arxos.object_event`, `arxos.object_snapshot`,
//! `arxos.object_changes`) pass the columns of an `arxos.objects` row.

use crate::jsonb::Jsonb;
use arxos_core::object_json::{self, ObjectFields};
use pgrx::prelude::*;

/// A value the caller must give: NULL is an error naming the argument (never a panic).
fn required<T>(value: Option<T>, name: &str) -> T {
    match value {
        Some(value) => value,
        None => {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                format!("{name} must not be NULL"),
            );
            unreachable!("ereport(ERROR) does not return")
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn object<'a>(
    path: Option<&'a str>,
    kind: Option<&'a str>,
    status: Option<&'a str>,
    health: Option<i16>,
    needs_repair: Option<bool>,
    properties: Option<&'a Jsonb>,
    x: Option<f64>,
    y: Option<f64>,
    z: Option<f64>,
    floor: Option<i32>,
) -> ObjectFields<'a> {
    ObjectFields {
        path: required(path, "path"),
        kind: required(kind, "type"),
        status: required(status, "status"),
        health: required(health, "health"),
        needs_repair: required(needs_repair, "needs_repair"),
        properties: required(properties, "properties").container(),
        x,
        y,
        z,
        floor,
    }
}

/// `{"id", "path", "type", "status", "health", "needs_repair", "properties", "x", "y", "z",
/// "floor"}` (and `"version"` when given), or with `event` true the body of an
/// `object.created`/`object.deleted` event, `{"object": {…}}` (the version required).
#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::too_many_arguments)]
fn object_fields_jsonb(
    id: Option<&str>,
    path: Option<&str>,
    kind: Option<&str>,
    status: Option<&str>,
    health: Option<i16>,
    needs_repair: Option<bool>,
    properties: Option<Jsonb>,
    x: Option<f64>,
    y: Option<f64>,
    z: Option<f64>,
    floor: Option<i32>,
    event: Option<bool>,
    version: Option<i32>,
) -> Jsonb {
    let id = required(id, "id");
    let o = object(
        path,
        kind,
        status,
        health,
        needs_repair,
        properties.as_ref(),
        x,
        y,
        z,
        floor,
    );
    Jsonb::encode(&if required(event, "event") {
        object_json::event(id, required(version, "version"), &o)
    } else {
        object_json::fields(id, version, &o)
    })
}

/// `{"field": {side: value}}` for the fields of an insert (`side` = "after") or a delete
/// ("before"); x, y and z only when located, floor only when set.
#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::too_many_arguments)]
fn object_snapshot_jsonb(
    path: Option<&str>,
    kind: Option<&str>,
    status: Option<&str>,
    health: Option<i16>,
    needs_repair: Option<bool>,
    properties: Option<Jsonb>,
    x: Option<f64>,
    y: Option<f64>,
    z: Option<f64>,
    floor: Option<i32>,
    side: Option<&str>,
) -> Jsonb {
    let o = object(
        path,
        kind,
        status,
        health,
        needs_repair,
        properties.as_ref(),
        x,
        y,
        z,
        floor,
    );
    let side = required(side, "side");
    if side != "before" && side != "after" {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "side must be before or after, got {}",
                arxos_core::message::shown(side)
            ),
        );
    }
    Jsonb::encode(&object_json::snapshot(&o, side))
}

/// `{"field": {"before", "after"}}` for the fields that differ between two versions of an
/// object; `properties_equal` is the jsonb equality of their properties.
#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::too_many_arguments)]
fn object_changes_jsonb(
    old_path: Option<&str>,
    old_kind: Option<&str>,
    old_status: Option<&str>,
    old_health: Option<i16>,
    old_needs_repair: Option<bool>,
    old_properties: Option<Jsonb>,
    old_x: Option<f64>,
    old_y: Option<f64>,
    old_z: Option<f64>,
    old_floor: Option<i32>,
    path: Option<&str>,
    kind: Option<&str>,
    status: Option<&str>,
    health: Option<i16>,
    needs_repair: Option<bool>,
    properties: Option<Jsonb>,
    x: Option<f64>,
    y: Option<f64>,
    z: Option<f64>,
    floor: Option<i32>,
    properties_equal: Option<bool>,
) -> Jsonb {
    let old = object(
        old_path,
        old_kind,
        old_status,
        old_health,
        old_needs_repair,
        old_properties.as_ref(),
        old_x,
        old_y,
        old_z,
        old_floor,
    );
    let new = object(
        path,
        kind,
        status,
        health,
        needs_repair,
        properties.as_ref(),
        x,
        y,
        z,
        floor,
    );
    Jsonb::encode(&object_json::changes(
        &old,
        &new,
        required(properties_equal, "properties_equal"),
    ))
}
