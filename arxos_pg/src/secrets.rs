//! The key that seals the webhooks' signing secrets at rest (`arxos_core::secret_box`), and
//! the SQL functions `arxos.seal_secret` and `arxos.open_secret` that the webhook functions of
//! `sql/12_webhooks.sql` call (nobody else may: see `sql/14_privileges.sql`).
//!
//! The key lives in a file the server reads, named by the setting `arxos.secret_key_file`
//! (postgresql.conf; a reload applies it). Unset, it is `arxos_secret.key` in the data
//! directory, created with a random key (mode 0600) the first time a secret is sealed.
//! Decision and operations: docs/security.md, "Webhook secrets at rest".

use std::cell::RefCell;
use std::ffi::CString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use arxos_core::secret_box::{Key, SecretBoxError, KEY_LEN, NONCE_LEN};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;

static SECRET_KEY_FILE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// The key file when `arxos.secret_key_file` is unset, relative to the data directory.
const DEFAULT_FILE: &str = "arxos_secret.key";

/// Registers `arxos.secret_key_file` (from `_PG_init`).
pub fn register_settings() {
    GucRegistry::define_string_guc(
        c"arxos.secret_key_file",
        c"File with the key (64 hexadecimal digits) that seals webhook secrets at rest.",
        c"Relative paths are relative to the data directory. Unset: arxos_secret.key in the data \
          directory, created with a random key on first use.",
        &SECRET_KEY_FILE,
        GucContext::Sighup,
        GucFlags::default(),
    );
}

/// The key read last, with the file it came from and that file's modification time: a key
/// file replaced on disk is read again.
struct Cached {
    path: PathBuf,
    modified: Option<SystemTime>,
    key: Key,
}

thread_local! {
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

fn fail(code: PgSqlErrorCode, message: String) -> ! {
    ereport!(PgLogLevel::ERROR, code, message);
    unreachable!("ereport(ERROR) does not return")
}

/// The configured key file, and whether it is the default one (created when missing).
fn key_file() -> (PathBuf, bool) {
    match SECRET_KEY_FILE.get() {
        Some(path) if !path.as_bytes().is_empty() => {
            (PathBuf::from(path.to_string_lossy().into_owned()), false)
        }
        _ => (PathBuf::from(DEFAULT_FILE), true),
    }
}

/// Runs `f` with the sealing key, reading (or, for the default file, creating) it first.
fn with_key<T>(f: impl FnOnce(&Key) -> T) -> T {
    let (path, default) = key_file();
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let fresh = matches!(&*cache, Some(c) if c.path == path && c.modified == modified && modified.is_some());
        if !fresh {
            let key = read_key(&path, default).unwrap_or_else(|e| {
                fail(PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR, e)
            });
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            *cache = Some(Cached { path, modified, key });
        }
        f(&cache.as_ref().expect("just filled").key)
    })
}

fn read_key(path: &Path, create: bool) -> Result<Key, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Key::from_hex(&text).map_err(|e| {
            format!(
                "the webhook secret key file {} is not a key: {e}",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            create_key_file(path).map_err(|e| {
                format!(
                    "cannot create the webhook secret key file {}: {e}",
                    path.display()
                )
            })?;
            read_key(path, false)
        }
        Err(e) => Err(format!(
            "cannot read the webhook secret key file {} (arxos.secret_key_file): {e}",
            path.display()
        )),
    }
}

/// Writes a new random key to `path`, atomically (a complete file appears under its name, or
/// none; another backend creating it at the same time wins or loses as a whole) and durably.
fn create_key_file(path: &Path) -> std::io::Result<()> {
    let mut bytes = [0u8; KEY_LEN];
    strong_random(&mut bytes);
    let text = hex(&bytes);
    let tmp = path.with_file_name(format!(
        "{}.tmp.{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(DEFAULT_FILE),
        std::process::id()
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(format!("{text}\n").as_bytes())?;
        file.sync_all()?;
        match std::fs::hard_link(&tmp, path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        std::fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()
    })();
    let _ = std::fs::remove_file(&tmp);
    written
}

fn strong_random(buf: &mut [u8]) {
    // SAFETY: buf is valid for writes of its length.
    let ok = unsafe { pg_sys::pg_strong_random(buf.as_mut_ptr().cast(), buf.len()) };
    if !ok {
        fail(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "could not generate random bytes".into(),
        );
    }
}

/// Seals a secret under the configured key (a random nonce each time).
#[pg_extern(strict, volatile, parallel_unsafe)]
fn seal_secret(secret: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    strong_random(&mut nonce);
    with_key(|key| key.seal(secret, &nonce))
}

/// Opens a secret sealed by `seal_secret` under the configured key.
#[pg_extern(strict, volatile, parallel_unsafe)]
fn open_secret(sealed: &[u8]) -> Vec<u8> {
    with_key(|key| key.open(sealed)).unwrap_or_else(|e| {
        let code = match e {
            SecretBoxError::WrongKey { .. } => PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
            _ => PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        };
        fail(code, format!("cannot open a webhook secret: {e}"))
    })
}

/// The id of the configured key (8 hexadecimal digits): which key the secrets sealed from now
/// on need. Never the key itself.
#[pg_extern(volatile, parallel_unsafe)]
fn secret_key_id() -> String {
    with_key(|key| key.id_hex())
}

/// A sealed secret under the configured key: as it is when the configured key sealed it, else
/// opened with the key in `previous_key_file` and sealed again. For changing the key (docs/
/// security.md): `UPDATE arxos.webhooks SET secret = arxos.reseal_secret(secret, '/old.key'), …`.
#[pg_extern(strict, volatile, parallel_unsafe)]
fn reseal_secret(sealed: &[u8], previous_key_file: &str) -> Vec<u8> {
    let current = with_key(|key| key.id_hex());
    if sealed.get(1..5).map(hex) == Some(current) {
        return sealed.to_vec();
    }
    let previous = read_key(Path::new(previous_key_file), false)
        .unwrap_or_else(|e| fail(PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR, e));
    let plain = previous.open(sealed).unwrap_or_else(|e| {
        fail(
            PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
            format!("cannot open a webhook secret with {previous_key_file}: {e}"),
        )
    });
    seal_secret(&plain)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
