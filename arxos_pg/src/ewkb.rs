//! EWKB encoding of locations for PostGIS interop (`arxos_core::ewkb`).

use pgrx::prelude::*;

/// Little-endian EWKB PointZ (no SRID) of x, y, z; NULL when any is NULL.
#[pg_extern(immutable, strict, parallel_safe)]
fn ewkb_point_z(x: f64, y: f64, z: f64) -> Vec<u8> {
    arxos_core::ewkb::point_z(x, y, z)
}

/// x, y, z of an EWKB/WKB point; raises on anything else.
#[pg_extern(immutable, strict, parallel_safe)]
fn ewkb_parse_point(ewkb: &[u8]) -> Vec<f64> {
    match arxos_core::ewkb::parse_point(ewkb) {
        Ok(p) => p.to_vec(),
        Err(e) => {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
                format!("invalid location: {e}"),
            );
            unreachable!("ereport(ERROR) does not return")
        }
    }
}
