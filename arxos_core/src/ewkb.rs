//! EWKB for points, so locations round-trip through PostGIS (`ST_GeomFromEWKB`,
//! `ST_AsEWKB`) without the extension depending on PostGIS.

/// Why a byte string is not a point we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EwkbError {
    #[error("EWKB is {0} bytes long; a point needs at least 21")]
    TooShort(usize),
    /// The header names a point whose coordinates need more bytes than there are (found by an
    /// audit: a truncated PointZM of 29 bytes was "29 bytes long; a point needs at least 21").
    #[error("EWKB is {have} bytes long; its {what} needs {need}")]
    Truncated {
        have: usize,
        need: usize,
        what: &'static str,
    },
    #[error("EWKB byte order marker must be 0 or 1, got {0}")]
    ByteOrder(u8),
    #[error(
        "EWKB holds a {}, not a point; Point, PointZ, PointM and PointZM are accepted (M is ignored)",
        geometry_name(*.0)
    )]
    NotAPoint(u32),
    #[error("EWKB has {0} trailing bytes")]
    Trailing(usize),
    #[error(
        "EWKB point has a coordinate that is not a finite number within ±1e9 metres of the building's origin, 0 or at least 1e-100 in magnitude"
    )]
    OutOfRange,
    #[error("EWKB point is empty")]
    Empty,
}

/// The name of an EWKB/WKB geometry type word (flags and ISO dimension thousands set aside),
/// for error messages.
fn geometry_name(raw: u32) -> String {
    const NAMES: [&str; 7] = [
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    ];
    let base = (raw & 0x0FFF_FFFF) % 1000;
    match base.checked_sub(1).and_then(|i| NAMES.get(i as usize)) {
        Some(name) => (*name).to_string(),
        None => format!("geometry of unknown type {base}"),
    }
}

const Z_FLAG: u32 = 0x8000_0000;
const M_FLAG: u32 = 0x4000_0000;
const SRID_FLAG: u32 = 0x2000_0000;

/// Little-endian EWKB of a PointZ without SRID.
pub fn point_z(x: f64, y: f64, z: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(29);
    out.push(1);
    out.extend_from_slice(&(1u32 | Z_FLAG).to_le_bytes());
    for v in [x, y, z] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Parses EWKB (or ISO WKB) of a Point, PointZ, PointM or PointZM, either byte order, with or
/// without SRID. Returns x, y, z (0 for 2-D points); M is ignored.
pub fn parse_point(bytes: &[u8]) -> Result<[f64; 3], EwkbError> {
    if bytes.len() < 21 {
        return Err(EwkbError::TooShort(bytes.len()));
    }
    let little = match bytes[0] {
        0 => false,
        1 => true,
        b => return Err(EwkbError::ByteOrder(b)),
    };
    let u32_at = |i: usize| {
        let a: [u8; 4] = bytes[i..i + 4].try_into().expect("4 bytes");
        if little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let raw = u32_at(1);
    let mut has_z = raw & Z_FLAG != 0;
    let mut has_m = raw & M_FLAG != 0;
    let has_srid = raw & SRID_FLAG != 0;
    let mut base = raw & 0x0FFF_FFFF;
    // ISO WKB encodes dimensions as 1000s: 1001 = PointZ, 2001 = PointM, 3001 = PointZM.
    match base {
        1001 => {
            has_z = true;
            base = 1
        }
        2001 => {
            has_m = true;
            base = 1
        }
        3001 => {
            has_z = true;
            has_m = true;
            base = 1
        }
        _ => {}
    }
    if base != 1 {
        return Err(EwkbError::NotAPoint(raw));
    }
    let mut at = 5 + if has_srid { 4 } else { 0 };
    let dims = 2 + usize::from(has_z) + usize::from(has_m);
    let need = at + 8 * dims;
    if bytes.len() < need {
        let what = match (has_z, has_m, has_srid) {
            (false, false, false) => "Point",
            (true, false, false) => "PointZ",
            (false, true, false) => "PointM",
            (true, true, false) => "PointZM",
            (false, false, true) => "Point with SRID",
            (true, false, true) => "PointZ with SRID",
            (false, true, true) => "PointM with SRID",
            (true, true, true) => "PointZM with SRID",
        };
        return Err(EwkbError::Truncated {
            have: bytes.len(),
            need,
            what,
        });
    }
    if bytes.len() > need {
        return Err(EwkbError::Trailing(bytes.len() - need));
    }
    let mut coords = [0f64; 4];
    for c in coords.iter_mut().take(dims) {
        let a: [u8; 8] = bytes[at..at + 8].try_into().expect("8 bytes");
        *c = if little {
            f64::from_le_bytes(a)
        } else {
            f64::from_be_bytes(a)
        };
        at += 8;
    }
    let (x, y) = (coords[0], coords[1]);
    let z = if has_z { coords[2] } else { 0.0 };
    if x.is_nan() && y.is_nan() {
        return Err(EwkbError::Empty);
    }
    if ![x, y, z]
        .into_iter()
        .all(crate::location::coordinate_in_range)
    {
        return Err(EwkbError::OutOfRange);
    }
    Ok([x, y, z])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let b = point_z(1.5, -2.25, 3.0);
        assert_eq!(b.len(), 29);
        assert_eq!(parse_point(&b).unwrap(), [1.5, -2.25, 3.0]);
    }

    #[test]
    fn postgis_point_z_with_srid() {
        // ST_AsEWKB('SRID=4326;POINT Z (1 2 3)'::geometry), as PostGIS prints it.
        let hex = "01010000A0E6100000000000000000F03F00000000000000400000000000000840";
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(parse_point(&bytes).unwrap(), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn big_endian_2d_point() {
        let mut b = vec![0u8];
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(&4.0f64.to_be_bytes());
        b.extend_from_slice(&5.0f64.to_be_bytes());
        assert_eq!(parse_point(&b).unwrap(), [4.0, 5.0, 0.0]);
    }

    #[test]
    fn refuses_non_points_and_junk() {
        let mut line = point_z(0.0, 0.0, 0.0);
        line[1] = 2;
        assert!(matches!(parse_point(&line), Err(EwkbError::NotAPoint(_))));
        assert_eq!(
            parse_point(&line).unwrap_err().to_string(),
            "EWKB holds a LineString, not a point; Point, PointZ, PointM and PointZM are accepted (M is ignored)"
        );
        // a MultiPoint with the Z flag (PostGIS's EWKB), and an ISO WKB MultiPointZ
        for raw in [4u32 | Z_FLAG, 1004] {
            let mut multi = point_z(1.0, 2.0, 3.0);
            multi[1..5].copy_from_slice(&raw.to_le_bytes());
            assert!(parse_point(&multi)
                .unwrap_err()
                .to_string()
                .starts_with("EWKB holds a MultiPoint,"));
        }
        assert_eq!(geometry_name(99), "geometry of unknown type 99");
        assert_eq!(geometry_name(0), "geometry of unknown type 0");
        assert_eq!(parse_point(&[1, 2, 3]), Err(EwkbError::TooShort(3)));
        // a PointZM cut short names what its header promised
        let mut zm = point_z(1.0, 2.0, 3.0);
        zm[1..5].copy_from_slice(&3001u32.to_le_bytes());
        assert_eq!(
            parse_point(&zm).unwrap_err().to_string(),
            "EWKB is 29 bytes long; its PointZM needs 37"
        );
        let mut b = point_z(0.0, 0.0, 0.0);
        b[0] = 7;
        assert_eq!(parse_point(&b), Err(EwkbError::ByteOrder(7)));
        let mut b = point_z(0.0, 0.0, 0.0);
        b.push(0);
        assert_eq!(parse_point(&b), Err(EwkbError::Trailing(1)));
        let b = point_z(f64::INFINITY, 0.0, 0.0);
        assert_eq!(parse_point(&b), Err(EwkbError::OutOfRange));
        let b = point_z(0.0, 0.0, 1e9 + 1.0);
        assert_eq!(parse_point(&b), Err(EwkbError::OutOfRange));
        assert_eq!(parse_point(&point_z(-1e9, 1e9, 0.0)), Ok([-1e9, 1e9, 0.0]));
    }
}
