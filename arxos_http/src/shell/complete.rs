//! Tab completion: command names, then per command its paths (children from `arxos.ls` of
//! the resolved parent; objects with children get a trailing `/`), building keys, trace
//! directions and help topics.

use std::cell::RefCell;
use std::rc::Rc;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::commands::Session;
use super::parse;

/// Where completion candidates come from.
/// Most candidates offered for one word. A source returns up to one more, which says that
/// the list was cut: then completion inserts nothing beyond what was typed (a common prefix of
/// the first candidates need not be one of them all) and the list says there are more.
pub const MAX_CANDIDATES: usize = 200;

pub trait Source {
    fn cwd(&self) -> &str;
    /// Children of the resolved path `dir` whose names start with `prefix`: (name, has
    /// children), in name order, at most [`MAX_CANDIDATES`] + 1.
    fn children(&self, dir: &str, prefix: &str) -> Vec<(String, bool)>;
    fn building_keys(&self, prefix: &str) -> Vec<String>;
}

impl Source for Session {
    fn cwd(&self) -> &str {
        Session::cwd(self)
    }
    fn children(&self, dir: &str, prefix: &str) -> Vec<(String, bool)> {
        Session::children(self, dir, prefix)
    }
    fn building_keys(&self, prefix: &str) -> Vec<String> {
        Session::building_keys(self, prefix)
    }
}

/// What the word under the cursor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Command,
    Path,
    Building,
    Direction,
    Topic,
    Nothing,
}

/// Completes `line` (the text before the cursor): where the replaced word starts, and the
/// candidates for it.
pub fn complete(line: &str, source: &dyn Source) -> (usize, Vec<Pair>) {
    let segment_start = parse::command_spans(line).last().map_or(0, |r| r.start);
    let segment = &line[segment_start..];
    let lexed = parse::lex(segment);
    // The word being typed (empty between words) and its position among the words.
    let (current, start, index) = match lexed.words.last() {
        Some(word) if !lexed.ends_between_words => (
            word.text.clone(),
            segment_start + word.start,
            lexed.words.len() - 1,
        ),
        _ => (String::new(), line.len(), lexed.words.len()),
    };
    let slot = if index == 0 {
        Slot::Command
    } else {
        // After `--`, every word is an operand, as the parser reads it (found by a review:
        // `ls -- -o` and `trace -- room` were not completed, nor the direction after them).
        let options_done = lexed.words[1..index].iter().any(|w| w.text == "--");
        slot_of(
            &lexed.words[0].text,
            index - 1 - usize::from(options_done),
            &current,
            options_done,
        )
    };
    let words = |options: Vec<String>| -> Vec<Pair> {
        options
            .into_iter()
            .filter(|o| o.starts_with(&current))
            .map(|o| Pair {
                display: o.clone(),
                replacement: format!("{} ", escape(&o, lexed.open_quote)),
            })
            .collect()
    };
    let candidates = match slot {
        Slot::Command | Slot::Topic => words(parse::command_names()),
        Slot::Direction => words(vec!["downstream".to_owned(), "upstream".to_owned()]),
        Slot::Building => {
            let mut keys = source.building_keys(&current);
            let cut = keys.len() > MAX_CANDIDATES;
            keys.truncate(MAX_CANDIDATES);
            let mut pairs = words(keys);
            if cut {
                pairs.push(more_note(&current, lexed.open_quote));
            }
            pairs
        }
        Slot::Path => {
            let filters = matches!(lexed.words[0].text.as_str(), "find" | "select");
            paths(&current, lexed.open_quote, filters, source)
        }
        Slot::Nothing => Vec::new(),
    };
    (start, candidates)
}

/// What argument `arg` (0-based) of `command` is.
/// `options_done`: a `--` came before (`arg` does not count it).
fn slot_of(command: &str, arg: usize, current: &str, options_done: bool) -> Slot {
    match command {
        "cd" | "ls" | "tree" | "inspect" | "history"
            if options_done || !current.starts_with('-') =>
        {
            Slot::Path
        }
        "find" | "select" if super::find::parse_filter(current).ok().flatten().is_none() => {
            Slot::Path
        }
        "trace" if arg == 0 => Slot::Path,
        "trace" if arg == 1 => Slot::Direction,
        "use" if arg == 0 => Slot::Building,
        "help" if arg == 0 => Slot::Topic,
        _ => Slot::Nothing,
    }
}

/// Completes the last segment of a typed path with the children of the path before it.
/// `filters`: the command reads words with an operator as filters (`find`, `select`).
fn paths(typed: &str, quote: Option<char>, filters: bool, source: &dyn Source) -> Vec<Pair> {
    let (dir_typed, prefix) = match typed.rfind('/') {
        Some(i) => typed.split_at(i + 1),
        None => ("", typed),
    };
    if prefix == "." || prefix == ".." {
        let text = format!("{typed}/");
        return vec![Pair {
            display: text.clone(),
            replacement: escape(&text, quote),
        }];
    }
    let dir = if dir_typed.is_empty() {
        source.cwd().to_owned()
    } else {
        match arxos_core::path::resolve(source.cwd(), dir_typed) {
            Ok(dir) => dir,
            Err(_) => return Vec::new(),
        }
    };
    let mut children = source.children(&dir, prefix);
    let cut = children.len() > MAX_CANDIDATES;
    children.truncate(MAX_CANDIDATES);
    let mut pairs: Vec<Pair> = children
        .into_iter()
        // A name the terminal filter would change (stored before the path grammar refused
        // its characters) cannot be typed back, and completing it would put those characters
        // on the input line: it is not offered.
        .filter(|(name, _)| crate::table::printable(name) == *name)
        .map(|(name, is_dir)| {
            let slash = if is_dir { "/" } else { "" };
            let word = format!("{dir_typed}{name}{slash}");
            let word = if read_otherwise(&word, filters) {
                format!("./{word}")
            } else {
                word
            };
            let mut replacement = escape(&word, quote);
            // A leaf ends the word: inside a quote, the quote is closed (a folder stays open
            // for the next name).
            if let (false, Some(q)) = (is_dir, quote) {
                replacement.push(q);
            }
            Pair {
                display: format!("{name}{slash}"),
                replacement,
            }
        })
        .collect();
    if cut {
        pairs.push(more_note(typed, quote));
    }
    pairs
}

/// Whether the relative path `word`, typed as it is, would be read as something else than a
/// path: an option (`-odd`; `-` is `cd`'s previous path), a redirection (`&`, `&x`), or in
/// `find` a filter (`room=1`, and the bare word `needs_repair`). Completion then writes it
/// `./word`, which is always the path (found by a review: completing such a name inserted
/// text the parser then refused or misread); `|`, `<` and `>` are escaped instead.
fn read_otherwise(word: &str, filters: bool) -> bool {
    !word.starts_with(['/', '.'])
        && (word.starts_with(['-', '&'])
            || (filters && (word.contains(['=', '!', '<', '>', '~']) || word == "needs_repair")))
}

/// The last candidate of a cut list: it replaces the word with itself, so the common prefix of
/// all the candidates is the word as typed, and the listing ends with this note.
fn more_note(typed: &str, quote: Option<char>) -> Pair {
    Pair {
        display: format!("… more than {MAX_CANDIDATES}: type more of the name"),
        replacement: escape(typed, quote),
    }
}

/// The text as it must be typed (as [`super::parse::lex`] reads it back): inside an open `"`,
/// the quote and the text with `"` and backslashes escaped; inside an open `'`, where nothing
/// escapes, a `'` of the text closes the quote, is escaped and reopens it (`'it'\''s`);
/// otherwise blanks, quotes, `;` and backslashes escaped with a backslash.
pub(super) fn escape(text: &str, quote: Option<char>) -> String {
    match quote {
        Some('\'') => format!("'{}", text.replace('\'', r"'\''")),
        Some(q) => {
            let mut out = String::from(q);
            for c in text.chars() {
                if c == q || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }
        None => {
            let mut out = String::with_capacity(text.len());
            for c in text.chars() {
                // (`|`, `<` and `>` too: unescaped, a name holding one reads as a pipe or a
                // redirection; a leading `&` is read_otherwise's)
                if parse::is_blank(c) || matches!(c, '\'' | '"' | '\\' | ';' | '|' | '<' | '>') {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }
    }
}

/// The line editor's helper: completion from the session; no hints, highlighting or
/// validation.
pub struct ShellHelper {
    session: Rc<RefCell<Session>>,
}

impl ShellHelper {
    pub fn new(session: Rc<RefCell<Session>>) -> ShellHelper {
        ShellHelper { session }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let Ok(session) = self.session.try_borrow() else {
            return Ok((pos, Vec::new()));
        };
        Ok(complete(&line[..pos], &*session))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;

    impl Source for Fake {
        fn cwd(&self) -> &str {
            "/electrical"
        }
        fn children(&self, dir: &str, prefix: &str) -> Vec<(String, bool)> {
            let all: &[(&str, &str, bool)] = &[
                ("/electrical", "circuits", true),
                ("/electrical", "panels", true),
                ("/electrical", "cabinet 1", false),
                ("/electrical", "6\" main", false),
                ("/electrical", "it's", false),
                ("/", "electrical", true),
                ("/", "plumbing", true),
            ];
            all.iter()
                .filter(|(d, n, _)| *d == dir && n.starts_with(prefix))
                .map(|(_, n, is_dir)| (n.to_string(), *is_dir))
                .collect()
        }
        fn building_keys(&self, prefix: &str) -> Vec<String> {
            ["b42", "b7"]
                .iter()
                .filter(|k| k.starts_with(prefix))
                .map(|k| k.to_string())
                .collect()
        }
    }

    fn replacements(line: &str) -> (usize, Vec<String>) {
        let (start, pairs) = complete(line, &Fake);
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn completes_command_names() {
        assert_eq!(
            replacements("tr"),
            (0, vec!["tree ".to_owned(), "trace ".to_owned()])
        );
        assert_eq!(replacements("ls; pw"), (4, vec!["pwd ".to_owned()]));
        // every command, and the aliases (quit, select)
        assert_eq!(
            replacements("").1.len(),
            parse::COMMANDS.len() + parse::ALIASES.len()
        );
        assert_eq!(replacements("sel"), (0, vec!["select ".to_owned()]));
    }

    #[test]
    fn completes_absolute_and_relative_paths() {
        assert_eq!(
            replacements("cd /electrical/circ"),
            (3, vec!["/electrical/circuits/".to_owned()])
        );
        assert_eq!(replacements("ls ci"), (3, vec!["circuits/".to_owned()]));
        assert_eq!(
            replacements("cd ../pl"),
            (3, vec!["../plumbing/".to_owned()])
        );
        assert_eq!(replacements("cd ..").1, vec!["../".to_owned()]);
        assert_eq!(replacements("tree ").1.len(), 5);
        assert_eq!(replacements("cd /nowhere/../../x").1, Vec::<String>::new());
    }

    /// A root whose names read as something else typed bare.
    struct Odd;

    impl Source for Odd {
        fn cwd(&self) -> &str {
            "/"
        }
        fn children(&self, _dir: &str, prefix: &str) -> Vec<(String, bool)> {
            [
                ("&", false),
                ("&x", false),
                ("a|b", false),
                ("-", false),
                ("-odd", true),
                ("needs_repair", false),
                ("room=1", false),
                ("rooms", true),
            ]
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(n, d)| (n.to_string(), *d))
            .collect()
        }
        fn building_keys(&self, _prefix: &str) -> Vec<String> {
            Vec::new()
        }
    }

    #[test]
    fn names_that_read_as_options_pipes_or_filters_complete_as_dot_paths() {
        let got = |line: &str| -> Vec<String> {
            complete(line, &Odd)
                .1
                .into_iter()
                .map(|p| p.replacement)
                .collect()
        };
        assert_eq!(
            got("ls "),
            [
                "./&",
                "./&x",
                r"a\|b",
                "./-",
                "./-odd/",
                "needs_repair",
                "room=1",
                "rooms/"
            ]
        );
        // find reads a word with an operator, and the bare word needs_repair, as a filter
        assert_eq!(got("find ro"), ["./room=1", "rooms/"]);
        assert_eq!(got("find ne"), ["./needs_repair"]);
        assert_eq!(got("select /ro"), ["/room=1", "/rooms/"]);
        assert_eq!(got("cd '&"), ["'./&'", "'./&x'"]);
        // and the parser reads them back as paths
        for (line, path) in [
            ("cd ./-", "./-"),
            ("cd ./-odd/", "./-odd/"),
            ("ls ./&", "./&"),
            ("ls ./&x", "./&x"),
            (r"ls a\|b", "a|b"),
        ] {
            let command = parse::parse_command(line).unwrap();
            assert!(
                matches!(&command, parse::Command::Cd(parse::CdTarget::Path(p)) | parse::Command::Ls(Some(p)) if p == path),
                "{line}: {command:?}"
            );
        }
        // after `--`, a word is an operand: a path, then trace's direction (found by a review)
        assert_eq!(got("ls -- -o"), ["./-odd/"]);
        assert_eq!(got("inspect -- -"), ["./-", "./-odd/"]);
        assert_eq!(got("trace -- roo"), ["room=1", "rooms/"]);
        assert_eq!(got("trace -- -odd "), ["downstream ", "upstream "]);
        assert_eq!(got("tree -d"), Vec::<String>::new());
        assert!(matches!(
            parse::parse_command("find ./room=1").unwrap(),
            parse::Command::Find { under: Some(u), filters } if u == "./room=1" && filters.is_empty()
        ));
    }

    /// A folder of 205 `p_a_…` and one `p_b_1`.
    struct Crowded;

    impl Source for Crowded {
        fn cwd(&self) -> &str {
            "/"
        }
        fn children(&self, _dir: &str, prefix: &str) -> Vec<(String, bool)> {
            let mut all: Vec<String> = (1..=205).map(|i| format!("p_a_{i:03}")).collect();
            all.push("p_b_1".to_owned());
            all.into_iter()
                .filter(|n| n.starts_with(prefix))
                .take(MAX_CANDIDATES + 1)
                .map(|n| (n, false))
                .collect()
        }
        fn building_keys(&self, _prefix: &str) -> Vec<String> {
            Vec::new()
        }
    }

    #[test]
    fn a_cut_list_completes_nothing_beyond_the_typed_word() {
        let (start, pairs) = complete("ls p_", &Crowded);
        assert_eq!((start, pairs.len()), (3, MAX_CANDIDATES + 1));
        let last = pairs.last().expect("a note");
        assert_eq!(last.replacement, "p_");
        assert!(last.display.contains("more than 200"), "{}", last.display);
        // Every candidate starts with what was typed, and they share nothing more: rustyline
        // inserts their longest common prefix, which must not be p_a_ (p_b_1 also matches).
        let common = pairs.iter().map(|p| p.replacement.as_str()).fold(
            pairs[0].replacement.clone(),
            |acc, r| {
                acc.chars()
                    .zip(r.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a)
                    .collect()
            },
        );
        assert_eq!(common, "p_");
        // A list that fits is offered whole, without the note.
        let (_, pairs) = complete("ls p_b", &Crowded);
        assert_eq!(
            pairs.into_iter().map(|p| p.replacement).collect::<Vec<_>>(),
            vec!["p_b_1".to_owned()]
        );
    }

    #[test]
    fn escapes_or_keeps_quotes() {
        assert_eq!(
            replacements("inspect cab").1,
            vec![r"cabinet\ 1".to_owned()]
        );
        // A leaf completed inside a quote closes it (the line can be run as it is); a folder
        // leaves it open for the next name.
        assert_eq!(
            replacements("inspect \"cab"),
            (8, vec!["\"cabinet 1\"".to_owned()])
        );
        assert_eq!(replacements("cd \"circ").1, vec!["\"circuits/".to_owned()]);
        // A quote inside the name: escaped so that the line reads back as the name.
        for (line, typed) in [
            ("inspect \"6", r#""6\" main""#),
            ("inspect '6", r#"'6" main'"#),
            ("inspect 6", r#"6\"\ main"#),
            ("inspect 'it", r"'it'\''s'"),
            ("inspect \"it", r#""it's""#),
            ("inspect it", r"it\'s"),
        ] {
            let (start, got) = replacements(line);
            assert_eq!(got, vec![typed.to_owned()], "{line}");
            let completed = format!("{}{}", &line[..start], got[0]);
            assert_eq!(
                super::super::parse::lex(&completed).open_quote,
                None,
                "{line}"
            );
            let words = super::super::parse::lex(&completed).words;
            let name = if line.contains('6') {
                "6\" main"
            } else {
                "it's"
            };
            assert_eq!(words.last().map(|w| w.text.as_str()), Some(name), "{line}");
        }
    }

    #[test]
    fn completes_per_argument() {
        assert_eq!(replacements("use b4").1, vec!["b42 ".to_owned()]);
        assert_eq!(replacements("trace /a u").1, vec!["upstream ".to_owned()]);
        assert_eq!(replacements("trace ci").1, vec!["circuits/".to_owned()]);
        assert_eq!(replacements("help fi").1, vec!["find ".to_owned()]);
        assert_eq!(replacements("find type=out").1, Vec::<String>::new());
        assert_eq!(replacements("find pan").1, vec!["panels/".to_owned()]);
        assert_eq!(replacements("tree -d").1, Vec::<String>::new());
        assert_eq!(replacements("sql sel").1, Vec::<String>::new());
    }
}
