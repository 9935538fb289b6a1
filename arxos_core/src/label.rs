//! Labels: the short names people give (building names, API key names and owners, object
//! types, contributor display names, reading units): 1 to `max` characters, no space at either end, without
//! white space at the start or end (`sensor ` and `sensor` would look the same and count as two
//! types), without control or invisible formatting characters. The tables CHECK it (`arxos.is_label`), so it runs on
//! every write of an object: in Rust, not as a SQL expression PostgreSQL re-plans per
//! statement.

use crate::path::invisible_in;

/// True when `value` is a label of at most `max` characters. White space is Unicode's (a
/// no-break or ideographic space is as much a space as a space): none at either end, so a
/// blank value is refused too.
pub fn is_label(value: &str, max: usize) -> bool {
    let mut count = 0usize;
    for c in value.chars() {
        count += 1;
        if count > max || c.is_control() {
            return false;
        }
    }
    count >= 1
        && invisible_in(value).is_none()
        && !value.starts_with(char::is_whitespace)
        && !value.ends_with(char::is_whitespace)
}

/// True when `value` shows nothing: every character is Unicode white space (a no-break space
/// too), a control character or an invisible formatting one. What "a blank string" means
/// wherever a value must say something (a contribution's metadata fields).
pub fn is_blank(value: &str) -> bool {
    let chars: Vec<char> = value.chars().collect();
    (0..chars.len()).all(|i| {
        chars[i].is_whitespace() || chars[i].is_control() || crate::path::invisible_at(&chars, i)
    })
}

#[cfg(test)]
mod tests {
    use super::{is_blank, is_label};

    #[test]
    fn blanks() {
        for blank in [
            "",
            " ",
            "\u{a0}",
            " \u{3000}\t\n",
            "\u{200b}",
            "\u{feff}\u{a0}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for text in ["a", " a ", "\u{a0}é", "0", "🙂"] {
            assert!(!is_blank(text), "{text:?}");
        }
    }

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
        assert!(
            !is_label("zwj\u{200d}ok", 10),
            "a joiner between Latin letters shows nothing"
        );
        assert!(is_label("two words", 10));
    }

    #[test]
    fn labels_have_no_space_at_either_end() {
        for padded in [
            "sensor ",
            " sensor",
            "\u{a0}sensor",
            "kWh\u{a0}",
            "kWh\u{3000}",
        ] {
            assert!(!is_label(padded, 20), "{padded:?}");
        }
    }

    #[test]
    fn look_alike_fillers_are_refused() {
        for c in [
            '\u{3164}',
            '\u{2800}',
            '\u{ad}',
            '\u{61c}',
            '\u{200e}',
            '\u{115f}',
            '\u{ffa0}',
            '\u{206a}',
            '\u{e0001}',
        ] {
            assert!(
                !is_label(&format!("floor{c}1"), 20),
                "U+{:04X}",
                u32::from(c)
            );
        }
        // emoji sequences keep their joiners, variation selectors and tags, and Persian its
        // non-joiner; elsewhere they would hide in a Latin name
        assert!(is_label("\u{2764}\u{fe0f}", 5));
        assert!(is_label("1\u{fe0f}\u{20e3}", 5), "a keycap");
        assert!(is_label(
            "\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}",
            10
        ));
        for hidden in [
            "sensor\u{200d}",
            "sen\u{200d}sor",
            "\u{200c}x",
            "x\u{fe0f}y",
            "x\u{e0067}",
            "\u{fe0f}",
        ] {
            assert!(!is_label(hidden, 20), "{hidden:?}");
        }
        assert!(is_label("\u{1f469}\u{200d}\u{1f527}", 5));
        assert!(is_label(
            "\u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}",
            10
        ));
    }
}
