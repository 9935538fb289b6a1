//! What a parsed source file says, independent of its format, and the plan of writes it turns
//! into: paths, types, properties and connections.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

use super::sanitize;

/// One thing of the source (a Brick entity, a Haystack record).
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// The source's id (an IRI, a Haystack id without `@`): unique in the file.
    pub id: String,
    /// The part of the id the path segment is made from (a Brick IRI's local name, a Haystack
    /// id), sanitised by [`sanitize::segment`].
    pub key: String,
    /// A segment name the source asks for (Brick `arxos:name`), used when it is valid.
    pub name: Option<String>,
    /// The id of the entity it sits under, if any.
    pub parent: Option<String>,
    pub kind: String,
    pub properties: Map<String, Value>,
}

/// A typed edge between two entities, by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub properties: Map<String, Value>,
}

/// Something of the source that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    pub what: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Model {
    pub entities: Vec<Entity>,
    pub relations: Vec<Relation>,
    pub skipped: Vec<Skipped>,
}

impl Model {
    /// Sets a provenance property the import derives (`source_format`, `source_id`,
    /// `rdf_type`, `parent_relation`) on the properties of the entity `id`. A tag of the
    /// file's own by that name gives way to it, and is listed in `skipped` rather than
    /// replaced without a word (found by a review).
    pub fn provenance(
        &mut self,
        properties: &mut Map<String, Value>,
        id: &str,
        key: &str,
        value: Value,
    ) {
        if let Some(own) = properties.insert(key.to_owned(), value.clone()) {
            if own != value {
                self.skipped.push(Skipped {
                    what: format!("{key} of {id}"),
                    reason: format!(
                        "a name the import keeps for where each object came from; the file's value ({}) was replaced",
                        crate::table::shorten(&crate::table::printable(&own.to_string()), 80)
                    ),
                });
            }
        }
    }
}

/// One object to write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedObject {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub properties: Map<String, Value>,
}

/// One connection to write, by path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedConnection {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub properties: Map<String, Value>,
}

#[derive(Debug, Default)]
pub struct Plan {
    /// Sorted by path, so parents come before their children.
    pub objects: Vec<PlannedObject>,
    pub connections: Vec<PlannedConnection>,
    pub skipped: Vec<Skipped>,
}

/// Most levels a planned path may have (the path grammar's limit).
const MAX_DEPTH: usize = arxos_core::path::MAX_DEPTH;

impl Model {
    /// Gives every entity a path (its parent's path and its own segment) and resolves the
    /// relations to paths. Deterministic: the same model gives the same plan.
    pub fn plan(mut self) -> Plan {
        let mut skipped = std::mem::take(&mut self.skipped);
        self.entities.sort_by(|a, b| a.id.cmp(&b.id));
        // ids are unique by construction in the parsers
        let index: HashMap<&str, usize> = self
            .entities
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.as_str(), i))
            .collect();

        // Parents, with cycles and unknown parents cut (the entity then sits at the root).
        let mut parent: Vec<Option<usize>> = self
            .entities
            .iter()
            .map(|e| e.parent.as_deref().and_then(|p| index.get(p).copied()))
            .collect();
        for (i, e) in self.entities.iter().enumerate() {
            if let (Some(p), None) = (&e.parent, parent[i]) {
                skipped.push(Skipped {
                    what: format!("parent of {}", e.id),
                    reason: format!("{p} is not in the file; placed at the top level"),
                });
            }
        }
        // Each chain is walked once: a walk stops at an entity an earlier walk has been through
        // (its chain up from there is free of loops by then), so a long chain costs its length,
        // not its length squared.
        let mut walked: Vec<Option<usize>> = vec![None; self.entities.len()];
        for start in 0..self.entities.len() {
            if walked[start].is_some() {
                continue;
            }
            let mut at = start;
            walked[at] = Some(start);
            while let Some(p) = parent[at] {
                match walked[p] {
                    Some(walk) if walk == start => {
                        // The chain from `start` loops: cut the loop at `at`.
                        skipped.push(Skipped {
                            what: format!("parent of {}", self.entities[at].id),
                            reason: "the parent relations form a cycle; placed at the top level"
                                .into(),
                        });
                        parent[at] = None;
                        break;
                    }
                    Some(_) => break,
                    None => {
                        walked[p] = Some(start);
                        at = p;
                    }
                }
            }
        }

        // Segments, unique among siblings; children in id order.
        let mut children: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
        for (i, p) in parent.iter().enumerate() {
            children.entry(*p).or_default().push(i);
        }
        let mut segment: Vec<Option<String>> = vec![None; self.entities.len()];
        for siblings in children.values() {
            let mut used = HashSet::new();
            for &i in siblings {
                let e = &self.entities[i];
                let wanted = e
                    .name
                    .as_deref()
                    .filter(|n| arxos_core::path::check_segment(n).is_ok() && !n.is_empty())
                    .map(str::to_owned)
                    .unwrap_or_else(|| sanitize::segment(&e.key));
                let chosen = [wanted, sanitize::rewritten(&e.id, 16)]
                    .into_iter()
                    .find(|s| !used.contains(s));
                match chosen {
                    Some(s) => {
                        used.insert(s.clone());
                        segment[i] = Some(s);
                    }
                    None => skipped.push(Skipped {
                        what: e.id.clone(),
                        reason: "its name collides with a sibling's".into(),
                    }),
                }
            }
        }

        // Paths, top-down.
        let mut path: Vec<Option<String>> = vec![None; self.entities.len()];
        let mut lost = vec![None; self.entities.len()];
        for i in 0..self.entities.len() {
            resolve_path(
                i,
                &parent,
                &segment,
                (&mut path, &mut lost),
                &self.entities,
                &mut skipped,
            );
        }

        let mut objects = Vec::with_capacity(self.entities.len());
        let mut by_id: HashMap<&str, &str> = HashMap::new();
        for (i, e) in self.entities.iter().enumerate() {
            if let Some(p) = &path[i] {
                by_id.insert(e.id.as_str(), p.as_str());
                let mut properties = storable(&e.id, &e.properties, &mut skipped);
                // An entity whose parent was cut (unknown, or a cycle) sits at the top level:
                // it hangs under nothing by any relation.
                if e.parent.is_some() && parent[i].is_none() {
                    properties.remove("parent_relation");
                }
                objects.push(PlannedObject {
                    path: p.clone(),
                    kind: e.kind.clone(),
                    properties,
                });
            }
        }
        objects.sort_by(|a, b| a.path.cmp(&b.path));

        // Connections are unique per (from, to, kind): a second relation that maps onto the
        // same one is the same edge when it says the same (a repeated triple), else it is
        // reported, not dropped without a word (two predicates with one local name).
        let mut seen: HashMap<(String, String, String), &Map<String, Value>> = HashMap::new();
        let mut connections: Vec<PlannedConnection> = Vec::new();
        for r in &self.relations {
            match (by_id.get(r.from.as_str()), by_id.get(r.to.as_str())) {
                (Some(from), Some(to)) if from == to => skipped.push(Skipped {
                    what: format!("{} {} {}", r.from, r.kind, r.to),
                    reason: "a connection from an object to itself".into(),
                }),
                (Some(from), Some(to)) => {
                    let key = (from.to_string(), to.to_string(), r.kind.clone());
                    match seen.get(&key) {
                        None => {
                            seen.insert(key, &r.properties);
                            let what = format!("{} {} {}", r.from, r.kind, r.to);
                            connections.push(PlannedConnection {
                                from: (*from).to_owned(),
                                to: (*to).to_owned(),
                                kind: r.kind.clone(),
                                properties: storable(&what, &r.properties, &mut skipped),
                            });
                        }
                        Some(&kept) if *kept == r.properties => {}
                        Some(&kept) => skipped.push(Skipped {
                            what: format!("{} {} {}", r.from, r.kind, r.to),
                            reason: format!(
                                "the same {} connection as one imported before ({}): connections are unique per from, to and kind",
                                r.kind,
                                describe(kept)
                            ),
                        }),
                    }
                }
                (from, _) => skipped.push(Skipped {
                    what: format!("{} {} {}", r.from, r.kind, r.to),
                    reason: format!(
                        "{} is not an imported entity",
                        if from.is_none() { &r.from } else { &r.to }
                    ),
                }),
            }
        }
        connections.sort_by(|a, b| (&a.from, &a.to, &a.kind).cmp(&(&b.from, &b.to, &b.kind)));
        Plan {
            objects,
            connections,
            skipped,
        }
    }
}

/// The properties the database can store, the others listed in `skipped`: a value nested
/// deeper than stored documents may be (`arxos_core::json_depth::MAX_DEPTH`, the properties
/// object being the first level), holding a number out of their range
/// (`arxos_core::json_number`), or holding a NUL character, which PostgreSQL text cannot.
/// One such value would otherwise fail the whole file's transaction without naming its record.
/// So would properties over the size of a stored document (1 MiB, `arxos.check_json`): the
/// largest are left out, and listed, until the rest fit.
fn storable(
    what: &str,
    properties: &Map<String, Value>,
    skipped: &mut Vec<Skipped>,
) -> Map<String, Value> {
    let mut kept = Map::new();
    // What each kept property takes in the stored document, at most ([`stored_bound`]).
    let mut sizes: Vec<(String, usize)> = Vec::new();
    for (key, value) in properties {
        let text = value.to_string();
        let reason = if key.contains('\0') || holds_nul(value) {
            Some("it holds a NUL character (\\u0000), which PostgreSQL cannot store".to_owned())
        } else if !numbers_storable(value) {
            Some(
                "it holds a number too large or too small to store, or too precise (numbers \
                 are 0 or between 1e-100 and 1e100 in magnitude, with at most 16,383 digits \
                 after the point)"
                    .to_owned(),
            )
        } else {
            // The depth rule the database applies (arxos.check_json), on the document's text.
            let depth = 1 + arxos_core::json_depth::depth(&text);
            (depth > arxos_core::json_depth::MAX_DEPTH).then(|| {
                format!(
                    "it nests {depth} levels deep; stored documents nest at most {}",
                    arxos_core::json_depth::MAX_DEPTH
                )
            })
        };
        match reason {
            Some(reason) => skipped.push(Skipped {
                what: format!("property {key:?} of {what}"),
                reason,
            }),
            None => {
                // a key's entry and its text, the value's entry and its data
                sizes.push((key.clone(), 4 + key.len() + 4 + stored_bound(value)));
                kept.insert(key.clone(), value.clone());
            }
        }
    }
    // the document's own header and its container's
    let mut size = 8 + sizes.iter().map(|(_, n)| n).sum::<usize>();
    if size > MAX_DOCUMENT_BYTES {
        sizes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (key, n) in sizes {
            if size <= MAX_DOCUMENT_BYTES {
                break;
            }
            kept.remove(&key);
            size -= n;
            skipped.push(Skipped {
                what: format!("property {key:?} of {what}"),
                reason: format!(
                    "it takes up to {n} bytes stored, and the record's properties would be more \
                     than the {MAX_DOCUMENT_BYTES} bytes (1 MiB) a stored document may take: the \
                     largest are left out until the rest fit"
                ),
            });
        }
    }
    kept
}

/// The largest stored document (`arxos.check_json`), in bytes as jsonb stores it.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// At most the bytes `value` takes inside a stored jsonb document, its own entry (4 bytes)
/// aside, as PostgreSQL 15 lays it out: a string's bytes; a number 4-byte aligned, a varlena
/// numeric of up to 8 bytes of headers and 2 bytes per 4 decimal digits (and one more group
/// where they straddle the groups); an array or object aligned, its 4-byte header and an entry of
/// 4 bytes per element, key and value. (Measured by the JSON text instead, an array of small
/// numbers passed the cut at three times the limit, and failed the whole import: found by a
/// review.)
fn stored_bound(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 0,
        Value::String(s) => s.len(),
        Value::Number(n) => {
            let digits = n.to_string().bytes().filter(u8::is_ascii_digit).count();
            3 + 8 + 2 * (digits.div_ceil(4) + 1)
        }
        Value::Array(items) => 3 + 4 + items.iter().map(|i| 4 + stored_bound(i)).sum::<usize>(),
        Value::Object(map) => {
            3 + 4
                + map
                    .iter()
                    .map(|(k, v)| 4 + k.len() + 4 + stored_bound(v))
                    .sum::<usize>()
        }
    }
}

/// Whether every number in `value` is one stored documents may hold
/// (`arxos_core::json_number`).
fn numbers_storable(value: &Value) -> bool {
    match value {
        Value::Number(n) => arxos_core::json_number::storable(&n.to_string()),
        Value::Array(items) => items.iter().all(numbers_storable),
        Value::Object(map) => map.values().all(numbers_storable),
        _ => true,
    }
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// A connection's origin for a message: its predicate when the source gave one, else its
/// properties.
fn describe(properties: &Map<String, Value>) -> String {
    match properties.get("predicate") {
        Some(Value::String(p)) => p.clone(),
        _ => Value::Object(properties.clone()).to_string(),
    }
}

/// Gives entity `i` and its ancestors their paths, top-down. An entity that gets none (a
/// name collision, reported when segments were chosen, or a path too deep or too long) is
/// `lost` (with the entity that caused it), and so is everything below it: each is reported
/// once, under its own id, naming the cause.
fn resolve_path(
    i: usize,
    parent: &[Option<usize>],
    segment: &[Option<String>],
    (path, lost): (&mut [Option<String>], &mut [Option<usize>]),
    entities: &[Entity],
    skipped: &mut Vec<Skipped>,
) {
    if path[i].is_some() || lost[i].is_some() {
        return;
    }
    // The chain up to the root (or to an ancestor with a known path, or lost).
    let mut chain = vec![i];
    let mut at = i;
    while let Some(p) = parent[at] {
        if path[p].is_some() || lost[p].is_some() {
            break;
        }
        chain.push(p);
        at = p;
    }
    let mut lost_above = parent[at].and_then(|p| lost[p]);
    let mut base = parent[at].and_then(|p| path[p].clone());
    for &k in chain.iter().rev() {
        if let Some(a) = lost_above {
            lost[k] = Some(a);
            skipped.push(Skipped {
                what: entities[k].id.clone(),
                reason: format!("its ancestor {} was not imported", entities[a].id),
            });
            continue;
        }
        let Some(seg) = &segment[k] else {
            lost[k] = Some(k); // reported with the collision
            lost_above = Some(k);
            continue;
        };
        let depth = base.as_deref().map_or(0, arxos_core::path::depth) + 1;
        let candidate = format!("{}/{seg}", base.as_deref().unwrap_or(""));
        if depth > MAX_DEPTH || candidate.len() > arxos_core::path::MAX_BYTES {
            lost[k] = Some(k);
            lost_above = Some(k);
            skipped.push(Skipped {
                what: entities[k].id.clone(),
                reason: "its path would be deeper or longer than paths may be".into(),
            });
            continue;
        }
        path[k] = Some(candidate.clone());
        base = Some(candidate);
    }
}

#[cfg(test)]
impl Model {
    /// The entity with this id (the parsers' tests).
    pub fn entity(&self, id: &str) -> &Entity {
        self.entities
            .iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("no entity {id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(id: &str, parent: Option<&str>) -> Entity {
        Entity {
            id: id.into(),
            key: id.into(),
            name: None,
            parent: parent.map(Into::into),
            kind: "thing".into(),
            properties: Map::new(),
        }
    }

    #[test]
    fn paths_follow_parents() {
        let model = Model {
            entities: vec![
                entity("vav-1", Some("ahu-1")),
                entity("ahu-1", Some("site")),
                entity("site", None),
            ],
            relations: vec![Relation {
                from: "ahu-1".into(),
                to: "vav-1".into(),
                kind: "feeds".into(),
                properties: Map::new(),
            }],
            skipped: vec![],
        };
        let plan = model.plan();
        let paths: Vec<&str> = plan.objects.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, ["/site", "/site/ahu-1", "/site/ahu-1/vav-1"]);
        assert_eq!(plan.connections[0].from, "/site/ahu-1");
        assert_eq!(plan.connections[0].to, "/site/ahu-1/vav-1");
    }

    #[test]
    fn what_cannot_be_placed_is_reported_once_each_with_everything_below_it() {
        // A chain of 70: levels 65 to 70 would be deeper than 64.
        let ids: Vec<String> = (1..=70).map(|n| format!("e{n}")).collect();
        let entities: Vec<Entity> = ids
            .iter()
            .enumerate()
            .map(|(k, id)| entity(id, k.checked_sub(1).map(|p| ids[p].as_str())))
            .rev()
            .collect();
        let plan = Model {
            entities,
            relations: vec![],
            skipped: vec![],
        }
        .plan();
        assert_eq!(plan.objects.len(), 64);
        let what: Vec<&str> = plan.skipped.iter().map(|s| s.what.as_str()).collect();
        let mut sorted = what.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), what.len(), "each once: {what:?}");
        assert_eq!(sorted, ["e65", "e66", "e67", "e68", "e69", "e70"]);
        let reason = |id: &str| &plan.skipped.iter().find(|s| s.what == id).unwrap().reason;
        assert!(reason("e65").contains("deeper"), "{}", reason("e65"));
        assert_eq!(reason("e70"), "its ancestor e65 was not imported");
    }

    #[test]
    fn a_name_with_a_slash_is_not_taken_as_a_segment() {
        let named = |id: &str, name: &str| Entity {
            name: Some(name.into()),
            ..entity(id, None)
        };
        let model = Model {
            entities: vec![named("a", "x"), named("b", "/x"), named("c", "/")],
            relations: vec![],
            skipped: vec![],
        };
        let plan = model.plan();
        let paths: Vec<&str> = plan.objects.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths.len(), 3, "{paths:?}");
        assert!(paths.contains(&"/x"), "{paths:?}");
        for path in &paths {
            assert_eq!(
                arxos_core::path::normalize(path).as_deref(),
                Ok(*path),
                "{paths:?}"
            );
        }
    }

    #[test]
    fn relations_onto_one_connection_are_merged_when_equal_and_reported_when_not() {
        let relation = |predicate: &str| Relation {
            from: "a".into(),
            to: "b".into(),
            kind: "feeds".into(),
            properties: Map::from_iter([("predicate".to_owned(), Value::from(predicate))]),
        };
        let model = Model {
            entities: vec![entity("a", None), entity("b", None)],
            relations: vec![
                relation("https://brickschema.org/schema/Brick#feeds"),
                relation("https://brickschema.org/schema/Brick#feeds"),
                relation("http://example.com/ext#feeds"),
            ],
            skipped: vec![],
        };
        let plan = model.plan();
        assert_eq!(plan.connections.len(), 1);
        assert_eq!(plan.skipped.len(), 1, "{:?}", plan.skipped);
        assert_eq!(plan.skipped[0].what, "a feeds b");
        assert!(
            plan.skipped[0]
                .reason
                .contains("one imported before (https://brickschema.org/schema/Brick#feeds)"),
            "{:?}",
            plan.skipped
        );
    }

    /// The plan of a model of these entities alone.
    fn plan_of(entities: Vec<Entity>) -> Plan {
        Model {
            entities,
            relations: vec![],
            skipped: vec![],
        }
        .plan()
    }

    /// The property keys the plan keeps for its object `i`.
    fn kept_keys(plan: &Plan, i: usize) -> Vec<&str> {
        plan.objects[i]
            .properties
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn properties_the_database_cannot_store_are_dropped_and_reported() {
        let mut deep = Value::from(1);
        for _ in 0..31 {
            deep = Value::Array(vec![deep]);
        }
        let mut a = entity("a", None);
        a.properties.insert("ok".into(), Value::from("x"));
        a.properties.insert("deep_enough".into(), deep.clone());
        a.properties
            .insert("too_deep".into(), Value::Array(vec![deep]));
        a.properties.insert("nul".into(), Value::from("a\0b"));
        a.properties.insert(
            "vast".into(),
            serde_json::json!({"n": serde_json::from_str::<Value>("1e131071").unwrap()}),
        );
        let plan = plan_of(vec![a]);
        let kept = kept_keys(&plan, 0);
        assert_eq!(kept, ["deep_enough", "ok"]);
        let what: Vec<&str> = plan.skipped.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(
            what,
            [
                r#"property "nul" of a"#,
                r#"property "too_deep" of a"#,
                r#"property "vast" of a"#
            ]
        );
        assert!(
            plan.skipped[2].reason.contains("too large or too small"),
            "{:?}",
            plan.skipped
        );
        assert!(
            plan.skipped[1].reason.contains("nests 33 levels"),
            "{:?}",
            plan.skipped
        );
        let props = Value::Object(plan.objects[0].properties.clone()).to_string();
        assert_eq!(
            arxos_core::json_depth::depth(&props),
            32,
            "what is kept is storable"
        );
    }

    #[test]
    fn properties_over_a_stored_document_lose_their_largest_until_they_fit() {
        let mut a = entity("a", None);
        a.properties.insert("small".into(), Value::from("x"));
        a.properties
            .insert("half".into(), Value::from("h".repeat(600_000)));
        a.properties
            .insert("larger".into(), Value::from("l".repeat(700_000)));
        let mut b = entity("b", None);
        b.properties
            .insert("fits".into(), Value::from("f".repeat(1_000_000)));
        let plan = plan_of(vec![a, b]);
        assert_eq!(kept_keys(&plan, 0), ["half", "small"]);
        assert_eq!(kept_keys(&plan, 1), ["fits"]);
        assert_eq!(plan.skipped.len(), 1, "{:?}", plan.skipped);
        assert_eq!(plan.skipped[0].what, r#"property "larger" of a"#);
        assert!(
            plan.skipped[0]
                .reason
                .contains("it takes up to 700014 bytes stored"),
            "{:?}",
            plan.skipped
        );
        for object in &plan.objects {
            let bound = 4 + stored_bound(&Value::Object(object.properties.clone()));
            assert!(bound <= MAX_DOCUMENT_BYTES + 3, "{bound}");
        }
    }

    /// Small numbers take several times their text when stored: 300,000 of them are 600 KB
    /// of JSON and 3.6 MB of jsonb, which the database refuses.
    #[test]
    fn numbers_are_sized_as_stored_not_as_text() {
        let mut a = entity("a", None);
        a.properties.insert(
            "samples".into(),
            Value::Array(vec![Value::from(1); 300_000]),
        );
        a.properties
            .insert("few".into(), Value::Array(vec![Value::from(1); 1_000]));
        let plan = plan_of(vec![a]);
        let kept = kept_keys(&plan, 0);
        assert_eq!(kept, ["few"]);
        assert_eq!(plan.skipped[0].what, r#"property "samples" of a"#);
        // what the database stores for 1 and for 1,000 small numbers: 12 bytes each with its entry
        assert!(4 + stored_bound(&Value::from(1)) >= 12);
        assert!(stored_bound(&Value::Array(vec![Value::from(1); 1_000])) >= 12_004);
    }

    #[test]
    fn cycles_and_unknown_parents_are_cut_and_reported() {
        let model = Model {
            entities: vec![
                entity("a", Some("b")),
                entity("b", Some("a")),
                entity("c", Some("nowhere")),
            ],
            relations: vec![],
            skipped: vec![],
        };
        let mut model = model;
        for e in &mut model.entities {
            e.properties
                .insert("parent_relation".into(), serde_json::json!("isPartOf"));
        }
        let plan = model.plan();
        assert_eq!(plan.objects.len(), 3);
        assert!(plan.objects.iter().any(|o| o.path == "/c"));
        assert_eq!(plan.skipped.len(), 2, "{:?}", plan.skipped);
        // a cut parent leaves no relation behind: /c and the entity whose loop was cut sit at
        // the top level under nothing; the other keeps the relation to its parent
        let top: Vec<_> = plan
            .objects
            .iter()
            .filter(|o| o.path.matches('/').count() == 1)
            .collect();
        assert_eq!(top.len(), 2, "{:?}", plan.objects);
        for o in top {
            assert!(!o.properties.contains_key("parent_relation"), "{o:?}");
        }
        let nested = plan
            .objects
            .iter()
            .find(|o| o.path.matches('/').count() == 2)
            .unwrap();
        assert_eq!(nested.properties["parent_relation"], "isPartOf");
    }

    #[test]
    fn sibling_names_never_collide() {
        let mut a = entity("x", None);
        a.name = Some("same".into());
        let mut b = entity("y", None);
        b.name = Some("same".into());
        let plan = Model {
            entities: vec![a, b],
            relations: vec![],
            skipped: vec![],
        }
        .plan();
        let paths: HashSet<&str> = plan.objects.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths.len(), 2);
        assert!(paths.contains("/same"));
    }

    #[test]
    fn dangling_relations_are_reported() {
        let model = Model {
            entities: vec![entity("a", None)],
            relations: vec![Relation {
                from: "a".into(),
                to: "zz".into(),
                kind: "feeds".into(),
                properties: Map::new(),
            }],
            skipped: vec![],
        };
        let plan = model.plan();
        assert!(plan.connections.is_empty());
        assert_eq!(plan.skipped.len(), 1);
    }
}
