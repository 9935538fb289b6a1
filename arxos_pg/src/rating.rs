//! SQL face of the BILT rating maths (`arxos_core::rating`). The data plumbing (counters, day
//! buckets, history) lives in `sql/03_rating.sql`; these functions are pure.

use arxos_core::rating::{self, Components, Grade, RatingError, RatingInputs};
use pgrx::prelude::*;

fn raise(err: RatingError) -> ! {
    ereport!(
        PgLogLevel::ERROR,
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        err.to_string(),
    );
    unreachable!("ereport(ERROR) does not return")
}

fn grade_of(name: &str) -> Grade {
    name.parse().unwrap_or_else(|e| raise(e))
}

/// The BILT grade of a score in [0, 100]; other scores raise.
#[pg_extern(immutable, strict, parallel_safe)]
fn grade(score: f64) -> &'static str {
    Grade::from_score(score)
        .unwrap_or_else(|e| raise(e))
        .as_str()
}

/// Ordinal 0 (0z) .. 25 (1A) of a grade; unknown grades raise.
#[pg_extern(immutable, strict, parallel_safe)]
fn grade_ordinal(grade: &str) -> i32 {
    i32::from(grade_of(grade).ordinal())
}

/// 2^(ordinal/5): 0z is worth 1, 1A is worth 32.
#[pg_extern(immutable, strict, parallel_safe)]
fn grade_value(grade: &str) -> f64 {
    grade_of(grade).value()
}

/// The seven components followed by the score, from the rating inputs (see docs/rating.md).
#[allow(clippy::too_many_arguments)]
#[pg_extern(immutable, strict, parallel_safe)]
fn rating_compute(
    objects: i64,
    located: i64,
    documented: i64,
    with_properties: i64,
    instrumented: i64,
    age_days: f64,
    changes_30d: i64,
    actors_30d: i64,
    verified_30d: i64,
) -> Vec<f64> {
    let c = Components::compute(&RatingInputs {
        objects,
        located,
        documented,
        with_properties,
        instrumented,
        age_days,
        changes_30d,
        actors_30d,
        verified_30d,
    });
    let mut out = c.as_array().to_vec();
    out.push(c.score());
    out
}

fn components_of(values: &[f64]) -> Components {
    // the first seven (rating_compute's array, its score after them, is taken as is: docs/sql.md),
    // each a finite number, as the other rating functions take them
    if values.len() < 7 {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("expected the 7 rating components, got {}", values.len()),
        );
    }
    if let Some(bad) = values[..7].iter().find(|v| !v.is_finite()) {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("rating components must be finite numbers, got {bad}"),
        );
    }
    Components {
        structure: values[0],
        inventory: values[1],
        metadata: values[2],
        sensors: values[3],
        history: values[4],
        quality: values[5],
        activity: values[6],
    }
}

/// Recommendations for a building with these components, in the documented order.
#[pg_extern(immutable, strict, parallel_safe)]
fn rating_recommendations(components: Vec<Option<f64>>) -> Vec<String> {
    // Only the seven components are read: a NULL after them is ignored as any value there is
    // (found by a review: it was refused), one among them is 22004.
    let Some(components) = components.into_iter().take(7).collect::<Option<Vec<f64>>>() else {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "rating components must not be NULL",
        );
        unreachable!("ereport(ERROR) does not return")
    };
    rating::recommendations(&components_of(&components))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Name, weight and one-line description of each component, in order.
#[pg_extern(immutable, parallel_safe)]
fn rating_components() -> TableIterator<
    'static,
    (
        name!(position, i32),
        name!(name, &'static str),
        name!(weight, f64),
        name!(description, &'static str),
    ),
> {
    TableIterator::new((0..rating::COMPONENTS.len()).map(|i| {
        (
            i as i32 + 1,
            rating::COMPONENTS[i],
            rating::WEIGHTS[i],
            rating::description(i),
        )
    }))
}
