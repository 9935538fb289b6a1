//! Path segments from source ids: kept as they are when they are portable names, otherwise
//! rewritten deterministically with a hash of the original so that different ids never share
//! a segment.

/// Longest segment the importer produces (the grammar allows 255 bytes).
const MAX_KEPT: usize = 200;
/// Bytes of the readable part of a rewritten segment, before the hash.
const MAX_BASE: usize = 120;

/// True for names kept verbatim: ASCII letters, digits, `_`, `-` and `.`, not starting with `.`.
pub fn is_portable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEPT
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// FNV-1a, 64 bits: stable across versions and platforms (unlike std's hasher).
pub fn fnv64(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The segment of an id: the id itself when portable; else its portable characters (runs of
/// others become `_`), `~` and 8 hex digits of the id's hash. `~` never occurs in a portable
/// name, so a rewritten segment cannot equal a kept one.
pub fn segment(id: &str) -> String {
    if is_portable(id) {
        return id.to_owned();
    }
    rewritten(id, 8)
}

/// The rewritten form with `digits` hex digits of the hash (8 or 16).
pub fn rewritten(id: &str, digits: usize) -> String {
    let mut base = String::new();
    let mut in_run = false;
    for c in id.chars() {
        if base.len() >= MAX_BASE {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
            base.push(c);
            in_run = false;
        } else if !in_run {
            base.push('_');
            in_run = true;
        }
    }
    let base = base.trim_start_matches('.');
    let hash = format!("{:016x}", fnv64(id));
    format!("{base}~{}", &hash[16 - digits.min(16)..])
}

/// The snake_case form of a relation name, valid as a connection kind
/// (`^[a-z][a-z0-9_]{0,62}$`): `isFedBy` → `is_fed_by`, `hot-water` → `hot_water`. A name
/// that loses more than its ASCII punctuation and case on the way (non-ASCII letters, a
/// first character that is no letter, or beyond 63 bytes) ends in `_` and 8 hex digits of its
/// hash, so that distinct names such as `feeds` and `feedsÜber`, or `9lives` and `r_9lives`,
/// stay distinct kinds.
pub fn kind(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
            prev_lower = true;
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let trimmed = out.trim_matches('_');
    // A kind starts with a letter: a name that does not gets a prefix (`r_9lives`), or is
    // `related` when it has no letter or digit at all. Both are as lossy as a non-ASCII
    // name: `9lives` and a name `r_9lives`, or `--` and `related`, would otherwise fold into
    // one kind (found by an audit).
    let prefixed = !trimmed.starts_with(|c: char| c.is_ascii_lowercase());
    let mut kind = match (prefixed, trimmed.is_empty()) {
        (false, _) => trimmed.to_owned(),
        (true, false) => format!("r_{trimmed}"),
        (true, true) => "related".to_owned(),
    };
    let lossy = !name.is_ascii() || prefixed || kind.len() > 63;
    kind.truncate(if lossy { 63 - 9 } else { 63 });
    while kind.ends_with('_') {
        kind.pop();
    }
    if lossy {
        let hash = format!("{:016x}", fnv64(name));
        kind.push('_');
        kind.push_str(&hash[8..]);
    }
    kind
}

#[cfg(test)]
mod tests {
    use super::*;
    use arxos_core::path::check_segment;

    #[test]
    fn portable_ids_are_kept() {
        assert_eq!(segment("AHU-1"), "AHU-1");
        assert_eq!(segment("a-0001"), "a-0001");
        assert_eq!(segment("vav_2.3"), "vav_2.3");
    }

    #[test]
    fn other_ids_are_rewritten_deterministically_and_validly() {
        for id in [
            "p:demo:r:23a3d-4a1",
            "AHU#1",
            "room 101",
            "..",
            ".hidden",
            "é",
            "a/b",
            "",
        ] {
            let s = segment(id);
            assert_eq!(s, segment(id), "deterministic");
            assert!(s.contains('~'), "{s}");
            check_segment(&s).unwrap();
        }
        assert_eq!(
            segment("AHU#1"),
            format!("AHU_1~{:08x}", fnv64("AHU#1") & 0xffff_ffff)
        );
    }

    #[test]
    fn ids_that_read_alike_stay_apart() {
        assert_ne!(segment("AHU#1"), segment("AHU:1"));
        assert_ne!(segment("AHU#1"), segment("AHU_1"));
        assert_ne!(rewritten("x y", 8), rewritten("x y", 16));
    }

    #[test]
    fn long_ids_are_bounded() {
        let id = "#".repeat(10) + &"a".repeat(500);
        let s = segment(&id);
        assert!(s.len() <= MAX_BASE + 17);
        check_segment(&s).unwrap();
    }

    #[test]
    fn kinds_are_snake_case() {
        assert_eq!(kind("feeds"), "feeds");
        assert_eq!(kind("isFedBy"), "is_fed_by");
        assert_eq!(kind("airRef"), "air_ref");
        assert_eq!(kind("hotWaterRef"), "hot_water_ref");
        assert!(
            kind("9lives").starts_with("r_9lives_"),
            "{}",
            kind("9lives")
        );
        assert!(kind("--").starts_with("related_"), "{}", kind("--"));
        // names that are kinds as they are stay so; rewritten ones do not meet them
        assert_eq!(kind("r"), "r");
        assert_eq!(kind("related"), "related");
        assert_eq!(kind("r_9lives"), "r_9lives");
        assert_ne!(kind("9lives"), kind("_9lives"));
        for k in [kind("9lives"), kind("--"), kind("_1abc")] {
            assert!(
                k.len() <= 63 && k.starts_with(|c: char| c.is_ascii_lowercase()),
                "{k}"
            );
        }
        let long = kind(&"a".repeat(100));
        assert_eq!(long.len(), 63);
    }

    #[test]
    fn lossy_kinds_keep_distinct_names_distinct() {
        let plain = kind("feeds");
        let umlaut = kind("feedsÜber");
        assert_ne!(plain, umlaut);
        assert!(umlaut.starts_with("feeds_ber_"), "{umlaut}");
        assert_ne!(kind("Ü"), kind("É"));
        assert_eq!(kind("Ü"), kind("Ü"), "deterministic");
        let a = kind(&("a".repeat(70) + "x"));
        let b = kind(&("a".repeat(70) + "y"));
        assert_ne!(a, b);
        for k in [umlaut, a, b, kind("Ü"), kind("_Ü_")] {
            assert!(k.len() <= 63, "{k}");
            assert!(k.starts_with(|c: char| c.is_ascii_lowercase()), "{k}");
            assert!(
                k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{k}"
            );
        }
    }
}
