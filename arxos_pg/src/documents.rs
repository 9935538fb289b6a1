//! The rules of stored JSON documents (objects' properties and metrics, connections'
//! properties, contributions' metadata), checked on the jsonb itself, without writing it out:
//!
//! - nested at most `arxos_core::json_depth::MAX_DEPTH` levels (deeper ones could be written
//!   once and then never read back by the clients of their history and events);
//! - every number 0 or at least 1e-100 and below 1e100 in magnitude. jsonb keeps a number exactly,
//!   and writes it out in full: `1e131071`, 8 bytes of JSON, is 131,072 digits in every answer,
//!   history row and event that carries it, so a few kilobytes of input could fill gigabytes.
//!   A zero carries at most 100 decimal places, for the same reason (`0e-16383`).
//! - at most `MAX_DOCUMENT_BYTES` (1 MiB) as stored: a merging `patch` adds to a document
//!   without bound, and every history row and event carries the whole document before and
//!   after, so a few hundred patches of a large one would write gigabytes (found by a review).

use arxos_core::json_depth::MAX_DEPTH;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::AnyElement;

/// The rules as a SQL function, for the PL/pgSQL triggers: raises 22023 naming `what`.
/// `doc` must be a jsonb (the argument is `anyelement` so that the document reaches the check
/// as stored, not converted).
#[pg_extern(immutable, strict, parallel_safe)]
fn check_json(what: &str, doc: AnyElement) {
    if doc.oid() != pg_sys::JSONBOID {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            "check_json checks a jsonb document",
        );
    }
    // SAFETY: a jsonb argument's datum.
    unsafe { check_document(what, doc.datum()) }
}

/// The size of a jsonb document as it is when read (uncompressed), taken from its header or
/// its TOAST pointer without reading or decompressing it: what the shim's event pages sum to
/// bound their bytes before any event's JSON is built (arxos_http realtime/event.rs).
#[pg_extern(immutable, strict, parallel_safe)]
fn jsonb_raw_size(doc: AnyElement) -> i64 {
    if doc.oid() != pg_sys::JSONBOID {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            "jsonb_raw_size measures a jsonb document",
        );
    }
    // SAFETY: a jsonb argument's datum, a varlena (possibly toasted or compressed), which
    // toast_raw_datum_size reads the header of.
    let size = unsafe { pg_sys::toast_raw_datum_size(doc.datum()) };
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// Raises 22023 when the jsonb `doc` breaks a rule of stored documents; `what` names it.
///
/// # Safety
/// `doc` must be a jsonb datum.
pub(crate) unsafe fn check_document(what: &str, doc: pg_sys::Datum) {
    check_size(what, doc);
    check_shape(what, doc);
}

/// Whether the jsonb `doc` is larger than a stored document may be.
///
/// # Safety
/// `doc` must be a jsonb datum.
pub(crate) unsafe fn oversized(doc: pg_sys::Datum) -> bool {
    pg_sys::toast_raw_datum_size(doc) > MAX_DOCUMENT_BYTES
}

/// Whether the jsonb objects `a` and `b` are equal but for their member `key`.
///
/// # Safety
/// `a` and `b` must be jsonb datums.
pub(crate) unsafe fn equal_but(key: &str, a: pg_sys::Datum, b: pg_sys::Datum) -> bool {
    use pgrx::fcinfo::{direct_function_call, direct_function_call_as_datum};
    use pgrx::IntoDatum;
    let key = key.into_datum();
    let without = |doc| direct_function_call_as_datum(pg_sys::jsonb_delete, &[Some(doc), key]);
    match (without(a), without(b)) {
        (Some(a), Some(b)) => {
            direct_function_call::<bool>(pg_sys::jsonb_eq, &[Some(a), Some(b)]).unwrap_or(false)
        }
        _ => false,
    }
}

/// Raises 22023 when the jsonb `doc` is larger than a stored document may be.
///
/// # Safety
/// `doc` must be a jsonb datum.
unsafe fn check_size(what: &str, doc: pg_sys::Datum) {
    // From the header or the TOAST pointer: a document too large is not read.
    let size = pg_sys::toast_raw_datum_size(doc);
    if size > MAX_DOCUMENT_BYTES {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "{what} take {size} bytes as stored; a document may take at most \
                 {MAX_DOCUMENT_BYTES} (1 MiB)"
            ),
            "keep large data elsewhere (a file store) and store its link; time series go to readings",
        );
    }
}

/// Raises 22023 when the jsonb `doc` nests too deep or holds a number out of range.
///
/// # Safety
/// `doc` must be a jsonb datum.
pub(crate) unsafe fn check_shape(what: &str, doc: pg_sys::Datum) {
    use pg_sys::JsonbIteratorToken::*;
    let jsonb = pg_sys::pg_detoast_datum(doc.cast_mut_ptr()).cast::<pg_sys::Jsonb>();
    let mut iterator = pg_sys::JsonbIteratorInit(&mut (*jsonb).root);
    let mut value: pg_sys::JsonbValue = std::mem::zeroed();
    let (mut level, mut deepest) = (0usize, 0usize);
    let mut range: Option<NumberRange> = None;
    loop {
        match pg_sys::JsonbIteratorNext(&mut iterator, &mut value, false) {
            WJB_DONE => break,
            // A document that is a bare scalar is stored as a one-element array.
            WJB_BEGIN_ARRAY if value.val.array.rawScalar => {}
            WJB_BEGIN_ARRAY | WJB_BEGIN_OBJECT => {
                level += 1;
                deepest = deepest.max(level);
            }
            WJB_END_ARRAY | WJB_END_OBJECT => level = level.saturating_sub(1),
            WJB_VALUE | WJB_ELEM if value.type_ == pg_sys::jbvType::jbvNumeric => {
                let number = pg_sys::Datum::from(value.val.numeric);
                let range = range.get_or_insert_with(|| NumberRange::get());
                if range.is_zero(number) {
                    // Found by an audit: `0e-16383` (8 bytes of JSON) is a zero of 16,383
                    // decimal places, written out in full wherever it is read back.
                    let scale = zero_scale(number);
                    if scale > MAX_ZERO_SCALE {
                        ereport!(
                            PgLogLevel::ERROR,
                            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                            format!(
                                "{what} hold a zero written with {scale} decimal places; a zero \
                                 may carry at most {MAX_ZERO_SCALE}"
                            ),
                            "jsonb writes a number out with every decimal place it was given: write 0",
                        );
                    }
                } else if !range.holds(number) {
                    ereport!(
                        PgLogLevel::ERROR,
                        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                        format!(
                            "{what} hold a number too large or too small to store: numbers are 0 \
                             or at least 1e-100 and below 1e100 in magnitude"
                        ),
                        "a number beyond that is hundreds of digits or more when written out; store it as a string",
                    );
                }
            }
            _ => {}
        }
    }
    if deepest > MAX_DEPTH {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{what} nest {deepest} levels deep; at most {MAX_DEPTH} are allowed"),
            "flatten the document: {} is 1 level, {\"a\": {\"b\": 1}} is 2",
        );
    }
}

/// The largest stored document, in bytes as jsonb stores it uncompressed (what
/// `arxos.jsonb_raw_size` says).
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// The bounds of a stored number, as numerics: made once per backend (in TopMemoryContext),
/// so that a write pays only the comparisons.
#[derive(Clone, Copy)]
struct NumberRange {
    zero: pg_sys::Datum,
    low: pg_sys::Datum,
    neg_low: pg_sys::Datum,
    high: pg_sys::Datum,
    neg_high: pg_sys::Datum,
}

thread_local! {
    static RANGE: std::cell::Cell<Option<NumberRange>> = const { std::cell::Cell::new(None) };
}

impl NumberRange {
    unsafe fn get() -> NumberRange {
        if let Some(range) = RANGE.with(|r| r.get()) {
            return range;
        }
        let old = pg_sys::MemoryContextSwitchTo(pg_sys::TopMemoryContext);
        let numeric = |text: &std::ffi::CStr| {
            pgrx::fcinfo::direct_function_call_as_datum(
                pg_sys::numeric_in,
                &[
                    Some(pg_sys::Datum::from(text.as_ptr())),
                    Some(pg_sys::Datum::from(pg_sys::InvalidOid)),
                    Some(pg_sys::Datum::from(-1i32)),
                ],
            )
            .expect("numeric_in is not NULL")
        };
        let range = NumberRange {
            zero: numeric(c"0"),
            low: numeric(c"1e-100"),
            neg_low: numeric(c"-1e-100"),
            high: numeric(c"1e100"),
            neg_high: numeric(c"-1e100"),
        };
        pg_sys::MemoryContextSwitchTo(old);
        RANGE.with(|r| r.set(Some(range)));
        range
    }

    /// Whether `number` is 0 (of any scale: `0.00` too).
    unsafe fn is_zero(&self, number: pg_sys::Datum) -> bool {
        numeric_cmp(number, self.zero) == 0
    }

    /// A number that is not 0: 1e-100 <= |number| < 1e100.
    unsafe fn holds(&self, number: pg_sys::Datum) -> bool {
        let cmp = |bound| numeric_cmp(number, bound);
        cmp(self.high) < 0
            && cmp(self.neg_high) > 0
            && (cmp(self.low) >= 0 || cmp(self.neg_low) <= 0)
    }
}

/// The decimal places a zero may be written with: as many as the smallest number stored has
/// (1e-100), so that no zero is longer written out than the digits a number may have.
const MAX_ZERO_SCALE: i32 = arxos_core::json_number::MAX_ZERO_SCALE;

unsafe fn numeric_cmp(a: pg_sys::Datum, b: pg_sys::Datum) -> i32 {
    pgrx::fcinfo::direct_function_call::<i32>(pg_sys::numeric_cmp, &[Some(a), Some(b)])
        .expect("numeric_cmp is not NULL")
}

/// The decimal places a numeric is written with (SQL `scale()`).
unsafe fn zero_scale(number: pg_sys::Datum) -> i32 {
    pgrx::fcinfo::direct_function_call::<i32>(pg_sys::numeric_scale, &[Some(number)])
        .expect("scale of a number is not NULL")
}
