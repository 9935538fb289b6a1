//! The JSON documents the object triggers write for every object: the fields an event reports
//! (`{"id", "path", …}`), the history changes of an insert or delete (`{"path": {"after": …}, …}`)
//! and of an update (`{"health": {"before": …, "after": …}, …}` for the fields that differ).
//!
//! Built as JSON text, which the database parses into `jsonb` once. PostgreSQL's
//! `jsonb_build_object` looks up every argument's type output function on every call and
//! rebuilds nested documents; for these documents that cost 60,000 to 110,000 instructions a
//! row, against a few thousand here. The SQL wrappers are `arxos.object_fields`,
//! `arxos.object_snapshot` and `arxos.object_changes` (sql/02_objects.sql).

use std::fmt::Write;

/// The reported fields of one version of an object. `properties` is the JSON text of a jsonb
/// object (PostgreSQL's own output), embedded as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectFields<'a> {
    pub path: &'a str,
    pub kind: &'a str,
    pub status: &'a str,
    pub health: i16,
    pub needs_repair: bool,
    pub properties: &'a str,
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub z: Option<f64>,
    pub floor: Option<i32>,
}

/// One field's value as JSON text.
enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Float(Option<f64>),
    OptInt(Option<i64>),
    Raw(&'a str),
}

impl Value<'_> {
    fn write(&self, out: &mut String) {
        match self {
            Value::Str(s) => write_str(out, s),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            // Rust prints the shortest decimal that reads back as the same double, as
            // PostgreSQL's float8out does (only the notation of exponents differs, and JSON
            // numbers become the same numeric either way). Non-finite values, which the
            // table's constraints refuse, become strings as to_jsonb makes them.
            Value::Float(Some(f)) if f.is_finite() => {
                let _ = write!(out, "{f}");
            }
            Value::Float(Some(f)) => write_str(out, &format!("{f}").replace("inf", "Infinity")),
            Value::Float(None) | Value::OptInt(None) => out.push_str("null"),
            Value::OptInt(Some(i)) => {
                let _ = write!(out, "{i}");
            }
            Value::Raw(json) => out.push_str(json),
        }
    }
}

impl<'a> ObjectFields<'a> {
    /// (name, value) of every reported field but the id, in the order of `object_fields`.
    fn values(&self) -> [(&'static str, Value<'a>); 10] {
        [
            ("path", Value::Str(self.path)),
            ("type", Value::Str(self.kind)),
            ("status", Value::Str(self.status)),
            ("health", Value::Int(self.health.into())),
            ("needs_repair", Value::Bool(self.needs_repair)),
            ("properties", Value::Raw(self.properties)),
            ("x", Value::Float(self.x)),
            ("y", Value::Float(self.y)),
            ("z", Value::Float(self.z)),
            ("floor", Value::OptInt(self.floor.map(i64::from))),
        ]
    }
}

/// `{"id": id, "path": …, …, "floor": …}`: the object as events report it (null location
/// fields included).
pub fn fields(id: &str, o: &ObjectFields) -> String {
    let mut out = String::with_capacity(160 + o.properties.len());
    out.push_str("{\"id\":");
    write_str(&mut out, id);
    for (name, value) in o.values() {
        out.push(',');
        write_str(&mut out, name);
        out.push(':');
        value.write(&mut out);
    }
    out.push('}');
    out
}

/// `{"field": {side: value}}` for every field of an insert (`side` = "after") or a delete
/// ("before"); x, y and z only when located, floor only when set.
pub fn snapshot(o: &ObjectFields, side: &str) -> String {
    let mut out = String::with_capacity(200 + o.properties.len());
    out.push('{');
    let mut first = true;
    for (name, value) in o.values() {
        let absent = match name {
            "x" | "y" | "z" => o.x.is_none(),
            "floor" => o.floor.is_none(),
            _ => false,
        };
        if absent {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_str(&mut out, name);
        out.push_str(":{");
        write_str(&mut out, side);
        out.push(':');
        value.write(&mut out);
        out.push('}');
    }
    out.push('}');
    out
}

/// `{"field": {"before": b, "after": a}}` for the fields that differ between two versions.
/// `properties_equal` is the database's own jsonb equality of the two properties (`{"a": 1}`
/// equals `{"a": 1.0}`, which their texts do not).
pub fn changes(old: &ObjectFields, new: &ObjectFields, properties_equal: bool) -> String {
    let mut out = String::from("{");
    let mut first = true;
    let same = [
        old.path == new.path,
        old.kind == new.kind,
        old.status == new.status,
        old.health == new.health,
        old.needs_repair == new.needs_repair,
        properties_equal,
        old.x == new.x,
        old.y == new.y,
        old.z == new.z,
        old.floor == new.floor,
    ];
    for (((name, before), (_, after)), same) in old.values().into_iter().zip(new.values()).zip(same)
    {
        if same {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_str(&mut out, name);
        out.push_str(":{\"before\":");
        before.write(&mut out);
        out.push_str(",\"after\":");
        after.write(&mut out);
        out.push('}');
    }
    out.push('}');
    out
}

/// A JSON string literal (serde_json's escaping: quotes, backslashes and control characters).
fn write_str(out: &mut String, s: &str) {
    // A str always serializes; to_string allocates only the literal.
    out.push_str(&serde_json::to_string(s).expect("a str serializes to JSON"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ObjectFields<'static> {
        ObjectFields {
            path: "/a/b \"q\"",
            kind: "outlet",
            status: "active",
            health: 90,
            needs_repair: false,
            properties: "{\"v\": 120}",
            x: Some(1.5),
            y: Some(-2.0),
            z: Some(0.1),
            floor: None,
        }
    }

    #[test]
    fn fields_report_every_field_and_the_id() {
        assert_eq!(
            fields("id-1", &sample()),
            "{\"id\":\"id-1\",\"path\":\"/a/b \\\"q\\\"\",\"type\":\"outlet\",\"status\":\"active\",\
             \"health\":90,\"needs_repair\":false,\"properties\":{\"v\": 120},\"x\":1.5,\"y\":-2,\
             \"z\":0.1,\"floor\":null}"
        );
    }

    #[test]
    fn snapshots_leave_out_an_unset_location_and_floor() {
        let mut o = sample();
        assert_eq!(
            snapshot(&o, "after"),
            "{\"path\":{\"after\":\"/a/b \\\"q\\\"\"},\"type\":{\"after\":\"outlet\"},\
             \"status\":{\"after\":\"active\"},\"health\":{\"after\":90},\
             \"needs_repair\":{\"after\":false},\"properties\":{\"after\":{\"v\": 120}},\
             \"x\":{\"after\":1.5},\"y\":{\"after\":-2},\"z\":{\"after\":0.1}}"
        );
        o.x = None;
        o.floor = Some(3);
        let s = snapshot(&o, "before");
        assert!(
            !s.contains("\"x\"") && s.ends_with("\"floor\":{\"before\":3}}"),
            "{s}"
        );
    }

    #[test]
    fn changes_name_only_the_fields_that_differ() {
        let old = sample();
        let mut new = sample();
        assert_eq!(changes(&old, &new, true), "{}");
        new.health = 40;
        new.x = None;
        new.floor = Some(2);
        assert_eq!(
            changes(&old, &new, true),
            "{\"health\":{\"before\":90,\"after\":40},\"x\":{\"before\":1.5,\"after\":null},\
             \"floor\":{\"before\":null,\"after\":2}}"
        );
        assert_eq!(
            changes(&old, &old, false),
            "{\"properties\":{\"before\":{\"v\": 120},\"after\":{\"v\": 120}}}"
        );
    }

    #[test]
    fn strings_are_escaped_and_numbers_are_json() {
        let mut out = String::new();
        write_str(&mut out, "a\u{1}\t\\é");
        assert_eq!(out, "\"a\\u0001\\t\\\\é\"");
        let mut out = String::new();
        Value::Float(Some(1e21)).write(&mut out);
        Value::Float(Some(1e-7)).write(&mut out);
        Value::Float(Some(f64::NAN)).write(&mut out);
        assert_eq!(out, "10000000000000000000000.0000001\"NaN\"");
    }
}
