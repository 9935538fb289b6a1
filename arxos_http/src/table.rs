//! Plain-text tables for the command-line tools (`arxos keys list`, the shell).

use unicode_width::UnicodeWidthStr;

/// Text from the database as the terminal may show it on one line: tabs and line breaks (which
/// addresses and notes may hold) become a space; other control characters (terminal escape
/// sequences: ESC, the C1 controls) and the characters the path grammar refuses as invisible
/// (`arxos_core::path::is_invisible`: bidirectional marks, overrides and isolates, zero-width
/// spaces, fillers, the line separators U+2028/U+2029) become `?`. What the
/// grammar allows (the zero-width joiners U+200C and U+200D, which names in Persian, Indic
/// scripts and emoji need, variation selectors) is shown as it is, so that a listed name can
/// be typed back.
pub fn printable(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() || arxos_core::path::is_invisible(c) => '?',
            c => c,
        })
        .collect()
}

/// Cuts text to `max` characters, ending with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Left-aligned columns two spaces apart, without trailing blanks.
pub fn render_table<R: AsRef<[String]>>(rows: &[R]) -> String {
    render_table_with(rows, |_, _, cell| cell.to_owned())
}

/// Like [`render_table`], with `paint(row, column, cell)` wrapping each cell (in colour, say)
/// after the widths are measured on the plain text.
pub fn render_table_with<R: AsRef<[String]>>(
    rows: &[R],
    paint: impl Fn(usize, usize, &str) -> String,
) -> String {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row.as_ref()) {
            *width = (*width).max(cell.width());
        }
    }
    let mut out = String::new();
    for (r, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(&paint(r, i, cell));
            if i + 1 < row.len() {
                let pad = widths[i] - cell.width();
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_display_width() {
        let rows = vec![
            vec!["配電盤".to_owned(), "panel".to_owned()],
            vec!["ab".to_owned(), "x".to_owned()],
        ];
        // 配電盤 takes six columns: "ab" is padded to six as well.
        assert_eq!(
            render_table_with(&rows, |_, _, c| c.to_owned()),
            "配電盤  panel\nab      x\n"
        );
    }

    #[test]
    fn escapes_and_reordering_characters_are_not_printed() {
        assert_eq!(printable("a\u{1b}]52;c;x\u{7}b"), "a?]52;c;x?b");
        assert_eq!(printable("abc\u{202E}fed\u{9b}"), "abc?fed?");
        assert_eq!(printable("d\u{e9}j\u{e0} vu"), "d\u{e9}j\u{e0} vu");
    }

    #[test]
    fn table_columns_line_up() {
        let rows = [
            ["ID".to_owned(), "NAME".to_owned(), "X".to_owned()],
            ["1".to_owned(), "a longer name".to_owned(), "-".to_owned()],
        ];
        let text = render_table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ID  NAME           X");
        assert_eq!(lines[1], "1   a longer name  -");
    }

    #[test]
    fn painting_keeps_columns_aligned() {
        let rows = vec![
            vec!["a".to_owned(), "x".to_owned()],
            vec!["bbb".to_owned(), "y".to_owned()],
        ];
        let text = render_table_with(&rows, |_, c, cell| {
            if c == 0 {
                format!("<{cell}>")
            } else {
                cell.to_owned()
            }
        });
        assert_eq!(text, "<a>    x\n<bbb>  y\n");
    }

    #[test]
    fn empty_last_cells_leave_no_trailing_blanks() {
        let rows = vec![vec!["a".to_owned(), String::new()]];
        assert_eq!(render_table(&rows), "a\n");
        assert_eq!(render_table::<Vec<String>>(&[]), "");
    }

    #[test]
    fn control_characters_are_masked() {
        assert_eq!(printable("a\tb\nc\r\nd"), "a b c  d");
        assert_eq!(printable("a\u{0}b\u{7f}c"), "a?b?c");
        // Joiners stay (a name the path grammar allows), zero-width spaces and marks do not.
        assert_eq!(printable("a\u{200d}b\u{200c}c"), "a\u{200d}b\u{200c}c");
        assert_eq!(printable("a\u{200b}b\u{200e}c\u{200f}"), "a?b?c?");
        assert_eq!(printable("café"), "café");
    }
}
