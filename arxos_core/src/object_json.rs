//! The JSON documents the object triggers write for every object: the fields an event reports
//! (`{"id", "path", …}`), the history changes of an insert or delete (`{"path": {"after": …}, …}`)
//! and of an update (`{"health": {"before": …, "after": …}, …}` for the fields that differ).
//!
//! Built as [`jsonb::Value`] trees and encoded straight into PostgreSQL's binary jsonb
//! ([`crate::jsonb`]). PostgreSQL's `jsonb_build_object` looks up every argument's type output
//! function on every call and rebuilds nested documents, and JSON text has to be parsed; both
//! cost several times what the rest of a history row does. The SQL wrappers are
//! `arxos.object_fields`, `arxos.object_event`, `arxos.object_snapshot` and
//! `arxos.object_changes` (sql/02_objects.sql).

use crate::jsonb::{Number, Value};

/// The reported fields of one version of an object. `properties` is the root container of
/// its properties jsonb, embedded as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectFields<'a> {
    pub path: &'a str,
    pub kind: &'a str,
    pub status: &'a str,
    pub health: i16,
    pub needs_repair: bool,
    pub properties: &'a [u8],
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub z: Option<f64>,
    pub floor: Option<i32>,
}

fn float<'a>(f: Option<f64>) -> Value<'a> {
    match f {
        None => Value::Null,
        Some(f) if f.is_finite() => Value::Number(Number::Float(f)),
        // Non-finite values, which the table's constraints refuse, become strings as to_jsonb
        // makes them.
        Some(f) if f.is_nan() => Value::Str("NaN"),
        Some(f) if f > 0.0 => Value::Str("Infinity"),
        Some(_) => Value::Str("-Infinity"),
    }
}

impl<'a> ObjectFields<'a> {
    /// (name, value) of every reported field but the id, in jsonb's key order (shorter names
    /// first, then bytewise), so that the encoder need not sort them.
    fn values(&self) -> [(&'static str, Value<'a>); 10] {
        [
            ("x", float(self.x)),
            ("y", float(self.y)),
            ("z", float(self.z)),
            ("path", Value::Str(self.path)),
            ("type", Value::Str(self.kind)),
            (
                "floor",
                match self.floor {
                    Some(f) => Value::Number(Number::Int(f.into())),
                    None => Value::Null,
                },
            ),
            ("health", Value::Number(Number::Int(self.health.into()))),
            ("status", Value::Str(self.status)),
            ("properties", Value::Container(self.properties)),
            ("needs_repair", Value::Bool(self.needs_repair)),
        ]
    }
}

/// `{"id": id, "path": …, …, "floor": …}`: the object as events report it (null location
/// fields included), with `"version"` when one is given.
pub fn fields<'a>(id: &'a str, version: Option<i32>, o: &ObjectFields<'a>) -> Value<'a> {
    let [x, y, z, path, kind, floor, health, status, rest @ ..] = o.values();
    let mut pairs = Vec::with_capacity(12);
    pairs.extend([
        x,
        y,
        z,
        ("id", Value::Str(id)),
        path,
        kind,
        floor,
        health,
        status,
    ]);
    // "version" (7 bytes) sorts after "status" and before "properties"
    if let Some(v) = version {
        pairs.push(("version", Value::Number(Number::Int(v.into()))));
    }
    pairs.extend(rest);
    Value::Object(pairs)
}

/// `{"object": fields}`: the body of an `object.created` or `object.deleted` event, the
/// object's version included (the version written, or the one deleted).
pub fn event<'a>(id: &'a str, version: i32, o: &ObjectFields<'a>) -> Value<'a> {
    Value::Object(vec![("object", fields(id, Some(version), o))])
}

/// `{"field": {side: value}}` for every field of an insert (`side` = "after") or a delete
/// ("before"); x, y and z only when located, floor only when set.
pub fn snapshot<'a>(o: &ObjectFields<'a>, side: &'a str) -> Value<'a> {
    let pairs = o
        .values()
        .into_iter()
        .filter(|(name, _)| match *name {
            "x" | "y" | "z" => o.x.is_some(),
            "floor" => o.floor.is_some(),
            _ => true,
        })
        .map(|(name, value)| (name, Value::Object(vec![(side, value)])))
        .collect();
    Value::Object(pairs)
}

/// `{"field": {"before": b, "after": a}}` for the fields that differ between two versions.
/// `properties_equal` is the database's own jsonb equality of the two properties (`{"a": 1}`
/// equals `{"a": 1.0}`, which their bytes do not).
pub fn changes<'a>(
    old: &ObjectFields<'a>,
    new: &ObjectFields<'a>,
    properties_equal: bool,
) -> Value<'a> {
    // in the order of `values`
    let same = [
        old.x == new.x,
        old.y == new.y,
        old.z == new.z,
        old.path == new.path,
        old.kind == new.kind,
        old.floor == new.floor,
        old.health == new.health,
        old.status == new.status,
        properties_equal,
        old.needs_repair == new.needs_repair,
    ];
    let pairs = old
        .values()
        .into_iter()
        .zip(new.values())
        .zip(same)
        .filter(|(_, same)| !same)
        .map(|(((name, before), (_, after)), _)| {
            // "after" sorts before "before" in jsonb (shorter keys first)
            (
                name,
                Value::Object(vec![("after", after), ("before", before)]),
            )
        })
        .collect();
    Value::Object(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonb::{encode, Numerics};

    /// Numerics as their decimal digits (not real numerics: enough to encode a document).
    struct Digits;
    impl Numerics for Digits {
        fn write(&mut self, n: Number, out: &mut Vec<u8>) {
            out.extend_from_slice(format!("{n:?}").as_bytes());
        }
    }

    /// The tree as compact JSON-like text: keys in the order built, containers as `<c>`.
    fn show(v: &Value) -> String {
        match v {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Str(s) => format!("{s:?}"),
            Value::Number(Number::Int(i)) => i.to_string(),
            Value::Number(Number::Float(f)) => f.to_string(),
            Value::Container(_) => "<c>".into(),
            Value::Object(pairs) => format!(
                "{{{}}}",
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k:?}:{}", show(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    /// `{}`: an empty object's root container.
    const PROPS: &[u8] = &0x2000_0000u32.to_ne_bytes();

    fn sample() -> ObjectFields<'static> {
        ObjectFields {
            path: "/a/b \"q\"",
            kind: "outlet",
            status: "active",
            health: 90,
            needs_repair: false,
            properties: PROPS,
            x: Some(1.5),
            y: Some(-2.0),
            z: Some(0.1),
            floor: None,
        }
    }

    #[test]
    fn fields_report_every_field_and_the_id() {
        assert_eq!(
            show(&fields("id-1", None, &sample())),
            "{\"x\":1.5,\"y\":-2,\"z\":0.1,\"id\":\"id-1\",\"path\":\"/a/b \\\"q\\\"\",\
             \"type\":\"outlet\",\"floor\":null,\"health\":90,\"status\":\"active\",\
             \"properties\":<c>,\"needs_repair\":false}"
        );
        assert_eq!(
            show(&event("id-1", 3, &sample())),
            "{\"object\":{\"x\":1.5,\"y\":-2,\"z\":0.1,\"id\":\"id-1\",\"path\":\"/a/b \\\"q\\\"\",\
             \"type\":\"outlet\",\"floor\":null,\"health\":90,\"status\":\"active\",\
             \"version\":3,\"properties\":<c>,\"needs_repair\":false}}"
        );
    }

    #[test]
    fn snapshots_leave_out_an_unset_location_and_floor() {
        let mut o = sample();
        assert_eq!(
            show(&snapshot(&o, "after")),
            "{\"x\":{\"after\":1.5},\"y\":{\"after\":-2},\"z\":{\"after\":0.1},\
             \"path\":{\"after\":\"/a/b \\\"q\\\"\"},\"type\":{\"after\":\"outlet\"},\
             \"health\":{\"after\":90},\"status\":{\"after\":\"active\"},\
             \"properties\":{\"after\":<c>},\"needs_repair\":{\"after\":false}}"
        );
        o.x = None;
        o.floor = Some(3);
        let s = show(&snapshot(&o, "before"));
        assert!(
            !s.contains("\"x\"")
                && s.contains("\"type\":{\"before\":\"outlet\"},\"floor\":{\"before\":3},"),
            "{s}"
        );
    }

    #[test]
    fn changes_name_only_the_fields_that_differ() {
        let old = sample();
        let mut new = sample();
        assert_eq!(show(&changes(&old, &new, true)), "{}");
        new.health = 40;
        new.x = None;
        new.floor = Some(2);
        assert_eq!(
            show(&changes(&old, &new, true)),
            "{\"x\":{\"after\":null,\"before\":1.5},\"floor\":{\"after\":2,\"before\":null},\
             \"health\":{\"after\":40,\"before\":90}}"
        );
        assert_eq!(
            show(&changes(&old, &old, false)),
            "{\"properties\":{\"after\":<c>,\"before\":<c>}}"
        );
    }

    #[test]
    fn non_finite_numbers_become_strings_and_every_document_encodes() {
        let mut o = sample();
        o.x = Some(f64::NAN);
        o.y = Some(f64::INFINITY);
        o.z = Some(f64::NEG_INFINITY);
        let s = show(&fields("i", None, &o));
        assert!(
            s.contains("\"x\":\"NaN\",\"y\":\"Infinity\",\"z\":\"-Infinity\""),
            "{s}"
        );
        for v in [
            fields("i", None, &o),
            event("i", 1, &o),
            snapshot(&o, "after"),
            changes(&o, &sample(), false),
        ] {
            assert!(encode(&v, &mut Digits).is_ok());
        }
    }

    /// Every document is built in jsonb's key order, which spares the encoder a sort.
    #[test]
    fn documents_are_built_in_key_order() {
        fn ordered(v: &Value) -> bool {
            match v {
                Value::Object(pairs) => {
                    pairs.windows(2).all(|w| {
                        (w[0].0.len(), w[0].0.as_bytes()) < (w[1].0.len(), w[1].0.as_bytes())
                    }) && pairs.iter().all(|(_, v)| ordered(v))
                }
                _ => true,
            }
        }
        let mut other = sample();
        other.floor = Some(1);
        other.x = None;
        for v in [
            fields("i", Some(2), &sample()),
            event("i", 2, &sample()),
            snapshot(&sample(), "before"),
            changes(&sample(), &other, false),
        ] {
            assert!(ordered(&v), "{}", show(&v));
        }
    }
}
