//! The row trigger of `arxos.objects` (`objects_before_write`, BEFORE INSERT OR UPDATE), and
//! the reading window it applies.
//!
//! It runs once for every row written, so it is written against PostgreSQL's C interface
//! rather than in PL/pgSQL: a PL/pgSQL version of the same rules cost about 15 µs a row (1.5 s
//! of a 100,000-object insert), mostly in executing its sensing-type query and its expressions
//! one by one. What it does, for plain INSERT/UPDATE as for the functions:
//!
//! - normalises the path (`arxos_core::path`, raising 22023 on a bad one);
//! - on insert, sets the bookkeeping: `created_at` = `updated_at` = `now()`, `created_by` =
//!   `updated_by` = the actor (`arxos.current_actor()`), `version` 1, no monitors, no reading;
//! - on update, refuses a new id or building (22023), keeps `created_*`, keeps `monitored_by`
//!   and `last_reading_at` unless a trigger (the connection and readings triggers) changes
//!   them, and makes a new version (`updated_at`, `updated_by`, `version` + 1) only when a field
//!   that history reports changed;
//! - checks the fields' values with the messages `arxos.put` gives (22023; 23502 for a NULL),
//!   instead of leaving them to constraints whose errors name a constraint and show the whole
//!   row: the type is a label, the status one of `arxos.statuses` (there is no foreign key: this
//!   probe of its primary key is cheaper than the per-row RI trigger one costs, and the
//!   statuses' own trigger keeps a status in use from going away), health 0..100, properties
//!   and metrics JSON objects;
//! - checks the written `properties` and `metrics` against the rules of stored documents
//!   (`crate::documents`: at most 32 levels, numbers within 1e-100..1e100 in magnitude);
//! - sets `instrumented` and `instrumented_until` (monitored, a sensing type, or a reading
//!   in the last 720 hours).

use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::CStr;

/// How long a reading keeps its object instrumented: 720 hours.
const READING_WINDOW_MICROS: i64 = 720 * 3_600 * 1_000_000;

/// When a reading taken at `at` stops instrumenting its object: `at` + 720 hours.
#[pg_extern(immutable, strict, parallel_safe)]
fn reading_window_end(at: TimestampWithTimeZone) -> TimestampWithTimeZone {
    let end = unsafe { window_end(at.into_datum().expect("a timestamptz is a datum")) };
    unsafe { TimestampWithTimeZone::from_datum(end, false) }.expect("a timestamptz")
}

/// `at` + 720 hours, with PostgreSQL's own arithmetic (infinities stay, overflow is 22008).
unsafe fn window_end(at: pg_sys::Datum) -> pg_sys::Datum {
    let mut window = pg_sys::Interval {
        time: READING_WINDOW_MICROS,
        day: 0,
        month: 0,
    };
    pgrx::fcinfo::direct_function_call_as_datum(
        pg_sys::timestamptz_pl_interval,
        &[
            Some(at),
            Some(pg_sys::Datum::from(&mut window as *mut pg_sys::Interval)),
        ],
    )
    .expect("timestamptz + interval is not NULL")
}

#[pg_trigger]
fn objects_before_write<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, std::convert::Infallible> {
    let data = trigger.trigger_data();
    // SAFETY: PostgreSQL calls this as a trigger with valid trigger data.
    Ok(Some(unsafe { before_write(data) }))
}

/// The attribute numbers (0-based) of the columns the trigger reads or sets, found by name in
/// the table's descriptor on every call (a few dozen comparisons; nothing to invalidate when
/// the table changes).
struct Columns {
    id: usize,
    building_id: usize,
    path: usize,
    kind: usize,
    status: usize,
    health: usize,
    needs_repair: usize,
    properties: usize,
    metrics: usize,
    x: usize,
    y: usize,
    z: usize,
    floor: usize,
    instrumented: usize,
    monitored_by: usize,
    last_reading_at: usize,
    instrumented_until: usize,
    created_at: usize,
    updated_at: usize,
    created_by: usize,
    updated_by: usize,
    version: usize,
}

impl Columns {
    unsafe fn of(desc: pg_sys::TupleDesc) -> Columns {
        const NAMES: [&str; 22] = [
            "id",
            "building_id",
            "path",
            "type",
            "status",
            "health",
            "needs_repair",
            "properties",
            "metrics",
            "x",
            "y",
            "z",
            "floor",
            "instrumented",
            "monitored_by",
            "last_reading_at",
            "instrumented_until",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
            "version",
        ];
        let mut at = [usize::MAX; NAMES.len()];
        let attrs = (*desc).attrs.as_slice((*desc).natts as usize);
        for (i, attr) in attrs.iter().enumerate() {
            if attr.attisdropped {
                continue;
            }
            let name = CStr::from_ptr(attr.attname.data.as_ptr()).to_bytes();
            if let Some(k) = NAMES.iter().position(|n| n.as_bytes() == name) {
                at[k] = i;
            }
        }
        if let Some(k) = at.iter().position(|&i| i == usize::MAX) {
            error!(
                "objects_before_write: the table has no column {:?}",
                NAMES[k]
            );
        }
        let [id, building_id, path, kind, status, health, needs_repair, properties, metrics, x, y, z, floor, instrumented, monitored_by, last_reading_at, instrumented_until, created_at, updated_at, created_by, updated_by, version] =
            at;
        Columns {
            id,
            building_id,
            path,
            kind,
            status,
            health,
            needs_repair,
            properties,
            metrics,
            x,
            y,
            z,
            floor,
            instrumented,
            monitored_by,
            last_reading_at,
            instrumented_until,
            created_at,
            updated_at,
            created_by,
            updated_by,
            version,
        }
    }
}

/// The values of one row, all attributes read (missing ones, after an `ADD COLUMN`, included).
struct Row {
    values: Vec<pg_sys::Datum>,
    nulls: Vec<bool>,
}

impl Row {
    unsafe fn of(slot: *mut pg_sys::TupleTableSlot, natts: usize) -> Row {
        pg_sys::slot_getallattrs(slot);
        Row {
            values: std::slice::from_raw_parts((*slot).tts_values, natts).to_vec(),
            nulls: std::slice::from_raw_parts((*slot).tts_isnull, natts).to_vec(),
        }
    }

    fn get(&self, i: usize) -> Option<pg_sys::Datum> {
        (!self.nulls[i]).then_some(self.values[i])
    }

    fn set(&mut self, i: usize, value: Option<pg_sys::Datum>) {
        self.nulls[i] = value.is_none();
        self.values[i] = value.unwrap_or(pg_sys::Datum::from(0));
    }

    fn copy(&mut self, i: usize, from: &Row) {
        self.set(i, from.get(i));
    }
}

unsafe fn before_write(data: &pg_sys::TriggerData) -> PgHeapTuple<'_, AllocatedByPostgres> {
    let event = data.tg_event;
    let row_level = event & pg_sys::TRIGGER_EVENT_ROW != 0;
    let before = event & pg_sys::TRIGGER_EVENT_TIMINGMASK == pg_sys::TRIGGER_EVENT_BEFORE;
    let op = event & pg_sys::TRIGGER_EVENT_OPMASK;
    let insert = op == pg_sys::TRIGGER_EVENT_INSERT;
    if !row_level || !before || !(insert || op == pg_sys::TRIGGER_EVENT_UPDATE) {
        error!("objects_before_write must fire BEFORE INSERT OR UPDATE FOR EACH ROW");
    }
    let rel = data.tg_relation;
    let desc = (*rel).rd_att;
    let natts = (*desc).natts as usize;
    let c = Columns::of(desc);
    let now = pg_sys::Datum::from(pg_sys::GetCurrentTransactionStartTimestamp());

    // Whether `properties` and `metrics` are written (a new row, or a changed value): their
    // rules are checked.
    let mut properties_written = true;
    let mut metrics_written = true;
    let mut new = Row::of(
        if insert {
            data.tg_trigslot
        } else {
            data.tg_newslot
        },
        natts,
    );
    let old = if insert {
        None
    } else {
        Some(Row::of(data.tg_trigslot, natts))
    };
    match &old {
        None => {
            new.set(c.path, Some(normalized_path(new.get(c.path))));
            new.set(c.created_at, Some(now));
            new.set(c.updated_at, Some(now));
            let actor = actor();
            new.set(c.created_by, Some(actor));
            new.set(c.updated_by, Some(actor));
            new.set(c.version, Some(pg_sys::Datum::from(1i32)));
            new.set(c.monitored_by, Some(pg_sys::Datum::from(0i32)));
            // A new object has no readings yet (13_readings.sql keeps last_reading_at).
            new.set(c.last_reading_at, None);
        }
        Some(old) => {
            // A NULL is left to the NOT NULL constraint (23502), as `<>` left it in PL/pgSQL.
            let moved = |column: usize| {
                new.get(column).is_some() && !same_bytes(new.get(column), old.get(column), 16)
            };
            if moved(c.id) || moved(c.building_id) {
                let path = old.get(c.path).map(|d| text_str(d)).unwrap_or_default();
                ereport!(
                    PgLogLevel::ERROR,
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    format!("an object's id and building cannot change (object {path})"),
                );
            }
            if !same_text(new.get(c.path), old.get(c.path)) {
                new.set(c.path, Some(moved_path(new.get(c.path), old.get(c.path))));
            }
            // monitored_by counts the object's `monitors` connections, last_reading_at is the
            // newest reading: only the extension's bookkeeping writes them, through
            // arxos.recount_monitors and arxos.note_latest_readings, which run as the table's
            // owner from the connection and readings triggers (a nested statement). A
            // statement of the user's own, or a nested one under another role (a trigger on
            // a temporary table of the user's), keeps them.
            if trigger_depth() == 1 || !acts_as_owner(rel) {
                new.copy(c.monitored_by, old);
                new.copy(c.last_reading_at, old);
            }
            new.copy(c.created_at, old);
            new.copy(c.created_by, old);
            let same_properties = same_jsonb(new.get(c.properties), old.get(c.properties));
            properties_written = !same_properties;
            // Equal documents may be written differently (`1` and `1.0`): an equal one is no
            // change (no version, no history), so the stored one stays as it was, or its text
            // would change without a trace (found by an audit).
            if same_properties {
                new.copy(c.properties, old);
            }
            metrics_written = !same_jsonb(new.get(c.metrics), old.get(c.metrics));
            if !metrics_written {
                new.copy(c.metrics, old);
            }
            let unchanged = same_properties
                && same_text(new.get(c.path), old.get(c.path))
                && same_text(new.get(c.kind), old.get(c.kind))
                && same_text(new.get(c.status), old.get(c.status))
                && new.get(c.health).map(|d| d.value() as i16)
                    == old.get(c.health).map(|d| d.value() as i16)
                && new.get(c.needs_repair).map(|d| d.value() as u8 != 0)
                    == old.get(c.needs_repair).map(|d| d.value() as u8 != 0)
                && same_float(new.get(c.x), old.get(c.x))
                && same_float(new.get(c.y), old.get(c.y))
                && same_float(new.get(c.z), old.get(c.z))
                && new.get(c.floor).map(|d| d.value() as i32)
                    == old.get(c.floor).map(|d| d.value() as i32);
            if unchanged {
                // Bookkeeping only (readings, monitors): not a new version of the object.
                new.copy(c.updated_at, old);
                new.copy(c.updated_by, old);
                new.copy(c.version, old);
            } else {
                new.set(c.updated_at, Some(now));
                new.set(c.updated_by, Some(actor()));
                let version = old.get(c.version).map(|d| d.value() as i32).unwrap_or(0);
                let Some(next) = version.checked_add(1) else {
                    ereport!(
                        PgLogLevel::ERROR,
                        PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                        "integer out of range",
                    );
                    unreachable!("ereport(ERROR) does not return")
                };
                new.set(c.version, Some(pg_sys::Datum::from(next)));
            }
        }
    }

    // A coordinate of -0 is stored as 0, as `put` stores it (JSON's -0 reads as 0): a plain
    // write of -0 showed "x": -0 in answers, history and events (found by an audit). float8
    // is passed by value, its bits in the Datum; +0's bits are all zero.
    for column in [c.x, c.y, c.z] {
        if new
            .get(column)
            .is_some_and(|d| d.value() as u64 == (-0.0f64).to_bits())
        {
            new.set(column, Some(pg_sys::Datum::from(0usize)));
        }
    }

    check_fields(rel, &c, &new, old.as_ref());

    // The rules of stored documents (crate::documents: depth, numbers), for each document
    // this write stores anew.
    for (column, what) in [(c.properties, "properties"), (c.metrics, "metrics")] {
        if let Some(doc) = new.get(column) {
            let written = if column == c.properties {
                properties_written
            } else {
                metrics_written
            };
            if !written {
                continue;
            }
            // A reading writes its value into `metrics.reading` (arxos.note_latest_readings):
            // metrics near the size limit must not refuse every reading of the object, with
            // those of other objects in its batch (found by a review). That write (a nested
            // statement as the owner, as for last_reading_at above: a writer's own `reading`
            // member is measured, found by a review) is not measured when it changes that
            // member alone; only a document too large is compared.
            let reading_only = column == c.metrics
                && crate::documents::oversized(doc)
                && trigger_depth() > 1
                && acts_as_owner(rel)
                && old
                    .as_ref()
                    .and_then(|o| o.get(c.metrics))
                    .is_some_and(|before| crate::documents::equal_but("reading", doc, before));
            if reading_only {
                crate::documents::check_shape(what, doc);
            } else {
                crate::documents::check_document(what, doc);
            }
        }
    }

    // Instrumented: monitored by a sensor or a sensing type itself (for good), or a reading in
    // the last 30 days (13_readings.sql): then instrumented_until is when that window closes,
    // which arxos.rating_inputs reads so that the rating need not wait for tick().
    let monitored = new
        .get(c.monitored_by)
        .is_some_and(|d| d.value() as i32 > 0);
    if monitored || new.get(c.kind).is_some_and(|t| is_sensing_type(rel, t)) {
        new.set(c.instrumented, Some(pg_sys::Datum::from(true)));
        new.set(c.instrumented_until, None);
    } else {
        let until = new.get(c.last_reading_at).map(|at| window_end(at));
        let instrumented = until.is_some_and(|u| u.value() as i64 > now.value() as i64);
        new.set(c.instrumented, Some(pg_sys::Datum::from(instrumented)));
        new.set(c.instrumented_until, until.filter(|_| instrumented));
    }

    let tuple = pg_sys::heap_form_tuple(desc, new.values.as_mut_ptr(), new.nulls.as_mut_ptr());
    PgHeapTuple::from_heap_tuple(pgrx::PgTupleDesc::from_pg_unchecked(desc), tuple)
}

/// [`normalized_path`] for a path that changes: a move that would take an object past the
/// limits (a descendant of a moved subtree whose path grows past 1024 bytes or 64 levels)
/// names the object (`from`, its path before), so the caller learns which one.
unsafe fn moved_path(path: Option<pg_sys::Datum>, from: Option<pg_sys::Datum>) -> pg_sys::Datum {
    let text = path.and_then(|d| std::str::from_utf8(varlena_bytes(d)).ok());
    match text.map(arxos_core::path::normalize_object_path) {
        Some(Ok(normal)) => normal.into_datum().expect("text is a datum"),
        Some(Err(e)) => {
            let from = from.map(|d| text_str(d)).unwrap_or_default();
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("invalid path: {e} (the new path of the object at {from})"),
                format!("rule: {}", e.rule()),
            );
            unreachable!("ereport(ERROR) does not return")
        }
        // NULL or not UTF-8: the messages of any path
        None => normalized_path(path),
    }
}

/// The normalised form of a path column's value (a new text datum); raises on a bad or NULL
/// path, as `arxos.normalize_object_path` does.
unsafe fn normalized_path(path: Option<pg_sys::Datum>) -> pg_sys::Datum {
    let path = path.map(|d| match std::str::from_utf8(varlena_bytes(d)) {
        Ok(path) => path,
        Err(_) => {
            ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
                "invalid path: not valid UTF-8",
            );
            unreachable!("ereport(ERROR) does not return")
        }
    });
    crate::paths::normalize_object_path(path)
        .into_datum()
        .expect("text is a datum")
}

/// `arxos.current_actor()`: the `arxos.actor` setting when set and not empty, else the role;
/// at most 200 characters, as there (22023).
unsafe fn actor() -> pg_sys::Datum {
    let setting = pg_sys::GetConfigOption(c"arxos.actor".as_ptr(), true, false);
    let name = if setting.is_null() || *setting == 0 {
        pg_sys::GetUserNameFromId(pg_sys::GetUserId(), false).cast_const()
    } else {
        let characters = std::ffi::CStr::from_ptr(setting)
            .to_string_lossy()
            .chars()
            .count();
        if characters > ACTOR_MAX {
            refuse(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("arxos.actor must be at most {ACTOR_MAX} characters, got {characters}"),
            );
        }
        setting
    };
    pg_sys::Datum::from(pg_sys::cstring_to_text(name))
}

/// The longest actor `arxos.current_actor()` gives (sql/01_tables.sql).
const ACTOR_MAX: usize = 200;

/// Whether the current role has the rights of the table's owner (a superuser has).
unsafe fn acts_as_owner(rel: pg_sys::Relation) -> bool {
    pg_sys::has_privs_of_role(pg_sys::GetUserId(), (*(*rel).rd_rel).relowner)
}

/// `pg_trigger_depth()`: 1 in a trigger fired by a statement of the user's own.
unsafe fn trigger_depth() -> i32 {
    pgrx::fcinfo::direct_function_call::<i32>(pg_sys::pg_trigger_depth, &[])
        .expect("pg_trigger_depth is not NULL")
}

/// The bytes of a text (or any varlena) datum, detoasted.
unsafe fn varlena_bytes<'a>(datum: pg_sys::Datum) -> &'a [u8] {
    let value = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
    std::slice::from_raw_parts(
        pgrx::varlena::vardata_any(value).cast::<u8>(),
        pgrx::varlena::varsize_any_exhdr(value),
    )
}

/// A text datum for a message (bytes that are not UTF-8 shown as U+FFFD).
unsafe fn text_str(datum: pg_sys::Datum) -> String {
    String::from_utf8_lossy(varlena_bytes(datum)).into_owned()
}

/// `a IS NOT DISTINCT FROM b` for text under a deterministic collation (byte equality).
unsafe fn same_text(a: Option<pg_sys::Datum>, b: Option<pg_sys::Datum>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => varlena_bytes(a) == varlena_bytes(b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// `a IS NOT DISTINCT FROM b` for a fixed-length by-reference type (uuid: 16 bytes).
unsafe fn same_bytes(a: Option<pg_sys::Datum>, b: Option<pg_sys::Datum>, len: usize) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            std::slice::from_raw_parts(a.cast_mut_ptr::<u8>(), len)
                == std::slice::from_raw_parts(b.cast_mut_ptr::<u8>(), len)
        }
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// `a IS NOT DISTINCT FROM b` for float8, with PostgreSQL's equality (NaN = NaN, -0 = 0).
unsafe fn same_float(a: Option<pg_sys::Datum>, b: Option<pg_sys::Datum>) -> bool {
    let f = |d: pg_sys::Datum| f64::from_bits(d.value() as u64);
    match (a, b) {
        (Some(a), Some(b)) => {
            let (a, b) = (f(a), f(b));
            a == b || (a.is_nan() && b.is_nan())
        }
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// `a IS NOT DISTINCT FROM b` for jsonb (`jsonb_eq`).
unsafe fn same_jsonb(a: Option<pg_sys::Datum>, b: Option<pg_sys::Datum>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            pgrx::fcinfo::direct_function_call::<bool>(pg_sys::jsonb_eq, &[Some(a), Some(b)])
                .expect("jsonb_eq is not NULL")
        }
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// `EXISTS (SELECT 1 FROM arxos.sensing_types s WHERE s.type = <kind>)`.
///
/// Under REPEATABLE READ and SERIALIZABLE the probe reads the transaction's snapshot: a type
/// added or removed since (whose edit re-derived the flags of the objects it saw, not of this
/// uncommitted write) would give the object a flag of the types as they were, kept until it is
/// written again. When the latest committed state says otherwise, that is a serialization
/// failure (retry), as for a status removed meanwhile (found by a review).
unsafe fn is_sensing_type(objects: pg_sys::Relation, kind: pg_sys::Datum) -> bool {
    let sensing = key_exists(objects, c"sensing_types", c"type", kind, Probe::AsAQuery);
    if pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32
        && sensing != key_exists(objects, c"sensing_types", c"type", kind, Probe::Latest)
    {
        refuse(
            PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
            format!(
                "could not serialize access: sensing type {} was {} by a concurrent transaction",
                arxos_core::message::shown(&text_str(kind)),
                if sensing { "removed" } else { "added" }
            ),
        );
    }
    sensing
}

/// Which snapshot a probe of a lookup table reads.
#[derive(Clone, Copy)]
enum Probe {
    /// A fresh one under READ COMMITTED, the transaction's under REPEATABLE READ, as the query
    /// of a PL/pgSQL trigger would take: a key committed meanwhile counts from now on.
    AsAQuery,
    /// The latest committed state, whatever the isolation level (a foreign key's cross-check).
    Latest,
}

/// `EXISTS (SELECT 1 FROM <table> t WHERE t.<column> = <key>)` for a text primary key, read
/// through that key's index. The table lives in the schema of the objects table; the lock
/// taken is kept to the end of the transaction, as a query's is. Being part of the objects'
/// own rules, it is read whatever the writer's privileges on it (the lists are not secret).
unsafe fn key_exists(
    objects: pg_sys::Relation,
    table: &CStr,
    column: &CStr,
    key: pg_sys::Datum,
    probe: Probe,
) -> bool {
    let namespace = (*(*objects).rd_rel).relnamespace;
    let relid = pg_sys::get_relname_relid(table.as_ptr(), namespace);
    if relid == pg_sys::InvalidOid {
        error!("objects_before_write: table {table:?} not found");
    }
    let rel = pg_sys::table_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    let attrs = (*(*rel).rd_att)
        .attrs
        .as_slice((*(*rel).rd_att).natts as usize);
    let Some((attnum, collation)) = attrs
        .iter()
        .zip(1..)
        .find(|(a, _)| !a.attisdropped && CStr::from_ptr(a.attname.data.as_ptr()) == column)
        .map(|(a, attnum)| (attnum, a.attcollation))
    else {
        error!("objects_before_write: table {table:?} has no column {column:?}");
    };
    let mut scan_key: pg_sys::ScanKeyData = std::mem::zeroed();
    pg_sys::ScanKeyEntryInitialize(
        &mut scan_key,
        0,
        attnum,
        pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
        pg_sys::InvalidOid,
        collation,
        pg_sys::Oid::from(pg_sys::F_TEXTEQ),
        key,
    );
    let index = pg_sys::RelationGetPrimaryKeyIndex(rel);
    let snapshot = match probe {
        Probe::AsAQuery => pg_sys::GetTransactionSnapshot(),
        Probe::Latest => pg_sys::GetLatestSnapshot(),
    };
    let scan = pg_sys::systable_beginscan(
        rel,
        index,
        index != pg_sys::InvalidOid,
        snapshot,
        1,
        &mut scan_key,
    );
    let found = !pg_sys::systable_getnext(scan).is_null();
    pg_sys::systable_endscan(scan);
    pg_sys::table_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
    found
}

/// Raises `message` with `code`; does not return.
fn refuse(code: PgSqlErrorCode, message: String) -> ! {
    ereport!(PgLogLevel::ERROR, code, message);
    unreachable!("ereport(ERROR) does not return")
}

/// The checks of the fields a writer sets (see the module's documentation). A value an update
/// leaves as it was is not checked again, except the cheap ones.
unsafe fn check_fields(rel: pg_sys::Relation, c: &Columns, new: &Row, old: Option<&Row>) {
    for (column, name) in [
        (c.kind, "type"),
        (c.status, "status"),
        (c.health, "health"),
        (c.needs_repair, "needs_repair"),
        (c.properties, "properties"),
        (c.metrics, "metrics"),
    ] {
        if new.get(column).is_none() {
            refuse(
                PgSqlErrorCode::ERRCODE_NOT_NULL_VIOLATION,
                format!("an object's {name} cannot be null"),
            );
        }
    }
    let changed =
        |column: usize| old.is_none_or(|old| !same_text(new.get(column), old.get(column)));
    if let Some(kind) = new.get(c.kind).filter(|_| changed(c.kind)) {
        let text = text_str(kind);
        if !arxos_core::label::is_label(&text, 100) {
            refuse(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!(
                    "invalid type {}: 1 to 100 characters, no space at either end, no control or invisible \
                     formatting characters",
                    arxos_core::message::shown(&text)
                ),
            );
        }
    }
    if let Some(status) = new.get(c.status).filter(|_| changed(c.status)) {
        if !key_exists(rel, c"statuses", c"status", status, Probe::AsAQuery) {
            let known = Spi::get_one::<String>(
                "SELECT string_agg(s.status, ', ' ORDER BY s.status) FROM arxos.statuses s",
            )
            .ok()
            .flatten()
            .unwrap_or_default();
            refuse(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!(
                    "unknown status {}: use one of {known}",
                    arxos_core::message::shown(&text_str(status))
                ),
            );
        }
        // Under REPEATABLE READ and SERIALIZABLE the probe read the transaction's snapshot: a
        // status removed since (arxos.statuses_removed, which cannot see this uncommitted
        // write) would be taken. As a foreign key's check does, the latest committed state
        // decides, and a status gone meanwhile is a serialization failure (retry).
        if pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32
            && !key_exists(rel, c"statuses", c"status", status, Probe::Latest)
        {
            refuse(
                PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
                format!(
                    "could not serialize access: status {} was removed by a concurrent transaction",
                    arxos_core::message::shown(&text_str(status))
                ),
            );
        }
    }
    if let Some(health) = new.get(c.health) {
        let health = health.value() as i16;
        if !(0..=100).contains(&health) {
            refuse(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("health must be between 0 and 100, got {health}"),
            );
        }
    }
    for (column, name) in [(c.properties, "properties"), (c.metrics, "metrics")] {
        if let Some(doc) = new.get(column) {
            if !jsonb_is_object(doc) {
                refuse(
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    format!(
                        "{name} must be a JSON object, got a JSON {}",
                        jsonb_kind(doc)
                    ),
                );
            }
        }
    }
}

/// Whether a jsonb's top level is an object: the flag in its root header, read from the first
/// four bytes only (a slice: a large compressed document is not decompressed for it).
unsafe fn jsonb_is_object(doc: pg_sys::Datum) -> bool {
    let slice = pg_sys::pg_detoast_datum_slice(doc.cast_mut_ptr(), 0, 4);
    let header = std::ptr::read_unaligned(pgrx::varlena::vardata_any(slice).cast::<u32>());
    pg_sys::pfree(slice.cast());
    header & pg_sys::JB_FOBJECT != 0
}

/// `jsonb_typeof(doc)`, for a message.
unsafe fn jsonb_kind(doc: pg_sys::Datum) -> String {
    let kind = pgrx::fcinfo::direct_function_call_as_datum(pg_sys::jsonb_typeof, &[Some(doc)])
        .expect("jsonb_typeof is not NULL");
    text_str(kind)
}
