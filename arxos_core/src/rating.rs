//! BILT rating maths: the 26 grades, the seven components, the score and the recommendations.
//!
//! Everything here is pure and total: no function panics, whatever its input. The rules are
//! written up in `docs/rating.md`; the numbers come from the domain reference, sections 1-3.
//!
//! Rounding: every component and the score are rounded half away from zero to 3 decimals
//! ([`round_half_away`]), so that they agree exactly with the `numeric(6,3)` columns the
//! extension stores them in. The score is computed from the rounded components.

use std::fmt;
use std::str::FromStr;

/// Names of the seven rating components, in their canonical order.
pub const COMPONENTS: [&str; 7] = [
    "structure",
    "inventory",
    "metadata",
    "sensors",
    "history",
    "quality",
    "activity",
];

/// Weights of the seven components, in the order of [`COMPONENTS`]. They add up to 1.
pub const WEIGHTS: [f64; 7] = [0.15, 0.20, 0.20, 0.15, 0.10, 0.10, 0.10];
/// [`WEIGHTS`] in hundredths, for the exact sum of [`Components::score`].
pub const WEIGHT_PERCENTS: [u8; 7] = [15, 20, 20, 15, 10, 10, 10];

/// Decimals kept for components and scores (`numeric(6,3)` in the database).
pub const SCORE_DECIMALS: u32 = 3;

/// Grade names by ordinal, worst (0z) to best (1A).
const GRADE_NAMES: [&str; 26] = [
    "0z", "0y", "0x", "0w", "0v", "0u", "0t", "0s", "0r", "0q", "0p", "0o", "0n",
    "0m", // 0..=13
    "1z", "1y", "1x", "1w", "1v", "1u", "1t", "1s", "1r", "1q", "1p", // 14..=24
    "1A", // 25
];

/// Lowest score of each grade's band, by ordinal. A score belongs to the last grade whose
/// lower bound it reaches. Every bound is exactly representable as an `f64`.
const GRADE_LOWER_BOUNDS: [f64; 26] = [
    0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0,
    65.0, // 0z..0m
    70.0, 72.5, 75.0, 77.5, 80.0, 82.5, 85.0, 87.5, 90.0, 92.5, 95.0, // 1z..1p
    97.5, // 1A
];

/// Errors of the rating maths.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RatingError {
    /// A score that is not a finite number within 0..=100.
    #[error("score {0} is outside 0..100")]
    ScoreOutOfRange(f64),
    /// A grade name that is not one of the 26 grades.
    #[error(
        "unknown BILT grade {}; grades run 0z..0m, 1z..1p, 1A",
        crate::message::shown(.0)
    )]
    UnknownGrade(String),
}

/// A BILT grade, identified by its ordinal 0 (0z, worst) ..= 25 (1A, best).
///
/// Grades order by ordinal, so `Grade` comparisons read as "better than".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grade(u8);

impl Grade {
    /// The worst grade, 0z.
    pub const MIN: Grade = Grade(0);
    /// The best grade, 1A.
    pub const MAX: Grade = Grade(25);

    /// The grade's ordinal, 0..=25.
    pub fn ordinal(self) -> u8 {
        self.0
    }

    /// The grade's name: "0z" .. "0m", "1z" .. "1p", "1A".
    pub fn as_str(self) -> &'static str {
        GRADE_NAMES[usize::from(self.0.min(Self::MAX.0))]
    }

    /// The grade with this ordinal, or `None` when it is above 25.
    pub fn from_ordinal(ordinal: u8) -> Option<Grade> {
        (ordinal <= Self::MAX.0).then_some(Grade(ordinal))
    }

    /// All 26 grades, worst to best.
    pub fn all() -> impl Iterator<Item = Grade> {
        (0..=Self::MAX.0).map(Grade)
    }

    /// The grade of a score: the band `[lower, next lower)` it falls in; 1A's band is
    /// `[97.5, 100]`. The score must be finite and within `[0, 100]`.
    pub fn from_score(score: f64) -> Result<Grade, RatingError> {
        if !score.is_finite() || !(0.0..=100.0).contains(&score) {
            return Err(RatingError::ScoreOutOfRange(score));
        }
        let ordinal = GRADE_LOWER_BOUNDS
            .iter()
            .rposition(|&lower| score >= lower)
            .unwrap_or(0);
        // `ordinal` indexes a 26-element array, so it fits in a u8.
        Ok(Grade(u8::try_from(ordinal).unwrap_or(0)))
    }

    /// The lowest score that earns this grade (0 for 0z, 97.5 for 1A).
    pub fn lower_bound(self) -> f64 {
        GRADE_LOWER_BOUNDS[usize::from(self.0.min(Self::MAX.0))]
    }

    /// The grade's worth, `2^(ordinal/5)`: 1 for 0z, 2 for 0u, 32 for 1A. It scales token
    /// prices and rating-impact rewards.
    pub fn value(self) -> f64 {
        2f64.powf(f64::from(self.0) / 5.0)
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Grade {
    type Err = RatingError;

    /// Parses a grade name exactly as [`Grade::as_str`] writes it (case-sensitive: "1A").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GRADE_NAMES
            .iter()
            .position(|&name| name == s)
            .and_then(|i| u8::try_from(i).ok())
            .map(Grade)
            .ok_or_else(|| RatingError::UnknownGrade(s.to_string()))
    }
}

/// What the rating of one building is computed from.
///
/// Counts are taken as they come; [`Components::compute`] copes with negative or inconsistent
/// values (see there).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RatingInputs {
    /// T: objects in the building.
    pub objects: i64,
    /// Objects with a location.
    pub located: i64,
    /// Objects with a status.
    pub documented: i64,
    /// Objects whose properties are not empty.
    pub with_properties: i64,
    /// Instrumented objects (see `docs/rating.md`).
    pub instrumented: i64,
    /// Days since the building's first object.
    pub age_days: f64,
    /// C30: changes to the building's objects in the last 30 days.
    pub changes_30d: i64,
    /// U30: distinct actors behind those changes.
    pub actors_30d: i64,
    /// V30: contributions verified (auto, peer or expert) in the last 30 days.
    pub verified_30d: i64,
}

/// The seven component scores of a building, each within `[0, 100]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Components {
    pub structure: f64,
    pub inventory: f64,
    pub metadata: f64,
    pub sensors: f64,
    pub history: f64,
    pub quality: f64,
    pub activity: f64,
}

impl Components {
    /// The components in the order of [`COMPONENTS`] and [`WEIGHTS`].
    pub fn as_array(&self) -> [f64; 7] {
        [
            self.structure,
            self.inventory,
            self.metadata,
            self.sensors,
            self.history,
            self.quality,
            self.activity,
        ]
    }

    /// The score: the weighted sum of the components, clamped to `[0, 100]` and rounded half
    /// away from zero to 3 decimals, as decimal arithmetic (a `numeric`) gives it. A NaN
    /// component makes the score 0.
    ///
    /// The sum is exact: each component, a number of thousandths, times its weight in
    /// hundredths is a whole number of 10^-5. Added as `f64`, `0.15 × 86.886 + … ` can land
    /// just below a half that decimal arithmetic reaches exactly (69.9995 as
    /// 69.99949999999998), and the score would round down, across a grade's edge.
    pub fn score(&self) -> f64 {
        let parts = self.as_array();
        if parts.iter().any(|c| c.is_nan()) {
            return 0.0;
        }
        // Thousandths, bounded so that any input (an infinity too) sums without overflow.
        let thousandths =
            |c: f64| ((c * 1000.0).round() as i128).clamp(-1_000_000_000, 1_000_000_000);
        let sum: i128 = parts
            .iter()
            .zip(WEIGHT_PERCENTS.iter())
            .map(|(c, w)| thousandths(*c) * i128::from(*w))
            .sum();
        // 10^-5 units, clamped to [0, 100], then rounded half up to thousandths.
        let clamped = sum.clamp(0, 10_000_000);
        ((clamped + 50) / 100) as f64 / 1000.0
    }

    /// The grade of [`Components::score`].
    pub fn grade(&self) -> Grade {
        // score() is always within [0, 100], so from_score cannot fail.
        Grade::from_score(self.score()).unwrap_or(Grade::MIN)
    }

    /// Computes the seven components from the inputs (reference §2).
    ///
    /// - `ln(x)` counts as 0 for `x <= 1`.
    /// - Negative counts and a negative or NaN age count as 0.
    /// - For the ratios, located, documented, with_properties and instrumented are clamped to
    ///   `[0, objects]`; actors are clamped to `[0, changes]` (every actor made a change).
    /// - structure, inventory, metadata and sensors are 0 when there are no objects; history,
    ///   quality and activity do not depend on the object count.
    /// - Each component is clamped to `[0, 100]`, then rounded half away from zero to 3
    ///   decimals.
    pub fn compute(inputs: &RatingInputs) -> Components {
        let t = inputs.objects.max(0);
        let share = |count: i64| -> f64 {
            if t == 0 {
                0.0
            } else {
                count.clamp(0, t) as f64 / t as f64
            }
        };
        let tf = t as f64;

        let (structure, inventory, metadata, sensors) = if t == 0 {
            (0.0, 0.0, 0.0, 0.0)
        } else {
            (
                30.0 + 50.0 * share(inputs.located) + 5.0 * ln_above_one(tf),
                10.0 * tf.sqrt() + 60.0 * share(inputs.documented),
                100.0 * share(inputs.with_properties),
                100.0 * share(inputs.instrumented),
            )
        };

        let changes = inputs.changes_30d.max(0);
        let actors = inputs.actors_30d.clamp(0, changes);
        let verified = inputs.verified_30d.max(0);
        let age = if inputs.age_days.is_nan() || inputs.age_days < 0.0 {
            0.0
        } else {
            inputs.age_days
        };
        let cf = changes as f64;

        let history = 25.0 * (age / 365.0).min(2.0) + 15.0 * ln_above_one(cf);
        let quality = if changes == 0 {
            50.0
        } else {
            50.0 * (actors as f64 / cf) + 50.0 * (verified as f64 / cf).min(1.0)
        };
        let activity = 20.0 * ln_above_one(cf) + 15.0 * actors as f64;

        let finish = |x: f64| round_half_away(clamp_percent(x), SCORE_DECIMALS);
        Components {
            structure: finish(structure),
            inventory: finish(inventory),
            metadata: finish(metadata),
            sensors: finish(sensors),
            history: finish(history),
            quality: finish(quality),
            activity: finish(activity),
        }
    }
}

/// Recommendation when structure < 50.
pub const REC_STRUCTURE: &str = "Locate more objects: give each object a position in the building.";
/// Recommendation when inventory < 50.
pub const REC_INVENTORY: &str = "Document more objects: record a status for each object.";
/// Recommendation when metadata < 50.
pub const REC_METADATA: &str =
    "Add properties to objects (make, model, capacity, install date and so on).";
/// Recommendation when sensors < 30.
pub const REC_SENSORS: &str =
    "Instrument equipment: install sensors or meters, or connect them with `monitors`.";
/// Recommendation when activity < 40.
pub const REC_ACTIVITY: &str =
    "Contribute more: the building had little change activity in the last 30 days.";
/// The single recommendation when none of the others applies.
pub const REC_EXCELLENT: &str = "The building is in excellent shape: keep its data current.";

/// Recommendations for a building, in the order of reference §3: structure < 50,
/// inventory < 50, metadata < 50, sensors < 30, activity < 40. When none applies, exactly one
/// message saying the building is in excellent shape. A NaN component triggers nothing.
pub fn recommendations(c: &Components) -> Vec<&'static str> {
    let rules = [
        (c.structure < 50.0, REC_STRUCTURE),
        (c.inventory < 50.0, REC_INVENTORY),
        (c.metadata < 50.0, REC_METADATA),
        (c.sensors < 30.0, REC_SENSORS),
        (c.activity < 40.0, REC_ACTIVITY),
    ];
    let recs: Vec<&'static str> = rules
        .iter()
        .filter(|(applies, _)| *applies)
        .map(|(_, msg)| *msg)
        .collect();
    if recs.is_empty() {
        vec![REC_EXCELLENT]
    } else {
        recs
    }
}

const DESCRIPTIONS: [&str; 7] = [
    "How much of the building is located: share of objects with a position, plus object count.",
    "How much is inventoried: object count plus share of objects with a status.",
    "How rich the data is: share of objects with non-empty properties.",
    "How instrumented the building is: share of objects that are or are watched by sensors.",
    "How long and how often it has been maintained: age up to two years, plus recent changes.",
    "How trustworthy recent changes are: distinct actors and verified contributions per change.",
    "How active the building is: recent changes and the number of people behind them.",
];

/// One-line description of the component at `component_index` (order of [`COMPONENTS`]);
/// "unknown component" for an index above 6.
pub fn description(component_index: usize) -> &'static str {
    DESCRIPTIONS
        .get(component_index)
        .copied()
        .unwrap_or("unknown component")
}

/// Rounds `x` half away from zero to `places` decimals, the way PostgreSQL rounds a
/// `numeric`.
///
/// The decimal that is rounded is the shortest one that reads back as `x` (what `x` prints
/// as), not the binary value behind it: `round_half_away(1.0005, 3)` is 1.001 and
/// `round_half_away(2.675, 2)` is 2.68, although the nearest `f64`s lie just below those
/// halves. NaN and infinities are returned unchanged; a result of zero is always +0.
pub fn round_half_away(x: f64, places: u32) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    round_fast(x, places).unwrap_or_else(|| round_decimal(x, places))
}

/// The rounding in plain `f64` arithmetic, where it provably agrees with [`round_decimal`]:
/// at most 9 places, `|x|·10^places` below 10^8 (so it is within 10^-7 of the decimal it
/// stands for), and its fraction farther than 10^-6 from a half. Otherwise `None`.
/// (`q / 10^places` with both exact integers is the `f64` nearest the decimal result, as the
/// parse in [`round_decimal`] is.)
fn round_fast(x: f64, places: u32) -> Option<f64> {
    if places > 9 {
        return None;
    }
    let p = 10f64.powi(places as i32);
    let s = x.abs() * p;
    if s >= 1e8 {
        return None;
    }
    let floor = s.floor();
    let frac = s - floor;
    if (frac - 0.5).abs() < 1e-6 {
        return None;
    }
    let q = if frac > 0.5 { floor + 1.0 } else { floor };
    if q == 0.0 {
        return Some(0.0);
    }
    Some((q / p).copysign(x))
}

/// The rounding on the shortest decimal that reads back as `x` (see [`round_half_away`]).
fn round_decimal(x: f64, places: u32) -> f64 {
    // No f64 has a significant digit beyond the 400th decimal, so capping keeps i32 maths safe.
    let places = places.min(400) as i32;
    // Shortest round-trip decimal in scientific notation, e.g. "1.0005e0" or "1e-7".
    let text = format!("{:e}", x.abs());
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return x;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return x;
    };
    let digits: String = mantissa.chars().filter(|ch| *ch != '.').collect();
    // At most 17 significant digits: fits an i128 with room to spare.
    let Ok(m) = digits.parse::<i128>() else {
        return x;
    };
    // |x| = m × 10^scale
    let scale = exponent - (digits.len() as i32 - 1);
    let dropped = -(scale + places);
    if dropped <= 0 {
        return x; // already has at most `places` decimals
    }
    let q = if dropped > 38 {
        0 // m < 10^17 is far below half of 10^dropped
    } else {
        let p = 10i128.pow(dropped as u32);
        // m % p <= m < 10^17, so doubling cannot overflow.
        if 2 * (m % p) >= p {
            m / p + 1
        } else {
            m / p
        }
    };
    if q == 0 {
        return 0.0;
    }
    match format!("{q}e-{places}").parse::<f64>() {
        Ok(v) => v.copysign(x),
        Err(_) => x,
    }
}

/// `ln(x)`, counted as 0 for `x <= 1`.
fn ln_above_one(x: f64) -> f64 {
    if x > 1.0 {
        x.ln()
    } else {
        0.0
    }
}

/// Clamps to `[0, 100]`; NaN becomes 0.
fn clamp_percent(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn g(name: &str) -> Grade {
        name.parse().expect("valid grade")
    }

    fn worked_example() -> RatingInputs {
        RatingInputs {
            objects: 19,
            located: 19,
            documented: 19,
            with_properties: 8,
            ..RatingInputs::default()
        }
    }

    #[test]
    fn weights_add_up_to_one() {
        let total: f64 = WEIGHTS.iter().sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert_eq!(COMPONENTS.len(), WEIGHTS.len());
        for (w, p) in WEIGHTS.iter().zip(WEIGHT_PERCENTS) {
            assert_eq!(*w, f64::from(p) / 100.0);
        }
    }

    #[test]
    fn the_score_is_the_exact_decimal_sum_rounded() {
        // 13.0329 + 20 + 10.3268 + 8.8725 + 6.4037 + 1.3636 + 10 = 69.9995 exactly; added as
        // f64 it is 69.99949999999998, which rounded to 69.999 (grade 0m instead of 1z).
        let c = Components {
            structure: 86.886,
            inventory: 100.0,
            metadata: 51.634,
            sensors: 59.150,
            history: 64.037,
            quality: 13.636,
            activity: 100.0,
        };
        assert_eq!(c.score(), 70.0);
        assert_eq!(c.grade(), Grade::from_score(70.0).unwrap());
        let f64_sum: f64 = c.as_array().iter().zip(WEIGHTS).map(|(c, w)| c * w).sum();
        assert!(
            f64_sum < 69.9995,
            "the case shows the f64 sum below the half"
        );
    }

    proptest! {
        #[test]
        fn the_score_agrees_with_decimal_arithmetic(parts in proptest::array::uniform7(0i64..=100_000)) {
            let c = Components {
                structure: parts[0] as f64 / 1000.0,
                inventory: parts[1] as f64 / 1000.0,
                metadata: parts[2] as f64 / 1000.0,
                sensors: parts[3] as f64 / 1000.0,
                history: parts[4] as f64 / 1000.0,
                quality: parts[5] as f64 / 1000.0,
                activity: parts[6] as f64 / 1000.0,
            };
            // The exact sum in 10^-5 as decimal text, rounded by the numeric-like rounding.
            let exact: i64 = parts.iter().zip(WEIGHT_PERCENTS).map(|(p, w)| p * i64::from(w)).sum();
            let text = format!("{}.{:05}", exact / 100_000, exact % 100_000);
            let expected = round_half_away(text.parse::<f64>().unwrap(), SCORE_DECIMALS);
            prop_assert_eq!(c.score(), expected, "{}", text);
        }
    }

    #[test]
    fn grade_names_round_trip() {
        let names: Vec<&str> = Grade::all().map(Grade::as_str).collect();
        assert_eq!(names.len(), 26);
        assert_eq!(names[0], "0z");
        assert_eq!(names[13], "0m");
        assert_eq!(names[14], "1z");
        assert_eq!(names[24], "1p");
        assert_eq!(names[25], "1A");
        for grade in Grade::all() {
            assert_eq!(grade.as_str().parse::<Grade>(), Ok(grade));
            assert_eq!(grade.to_string(), grade.as_str());
            assert_eq!(Grade::from_ordinal(grade.ordinal()), Some(grade));
        }
        assert_eq!(Grade::from_ordinal(26), None);
        assert_eq!(Grade::from_ordinal(255), None);
        assert_eq!(Grade::MIN, g("0z"));
        assert_eq!(Grade::MAX, g("1A"));
        assert!(g("1A") > g("1p") && g("1z") > g("0m") && g("0y") > g("0z"));
    }

    #[test]
    fn unknown_grades_are_rejected() {
        for bad in ["zz", "", "1a", "0A", "1m", "2z", " 0z", "0z ", "1AA"] {
            assert_eq!(
                bad.parse::<Grade>(),
                Err(RatingError::UnknownGrade(bad.to_string()))
            );
        }
        assert_eq!(
            "zz".parse::<Grade>().unwrap_err().to_string(),
            "unknown BILT grade 'zz'; grades run 0z..0m, 1z..1p, 1A"
        );
    }

    #[test]
    fn score_out_of_range_message() {
        assert_eq!(
            Grade::from_score(100.5).unwrap_err().to_string(),
            "score 100.5 is outside 0..100"
        );
    }

    #[test]
    fn grade_boundaries_from_the_brief() {
        let cases = [
            (0.0, "0z"),
            (4.999, "0z"),
            (5.0, "0y"),
            (69.999, "0m"),
            (70.0, "1z"),
            (97.499, "1p"),
            (97.5, "1A"),
            (100.0, "1A"),
        ];
        for (score, name) in cases {
            assert_eq!(Grade::from_score(score), Ok(g(name)), "score {score}");
        }
        for bad in [
            -0.001,
            100.001,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0 - 1e-300,
        ] {
            assert!(
                matches!(Grade::from_score(bad), Err(RatingError::ScoreOutOfRange(_))),
                "score {bad} should be rejected"
            );
        }
        // -0.0 is zero, so it is a valid score.
        assert_eq!(Grade::from_score(-0.0), Ok(g("0z")));
    }

    #[test]
    fn every_grade_boundary() {
        for grade in Grade::all() {
            let lower = grade.lower_bound();
            assert_eq!(Grade::from_score(lower), Ok(grade), "lower bound {lower}");
            assert_eq!(Grade::from_score(lower + 0.001), Ok(grade));
            if grade > Grade::MIN {
                let below = Grade::from_score(lower - 0.001).expect("in range");
                assert_eq!(below.ordinal(), grade.ordinal() - 1, "just below {lower}");
                // The largest f64 below the bound still belongs to the previous grade.
                let just_below = f64::from_bits(lower.to_bits() - 1);
                assert_eq!(Grade::from_score(just_below), Ok(below));
            }
        }
        let expected_bounds = [
            (0, 0.0),
            (1, 5.0),
            (13, 65.0),
            (14, 70.0),
            (15, 72.5),
            (24, 95.0),
            (25, 97.5),
        ];
        for (ordinal, bound) in expected_bounds {
            let grade = Grade::from_ordinal(ordinal).expect("valid ordinal");
            assert_eq!(grade.lower_bound(), bound);
        }
    }

    #[test]
    fn grade_values() {
        assert_eq!(g("0z").value(), 1.0);
        assert_eq!(g("0u").value(), 2.0);
        assert_eq!(g("0p").value(), 4.0);
        assert_eq!(g("1y").value(), 8.0);
        assert_eq!(g("1t").value(), 16.0);
        assert_eq!(g("1A").value(), 32.0);
        assert!((g("0q").value() - 2f64.powf(1.8)).abs() < 1e-12);
        let values: Vec<f64> = Grade::all().map(Grade::value).collect();
        assert!(values.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn worked_example_of_the_reference() {
        let c = Components::compute(&worked_example());
        assert_eq!(
            c,
            Components {
                structure: 94.722,
                inventory: 100.0,
                metadata: 42.105,
                sensors: 0.0,
                history: 0.0,
                quality: 50.0,
                activity: 0.0,
            }
        );
        assert_eq!(c.score(), 47.629);
        assert_eq!(c.grade(), g("0q"));
        assert_eq!(Grade::from_score(c.score()), Ok(g("0q")));
        assert_eq!(
            recommendations(&c),
            vec![REC_METADATA, REC_SENSORS, REC_ACTIVITY]
        );
    }

    #[test]
    fn empty_building() {
        let c = Components::compute(&RatingInputs::default());
        assert_eq!(c.as_array(), [0.0, 0.0, 0.0, 0.0, 0.0, 50.0, 0.0]);
        assert_eq!(c.score(), 5.0);
        assert_eq!(c.grade(), g("0y"));
        assert_eq!(
            recommendations(&c),
            vec![
                REC_STRUCTURE,
                REC_INVENTORY,
                REC_METADATA,
                REC_SENSORS,
                REC_ACTIVITY
            ]
        );
    }

    #[test]
    fn structure_component() {
        // One object, not located: ln 1 counts as 0.
        let c = Components::compute(&RatingInputs {
            objects: 1,
            ..Default::default()
        });
        assert_eq!(c.structure, 30.0);
        // 100 objects, 40 located: 30 + 20 + 5 ln 100 = 50 + 23.02585... = 73.026
        let c = Components::compute(&RatingInputs {
            objects: 100,
            located: 40,
            ..Default::default()
        });
        assert_eq!(c.structure, 73.026);
        // Large building, all located: clamped to 100.
        let c = Components::compute(&RatingInputs {
            objects: 10_000,
            located: 10_000,
            ..Default::default()
        });
        assert_eq!(c.structure, 100.0);
    }

    #[test]
    fn inventory_component() {
        // 4 objects, 1 documented: 10·2 + 60/4 = 35
        let c = Components::compute(&RatingInputs {
            objects: 4,
            documented: 1,
            ..Default::default()
        });
        assert_eq!(c.inventory, 35.0);
        // 2 objects, none documented: 10·√2 = 14.1421356 -> 14.142
        let c = Components::compute(&RatingInputs {
            objects: 2,
            ..Default::default()
        });
        assert_eq!(c.inventory, 14.142);
        // 3 objects, 2 documented: 10·√3 + 40 = 57.3205 -> 57.321
        let c = Components::compute(&RatingInputs {
            objects: 3,
            documented: 2,
            ..Default::default()
        });
        assert_eq!(c.inventory, 57.321);
    }

    #[test]
    fn metadata_and_sensors_components() {
        let c = Components::compute(&RatingInputs {
            objects: 3,
            with_properties: 1,
            instrumented: 2,
            ..Default::default()
        });
        assert_eq!(c.metadata, 33.333);
        assert_eq!(c.sensors, 66.667);
        let c = Components::compute(&RatingInputs {
            objects: 8,
            with_properties: 8,
            instrumented: 1,
            ..Default::default()
        });
        assert_eq!(c.metadata, 100.0);
        assert_eq!(c.sensors, 12.5);
    }

    #[test]
    fn history_component() {
        // 400 days, 10 changes: 25·min(400/365, 2) + 15 ln 10
        //   = 27.3972603 + 34.5387764 = 61.9360367 -> 61.936
        let c = Components::compute(&RatingInputs {
            age_days: 400.0,
            changes_30d: 10,
            ..Default::default()
        });
        assert_eq!(c.history, 61.936);
        // Age counts at most two years.
        let c = Components::compute(&RatingInputs {
            age_days: 5000.0,
            ..Default::default()
        });
        assert_eq!(c.history, 50.0);
        // Half a year, one change (ln 1 = 0): 25·0.5 = 12.5
        let c = Components::compute(&RatingInputs {
            age_days: 182.5,
            changes_30d: 1,
            ..Default::default()
        });
        assert_eq!(c.history, 12.5);
        // Old and busy: clamped to 100.
        let c = Components::compute(&RatingInputs {
            age_days: 730.0,
            changes_30d: 100,
            ..Default::default()
        });
        assert_eq!(c.history, 100.0);
        // History does not depend on the object count.
        let c = Components::compute(&RatingInputs {
            objects: 0,
            age_days: 400.0,
            changes_30d: 10,
            ..Default::default()
        });
        assert_eq!(c.history, 61.936);
    }

    #[test]
    fn quality_component() {
        // U30 = 2, C30 = 10, V30 = 3: 50·0.2 + 50·0.3 = 25
        let c = Components::compute(&RatingInputs {
            changes_30d: 10,
            actors_30d: 2,
            verified_30d: 3,
            ..Default::default()
        });
        assert_eq!(c.quality, 25.0);
        // No changes: 50, whatever else.
        let c = Components::compute(&RatingInputs {
            verified_30d: 7,
            ..Default::default()
        });
        assert_eq!(c.quality, 50.0);
        // More verified than changes: the verified share caps at 1. 50·1/3 + 50 = 66.667
        let c = Components::compute(&RatingInputs {
            changes_30d: 3,
            actors_30d: 1,
            verified_30d: 30,
            ..Default::default()
        });
        assert_eq!(c.quality, 66.667);
        // One actor per change and all verified: 100.
        let c = Components::compute(&RatingInputs {
            changes_30d: 4,
            actors_30d: 4,
            verified_30d: 4,
            ..Default::default()
        });
        assert_eq!(c.quality, 100.0);
    }

    #[test]
    fn activity_component() {
        // C30 = 10, U30 = 2: 20 ln 10 + 30 = 46.0517 + 30 = 76.052
        let c = Components::compute(&RatingInputs {
            changes_30d: 10,
            actors_30d: 2,
            ..Default::default()
        });
        assert_eq!(c.activity, 76.052);
        // C30 = 1, U30 = 1: ln 1 = 0, so 15
        let c = Components::compute(&RatingInputs {
            changes_30d: 1,
            actors_30d: 1,
            ..Default::default()
        });
        assert_eq!(c.activity, 15.0);
        // C30 = 3, U30 = 0: 20 ln 3 = 21.972
        let c = Components::compute(&RatingInputs {
            changes_30d: 3,
            ..Default::default()
        });
        assert_eq!(c.activity, 21.972);
        // Busy: clamped to 100.
        let c = Components::compute(&RatingInputs {
            changes_30d: 50,
            actors_30d: 5,
            ..Default::default()
        });
        assert_eq!(c.activity, 100.0);
    }

    #[test]
    fn brief_full_building_reaches_1p_not_1a() {
        // 1000 objects, all located, documented, with properties and instrumented; two years
        // old; C30 = 1000, U30 = 10, V30 = 1000. Quality is 50·10/1000 + 50 = 50.5, which caps
        // the score at 90 + 5.05 = 95.05: grade 1p. See `full_building_reaches_1a`.
        let inputs = RatingInputs {
            objects: 1000,
            located: 1000,
            documented: 1000,
            with_properties: 1000,
            instrumented: 1000,
            age_days: 730.0,
            changes_30d: 1000,
            actors_30d: 10,
            verified_30d: 1000,
        };
        let c = Components::compute(&inputs);
        assert_eq!(
            c.as_array(),
            [100.0, 100.0, 100.0, 100.0, 100.0, 50.5, 100.0]
        );
        assert_eq!(c.score(), 95.05);
        assert_eq!(c.grade(), g("1p"));
        assert_eq!(recommendations(&c), vec![REC_EXCELLENT]);
    }

    #[test]
    fn full_building_reaches_1a() {
        // 1A needs quality >= 75 when every other component is 100, i.e. U30 >= C30/2 with
        // everything verified, and C30 >= 29 so that history reaches 100 (25·2 + 15 ln 29 > 100).
        let inputs = RatingInputs {
            objects: 1000,
            located: 1000,
            documented: 1000,
            with_properties: 1000,
            instrumented: 1000,
            age_days: 730.0,
            changes_30d: 30,
            actors_30d: 15,
            verified_30d: 30,
        };
        let c = Components::compute(&inputs);
        assert_eq!(
            c.as_array(),
            [100.0, 100.0, 100.0, 100.0, 100.0, 75.0, 100.0]
        );
        assert_eq!(c.score(), 97.5);
        assert_eq!(c.grade(), g("1A"));
        // Every component at 100 scores exactly 100.
        let all = Components::compute(&RatingInputs {
            actors_30d: 30,
            ..inputs
        });
        assert_eq!(all.score(), 100.0);
        assert_eq!(all.grade(), Grade::MAX);
    }

    #[test]
    fn bad_inputs_do_not_panic_and_are_clamped() {
        // located > objects counts as objects; negatives count as 0.
        let c = Components::compute(&RatingInputs {
            objects: 4,
            located: 9,
            documented: -3,
            with_properties: 400,
            instrumented: i64::MIN,
            age_days: -10.0,
            changes_30d: -5,
            actors_30d: 7,
            verified_30d: -1,
        });
        assert_eq!(c.structure, 86.931); // 30 + 50 + 5 ln 4 = 86.93147
        assert_eq!(c.inventory, 20.0); // 10·2 + 0
        assert_eq!(c.metadata, 100.0);
        assert_eq!(c.sensors, 0.0);
        assert_eq!(c.history, 0.0);
        assert_eq!(c.quality, 50.0); // no changes
        assert_eq!(c.activity, 0.0); // actors clamped to changes = 0
                                     // Negative object count: as if empty.
        let c = Components::compute(&RatingInputs {
            objects: -7,
            located: 3,
            ..Default::default()
        });
        assert_eq!(c.as_array(), [0.0, 0.0, 0.0, 0.0, 0.0, 50.0, 0.0]);
        // NaN and infinite ages.
        let c = Components::compute(&RatingInputs {
            age_days: f64::NAN,
            ..Default::default()
        });
        assert_eq!(c.history, 0.0);
        let c = Components::compute(&RatingInputs {
            age_days: f64::INFINITY,
            ..Default::default()
        });
        assert_eq!(c.history, 50.0);
        // Extreme counts.
        let c = Components::compute(&RatingInputs {
            objects: i64::MAX,
            located: i64::MAX,
            documented: i64::MAX,
            with_properties: i64::MAX,
            instrumented: i64::MAX,
            age_days: f64::MAX,
            changes_30d: i64::MAX,
            actors_30d: i64::MAX,
            verified_30d: i64::MAX,
        });
        assert_eq!(c.score(), 100.0);
    }

    #[test]
    fn score_of_odd_components() {
        let nan = Components {
            structure: f64::NAN,
            inventory: 0.0,
            metadata: 0.0,
            sensors: 0.0,
            history: 0.0,
            quality: 0.0,
            activity: 0.0,
        };
        assert_eq!(nan.score(), 0.0);
        assert_eq!(
            recommendations(&nan),
            vec![REC_INVENTORY, REC_METADATA, REC_SENSORS, REC_ACTIVITY]
        );
        let big = Components {
            structure: 1e9,
            ..nan
        };
        assert_eq!(big.score(), 100.0);
        let negative = Components {
            structure: -1e9,
            ..nan
        };
        assert_eq!(negative.score(), 0.0);
    }

    #[test]
    fn recommendation_thresholds_and_order() {
        let good = Components {
            structure: 50.0,
            inventory: 50.0,
            metadata: 50.0,
            sensors: 30.0,
            history: 0.0,
            quality: 0.0,
            activity: 40.0,
        };
        assert_eq!(recommendations(&good), vec![REC_EXCELLENT]);
        let bad = Components {
            structure: 49.999,
            inventory: 49.999,
            metadata: 49.999,
            sensors: 29.999,
            history: 0.0,
            quality: 0.0,
            activity: 39.999,
        };
        assert_eq!(
            recommendations(&bad),
            vec![
                REC_STRUCTURE,
                REC_INVENTORY,
                REC_METADATA,
                REC_SENSORS,
                REC_ACTIVITY
            ]
        );
        assert_eq!(
            recommendations(&Components {
                sensors: 29.0,
                ..good
            }),
            vec![REC_SENSORS]
        );
        assert_eq!(
            recommendations(&Components {
                activity: 0.0,
                structure: 10.0,
                ..good
            }),
            vec![REC_STRUCTURE, REC_ACTIVITY]
        );
        for msg in [
            REC_STRUCTURE,
            REC_INVENTORY,
            REC_METADATA,
            REC_SENSORS,
            REC_ACTIVITY,
            REC_EXCELLENT,
        ] {
            assert!(!msg.contains('\n'));
        }
    }

    #[test]
    fn descriptions() {
        for i in 0..COMPONENTS.len() {
            let d = description(i);
            assert!(!d.is_empty() && !d.contains('\n'));
            assert_ne!(d, "unknown component");
        }
        assert_eq!(description(7), "unknown component");
        assert_eq!(description(usize::MAX), "unknown component");
    }

    #[test]
    fn rounding_half_away_from_zero() {
        assert_eq!(round_half_away(1.0005, 3), 1.001);
        assert_eq!(round_half_away(-1.0005, 3), -1.001);
        assert_eq!(round_half_away(1.0004999, 3), 1.0);
        assert_eq!(round_half_away(2.675, 2), 2.68);
        assert_eq!(round_half_away(0.0005, 3), 0.001);
        assert_eq!(round_half_away(0.00049, 3), 0.0);
        assert!(round_half_away(-0.0004, 3).is_sign_positive());
        assert_eq!(round_half_away(47.6293, 3), 47.629);
        assert_eq!(round_half_away(94.72219, 3), 94.722);
        assert_eq!(round_half_away(99.9999, 3), 100.0);
        assert_eq!(round_half_away(12.5, 0), 13.0);
        assert_eq!(round_half_away(-12.5, 0), -13.0);
        assert_eq!(round_half_away(1e20, 3), 1e20);
        assert_eq!(round_half_away(1e-300, 6), 0.0);
        assert_eq!(round_half_away(5e-324, 6), 0.0);
        assert_eq!(round_half_away(123.456, 6), 123.456);
        assert_eq!(round_half_away(0.1 + 0.2, 6), 0.3);
        assert_eq!(round_half_away(f64::MAX, 3), f64::MAX);
        assert_eq!(round_half_away(1.5, u32::MAX), 1.5);
        assert!(round_half_away(f64::NAN, 3).is_nan());
        assert_eq!(round_half_away(f64::INFINITY, 3), f64::INFINITY);
    }

    proptest! {
        #[test]
        fn score_is_always_within_0_and_100(
            objects in any::<i64>(),
            located in any::<i64>(),
            documented in any::<i64>(),
            with_properties in any::<i64>(),
            instrumented in any::<i64>(),
            age_days in any::<f64>(),
            changes_30d in any::<i64>(),
            actors_30d in any::<i64>(),
            verified_30d in any::<i64>(),
        ) {
            let inputs = RatingInputs {
                objects, located, documented, with_properties, instrumented,
                age_days, changes_30d, actors_30d, verified_30d,
            };
            let c = Components::compute(&inputs);
            for x in c.as_array() {
                prop_assert!((0.0..=100.0).contains(&x));
            }
            let score = c.score();
            prop_assert!((0.0..=100.0).contains(&score));
            prop_assert!(Grade::from_score(score).is_ok());
        }

        #[test]
        fn plausible_inputs_score_within_0_and_100(
            objects in 0i64..100_000,
            located in 0u32..=100,
            documented in 0u32..=100,
            with_properties in 0u32..=100,
            instrumented in 0u32..=100,
            age_days in 0.0f64..5000.0,
            changes_30d in 0i64..100_000,
            actors_30d in 0u32..=100,
            verified_30d in 0u32..=150,
        ) {
            let pct = |p: u32, of: i64| of * i64::from(p) / 100;
            let inputs = RatingInputs {
                objects,
                located: pct(located, objects),
                documented: pct(documented, objects),
                with_properties: pct(with_properties, objects),
                instrumented: pct(instrumented, objects),
                age_days,
                changes_30d,
                actors_30d: pct(actors_30d, changes_30d),
                verified_30d: pct(verified_30d, changes_30d),
            };
            let score = Components::compute(&inputs).score();
            prop_assert!((0.0..=100.0).contains(&score));
        }

        #[test]
        fn grade_is_monotone_in_score(a in 0.0f64..=100.0, b in 0.0f64..=100.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (glo, ghi) = (Grade::from_score(lo), Grade::from_score(hi));
            prop_assert!(glo.is_ok() && ghi.is_ok());
            prop_assert!(glo.unwrap_or(Grade::MAX) <= ghi.unwrap_or(Grade::MIN));
        }

        #[test]
        fn grade_band_contains_score(score in 0.0f64..=100.0) {
            let grade = Grade::from_score(score).unwrap_or(Grade::MIN);
            prop_assert!(score >= grade.lower_bound());
            if let Some(next) = Grade::from_ordinal(grade.ordinal() + 1) {
                prop_assert!(score < next.lower_bound());
            }
        }

        #[test]
        fn the_fast_rounding_agrees_with_the_decimal_one(
            x in prop_oneof![-1e9f64..1e9, -200.0f64..200.0, -1.0f64..1.0],
            places in 0u32..=10,
        ) {
            prop_assert_eq!(round_half_away(x, places).to_bits(), round_decimal(x, places).to_bits());
        }

        #[test]
        fn halves_written_in_decimal_round_away(units in -10_000_000i64..10_000_000, places in 1u32..=6) {
            // units·10^-(places+1) ends in 5 when units does: a decimal half.
            let x: f64 = format!("{units}e-{}", places + 1).parse().unwrap();
            prop_assert_eq!(round_half_away(x, places).to_bits(), round_decimal(x, places).to_bits());
        }

        #[test]
        fn rounding_is_close(x in -1e9f64..1e9, places in 0u32..=8) {
            let r = round_half_away(x, places);
            let step = 10f64.powi(-(places as i32));
            prop_assert!((r - x).abs() <= step / 2.0 + x.abs() * 1e-15 + 1e-300);
            prop_assert_eq!(round_half_away(r, places), r);
        }
    }
}
