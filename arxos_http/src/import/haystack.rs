//! Project Haystack records (a Hayson JSON grid, a JSON array of dicts, the Haystack 3 JSON
//! encoding with `m:`/`r:`/`n:` prefixes, or a Zinc grid) → [`Model`]. Zinc is decoded by
//! `libhaystack` and read as the Hayson grid it encodes to.
//!
//! `site` records sit at the top; equipment under its `equipRef` (equipment under equipment),
//! else its `spaceRef`, `floorRef` or `siteRef`; points the same way. Other refs (`airRef`,
//! `hotWaterRef`, `chilledWaterRef`, …) become connections from the record to the one it
//! refers to, of kind `air_ref` etc. Tags become properties: markers `true`, numbers
//! `{"value", "unit"}` (or a bare number without unit), refs `"@id"`.

use serde_json::{json, Map, Value};

use super::model::{Entity, Model, Relation, Skipped};
use super::sanitize;
use super::ImportError;

/// Refs that place a record in the tree, in order of preference.
const PARENT_REFS: &[&str] = &["equipRef", "spaceRef", "floorRef", "siteRef"];

/// Equipment markers that name a type, in order of preference.
const EQUIP_TYPES: &[&str] = &[
    "ahu",
    "rtu",
    "mau",
    "doas",
    "vav",
    "fcu",
    "uv",
    "chiller",
    "boiler",
    "coolingTower",
    "heatExchanger",
    "pump",
    "fan",
    "meter",
    "elecPanel",
    "circuit",
    "luminaire",
    "tank",
    "valve",
    "damper",
    "vfd",
    "actuator",
];

/// A decoded Haystack value.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Marker,
    Remove,
    Ref(String),
    /// As written in the file (serde_json keeps a number's digits): no round trip through f64.
    Number(serde_json::Number, Option<String>),
    Other(Value),
}

/// Hayson (Haystack 4 JSON) value.
fn hayson(v: &Value) -> Kind {
    let Some(obj) = v.as_object() else {
        return match v {
            Value::Number(n) => Kind::Number(n.clone(), None),
            other => Kind::Other(other.clone()),
        };
    };
    // Kinds in any case: some tools write `"Ref"`, `"Marker"` (shaystack's samples; found by
    // a review: every record was skipped as having no id).
    let kind = obj
        .get("_kind")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    match kind.as_deref() {
        Some("marker") => Kind::Marker,
        Some("remove") => Kind::Remove,
        // (an empty id names nothing: kept as given, not a ref to "")
        Some("ref") => match obj
            .get("val")
            .and_then(Value::as_str)
            .map(|id| id.trim_start_matches('@'))
        {
            Some(id) if !id.is_empty() => Kind::Ref(id.to_owned()),
            _ => Kind::Other(v.clone()),
        },
        Some("number") => {
            let unit = obj.get("unit").and_then(Value::as_str).map(str::to_owned);
            match obj.get("val") {
                Some(Value::Number(n)) => Kind::Number(n.clone(), unit),
                // "INF", "-INF", "NaN": no JSON number; kept as given.
                _ => Kind::Other(v.clone()),
            }
        }
        _ => Kind::Other(v.clone()),
    }
}

/// Haystack 3 JSON value (`m:`, `r:id dis`, `n:72 °F`, `s:text`, …). Lists and dicts hold
/// such strings too: their items take the Hayson form a Zinc file gives them ([`v3_nested`]).
fn v3(v: &Value) -> Kind {
    let Some(s) = v.as_str() else {
        return match v {
            Value::Array(_) => Kind::Other(v3_nested(v)),
            Value::Object(o) if !o.contains_key("_kind") => Kind::Other(v3_nested(v)),
            _ => hayson(v),
        };
    };
    let Some((tag, rest)) = s.split_at_checked(2).filter(|(t, _)| t.ends_with(':')) else {
        return Kind::Other(v.clone());
    };
    match tag {
        "m:" => Kind::Marker,
        "-:" => Kind::Remove,
        "z:" => Kind::Other(json!({"_kind": "na"})),
        "r:" => match rest.split(' ').next().unwrap_or("") {
            // an empty id names nothing (found by an audit: it became the property "@")
            "" => Kind::Other(v.clone()),
            id => Kind::Ref(id.to_owned()),
        },
        "n:" => {
            let mut parts = rest.splitn(2, ' ');
            let number = parts.next().unwrap_or("");
            let unit = parts.next().map(str::to_owned).filter(|u| !u.is_empty());
            // Its digits as written when they are a JSON number; otherwise (`+5`, `.5`) the
            // value f64 reads. Haystack's NaN, INF and -INF, which no JSON number holds, take
            // their Hayson form, as from Hayson and Zinc files; anything else stays as given.
            if matches!(number, "NaN" | "INF" | "-INF") {
                let mut special = json!({"_kind": "number", "val": number});
                if let Some(unit) = unit {
                    special["unit"] = json!(unit);
                }
                return Kind::Other(special);
            }
            // A JSON number beyond a double (`1e400`) is a number too, as in Hayson, for the
            // store's bounds to judge and report (found by an audit: it was kept as the string).
            match serde_json::from_str::<serde_json::Number>(number)
                .ok()
                .or_else(|| {
                    number
                        .parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .and_then(serde_json::Number::from_f64)
                }) {
                Some(n) => Kind::Number(n, unit),
                None => Kind::Other(v.clone()),
            }
        }
        "s:" => Kind::Other(json!(rest)),
        // The other kinds as their Hayson form, which Zinc and Hayson files give too (found by
        // a review: the same model imported from Haystack 3 JSON and then from Zinc reported
        // updates): coordinates, times, dates, date-times, URIs, XStrs and Bins.
        "c:" => {
            let coord = rest.split_once(',').and_then(|(lat, lng)| {
                let lat = lat.trim().parse::<f64>().ok().filter(|f| f.is_finite())?;
                let lng = lng.trim().parse::<f64>().ok().filter(|f| f.is_finite())?;
                Some(json!({"_kind": "coord", "lat": lat, "lng": lng}))
            });
            Kind::Other(coord.unwrap_or_else(|| v.clone()))
        }
        "h:" => Kind::Other(json!({"_kind": "time", "val": rest})),
        "d:" => Kind::Other(json!({"_kind": "date", "val": rest})),
        // (libhaystack leaves the zone out when it is UTC, and writes a Bin as an XStr)
        "t:" => Kind::Other(match rest.rsplit_once(' ') {
            Some((val, "UTC")) => json!({"_kind": "dateTime", "val": val}),
            Some((val, tz)) => json!({"_kind": "dateTime", "val": val, "tz": tz}),
            None => json!({"_kind": "dateTime", "val": rest}),
        }),
        "u:" => Kind::Other(json!({"_kind": "uri", "val": rest})),
        "x:" => Kind::Other(match rest.split_once(':') {
            Some((kind, val)) => json!({"_kind": "xstr", "type": kind, "val": val}),
            None => v.clone(),
        }),
        "b:" => Kind::Other(json!({"_kind": "xstr", "type": "Bin", "val": rest})),
        _ => Kind::Other(v.clone()),
    }
}

/// A Haystack 3 list or dict with its items decoded to the Hayson form Zinc's decoder writes
/// for them (a ref `{"_kind": "ref", "val", "dis"?}`, a marker `{"_kind": "marker"}`, a
/// number with a unit `{"_kind": "number", "val", "unit"}`, without one a JSON number), so
/// the same model imports alike from either file (found by an audit: `["r:s.hq", "n:3 m"]`
/// was stored as those strings).
fn v3_nested(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(v3_nested).collect()),
        Value::Object(o) if !o.contains_key("_kind") => Value::Object(
            o.iter()
                .map(|(k, item)| (k.clone(), v3_nested(item)))
                .collect(),
        ),
        Value::String(s) => match v3(v) {
            Kind::Marker => json!({"_kind": "marker"}),
            Kind::Remove => json!({"_kind": "remove"}),
            Kind::Ref(id) => {
                let mut item = json!({"_kind": "ref", "val": id});
                if let Some((_, dis)) = s[2..].split_once(' ').filter(|(_, d)| !d.is_empty()) {
                    item["dis"] = json!(dis);
                }
                item
            }
            Kind::Number(n, Some(unit)) => json!({"_kind": "number", "val": n, "unit": unit}),
            Kind::Number(n, None) => Value::Number(n),
            Kind::Other(other) => other,
        },
        other => other.clone(),
    }
}

fn property(kind: &Kind) -> Value {
    match kind {
        Kind::Marker => json!(true),
        Kind::Remove => Value::Null,
        Kind::Ref(id) => json!(format!("@{id}")),
        Kind::Number(n, Some(unit)) => json!({"value": n, "unit": unit}),
        Kind::Number(n, None) => json!(n),
        Kind::Other(v) => v.clone(),
    }
}

/// The records of a file (as JSON objects) and whether they use the Haystack 3 encoding.
type Records<'a> = (Vec<&'a Map<String, Value>>, bool);

fn records(doc: &Value) -> Result<Records<'_>, ImportError> {
    // JSON-LD (Brick's other form) would read as records without ids, every one skipped.
    let json_ld = |o: &Map<String, Value>| {
        ["@context", "@graph", "@id", "@type"]
            .iter()
            .any(|k| o.contains_key(*k))
    };
    let is_json_ld = match doc {
        Value::Object(o) => json_ld(o),
        Value::Array(rows) => rows.first().and_then(Value::as_object).is_some_and(json_ld),
        _ => false,
    };
    if is_json_ld {
        return Err(ImportError::Format(
            "this is JSON-LD, which is not imported: give Brick as Turtle (or N-Triples), Haystack as JSON or Zinc".into(),
        ));
    }
    let (rows, meta_v3) = match doc {
        Value::Array(rows) => (rows, None),
        Value::Object(grid) => match grid.get("rows") {
            Some(Value::Array(rows)) => {
                let ver = grid
                    .get("meta")
                    .and_then(|m| m.get("ver"))
                    .and_then(Value::as_str);
                // A Hayson grid says so (`"_kind": "grid"`), whatever its `ver` (Haystack 4
                // grids still carry ver "3.0"); otherwise ver 2 or 3 means the string
                // encoding of Haystack 2 and 3 JSON. (The rows' ids, when they tell, decide
                // first: below.)
                let hayson = grid
                    .get("_kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.eq_ignore_ascii_case("grid"));
                (
                    rows,
                    ver.map(|v| !hayson && (v.starts_with('3') || v.starts_with('2')))
                        .or(hayson.then_some(false)),
                )
            }
            _ => {
                return Err(ImportError::Format(
                    "a Haystack file is a JSON grid with \"rows\", or a JSON array of records"
                        .into(),
                ))
            }
        },
        _ => {
            return Err(ImportError::Format(
                "a Haystack file is a JSON grid with \"rows\", or a JSON array of records".into(),
            ))
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match row.as_object() {
            Some(r) => out.push(r),
            None => {
                return Err(ImportError::Format(
                    "every Haystack row must be a JSON object".into(),
                ))
            }
        }
    }
    // The ids tell the encoding when they are all of one: `"r:…"` strings (Haystack 2 and 3
    // JSON) or `{"_kind": "ref"}` objects (Hayson). Only when they do not does the grid's meta
    // decide (found by an audit: a ver 2.0 grid, or a Hayson-marked grid of "r:" ids, had every
    // row skipped as "without an id ref", answered 200).
    let string_ids = out.iter().any(|r| {
        r.get("id")
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with("r:"))
    });
    let hayson_ids = out.iter().any(|r| {
        r.get("id")
            .and_then(|id| id.get("_kind"))
            .and_then(Value::as_str)
            .is_some_and(|k| k.eq_ignore_ascii_case("ref"))
    });
    let is_v3 = match (string_ids, hayson_ids) {
        (true, false) => true,
        (false, true) => false,
        _ => meta_v3.unwrap_or(string_ids),
    };
    Ok((out, is_v3))
}

/// What may stand before a Zinc grid's `ver:` line: a byte order mark, blank lines, spaces.
const BEFORE_ZINC: [char; 5] = ['\u{feff}', ' ', '\t', '\r', '\n'];

/// Whether the text is a Zinc grid (it opens with its `ver:` line).
pub fn is_zinc(text: &str) -> bool {
    text.trim_start_matches(BEFORE_ZINC).starts_with("ver:")
}

/// A Zinc grid, decoded by libhaystack, as the Hayson JSON grid it encodes to.
/// The deepest Zinc nesting a file may have: the limit Haystack JSON meets in serde_json (whose
/// recursion limit of 128 lets 127 levels through).
/// libhaystack's Zinc decoder recurses once per level without a limit of its own, and a
/// thread's stack overflowing aborts the whole process: a kilobyte of `[` stopped the server.
const ZINC_DEPTH_MAX: usize = 127;

/// What a look at a Zinc text before any parser sees it finds: how deep its lists `[…]`, dicts
/// `{…}` and nested grids `<<…>>` nest, outside strings (`"…"`) and URIs (`` `…` ``), both
/// with backslash escapes, and whether it holds a second grid. Unbalanced text is the parser's
/// to refuse.
#[derive(Debug, PartialEq)]
struct ZincShape {
    depth: usize,
    /// The line of a `ver:` that starts a cell, neither the file's first nor right after `<<`:
    /// libhaystack reads one as a nested grid without its `<<` (each a level deeper, none
    /// closed: 500 of them, 6 KB, overflowed its stack and aborted the server), and swallows a
    /// second file joined on (`cat a.zinc b.zinc`) into a cell of the first's last row (found
    /// by a review: three records lost, one listed as without an id).
    second_grid: Option<usize>,
}

fn zinc_shape(text: &str) -> ZincShape {
    let (mut level, mut deepest) = (0usize, 0usize);
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut second_grid = None;
    // where a cell starts (the text's start, a line's, after a comma), spaces aside, and
    // whether that is right after `<<` (blank lines aside)
    let (mut cell_start, mut after_nest, mut first_token) = (true, false, true);
    let mut line = 1;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        i += 1;
        if byte == b'\n' {
            line += 1;
        }
        if let Some(q) = quote {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                _ if byte == q => quote = None,
                _ => {}
            }
            continue;
        }
        let next = bytes.get(i).copied();
        match byte {
            b' ' | b'\t' | b'\r' => continue,
            b'\n' | b',' => {
                cell_start = true;
                continue;
            }
            b'v' if cell_start
                && !first_token
                && !after_nest
                && second_grid.is_none()
                && bytes[i - 1..].starts_with(b"ver:") =>
            {
                second_grid = Some(line);
            }
            b'"' | b'`' => quote = Some(byte),
            b'[' | b'{' => level += 1,
            b'<' if next == Some(b'<') => {
                i += 1;
                level += 1;
                deepest = deepest.max(level);
                (cell_start, after_nest, first_token) = (true, true, false);
                continue;
            }
            b']' | b'}' => level = level.saturating_sub(1),
            b'>' if next == Some(b'>') => {
                i += 1;
                level = level.saturating_sub(1);
            }
            _ => {}
        }
        deepest = deepest.max(level);
        (cell_start, after_nest, first_token) = (false, false, false);
    }
    ZincShape {
        depth: deepest,
        second_grid,
    }
}

fn zinc_to_hayson(text: &str) -> Result<Value, ImportError> {
    // Windows line ends (CRLF) read as line ends: libhaystack's decoder takes only LF, and a
    // raw CR cannot stand inside a Zinc string or URI (they escape it), only between lines.
    // What is_zinc steps over before `ver:` is stepped over here too: libhaystack's decoder
    // takes a leading space but not a blank line.
    let trimmed = text.trim_start_matches(BEFORE_ZINC);
    let prefix = &text[..text.len() - trimmed.len()];
    let lines_before = prefix.matches('\n').count();
    let shape = zinc_shape(trimmed);
    if shape.depth > ZINC_DEPTH_MAX {
        return Err(ImportError::Syntax(format!(
            "Zinc: values nest {} levels deep; a file may nest at most {ZINC_DEPTH_MAX}",
            shape.depth
        )));
    }
    if let Some(line) = shape.second_grid {
        return Err(ImportError::Format(format!(
            "a Zinc file must hold one grid: line {} starts another (`ver:` outside `<<…>>`; two files joined?)",
            line + lines_before
        )));
    }
    let (mut text, joined) = join_surrogate_escapes(&trimmed.replace("\r\n", "\n"), lines_before)?;
    // The last row ends its line: libhaystack's decoder dropped a last row of one cell
    // written without a line end (`@b` after `@a\n`), silently (found by a review).
    if !text.ends_with('\n') {
        text.push('\n');
    }
    zinc_numbers_in_range(&text, lines_before)?;
    let grid = libhaystack::encoding::zinc::decode::from_str(&text)
        .map_err(|e| ImportError::Syntax(zinc_error(&e.to_string(), &text, prefix, &joined)))?;
    let libhaystack::val::Value::Grid(g) = &grid else {
        return Err(ImportError::Format("a Zinc file must hold one grid".into()));
    };
    // Column names are unique (the Zinc grammar says so; the decoder kept the last value of a
    // name given twice, silently: found by a review), as a JSON record's keys are.
    let mut names = std::collections::HashSet::new();
    if let Some(twice) = g.columns.iter().find(|c| !names.insert(c.name.as_str())) {
        return Err(ImportError::Format(format!(
            "Zinc: the column {:?} is given twice; column names are unique in a grid",
            twice.name
        )));
    }
    let mut hayson =
        serde_json::to_value(&grid).map_err(|e| ImportError::Syntax(format!("Zinc: {e}")))?;
    renumber(&grid, &mut hayson);
    Ok(hayson)
}

/// Numbers past what a 64-bit float holds (`1e999`, `1e-999kW`, a 1 and 400 zeros) are
/// refused, with their line: libhaystack's decoder read them as infinity and 0, and imported
/// them as `INF` and 0 without a word, where Haystack JSON's numbers past the bounds are
/// skipped and listed (found by a review). Strings, URIs, refs and names are stepped over.
/// `lines_before`: the lines stepped over before `ver:`, for the line a refusal names.
fn zinc_numbers_in_range(text: &str, lines_before: usize) -> Result<(), ImportError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b'"' | b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != byte {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            // refs (`@p1e999`, `@a:b-1e999`) and symbols: not numbers
            b'@' | b'^' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || b"_:-.~".contains(&bytes[i]))
                {
                    i += 1;
                }
            }
            // tag names (`{v:1e999}`: the value after the colon is read), markers and units
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            b'0'..=b'9' | b'-'
                if byte != b'-' || bytes.get(i + 1).is_some_and(u8::is_ascii_digit) =>
            {
                let start = i;
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_digit()
                        || bytes[i] == b'_'
                        || bytes[i] == b'.'
                        || ((bytes[i] == b'e' || bytes[i] == b'E')
                            && bytes
                                .get(i + 1)
                                .is_some_and(|b| b.is_ascii_digit() || *b == b'-' || *b == b'+'))
                        || ((bytes[i] == b'-' || bytes[i] == b'+')
                            && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                // (every number: `1` and 400 zeros overflows as surely as `1e400`; found by
                // a review)
                let token = &text[start..i];
                let digits = token.replace('_', "");
                let mantissa_nonzero = digits
                    .split(['e', 'E'])
                    .next()
                    .is_some_and(|m| m.bytes().any(|b| (b'1'..=b'9').contains(&b)));
                match digits.parse::<f64>() {
                    Ok(v) if v.is_finite() && (v != 0.0 || !mantissa_nonzero) => {}
                    _ => {
                        let line = lines_before + text[..start].matches('\n').count() + 1;
                        return Err(ImportError::Syntax(format!(
                            "Zinc: the number {token} on line {line} is out of range: a number's magnitude lies between about 2.2e-308 and 1.8e308 (or is 0)"
                        )));
                    }
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// A character beyond U+FFFF written as an escaped UTF-16 surrogate pair in a Zinc string or URI
/// (`"\uD83D\uDE00"`, as JSON writes it) becomes the character itself: libhaystack's decoder
/// reads each `\uXXXX` alone and turned both halves into U+FFFD, silently (found by a review;
/// Haystack JSON kept the character). A half without its other half is no character: refused,
/// with its line, as the Turtle and JSON readers refuse it.
/// `lines_before`: the lines stepped over before `ver:`, for the line a refusal names.
/// Also returns where (byte offsets of the result) a pair became one character: an error's
/// column counts the pair's 12 characters of the file there.
fn join_surrogate_escapes(
    text: &str,
    lines_before: usize,
) -> Result<(String, Vec<usize>), ImportError> {
    fn hex4(bytes: &[u8]) -> Option<u32> {
        let digits = std::str::from_utf8(bytes.get(..4)?).ok()?;
        u32::from_str_radix(digits, 16).ok()
    }
    if !text.contains("\\u") {
        return Ok((text.to_owned(), Vec::new()));
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut pairs = Vec::new();
    let mut copied = 0;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match quote {
            None => {
                if byte == b'"' || byte == b'`' {
                    quote = Some(byte);
                }
                i += 1;
            }
            Some(q) if byte == q => {
                quote = None;
                i += 1;
            }
            Some(_) if byte == b'\\' && bytes.get(i + 1) == Some(&b'u') => {
                let unit = hex4(&bytes[i + 2..]).unwrap_or(0);
                if !(0xD800..=0xDFFF).contains(&unit) {
                    i += 2;
                    continue;
                }
                let low = (bytes.get(i + 6..i + 8) == Some(b"\\u"))
                    .then(|| hex4(&bytes[i + 8..]))
                    .flatten()
                    .filter(|low| (0xDC00..=0xDFFF).contains(low));
                let joined = match low {
                    Some(low) if unit < 0xDC00 => {
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                    }
                    _ => None,
                };
                let Some(c) = joined else {
                    let line = lines_before + text[..i].matches('\n').count() + 1;
                    return Err(ImportError::Syntax(format!(
                        "Zinc: \\u{unit:04X} on line {line} is half of a character (a UTF-16 surrogate) without its other half: write the character itself, or both halves (\\uD83D\\uDE00)"
                    )));
                };
                out.push_str(&text[copied..i]);
                pairs.push(out.len());
                out.push(c);
                i += 12;
                copied = i;
            }
            // any other escape: the escaped character is not a quote
            Some(_) if byte == b'\\' => i += 2,
            Some(_) => i += 1,
        }
    }
    out.push_str(&text[copied.min(text.len())..]);
    Ok((out, pairs))
}

/// libhaystack's decoder ends its messages with `Input position: P[L], line N`, where P is the
/// byte the scanner stood on and N counts one line too many when that byte ends a line (and
/// knows nothing of the blank lines stepped over before `ver:`). The position is rewritten as
/// the line and column (in characters) of the file as sent: CRLF became LF within lines, so
/// the lines and columns stay those of the file.
/// `joined`: where join_surrogate_escapes made one character of a pair's 12.
fn zinc_error(message: &str, text: &str, prefix: &str, joined: &[usize]) -> String {
    const MARK: &str = " Input position: ";
    let Some(at) = message.find(MARK) else {
        return format!("Zinc: {message}");
    };
    let mut what = message[..at].trim_end().trim_end_matches('.').to_owned();
    let digits: String = message[at + MARK.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let Ok(pos) = digits.parse::<usize>() else {
        return format!("Zinc: {what}");
    };
    if pos >= text.len() {
        return format!("Zinc: {what} (at the end of the file)");
    }
    let mut start = pos;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    // libhaystack quotes the byte it stood on as a character: the first byte of `é` showed as
    // 'Ã' (found by a review). The character the file has there instead.
    if let Some(real) = text[start..].chars().next().filter(|c| !c.is_ascii()) {
        let byte = char::from(text.as_bytes()[pos]);
        what = what.replacen(&format!("{byte:?}"), &format!("{real:?}"), 1);
    }
    let before = &text[..start];
    let line = prefix.matches('\n').count() + before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let mut column = before[line_start..].chars().count()
        + 1
        // (each escaped pair before it on the line: 12 characters in the file, one here)
        + 11 * joined
            .iter()
            .filter(|&&at| (line_start..start).contains(&at))
            .count();
    // on the `ver:` line, what was stepped over before it on that line (spaces, tabs; a byte
    // order mark is no column)
    if !before.contains('\n') {
        column += prefix[prefix.rfind('\n').map_or(0, |n| n + 1)..]
            .chars()
            .filter(|c| *c != '\u{feff}' && *c != '\r')
            .count();
    }
    format!("Zinc: {what} (line {line}, column {column})")
}

/// libhaystack's JSON encoder writes a whole number without a unit `as i64` (clamped:
/// 1e300 and 2^64 both became 9223372036854775807) and NaN and ±INF as `null`. Every number
/// of the decoded grid is written again here, as its Hayson form: a JSON number for a finite
/// one (an integer when it is one exactly, below 2^53), `{"_kind": "number", "val": "NaN"}`
/// (or `"INF"`, `"-INF"`) for the others, as Haystack JSON writes them, so a Zinc file and
/// its Hayson form import alike (the store's bounds then judge the value).
fn renumber(value: &libhaystack::val::Value, json: &mut Value) {
    use libhaystack::val::Value as H;
    match (value, json) {
        (H::Number(n), json) => *json = number_json(n),
        (H::List(items), Value::Array(out)) => {
            for (item, out) in items.iter().zip(out.iter_mut()) {
                renumber(item, out);
            }
        }
        (H::Dict(dict), Value::Object(out)) => {
            for (key, out) in out.iter_mut() {
                if let Some(item) = dict.get(key) {
                    renumber(item, out);
                }
            }
        }
        (H::Grid(grid), Value::Object(out)) => {
            if let Some(Value::Array(rows)) = out.get_mut("rows") {
                for (row, out) in grid.rows.iter().zip(rows.iter_mut()) {
                    if let Value::Object(out) = out {
                        for (key, out) in out.iter_mut() {
                            if let Some(item) = row.get(key) {
                                renumber(item, out);
                            }
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn number_json(n: &libhaystack::val::Number) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let v = n.value;
    let val = if !v.is_finite() {
        Value::from(if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "INF"
        } else {
            "-INF"
        })
    } else if v.fract() == 0.0 && v.abs() < EXACT {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    };
    match n.unit {
        Some(unit) => json!({"_kind": "number", "val": val, "unit": unit.symbol()}),
        None if val.is_string() => json!({"_kind": "number", "val": val}),
        None => val,
    }
}

/// Parses Haystack JSON or Zinc.
pub fn parse(input: &[u8]) -> Result<Model, ImportError> {
    let text = std::str::from_utf8(input)
        .map_err(|_| ImportError::Format("the file is not UTF-8".into()))?;
    let doc: Value = if is_zinc(text) {
        zinc_to_hayson(text)?
    } else {
        // As for every JSON body (crate::json_body): a key twice in one object is refused,
        // not read as its last value. Checked here, after the key and the building, on the
        // blocking thread the import parses on.
        if let Some(duplicate) = crate::json_body::duplicate_key(text.as_bytes()) {
            return Err(ImportError::Format(duplicate.to_string()));
        }
        serde_json::from_str(text).map_err(|e| ImportError::Syntax(e.to_string()))?
    };
    let (rows, is_v3) = records(&doc)?;
    let decode = if is_v3 { v3 } else { hayson };
    let mut model = Model::default();
    let mut ids = std::collections::HashSet::new();
    let mut decoded_rows = Vec::new();
    for (n, row) in rows.into_iter().enumerate() {
        let tags: Vec<(&String, Kind)> = row.iter().map(|(k, v)| (k, decode(v))).collect();
        let id = tags
            .iter()
            .find(|(k, _)| k.as_str() == "id")
            .and_then(|(_, v)| match v {
                Kind::Ref(id) if !id.is_empty() => Some(id.clone()),
                _ => None,
            });
        match id {
            Some(id) if ids.insert(id.clone()) => decoded_rows.push((id, tags)),
            Some(id) => model.skipped.push(Skipped {
                what: format!("row {}", n + 1),
                reason: format!("id @{id} appears more than once; the first row was kept"),
            }),
            None => model.skipped.push(Skipped {
                what: format!("row {}", n + 1),
                reason: "a record without an id ref".into(),
            }),
        }
    }
    for (id, tags) in decoded_rows {
        let has = |m: &str| {
            tags.iter()
                .any(|(k, v)| k.as_str() == m && *v == Kind::Marker)
        };
        let kind = record_type(&has);
        let ref_of = |name: &str| {
            tags.iter().find_map(|(k, v)| match v {
                Kind::Ref(r) if k.as_str() == name && *r != id => Some(r.clone()),
                _ => None,
            })
        };
        let parent = if has("site") {
            None
        } else {
            PARENT_REFS
                .iter()
                .filter_map(|r| ref_of(r))
                .find(|r| ids.contains(r))
                .or_else(|| PARENT_REFS.iter().find_map(|r| ref_of(r)))
        };
        for (k, v) in &tags {
            if PARENT_REFS.contains(&k.as_str()) && matches!(v, Kind::Ref(r) if *r == id) {
                model.skipped.push(Skipped {
                    what: format!("{k} of {id}"),
                    reason: "it refers to the record itself; not used as its parent".into(),
                });
            }
            // A hierarchy ref besides the parent (a floorRef next to the spaceRef chosen) is
            // kept as a property; one to a record the file does not have is said so (the
            // parent's own is reported when the plan places the record).
            if let Kind::Ref(r) = v {
                if PARENT_REFS.contains(&k.as_str())
                    && *r != id
                    && !ids.contains(r)
                    && parent.as_ref() != Some(r)
                {
                    model.skipped.push(Skipped {
                        what: format!("{k} of {id}"),
                        reason: format!("{r} is not in the file; kept as a property, not followed"),
                    });
                }
            }
        }
        let mut properties = Map::new();
        for (k, v) in &tags {
            if k.as_str() == "id" || *v == Kind::Remove {
                continue;
            }
            properties.insert(k.to_string(), property(v));
            if PARENT_REFS.contains(&k.as_str()) {
                continue;
            }
            let targets: Vec<String> = match v {
                Kind::Ref(r) => vec![r.clone()],
                // a list of refs as its refs, under any tag, as a single ref is
                Kind::Other(Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| match decode(i) {
                        Kind::Ref(r) => Some(r),
                        _ => None,
                    })
                    .collect(),
                _ => vec![],
            };
            for to in targets {
                model.relations.push(Relation {
                    from: id.clone(),
                    to,
                    kind: sanitize::kind(k),
                    properties: Map::from_iter([("tag".to_owned(), json!(k))]),
                });
            }
        }
        model.provenance(&mut properties, &id, "source_format", json!("haystack"));
        model.provenance(&mut properties, &id, "source_id", json!(id));
        model.entities.push(Entity {
            key: id.clone(),
            id,
            name: None,
            parent,
            kind,
            properties,
        });
    }
    Ok(model)
}

fn record_type(has: &dyn Fn(&str) -> bool) -> String {
    if has("site") {
        return "site".into();
    }
    // Points and equipment first: a zone temperature point carries `zone` too.
    if has("point") {
        return if has("sensor") {
            "sensor".into()
        } else if has("sp") {
            "setpoint".into()
        } else if has("cmd") {
            "command".into()
        } else {
            "point".into()
        };
    }
    if has("equip") {
        return EQUIP_TYPES
            .iter()
            .find(|m| has(m))
            .map_or("equip", |m| m)
            .to_owned();
    }
    for m in ["floor", "room", "space", "zone"] {
        if has(m) {
            return m.into();
        }
    }
    "entity".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zinc_nesting_is_bounded_before_parsing() {
        let depth = |text: &str| {
            let shape = zinc_shape(text);
            assert_eq!(shape.second_grid, None, "{text}");
            shape.depth
        };
        assert_eq!(depth("ver:\"3.0\"\nid,v\n@a,[1,{x:2}]"), 2);
        assert_eq!(depth("ver:\"3.0\"\nv\n<<\nver:\"3.0\"\nw\n[1]\n>>"), 2);
        assert_eq!(
            depth("ver:\"3.0\"\nv\n<<ver:\"3.0\"\nw\n<< ver:\"3.0\"\nx\n1\n>>\n>>"),
            2
        );
        assert_eq!(depth("ver:\"3.0\"\nv\n\"[[[\\\"[[\",`[[`"), 0);
        // `ver:` inside a string, or as the end of a longer name, starts no grid
        assert_eq!(depth("ver:\"3.0\" server:\"x\"\nv\n\"\nver:\"\n"), 0);
        // deep enough to overflow the decoder's stack: refused, not parsed
        let deep = format!("ver:\"3.0\"\nid\n{}", "[".repeat(100_000));
        let refused = zinc_to_hayson(&deep).unwrap_err().to_string();
        assert!(refused.contains("nest 100000 levels"), "{refused}");
        let fine = format!("ver:\"3.0\"\nid\n{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(zinc_to_hayson(&fine).is_ok());

        // a `ver:` starting a cell outside `<<…>>` is a second grid: refused before the decoder
        // nests one in another without an end (500 of them overflowed its stack)
        let bare = format!("ver:\"3.0\"\nid\n{}@u\n", "ver:\"3.0\"\nid\n".repeat(500));
        let refused = zinc_to_hayson(&bare).unwrap_err().to_string();
        assert!(
            refused.contains("must hold one grid: line 3 starts another"),
            "{refused}"
        );
        for joined in [
            "ver:\"3.0\"\nid,dis\n@s,\"Site\"\n\nver:\"3.0\"\nid,dis\n@a,\"A\"\n",
            "ver:\"3.0\"\nid,dis\n@s,\"Site\"\nver:\"3.0\"\nid,dis\n@a,\"A\"\n",
            "ver:\"3.0\"\nid,v\n@s, ver:\"3.0\"\n",
        ] {
            let refused = zinc_to_hayson(joined).unwrap_err().to_string();
            assert!(
                refused.contains("must hold one grid"),
                "{joined:?}: {refused}"
            );
        }
    }

    /// A character beyond U+FFFF escaped as a surrogate pair is that character, as in Haystack
    /// JSON; half a pair is refused (found by a review: both became U+FFFD, silently).
    #[test]
    fn zinc_surrogate_pairs_are_joined_and_halves_refused() {
        let grid = zinc_to_hayson(
            "ver:\"3.0\"\nid,s,u\n@a,\"smile \\uD83D\\uDE00 \\\\uD83D \\u00e9\",`http://x/\\uD83D\\uDE00`\n",
        )
        .unwrap();
        let row = &grid["rows"][0];
        assert_eq!(row["s"], "smile \u{1F600} \\uD83D \u{e9}", "{row}");
        assert_eq!(row["u"]["val"], "http://x/\u{1F600}", "{row}");
        for half in ["\\uD83D", "\\uDE00", "\\uD83D\\u0041", "\\uD83Dx"] {
            let text = format!("ver:\"3.0\"\nid,s\n@a,\"{half}\"\n");
            let refused = zinc_to_hayson(&text).unwrap_err().to_string();
            assert!(
                refused.contains("on line 3 is half of a character"),
                "{half}: {refused}"
            );
        }
        // outside strings nothing is touched (not that Zinc has escapes there)
        assert_eq!(join_surrogate_escapes("a\\uD83D", 0).unwrap().0, "a\\uD83D");
        // the lines before `ver:` count (a blank one here)
        let refused = zinc_to_hayson("\nver:\"3.0\"\nid,s\n@a,\"\\uD83D\"\n")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("on line 4"), "{refused}");
    }

    /// The ids decide the encoding when they tell (found by an audit: a ver 2.0 grid, and a
    /// Hayson-marked grid of "r:" ids, imported nothing and answered 200).
    #[test]
    fn string_ids_are_read_whatever_the_grid_says() {
        let rows = json!([{"id": "r:site Main", "site": "m:", "area": "n:100 m²"},
                          {"id": "r:eq", "equip": "m:", "siteRef": "r:site"}]);
        for grid in [
            json!({"meta": {"ver": "2.0"}, "cols": [], "rows": rows}),
            json!({"_kind": "grid", "meta": {"ver": "3.0"}, "rows": rows}),
            json!({"meta": {"ver": "3.0"}, "rows": rows}),
            rows.clone(),
        ] {
            let model = parse(grid.to_string().as_bytes()).expect("parsed");
            assert!(model.skipped.is_empty(), "{grid}: {:?}", model.skipped);
            let ids: Vec<&str> = model.entities.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(ids, ["site", "eq"], "{grid}");
        }
        // Hayson ids in a grid that says ver 3.0 without "_kind": Hayson
        let hayson = json!({"meta": {"ver": "3.0"}, "rows": [
            {"id": {"_kind": "ref", "val": "s"}, "site": {"_kind": "marker"}}]});
        let model = parse(hayson.to_string().as_bytes()).expect("parsed");
        assert_eq!(model.entities.len(), 1, "{:?}", model.skipped);
    }

    /// Haystack 3 strings mean what their Hayson forms mean (found by an audit): a number
    /// beyond a double is a number (for the store's bounds to judge), an empty ref no ref.
    #[test]
    fn haystack_3_edge_values_read_as_hayson() {
        let big = v3(&json!("n:1e400 m"));
        assert!(
            matches!(big, Kind::Number(ref n, Some(ref u)) if u == "m" && n.to_string() == "1e+400"),
            "{big:?}"
        );
        assert!(matches!(v3(&json!("r:")), Kind::Other(_)));
        assert!(matches!(v3(&json!("r:a b")), Kind::Ref(ref id) if id == "a"));
        assert!(matches!(
            hayson(&json!({"_kind": "ref", "val": "@"})),
            Kind::Other(_)
        ));
    }

    #[test]
    fn a_key_twice_in_a_record_is_refused() {
        let json = br#"[{"id": "r:a", "site": "m:", "dis": "one", "dis": "two"}]"#;
        let Err(err) = parse(json) else {
            panic!("a key twice was accepted");
        };
        assert!(
            err.to_string()
                .contains(r#"the key "dis" is given twice in the JSON object at /0"#),
            "{err}"
        );
    }

    #[test]
    fn numbers_keep_their_digits() {
        let v: Value = serde_json::from_str(
            r#"{"_kind": "number", "val": 12345678901234567890123.5, "unit": "kW"}"#,
        )
        .unwrap();
        assert_eq!(
            property(&hayson(&v)).to_string(),
            r#"{"unit":"kW","value":12345678901234567890123.5}"#
        );
        let big: Value = serde_json::from_str("1e400").unwrap();
        assert_eq!(property(&hayson(&big)).to_string(), "1e+400");
        assert_eq!(
            property(&v3(&json!("n:0.10000000000000000555 %"))).to_string(),
            r#"{"unit":"%","value":0.10000000000000000555}"#
        );
    }

    /// Haystack 3 JSON, Zinc and Hayson give the same properties for the same values.
    #[test]
    fn haystack_3_json_values_take_the_hayson_form_zinc_gives() {
        let zinc = "ver:\"3.0\"\nid,site,geo,open,opened,at,utc,link,color,img\n@s,M,C(37.555385,-77.486903),20:00:00,2021-03-22,2021-03-22T17:56:38-04:00 New_York,2021-03-22T17:56:38Z UTC,`http://x.org/a`,Color(\"red\"),Bin(\"image/png\")\n";
        let v3 = json!({"meta": {"ver": "3.0"}, "cols": [], "rows": [{
            "id": "r:s", "site": "m:", "geo": "c:37.555385,-77.486903", "open": "h:20:00:00",
            "opened": "d:2021-03-22", "at": "t:2021-03-22T17:56:38-04:00 New_York",
            "utc": "t:2021-03-22T17:56:38Z UTC",
            "link": "u:http://x.org/a", "color": "x:Color:red", "img": "b:image/png"}]});
        let from_zinc = parse(zinc.as_bytes()).expect("zinc");
        let from_v3 = parse(v3.to_string().as_bytes()).expect("v3");
        assert_eq!(
            from_zinc.entities[0].properties,
            from_v3.entities[0].properties
        );
    }

    /// Inside lists and dicts too (found by an audit: the Haystack 3 strings were stored as
    /// they were, so one model imported from both files reported updates).
    #[test]
    fn haystack_3_lists_and_dicts_take_the_form_zinc_gives() {
        let zinc = "ver:\"3.0\"\nid,tags,meta,na\n@s,[\"a\",@s.hq \"HQ\",3m,4,M],{owner:\"Ops\" since:2000-01-01 deep:[@x]},NA\n";
        let v3 = json!({"meta": {"ver": "3.0"}, "cols": [], "rows": [{
            "id": "r:s", "tags": ["a", "r:s.hq HQ", "n:3 m", "n:4", "m:"],
            "meta": {"owner": "Ops", "since": "d:2000-01-01", "deep": ["r:x"]}, "na": "z:"}]});
        let from_zinc = parse(zinc.as_bytes()).expect("zinc");
        let from_v3 = parse(v3.to_string().as_bytes()).expect("v3");
        assert_eq!(
            from_zinc.entities[0].properties,
            from_v3.entities[0].properties
        );
        assert_eq!(
            from_v3.entities[0].properties["tags"][1],
            json!({"_kind": "ref", "val": "s.hq", "dis": "HQ"})
        );
    }

    #[test]
    fn kinds_are_read_in_any_case() {
        let grid = json!({"_kind": "Grid", "meta": {"ver": "3.0"}, "cols": [{"name": "id"}],
            "rows": [
                {"id": {"_kind": "Ref", "val": "s"}, "site": {"_kind": "Marker"}},
                {"id": {"_kind": "REF", "val": "e"}, "equip": {"_kind": "marker"},
                 "siteRef": {"_kind": "Ref", "val": "s"},
                 "power": {"_kind": "Number", "val": 5, "unit": "kW"}}]});
        let model = parse(grid.to_string().as_bytes()).expect("parse");
        assert_eq!(model.entities.len(), 2, "{:?}", model.skipped);
        let e = model.entity("e");
        assert_eq!(e.parent.as_deref(), Some("s"));
        assert_eq!(e.properties["power"], json!({"value": 5, "unit": "kW"}));
    }

    const HAYSON: &str = r#"{"_kind": "grid", "meta": {"ver": "3.0"}, "cols": [], "rows": []}"#;

    fn hayson_rows(rows: Value) -> Vec<u8> {
        json!({"_kind": "grid", "meta": {"ver": "4.0"}, "cols": [{"name": "id"}], "rows": rows})
            .to_string()
            .into_bytes()
    }

    fn r(id: &str) -> Value {
        json!({"_kind": "ref", "val": id})
    }
    fn m() -> Value {
        json!({"_kind": "marker"})
    }

    #[test]
    fn an_empty_v3_grid_is_fine() {
        assert!(parse(HAYSON.as_bytes()).unwrap().entities.is_empty());
    }

    #[test]
    fn tree_refs_and_tags() {
        let file = hayson_rows(json!([
            {"id": r("s-1"), "site": m(), "dis": "HQ"},
            {"id": r("ahu-1"), "equip": m(), "ahu": m(), "siteRef": r("s-1")},
            {"id": r("ahu-1.fan"), "equip": m(), "fan": m(), "equipRef": r("ahu-1"), "siteRef": r("s-1")},
            {"id": r("vav:1"), "equip": m(), "vav": m(), "siteRef": r("s-1"), "airRef": r("ahu-1")},
            {"id": r("t#1"), "point": m(), "sensor": m(), "temp": m(), "zone": m(), "equipRef": r("vav:1"),
             "curVal": {"_kind": "number", "val": 21.5, "unit": "°C"}, "precision": 2}
        ]));
        let model = parse(&file).unwrap();
        let e = |id: &str| model.entities.iter().find(|e| e.id == id).unwrap();
        assert_eq!(e("s-1").parent, None);
        assert_eq!(e("s-1").kind, "site");
        assert_eq!(e("ahu-1").parent.as_deref(), Some("s-1"));
        assert_eq!(
            e("ahu-1.fan").parent.as_deref(),
            Some("ahu-1"),
            "equipment under equipment"
        );
        assert_eq!(e("ahu-1.fan").kind, "fan");
        assert_eq!(e("t#1").parent.as_deref(), Some("vav:1"));
        assert_eq!(e("t#1").kind, "sensor");
        assert_eq!(
            e("t#1").properties["curVal"],
            json!({"value": 21.5, "unit": "°C"})
        );
        // numbers keep the digits the file wrote
        assert_eq!(e("t#1").properties["precision"], json!(2));
        assert_eq!(e("t#1").properties["temp"], json!(true));
        assert_eq!(e("vav:1").properties["airRef"], json!("@ahu-1"));
        assert_eq!(model.relations.len(), 1);
        assert_eq!(model.relations[0].kind, "air_ref");
        assert_eq!(model.relations[0].from, "vav:1");
    }

    #[test]
    fn lists_of_refs_are_connections_under_any_tag() {
        let file = hayson_rows(json!([
            {"id": r("a"), "equip": m()},
            {"id": r("b"), "equip": m()},
            {"id": r("c"), "equip": m(), "feedRef": [r("a"), r("b")], "lst": [r("a"), "text", 3],
             "partner": r("b")}
        ]));
        let model = parse(&file).unwrap();
        let mut found: Vec<(String, String)> = model
            .relations
            .iter()
            .map(|x| (x.kind.clone(), x.to.clone()))
            .collect();
        found.sort();
        let expected = [
            ("feed_ref", "a"),
            ("feed_ref", "b"),
            ("lst", "a"),
            ("partner", "b"),
        ];
        assert_eq!(
            found,
            expected.map(|(k, t)| (k.to_owned(), t.to_owned())).to_vec()
        );
    }

    #[test]
    fn a_record_that_is_its_own_parent_is_reported() {
        let file = hayson_rows(json!([
            {"id": r("s-1"), "site": m()},
            {"id": r("ahu-1"), "equip": m(), "equipRef": r("ahu-1"), "siteRef": r("s-1")}
        ]));
        let model = parse(&file).unwrap();
        let ahu = model.entities.iter().find(|e| e.id == "ahu-1").unwrap();
        assert_eq!(
            ahu.parent.as_deref(),
            Some("s-1"),
            "the next parent ref wins"
        );
        assert_eq!(model.skipped.len(), 1, "{:?}", model.skipped);
        assert_eq!(model.skipped[0].what, "equipRef of ahu-1");
    }

    #[test]
    fn haystack_3_encoding() {
        let file = json!({"meta": {"ver": "3.0"}, "cols": [], "rows": [
            {"id": "r:p:demo:r:1 Site", "site": "m:"},
            {"id": "r:p:demo:r:2", "point": "m:", "sp": "m:", "siteRef": "r:p:demo:r:1", "v": "n:72 °F", "dis": "s:Setpoint"}
        ]});
        let model = parse(file.to_string().as_bytes()).unwrap();
        let p = model
            .entities
            .iter()
            .find(|e| e.id == "p:demo:r:2")
            .unwrap();
        assert_eq!(p.parent.as_deref(), Some("p:demo:r:1"));
        assert_eq!(p.kind, "setpoint");
        assert_eq!(p.properties["v"], json!({"value": 72, "unit": "°F"}));
        assert_eq!(p.properties["dis"], json!("Setpoint"));
        // NaN, INF and -INF as from Hayson and Zinc files
        let file = json!({"meta": {"ver": "3.0"}, "cols": [], "rows": [
            {"id": "r:x", "point": "m:", "a": "n:NaN", "b": "n:INF °F", "c": "n:-INF", "d": "n:junk"}
        ]});
        let model = parse(file.to_string().as_bytes()).unwrap();
        let x = &model.entities[0].properties;
        assert_eq!(x["a"], json!({"_kind": "number", "val": "NaN"}));
        assert_eq!(
            x["b"],
            json!({"_kind": "number", "val": "INF", "unit": "°F"})
        );
        assert_eq!(x["c"], json!({"_kind": "number", "val": "-INF"}));
        assert_eq!(x["d"], json!("n:junk"));
    }

    #[test]
    fn records_without_id_are_skipped() {
        let model = parse(&hayson_rows(json!([{"dis": "no id"}]))).unwrap();
        assert_eq!(model.skipped.len(), 1);
    }

    #[test]
    fn zinc_grids_read_like_their_hayson_form() {
        let zinc = concat!(
            "ver:\"3.0\"\n",
            "id,dis,site,equip,ahu,siteRef,equipRef,point,sensor,temp,unit,curVal,chilledWaterRef\n",
            "@s-1,\"HQ\",M,,,,,,,,,,\n",
            "@ahu:1,\"AHU 1\",,M,M,@s-1,,,,,,,@ch.2\n",
            "@ch.2,\"Chiller\",,M,,@s-1,,,,,,,\n",
            "@t1,\"Supply temp\",,,,@s-1,@ahu:1,M,M,M,\"°F\",72.5°F,\n",
        );
        let model = parse(zinc.as_bytes()).unwrap();
        let hayson = serde_json::to_vec(&zinc_to_hayson(zinc).unwrap()).unwrap();
        let same = parse(&hayson).unwrap();
        assert_eq!(model.entities, same.entities);
        assert_eq!(model.relations, same.relations);
        assert!(model.skipped.is_empty(), "{:?}", model.skipped);
        let parent = |id: &str| {
            let e = model.entities.iter().find(|e| e.id == id).expect(id);
            e.parent.clone()
        };
        assert_eq!(model.entities.len(), 4);
        assert_eq!(parent("s-1"), None);
        assert_eq!(parent("ahu:1").as_deref(), Some("s-1"));
        assert_eq!(parent("t1").as_deref(), Some("ahu:1"));
        let temp = model.entities.iter().find(|e| e.id == "t1").unwrap();
        assert_eq!(
            temp.properties["curVal"],
            json!({"value": 72.5, "unit": "°F"})
        );
        assert_eq!(model.relations.len(), 1, "{:?}", model.relations);
    }

    #[test]
    fn a_dangling_hierarchy_ref_besides_the_parent_is_reported() {
        let rows = json!([
            {"id": {"_kind": "ref", "val": "s"}, "site": {"_kind": "marker"}},
            {"id": {"_kind": "ref", "val": "e"}, "equip": {"_kind": "marker"},
             "siteRef": {"_kind": "ref", "val": "s"}, "floorRef": {"_kind": "ref", "val": "f9"}}
        ]);
        let model = parse(&hayson_rows(rows)).unwrap();
        assert_eq!(model.skipped.len(), 1, "{:?}", model.skipped);
        assert!(
            model.skipped[0].reason.contains("f9 is not in the file"),
            "{:?}",
            model.skipped
        );
        let e = model.entities.iter().find(|e| e.id == "e").unwrap();
        assert_eq!(e.parent.as_deref(), Some("s"));
    }

    #[test]
    fn json_ld_is_refused_not_skipped_row_by_row() {
        for doc in [
            json!([{"@id": "urn:a", "@type": ["https://brickschema.org/schema/Brick#AHU"]}]),
            json!({"@context": {}, "@graph": []}),
            json!([{"@type": "brick:AHU", "rdfs:label": "x"}]),
        ] {
            let err = parse(doc.to_string().as_bytes()).unwrap_err();
            assert!(err.to_string().contains("JSON-LD"), "{err}");
        }
    }

    /// Found by a review: a last one-cell row without a line end was dropped, a column given
    /// twice kept its last value, and numbers past a float's range became INF and 0, each
    /// silently.
    #[test]
    fn zinc_loses_nothing_silently() {
        let ids = |t: &str| -> Vec<String> {
            let model = parse(t.as_bytes()).unwrap();
            model.entities.iter().map(|e| e.id.clone()).collect()
        };
        assert_eq!(ids("ver:\"3.0\"\nid\n@a\n@b"), ["a", "b"]);
        assert_eq!(ids("ver:\"3.0\"\nid\n@a\n@b\n"), ["a", "b"]);
        let model = parse(b"ver:\"3.0\"\nid,dis\n@a,\"x\"\n\"y\"").unwrap();
        assert_eq!(model.entities.len(), 1);
        assert_eq!(
            model.skipped.len(),
            1,
            "the id-less last row: {:?}",
            model.skipped
        );

        let e = parse(b"ver:\"3.0\"\nid,site,dis,dis\n@z1,M,\"a\",\"b\"\n").unwrap_err();
        assert!(
            e.to_string().contains(r#"the column "dis" is given twice"#),
            "{e}"
        );

        for (zinc, token) in [
            ("ver:\"3.0\"\nid,a\n@x,1e-999\n", "1e-999"),
            ("ver:\"3.0\"\nid,b\n\n@x,1e999kW\n", "1e999"),
            ("ver:\"3.0\"\nid,c\n@x,[1,-2E+400]\n", "-2E+400"),
            ("ver:\"3.0\"\nid,d\n@x,{v:1_0e999}\n", "1_0e999"),
            (
                format!("ver:\"3.0\"\nid,e\n@x,1{}\n", "0".repeat(400)).as_str(),
                "10000",
            ),
            (
                format!("ver:\"3.0\"\nid,f\n@x,0.{}1\n", "0".repeat(400)).as_str(),
                "0.000",
            ),
        ] {
            let e = parse(zinc.as_bytes()).unwrap_err().to_string();
            assert!(
                e.contains(&format!("the number {token}")) && e.contains("is out of range"),
                "{zinc}: {e}"
            );
        }
        // refs, strings, names, dates, zeros and ordinary exponents are no such numbers
        let model = parse(
            b"ver:\"3.0\"\nid,s,d,n,z,u,t,c,m\n@p1e999,\"1e999\",2024-01-05,1.5e3kW,0e999,`http://x/1e999`,2024-01-05T10:30:00-05:00 New_York,C(37.55,-77.45),12:30:00\n",
        )
        .unwrap();
        assert_eq!(model.entities.len(), 1);
    }

    /// A number in range with more digits after the point than jsonb reads is skipped and
    /// listed, as numbers past the range are (found by a review: it failed the whole import).
    #[test]
    fn a_number_too_precise_to_store_is_skipped() {
        let file = format!(
            r#"[{{"id": {{"_kind": "ref", "val": "s"}}, "site": {{"_kind": "marker"}}, "x": 0.{}, "y": 2}}]"#,
            "1".repeat(17000)
        );
        let plan = parse(file.as_bytes()).unwrap().plan();
        assert_eq!(plan.objects.len(), 1);
        assert!(plan.objects[0].properties.get("x").is_none());
        assert_eq!(plan.objects[0].properties["y"], 2);
        assert!(
            plan.skipped
                .iter()
                .any(|s| s.what == r#"property "x" of s"# && s.reason.contains("too precise")),
            "{:?}",
            plan.skipped
        );
    }

    /// The import's provenance names give way to nothing silently: a file's own tag of that
    /// name is listed in `skipped` (found by a review: it was overwritten without a word).
    #[test]
    fn a_tag_named_like_the_provenance_is_listed_as_replaced() {
        let model =
            parse(br#"[{"id": "r:a", "site": "m:", "source_id": "s:vendor-123"}]"#).unwrap();
        assert_eq!(model.entities[0].properties["source_id"], "a");
        assert_eq!(model.skipped.len(), 1, "{:?}", model.skipped);
        assert_eq!(model.skipped[0].what, "source_id of a");
        assert!(
            model.skipped[0].reason.contains("vendor-123"),
            "{:?}",
            model.skipped
        );
    }

    #[test]
    fn zinc_with_windows_line_ends_reads_like_unix() {
        let unix = "ver:\"3.0\"\nid,dis\n@a,\"A\"\n@b,\"B\"\n";
        let windows = unix.replace('\n', "\r\n");
        assert_eq!(
            zinc_to_hayson(&windows).unwrap(),
            zinc_to_hayson(unix).unwrap()
        );
        // blank lines (and a byte order mark) before the ver: line, as is_zinc reads them
        let padded = format!("\u{feff}\n\r\n  \n{unix}");
        assert!(is_zinc(&padded));
        assert_eq!(
            zinc_to_hayson(&padded).unwrap(),
            zinc_to_hayson(unix).unwrap()
        );
    }

    #[test]
    fn zinc_errors_name_the_line_and_column_of_the_file() {
        let error = |t: &str| zinc_to_hayson(t).unwrap_err().to_string();
        // after an escaped surrogate pair, the column of the file (12 characters), not of the
        // joined text (found by a review: column 8 for 19)
        let e = error("ver:\"3.0\"\nid,s,x\n@a,\"\\uD83D\\uDE00\",%\n");
        assert!(e.ends_with("(line 3, column 19)"), "{e}");
        // libhaystack said line 4 for the end of line 3 (found by an audit)
        let e = error("ver:\"3.0\"\nid,dis\n@a,\"A\",3\n");
        assert!(
            e.contains("more values than columns (expected 2) (line"),
            "{e}"
        );
        assert!(e.ends_with("(line 3, column 9)"), "{e}");
        assert!(!e.contains("Input position"), "{e}");
        let e = error("ver:\"3.0\"\nid,dis\n@a,%\n@b,1\n");
        assert!(e.ends_with("(line 3, column 4)"), "{e}");
        // blank lines before ver: and Windows line ends count as the file has them
        let e = error("\r\n\nver:\"3.0\"\r\nid,dis\r\n@a,1\r\n@b,1x$\r\n");
        assert!(e.ends_with("(line 6, column 7)"), "{e}");
        // columns count characters
        let e = error("ver:\"3.0\"\nid,dis\n\"é€\",%\n");
        assert!(e.ends_with("(line 3, column 6)"), "{e}");
        // on the ver: line, what was stepped over before it counts (found by a review)
        let e = error("    ver:\"3.0\" %");
        assert!(e.ends_with("(line 1, column 15)"), "{e}");
        let e = error("\n\n\t\tver:\"3.0\" %");
        assert!(e.ends_with("(line 3, column 13)"), "{e}");
        let e = error("\u{feff}  ver:\"3.0\" %");
        assert!(e.ends_with("(line 1, column 13)"), "{e}");
        // the character there, not its first byte as a character
        let e = error("ver:\"3.0\"\nid,dis\n@a,é\n");
        assert!(e.contains("'é'") && !e.contains('Ã'), "{e}");
        // a string that runs into its line's end
        let e = error("ver:\"3.0\"\nid,dis\n@a,\"A\n");
        assert!(e.ends_with("Expected '\"' (line 3, column 6)"), "{e}");
    }

    #[test]
    fn zinc_numbers_keep_their_value() {
        let zinc =
            "ver:\"3.0\"\nid,a,b,c,d,e,f,g\n@x,1e300,NaN,INF,18446744073709551616,-1e20,42,-INF\n";
        let hayson = zinc_to_hayson(zinc).unwrap();
        let row = &hayson["rows"][0];
        assert_eq!(row["a"], json!(1e300));
        assert_eq!(row["b"], json!({"_kind": "number", "val": "NaN"}));
        assert_eq!(row["c"], json!({"_kind": "number", "val": "INF"}));
        assert_eq!(row["d"], json!(18446744073709551616.0));
        assert_eq!(row["e"], json!(-1e20));
        assert_eq!(row["f"], json!(42));
        assert_eq!(row["g"], json!({"_kind": "number", "val": "-INF"}));
        // inside lists and dicts too, and with units
        let nested = "ver:\"3.0\"\nid,l\n@x,[1e300,{n:NaN,u:5kW}]\n";
        let hayson = zinc_to_hayson(nested).unwrap();
        assert_eq!(hayson["rows"][0]["l"][0], json!(1e300));
        assert_eq!(
            hayson["rows"][0]["l"][1]["n"],
            json!({"_kind": "number", "val": "NaN"})
        );
        assert_eq!(
            hayson["rows"][0]["l"][1]["u"],
            json!({"_kind": "number", "val": 5, "unit": "kW"})
        );
    }

    #[test]
    fn broken_zinc_is_a_syntax_error() {
        assert!(matches!(
            parse(b"ver:\"3.0\"\nid,dis\n@a,\"unterminated\n"),
            Err(ImportError::Syntax(_))
        ));
        assert!(is_zinc("\u{feff}  ver:\"3.0\""));
        assert!(!is_zinc("{\"ver\": 1}"));
    }
}
