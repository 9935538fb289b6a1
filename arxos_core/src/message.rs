//! How error messages show a value a caller gave: quoted, its control and invisible characters
//! written out, and cut short. A message that repeated its input whole would carry a 10 MB
//! argument into the server log and the HTTP answer, and a control or bidirectional character
//! could make it read as something else.

use crate::path::{invisible_at, is_invisible};

/// Characters of a value a message shows; the rest is counted.
pub const SHOWN_CHARS: usize = 100;

/// `c` written out as `\u{…}`.
pub fn write_escaped(out: &mut String, c: char) {
    out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
}

/// `text` with each character written by `write`, cut after `max` characters; the second
/// value is how many characters `text` has.
fn cut(text: &str, max: usize, mut write: impl FnMut(&mut String, char)) -> (String, usize) {
    let mut out = String::with_capacity(text.len().min(4 * max) + 2);
    let mut total = 0usize;
    for c in text.chars() {
        total += 1;
        if total <= max {
            write(&mut out, c);
        }
    }
    (out, total)
}

/// What follows a value cut after `max` of its `total` characters.
fn counted(total: usize, max: usize) -> String {
    if total > max {
        format!("… ({total} characters)")
    } else {
        String::new()
    }
}

/// `value` quoted (`'it''s'`), backslashes doubled, control and invisible characters as
/// `\u{…}`, cut after [`SHOWN_CHARS`] characters with the full count appended:
/// `'xxxx…'… (10000000 characters)`.
pub fn shown(value: &str) -> String {
    let chars: Vec<char> = value.chars().take(SHOWN_CHARS).collect();
    let escaped = escaped_in_view(&chars);
    let total = value.chars().count();
    let mut out = String::with_capacity(value.len().min(4 * SHOWN_CHARS) + 2);
    for (c, escape) in chars.iter().zip(escaped) {
        match c {
            '\'' => out.push_str("''"),
            // so that a written-out \u{…} cannot be mistaken for one the value held
            '\\' => out.push_str("\\\\"),
            c if escape => write_escaped(&mut out, *c),
            c => out.push(*c),
        }
    }
    format!("'{out}'{}", counted(total, SHOWN_CHARS))
}

/// Which of the characters a message shows are written out: the control and invisible ones,
/// judged by their neighbours as the message shows them. A joiner between two characters
/// beyond ASCII is visible, unless one of them is itself written out (as ASCII text) or cut
/// off; so each one written out can expose another, until none changes.
fn escaped_in_view(chars: &[char]) -> Vec<bool> {
    let mut view = chars.to_vec();
    let mut escaped = vec![false; chars.len()];
    loop {
        let mut changed = false;
        for i in 0..view.len() {
            if !escaped[i] && (view[i].is_control() || invisible_at(&view, i)) {
                escaped[i] = true;
                // written out, it reads as ASCII text to its neighbours
                view[i] = 'u';
                changed = true;
            }
        }
        if !changed {
            return escaped;
        }
    }
}

/// Characters of a whole message an answer carries; the rest is counted.
pub const MESSAGE_CHARS: usize = 1000;

/// A message as an answer carries it: invisible formatting characters written as `\u{…}` (a
/// bidirectional override in a quoted value would reorder the text around it), cut after
/// [`MESSAGE_CHARS`] characters with the full count appended. Control characters are left to
/// the JSON encoding, which escapes them.
pub fn readable(message: &str) -> String {
    if message.len() <= MESSAGE_CHARS && !message.chars().any(is_invisible) {
        return message.to_owned();
    }
    let (body, total) = cut(message, MESSAGE_CHARS, |out, c| {
        if is_invisible(c) {
            write_escaped(out, c)
        } else {
            out.push(c)
        }
    });
    body + &counted(total, MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cut_and_their_invisible_characters_written_out() {
        assert_eq!(readable("no object at /a"), "no object at /a");
        assert_eq!(readable("got \u{202E}x"), "got \\u{202e}x");
        let long = format!("invalid input: {}", "A".repeat(60_000));
        let text = readable(&long);
        assert!(
            text.ends_with("… (60015 characters)"),
            "{}",
            &text[text.len() - 40..]
        );
        assert_eq!(
            text.chars().count(),
            MESSAGE_CHARS + "… (60015 characters)".chars().count()
        );
    }

    #[test]
    fn short_values_read_as_quote_literal_writes_them() {
        assert_eq!(shown("b42"), "'b42'");
        assert_eq!(shown("it's"), "'it''s'");
        assert_eq!(shown(""), "''");
        assert_eq!(shown("a\\u{202e}b"), "'a\\\\u{202e}b'");
        assert_ne!(shown("a\\u{202e}b"), shown("a\u{202e}b"));
    }

    #[test]
    fn control_and_invisible_characters_are_written_out() {
        assert_eq!(shown("b42\u{1}"), "'b42\\u{1}'");
        assert_eq!(shown("a\u{202E}b\nc"), "'a\\u{202e}b\\u{a}c'");
        assert_eq!(shown("caf\u{e9}"), "'caf\u{e9}'");
        // a joiner or a variation selector where it shows nothing is written out; where it
        // joins an emoji sequence or selects a glyph, it is kept
        assert_eq!(shown("sen\u{200d}sor"), "'sen\\u{200d}sor'");
        assert_eq!(shown("a\u{fe0f}"), "'a\\u{fe0f}'");
        assert_eq!(
            shown("\u{1f468}\u{200d}\u{1f527}"),
            "'\u{1f468}\u{200d}\u{1f527}'"
        );
        assert_eq!(shown("\u{2764}\u{fe0f}"), "'\u{2764}\u{fe0f}'");
        // judged as shown: a neighbour written out, or cut off, is no glyph to join or select
        let at_the_cut = format!("{}\u{200d}\u{e9}xyz", "\u{e9}".repeat(99));
        assert!(
            shown(&at_the_cut).contains("\\u{200d}'"),
            "{}",
            shown(&at_the_cut)
        );
        assert_eq!(shown("x\u{200d}\u{fe0f}"), "'x\\u{200d}\\u{fe0f}'");
        assert_eq!(
            shown("\u{200b}\u{200d}\u{e9}"),
            "'\\u{200b}\\u{200d}\u{e9}'"
        );
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
