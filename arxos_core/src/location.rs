//! The range of an object's coordinates (x, y, z in metres, in the building's own frame).
//!
//! A coordinate is a finite double within ±[`MAX_COORDINATE`] of the building's origin. The
//! bound keeps every distance finite: the cube type measures `sqrt(dx² + dy² + dz²)`, which
//! overflows to infinity once a difference passes about 1.3e154, and an object that far away
//! would silently drop out of every `near` search, whatever its radius. A million kilometres is
//! far beyond any building frame, and beyond projected map coordinates too (Web Mercator's
//! reach about 2e7 m).

/// The largest coordinate, in metres, either sign.
pub const MAX_COORDINATE: f64 = 1e9;

/// The smallest coordinate but 0, in metres, either sign: the bound stored documents have
/// (`arxos.check_json`). Coordinates reach JSON as exact decimals, and 1e-320 (a subnormal
/// double) is 322 characters in every answer, history row and event; a building frame has no
/// use for less than a nanometre, let alone 1e-100 m.
pub const MIN_COORDINATE: f64 = 1e-100;

/// Whether `v` is a coordinate an object may have: finite, within ±[`MAX_COORDINATE`], and 0
/// or at least [`MIN_COORDINATE`] in magnitude.
pub fn coordinate_in_range(v: f64) -> bool {
    v == 0.0 || (MIN_COORDINATE..=MAX_COORDINATE).contains(&v.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_inclusive_and_refuses_what_is_not_finite() {
        for v in [
            0.0,
            -0.0,
            1e-100,
            -1e-100,
            1e-9,
            MAX_COORDINATE,
            -MAX_COORDINATE,
        ] {
            assert!(coordinate_in_range(v), "{v}");
        }
        for v in [
            1e-101,
            -1e-300,
            1e-320,
            MAX_COORDINATE + 1.0,
            -MAX_COORDINATE - 1.0,
            1e200,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            assert!(!coordinate_in_range(v), "{v}");
        }
    }

    #[test]
    fn distances_between_coordinates_in_range_stay_finite() {
        let (a, b) = (MAX_COORDINATE, -MAX_COORDINATE);
        let d = (3.0 * (a - b) * (a - b)).sqrt();
        assert!(d.is_finite() && d > 3e9, "{d}");
    }
}
