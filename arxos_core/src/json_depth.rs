//! The nesting limit of the JSON documents users store (object properties and metrics,
//! connection properties). History and event documents wrap a stored document in a few more
//! levels, and every JSON parser the documents reach has a nesting limit of its own (serde_json:
//! 128), so a document stored without a limit could be written once and then never read back.

/// The deepest nesting a stored document may have: `{}` is 1, `{"a": {"b": 1}}` is 2.
pub const MAX_DEPTH: usize = 32;

/// The nesting depth of a JSON text: the deepest level of `{`/`[` outside strings (0 for a
/// scalar). The text is assumed to be valid JSON (PostgreSQL's own output of a jsonb).
pub fn depth(json: impl AsRef<[u8]>) -> usize {
    let (mut level, mut deepest) = (0usize, 0usize);
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json.as_ref() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                level += 1;
                deepest = deepest.max(level);
            }
            b'}' | b']' => level = level.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_deepest_container() {
        assert_eq!(depth("1"), 0);
        assert_eq!(depth("\"x\""), 0);
        assert_eq!(depth("{}"), 1);
        assert_eq!(depth(r#"{"a": [1, {"b": 2}], "c": {}}"#), 3);
        assert_eq!(depth(r#"[[[]], []]"#), 3);
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert_eq!(depth(r#"{"a": "{{[[", "b\"{": "]]}}"}"#), 1);
        assert_eq!(depth(r#"{"a\\": {"b": 1}}"#), 2);
    }

    #[test]
    fn a_document_at_the_limit_is_measured_exactly() {
        let doc = format!(
            "{}{}",
            "{\"a\": ".repeat(MAX_DEPTH - 1) + "{",
            "}".repeat(MAX_DEPTH)
        );
        assert_eq!(depth(&doc), MAX_DEPTH);
    }
}
