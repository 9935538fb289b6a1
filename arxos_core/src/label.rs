//! Labels: the short names people give (building names, API key names and owners, object
//! types, contributor display names): 1 to `max` characters, not blank, without control or
//! invisible formatting characters. The tables CHECK it (`arxos.is_label`), so it runs on
//! every write of an object: in Rust, not as a SQL expression PostgreSQL re-plans per
//! statement.

use crate::path::is_invisible;

/// True when `value` is a label of at most `max` characters. Blank means only Unicode white
/// space (a no-break or ideographic space is as blank as a space).
pub fn is_label(value: &str, max: usize) -> bool {
    let mut count = 0usize;
    let mut seen_non_space = false;
    for c in value.chars() {
        count += 1;
        if count > max || c.is_control() || is_invisible(c) {
            return false;
        }
        seen_non_space |= !c.is_whitespace();
    }
    count >= 1 && seen_non_space
}

#[cfg(test)]
mod tests {
    use super::is_label;

    #[test]
    fn labels() {
        assert!(is_label("Building 42", 200));
        assert!(is_label("é", 1));
        assert!(!is_label("", 10));
        assert!(!is_label("   ", 10));
        assert!(!is_label("\u{a0}", 10));
        assert!(!is_label("\u{3000}\u{2003}", 10));
        assert!(!is_label("a\nb", 10));
        assert!(!is_label("a\u{85}b", 10));
        assert!(!is_label("sensor\u{202e}", 10));
        assert!(!is_label("abc", 2));
        assert!(is_label("abc", 3));
        assert!(is_label("zwj\u{200d}ok", 10));
    }
}
