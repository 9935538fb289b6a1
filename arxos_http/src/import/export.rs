//! A building as Brick Turtle (`arxos export --format brick`). Importing the output gives the
//! same tree: every object carries `arxos:name` (its segment) and `arxos:properties` (its
//! properties as JSON, taken back as they are), hangs under its parent by `parent_relation`
//! (default `isPartOf`) and names it (`arxos:parent`: which of its hierarchy relations is the
//! parent, when connections of the same relation lead elsewhere), and keeps the IRI it was imported with and the class of its type. A
//! connection whose properties are not what the importer derives from its triple alone
//! (`{"predicate": …}`) also gets an `rdf:Statement` about that triple with `arxos:properties`.
//! A connection's predicate is the one it was imported with when an import reads it back as
//! the same connection, else `<https://arxos.dev/kind#<kind>>`, which names its kind exactly.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::brick::{chosen_class, reading, type_name, Hierarchy, Reading, ARXOS, BRICK, KIND, RDF};

/// One object as the exporter reads it.
#[derive(Debug, Clone)]
pub struct ExportObject {
    pub path: String,
    pub kind: String,
    pub properties: Map<String, Value>,
}

/// One connection, by path.
#[derive(Debug, Clone)]
pub struct ExportConnection {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub properties: Map<String, Value>,
}

const TYPE_NS: &str = "https://arxos.dev/type#";

/// Percent-encodes what is not an unreserved IRI character (and not `/` when `keep_slash`).
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn iri_of(building: &str, o: &ExportObject) -> String {
    match (
        o.properties.get("source_format"),
        o.properties.get("source_id"),
    ) {
        (Some(Value::String(f)), Some(Value::String(id))) if f == "brick" && valid_iri(id) => {
            id.clone()
        }
        _ => path_iri(building, &o.path),
    }
}

/// The IRI of an object by its building and path, for objects without an imported one.
fn path_iri(building: &str, path: &str) -> String {
    format!(
        "urn:arxos:{}:{}",
        encode(building, false),
        encode(path.trim_start_matches('/'), true)
    )
}

/// An absolute IRI the importer's parser reads back (found by a review: `floor_2:ahu`, a bad
/// `%zz` escape and a control character were written, and the whole export was refused).
fn valid_iri(iri: &str) -> bool {
    oxiri::Iri::parse(iri).is_ok()
}

/// The classes it was imported with while its type is one of theirs (an import of several
/// classes, `rdf_type` an array, keeps them all: found by an audit, a VAV exported as a class
/// of ArxOS's own; and one corrected to another of its classes keeps them too: review), else
/// its type's; and whether the type must be written as `arxos:type`, because an import of
/// those classes alone would not give it.
fn classes_of(o: &ExportObject) -> (Vec<String>, bool) {
    let imported: Option<BTreeSet<String>> = match o.properties.get("rdf_type") {
        Some(Value::String(c)) => Some(BTreeSet::from([c.clone()])),
        Some(Value::Array(cs)) => cs
            .iter()
            .map(|c| c.as_str().map(str::to_owned))
            .collect::<Option<BTreeSet<String>>>(),
        _ => None,
    };
    match imported {
        Some(cs)
            if !cs.is_empty()
                && cs.iter().all(|c| valid_iri(c))
                && cs.iter().any(|c| type_name(c) == o.kind) =>
        {
            let given = cs.len() > 1
                || chosen_class(&cs, &HashMap::new(), &Hierarchy::default())
                    .is_none_or(|c| type_name(c) != o.kind);
            (cs.into_iter().collect(), given)
        }
        _ => (vec![format!("{TYPE_NS}{}", encode(&o.kind, false))], false),
    }
}

/// A Turtle string literal.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn parent_of(path: &str) -> Option<&str> {
    match arxos_core::path::parent(path) {
        Some("/") | None => None,
        p => p,
    }
}

/// Whether an import reads `from <predicate> to` back as this connection of `kind`, with
/// `predicate` as its predicate: a connection's own predicate (as imported) is written only then,
/// else `<https://arxos.dev/kind#KIND>` is (found by a review: `a__b` folded into `a_b`, an `isFedBy` came back
/// turned into `feeds`, and an `isPartOf` to the object's own parent merged into the parent
/// relation). A hierarchy relation is a connection when its subject has another parent, which
/// `arxos:parent` names.
fn comes_back(predicate: &str, kind: &str, other_parent: bool) -> bool {
    if !valid_iri(predicate) {
        return false;
    }
    match reading(predicate) {
        Reading::Connection {
            reversed: false,
            kind: read,
            predicate: written,
        } => read == kind && written == predicate,
        Reading::Hierarchy {
            forward,
            child_is_subject: true,
            ..
        } => {
            other_parent
                && predicate == format!("{BRICK}{forward}")
                && super::sanitize::kind(forward) == kind
        }
        _ => false,
    }
}

/// The Turtle document of a building. Objects must be sorted by path.
pub fn to_turtle(
    building: &str,
    objects: &[ExportObject],
    connections: &[ExportConnection],
) -> String {
    // An IRI names one entity: a second object with the same source IRI (an import keeps the
    // old object when an entity's parent changes in the file) gets its path's IRI, or the
    // re-import would merge the two (found by an audit: one object was lost, unsaid).
    let mut iris = std::collections::HashMap::new();
    let mut taken = std::collections::HashSet::new();
    for o in objects {
        let mut iri = iri_of(building, o);
        if taken.contains(&iri) {
            iri = path_iri(building, &o.path);
        }
        // (that too may be an earlier object's imported IRI: a re-imported export's)
        let mut n = 1;
        while taken.contains(&iri) {
            n += 1;
            iri = format!("{}-{n}", path_iri(building, &o.path));
        }
        taken.insert(iri.clone());
        iris.insert(o.path.as_str(), iri);
    }
    let mut out = String::new();
    let _ = writeln!(out, "@prefix brick: <{BRICK}> .");
    let _ = writeln!(out, "@prefix arxos: <{ARXOS}> .");
    let _ = writeln!(out, "@prefix rdf: <{RDF}> .");
    let _ = writeln!(
        out,
        "# Building {building}: {} objects, {} connections (arxos export)\n",
        objects.len(),
        connections.len()
    );
    for o in objects {
        let (classes, given_type) = classes_of(o);
        let classes: Vec<String> = classes.iter().map(|c| format!("<{c}>")).collect();
        let _ = writeln!(
            out,
            "<{}> a {} ;",
            iris[o.path.as_str()],
            classes.join(", ")
        );
        if given_type {
            let _ = writeln!(out, "    arxos:type {} ;", literal(&o.kind));
        }
        let _ = writeln!(
            out,
            "    arxos:name {} ;",
            literal(arxos_core::path::name(&o.path))
        );
        if let Some(parent) = parent_of(&o.path).and_then(|p| iris.get(p)) {
            let relation = o
                .properties
                .get("parent_relation")
                .and_then(Value::as_str)
                .filter(|r| matches!(*r, "isPointOf" | "isPartOf" | "hasLocation"))
                .unwrap_or("isPartOf");
            let _ = writeln!(out, "    brick:{relation} <{parent}> ;");
            // which of its hierarchy relations is the parent: a connection of the same
            // relation may lead elsewhere (isPartOf a wing as well as the floor)
            let _ = writeln!(out, "    arxos:parent <{parent}> ;");
        }
        let props = Value::Object(o.properties.clone()).to_string();
        let _ = writeln!(out, "    arxos:properties {} .", literal(&props));
    }
    out.push('\n');
    for c in connections {
        let (Some(from), Some(to)) = (iris.get(c.from.as_str()), iris.get(c.to.as_str())) else {
            continue;
        };
        // the parent the export gives `from`, when that is not `to`
        let other_parent = parent_of(&c.from).is_some_and(|p| p != c.to && iris.contains_key(p));
        let predicate = match c.properties.get("predicate") {
            Some(Value::String(p)) if comes_back(p, &c.kind, other_parent) => p.clone(),
            _ => format!("{KIND}{}", c.kind),
        };
        let _ = writeln!(out, "<{from}> <{predicate}> <{to}> .");
        let derived = Map::from_iter([("predicate".to_owned(), Value::from(predicate.clone()))]);
        if c.properties != derived {
            let props = Value::Object(c.properties.clone()).to_string();
            let _ = writeln!(
                out,
                "[] a rdf:Statement ; rdf:subject <{from}> ; rdf:predicate <{predicate}> ; rdf:object <{to}> ;\n    arxos:properties {} .",
                literal(&props)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::brick;
    use serde_json::json;

    /// Every object gets an IRI of its own: a second one with an imported IRI already given
    /// takes its path's, and if that is taken too (an earlier object imported from a
    /// re-imported export), a numbered one (found by a review).
    #[test]
    fn no_two_objects_share_an_iri() {
        let brick = |id: &str| {
            json!({"source_format": "brick", "source_id": id})
                .as_object()
                .unwrap()
                .clone()
        };
        let object = |path: &str, properties| ExportObject {
            path: path.into(),
            kind: "thing".into(),
            properties,
        };
        let objects = vec![
            object("/a", brick("urn:arxos:b:c")),
            object("/b", brick("http://x.org/e#S")),
            object("/c", brick("http://x.org/e#S")),
        ];
        let ttl = to_turtle("b", &objects, &[]);
        let subjects: Vec<&str> = ttl
            .lines()
            .filter(|l| l.contains("> a <"))
            .map(|l| l.split('>').next().unwrap())
            .collect();
        assert_eq!(
            subjects,
            ["<urn:arxos:b:c", "<http://x.org/e#S", "<urn:arxos:b:c-2"],
            "{ttl}"
        );
    }

    #[test]
    fn export_reimports_to_the_same_tree() {
        let objects = vec![
            ExportObject {
                path: "/electrical".into(),
                kind: "directory".into(),
                properties: Map::new(),
            },
            // Imported from Haystack, then its type changed by hand from the class it came with.
            ExportObject {
                path: "/electrical/doas".into(),
                kind: "DOAS".into(),
                properties: json!({"source_format": "haystack", "source_id": "@ahu-1",
                                   "rdf_type": "https://brickschema.org/schema/Brick#AHU"})
                .as_object()
                .unwrap()
                .clone(),
            },
            ExportObject {
                path: "/electrical/panel 1".into(),
                kind: "electrical panel".into(),
                properties: json!({"rating": "200A"}).as_object().unwrap().clone(),
            },
            ExportObject {
                path: "/electrical/panel 1/c#2".into(),
                kind: "circuit".into(),
                properties: Map::new(),
            },
        ];
        let connections = vec![
            ExportConnection {
                from: "/electrical/panel 1".into(),
                to: "/electrical/panel 1/c#2".into(),
                kind: "power".into(),
                properties: json!({"circuit": 3, "tag": "elecRef"})
                    .as_object()
                    .unwrap()
                    .clone(),
            },
            ExportConnection {
                from: "/electrical/doas".into(),
                to: "/electrical/panel 1".into(),
                kind: "feeds".into(),
                properties: json!({"predicate": "https://brickschema.org/schema/Brick#feeds"})
                    .as_object()
                    .unwrap()
                    .clone(),
            },
        ];
        let ttl = to_turtle("b42", &objects, &connections);
        let plan = brick::parse(ttl.as_bytes()).unwrap().plan();
        let got: Vec<(&str, &str)> = plan
            .objects
            .iter()
            .map(|o| (o.path.as_str(), o.kind.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("/electrical", "directory"),
                ("/electrical/doas", "DOAS"),
                ("/electrical/panel 1", "electrical panel"),
                ("/electrical/panel 1/c#2", "circuit")
            ]
        );
        // Properties come back as they were: nothing derived is added, provenance is kept.
        for o in &objects {
            let back = plan.objects.iter().find(|b| b.path == o.path).unwrap();
            assert_eq!(back.properties, o.properties, "{}", o.path);
        }
        assert_eq!(plan.connections.len(), 2);
        let by_kind = |kind: &str| plan.connections.iter().find(|c| c.kind == kind).unwrap();
        assert_eq!(by_kind("power").to, "/electrical/panel 1/c#2");
        assert_eq!(by_kind("power").properties, connections[0].properties);
        assert_eq!(by_kind("feeds").properties, connections[1].properties);
        assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
    }

    /// A connection of the parent's own relation to another object (a room part of a floor
    /// and of a wing) does not take the parent's place when the export is imported: after a
    /// move to /d, the room came back under the wing, /b/x (found by a review).
    #[test]
    fn the_exported_parent_stays_the_parent() {
        let object = |path: &str, kind: &str| ExportObject {
            path: path.into(),
            kind: kind.into(),
            properties: Map::new(),
        };
        let objects = vec![
            object("/a", "Floor"),
            object("/b", "Wing"),
            object("/d", "Floor"),
            object("/d/x", "Room"),
        ];
        let connections = vec![ExportConnection {
            from: "/d/x".into(),
            to: "/b".into(),
            kind: "is_part_of".into(),
            properties: json!({"predicate": "https://brickschema.org/schema/Brick#isPartOf"})
                .as_object()
                .unwrap()
                .clone(),
        }];
        let ttl = to_turtle("m1", &objects, &connections);
        let plan = brick::parse(ttl.as_bytes()).unwrap().plan();
        let paths: Vec<&str> = plan.objects.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, ["/a", "/b", "/d", "/d/x"], "{ttl}");
        assert_eq!(plan.connections.len(), 1);
        assert_eq!(
            (
                plan.connections[0].from.as_str(),
                plan.connections[0].to.as_str()
            ),
            ("/d/x", "/b")
        );
        assert_eq!(plan.connections[0].properties, connections[0].properties);
        assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
    }

    /// A connection's properties that name its predicate.
    fn predicate_iri(iri: &str) -> Map<String, Value> {
        json!({ "predicate": iri }).as_object().unwrap().clone()
    }

    /// Every connection comes back as it was, whatever its kind and its predicate: kinds that
    /// a predicate's local name would fold (`a__b`, `feeds_`) or that name an annotation
    /// (`name`, `parent`), an inverse relation's predicate, a hierarchy relation to the object's
    /// own parent or from a top-level object (found by a review: each was lost, merged or
    /// turned); a hierarchy relation to another object keeps Brick's predicate.
    #[test]
    fn every_connection_comes_back() {
        let object = |path: &str| ExportObject {
            path: path.into(),
            kind: "Room".into(),
            properties: Map::new(),
        };
        let objects = vec![object("/p"), object("/p/c"), object("/q"), object("/w")];
        let predicate = |p: &str| predicate_iri(&format!("{BRICK}{p}"));
        let connection = |from: &str, to: &str, kind: &str, properties| ExportConnection {
            from: from.into(),
            to: to.into(),
            kind: kind.into(),
            properties,
        };
        let mut connections = vec![
            connection("/p/c", "/p", "is_part_of", predicate("isPartOf")),
            connection("/p/c", "/w", "is_part_of", predicate("isPartOf")),
            connection("/q", "/w", "is_part_of", predicate("isPartOf")),
            connection("/q", "/p", "is_fed_by", predicate("isFedBy")),
            connection("/w", "/q", "feeds", predicate("feeds")),
            connection("/q", "/p", "odd", predicate("isFedBy")),
            connection("/q", "/p", "x", predicate_iri("floor_2:ahu")),
            // predicates the import reads as a class or a schema declaration (found by a
            // review: the subject came back as a schema declaration, and was lost)
            connection("/q", "/w", "type", predicate_iri(&format!("{RDF}type"))),
            connection(
                "/w",
                "/q",
                "sub_class_of",
                predicate_iri("http://www.w3.org/2000/01/rdf-schema#subClassOf"),
            ),
        ];
        for kind in [
            "a_b",
            "a__b",
            "feeds_",
            "feeds",
            "name",
            "parent",
            "properties",
            "type",
        ] {
            connections.push(connection("/p", "/q", kind, Map::new()));
        }
        let ttl = to_turtle("b", &objects, &connections);
        let plan = brick::parse(ttl.as_bytes()).unwrap().plan();
        assert!(plan.skipped.is_empty(), "{:?}\n{ttl}", plan.skipped);
        let paths: Vec<&str> = plan.objects.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, ["/p", "/p/c", "/q", "/w"], "{ttl}");
        let key = |from: &str, to: &str, kind: &str, properties: &Map<String, Value>| {
            (
                from.to_owned(),
                to.to_owned(),
                kind.to_owned(),
                Value::Object(properties.clone()).to_string(),
            )
        };
        let mut want: Vec<_> = connections
            .iter()
            .map(|c| key(&c.from, &c.to, &c.kind, &c.properties))
            .collect();
        let mut got: Vec<_> = plan
            .connections
            .iter()
            .map(|c| key(&c.from, &c.to, &c.kind, &c.properties))
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{ttl}");
        // Brick's own predicate where it comes back (a part of a second whole)
        assert!(
            ttl.contains(&format!(
                "<urn:arxos:b:p/c> <{BRICK}isPartOf> <urn:arxos:b:w> ."
            )),
            "{ttl}"
        );
        assert!(
            ttl.contains(&format!("<urn:arxos:b:p> <{KIND}a__b> <urn:arxos:b:q> .")),
            "{ttl}"
        );
    }

    /// IRIs that the importer's parser would refuse (a scheme with `_`, a bad percent escape,
    /// a control character) are not written: the object gets its path's IRI, the class its
    /// type's, so that the export reads back (found by a review: the whole file was refused).
    #[test]
    fn only_iris_that_read_back_are_written() {
        let object = |path: &str, kind: &str, properties: Value| ExportObject {
            path: path.into(),
            kind: kind.into(),
            properties: properties.as_object().unwrap().clone(),
        };
        let objects = vec![
            object(
                "/a",
                "AHU",
                json!({"source_format": "brick", "source_id": "floor_2:ahu"}),
            ),
            object(
                "/b",
                "AHU",
                json!({"source_format": "brick", "source_id": "urn:ex:b%zz"}),
            ),
            object(
                "/c",
                "AHU",
                json!({"source_format": "brick", "source_id": "urn:ex:a\u{1}b"}),
            ),
            object("/d", "AHU", json!({"rdf_type": "my_ns:AHU"})),
        ];
        let ttl = to_turtle("b", &objects, &[]);
        let plan = brick::parse(ttl.as_bytes()).unwrap().plan();
        assert!(plan.skipped.is_empty(), "{:?}\n{ttl}", plan.skipped);
        for (o, back) in objects.iter().zip(&plan.objects) {
            assert_eq!(
                (&back.path, &back.kind, &back.properties),
                (&o.path, &o.kind, &o.properties)
            );
        }
    }

    /// An object imported with several classes is exported with all of them while its type is
    /// one of theirs, and its type as `arxos:type`, so that importing the output gives it back
    /// whichever class an import would choose; a type of its own gets ArxOS's class (found by an
    /// audit: a VAV's classes were dropped; by a review: a type corrected to another of its
    /// classes dropped them too).
    #[test]
    fn every_imported_class_is_exported() {
        let vav = |kind: &str| {
            ExportObject {
            path: "/vav".into(),
            kind: kind.into(),
            properties: json!({"source_format": "brick", "source_id": "urn:ex#vav",
                               "rdf_type": ["https://brickschema.org/schema/Brick#Equipment",
                                            "https://brickschema.org/schema/Brick#VAV",
                                            "https://brickschema.org/schema/Brick#Variable_Air_Volume_Box"]})
            .as_object()
            .unwrap()
            .clone(),
        }
        };
        for kind in ["VAV", "Variable_Air_Volume_Box"] {
            let ttl = to_turtle("b", &[vav(kind)], &[]);
            assert!(
                ttl.contains("<urn:ex#vav> a <https://brickschema.org/schema/Brick#Equipment>, <https://brickschema.org/schema/Brick#VAV>, <https://brickschema.org/schema/Brick#Variable_Air_Volume_Box> ;"),
                "{ttl}"
            );
            assert!(ttl.contains(&format!("arxos:type \"{kind}\" ;")), "{ttl}");
            let plan = brick::parse(ttl.as_bytes()).unwrap().plan();
            assert_eq!(plan.objects[0].kind, kind);
        }
        let own = to_turtle("b", &[vav("terminal box")], &[]);
        assert!(
            own.contains("<urn:ex#vav> a <https://arxos.dev/type#terminal%20box> ;"),
            "{own}"
        );
    }
}
