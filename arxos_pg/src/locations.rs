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

/// CHECK `object_location_finite`: no coordinate given is infinite or NaN (a missing one is
/// `object_location_complete`'s to refuse).
#[pg_extern(immutable, parallel_safe)]
fn location_is_finite(x: Option<f64>, y: Option<f64>, z: Option<f64>) -> bool {
    [x, y, z].into_iter().flatten().all(f64::is_finite)
}
