//! jsonb values as PostgreSQL's own datums: arguments read without being decoded, results
//! encoded by `arxos_core::jsonb` and handed back as they are (pgrx's `JsonB` goes through
//! serde values and JSON text both ways).

use arxos_core::jsonb::{self, Number, Numerics, Value};
use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::prelude::*;
use pgrx::{FromDatum, IntoDatum};
use std::ffi::CString;

/// A jsonb argument or result: the datum itself, valid as long as the memory it points to (an
/// argument's for the call; a value read through SPI is copied into the caller's context by
/// `from_datum_in_memory_context`).
pub struct Jsonb(pg_sys::Datum);

pgrx::impl_sql_translatable!(Jsonb, "jsonb");

impl FromDatum for Jsonb {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        (!is_null).then_some(Jsonb(datum))
    }

    /// A copy in `memory_context`, so that a value read through SPI outlives the SPI call.
    unsafe fn from_datum_in_memory_context(
        mut memory_context: pgrx::PgMemoryContexts,
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        memory_context.switch_to(|_| unsafe {
            let copy = pg_sys::pg_detoast_datum_copy(datum.cast_mut_ptr());
            Some(Jsonb(pg_sys::Datum::from(copy)))
        })
    }
}

impl IntoDatum for Jsonb {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.0)
    }
    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for Jsonb {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }
}

unsafe impl BoxRet for Jsonb {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> pgrx::datum::Datum<'fcx> {
        unsafe { fcinfo.return_raw_datum(self.0) }
    }
}

impl Jsonb {
    /// The bytes of the value's root container (after the varlena header), detoasted; they
    /// live as long as the current memory context.
    pub fn container(&self) -> &[u8] {
        unsafe {
            let value = pg_sys::pg_detoast_datum(self.0.cast_mut_ptr());
            let size = pgrx::varlena::varsize_any(value);
            std::slice::from_raw_parts(value.cast::<u8>().add(4), size - 4)
        }
    }

    /// Encodes `value` into a new jsonb in the current memory context; a document PostgreSQL
    /// could not store is an `ERROR`.
    pub fn encode(value: &Value) -> Jsonb {
        let bytes = jsonb::encode(value, &mut PgNumerics).unwrap_or_else(|e| {
            let code = match e {
                jsonb::Error::ObjectTooLarge
                | jsonb::Error::StringTooLong
                | jsonb::Error::TooLarge => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            };
            ereport!(PgLogLevel::ERROR, code, e.to_string());
            unreachable!("ereport(ERROR) does not return")
        });
        unsafe {
            let p = pg_sys::palloc(bytes.len()).cast::<u8>();
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
            Jsonb(pg_sys::Datum::from(p))
        }
    }
}

/// Numerics made by PostgreSQL itself: integers by `int64_to_numeric`, doubles by `numeric_in`
/// from Rust's shortest decimal that reads back as the same double (written without an
/// exponent: `1e21` as `1000000000000000000000`, the same numeric as `1e+21`).
struct PgNumerics;

impl Numerics for PgNumerics {
    fn write(&mut self, n: Number, out: &mut Vec<u8>) {
        unsafe {
            let value: *const pg_sys::varlena = match n {
                Number::Int(i) => pg_sys::int64_to_numeric(i).cast(),
                Number::Float(f) => {
                    let text = CString::new(f.to_string()).expect("a number has no NUL byte");
                    pgrx::fcinfo::direct_function_call_as_datum(
                        pg_sys::numeric_in,
                        &[
                            text.as_c_str().into_datum(),
                            pg_sys::InvalidOid.into_datum(),
                            (-1i32).into_datum(),
                        ],
                    )
                    .expect("numeric_in returns a value")
                    .cast_mut_ptr()
                }
            };
            let size = pgrx::varlena::varsize_any(value);
            out.extend_from_slice(std::slice::from_raw_parts(value.cast::<u8>(), size));
        }
    }
}
