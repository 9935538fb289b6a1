//! How fields of the typed JSON bodies are read where serde's own reading falls short of what
//! the API documents (`#[serde(deserialize_with = "…")]`). A field these refuse fails the body's
//! extractor like any wrong type: 422 VALIDATION_ERROR naming the field (docs/api.md, "Errors").
//!
//! - [`whole`]: an integer field takes any JSON number whose value is a whole number (`50`,
//!   `50.0`, `5e1`, `-0`), as JSON Schema's `integer` does; serde takes only `50`.
//! - [`or_default`]: `null` is the field left out, as docs/api.md says of every field; serde
//!   refuses `null` where the field is not an `Option`.
//! - [`number_or_text`]: a JSON number, or a string holding one, kept as written.
//! - [`nullable`]: a field whose `null` means something (clear it), told apart from the field
//!   left out: `Some(None)` for `null`, `None` (through `#[serde(default)]`) when absent.

use std::fmt;

use serde::de::{Deserialize, Deserializer, Error};
use serde_json::value::RawValue;
use serde_json::Number;

/// The integer types an integer field may have, with how messages name their range.
pub trait Whole: Sized + TryFrom<i128> {
    const RANGE: &'static str;
}

impl Whole for i32 {
    const RANGE: &'static str = "a 32-bit integer (-2147483648 to 2147483647)";
}

impl Whole for i64 {
    const RANGE: &'static str = "a 64-bit integer (-9223372036854775808 to 9223372036854775807)";
}

/// An optional integer field (`#[serde(default, deserialize_with = "crate::body_fields::whole")]`):
/// a whole number in the type's range, or `null`.
pub fn whole<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Whole,
{
    // The workspace reads JSON with arbitrary precision: a `Number` keeps the text the client
    // wrote, so `1e400` or a 30-digit integer arrive as written, never through a float.
    let Some(number) = Option::<Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let text = number.to_string();
    let value = match whole_value(&text) {
        Ok(value) => value,
        Err(NotWhole::Fraction) => {
            return Err(D::Error::custom(format_args!(
                "{text} is not a whole number (expected an integer)"
            )))
        }
        Err(NotWhole::TooLarge) => None,
    };
    value
        .and_then(|v| T::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| D::Error::custom(format_args!("{text} is out of range for {}", T::RANGE)))
}

/// Why a number is not an integer.
#[derive(Debug, PartialEq, Eq)]
enum NotWhole {
    Fraction,
    /// Beyond any integer type here (more than 38 digits).
    TooLarge,
}

/// The value of a JSON number's text (`-?int(.frac)?([eE][+-]?exp)?`) when it is a whole
/// number: `Ok(None)` when it is one too large for an `i128`.
fn whole_value(text: &str) -> Result<Option<i128>, NotWhole> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], exponent(&unsigned[at + 1..])),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // The digits, and the power of ten they are multiplied by.
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let significant = digits.trim_end_matches('0');
    if significant.is_empty() {
        return Ok(Some(0)); // 0, -0, 0.0, 0e999
    }
    let scale = exponent
        .saturating_sub(frac.len() as i64)
        .saturating_add((digits.len() - significant.len()) as i64);
    if scale < 0 {
        return Err(NotWhole::Fraction);
    }
    // i128 holds every integer of up to 38 digits.
    if significant.len() as i64 + scale > 38 {
        return Err(NotWhole::TooLarge);
    }
    let mut value: i128 = significant.parse().map_err(|_| NotWhole::TooLarge)?;
    for _ in 0..scale {
        value *= 10;
    }
    Ok(Some(if negative { -value } else { value }))
}

/// An exponent's text (`+5`, `-3`, `400`), saturating far beyond any number's digits.
fn exponent(text: &str) -> i64 {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = digits.bytes().fold(0i64, |n, d| {
        n.saturating_mul(10)
            .saturating_add(i64::from(d.wrapping_sub(b'0')))
            .min(1 << 40)
    });
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// A field with a default (`#[serde(default, deserialize_with = "crate::body_fields::or_default")]`):
/// `null` is the default, as the field left out is.
pub fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// The `type` of a body that must have one: `null` is the field left out (as for every field
/// of a body, docs/api.md), so `missing field `type``, not "invalid type: null" (found by an
/// audit).
pub fn object_type<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Option::<String>::deserialize(deserializer)?
        .ok_or_else(|| serde::de::Error::missing_field("type"))
}

/// An optional number of a query string (`#[serde(default, deserialize_with =
/// "crate::body_fields::double")]`), read as PostgreSQL's `float8` reads it: `1e400` and
/// `1e-400` are refused, not taken as infinity and 0 ([`arxos_core::json_number::double`]).
pub fn double<'de, D>(deserializer: D) -> Result<Option<f64>, D::Error>
where
    D: Deserializer<'de>,
{
    let Some(text) = Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)? else {
        return Ok(None);
    };
    arxos_core::json_number::double(&text)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("{text:?} {e}")))
}

/// A JSON number, or a string holding one, as the client wrote it: for a value bound as text
/// for PostgreSQL to read as `numeric` (a token amount), where a binary float would change its
/// digits. Any other JSON is the wrong type.
pub fn number_or_text<'de, D>(deserializer: D) -> Result<Box<RawValue>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Box::<RawValue>::deserialize(deserializer)?;
    let kind = match raw.get().trim_start().as_bytes().first() {
        Some(b'"' | b'-' | b'0'..=b'9') => return Ok(raw),
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'[') => "an array",
        _ => "an object",
    };
    Err(D::Error::custom(NumberOrText(kind)))
}

struct NumberOrText(&'static str);

impl fmt::Display for NumberOrText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid type: {}, expected a number (a JSON number, or a string holding one)",
            self.0
        )
    }
}

/// A field whose `null` clears a value (`#[serde(default, deserialize_with =
/// "crate::body_fields::nullable")]` on an `Option<Option<T>>`): serde reads a `null` `Option`
/// as the field left out otherwise.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "whole")]
        health: Option<i32>,
        #[serde(default, deserialize_with = "whole")]
        big: Option<i64>,
        #[serde(default, deserialize_with = "or_default")]
        parents: bool,
    }

    #[derive(Debug, Deserialize)]
    struct Transfer {
        #[serde(deserialize_with = "number_or_text")]
        amount: Box<RawValue>,
    }

    fn read<T: for<'de> Deserialize<'de>>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_are_integers_whatever_their_notation() {
        for (json, health) in [
            ("50", 50),
            ("50.0", 50),
            ("5e1", 50),
            ("5E+1", 50),
            ("500e-1", 50),
            ("0.5e2", 50),
            ("-0", 0),
            ("-0.0e-5", 0),
            ("0e99999999999999999999", 0),
            ("-7", -7),
            ("2147483647", i32::MAX),
            ("-2147483648", i32::MIN),
            ("2.147483647e9", i32::MAX),
        ] {
            let body: Body = read(&format!(r#"{{"health": {json}}}"#)).unwrap();
            assert_eq!(body.health, Some(health), "{json}");
        }
        let body: Body = read(r#"{"big": 9.223372036854775807e18}"#).unwrap();
        assert_eq!(body.big, Some(i64::MAX));
        assert_eq!(read::<Body>(r#"{"health": null}"#).unwrap().health, None);
        assert_eq!(read::<Body>("{}").unwrap().health, None);
    }

    #[test]
    fn fractions_and_numbers_out_of_range_are_refused_saying_so() {
        for json in ["50.5", "5e-1", "1.000000000000000000001", "-0.1"] {
            let error = read::<Body>(&format!(r#"{{"health": {json}}}"#)).unwrap_err();
            assert!(
                error.starts_with(&format!("{json} is not a whole number")),
                "{json}: {error}"
            );
        }
        for json in [
            "2147483648",
            "-2147483649",
            "99999999999999999999",
            "1e20",
            "1e400",
            "-1e99999999999999999999",
            "123456789012345678901234567890123456789012",
        ] {
            let error = read::<Body>(&format!(r#"{{"health": {json}}}"#)).unwrap_err();
            // (serde_json writes an exponent with its sign: 1e20 is quoted as 1e+20)
            let quoted = json.replacen('e', "e+", 1);
            assert!(
                error.starts_with(&format!("{quoted} is out of range for a 32-bit integer")),
                "{json}: {error}"
            );
        }
        let error = read::<Body>(r#"{"big": 9223372036854775808}"#).unwrap_err();
        assert!(
            error.contains("out of range for a 64-bit integer"),
            "{error}"
        );
        let error = read::<Body>(r#"{"health": "50"}"#).unwrap_err();
        assert!(error.starts_with("invalid type: string"), "{error}");
    }

    #[test]
    fn a_null_type_is_a_missing_one() {
        #[derive(Debug, Deserialize)]
        struct Body {
            #[serde(rename = "type", deserialize_with = "object_type")]
            _kind: String,
        }
        for json in [r#"{"type": null}"#, "{}"] {
            let err = serde_json::from_str::<Body>(json).unwrap_err().to_string();
            assert!(err.starts_with("missing field `type`"), "{json}: {err}");
        }
        assert!(serde_json::from_str::<Body>(r#"{"type": "room"}"#).is_ok());
    }

    #[test]
    fn null_is_the_default() {
        assert!(!read::<Body>(r#"{"parents": null}"#).unwrap().parents);
        assert!(read::<Body>(r#"{"parents": true}"#).unwrap().parents);
        assert!(!read::<Body>("{}").unwrap().parents);
        assert!(read::<Body>(r#"{"parents": 1}"#).is_err());
    }

    #[test]
    fn amounts_are_numbers_or_strings_as_written() {
        for json in ["1.0000000000000001", "\"0.5\"", "-1", "1e400"] {
            let body: Transfer = read(&format!(r#"{{"amount": {json}}}"#)).unwrap();
            assert_eq!(body.amount.get(), json);
        }
        for (json, kind) in [
            ("true", "a boolean"),
            ("null", "null"),
            ("[1]", "an array"),
            ("{}", "an object"),
        ] {
            let error = read::<Transfer>(&format!(r#"{{"amount": {json}}}"#)).unwrap_err();
            assert!(
                error.starts_with(&format!("invalid type: {kind}, expected a number")),
                "{json}: {error}"
            );
        }
    }
}
