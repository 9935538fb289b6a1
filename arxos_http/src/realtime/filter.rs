//! Which events a subscriber gets: its filters and the buildings its key may see. The rules
//! are those of `arxos.event_matches` and of the events' row-level security policy, applied
//! here to live events (replayed pages are already limited by the database).

use serde::Deserialize;
use utoipa::IntoParams;

use super::event::Event;
use crate::error::ApiError;

/// The filters of `GET /api/events`, `/api/events/recent` and webhooks, as query parameters.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// Comma-separated dotted event types or prefixes (`bilt.*`).
    pub types: Option<String>,
    /// A building key or id.
    pub building: Option<String>,
    /// A path: the object itself and everything below it.
    pub under: Option<String>,
    pub object_type: Option<String>,
}

impl FilterParams {
    /// The type patterns, or `None` for every type.
    pub fn type_patterns(&self) -> Result<Option<Vec<String>>, ApiError> {
        let Some(types) = self.types.as_deref() else {
            return Ok(None);
        };
        // An empty list is a mistake (a client that built it from an empty selection), not
        // "every type": that is what leaving `types` out says.
        if types.trim().is_empty() {
            return Err(ApiError::validation(
                "types must name at least one type or prefix: leave it out for every type",
            ));
        }
        let patterns: Vec<String> = types.split(',').map(|t| t.trim().to_owned()).collect();
        // An empty item (`a,,b`, a trailing comma) is refused, as an empty name in a webhook's
        // types is (found by a review: it was dropped); blanks around an item are not part of
        // it.
        if patterns.iter().any(String::is_empty) {
            return Err(ApiError::validation(
                "types has an empty item (two commas in a row, or one at an end): name a type or prefix between every two commas",
            ));
        }
        // The limits of webhooks' filters (arxos.check_event_types, which judges them again,
        // with whether any event has such a type). Checked here too, on purpose: a malformed
        // pattern is refused (400) while the database is down, where the stream would
        // otherwise answer "retry later" for a request no retry can mend (e2e realtime_faults;
        // a session that dropped this copy as a duplicate failed CI).
        if patterns.len() > MAX_PATTERNS {
            return Err(ApiError::validation(format!(
                "types names {} patterns; at most {MAX_PATTERNS} are allowed",
                patterns.len()
            )));
        }
        if let Some(bad) = patterns
            .iter()
            .find(|p| p.len() > MAX_PATTERN_LEN || !valid_pattern(p))
        {
            return Err(ApiError::validation(format!(
                "invalid event type pattern {}: use dotted names such as object.created, or prefixes such as bilt.*, of at most {MAX_PATTERN_LEN} characters",
                arxos_core::message::shown(bad)
            )));
        }
        Ok(Some(patterns))
    }

    /// The normalized `under` path.
    pub fn under_path(&self) -> Result<Option<String>, ApiError> {
        self.under
            .as_deref()
            .map(|u| arxos_core::path::normalize(u).map_err(|e| ApiError::invalid_path(&e)))
            .transpose()
    }
}

/// Most type patterns in one filter, and the longest pattern (as for webhooks).
const MAX_PATTERNS: usize = 100;
const MAX_PATTERN_LEN: usize = 200;

/// `*`, or dotted lower-case names optionally ending in `.*`.
fn valid_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let name = pattern.strip_suffix(".*").unwrap_or(pattern);
    !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// A subscriber's resolved filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub types: Option<Vec<String>>,
    /// Building id (resolved from the key or id the subscriber named).
    pub building_id: Option<String>,
    pub under: Option<String>,
    pub object_type: Option<String>,
    /// The buildings the key may see; `None` = every building (and events of no building).
    pub allowed_buildings: Option<Vec<String>>,
}

impl Filter {
    /// The building a read of the outbox may be limited to: the one asked for, or else the
    /// only one the key may see. Row-level security keeps a key to its buildings anyway, but
    /// as a filter on every event read in id order: a key limited to a quiet building would
    /// read past every other building's events to fill a page, where a building's own index
    /// reads only its events.
    pub fn page_building(&self) -> Option<&str> {
        match (&self.building_id, &self.allowed_buildings) {
            (Some(building), _) => Some(building),
            (None, Some(allowed)) if allowed.len() == 1 => Some(&allowed[0]),
            _ => None,
        }
    }

    pub fn matches(&self, event: &Event) -> bool {
        if let Some(allowed) = &self.allowed_buildings {
            match &event.building_id {
                Some(b) if allowed.iter().any(|a| a == b) => {}
                _ => return false,
            }
        }
        if let Some(building) = &self.building_id {
            if event.building_id.as_deref() != Some(building.as_str()) {
                return false;
            }
        }
        if let Some(under) = &self.under {
            // the event's path, or its other one (arxos.event_other_path): a move out of the
            // subtree, a connection into it
            let within = |path: &Option<String>| {
                path.as_deref()
                    .is_some_and(|p| arxos_core::path::is_within(p, under))
            };
            if under != "/" && !within(&event.path) && !within(&event.other_path) {
                return false;
            }
        }
        if let Some(types) = &self.types {
            if !types.iter().any(|p| type_matches(&event.event_type, p)) {
                return false;
            }
        }
        if let Some(object_type) = &self.object_type {
            // or the type it had (arxos.event_old_type): an object that stopped being one
            let wanted = Some(object_type.as_str());
            if event.object_type.as_deref() != wanted && event.old_type.as_deref() != wanted {
                return false;
            }
        }
        true
    }
}

/// `arxos.event_type_matches` for one pattern: equal, `*`, or a prefix ending in `*`.
fn type_matches(event_type: &str, pattern: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event_type.starts_with(prefix),
        None => event_type == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_one_building_reads_that_buildings_events() {
        let mut filter = Filter::default();
        assert_eq!(filter.page_building(), None);
        filter.allowed_buildings = Some(vec!["b1".into(), "b2".into()]);
        assert_eq!(filter.page_building(), None);
        filter.allowed_buildings = Some(vec!["b1".into()]);
        assert_eq!(filter.page_building(), Some("b1"));
        filter.building_id = Some("b1".into());
        assert_eq!(filter.page_building(), Some("b1"));
    }

    fn event(event_type: &str, building: Option<&str>, path: Option<&str>) -> Event {
        Event {
            id: 1,
            event_type: event_type.to_owned(),
            building_id: building.map(str::to_owned),
            path: path.map(str::to_owned),
            object_type: Some("sensor".to_owned()),
            json: "{}".to_owned(),
            other_path: None,
            old_type: None,
            counted: 514,
            left_out: false,
        }
    }

    #[test]
    fn types_match_names_and_prefixes() {
        assert!(type_matches("bilt.rating.changed", "bilt.*"));
        assert!(type_matches("object.created", "object.created"));
        assert!(!type_matches("object.created", "object.deleted"));
        assert!(type_matches("anything", "*"));
        assert!(!type_matches("biltx", "bilt.*"));
    }

    #[test]
    fn patterns_are_checked() {
        let params = FilterParams {
            types: Some("bilt.*, object.created".into()),
            ..Default::default()
        };
        assert_eq!(
            params.type_patterns().unwrap(),
            Some(vec!["bilt.*".to_owned(), "object.created".to_owned()])
        );
        let many = vec!["a"; 101].join(",");
        let long = "a".repeat(201);
        for bad in [
            "Bad",
            "a..b",
            "a.*.b",
            "'; drop",
            "",
            " , ,",
            "object.created,,bilt.*",
            "object.created,",
            &many,
            &long,
        ] {
            let params = FilterParams {
                types: Some(bad.into()),
                ..Default::default()
            };
            assert!(params.type_patterns().is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_combine() {
        let filter = Filter {
            types: Some(vec!["object.*".into()]),
            building_id: Some("b1".into()),
            under: Some("/a".into()),
            object_type: Some("sensor".into()),
            allowed_buildings: None,
        };
        assert!(filter.matches(&event("object.created", Some("b1"), Some("/a/x"))));
        assert!(filter.matches(&event("object.created", Some("b1"), Some("/a"))));
        assert!(!filter.matches(&event("object.created", Some("b1"), Some("/ab"))));
        assert!(!filter.matches(&event("object.created", Some("b2"), Some("/a/x"))));
        assert!(!filter.matches(&event("bilt.rating.changed", Some("b1"), Some("/a/x"))));
        // a move out of /a, and a type change away from sensor, still reach the subscriber
        let moved_out = Event {
            other_path: Some("/a/x".into()),
            ..event("object.moved", Some("b1"), Some("/b/x"))
        };
        assert!(filter.matches(&moved_out));
        let retyped = Event {
            object_type: Some("meter".into()),
            old_type: Some("sensor".into()),
            ..event("object.updated", Some("b1"), Some("/a/x"))
        };
        assert!(filter.matches(&retyped));
        let elsewhere = Event {
            other_path: Some("/ab".into()),
            ..event("object.moved", Some("b1"), Some("/b/x"))
        };
        assert!(!filter.matches(&elsewhere));
    }

    #[test]
    fn limited_keys_see_only_their_buildings() {
        let filter = Filter {
            allowed_buildings: Some(vec!["b1".into()]),
            ..Default::default()
        };
        assert!(filter.matches(&event("x", Some("b1"), None)));
        assert!(!filter.matches(&event("x", Some("b2"), None)));
        assert!(!filter.matches(&event("x", None, None)));
        assert!(Filter::default().matches(&event("x", None, None)));
    }
}
