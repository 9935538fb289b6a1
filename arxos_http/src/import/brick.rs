//! Brick models in Turtle (or N-Triples) → [`Model`].
//!
//! Entities are the named subjects (those with an `rdf:type`, and untyped ones too, as
//! `Resource`). The location tree comes from `isPointOf`/`hasPoint` (points under equipment),
//! `isPartOf`/`hasPart` and `hasLocation`/`isLocationOf`, whichever direction the file uses
//! (Brick's, or RealEstateCore's `rec:` ones, which Brick 1.4 models use for locations:
//! `rec:isPartOf`, `rec:hasPart`, `rec:locatedIn`, `rec:isLocationOf`, `rec:hasPoint`,
//! `rec:isPointOf`);
//! when an entity has several parents, the first by (relation, zones last, IRI) wins and the
//! others become connections. Every other relation between entities becomes a connection (inverses such as
//! `isFedBy` are turned into their forward form); literals, blank-node structures and IRIs
//! that are not entities become properties. The RDF class becomes the type.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use oxrdf::{Literal, Subject, Term, Triple};
use oxttl::TurtleParser;
use serde_json::{json, Map, Value};

use super::model::{Entity, Model, Relation, Skipped};
use super::sanitize;
use super::ImportError;

pub const BRICK: &str = "https://brickschema.org/schema/Brick#";
/// RealEstateCore, whose location classes and relations Brick 1.4 adopted.
pub const REC: &str = "https://w3id.org/rec#";
pub const ARXOS: &str = "https://arxos.dev/schema#";
pub const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
/// Blank nodes nested deeper than this become `{}` (reported in `skipped`).
const BLANK_DEPTH_MAX: usize = 8;
/// Values copied out of blank nodes into property values over a whole document (each triple of
/// each expansion counts): a blank node that several others share is expanded once per
/// reference, so a few kilobytes of nested shared nodes would otherwise expand into billions
/// of values. Past it, values become `{}` (reported).
const BLANK_VALUES_MAX: usize = 1_000_000;
/// Bytes of literals and IRIs copied out of blank nodes over a whole document, for the same
/// reason: one shared node holding a 400 KB literal, referred to a thousand times, took the
/// server to a gigabyte (found by a review): 16 MiB, or 16 bytes per byte of the file when
/// that is more (a large model read by `arxos import` copies every node once, and its blank
/// nodes' full IRIs are longer than the file's prefixed names).
const BLANK_BYTES_MAX: usize = 16 << 20;
/// See [`BLANK_BYTES_MAX`].
const BLANK_BYTES_PER_INPUT_BYTE: usize = 16;

/// Parent relations: (name, rank, the subject is the child).
const PARENT_RELATIONS: &[(&str, u8, bool)] = &[
    ("isPointOf", 0, true),
    ("hasPoint", 0, false),
    ("isPartOf", 1, true),
    ("hasPart", 1, false),
    ("hasLocation", 2, true),
    ("isLocationOf", 2, false),
    // RealEstateCore's name for hasLocation
    ("locatedIn", 2, true),
];

/// Inverse relations and their forward form: `a isFedBy b` is `b feeds a`.
const INVERSES: &[(&str, &str)] = &[
    ("isFedBy", "feeds"),
    ("isMeteredBy", "meters"),
    ("isSubMeterOf", "hasSubMeter"),
    ("isRegulatedBy", "regulates"),
    ("isMeasuredBy", "measures"),
    ("isInputOf", "hasInput"),
    ("isOutputOf", "hasOutput"),
    ("isAssociatedWith", "associatedWith"),
];

/// Classes of schema declarations, which are not building entities: the ontology's classes,
/// properties and shapes, and the vocabulary Brick defines as instances (tags, substances,
/// quantities), which a model saved together with its ontology carries along.
const SCHEMA_CLASSES: &[&str] = &[
    "http://www.w3.org/2002/07/owl#Ontology",
    "http://www.w3.org/2002/07/owl#Class",
    "http://www.w3.org/2002/07/owl#ObjectProperty",
    "http://www.w3.org/2002/07/owl#DatatypeProperty",
    "http://www.w3.org/2002/07/owl#AnnotationProperty",
    "http://www.w3.org/2002/07/owl#TransitiveProperty",
    "http://www.w3.org/2002/07/owl#SymmetricProperty",
    "http://www.w3.org/2002/07/owl#FunctionalProperty",
    "http://www.w3.org/2002/07/owl#InverseFunctionalProperty",
    "http://www.w3.org/2002/07/owl#AsymmetricProperty",
    "http://www.w3.org/2002/07/owl#IrreflexiveProperty",
    "http://www.w3.org/2002/07/owl#Restriction",
    "http://www.w3.org/2000/01/rdf-schema#Class",
    "http://www.w3.org/2000/01/rdf-schema#Datatype",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property",
    "http://www.w3.org/ns/shacl#NodeShape",
    "http://www.w3.org/ns/shacl#PropertyShape",
    "https://brickschema.org/schema/Brick#Tag",
    "https://brickschema.org/schema/Brick#Substance",
    "https://brickschema.org/schema/Brick#Quantity",
    "https://brickschema.org/schema/Brick#EntityPropertyValue",
    "http://www.w3.org/2004/02/skos/core#Concept",
    "http://www.w3.org/2004/02/skos/core#ConceptScheme",
];

const RDFS_SUBCLASS_OF: &str = "http://www.w3.org/2000/01/rdf-schema#subClassOf";

/// Predicates that only schema declarations have: a subject with one of them is a class or a
/// property (`brick:Apartment rdfs:subClassOf brick:Space`), not an entity.
const SCHEMA_PREDICATES: &[&str] = &[
    "http://www.w3.org/2000/01/rdf-schema#subClassOf",
    "http://www.w3.org/2000/01/rdf-schema#subPropertyOf",
    "http://www.w3.org/2002/07/owl#equivalentClass",
    "http://www.w3.org/2002/07/owl#equivalentProperty",
    "http://www.w3.org/2002/07/owl#inverseOf",
    "http://www.w3.org/ns/shacl#targetClass",
];

/// The local name of an IRI: after the last `#`, else the last `/`, else the last `:`.
pub fn local_name(iri: &str) -> &str {
    let cut = iri
        .rfind('#')
        .or_else(|| iri.trim_end_matches('/').rfind('/'))
        .or_else(|| iri.rfind(':'));
    match cut {
        Some(i) if i + 1 < iri.len() => iri[i + 1..].trim_end_matches('/'),
        _ => iri,
    }
}

fn is_brick(iri: &str) -> bool {
    iri.contains("brickschema.org/schema") && iri.contains("Brick#")
}

/// Whether an entity's classes make it a zone (`HVAC_Zone`, `Lighting_Zone`, `rec:Zone`): an
/// overlay on the building's structure, a parent only when nothing else is.
fn is_zone(classes: Option<&BTreeSet<String>>) -> bool {
    classes.is_some_and(|cs| cs.iter().any(|c| local_name(c).ends_with("Zone")))
}

/// A relation whose hierarchy meaning the import knows: Brick's, or RealEstateCore's.
fn is_structural(iri: &str) -> bool {
    is_brick(iri) || iri.starts_with(REC)
}

/// Connection kinds by name: `<https://arxos.dev/kind#a__b>` is the kind `a__b` exactly,
/// where any other predicate's local name is folded into a kind (`sanitize::kind`). An export
/// writes a connection so when its predicate would not come back as the same connection.
pub const KIND: &str = "https://arxos.dev/kind#";

/// The predicates of `arxos:` that describe the subject: never connections.
const ANNOTATIONS: &[&str] = &["name", "parent", "properties", "type"];

/// What a triple between two entities of the file is, by its predicate.
#[derive(Debug, PartialEq, Eq)]
pub enum Reading {
    /// A hierarchy relation: its forward name (`hasPart` is `isPartOf` turned), its rank among
    /// the parent relations, and whether the subject is the child.
    Hierarchy {
        forward: &'static str,
        rank: u8,
        child_is_subject: bool,
    },
    /// `arxos:name`, `parent`, `properties` or `type`, `rdf:type`, or a predicate of schema
    /// declarations (`rdfs:subClassOf`, …): about the subject, never a connection.
    Annotation,
    /// A connection of `kind`, from the object to the subject when `reversed` (`a isFedBy b`
    /// is `b feeds a`), whose `predicate` property is `predicate`.
    Connection {
        reversed: bool,
        kind: String,
        predicate: String,
    },
}

/// How the import reads a triple `s pred o` between two entities (an export checks with it
/// that a connection's predicate comes back as the same connection).
pub fn reading(pred: &str) -> Reading {
    let local = local_name(pred);
    // (the import reads these before it reads relations: found by a review, an export wrote a
    // connection as rdfs:subClassOf and its subject came back as a schema declaration)
    if (pred.starts_with(ARXOS) && ANNOTATIONS.contains(&local))
        || pred == RDF_TYPE
        || SCHEMA_PREDICATES.contains(&pred)
    {
        return Reading::Annotation;
    }
    if let Some(&(name, rank, child_is_subject)) = PARENT_RELATIONS
        .iter()
        .find(|(n, _, _)| *n == local && is_structural(pred))
    {
        let forward = match name {
            "hasPoint" => "isPointOf",
            "hasPart" => "isPartOf",
            "isLocationOf" | "locatedIn" => "hasLocation",
            other => other,
        };
        return Reading::Hierarchy {
            forward,
            rank,
            child_is_subject,
        };
    }
    if let Some(kind) = pred.strip_prefix(KIND).filter(|k| is_kind(k)) {
        return Reading::Connection {
            reversed: false,
            kind: kind.to_owned(),
            predicate: pred.to_owned(),
        };
    }
    match INVERSES.iter().find(|(inv, _)| *inv == local) {
        // the local name turned, the namespace kept as it is (a namespace holding the name
        // too was turned with it: found by a review)
        Some((_, fwd)) => Reading::Connection {
            reversed: true,
            kind: sanitize::kind(fwd),
            predicate: format!("{}{fwd}", pred.strip_suffix(local).unwrap_or(pred)),
        },
        None => Reading::Connection {
            reversed: false,
            kind: sanitize::kind(local),
            predicate: pred.to_owned(),
        },
    }
}

/// A connection kind as the database takes it: `^[a-z][a-z0-9_]{0,62}$`.
pub fn is_kind(kind: &str) -> bool {
    kind.len() <= 63
        && kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Percent-decoding of a local name (types and names exported by `arxos export`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Two hex digits, read as bytes: a `%` before a multi-byte character is kept as it is
        // (slicing the text there panicked `arxos export` on a `rdf_type` of `urn:x#%€`;
        // found by a review), and so is one before a sign (`%+1`).
        if bytes[i] == b'%' {
            if let Some(&[hi, lo]) = bytes.get(i + 1..i + 3) {
                if let (Some(hi), Some(lo)) = (hex_digit(hi), hex_digit(lo)) {
                    out.push(hi * 16 + lo);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

struct Parsed {
    triples: Vec<Triple>,
    prefixes: Vec<(String, String)>,
}

fn parse_triples(input: &[u8]) -> Result<Parsed, ImportError> {
    let mut parser = TurtleParser::new().for_slice(input);
    let mut triples = Vec::new();
    for t in parser.by_ref() {
        triples.push(t.map_err(|e| ImportError::Syntax(e.to_string()))?);
    }
    let mut prefixes: Vec<(String, String)> = parser
        .prefixes()
        .map(|(p, iri)| (p.to_owned(), iri.to_owned()))
        .collect();
    // Longest namespace first, so the most specific prefix compacts an IRI.
    prefixes.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    Ok(Parsed { triples, prefixes })
}

fn compact(iri: &str, prefixes: &[(String, String)]) -> String {
    for (p, ns) in prefixes {
        if let Some(rest) = iri.strip_prefix(ns.as_str()) {
            if !rest.is_empty() {
                return format!("{p}:{rest}");
            }
        }
    }
    iri.to_owned()
}

fn literal_json(l: &Literal) -> Value {
    let dt = l.datatype().as_str();
    let v = l.value();
    let xsd = "http://www.w3.org/2001/XMLSchema#";
    if let Some(t) = dt.strip_prefix(xsd) {
        match t {
            "decimal" => {
                if let Some(n) = exact_decimal(v.trim()) {
                    return Value::Number(n);
                }
            }
            "integer" | "int" | "long" | "short" | "byte" | "nonNegativeInteger"
            | "positiveInteger" | "nonPositiveInteger" | "negativeInteger" | "unsignedLong"
            | "unsignedInt" | "unsignedShort" | "unsignedByte" => {
                if let Some(n) = exact_integer(t, v.trim()) {
                    return Value::Number(n);
                }
            }
            "double" | "float" => {
                if let Some(n) = v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    return Value::Number(n);
                }
            }
            "boolean" => match v.trim() {
                "true" | "1" => return json!(true),
                "false" | "0" => return json!(false),
                _ => {}
            },
            _ => {}
        }
    }
    json!(v)
}

/// An `xsd:decimal` or `xsd:integer` lexical form (`-1.50`, `+.5`, `007`, `5.`) as a JSON
/// number with every digit kept (serde_json's `arbitrary_precision`; jsonb keeps numerics
/// exact), not through a double, which would round a 20-digit meter total. `None` for
/// anything else (kept as the string it is).
fn exact_decimal(lexical: &str) -> Option<serde_json::Number> {
    let (sign, unsigned) = match lexical.as_bytes().first()? {
        b'-' => ("-", &lexical[1..]),
        b'+' => ("", &lexical[1..]),
        _ => ("", lexical),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.len() + frac.len() == 0 || !digits(int) || !digits(frac) {
        return None;
    }
    let int = match int.trim_start_matches('0') {
        "" => "0",
        int => int,
    };
    // What a property can hold (arxos.check_json): below 1e100, and 0 or at least 1e-100, in
    // magnitude; beyond, the literal stays the string it is rather than refusing the entity.
    let leading_zeros = frac.len() - frac.trim_start_matches('0').len();
    let tiny = int == "0" && frac.bytes().any(|b| b != b'0') && leading_zeros >= 100;
    if int.len() > 100 || tiny {
        return None;
    }
    let text = if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    };
    serde_json::from_str(&text).ok()
}

/// An integer type's lexical form (`xsd:integer`, `xsd:positiveInteger`…) as an exact JSON
/// number: digits with an optional sign, no fraction, and the sign the type allows (a
/// `nonNegativeInteger` of `-3` is no such integer). `None` keeps the literal as its string.
fn exact_integer(datatype: &str, lexical: &str) -> Option<serde_json::Number> {
    if lexical.contains('.') {
        return None;
    }
    let n = exact_decimal(lexical)?;
    let text = n.to_string();
    let negative = text.starts_with('-') && text != "-0";
    let zero = text.trim_start_matches('-') == "0";
    // The bounded types' ranges (XSD 1.1, 3.4.17-3.4.25); the others are unbounded.
    let range: Option<(i128, i128)> = match datatype {
        "long" => Some((i64::MIN.into(), i64::MAX.into())),
        "int" => Some((i32::MIN.into(), i32::MAX.into())),
        "short" => Some((i16::MIN.into(), i16::MAX.into())),
        "byte" => Some((i8::MIN.into(), i8::MAX.into())),
        "unsignedLong" => Some((0, u64::MAX.into())),
        "unsignedInt" => Some((0, u32::MAX.into())),
        "unsignedShort" => Some((0, u16::MAX.into())),
        "unsignedByte" => Some((0, u8::MAX.into())),
        _ => None,
    };
    let fits = match datatype {
        "nonNegativeInteger" => !negative,
        "positiveInteger" => !negative && !zero,
        "nonPositiveInteger" => negative || zero,
        "negativeInteger" => negative,
        _ => match range {
            Some((low, high)) => text
                .parse::<i128>()
                .is_ok_and(|v| (low..=high).contains(&v)),
            None => true,
        },
    };
    fits.then_some(n)
}

/// Values of one entity (or blank node) by key; several values of one key become an array.
#[derive(Default)]
struct Values(BTreeMap<String, Vec<Value>>);

impl Values {
    fn add(&mut self, key: &str, value: Value) {
        self.0.entry(key.to_owned()).or_default().push(value);
    }

    /// A key's values in a stable order: RDF has none (serialisers such as rdflib write a
    /// subject's triples in any order), so the same graph written twice imports alike, with
    /// no update; a triple given twice is one triple.
    fn into_map(self, mut base: Map<String, Value>) -> Map<String, Value> {
        for (k, mut vs) in self.0 {
            vs.sort_by_cached_key(|v| v.to_string());
            vs.dedup();
            let v = if vs.len() == 1 {
                vs.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(vs)
            };
            base.insert(k, v);
        }
        base
    }
}

/// Parses a Brick model.
pub fn parse(input: &[u8]) -> Result<Model, ImportError> {
    let Parsed { triples, prefixes } = parse_triples(input)?;
    let mut model = Model::default();

    // Types, blank-node contents, and the named subjects.
    let mut types: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut blank: HashMap<String, Vec<(String, Term)>> = HashMap::new();
    let mut subjects: BTreeSet<String> = BTreeSet::new();
    // subjects that declare schema (a subclass, a subproperty)
    let mut declared: BTreeSet<String> = BTreeSet::new();
    // the file's own class hierarchy (rdfs:subClassOf), for chosen_class
    let mut hierarchy = Hierarchy::default();
    for t in &triples {
        match &t.subject {
            Subject::NamedNode(s) => {
                subjects.insert(s.as_str().to_owned());
                if SCHEMA_PREDICATES.contains(&t.predicate.as_str()) {
                    declared.insert(s.as_str().to_owned());
                }
                if t.predicate.as_str() == RDFS_SUBCLASS_OF {
                    if let Term::NamedNode(parent) = &t.object {
                        hierarchy
                            .parents
                            .entry(s.as_str().to_owned())
                            .or_default()
                            .insert(parent.as_str().to_owned());
                    }
                }
                if t.predicate.as_str() == RDF_TYPE {
                    if let Term::NamedNode(c) = &t.object {
                        types
                            .entry(s.as_str().to_owned())
                            .or_default()
                            .insert(c.as_str().to_owned());
                    }
                }
            }
            Subject::BlankNode(b) => blank
                .entry(b.as_str().to_owned())
                .or_default()
                .push((t.predicate.as_str().to_owned(), t.object.clone())),
            #[allow(unreachable_patterns)]
            _ => model.skipped.push(Skipped {
                what: t.to_string(),
                reason: "quoted-triple subjects are not supported".into(),
            }),
        }
    }
    let schema: BTreeSet<&String> = types
        .iter()
        .filter(|(_, cs)| cs.iter().any(|c| SCHEMA_CLASSES.contains(&c.as_str())))
        .map(|(s, _)| s)
        .chain(declared.iter())
        .collect();
    let entities: BTreeSet<&str> = subjects
        .iter()
        .filter(|s| !schema.contains(s))
        .map(String::as_str)
        .collect();

    let mut props: HashMap<&str, Values> = HashMap::new();
    let mut given: HashMap<&str, Map<String, Value>> = HashMap::new();
    let mut names = OneValue::new("name", "the IRI gives the name");
    let mut given_types = OneValue::new("type", "the classes give the type");
    let mut given_parents = OneValue::new("parent", "the hierarchy relations choose the parent");
    let mut parents: HashMap<&str, Vec<(u8, String, &'static str)>> = HashMap::new();
    let byte_budget = BLANK_BYTES_MAX.max(BLANK_BYTES_PER_INPUT_BYTE.saturating_mul(input.len()));
    let mut walk = BlankWalk {
        blank: &blank,
        prefixes: &prefixes,
        used: BTreeSet::new(),
        budget: BLANK_VALUES_MAX,
        bytes: byte_budget,
        cut: false,
    };

    for t in &triples {
        let Subject::NamedNode(s) = &t.subject else {
            continue;
        };
        let s = s.as_str();
        let pred = t.predicate.as_str();
        if schema.contains(&s.to_owned()) {
            model.skipped.push(Skipped {
                what: t.to_string(),
                reason: "a schema declaration, not a building entity".into(),
            });
            continue;
        }
        if pred == RDF_TYPE {
            if !matches!(t.object, Term::NamedNode(_)) {
                model.skipped.push(Skipped {
                    what: t.to_string(),
                    reason: "rdf:type that is not an IRI".into(),
                });
            }
            continue;
        }
        let local = local_name(pred);
        let entry = props
            .entry(entities.get(s).copied().unwrap_or(s))
            .or_default();
        if pred.starts_with(ARXOS) {
            match (local, &t.object) {
                ("name", Term::Literal(l)) => {
                    let subject = entities.get(s).copied().unwrap_or(s);
                    let problem = match arxos_core::path::check_segment(l.value()) {
                        _ if l.value().is_empty() => Some("arxos:name is empty".to_owned()),
                        Err(e) => Some(format!("arxos:name is not a path segment ({e})")),
                        Ok(()) => None,
                    };
                    if let Some(skip) = names.offer(subject, s, l.value(), problem) {
                        model.skipped.push(skip);
                    }
                }
                ("type", Term::Literal(l)) => {
                    let subject = entities.get(s).copied().unwrap_or(s);
                    let problem = (!arxos_core::label::is_label(l.value(), 100)).then(|| {
                        format!(
                            "arxos:type {} is not a type (a label of 1 to 100 characters, no space at either end, no control or invisible characters)",
                            arxos_core::message::shown(l.value())
                        )
                    });
                    if let Some(skip) = given_types.offer(subject, s, l.value(), problem) {
                        model.skipped.push(skip);
                    }
                }
                // An export names the parent among the entity's hierarchy relations: the
                // others are connections, whatever their IRIs' order (found by a review: after
                // a move, an export re-imported hung the object under a connection's end).
                ("parent", Term::NamedNode(o)) => {
                    let subject = entities.get(s).copied().unwrap_or(s);
                    let problem = (!entities.contains(o.as_str()))
                        .then(|| format!("arxos:parent {o} is not an entity of the file"));
                    if let Some(skip) = given_parents.offer(subject, s, o.as_str(), problem) {
                        model.skipped.push(skip);
                    }
                }
                ("properties", Term::Literal(l)) => {
                    let subject = entities.get(s).copied().unwrap_or(s);
                    // One document per subject, read as strictly as a request's body (found by
                    // an audit: a key given twice kept the last, two documents were merged, and
                    // a refusal quoted the whole literal)
                    let refused = if given.contains_key(subject) {
                        Err(
                            "a subject has one arxos:properties: this second one was left out"
                                .to_owned(),
                        )
                    } else {
                        properties_document(l.value())
                    };
                    match refused {
                        Ok(m) => {
                            given.insert(subject, m);
                        }
                        Err(reason) => model.skipped.push(Skipped {
                            what: format!("arxos:properties of {s}"),
                            reason,
                        }),
                    }
                }
                // A value of the wrong kind is said, not dropped unsaid (found by a review).
                (local, object) if ANNOTATIONS.contains(&local) => {
                    if let Term::BlankNode(b) = object {
                        // (said here, not again as a blank node no entity refers to)
                        walk.used.insert(b.as_str().to_owned());
                    }
                    let wanted = match local {
                        "parent" => "the IRI of an entity of the file",
                        "properties" => "a literal holding a JSON object",
                        _ => "a literal",
                    };
                    model.skipped.push(Skipped {
                        what: t.to_string(),
                        reason: format!("arxos:{local} takes {wanted}"),
                    });
                }
                _ => {}
            }
            if ANNOTATIONS.contains(&local) {
                continue;
            }
        }
        match &t.object {
            Term::NamedNode(o) if entities.contains(o.as_str()) => {
                let o = o.as_str();
                match reading(pred) {
                    Reading::Hierarchy {
                        forward,
                        rank,
                        child_is_subject,
                    } => {
                        let (child, parent) = if child_is_subject { (s, o) } else { (o, s) };
                        let child = *entities.get(child).expect("entity");
                        parents
                            .entry(child)
                            .or_default()
                            .push((rank, parent.to_owned(), forward));
                    }
                    // (said above)
                    Reading::Annotation => {}
                    Reading::Connection {
                        reversed,
                        kind,
                        predicate,
                    } => {
                        let (from, to) = if reversed { (o, s) } else { (s, o) };
                        model.relations.push(Relation {
                            from: from.to_owned(),
                            to: to.to_owned(),
                            kind,
                            properties: Map::from_iter([(
                                "predicate".to_owned(),
                                json!(predicate),
                            )]),
                        });
                    }
                }
            }
            // A hierarchy relation to an entity the file does not describe: reported (the
            // object then sits at the top level, or keeps its other parents), not kept.
            Term::NamedNode(o) if matches!(reading(pred), Reading::Hierarchy { .. }) => {
                let target = o.as_str().to_owned();
                let why = if schema.contains(&&target) {
                    "is a schema declaration (a class, property or shape), not an entity"
                } else {
                    "is not described in the file (no type)"
                };
                model.skipped.push(Skipped {
                    what: t.to_string(),
                    reason: format!(
                        "{} {why}, so {local} is not followed",
                        compact(o.as_str(), &prefixes)
                    ),
                });
            }
            // the empty collection, `()`
            Term::NamedNode(o) if o.as_str() == RDF_NIL => entry.add(local, json!([])),
            Term::NamedNode(o) => entry.add(local, json!(compact(o.as_str(), &prefixes))),
            Term::Literal(l) => entry.add(local, literal_json(l)),
            Term::BlankNode(b) => {
                walk.cut = false;
                let v = walk.node(b.as_str(), 0);
                if walk.cut {
                    model.skipped.push(Skipped {
                        what: format!("_:{} (the value of {local} of {s})", b.as_str()),
                        reason: format!(
                            "blank nodes nested deeper than {BLANK_DEPTH_MAX} levels, or past {BLANK_VALUES_MAX} values or {} MiB copied out of blank nodes in the document, were cut to {{}}",
                            byte_budget >> 20
                        ),
                    });
                }
                entry.add(local, v);
            }
            #[allow(unreachable_patterns)]
            _ => model.skipped.push(Skipped {
                what: t.to_string(),
                reason: "quoted-triple objects are not supported".into(),
            }),
        }
    }
    let given_ids: BTreeSet<&str> = given.keys().copied().collect();
    // How many subjects of the file have each class (chosen_class: the more specific of two
    // is the one fewer subjects have).
    let mut class_subjects: HashMap<&str, usize> = HashMap::new();
    for cs in types.values() {
        for c in cs {
            *class_subjects.entry(c.as_str()).or_default() += 1;
        }
    }
    for &id in &entities {
        let classes = types.get(id);
        let class = classes.and_then(|cs| chosen_class(cs, &class_subjects, &hierarchy));
        if let Some(cs) = classes.filter(|cs| cs.len() > CLASSES_WEIGHED_MAX) {
            model.skipped.push(Skipped {
                what: format!("classes of {id}"),
                reason: format!(
                    "it has {} classes; its type was chosen from the first {CLASSES_WEIGHED_MAX} (by IRI), and rdf_type lists them all",
                    cs.len()
                ),
            });
        }
        // The type an export wrote (`arxos:type`: one its classes would not give) wins.
        let given_type = given_types.take(id);
        let kind = given_type
            .clone()
            .unwrap_or_else(|| class.map_or_else(|| "Resource".to_owned(), |c| type_name(c)));
        // A class whose name cannot be a type is said, not silently Resource (found by an
        // audit); rdf_type keeps the class.
        if let Some(c) = class
            .filter(|c| given_type.is_none() && kind == "Resource" && local_name(c) != "Resource")
        {
            model.skipped.push(Skipped {
                what: c.to_string(),
                reason: format!(
                    "the class's name cannot be an object type (a label: no control or invisible characters, no space at either end), so {id} has type Resource"
                ),
            });
        }
        let mut properties = props
            .remove(id)
            .unwrap_or_default()
            .into_map(given.remove(id).unwrap_or_default());
        let mut chosen = parents.remove(id).unwrap_or_default();
        // By relation (points, parts, locations), then zones after the rest (a room that is
        // part of a floor and of an HVAC zone sits under the floor; found by a review: IRI
        // spelling put it under the zone), then IRI.
        chosen.sort_by(|(ra, pa, _), (rb, pb, _)| {
            (ra, is_zone(types.get(pa)), pa).cmp(&(rb, is_zone(types.get(pb)), pb))
        });
        chosen.dedup();
        // the parent an export names first (if a hierarchy relation leads to it)
        if let Some(named) = given_parents.take(id) {
            if let Some(i) = chosen.iter().position(|(_, p, _)| *p == named) {
                let first = chosen.remove(i);
                chosen.insert(0, first);
            } else {
                model.skipped.push(Skipped {
                    what: format!("arxos:parent of {id}"),
                    reason: format!(
                        "no hierarchy relation of {id} leads to {named}: the hierarchy relations choose the parent"
                    ),
                });
            }
        }
        let mut parent = None;
        for (i, (_, p, rel)) in chosen.into_iter().enumerate() {
            if i == 0 {
                // An export names the default relation without keeping it as a property.
                if !(given_ids.contains(id) && rel == "isPartOf") {
                    model.provenance(&mut properties, id, "parent_relation", json!(rel));
                }
                parent = Some(p);
            } else {
                model.relations.push(Relation {
                    from: id.to_owned(),
                    to: p,
                    kind: sanitize::kind(rel),
                    properties: Map::from_iter([(
                        "predicate".to_owned(),
                        json!(format!("{BRICK}{rel}")),
                    )]),
                });
            }
        }
        // An entity with arxos:properties comes from an ArxOS export: those are its properties,
        // as they were (its provenance included), not re-derived.
        let exported = given_ids.contains(id);
        if !exported {
            model.provenance(&mut properties, id, "source_format", json!("brick"));
            model.provenance(&mut properties, id, "source_id", json!(id));
        }
        if let (Some(cs), false) = (classes, exported) {
            let all: Vec<&String> = cs.iter().collect();
            let classes = if all.len() == 1 {
                json!(all[0])
            } else {
                json!(all)
            };
            model.provenance(&mut properties, id, "rdf_type", classes);
        }
        model.entities.push(Entity {
            id: id.to_owned(),
            key: percent_decode(local_name(id)),
            name: names.take(id),
            parent,
            kind,
            properties,
        });
    }
    // Statements about a connection (an ArxOS export writes one when the connection's
    // properties are more than its predicate): they are its properties, as they are. (After
    // the entities: their further parents are connections too.)
    let relations: HashMap<(String, String, String), usize> = model
        .relations
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let predicate = r.properties.get("predicate")?.as_str()?;
            Some(((r.from.clone(), predicate.to_owned(), r.to.clone()), i))
        })
        .collect();
    // Blank nodes in the order of their labels: the report, and which statements agree, do
    // not depend on a hash order.
    let mut nodes: Vec<(&String, &Vec<(String, Term)>)> = blank.iter().collect();
    nodes.sort_unstable_by_key(|(b, _)| *b);
    // Statements by the connection they describe: (what the report calls one, its properties).
    type Said = (String, Map<String, Value>);
    let mut about: BTreeMap<usize, Vec<Said>> = BTreeMap::new();
    for &(b, triples) in &nodes {
        if let Some(statement) = statement_properties(triples) {
            walk.used.insert(b.clone());
            match statement {
                Ok((from, predicate, to, properties)) => {
                    let what = format!("_:{b} (about <{from}> <{predicate}> <{to}>)");
                    match relations.get(&(from, predicate, to)) {
                        Some(&i) => about.entry(i).or_default().push((what, properties)),
                        None => model.skipped.push(Skipped {
                            what,
                            reason: "a statement about a connection the document does not make"
                                .into(),
                        }),
                    }
                }
                Err(reason) => model.skipped.push(Skipped {
                    what: format!("_:{b}"),
                    reason,
                }),
            }
        }
    }
    // Several statements about one connection: taken when they say the same, else none of
    // them is (which one the file meant cannot be told; found by a review: the last in hash
    // order won).
    for (i, mut statements) in about {
        if statements.windows(2).all(|w| w[0].1 == w[1].1) {
            let (_, properties) = statements.swap_remove(0);
            model.relations[i].properties = properties;
            continue;
        }
        let count = statements.len();
        for (what, _) in statements {
            model.skipped.push(Skipped {
                what,
                reason: format!(
                    "one of {count} statements about the same connection that do not all give the same arxos:properties: none is taken"
                ),
            });
        }
    }
    for &(b, triples) in &nodes {
        if !walk.used.contains(b) {
            model.skipped.push(Skipped {
                what: match triples.len() {
                    1 => format!("_:{b} (1 triple)"),
                    n => format!("_:{b} ({n} triples)"),
                },
                reason: "a blank node no entity refers to".into(),
            });
        }
    }

    Ok(model)
}

/// The one `arxos:<what>` (name, type) each subject gives: a valid value, else none, whatever
/// the file's order (found by reviews: the last of two won, and an invalid one was dropped
/// unsaid). A value that is invalid, and both of two different ones, are listed in `skipped`;
/// the subject then gets what `otherwise` says.
struct OneValue<'a> {
    what: &'static str,
    otherwise: &'static str,
    given: HashMap<&'a str, String>,
    conflicting: BTreeSet<&'a str>,
}

impl<'a> OneValue<'a> {
    fn new(what: &'static str, otherwise: &'static str) -> OneValue<'a> {
        OneValue {
            what,
            otherwise,
            given: HashMap::new(),
            conflicting: BTreeSet::new(),
        }
    }

    /// Takes `value` for `subject` (written `iri` in the file), or says why not: `problem`
    /// (the value is invalid), or another value given before.
    fn offer(
        &mut self,
        subject: &'a str,
        iri: &str,
        value: &str,
        problem: Option<String>,
    ) -> Option<Skipped> {
        let reason = match problem {
            Some(problem) => problem,
            None => match self.given.get(subject) {
                None => {
                    self.given.insert(subject, value.to_owned());
                    return None;
                }
                Some(same) if same == value => return None,
                Some(_) => {
                    self.conflicting.insert(subject);
                    format!(
                        "a subject has one arxos:{}: of two, neither is used",
                        self.what
                    )
                }
            },
        };
        Some(Skipped {
            what: format!("arxos:{} of {iri}", self.what),
            reason: format!("{reason}: {}", self.otherwise),
        })
    }

    /// The value kept for `subject`, if any.
    fn take(&mut self, subject: &str) -> Option<String> {
        self.given
            .remove(subject)
            .filter(|_| !self.conflicting.contains(subject))
    }
}

/// An `arxos:properties` literal: a JSON object with each key once.
fn properties_document(text: &str) -> Result<Map<String, Value>, String> {
    if let Some(duplicate) = crate::json_body::duplicate_key(text.as_bytes()) {
        let at = if duplicate.at.is_empty() {
            "the top level"
        } else {
            &duplicate.at
        };
        if duplicate.reserved {
            return Err(format!(
                "arxos:properties uses the key {:?} (in the object at {at}), which the server's JSON reader reserves: it would read that object as another value",
                duplicate.key
            ));
        }
        return Err(format!(
            "arxos:properties gives the key {:?} twice (in the object at {at}): a document with each key once is read, not half of one",
            duplicate.key
        ));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(format!(
            "arxos:properties is not a JSON object but {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            }
        )),
        Err(e) if e.to_string().contains("recursion limit") => Err(
            "arxos:properties nests deeper than the 128 levels a JSON document may have here"
                .to_owned(),
        ),
        Err(e) => Err(format!("arxos:properties is not JSON: {e}")),
    }
}

/// The class that gives a subject its type: a Brick class, else a RealEstateCore one, else any;
/// of several, [`most_specific`].
/// `subjects` counts, for each class, the file's subjects that have it: in an inferred model a
/// superclass labels every subject its subclasses do, so of two candidates the one fewer
/// subjects have is the more specific (an `RTU` among `AHU`s), whatever their names.
/// Only the first [`CLASSES_WEIGHED_MAX`] classes of a subject (by IRI) are weighed against each
/// other (the caller lists the rest as skipped; `rdf_type` keeps them all).
pub fn chosen_class<'a>(
    classes: &'a BTreeSet<String>,
    subjects: &HashMap<&str, usize>,
    hierarchy: &Hierarchy,
) -> Option<&'a String> {
    let weighed: Vec<&String> = classes.iter().take(CLASSES_WEIGHED_MAX).collect();
    // A class the file itself declares a superclass of another listed one gives way first:
    // each class's ancestors walked once, not once per pair (found by a review: one subject
    // of 10,000 classes took 54 s).
    let mut superclasses: HashSet<&str> = HashSet::new();
    for d in &weighed {
        for a in hierarchy.ancestors(d) {
            if a != d.as_str() {
                superclasses.insert(a);
            }
        }
    }
    let declared: Vec<&String> = weighed
        .iter()
        .copied()
        .filter(|c| !superclasses.contains(c.as_str()))
        .collect();
    // (a cycle of declarations drops them all: then none is dropped)
    let declared = if declared.is_empty() {
        weighed
    } else {
        declared
    };
    let pick = |f: &dyn Fn(&String) -> bool| {
        most_specific(declared.iter().copied().filter(|c| f(c)), subjects)
    };
    pick(&|c| is_brick(c))
        .or_else(|| pick(&|c| c.starts_with(REC)))
        .or_else(|| pick(&|_| true))
}

/// The `rdfs:subClassOf` declarations a file carries (an ontology shipped with the model).
#[derive(Debug, Default)]
pub struct Hierarchy {
    parents: HashMap<String, BTreeSet<String>>,
}

impl Hierarchy {
    /// The declared superclasses of `class`, at any depth (cycles stop; `class` itself is
    /// among them only in a cycle), at most [`ANCESTORS_MAX`] of them: Brick's deepest classes
    /// have about ten, and a file's hierarchy is not to cost more than that bound a class.
    fn ancestors<'a>(&'a self, class: &'a str) -> HashSet<&'a str> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut todo: Vec<&str> = vec![class];
        while let Some(c) = todo.pop() {
            for p in self.parents.get(c).into_iter().flatten() {
                if seen.len() >= ANCESTORS_MAX {
                    return seen;
                }
                if seen.insert(p.as_str()) {
                    todo.push(p.as_str());
                }
            }
        }
        seen
    }
}

/// The classes of one subject weighed for its type ([`chosen_class`]).
pub const CLASSES_WEIGHED_MAX: usize = 256;
/// The declared superclasses of one class followed ([`Hierarchy::ancestors`]).
const ANCESTORS_MAX: usize = 256;

/// Brick's broad classes, most general first: of a subject's classes, these give way to any
/// other, and among themselves to the later (a `Sensor` that is also a `Point` is a `Sensor`).
const BROAD_CLASSES: [&str; 19] = [
    "Entity",
    "Class",
    // RealEstateCore's roots
    "Architecture",
    "Asset",
    "Point",
    "Location",
    "Equipment",
    "Collection",
    "System",
    "Space",
    "Zone",
    "HVAC_Equipment",
    "Terminal_Unit",
    "Sensor",
    "Setpoint",
    "Command",
    "Status",
    "Alarm",
    "Parameter",
];

/// Of several classes of one subject (an inferred model lists every superclass), the most
/// specific one: a class another one's name qualifies is its superclass in Brick's naming
/// (`Air_Temperature_Sensor` of `Zone_Air_Temperature_Sensor`, `Equipment` of
/// `HVAC_Equipment`), and Brick's broad classes ([`BROAD_CLASSES`]) give way to the rest; of
/// what is left, the first IRI. IRI order alone typed a VAV `Equipment` (found by an audit),
/// and the longest name a floor `Location` and an AHU `HVAC_Equipment` (found by a review).
fn most_specific<'a>(
    classes: impl Iterator<Item = &'a String>,
    subjects: &HashMap<&str, usize>,
) -> Option<&'a String> {
    let classes: Vec<&String> = classes.collect();
    let local = |c: &str| percent_decode(local_name(c));
    let names: Vec<String> = classes.iter().map(|c| local(c)).collect();
    let qualified = |name: &str| {
        names.iter().any(|other| {
            other.len() > name.len()
                && other.ends_with(name)
                && other.as_bytes()[other.len() - name.len() - 1] == b'_'
        })
    };
    let broad = |name: &str| BROAD_CLASSES.iter().position(|b| *b == name);
    let kept: Vec<(&String, &String)> = classes
        .iter()
        .zip(&names)
        .filter(|(_, name)| !qualified(name))
        .map(|(c, n)| (*c, n))
        .collect();
    let specific = kept
        .iter()
        .filter(|(_, name)| broad(name).is_none())
        .map(|(c, _)| *c)
        .min_by_key(|c| (subjects.get(c.as_str()).copied().unwrap_or(0), *c));
    // (never empty when classes are not: the longest name is qualified by none)
    specific.or_else(|| {
        kept.iter()
            .max_by_key(|(c, name)| (broad(name), std::cmp::Reverse(*c)))
            .map(|(c, _)| *c)
    })
}

/// The type of a class IRI: its local name (percent-decoded), at most 100 characters. A longer
/// name keeps its first 91 characters, then `~` and 8 hex digits of its hash, so that two
/// classes that differ only past the cut stay two types (as connection kinds do).
pub fn type_name(class: &str) -> String {
    // An object type is a label (arxos_core::label, the database's arxos.is_label): a name
    // that is not one once cut (blank, a space at either end, a control or invisible
    // character) falls back, rather than fail the import.
    let full = percent_decode(local_name(class));
    let name: String = if full.chars().count() > 100 {
        let hash = format!("{:016x}", crate::import::sanitize::fnv64(&full));
        let base: String = full.chars().take(91).collect();
        format!("{base}~{}", &hash[8..])
    } else {
        full
    };
    if arxos_core::label::is_label(&name, 100) {
        name
    } else {
        "Resource".to_owned()
    }
}

/// A connection's properties from an `rdf:Statement` about its triple: (subject, predicate,
/// object, properties). `None` when the blank node is no statement with `arxos:properties`; an
/// error when it is one without an IRI subject, predicate and object, or whose
/// `arxos:properties` is not a JSON object.
#[allow(clippy::type_complexity)]
fn statement_properties(
    triples: &[(String, Term)],
) -> Option<Result<(String, String, String, Map<String, Value>), String>> {
    let statement = format!("{RDF}Statement");
    let is_statement = triples
        .iter()
        .any(|(p, o)| p == RDF_TYPE && matches!(o, Term::NamedNode(c) if c.as_str() == statement));
    let documents: Vec<&str> = triples
        .iter()
        .filter_map(|(p, o)| match o {
            Term::Literal(l) if *p == format!("{ARXOS}properties") => Some(l.value()),
            _ => None,
        })
        .collect();
    if !is_statement || documents.is_empty() {
        return None;
    }
    // One document with each key once (found by a review: a key given twice kept its last
    // value, and of two documents the first was taken unsaid); a statement with two is
    // refused whole.
    let properties = match documents.as_slice() {
        [one] => properties_document(one),
        _ => Err("arxos:properties is given more than once".to_owned()),
    };
    let iri = |name: &str| {
        triples.iter().find_map(|(p, o)| match o {
            Term::NamedNode(n) if *p == format!("{RDF}{name}") => Some(n.as_str().to_owned()),
            _ => None,
        })
    };
    Some(
        match (iri("subject"), iri("predicate"), iri("object"), properties) {
            (Some(s), Some(p), Some(o), Ok(m)) => Ok((s, p, o, m)),
            // `why` begins with "arxos:properties …"
            (Some(_), Some(_), Some(_), Err(why)) => Err(format!("a statement whose {why}")),
            _ => Err("a statement without an IRI subject, predicate and object".into()),
        },
    )
}

/// The state of expanding blank nodes into property values.
struct BlankWalk<'a> {
    /// The blank nodes' triples, by node.
    blank: &'a HashMap<String, Vec<(String, Term)>>,
    prefixes: &'a [(String, String)],
    /// Blank nodes some value refers to.
    used: BTreeSet<String>,
    /// Expansions left in the document.
    budget: usize,
    /// Bytes of literals and IRIs left to copy in the document ([`BLANK_BYTES_MAX`]).
    bytes: usize,
    /// The value being expanded lost nodes to the depth or the budget.
    cut: bool,
}

const RDF_FIRST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first";
const RDF_REST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest";
const RDF_NIL: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil";

/// A node of an RDF collection (Turtle's `( a b c )`): an `rdf:first` and an `rdf:rest`.
fn is_list_node(triples: &[(String, Term)]) -> bool {
    triples.iter().any(|(p, _)| p == RDF_FIRST)
        && triples.iter().all(|(p, _)| p == RDF_FIRST || p == RDF_REST)
}

impl BlankWalk<'_> {
    /// A blank node as a JSON object (a collection as an array).
    fn node(&mut self, id: &str, depth: usize) -> Value {
        self.used.insert(id.to_owned());
        let blank = self.blank;
        let Some(triples) = blank.get(id) else {
            return json!({});
        };
        if depth >= BLANK_DEPTH_MAX || self.budget < triples.len().max(1) {
            self.cut = true;
            return json!({});
        }
        if is_list_node(triples) {
            return self.list(id, depth);
        }
        self.budget -= triples.len().max(1);
        let mut map = Values::default();
        for (pred, object) in triples {
            let key = if pred == RDF_TYPE {
                "type"
            } else {
                local_name(pred)
            };
            map.add(key, self.term(object, depth + 1));
        }
        Value::Object(map.into_map(Map::new()))
    }

    fn term(&mut self, object: &Term, depth: usize) -> Value {
        let size = match object {
            Term::NamedNode(n) => n.as_str().len(),
            Term::Literal(l) => l.value().len(),
            _ => 0,
        };
        if size > self.bytes {
            self.cut = true;
            return json!({});
        }
        self.bytes -= size;
        match object {
            // the empty collection, `()`
            Term::NamedNode(n) if n.as_str() == RDF_NIL => json!([]),
            Term::NamedNode(n) => json!(compact(n.as_str(), self.prefixes)),
            Term::Literal(l) => literal_json(l),
            Term::BlankNode(b) => self.node(b.as_str(), depth),
            #[allow(unreachable_patterns)]
            _ => Value::Null,
        }
    }

    /// An RDF collection as a JSON array, in its order (a collection is ordered, unlike a key's
    /// several values): its nodes walked along `rdf:rest` to `rdf:nil`, each costing one value
    /// of the budget, whatever the collection's length (it is not nesting); a node met twice
    /// (a cycle) ends it, reported as cut.
    fn list(&mut self, head: &str, depth: usize) -> Value {
        let blank = self.blank;
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut node = head.to_owned();
        loop {
            if !seen.insert(node.clone()) || self.budget == 0 {
                self.cut = true;
                break;
            }
            self.used.insert(node.clone());
            let Some(triples) = blank.get(&node).filter(|t| is_list_node(t)) else {
                break;
            };
            self.budget -= 1;
            let mut next = None;
            for (pred, object) in triples {
                if pred == RDF_FIRST {
                    items.push(self.term(object, depth + 1));
                } else if let Term::BlankNode(b) = object {
                    next = Some(b.as_str().to_owned());
                }
            }
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        Value::Array(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_reads_two_hex_digits_only() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        // a % before a multi-byte character panicked (slicing inside it)
        assert_eq!(percent_decode("%€"), "%€");
        assert_eq!(percent_decode("x%e€"), "x%e€");
        assert_eq!(percent_decode("%+1%-f%4"), "%+1%-f%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        // bytes that are no UTF-8 leave the name as it was
        assert_eq!(percent_decode("%FF"), "%FF");
    }

    #[test]
    fn decimals_and_integers_keep_every_digit() {
        for (lexical, json) in [
            (
                "123456789012345678901.000000000000000001",
                "123456789012345678901.000000000000000001",
            ),
            ("-007.50", "-7.50"),
            ("+.5", "0.5"),
            ("5.", "5"),
            ("-0", "-0"),
            ("99999999999999999999999", "99999999999999999999999"),
        ] {
            assert_eq!(
                exact_decimal(lexical).unwrap().to_string(),
                json,
                "{lexical}"
            );
        }
        for bad in ["", "+", ".", "1e5", "1.2.3", " 1", "0x10", "--1", "1_000"] {
            assert!(exact_decimal(bad).is_none(), "{bad:?}");
        }
        let ttl = "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\nex:m a brick:Meter ; ex:total \"12345678901234567890.123\"^^xsd:decimal ; ex:count \"18446744073709551616\"^^xsd:integer ; ex:odd \"twelve\"^^xsd:integer .\n";
        let model = parse(ttl.as_bytes()).unwrap();
        let m = find(&model, "m");
        assert_eq!(
            m.properties["total"].to_string(),
            "12345678901234567890.123"
        );
        assert_eq!(m.properties["count"].to_string(), "18446744073709551616");
        assert_eq!(m.properties["odd"], json!("twelve"));
        // Integer types take integers of their sign only; what a property cannot hold (1e100
        // and beyond) stays a string.
        assert_eq!(exact_integer("integer", "1.5"), None);
        assert_eq!(exact_integer("positiveInteger", "-3"), None);
        assert_eq!(exact_integer("positiveInteger", "0"), None);
        assert_eq!(
            exact_integer("negativeInteger", "-3").unwrap().to_string(),
            "-3"
        );
        assert_eq!(
            exact_integer("nonNegativeInteger", "+7")
                .unwrap()
                .to_string(),
            "7"
        );
        assert_eq!(
            exact_integer("unsignedByte", "255").unwrap().to_string(),
            "255"
        );
        assert_eq!(exact_integer("unsignedByte", "300"), None);
        assert_eq!(exact_integer("short", "-40000"), None);
        let max = "9223372036854775807";
        assert_eq!(exact_integer("long", max).unwrap().to_string(), max);
        assert_eq!(exact_integer("long", "9223372036854775808"), None);
        // The store's bounds: below 1e100, and 0 or at least 1e-100, in magnitude.
        let e99 = format!("1{}", "0".repeat(99));
        assert_eq!(exact_decimal(&e99).unwrap().to_string(), e99);
        assert_eq!(exact_decimal(&format!("1{}", "0".repeat(100))), None);
        let e_100 = format!("0.{}1", "0".repeat(99));
        assert_eq!(exact_decimal(&e_100).unwrap().to_string(), e_100);
        assert_eq!(exact_decimal(&format!("0.{}1", "0".repeat(100))), None);
    }

    /// An inferred model lists every superclass: the type is the most specific (the longest
    /// name), and a class that cannot be a type is said (found by an audit: a VAV was typed
    /// `Equipment`, a zero-width class silently `Resource`).
    #[test]
    fn the_most_specific_class_gives_the_type() {
        let ttl = "@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\n\
            ex:vav a brick:VAV, brick:Variable_Air_Volume_Box, brick:Terminal_Unit, brick:HVAC_Equipment, brick:Equipment .\n\
            ex:zat a brick:Zone_Air_Temperature_Sensor, brick:Air_Temperature_Sensor, brick:Temperature_Sensor, brick:Sensor, brick:Point ;\n\
                brick:isPointOf ex:vav .\n\
            ex:odd a <urn:cls#Zero%E2%80%8BWidth> .\n\
            ex:f1 a brick:Floor, brick:Location .\n\
            ex:ahu a brick:AHU, brick:HVAC_Equipment, brick:Equipment .\n\
            ex:r1 a brick:Room, brick:Space, brick:Location .\n\
            ex:m1 a brick:Meter, brick:Equipment .\n\
            ex:s1 a brick:Sensor, brick:Point .\n\
            ex:rtu a brick:RTU, brick:AHU, brick:HVAC_Equipment, brick:Equipment .\n\
            ex:ahu2 a brick:AHU, brick:HVAC_Equipment, brick:Equipment .\n\
            ex:cr a <https://w3id.org/rec#ConferenceRoom>, <https://w3id.org/rec#Room>, <https://w3id.org/rec#Space>, <https://w3id.org/rec#Architecture> .\n\
            ex:r9 a <https://w3id.org/rec#Room>, <https://w3id.org/rec#Space>, <https://w3id.org/rec#Architecture> .\n";
        let model = parse(ttl.as_bytes()).unwrap();
        assert_eq!(find(&model, "vav").kind, "VAV");
        assert_eq!(find(&model, "zat").kind, "Zone_Air_Temperature_Sensor");
        assert_eq!(find(&model, "odd").kind, "Resource");
        for (local, kind) in [
            ("f1", "Floor"),
            ("ahu", "AHU"),
            ("r1", "Room"),
            ("m1", "Meter"),
            ("s1", "Sensor"),
            ("rtu", "RTU"),
            ("cr", "ConferenceRoom"),
            ("r9", "Room"),
        ] {
            assert_eq!(find(&model, local).kind, kind, "{local}");
        }
        assert!(
            model
                .skipped
                .iter()
                .any(|s| s.what == "urn:cls#Zero%E2%80%8BWidth"
                    && s.reason.contains("has type Resource")),
            "{:?}",
            model.skipped
        );
    }

    /// The file's own rdfs:subClassOf declarations decide first (found by a review: an RTU
    /// that also listed AHU was typed AHU, the file saying RTU is an AHU).
    #[test]
    fn a_declared_hierarchy_decides() {
        let ttl = "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\n\
            brick:RTU rdfs:subClassOf brick:AHU .\n\
            brick:AHU rdfs:subClassOf brick:HVAC_Equipment .\n\
            ex:rtu a brick:RTU, brick:AHU .\n\
            ex:co2 a brick:CO2_Sensor, brick:Air_Quality_Sensor .\n\
            brick:CO2_Sensor rdfs:subClassOf brick:Air_Quality_Sensor .\n\
            ex:loop a brick:X1, brick:X2 .\n\
            brick:X1 rdfs:subClassOf brick:X2 .\n\
            brick:X2 rdfs:subClassOf brick:X1 .\n";
        let model = parse(ttl.as_bytes()).unwrap();
        assert_eq!(find(&model, "rtu").kind, "RTU");
        assert_eq!(find(&model, "co2").kind, "CO2_Sensor");
        assert_eq!(find(&model, "loop").kind, "X1");
    }

    /// arxos:type: one valid value per subject, else the classes decide, whatever the order
    /// (found by a review).
    #[test]
    fn arxos_type_is_one_valid_value() {
        let ttl = "@prefix arxos: <https://arxos.dev/schema#> .\n@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\n\
            ex:one a brick:AHU ; arxos:type \"RTU\" .\n\
            ex:two a brick:AHU ; arxos:type \"Zeta\", \"Alpha\" .\n\
            ex:bad a brick:AHU ; arxos:type \" padded \" .\n";
        let model = parse(ttl.as_bytes()).unwrap();
        assert_eq!(find(&model, "one").kind, "RTU");
        assert_eq!(find(&model, "two").kind, "AHU");
        assert_eq!(find(&model, "bad").kind, "AHU");
        let skipped: Vec<&str> = model.skipped.iter().map(|s| s.what.as_str()).collect();
        assert!(skipped.contains(&"arxos:type of urn:ex#two"), "{skipped:?}");
        assert!(skipped.contains(&"arxos:type of urn:ex#bad"), "{skipped:?}");
    }

    /// An `arxos:` annotation with a value of the wrong kind is listed in `skipped` (an IRI
    /// for a name, a literal for the parent, a blank node for the properties), and the blank
    /// node once, as that (found by a review: all were dropped unsaid, and the blank node was
    /// called one that no entity refers to).
    #[test]
    fn annotations_of_the_wrong_kind_are_said() {
        let ttl = "@prefix arxos: <https://arxos.dev/schema#> .\n@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\n\
            ex:b a brick:Floor .\n\
            ex:a a brick:AHU ; arxos:name ex:foo ; arxos:type ex:VAV ; arxos:parent \"ex:b\" ; arxos:properties [ ex:x 1 ] .\n";
        let model = parse(ttl.as_bytes()).unwrap();
        assert_eq!(find(&model, "a").kind, "AHU");
        assert!(model.relations.is_empty(), "{:?}", model.relations);
        let reasons: Vec<&str> = model.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "arxos:name takes a literal",
                "arxos:type takes a literal",
                "arxos:parent takes the IRI of an entity of the file",
                "arxos:properties takes a literal holding a JSON object"
            ],
            "{:?}",
            model.skipped
        );
    }

    /// arxos:name: one valid name per subject, else the IRI names it, whatever the order, and
    /// a name that is no path segment is said (found by a review).
    #[test]
    fn arxos_name_is_one_valid_value() {
        let long = "n".repeat(300);
        let ttl = format!(
            "@prefix arxos: <https://arxos.dev/schema#> .\n@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\n\
             ex:one a brick:AHU ; arxos:name \"Main AHU\" .\n\
             ex:two a brick:AHU ; arxos:name \"b\", \"a\" .\n\
             ex:same a brick:AHU ; arxos:name \"s\", \"s\" .\n\
             ex:long a brick:AHU ; arxos:name \"{long}\" .\n"
        );
        let model = parse(ttl.as_bytes()).unwrap();
        assert_eq!(find(&model, "one").name.as_deref(), Some("Main AHU"));
        assert_eq!(find(&model, "two").name, None);
        assert_eq!(find(&model, "same").name.as_deref(), Some("s"));
        assert_eq!(find(&model, "long").name, None);
        let skipped: Vec<&str> = model.skipped.iter().map(|s| s.what.as_str()).collect();
        assert!(skipped.contains(&"arxos:name of urn:ex#two"), "{skipped:?}");
        assert!(
            skipped.contains(&"arxos:name of urn:ex#long"),
            "{skipped:?}"
        );
        assert!(
            !skipped.contains(&"arxos:name of urn:ex#same"),
            "{skipped:?}"
        );
    }

    /// A statement's arxos:properties is read as an entity's: each key once, one document
    /// (found by a review).
    #[test]
    fn statement_properties_are_one_document_with_each_key_once() {
        let statement = |documents: &[&str]| {
            let mut triples = vec![
                (
                    RDF_TYPE.to_owned(),
                    Term::NamedNode(oxrdf::NamedNode::new_unchecked(format!("{RDF}Statement"))),
                ),
                (
                    format!("{RDF}subject"),
                    Term::NamedNode(oxrdf::NamedNode::new_unchecked("urn:ex#a")),
                ),
                (
                    format!("{RDF}predicate"),
                    Term::NamedNode(oxrdf::NamedNode::new_unchecked("urn:ex#feeds")),
                ),
                (
                    format!("{RDF}object"),
                    Term::NamedNode(oxrdf::NamedNode::new_unchecked("urn:ex#b")),
                ),
            ];
            for d in documents {
                triples.push((
                    format!("{ARXOS}properties"),
                    Term::Literal(Literal::new_simple_literal(*d)),
                ));
            }
            statement_properties(&triples).expect("a statement")
        };
        let (_, _, _, m) = statement(&[r#"{"rating": 5}"#]).unwrap();
        assert_eq!(m.get("rating"), Some(&serde_json::json!(5)));
        let twice = statement(&[r#"{"x": 1, "x": 2}"#]).unwrap_err();
        assert!(twice.contains("the key \"x\" twice"), "{twice}");
        let two = statement(&[r#"{"a": 1}"#, r#"{"b": 2}"#]).unwrap_err();
        assert!(two.contains("more than once"), "{two}");
        let list = statement(&["[1]"]).unwrap_err();
        assert!(
            list.starts_with("a statement whose arxos:properties is not a JSON object"),
            "{list}"
        );
    }

    /// arxos:properties is read as strictly as a request's body (found by an audit).
    #[test]
    fn arxos_properties_are_one_document_with_each_key_once() {
        let deep = format!("{}1{}", "{\\\"a\\\":".repeat(200), "}".repeat(200));
        let ttl = format!(
            "@prefix arxos: <https://arxos.dev/schema#> .\n@prefix ex: <urn:ex#> .\n\
             ex:dup arxos:properties \"{{\\\"x\\\": 1, \\\"x\\\": 2}}\" .\n\
             ex:two arxos:properties \"{{\\\"a\\\": 1}}\", \"{{\\\"b\\\": 2}}\" .\n\
             ex:deep arxos:properties \"{deep}\" .\n\
             ex:list arxos:properties \"[1]\" .\n"
        );
        let model = parse(ttl.as_bytes()).unwrap();
        let reason = |what: &str| {
            model
                .skipped
                .iter()
                .find(|s| s.what == format!("arxos:properties of urn:ex#{what}"))
                .map(|s| s.reason.clone())
                .unwrap_or_else(|| panic!("{what}: {:?}", model.skipped))
        };
        assert!(reason("dup").contains("the key \"x\" twice"));
        assert!(reason("two").contains("this second one was left out"));
        assert!(reason("deep").contains("nests deeper"));
        assert!(reason("list").contains("not a JSON object but an array"));
        assert!(model.skipped.iter().all(|s| s.what.len() < 60));
        assert_eq!(find(&model, "two").properties.len(), 1);
    }

    /// Two statements about one connection: taken when they agree, else neither (found by a
    /// review: the last in the hash order of their blank nodes won).
    #[test]
    fn statements_about_one_connection_that_disagree_are_none_taken() {
        let statement = |node: &str, from: &str, document: &str| {
            format!(
                "_:{node} a rdf:Statement ; rdf:subject ex:{from} ; rdf:predicate brick:feeds ; \
                 rdf:object ex:b ; arxos:properties \"{document}\" .\n"
            )
        };
        let ttl = [
            "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n\
             @prefix brick: <https://brickschema.org/schema/Brick#> .\n\
             @prefix arxos: <https://arxos.dev/schema#> .\n@prefix ex: <urn:ex#> .\n\
             ex:a a brick:AHU ; brick:feeds ex:b .\nex:c a brick:AHU ; brick:feeds ex:b .\n\
             ex:b a brick:VAV .\n"
                .to_owned(),
            statement("s1", "a", r#"{\"rating\": 1}"#),
            statement("s2", "a", r#"{\"rating\": 2}"#),
            statement("s3", "c", r#"{\"rating\": 3}"#),
            statement("s4", "c", r#"{\"rating\": 3}"#),
        ]
        .concat();
        let model = parse(ttl.as_bytes()).unwrap();
        let rating = |from: &str| {
            let r = model
                .relations
                .iter()
                .find(|r| r.from == format!("urn:ex#{from}"))
                .expect("the connection");
            r.properties.get("rating").cloned()
        };
        assert_eq!(rating("a"), None, "{:?}", model.skipped);
        assert_eq!(rating("c"), Some(serde_json::json!(3)), "they agree");
        let skipped: Vec<&str> = model.skipped.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(
            skipped[0].starts_with("_:s1 (about <urn:ex#a>"),
            "{skipped:?}"
        );
        assert!(
            skipped[1].starts_with("_:s2 (about <urn:ex#a>"),
            "{skipped:?}"
        );
        assert!(model.skipped[0].reason.contains("one of 2 statements"));
    }

    /// The key serde_json reserves is named as arxos:properties' own (the message spoke of a
    /// request's body).
    #[test]
    fn a_reserved_key_in_arxos_properties_is_named_so() {
        let why = properties_document(r#"{"$serde_json::private::RawValue": "{}"}"#).unwrap_err();
        assert!(why.starts_with("arxos:properties uses the key"), "{why}");
        assert!(!why.contains("body"), "{why}");
    }

    #[test]
    fn rdf_collections_are_arrays_in_their_order() {
        let ttl = "@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\n@prefix tag: <urn:tag#> .\nex:a a brick:AHU ; ex:tags ( tag:J tag:B tag:C tag:D tag:E tag:F tag:G tag:H tag:I tag:A ) ; ex:empty () .\n";
        let model = parse(ttl.as_bytes()).unwrap();
        assert!(model.skipped.is_empty(), "{:?}", model.skipped);
        let tags = &model.entities[0].properties["tags"];
        let want: Vec<String> = "JBCDEFGHIA".chars().map(|c| format!("tag:{c}")).collect();
        assert_eq!(tags, &json!(want), "{tags}");
        assert_eq!(model.entities[0].properties["empty"], json!([]));
    }

    #[test]
    fn a_parent_missing_from_the_file_is_reported() {
        let ttl = "@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\nex:orphan a brick:Damper ; brick:isPartOf ex:NotDeclared .\n";
        let model = parse(ttl.as_bytes()).unwrap();
        assert_eq!(model.skipped.len(), 1, "{:?}", model.skipped);
        assert!(
            model.skipped[0]
                .reason
                .contains("ex:NotDeclared is not described"),
            "{:?}",
            model.skipped
        );
        let orphan = &model.entities[0];
        assert_eq!(orphan.parent, None);
        assert!(
            !orphan.properties.contains_key("isPartOf"),
            "{:?}",
            orphan.properties
        );
    }

    #[test]
    fn multiple_values_do_not_depend_on_the_order_of_the_triples() {
        let head = "@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n";
        let one = format!("{head}<urn:a> a brick:AHU ; rdfs:label \"B\" , \"A\" .\n");
        let two = format!("{head}<urn:a> a brick:AHU ; rdfs:label \"A\" , \"B\" , \"A\" .\n");
        let (one, two) = (
            parse(one.as_bytes()).unwrap(),
            parse(two.as_bytes()).unwrap(),
        );
        assert_eq!(one.entities, two.entities);
    }

    const SMALL: &str = r#"
@prefix brick: <https://brickschema.org/schema/Brick#> .
@prefix ex: <urn:ex#> .
@prefix unit: <http://qudt.org/vocab/unit/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:site a brick:Site ; brick:hasPart ex:bldg .
ex:bldg a brick:Building .
ex:floor1 a brick:Floor ; brick:isPartOf ex:bldg .
ex:room-101 a brick:Room ; brick:isPartOf ex:floor1 ; brick:area [ brick:value "20.5"^^xsd:decimal ; brick:hasUnit unit:M2 ] .
ex:AHU1 a brick:AHU ; brick:hasLocation ex:floor1 ; brick:feeds ex:VAV1 ; rdfs:label "AHU one" .
ex:VAV1 a brick:VAV ; brick:hasLocation ex:room-101 ; brick:hasPoint ex:temp .
ex:temp a brick:Zone_Air_Temperature_Sensor ; brick:hasUnit unit:DEG_C .
ex:sp a brick:Zone_Air_Temperature_Setpoint ; brick:isPointOf ex:VAV1 .
ex:box a ex:MysteryBox ; ex:poweredBy ex:AHU1 ; ex:weight 12 .
ex:VAV1 brick:isFedBy ex:box .
"#;

    fn find<'a>(m: &'a Model, local: &str) -> &'a Entity {
        m.entities
            .iter()
            .find(|e| e.id == format!("urn:ex#{local}"))
            .unwrap()
    }

    #[test]
    fn a_class_name_that_is_no_label_falls_back_to_resource() {
        assert_eq!(type_name("https://brickschema.org/schema/Brick#AHU"), "AHU");
        for class in [
            "urn:x#%20AHU",
            "urn:x#AHU%20",
            "urn:x#A%E2%80%8BHU",
            "urn:x#%20%20",
        ] {
            assert_eq!(type_name(class), "Resource", "{class}");
        }
        // a long name is cut first, then judged: an invisible character kept falls back
        let long = format!("urn:x#a%E2%80%8B{}", "b".repeat(120));
        assert_eq!(type_name(&long), "Resource");
        let cut = type_name(&format!("urn:x#{}", "a".repeat(150)));
        assert_eq!(cut.chars().count(), 100);
        assert!(
            cut.starts_with(&"a".repeat(91)) && cut[91..].starts_with('~'),
            "{cut}"
        );
        // classes that differ only past the cut stay two types
        let (x, y) = (
            format!("urn:x#{}X{}", "C".repeat(120), "x".repeat(40)),
            format!("urn:x#{}Y{}", "C".repeat(120), "y".repeat(40)),
        );
        assert_ne!(type_name(&x), type_name(&y));
    }

    #[test]
    fn tree_relations_in_both_directions() {
        let m = parse(SMALL.as_bytes()).unwrap();
        assert_eq!(find(&m, "bldg").parent.as_deref(), Some("urn:ex#site"));
        assert_eq!(find(&m, "floor1").parent.as_deref(), Some("urn:ex#bldg"));
        assert_eq!(find(&m, "temp").parent.as_deref(), Some("urn:ex#VAV1"));
        assert_eq!(find(&m, "sp").parent.as_deref(), Some("urn:ex#VAV1"));
        assert_eq!(find(&m, "VAV1").parent.as_deref(), Some("urn:ex#room-101"));
        assert_eq!(find(&m, "temp").properties["parent_relation"], "isPointOf");
    }

    #[test]
    fn classes_literals_and_blank_nodes() {
        let m = parse(SMALL.as_bytes()).unwrap();
        let ahu = find(&m, "AHU1");
        assert_eq!(ahu.kind, "AHU");
        assert_eq!(ahu.properties["label"], "AHU one");
        assert_eq!(ahu.properties["source_id"], "urn:ex#AHU1");
        let room = find(&m, "room-101");
        assert_eq!(
            room.properties["area"],
            json!({"value": 20.5, "hasUnit": "unit:M2"})
        );
        assert_eq!(find(&m, "temp").properties["hasUnit"], "unit:DEG_C");
        let boxy = find(&m, "box");
        assert_eq!(boxy.kind, "MysteryBox");
        assert_eq!(boxy.properties["weight"], 12);
    }

    /// The values (leaves and containers) a JSON object holds, all levels down.
    fn values_in(properties: &Map<String, Value>) -> usize {
        fn count(value: &Value) -> usize {
            1 + match value {
                Value::Array(items) => items.iter().map(count).sum(),
                Value::Object(fields) => fields.values().map(count).sum(),
                _ => 0,
            }
        }
        properties.values().map(count).sum()
    }

    /// A shared blank node holding a large literal, referred to many times, is copied until
    /// the document's byte budget is spent, then cut and reported (found by a review: a
    /// 414 KB upload took the server to a gigabyte).
    #[test]
    fn a_large_literal_shared_many_times_is_cut_at_the_byte_budget() {
        let refs: Vec<String> = (0..200).map(|k| format!("ex:p{k} _:b")).collect();
        let doc = format!(
            "@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\n\
             _:b ex:v \"{}\" .\nex:a a brick:Room ; {} .\n",
            "x".repeat(400_000),
            refs.join(" ; ")
        );
        let m = parse(doc.as_bytes()).unwrap();
        let bytes = Value::Object(find(&m, "a").properties.clone())
            .to_string()
            .len();
        assert!(bytes <= BLANK_BYTES_MAX + 1_000_000, "{bytes}");
        assert!(
            m.skipped
                .iter()
                .any(|s| s.what.starts_with("_:b") && s.reason.contains("MiB copied")),
            "{:?}",
            m.skipped
        );
    }

    /// A subject with thousands of classes: its type comes from the first 256, said so (found
    /// by a review: pairs of classes weighed one by one took 54 s for 10,000).
    #[test]
    fn a_subject_of_many_classes_is_typed_from_the_first_256() {
        let classes: Vec<String> = (0..3000).map(|i| format!("ex:C{i:05}")).collect();
        let doc = format!(
            "@prefix ex: <urn:ex#> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n\
             ex:a a {} .\nex:C00002 rdfs:subClassOf ex:C00001 .\nex:C02999 rdfs:subClassOf ex:C00000 .\n",
            classes.join(", ")
        );
        let m = parse(doc.as_bytes()).unwrap();
        let a = find(&m, "a");
        assert_eq!(
            a.properties["rdf_type"].as_array().map(Vec::len),
            Some(3000)
        );
        // C00000 and C00002 are left of the first 256 once C00001 gives way to its subclass;
        // of those, the first IRI. (C02999, past the first 256, is not weighed: weighed, it
        // would make its superclass C00000 give way, and the type would be C00002.)
        assert_eq!(a.kind, "C00000");
        assert!(
            m.skipped
                .iter()
                .any(|s| s.what == "classes of urn:ex#a" && s.reason.contains("3000 classes")),
            "{:?}",
            m.skipped
        );
    }

    #[test]
    fn shared_and_deep_blank_nodes_are_cut_and_reported() {
        // Each level refers to the next sixteen times: expanded in full, 16^8 values.
        let mut doc = String::from(
            "@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\n\
             ex:a a brick:Room ; ex:p _:n0 .\n",
        );
        for level in 0..8 {
            let refs: Vec<String> = (0..16)
                .map(|k| format!("ex:p{k} _:n{}", level + 1))
                .collect();
            doc.push_str(&format!("_:n{level} {} .\n", refs.join(" ; ")));
        }
        doc.push_str("_:n8 ex:leaf 1 .\n");
        // (the expansion stops at the budget: the entity holds about that many values and
        // objects at most, not 16^8; no timed assertion, a loaded machine is slow at anything)
        let m = parse(doc.as_bytes()).unwrap();
        assert!(values_in(&find(&m, "a").properties) <= 2 * BLANK_VALUES_MAX);
        assert!(
            m.skipped
                .iter()
                .any(|s| s.what.starts_with("_:n0") && s.reason.contains("cut")),
            "{:?}",
            m.skipped
        );
        // A chain deeper than the limit: the value is kept down to the limit, and said to be cut.
        let mut chain = String::from(
            "@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\n\
             ex:b a brick:Room ; ex:p _:c0 .\n",
        );
        for level in 0..10 {
            chain.push_str(&format!("_:c{level} ex:next _:c{} .\n", level + 1));
        }
        chain.push_str("_:c10 ex:leaf 1 .\n");
        let m = parse(chain.as_bytes()).unwrap();
        let room = m.entities.iter().find(|e| e.id == "urn:ex#b").unwrap();
        let mut value = &room.properties["p"];
        for _ in 0..BLANK_DEPTH_MAX {
            value = &value["next"];
        }
        assert_eq!(value, &json!({}));
        assert!(
            m.skipped
                .iter()
                .any(|s| s.what.starts_with("_:c0") && s.reason.contains("cut")),
            "{:?}",
            m.skipped
        );
        // the nodes below the cut one (c8): c9 and c10, one triple each, nobody's value now
        let below: Vec<&str> = m
            .skipped
            .iter()
            .filter(|s| s.reason.contains("no entity refers to"))
            .map(|s| s.what.as_str())
            .collect();
        assert_eq!(
            below,
            ["_:c10 (1 triple)", "_:c9 (1 triple)"],
            "{:?}",
            m.skipped
        );
        // Wide nodes count by the values they hold: 300 references to a node that refers 300
        // times to one of 20,000 values would copy 1.8 billion.
        let values: Vec<String> = (0..20_000).map(|v| v.to_string()).collect();
        let mut wide = format!(
            "@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <urn:ex#> .\n\
             _:big ex:v {} .\n",
            values.join(", ")
        );
        let refs = |to: &str| -> String {
            (0..300)
                .map(|k| format!("ex:p{k} {to}"))
                .collect::<Vec<_>>()
                .join(" ; ")
        };
        wide.push_str(&format!("_:mid {} .\n", refs("_:big")));
        wide.push_str(&format!("ex:w a brick:Room ; {} .\n", refs("_:mid")));
        let m = parse(wide.as_bytes()).unwrap();
        assert!(values_in(&find(&m, "w").properties) <= 2 * BLANK_VALUES_MAX);
        assert!(
            m.skipped.iter().any(|s| s.reason.contains("cut")),
            "{:?}",
            m.skipped.iter().take(3).collect::<Vec<_>>()
        );
        // Within the limits nothing is reported.
        let m = parse(SMALL.as_bytes()).unwrap();
        assert!(
            !m.skipped.iter().any(|s| s.reason.contains("cut")),
            "{:?}",
            m.skipped
        );
    }

    #[test]
    fn relations_become_forward_connections() {
        let m = parse(SMALL.as_bytes()).unwrap();
        let has = |from: &str, kind: &str, to: &str| {
            m.relations.iter().any(|r| {
                r.from == format!("urn:ex#{from}")
                    && r.to == format!("urn:ex#{to}")
                    && r.kind == kind
            })
        };
        assert!(has("AHU1", "feeds", "VAV1"));
        assert!(has("box", "feeds", "VAV1"), "isFedBy turned around");
        assert!(has("box", "powered_by", "AHU1"), "unknown relations kept");
        let turned = m
            .relations
            .iter()
            .find(|r| r.from == "urn:ex#box" && r.kind == "feeds")
            .unwrap();
        assert_eq!(
            turned.properties["predicate"],
            "https://brickschema.org/schema/Brick#feeds"
        );
        // only the local name turns, not the namespace that holds it too
        let ttl = "<urn:x#b> <http://isFedBy.example.org/isFedBy#isFedBy> <urn:x#a> .\n\
                   <urn:x#a> a <https://brickschema.org/schema/Brick#AHU> .\n\
                   <urn:x#b> a <https://brickschema.org/schema/Brick#VAV> .\n";
        let m = parse(ttl.as_bytes()).unwrap();
        assert_eq!(
            m.relations[0].properties["predicate"],
            "http://isFedBy.example.org/isFedBy#feeds"
        );
    }

    /// arxos:parent picks the parent among the hierarchy relations; one that none leads to,
    /// or that is no entity, is said and the relations choose.
    #[test]
    fn arxos_parent_picks_among_the_hierarchy_relations() {
        let ttl = |parent: &str| {
            format!(
                "@prefix brick: <https://brickschema.org/schema/Brick#> .\n\
                 @prefix arxos: <https://arxos.dev/schema#> .\n@prefix ex: <urn:ex#> .\n\
                 ex:a a brick:Floor . ex:b a brick:Floor . ex:c a brick:Floor .\n\
                 ex:x a brick:Room ; brick:isPartOf ex:a, ex:b ; arxos:parent {parent} .\n"
            )
        };
        let parent_of_x = |m: &Model| {
            m.entities
                .iter()
                .find(|e| e.id == "urn:ex#x")
                .unwrap()
                .parent
                .clone()
        };
        let m = parse(ttl("ex:b").as_bytes()).unwrap();
        assert_eq!(parent_of_x(&m).as_deref(), Some("urn:ex#b"));
        assert!(m.skipped.is_empty(), "{:?}", m.skipped);
        assert_eq!(m.relations.len(), 1);
        assert_eq!(m.relations[0].to, "urn:ex#a");
        for (other, reason) in [
            (
                "ex:c",
                "no hierarchy relation of urn:ex#x leads to urn:ex#c",
            ),
            ("ex:nowhere", "is not an entity of the file"),
        ] {
            let m = parse(ttl(other).as_bytes()).unwrap();
            assert_eq!(parent_of_x(&m).as_deref(), Some("urn:ex#a"), "{other}");
            assert!(
                m.skipped.iter().any(|s| s.reason.contains(reason)),
                "{other}: {:?}",
                m.skipped
            );
        }
    }

    #[test]
    fn predicates_sharing_a_local_name_are_not_lost_silently() {
        let ttl = r#"@prefix brick: <https://brickschema.org/schema/Brick#> .
            @prefix ext: <http://example.com/ext#> .
            @prefix ex: <urn:ex#> .
            ex:a a brick:AHU ; brick:feeds ex:b ; ext:feeds ex:b ; ext:feedsÜber ex:b .
            ex:b a brick:VAV ."#;
        let plan = parse(ttl.as_bytes()).unwrap().plan();
        let kinds: Vec<&str> = plan.connections.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert!(kinds.contains(&"feeds"), "{kinds:?}");
        assert!(
            kinds.iter().any(|k| k.starts_with("feeds_ber_")),
            "{kinds:?}"
        );
        assert_eq!(plan.skipped.len(), 1, "{:?}", plan.skipped);
        assert!(plan.skipped[0].reason.contains("the same feeds connection"));
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(
            parse(b"@prefix x: <urn:x#> . x:a x:b"),
            Err(ImportError::Syntax(_))
        ));
    }

    /// Brick 1.4 models put locations in RealEstateCore's terms (found by a review: the
    /// official building_meter example came in flat, its rec:isPartOf as connections).
    #[test]
    fn realestatecore_relations_make_the_tree() {
        let ttl = "@prefix brick: <https://brickschema.org/schema/Brick#> .
@prefix rec: <https://w3id.org/rec#> .
@prefix ex: <urn:ex#> .
ex:site a rec:Site .
ex:bldg a rec:Building ; rec:isPartOf ex:site .
ex:floor1 a rec:Level ; rec:isPartOf ex:bldg .
ex:room a rec:Room ; rec:isPartOf ex:floor1 .
ex:meter a brick:Electrical_Meter ; rec:locatedIn ex:room ; rec:hasPoint ex:kw .
ex:kw a brick:Electric_Power_Sensor .
ex:site rec:hasPart ex:annex .
ex:annex a rec:Building .
";
        let model = parse(ttl.as_bytes()).expect("parse");
        let parent = |id: &str| model.entity(&format!("urn:ex#{id}")).parent.clone();
        assert_eq!(parent("bldg").as_deref(), Some("urn:ex#site"));
        assert_eq!(parent("floor1").as_deref(), Some("urn:ex#bldg"));
        assert_eq!(parent("room").as_deref(), Some("urn:ex#floor1"));
        assert_eq!(parent("meter").as_deref(), Some("urn:ex#room"));
        assert_eq!(parent("kw").as_deref(), Some("urn:ex#meter"));
        assert_eq!(parent("annex").as_deref(), Some("urn:ex#site"));
        assert!(model.relations.is_empty(), "{:?}", model.relations);
        assert_eq!(model.entity("urn:ex#floor1").kind, "Level");
    }

    #[test]
    fn zones_are_parents_after_the_building_structure() {
        let ttl = "@prefix brick: <https://brickschema.org/schema/Brick#> .
@prefix ex: <urn:ex#> .
ex:floor-1 a brick:Floor .
ex:a-zone a brick:HVAC_Zone ; brick:hasPart ex:room .
ex:room a brick:Room ; brick:isPartOf ex:floor-1 .
";
        let model = parse(ttl.as_bytes()).expect("parse");
        let room = model.entity("urn:ex#room");
        assert_eq!(room.parent.as_deref(), Some("urn:ex#floor-1"));
        assert_eq!(model.relations.len(), 1, "the zone's part, as a connection");
        assert_eq!(model.relations[0].to, "urn:ex#a-zone");
    }

    /// A model saved with its ontology (or the ontology itself): classes, properties, shapes
    /// and Brick's vocabulary instances are not entities (found by a review: Brick.ttl made
    /// 768 objects, PropertyShapes and Tags among them).
    #[test]
    fn schema_declarations_are_not_entities() {
        let ttl = "@prefix brick: <https://brickschema.org/schema/Brick#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix tag: <https://brickschema.org/schema/BrickTag#> .
@prefix ex: <urn:ex#> .
brick:Apartment rdfs:subClassOf brick:Space .
brick:shape1 a sh:PropertyShape ; sh:path brick:area .
brick:note a owl:AnnotationProperty .
tag:Air a brick:Tag .
brick:Air a brick:Substance .
ex:flat a brick:Apartment .
";
        let model = parse(ttl.as_bytes()).expect("parse");
        let ids: Vec<&str> = model.entities.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["urn:ex#flat"]);
    }

    #[test]
    fn local_names() {
        assert_eq!(
            local_name("https://brickschema.org/schema/Brick#AHU"),
            "AHU"
        );
        assert_eq!(local_name("http://example.com/b/ahu-1"), "ahu-1");
        assert_eq!(local_name("urn:x:y"), "y");
        assert_eq!(percent_decode("a%20b"), "a b");
    }
}
