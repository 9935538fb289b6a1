//! The path grammar, implemented once and used by the extension (triggers and functions), the
//! shim and the shell.
//!
//! A path is absolute and `/`-separated (`/electrical/circuits/2/outlet_2A`). Normalisation
//! removes duplicate and trailing slashes. Each segment is 1..=255 bytes of UTF-8 with no `/`,
//! no control character, no invisible formatting character ([`is_invisible`]: zero-width space,
//! soft hyphen, word joiner, byte order mark, Hangul fillers, bidirectional marks, embeddings,
//! overrides and isolates, which make two different paths look the same), no white space at its start or end (a space, a no-break
//! space: `a ` would look like `a`), and is neither `.` nor `..`. A path has at most [`MAX_DEPTH`] segments
//! and at most [`MAX_BYTES`] bytes once normalised. `/` alone is the building root: it is a valid
//! place to list from, but no object lives at it.

use std::fmt;

/// Most segments a path may have.
pub const MAX_DEPTH: usize = 64;
/// Most bytes a normalised path may have.
pub const MAX_BYTES: usize = 1024;
/// Most bytes one segment may have.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Why a path was refused. Every message names the rule that was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path is empty; paths are absolute, like /electrical/panels/panel_1")]
    Empty,
    #[error("path {0:?} is not absolute: paths start with '/'")]
    NotAbsolute(String),
    #[error("path segment {segment:?} is {bytes} bytes long; a segment holds at most 255 bytes")]
    SegmentTooLong { segment: String, bytes: usize },
    #[error("path segment {0:?} contains a control character")]
    ControlCharacter(String),
    #[error("path segment \"{segment}\" contains the invisible character U+{code:04X}: characters that show nothing or reorder text would make two paths look the same")]
    InvisibleCharacter { segment: String, code: u32 },
    #[error("path segment {0:?} is not allowed: '.' and '..' cannot be part of a stored path")]
    DotSegment(String),
    #[error(
        "path segment {0:?} begins or ends with white space: \"a \" and \"a\" would look the same"
    )]
    EdgeSpace(String),
    #[error("name {0:?} contains '/', which separates path segments")]
    SlashInSegment(String),
    #[error("path has {0} levels; at most 64 are allowed")]
    TooDeep(usize),
    #[error("path is {0} bytes long; at most 1024 bytes are allowed")]
    TooLong(usize),
    #[error("'/' is the building root; an object needs a path below it, like /spaces")]
    Root,
    #[error("'..' at {0:?} goes above the building root")]
    AboveRoot(String),
}

impl PathError {
    /// A short, stable name for the rule, used as the SQL error's detail and by the API.
    pub fn rule(&self) -> &'static str {
        match self {
            PathError::Empty => "empty",
            PathError::NotAbsolute(_) => "not_absolute",
            PathError::SegmentTooLong { .. } => "segment_too_long",
            PathError::ControlCharacter(_) => "control_character",
            PathError::InvisibleCharacter { .. } => "invisible_character",
            PathError::DotSegment(_) => "dot_segment",
            PathError::EdgeSpace(_) => "edge_space",
            PathError::SlashInSegment(_) => "slash_in_segment",
            PathError::TooDeep(_) => "too_deep",
            PathError::TooLong(_) => "too_long",
            PathError::Root => "root",
            PathError::AboveRoot(_) => "above_root",
        }
    }
}

/// Checks one segment (a name between slashes).
pub fn check_segment(segment: &str) -> Result<(), PathError> {
    if segment == "." || segment == ".." {
        return Err(PathError::DotSegment(segment.to_owned()));
    }
    if segment.contains('/') {
        return Err(PathError::SlashInSegment(truncate_for_message(segment)));
    }
    if segment.len() > MAX_SEGMENT_BYTES {
        return Err(PathError::SegmentTooLong {
            segment: truncate_for_message(segment),
            bytes: segment.len(),
        });
    }
    if segment.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter(truncate_for_message(segment)));
    }
    if !segment.is_ascii() {
        if let Some(c) = invisible_in(segment) {
            return Err(PathError::InvisibleCharacter {
                segment: show_invisible(&truncate_for_message(segment)),
                code: u32::from(c),
            });
        }
    }
    if segment.starts_with(char::is_whitespace) || segment.ends_with(char::is_whitespace) {
        return Err(PathError::EdgeSpace(truncate_for_message(segment)));
    }
    Ok(())
}

/// The segment with its invisible characters written as `\u{...}`, so the message shows them:
/// those it always refuses, and the joiners, variation selectors and tag characters that
/// [`invisible_in`] allows only in their place.
fn show_invisible(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for c in segment.chars() {
        let placed = matches!(c, '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{E0020}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}');
        if is_invisible(c) || placed {
            crate::message::write_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters that show nothing (or only a blank) and carry no meaning of their own in a name,
/// so that two names differing by them would look the same: Unicode's default-ignorable code
/// points (the zero width space U+200B, the soft hyphen U+00AD, the combining grapheme joiner
/// U+034F, word joiner and invisible operators U+2060..U+2064, the deprecated format
/// characters U+206A..U+206F, the byte order mark U+FEFF, the Mongolian and Khmer ones, the
/// musical format characters, the reserved ones), the Hangul fillers (U+115F, U+1160, U+3164,
/// U+FFA0) and the braille blank U+2800, which render as blanks, the interlinear annotation
/// characters U+FFF9..U+FFFB, and every character that reorders text: the bidirectional
/// marks U+200E, U+200F and U+061C, the embeddings, overrides and isolates (U+202A..U+202E,
/// U+2066..U+2069) behind "Trojan Source" look-alikes, and the line and paragraph separators
/// U+2028/U+2029, which break a line as a control character would. Allowed, because scripts and emoji need
/// them: the joiners U+200C/U+200D (Persian, Indic scripts, emoji sequences), the variation
/// selectors (U+FE00..U+FE0F, U+E0100..U+E01EF: emoji and CJK glyph variants) and the tag
/// characters U+E0020..U+E007F (subdivision flags).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFFB}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E001F}' | '\u{E0080}'..='\u{E00FF}' | '\u{E01F0}'..='\u{E0FFF}')
}

/// The first character of `text` that shows nothing where it stands: one [`is_invisible`]
/// always is, or one of the characters it allows for the scripts and emoji that need them,
/// out of that place. A joiner (U+200C, U+200D) joins two characters that are not ASCII (an
/// emoji sequence, Persian, an Indic conjunct): `x\u{200d}y` would look like `xy`. A variation
/// selector follows a character that is not ASCII, or a keycap's digit, `#` or `*`. A tag
/// character follows the black flag U+1F3F4 or another tag character (subdivision flags).
pub fn invisible_in(text: &str) -> Option<char> {
    if text.is_ascii() {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len())
        .find(|&i| invisible_at(&chars, i))
        .map(|i| chars[i])
}

/// Whether the character at `i` of `chars` shows nothing where it stands ([`invisible_in`]).
pub fn invisible_at(chars: &[char], i: usize) -> bool {
    let wide = |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(|c| !c.is_ascii());
    let before = i.checked_sub(1);
    match chars[i] {
        '\u{200C}' | '\u{200D}' => !(wide(before) && wide(Some(i + 1))),
        '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' => !before
            .map(|b| chars[b])
            .is_some_and(|b| !b.is_ascii() || b.is_ascii_digit() || b == '#' || b == '*'),
        '\u{E0020}'..='\u{E007F}' => !before
            .map(|b| chars[b])
            .is_some_and(|b| b == '\u{1F3F4}' || ('\u{E0020}'..='\u{E007F}').contains(&b)),
        c => is_invisible(c),
    }
}

fn truncate_for_message(s: &str) -> String {
    if s.len() <= 40 {
        return s.to_owned();
    }
    let mut end = 40;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn join(segments: &[&str]) -> Result<String, PathError> {
    if segments.len() > MAX_DEPTH {
        return Err(PathError::TooDeep(segments.len()));
    }
    let mut out = String::with_capacity(segments.iter().map(|s| s.len() + 1).sum::<usize>().max(1));
    for s in segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() {
        out.push('/');
    }
    if out.len() > MAX_BYTES {
        return Err(PathError::TooLong(out.len()));
    }
    Ok(out)
}

/// Normalises an absolute path; `/` (the root) is accepted.
pub fn normalize(input: &str) -> Result<String, PathError> {
    if input.is_empty() {
        return Err(PathError::Empty);
    }
    if !input.starts_with('/') {
        return Err(PathError::NotAbsolute(truncate_for_message(input)));
    }
    let segments: Vec<&str> = input.split('/').filter(|s| !s.is_empty()).collect();
    for s in &segments {
        check_segment(s)?;
    }
    join(&segments)
}

/// Normalises the path of an object: like [`normalize`], but the root is refused.
pub fn normalize_object_path(input: &str) -> Result<String, PathError> {
    let p = normalize(input)?;
    if p == "/" {
        return Err(PathError::Root);
    }
    Ok(p)
}

/// Resolves `input` against the absolute, normalised `cwd`, the way a shell does: a relative
/// input is appended to `cwd`; `.` is dropped and `..` removes the previous segment, anywhere
/// in the path. The result is normalised and checked.
pub fn resolve(cwd: &str, input: &str) -> Result<String, PathError> {
    let mut segments: Vec<&str> = Vec::new();
    if !input.starts_with('/') {
        segments.extend(cwd.split('/').filter(|s| !s.is_empty()));
    }
    for s in input.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(PathError::AboveRoot(truncate_for_message(input)));
                }
            }
            s => segments.push(s),
        }
    }
    for s in &segments {
        check_segment(s)?;
    }
    join(&segments)
}

/// The parent of a normalised path (`/a/b` → `/a`, `/a` → `/`); `None` for the root.
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// The last segment of a normalised path (`""` for the root).
pub fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

/// Number of segments of a normalised path (0 for the root).
pub fn depth(path: &str) -> usize {
    if path == "/" {
        0
    } else {
        path.matches('/').count()
    }
}

/// The half-open key range `[lower, upper)` that holds exactly the strict descendants of a
/// normalised path under byte-wise (`COLLATE "C"`) ordering: `lower` is `path + "/"` and
/// `upper` is `path + "0"` (`'0'` is the byte after `'/'`). For the root it is `["/", "0")`.
pub fn descendant_range(path: &str) -> (String, String) {
    if path == "/" {
        return ("/".to_owned(), "0".to_owned());
    }
    (format!("{path}/"), format!("{path}0"))
}

/// True when `path` is `ancestor` or lies below it.
pub fn is_within(path: &str, ancestor: &str) -> bool {
    ancestor == "/"
        || path == ancestor
        || (path.len() > ancestor.len()
            && path.starts_with(ancestor)
            && path.as_bytes()[ancestor.len()] == b'/')
}

/// A path that is known to be normalised and valid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectPath(String);

impl ObjectPath {
    pub fn parse(input: &str) -> Result<Self, PathError> {
        normalize(input).map(ObjectPath)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn segments_do_not_begin_or_end_with_white_space() {
        assert_eq!(normalize("/spaces/Room 1").unwrap(), "/spaces/Room 1");
        for bad in [
            "/spaces/floor_1 ",
            "/ ",
            "/a/\u{a0}",
            "/\u{3000}x",
            "/x\u{2003}/y",
        ] {
            assert_eq!(normalize(bad).unwrap_err().rule(), "edge_space", "{bad:?}");
        }
    }

    #[test]
    fn normalises_slashes() {
        assert_eq!(normalize("/a//b///c/").unwrap(), "/a/b/c");
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("///").unwrap(), "/");
        assert_eq!(
            normalize("/electrical/circuits/2/outlet_2A").unwrap(),
            "/electrical/circuits/2/outlet_2A"
        );
    }

    #[test]
    fn refuses_bad_paths_naming_the_rule() {
        assert_eq!(normalize(""), Err(PathError::Empty));
        assert_eq!(normalize("a/b").unwrap_err().rule(), "not_absolute");
        assert_eq!(normalize("/a/./b").unwrap_err().rule(), "dot_segment");
        assert_eq!(normalize("/a/../b").unwrap_err().rule(), "dot_segment");
        assert_eq!(
            normalize("/a/b\tc").unwrap_err().rule(),
            "control_character"
        );
        assert_eq!(
            normalize("/a/\u{7f}").unwrap_err().rule(),
            "control_character"
        );
        for invisible in ["\u{200b}", "\u{202e}", "\u{2066}", "\u{feff}", "\u{2060}"] {
            let err = normalize(&format!("/room{invisible}101")).unwrap_err();
            assert_eq!(err.rule(), "invisible_character");
        }
        let msg = normalize("/panel\u{202e}1").unwrap_err().to_string();
        assert!(msg.contains("U+202E"), "{msg}");
        assert!(
            msg.contains(r#""panel\u{202e}1""#),
            "the segment is shown escaped: {msg}"
        );
        // Joiners and marks that scripts need are names.
        assert!(normalize("/\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}").is_ok());
        assert!(normalize("/👩\u{200d}🔧").is_ok());
        // out of their place, joiners and variation selectors show nothing
        for hidden in [
            "/x\u{200d}y",
            "/room\u{200c}",
            "/\u{200d}👩",
            "/x\u{fe0f}",
            "/a\u{e0067}",
        ] {
            assert!(
                matches!(normalize(hidden), Err(PathError::InvisibleCharacter { .. })),
                "{hidden:?}"
            );
        }
        let long = "x".repeat(256);
        assert_eq!(
            normalize(&format!("/{long}")).unwrap_err().rule(),
            "segment_too_long"
        );
        assert!(normalize(&format!("/{}", "x".repeat(255))).is_ok());
        assert_eq!(normalize_object_path("//").unwrap_err().rule(), "root");
        let msg = normalize("/a/..").unwrap_err().to_string();
        assert!(msg.contains("'..'"), "{msg}");
    }

    #[test]
    fn depth_and_length_limits() {
        let deep64 = "/a".repeat(64);
        assert!(normalize(&deep64).is_ok());
        assert_eq!(normalize(&"/a".repeat(65)), Err(PathError::TooDeep(65)));
        // 4 segments of 255 bytes + 4 slashes = 1024 bytes: allowed; one more byte is not.
        let seg = "y".repeat(255);
        let p = format!("/{seg}/{seg}/{seg}/{seg}");
        assert_eq!(p.len(), 1024);
        assert!(normalize(&p).is_ok());
        let p = format!("{p}/z");
        assert_eq!(normalize(&p), Err(PathError::TooLong(1026)));
    }

    #[test]
    fn a_segment_never_holds_a_slash() {
        assert_eq!(check_segment("a/b").unwrap_err().rule(), "slash_in_segment");
        assert_eq!(check_segment("/").unwrap_err().rule(), "slash_in_segment");
        assert!(check_segment("a b").is_ok());
    }

    #[test]
    fn multibyte_segments_count_bytes() {
        let seg = "é".repeat(127); // 254 bytes
        assert!(normalize(&format!("/{seg}")).is_ok());
        let seg = "é".repeat(128); // 256 bytes
        assert_eq!(
            normalize(&format!("/{seg}")).unwrap_err().rule(),
            "segment_too_long"
        );
    }

    #[test]
    fn resolves_relative_paths() {
        assert_eq!(
            resolve("/electrical/circuits/2", "..").unwrap(),
            "/electrical/circuits"
        );
        assert_eq!(
            resolve("/electrical", "circuits/2/../1").unwrap(),
            "/electrical/circuits/1"
        );
        assert_eq!(resolve("/electrical", "/plumbing").unwrap(), "/plumbing");
        assert_eq!(
            resolve("/electrical", "./panels//panel_1/").unwrap(),
            "/electrical/panels/panel_1"
        );
        assert_eq!(resolve("/a", "../..").unwrap_err().rule(), "above_root");
        assert_eq!(resolve("/", "..").unwrap_err().rule(), "above_root");
        assert_eq!(resolve("/a/b", "/").unwrap(), "/");
    }

    #[test]
    fn parents_names_depths_ranges() {
        assert_eq!(parent("/a/b/c"), Some("/a/b"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(name("/a/b/outlet_2A"), "outlet_2A");
        assert_eq!(depth("/"), 0);
        assert_eq!(depth("/a/b"), 2);
        assert_eq!(descendant_range("/a"), ("/a/".to_owned(), "/a0".to_owned()));
        assert!(is_within("/a/b", "/a"));
        assert!(is_within("/a", "/a"));
        assert!(!is_within("/ab", "/a"));
        assert!(is_within("/ab", "/"));
    }

    fn segment() -> impl Strategy<Value = String> {
        // Printable segments, including '_', '%', '-', '#', ':' and multibyte characters.
        proptest::string::string_regex("[a-zA-Z0-9_%#:é漢-]{1,12}").unwrap()
    }

    /// Segments that break the rules as often as they keep them: empty (a doubled slash), dots,
    /// control characters, and lengths around the 255-byte limit in multibyte characters.
    /// The oracle's own reading of the invisible-character rule: a character always invisible,
    /// or a joiner (U+200C, U+200D) not between two characters beyond ASCII (the generated
    /// segments hold no variation selector or tag character).
    fn shows_nothing(s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        (0..chars.len()).any(|i| match chars[i] {
            '\u{200C}' | '\u{200D}' => {
                i == 0 || chars[i - 1].is_ascii() || chars.get(i + 1).is_none_or(|n| n.is_ascii())
            }
            c => is_invisible(c),
        })
    }

    fn hostile_segment() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => segment(),
            1 => Just(String::new()),
            1 => prop_oneof![Just(".".to_owned()), Just("..".to_owned()), Just("...".to_owned())],
            1 => "[a-z]{0,3}[\\x00-\\x1f\\x7f\\u{85}][a-z]{0,3}",
            1 => "[a-zé]{0,3}[\\u{200b}-\\u{200f}\\u{202a}-\\u{202e}\\u{2060}-\\u{2069}\\u{feff}][a-z]{0,3}",
            1 => (250usize..260).prop_map(|n| "x".repeat(n)),
            1 => (83usize..88).prop_map(|n| "漢".repeat(n)),
            1 => (60usize..130).prop_map(|n| "a".repeat(n)),
            1 => "[ \u{a0}\u{3000}][a-z]{0,3}|[a-z]{1,3}[ \u{a0}\u{2003}]|[a-z] [a-z]",
        ]
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent(segs in proptest::collection::vec(segment(), 0..10), slashes in 1usize..4) {
            let sep = "/".repeat(slashes);
            let raw = format!("{sep}{}{sep}", segs.join(&sep));
            let n = normalize(&raw).unwrap();
            prop_assert_eq!(normalize(&n).unwrap(), n.clone());
            prop_assert_eq!(depth(&n), segs.len());
            prop_assert!(!n.contains("//"));
            prop_assert!(n == "/" || !n.ends_with('/'));
        }

        #[test]
        fn descendant_range_matches_is_within(a in proptest::collection::vec(segment(), 1..4), b in proptest::collection::vec(segment(), 1..6)) {
            let p = normalize(&format!("/{}", a.join("/"))).unwrap();
            let q = normalize(&format!("/{}", b.join("/"))).unwrap();
            let (lo, hi) = descendant_range(&p);
            let in_range = q.as_bytes() >= lo.as_bytes() && q.as_bytes() < hi.as_bytes();
            prop_assert_eq!(in_range, is_within(&q, &p) && q != p);
        }

        #[test]
        fn resolve_never_panics(cwd in proptest::collection::vec(segment(), 0..4), input in "[a-z./]{0,20}") {
            let cwd = normalize(&format!("/{}", cwd.join("/"))).unwrap();
            if let Ok(p) = resolve(&cwd, &input) {
                prop_assert_eq!(normalize(&p).unwrap(), p);
            }
        }

        /// Any string at all, built to hit every rule and its boundaries: normalize either
        /// refuses it with the rule an independent reading of the grammar names first, or
        /// returns a path that keeps every limit.
        #[test]
        fn normalize_agrees_with_the_rules(segs in proptest::collection::vec(hostile_segment(), 0..70), relative in proptest::bool::weighted(0.05)) {
            let raw = if relative { segs.join("/") } else { format!("/{}", segs.join("/")) };
            let kept: Vec<&String> = segs.iter().filter(|s| !s.is_empty()).collect();
            let expected = if raw.is_empty() {
                Err("empty")
            } else if !raw.starts_with('/') {
                Err("not_absolute")
            } else if let Some(bad) = kept.iter().find(|s| {
                s.len() > MAX_SEGMENT_BYTES || s.chars().any(char::is_control) || shows_nothing(s) || s.as_str() == "." || s.as_str() == ".."
                    || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace)
            }) {
                Err(if bad.len() > MAX_SEGMENT_BYTES {
                    "segment_too_long"
                } else if bad.chars().any(char::is_control) {
                    "control_character"
                } else if shows_nothing(bad) {
                    "invisible_character"
                } else if bad.as_str() == "." || bad.as_str() == ".." {
                    "dot_segment"
                } else {
                    "edge_space"
                })
            } else if kept.len() > MAX_DEPTH {
                Err("too_deep")
            } else if kept.iter().map(|s| s.len() + 1).sum::<usize>() > MAX_BYTES {
                Err("too_long")
            } else {
                Ok(())
            };
            match normalize(&raw) {
                Ok(p) => {
                    prop_assert_eq!(expected, Ok(()), "accepted {:?}", raw);
                    prop_assert!(p.len() <= MAX_BYTES && depth(&p) <= MAX_DEPTH);
                    prop_assert!(p.starts_with('/') && !p.contains("//"));
                    prop_assert!(p == "/" || !p.ends_with('/'));
                    for s in p.split('/').skip(1).filter(|s| !s.is_empty()) {
                        prop_assert!(check_segment(s).is_ok());
                    }
                }
                Err(e) => prop_assert_eq!(expected, Err(e.rule()), "{}", e),
            }
        }

        #[test]
        fn parent_of_child_is_self(a in proptest::collection::vec(segment(), 0..5), c in segment()) {
            let p = normalize(&format!("/{}", a.join("/"))).unwrap();
            let child = if p == "/" { format!("/{c}") } else { format!("{p}/{c}") };
            prop_assert_eq!(parent(&child), Some(p.as_str()));
            prop_assert_eq!(name(&child), c.as_str());
        }
    }
}
