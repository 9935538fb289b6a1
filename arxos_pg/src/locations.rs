//! The CHECK constraints of an object's location (x, y, z in metres), as functions.
//!
//! PostgreSQL reads a table's CHECK expressions back from their stored node trees at the start
//! of every statement that writes the table, so their size is paid by every single-row write:
//! written out in SQL (`x NOT IN ('Infinity', '-Infinity', 'NaN') AND …`) the two location
//! checks were 3,800 characters of node text, about 70,000 instructions per statement
//! (bench/analysis.md, section 3). As calls of these functions they are a tenth of that.

use pgrx::prelude::*;

/// CHECK `object_location_complete`: x, y and z are all given or all NULL.
#[pg_extern(immutable, parallel_safe)]
fn location_is_complete(x: Option<f64>, y: Option<f64>, z: Option<f64>) -> bool {
    x.is_none() == y.is_none() && y.is_none() == z.is_none()
}

/// CHECK `object_location_in_range`: every coordinate given is a finite number within ±1e9
/// metres of the building's origin (`arxos_core::location`; a missing one is
/// `object_location_complete`'s to refuse). `location_parts`, `near_point` and
/// `set_location_ewkb` apply the same rule with messages of their own.
#[pg_extern(immutable, parallel_safe)]
fn location_in_range(x: Option<f64>, y: Option<f64>, z: Option<f64>) -> bool {
    [x, y, z]
        .into_iter()
        .flatten()
        .all(arxos_core::location::coordinate_in_range)
}
