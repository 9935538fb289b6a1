//! How error messages show a value a caller gave: quoted, its control and invisible characters
//! written out, and cut short. A message that repeated its input whole would carry a 10 MB
//! argument into the server log and the HTTP answer, and a control or bidirectional character
//! could make it read as something else.

use crate::path::is_invisible;

/// Characters of a value a message shows; the rest is counted.
pub const SHOWN_CHARS: usize = 100;

/// `value` as a SQL literal (`'it''s'`, as `quote_literal` writes it), with control and
/// invisible characters as `\u{…}`, cut after [`SHOWN_CHARS`] characters with the full count
/// appended: `'xxxx…'… (10000000 characters)`.
pub fn shown(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(4 * SHOWN_CHARS) + 2);
    out.push('\'');
    let mut total = 0usize;
    for c in value.chars() {
        total += 1;
        if total > SHOWN_CHARS {
            continue;
        }
        match c {
            '\'' => out.push_str("''"),
            c if c.is_control() || is_invisible(c) => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)))
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    if total > SHOWN_CHARS {
        out.push_str(&format!("… ({total} characters)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_read_as_quote_literal_writes_them() {
        assert_eq!(shown("b42"), "'b42'");
        assert_eq!(shown("it's"), "'it''s'");
        assert_eq!(shown(""), "''");
    }

    #[test]
    fn control_and_invisible_characters_are_written_out() {
        assert_eq!(shown("b42\u{1}"), "'b42\\u{1}'");
        assert_eq!(shown("a\u{202E}b\nc"), "'a\\u{202e}b\\u{a}c'");
        assert_eq!(shown("caf\u{e9}"), "'caf\u{e9}'");
    }

    #[test]
    fn long_values_are_cut_and_counted() {
        let long = "x".repeat(10_000_000);
        let text = shown(&long);
        assert_eq!(
            text,
            format!("'{}'… (10000000 characters)", "x".repeat(SHOWN_CHARS))
        );
        assert_eq!(
            shown(&"é".repeat(101))
                .chars()
                .filter(|c| *c == 'é')
                .count(),
            100
        );
    }
}
