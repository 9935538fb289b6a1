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
            // a well-formed point at a place no location may be is a bad value, as for put
            // (22023); bytes that are no point are a bad binary representation (22P03)
            let code = match e {
                arxos_core::ewkb::EwkbError::OutOfRange | arxos_core::ewkb::EwkbError::Empty => {
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
                }
                _ => PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
            };
            ereport!(PgLogLevel::ERROR, code, format!("invalid location: {e}"),);
            unreachable!("ereport(ERROR) does not return")
        }
    }
}
