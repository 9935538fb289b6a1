//! The numbers stored JSON documents may hold: 0, or between 1e-100 and 1e100 in magnitude
//! (1e100 itself excluded), a zero with at most 100 decimal places. PostgreSQL's jsonb keeps a number exactly and writes it out in
//! full, so `1e131071` (8 bytes of JSON) would be 131,072 digits wherever it is read back. The
//! database checks the rule on every write (`arxos.check_json`); this is the same rule on a
//! JSON number's literal, for callers that must sort documents out before they reach it.

/// The decimal places a zero may be written with (`0.000`): as many as 1e-100, the smallest
/// number stored, has.
pub const MAX_ZERO_SCALE: i32 = 100;

/// Whether a JSON number literal (`-12.5e3`) is storable. A text that is not a JSON number is
/// not.
pub fn storable(literal: &str) -> bool {
    let body = literal.strip_prefix('-').unwrap_or(literal);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((_, "")) => return false,
        Some(parts) => parts,
        None => (mantissa, ""),
    };
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    let exponent = match exponent {
        None => 0i64,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            // Saturated: any exponent beyond this is out of range either way.
            let magnitude = digits.bytes().fold(0i64, |n, b| {
                (n * 10 + i64::from(b - b'0')).min(1_000_000_000)
            });
            if e.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    // The power of ten of the first digit that is not 0: the number is in [10^p, 10^(p+1)).
    let digits = int.bytes().chain(frac.bytes());
    let Some(first) = digits.clone().position(|b| b != b'0') else {
        // A zero, written out with its decimal places: `0e-16383` would be 16,383 of them.
        let scale = frac.len() as i64 - exponent;
        return scale <= i64::from(MAX_ZERO_SCALE);
    };
    let power = int.len() as i64 - 1 - first as i64 + exponent;
    // and with no more digits after the point than PostgreSQL's numeric holds: `0.111…` with
    // 17,000 digits is in range, but jsonb cannot read it (found by a review: it failed a
    // whole import, where a value past the rule is skipped).
    let scale = frac.len() as i64 - exponent;
    (-100..=99).contains(&power) && scale <= MAX_SCALE
}

/// The digits after the point a stored number may have: what PostgreSQL's numeric (and so
/// jsonb) reads.
pub const MAX_SCALE: i64 = 16383;

/// Why a text is no double precision number, [`double`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DoubleError {
    #[error("is not a number")]
    NotANumber,
    #[error("is not a finite number")]
    NotFinite,
    /// `1e400`: PostgreSQL's float8 refuses it (22003), so every entry point does.
    #[error("is out of range: double precision holds up to about 1.8e308 in magnitude")]
    Overflow,
    /// `1e-400`: it would be read as 0, which it is not.
    #[error(
        "is out of range: double precision holds no number that small but 0 (from about 4.9e-324)"
    )]
    Underflow,
}

/// A number typed as text (a query parameter, a shell argument) as a double, refused rather
/// than rounded to infinity or to 0 where PostgreSQL's `float8` would refuse it too: `1e400`
/// and `1e-400` are errors, as `'1e-400'::float8` is, not infinity and 0.
pub fn double(text: &str) -> Result<f64, DoubleError> {
    let trimmed = text.trim();
    let value: f64 = trimmed.parse().map_err(|_| DoubleError::NotANumber)?;
    let lower = trimmed.to_ascii_lowercase();
    if value.is_nan() || lower.contains("inf") {
        return Err(DoubleError::NotFinite);
    }
    if value.is_infinite() {
        return Err(DoubleError::Overflow);
    }
    let mantissa = lower.split('e').next().unwrap_or_default();
    if value == 0.0 && mantissa.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        return Err(DoubleError::Underflow);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_are_refused_rather_than_rounded_to_infinity_or_zero() {
        assert_eq!(double("2.5"), Ok(2.5));
        assert_eq!(double(" 0e-400 "), Ok(0.0));
        assert_eq!(double("-0.000"), Ok(0.0));
        assert_eq!(double("1e-310"), Ok(1e-310));
        assert_eq!(double("1e-400"), Err(DoubleError::Underflow));
        assert_eq!(double("-0.0001e-330"), Err(DoubleError::Underflow));
        assert_eq!(double("1e400"), Err(DoubleError::Overflow));
        assert_eq!(double("inf"), Err(DoubleError::NotFinite));
        assert_eq!(double("NaN"), Err(DoubleError::NotFinite));
        assert_eq!(double("5m"), Err(DoubleError::NotANumber));
        assert_eq!(double(""), Err(DoubleError::NotANumber));
    }

    #[test]
    fn numbers_with_more_decimals_than_numeric_reads_are_not_storable() {
        let digits = |n: usize| format!("0.{}", "1".repeat(n));
        assert!(storable(&digits(16383)));
        assert!(!storable(&digits(16384)));
        assert!(!storable(&format!("{}e-1", digits(16383))));
        assert!(storable(&format!("{}e5", digits(16384))));
    }

    #[test]
    fn the_range_is_1e_minus_100_to_below_1e100() {
        for ok in [
            "0",
            "-0",
            "0.0",
            "0e999999",
            "0e-100",
            "0.0000e-96",
            "1",
            "-1.5",
            "120",
            "1e99",
            "9.99e99",
            "1e-100",
            "-1E-100",
            "0.0001e-96",
            "99999",
            "123.456e-5",
            "10e98",
        ] {
            assert!(storable(ok), "{ok}");
        }
        for bad in [
            "1e100",
            "-1e100",
            "0e-101",
            "-0.0e-100",
            "0e-16383",
            "10e99",
            "1e131071",
            "1e-101",
            "0.1e-100",
            "1e99999999999999999999",
            "1e-99999999999999999999",
            "abc",
            "",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "01x",
        ] {
            assert!(!storable(bad), "{bad}");
        }
    }

    #[test]
    fn long_literals_are_judged_by_magnitude() {
        assert!(storable(&"9".repeat(100)), "just below 1e100");
        assert!(!storable(&format!("1{}", "0".repeat(100))), "1e100");
        assert!(storable(&format!("0.{}1", "0".repeat(99))));
        assert!(!storable(&format!("0.{}1", "0".repeat(100))));
    }
}
