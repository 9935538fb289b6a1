//! PostgreSQL's binary `jsonb` format, written directly: the history and event documents of
//! every object write are encoded here instead of being printed as JSON text and parsed by
//! `jsonb_in`, or pushed token by token through `pushJsonbValue`, which sorts every object's
//! keys with a generic quicksort (most of the cost of a document; see docs/benchmarks.md,
//! "Instructions per write").
//!
//! The layout is PostgreSQL's own (`src/backend/utils/adt/jsonb_util.c`, format version of 9.4
//! and later): a 4-byte varlena header, then the root container: a `uint32` header (count and
//! kind), one `JEntry` per key and per value (keys first, in jsonb key order: shorter keys first,
//! then bytewise), then the keys' bytes and the values' bytes in the same order. Numerics and
//! nested containers start on a 4-byte boundary, and the padding counts as part of the value.
//! Every 32nd `JEntry` holds the end offset of its item instead of its length. The encoding
//! is byte for byte what `JsonbValueToJsonb` writes for the same document (the extension's
//! `#[pg_test]`s compare the two).
//!
//! Numbers and embedded documents come from PostgreSQL as bytes: a number is turned into a
//! numeric (a whole varlena, header included) by the caller's [`Numerics`], only when it is
//! written; a container is the root container of a jsonb (its bytes after the varlena header),
//! copied as is (its offsets are relative to itself).

use thiserror::Error;

const JB_FOBJECT: u32 = 0x2000_0000;
const JB_FARRAY: u32 = 0x4000_0000;
const JB_FSCALAR: u32 = 0x1000_0000;
const JB_CMASK: u32 = 0x0FFF_FFFF;
const JENTRY_OFFLENMASK: u32 = 0x0FFF_FFFF;
const JENTRY_HAS_OFF: u32 = 0x8000_0000;
const JENTRY_ISSTRING: u32 = 0x0000_0000;
const JENTRY_ISNUMERIC: u32 = 0x1000_0000;
const JENTRY_ISBOOL_FALSE: u32 = 0x2000_0000;
const JENTRY_ISBOOL_TRUE: u32 = 0x3000_0000;
const JENTRY_ISNULL: u32 = 0x4000_0000;
const JENTRY_ISCONTAINER: u32 = 0x5000_0000;
const JB_OFFSET_STRIDE: usize = 32;
/// The largest varlena PostgreSQL stores (1 GB less one byte).
const MAX_VARLENA: usize = 0x3FFF_FFFF;

/// A document that cannot be stored as jsonb.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error(
        "total size of jsonb object elements exceeds the maximum of {JENTRY_OFFLENMASK} bytes"
    )]
    ObjectTooLarge,
    #[error("string too long to represent as jsonb string")]
    StringTooLong,
    #[error("jsonb value exceeds the maximum size of {MAX_VARLENA} bytes")]
    TooLarge,
    #[error("an embedded jsonb container must be an object or an array, not a scalar")]
    ScalarContainer,
    #[error("an embedded jsonb container is malformed ({0} bytes)")]
    BadContainer(usize),
    #[error("duplicate key {0:?} in a document built by ArxOS")]
    DuplicateKey(String),
}

/// A JSON number, to become a PostgreSQL numeric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    /// A finite double; it becomes the numeric of the shortest decimal that reads back as the
    /// same double (the digits PostgreSQL's float8out prints).
    Float(f64),
}

/// Turns numbers into PostgreSQL numerics.
pub trait Numerics {
    /// Appends the numeric for `n`, a whole varlena (header included), to `out`.
    fn write(&mut self, n: Number, out: &mut Vec<u8>);
}

/// A JSON value to encode. `Container` is the root container of another jsonb, embedded
/// without being decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Str(&'a str),
    Number(Number),
    Container(&'a [u8]),
    Object(Vec<(&'a str, Value<'a>)>),
}

/// Encodes `root` (an object) as a jsonb varlena: header first, in the machine's byte order
/// (`SET_VARSIZE` of a 4-byte header: the size shifted left by two on little-endian machines).
pub fn encode(root: &Value, num: &mut impl Numerics) -> Result<Vec<u8>, Error> {
    let mut buf = Vec::with_capacity(256 + containers_len(root));
    buf.extend_from_slice(&[0; 4]);
    write_value(&mut buf, root, num)?;
    if buf.len() > MAX_VARLENA {
        return Err(Error::TooLarge);
    }
    let header = varlena_header(buf.len());
    buf[..4].copy_from_slice(&header.to_ne_bytes());
    Ok(buf)
}

/// The bytes of the embedded containers (most of a document when there are properties).
fn containers_len(value: &Value) -> usize {
    match value {
        Value::Container(bytes) => bytes.len() + 4,
        Value::Object(pairs) => pairs.iter().map(|(_, v)| containers_len(v)).sum(),
        _ => 0,
    }
}

/// The 4-byte varlena header for a value of `len` bytes (header included): `SET_VARSIZE_4B`.
fn varlena_header(len: usize) -> u32 {
    let len = len as u32;
    if cfg!(target_endian = "little") {
        len << 2
    } else {
        len & 0x3FFF_FFFF
    }
}

/// jsonb's key order: shorter first, then bytewise (`lengthCompareJsonbString`).
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

fn pad_to_int(buf: &mut Vec<u8>) -> usize {
    let pad = (4 - buf.len() % 4) % 4;
    buf.resize(buf.len() + pad, 0);
    pad
}

fn check_len(len: usize) -> Result<u32, Error> {
    u32::try_from(len)
        .ok()
        .filter(|l| *l <= JENTRY_OFFLENMASK)
        .ok_or(Error::ObjectTooLarge)
}

/// Appends `value` and returns its JEntry (type and length, padding included).
fn write_value(buf: &mut Vec<u8>, value: &Value, num: &mut impl Numerics) -> Result<u32, Error> {
    match value {
        Value::Null => Ok(JENTRY_ISNULL),
        Value::Bool(false) => Ok(JENTRY_ISBOOL_FALSE),
        Value::Bool(true) => Ok(JENTRY_ISBOOL_TRUE),
        Value::Str(s) => {
            if s.len() > JENTRY_OFFLENMASK as usize {
                return Err(Error::StringTooLong);
            }
            buf.extend_from_slice(s.as_bytes());
            Ok(JENTRY_ISSTRING | s.len() as u32)
        }
        Value::Number(n) => {
            let pad = pad_to_int(buf);
            let start = buf.len();
            num.write(*n, buf);
            Ok(JENTRY_ISNUMERIC | check_len(pad + buf.len() - start)?)
        }
        Value::Container(bytes) => {
            let header = container_header(bytes)?;
            if header & JB_FSCALAR != 0 {
                return Err(Error::ScalarContainer);
            }
            let pad = pad_to_int(buf);
            buf.extend_from_slice(bytes);
            Ok(JENTRY_ISCONTAINER | check_len(pad + bytes.len())?)
        }
        Value::Object(pairs) => write_object(buf, pairs, num),
    }
}

fn container_header(bytes: &[u8]) -> Result<u32, Error> {
    let header = bytes
        .get(..4)
        .map(|h| u32::from_ne_bytes([h[0], h[1], h[2], h[3]]))
        .ok_or(Error::BadContainer(bytes.len()))?;
    let count = (header & JB_CMASK) as usize;
    let entries = if header & JB_FOBJECT != 0 {
        count * 2
    } else if header & JB_FARRAY != 0 {
        count
    } else {
        return Err(Error::BadContainer(bytes.len()));
    };
    if 4 + entries * 4 > bytes.len() {
        return Err(Error::BadContainer(bytes.len()));
    }
    Ok(header)
}

/// `convertJsonbObject`: the pairs sorted in key order, keys' JEntries then values'.
fn write_object(
    buf: &mut Vec<u8>,
    pairs: &[(&str, Value)],
    num: &mut impl Numerics,
) -> Result<u32, Error> {
    // Documents are usually built in key order already; only the others pay for a sort.
    let sorted = pairs.windows(2).all(|w| key_order(w[0].0, w[1].0).is_lt());
    let order: Vec<&(&str, Value)> = if sorted {
        Vec::new()
    } else {
        let mut order: Vec<&(&str, Value)> = pairs.iter().collect();
        order.sort_by(|a, b| key_order(a.0, b.0));
        if let Some(w) = order.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::DuplicateKey(w[0].0.to_string()));
        }
        order
    };
    let at = |i: usize| if sorted { &pairs[i] } else { order[i] };
    let n = pairs.len();
    let base = buf.len();
    pad_to_int(buf);
    buf.extend_from_slice(&(n as u32 | JB_FOBJECT).to_ne_bytes());
    let mut entry = buf.len();
    buf.resize(buf.len() + 8 * n, 0);
    let mut total = 0usize;
    let mut set = |buf: &mut Vec<u8>, i: usize, meta: u32, total: usize| -> Result<(), Error> {
        let meta = if i.is_multiple_of(JB_OFFSET_STRIDE) {
            (meta & !JENTRY_OFFLENMASK) | check_len(total)? | JENTRY_HAS_OFF
        } else {
            meta
        };
        buf[entry..entry + 4].copy_from_slice(&meta.to_ne_bytes());
        entry += 4;
        Ok(())
    };
    for i in 0..n {
        let (key, _) = at(i);
        let meta = write_value(buf, &Value::Str(key), num)?;
        total += (meta & JENTRY_OFFLENMASK) as usize;
        set(buf, i, meta, total)?;
    }
    for i in 0..n {
        let (_, value) = at(i);
        let meta = write_value(buf, value, num)?;
        total += (meta & JENTRY_OFFLENMASK) as usize;
        set(buf, i + n, meta, total)?;
    }
    check_len(total)?;
    Ok(JENTRY_ISCONTAINER | check_len(buf.len() - base)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A numeric of three bytes 9, 9, 9 (not a real numeric: only its length and place count).
    struct Nines;
    impl Numerics for Nines {
        fn write(&mut self, _: Number, out: &mut Vec<u8>) {
            out.extend_from_slice(&[9, 9, 9]);
        }
    }

    fn words(bytes: &[u8]) -> Vec<u32> {
        bytes
            .chunks(4)
            .map(|c| {
                let mut w = [0u8; 4];
                w[..c.len()].copy_from_slice(c);
                u32::from_ne_bytes(w)
            })
            .collect()
    }

    #[test]
    fn an_empty_object_is_a_header_and_a_count() {
        let b = encode(&Value::Object(vec![]), &mut Nines).unwrap();
        assert_eq!(words(&b), vec![varlena_header(8), JB_FOBJECT]);
    }

    #[test]
    fn keys_are_sorted_shorter_first_and_the_first_entry_holds_an_offset() {
        let doc = Value::Object(vec![
            ("bb", Value::Bool(true)),
            ("a", Value::Null),
            ("ab", Value::Str("xyz")),
        ]);
        let b = encode(&doc, &mut Nines).unwrap();
        // header, 6 JEntries: keys a, ab, bb (a first: an offset), then values null, "xyz", true
        let w = words(&b);
        assert_eq!(w[1], 3 | JB_FOBJECT);
        assert_eq!(w[2], JENTRY_HAS_OFF | 1);
        assert_eq!(&w[3..8], &[2, 2, JENTRY_ISNULL, 3, JENTRY_ISBOOL_TRUE]);
        assert_eq!(&b[32..], b"aabbbxyz");
        assert_eq!(w[0], varlena_header(b.len()));
    }

    #[test]
    fn numerics_and_containers_start_on_a_four_byte_boundary() {
        let inner = encode(&Value::Object(vec![("k", Value::Bool(false))]), &mut Nines).unwrap();
        let doc = Value::Object(vec![
            ("n", Value::Number(Number::Int(1))),
            ("c", Value::Container(&inner[4..])),
        ]);
        let b = encode(&doc, &mut Nines).unwrap();
        // keys "c", "n" at 24..26; the container is padded to 28, the numeric after it to 44
        let inner_len = inner.len() - 4;
        assert_eq!(b.len(), 28 + inner_len + 3 + 3);
        let w = words(&b);
        assert_eq!(w[4], JENTRY_ISCONTAINER | (2 + inner_len as u32));
        assert_eq!(w[5], JENTRY_ISNUMERIC | 6);
        assert_eq!(&b[28..28 + inner_len], &inner[4..]);
        assert_eq!(&b[b.len() - 3..], &[9, 9, 9]);
    }

    #[test]
    fn every_thirty_second_entry_holds_an_end_offset() {
        let keys: Vec<String> = (0..40).map(|i| format!("k{i:02}")).collect();
        let pairs = keys.iter().map(|k| (k.as_str(), Value::Str("v"))).collect();
        let w = words(&encode(&Value::Object(pairs), &mut Nines).unwrap());
        let entries = &w[2..2 + 80];
        for (i, e) in entries.iter().enumerate() {
            let expected = match i {
                0 => JENTRY_HAS_OFF | 3,
                32 => JENTRY_HAS_OFF | (33 * 3),
                64 => JENTRY_HAS_OFF | (40 * 3 + 25),
                i if i < 40 => 3,
                _ => 1,
            };
            assert_eq!(*e, expected, "entry {i}");
        }
    }

    #[test]
    fn bad_documents_are_errors() {
        let dup = Value::Object(vec![("a", Value::Null), ("a", Value::Null)]);
        assert_eq!(
            encode(&dup, &mut Nines),
            Err(Error::DuplicateKey("a".into()))
        );
        let scalar = (1 | JB_FARRAY | JB_FSCALAR).to_ne_bytes().repeat(2);
        let v = Value::Object(vec![("p", Value::Container(&scalar))]);
        assert_eq!(encode(&v, &mut Nines), Err(Error::ScalarContainer));
        let v = Value::Object(vec![("p", Value::Container(&[1, 2]))]);
        assert_eq!(encode(&v, &mut Nines), Err(Error::BadContainer(2)));
    }
}
