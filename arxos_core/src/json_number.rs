//! The numbers stored JSON documents may hold: 0, or between 1e-100 and 1e100 in magnitude
//! (1e100 itself excluded). PostgreSQL's jsonb keeps a number exactly and writes it out in
//! full, so `1e131071` (8 bytes of JSON) would be 131,072 digits wherever it is read back. The
//! database checks the rule on every write (`arxos.check_json`); this is the same rule on a
//! JSON number's literal, for callers that must sort documents out before they reach it.

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
        return true; // zero
    };
    let power = int.len() as i64 - 1 - first as i64 + exponent;
    (-100..=99).contains(&power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_1e_minus_100_to_below_1e100() {
        for ok in [
            "0",
            "-0",
            "0.0",
            "0e999999",
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
