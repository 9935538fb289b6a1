//! How the shell shows things: colours, status marks, trees, bars and change summaries.
//! Everything here is pure text formatting.

use std::collections::HashMap;
use std::io::IsTerminal;

use serde_json::Value;

/// What a piece of text is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Directory,
    Ok,
    Failed,
    Warning,
    Dim,
    Heading,
    Error,
}

/// Paints text with ANSI colours, or leaves it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    /// Colours for a stream that is a terminal, unless `NO_COLOR` is set (to anything but
    /// the empty string; see no-color.org) or the terminal is `TERM=dumb` (no escapes).
    pub fn for_stream(is_terminal: bool) -> Palette {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        Palette {
            enabled: is_terminal && !no_color && !dumb,
        }
    }

    /// An object's name as `tree` draws it: a folder bold blue with its `/` (the root is `/`
    /// itself), a leaf dimmed, as `ls` shows them.
    pub fn object_name(self, name: &str, folder: bool) -> String {
        match (folder, name) {
            (_, "/") => self.paint(Style::Directory, name),
            (true, _) => self.paint(Style::Directory, &format!("{name}/")),
            (false, _) => self.paint(Style::Dim, name),
        }
    }

    pub fn stdout() -> Palette {
        Palette::for_stream(std::io::stdout().is_terminal())
    }

    pub fn stderr() -> Palette {
        Palette::for_stream(std::io::stderr().is_terminal())
    }

    pub fn paint(self, style: Style, text: &str) -> String {
        if !self.enabled || text.is_empty() {
            return text.to_owned();
        }
        let code = match style {
            Style::Directory => "1;34",
            Style::Ok => "32",
            Style::Failed => "1;31",
            Style::Warning => "33",
            Style::Dim => "2",
            Style::Heading => "1",
            Style::Error => "31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Paints each `[MARK]` of a marks cell (as made by [`marks`]) in its colour.
    pub fn paint_marks(self, marks: &str) -> String {
        let mut out = String::new();
        let mut rest = marks;
        while let Some((open, close)) = rest
            .find('[')
            .and_then(|open| rest[open..].find(']').map(|len| (open, open + len + 1)))
        {
            let mark = &rest[open..close];
            let style = match mark {
                "[OK]" => Style::Ok,
                "[FAILED]" => Style::Failed,
                _ => Style::Warning,
            };
            out.push_str(&rest[..open]);
            out.push_str(&self.paint(style, mark));
            rest = &rest[close..];
        }
        out.push_str(rest);
        out
    }
}

/// The status marks of an object: `[FAILED]`, `[NEEDS REPAIR]` (both when both hold),
/// `[OK]` for an active object that needs nothing, otherwise its status (`[DEGRADED]`).
pub fn marks(status: &str, needs_repair: bool) -> String {
    // The status unless it is active, then the repair flag: neither hides the other.
    let mut out = Vec::new();
    if status != "active" {
        out.push(format!(
            "[{}]",
            crate::table::printable(&status.to_uppercase())
        ));
    }
    if needs_repair {
        out.push("[NEEDS REPAIR]".to_owned());
    }
    if out.is_empty() {
        out.push("[OK]".to_owned());
    }
    out.join(" ")
}

/// A number the way people write it: no trailing `.0`, at most three decimals.
pub fn number(n: f64) -> String {
    // Beyond what thousandths can say (or what n * 1000 can hold): scientific notation.
    if n.is_finite() && n.abs() >= 1e15 {
        return format!("{n:e}");
    }
    let rounded = (n * 1000.0).round() / 1000.0;
    let text = format!("{rounded}");
    if text == "-0" {
        "0".to_owned()
    } else {
        text
    }
}

/// A stored number in full: the shortest text that reads back as the same double (`0.1`,
/// `123456789.12345679`), in scientific notation when plain would run to many zeros
/// (`1e-100`, `2.5e20`). For values such as coordinates, which must not be shown rounded
/// (found by an audit: `x 1e-100` was shown as `x 0`).
pub fn exact(n: f64) -> String {
    let magnitude = n.abs();
    if n == 0.0 {
        "0".to_owned()
    } else if magnitude.is_finite() && !(1e-4..1e15).contains(&magnitude) {
        format!("{n:e}")
    } else {
        format!("{n}")
    }
}

/// A JSON value for people: strings without quotes (the empty string as `""`, which would
/// otherwise show as nothing), anything else as compact JSON, cut to `max` characters.
pub fn value(v: &Value, max: usize) -> String {
    let text = match v {
        Value::String(s) if s.is_empty() => "\"\"".to_owned(),
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    };
    crate::table::shorten(&crate::table::printable(&text), max)
}

/// A bar of `width` cells for a value from 0 to 100, in eighths of a cell.
pub fn bar(score: f64, width: usize) -> String {
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let score = if score.is_finite() {
        score.clamp(0.0, 100.0)
    } else {
        0.0
    };
    let eighths = (score / 100.0 * (width * 8) as f64).round() as usize;
    let full = eighths / 8;
    let partial = PARTS[eighths % 8];
    let mut out = "█".repeat(full);
    out.push_str(partial);
    let used = full + usize::from(!partial.is_empty());
    out.push_str(&" ".repeat(width.saturating_sub(used)));
    out
}

/// One line per change of an object: `field: before → after`, properties key by key.
pub fn describe_changes(op: &str, changes: &Value) -> String {
    crate::table::printable(&changes_text(op, changes))
}

fn changes_text(op: &str, changes: &Value) -> String {
    let Some(fields) = changes.as_object() else {
        return op.to_owned();
    };
    match op {
        "insert" => return "created".to_owned(),
        "delete" => return "deleted".to_owned(),
        _ => {}
    }
    let mut parts = Vec::new();
    let mut fields: Vec<(&String, &Value)> = fields.iter().collect();
    fields.sort_by_key(|(field, _)| *field);
    for (field, change) in fields {
        let before = change.get("before").unwrap_or(&Value::Null);
        let after = change.get("after").unwrap_or(&Value::Null);
        if field == "properties" {
            let empty = serde_json::Map::new();
            let b = before.as_object().unwrap_or(&empty);
            let a = after.as_object().unwrap_or(&empty);
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let (bv, av) = (b.get(key), a.get(key));
                if bv != av {
                    parts.push(format!(
                        "{field}.{key}: {} → {}",
                        optional(bv),
                        optional(av)
                    ));
                }
            }
        } else {
            parts.push(format!(
                "{field}: {} → {}",
                value(before, 40),
                value(after, 40)
            ));
        }
    }
    if parts.is_empty() {
        op.to_owned()
    } else {
        parts.join(", ")
    }
}

fn optional(v: Option<&Value>) -> String {
    v.map_or_else(|| "(none)".to_owned(), |v| value(v, 40))
}

/// A node of a drawn tree: its label and the keys of its children, in order.
pub struct TreeNode {
    pub label: String,
    pub children: Vec<usize>,
}

/// Draws a tree with box-drawing lines: the root's label, then each child below it.
pub fn draw_tree(nodes: &[TreeNode], root: usize) -> String {
    let Some(top) = nodes.get(root) else {
        return String::new();
    };
    let mut out = String::new();
    out.push_str(&top.label);
    out.push('\n');
    draw_children(nodes, root, "", &mut out);
    out
}

fn draw_children(nodes: &[TreeNode], node: usize, prefix: &str, out: &mut String) {
    let children = &nodes[node].children;
    for (i, &child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        out.push_str(prefix);
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&nodes[child].label);
        out.push('\n');
        let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
        draw_children(nodes, child, &deeper, out);
    }
}

/// Children lists of objects given by path, in the order the paths come: for `arxos.tree`
/// rows, whose paths are sorted, siblings come in name order. Returns each path's index
/// among `paths` and the children of each.
pub fn children_by_parent(paths: &[String]) -> (HashMap<&str, usize>, Vec<Vec<usize>>) {
    let index: HashMap<&str, usize> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i))
        .collect();
    let mut children = vec![Vec::new(); paths.len()];
    for (i, path) in paths.iter().enumerate() {
        if let Some(parent) = arxos_core::path::parent(path).and_then(|p| index.get(p)) {
            children[*parent].push(i);
        }
    }
    (index, children)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn marks_name_what_needs_attention() {
        assert_eq!(marks("active", false), "[OK]");
        assert_eq!(marks("failed", true), "[FAILED] [NEEDS REPAIR]");
        assert_eq!(marks("active", true), "[NEEDS REPAIR]");
        assert_eq!(marks("degraded", false), "[DEGRADED]");
        assert_eq!(marks("maintenance", true), "[MAINTENANCE] [NEEDS REPAIR]");
    }

    #[test]
    fn tree_names_folders_bold_blue_and_leaves_dimmed() {
        // (a leaf was painted as a folder: found by a review)
        let on = Palette { enabled: true };
        assert_eq!(on.object_name("room 101", false), "\x1b[2mroom 101\x1b[0m");
        assert_eq!(on.object_name("spaces", true), "\x1b[1;34mspaces/\x1b[0m");
        assert_eq!(on.object_name("/", true), "\x1b[1;34m/\x1b[0m");
        assert_eq!(
            Palette { enabled: false }.object_name("spaces", true),
            "spaces/"
        );
    }

    #[test]
    fn plain_palette_leaves_text_alone() {
        assert_eq!(Palette { enabled: false }.paint(Style::Failed, "x"), "x");
        assert_eq!(
            Palette { enabled: false }.paint_marks("[FAILED] [NEEDS REPAIR]"),
            "[FAILED] [NEEDS REPAIR]"
        );
        let colour = Palette { enabled: true };
        assert_eq!(colour.paint(Style::Ok, "[OK]"), "\x1b[32m[OK]\x1b[0m");
        assert_eq!(
            colour.paint_marks("[FAILED] [NEEDS REPAIR]"),
            "\x1b[1;31m[FAILED]\x1b[0m \x1b[33m[NEEDS REPAIR]\x1b[0m"
        );
    }

    #[test]
    fn numbers_and_values() {
        assert_eq!(exact(1e-100), "1e-100");
        assert_eq!(exact(-0.000001), "-1e-6");
        assert_eq!(exact(123456789.12345679), "123456789.12345679");
        assert_eq!(exact(2.5), "2.5");
        assert_eq!(exact(-0.0), "0");
        assert_eq!(exact(-2.5e20), "-2.5e20");
        assert_eq!(number(7.0), "7");
        assert_eq!(number(0.30000000000000004), "0.3");
        assert_eq!(number(-0.0001), "0");
        assert_eq!(number(1e308), "1e308");
        assert_eq!(number(-2.5e20), "-2.5e20");
        assert_eq!(value(&json!("NEMA 5-20R"), 40), "NEMA 5-20R");
        assert_eq!(value(&json!(120), 40), "120");
        assert_eq!(value(&json!("abcdef"), 4), "abc…");
        assert_eq!(value(&json!(""), 40), "\"\"");
        assert_eq!(value(&json!("a\nb"), 40), "a b");
        assert_eq!(value(&json!("a\u{1b}[2Jb"), 40), "a?[2Jb");
    }

    #[test]
    fn bars_fill_in_eighths() {
        assert_eq!(bar(0.0, 4), "    ");
        assert_eq!(bar(100.0, 4), "████");
        assert_eq!(bar(50.0, 4), "██  ");
        assert_eq!(bar(56.25, 4), "██▎ ");
        assert_eq!(bar(f64::NAN, 2), "  ");
        assert_eq!(bar(250.0, 2).chars().count(), 2);
    }

    #[test]
    fn changes_read_as_before_and_after() {
        let changes = json!({
            "status": {"before": "active", "after": "failed"},
            "properties": {"before": {"a": 1, "b": 2}, "after": {"a": 1, "b": 3, "c": "x"}}
        });
        assert_eq!(
            describe_changes("update", &changes),
            "properties.b: 2 → 3, properties.c: (none) → x, status: active → failed"
        );
        assert_eq!(describe_changes("insert", &json!({"path": {}})), "created");
    }

    #[test]
    fn trees_are_drawn_with_lines() {
        let paths: Vec<String> = ["/a", "/a/b", "/a/b/c", "/a/d"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (_, children) = children_by_parent(&paths);
        let nodes: Vec<TreeNode> = paths
            .iter()
            .zip(children)
            .map(|(p, children)| TreeNode {
                label: arxos_core::path::name(p).to_owned(),
                children,
            })
            .collect();
        assert_eq!(draw_tree(&nodes, 0), "a\n├── b\n│   └── c\n└── d\n");
    }
}
