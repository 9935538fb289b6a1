//! The key that seals the webhooks' signing secrets at rest (`arxos_core::secret_box`), and
//! the SQL functions `arxos.seal_secret` and `arxos.open_secret` that the webhook functions of
//! `sql/12_webhooks.sql` call (nobody else may: see `sql/14_privileges.sql`).
//!
//! The key lives in a file the server reads, named by the setting `arxos.secret_key_file`
//! (postgresql.conf; a reload applies it). Unset, it is `arxos_secret.key` in the data
//! directory, created with a random key (mode 0600) the first time a secret is sealed while no
//! webhook holds one; otherwise a missing key file is an error, never a new key.
//! Decision and operations: docs/security.md, "Webhook secrets at rest".

use std::cell::RefCell;
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use arxos_core::secret_box::{hex, Key, SecretBoxError, KEY_LEN, NONCE_LEN};
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
        // where the key lies is the operator's business: shown to superusers (and
        // pg_read_all_settings) only, not to /api/query or a BI login (found by a review)
        GucFlags::SUPERUSER_ONLY,
    );
}

/// Which file a key came from: a key file replaced, rewritten or touched since is read again
/// (the inode, size, modification and change times of the handle it was read through).
#[derive(Clone, PartialEq, Eq)]
struct FileIdentity {
    path: PathBuf,
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileIdentity {
    fn of(path: &Path, m: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            path: path.to_owned(),
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

thread_local! {
    static CACHE: RefCell<Option<(FileIdentity, Rc<Key>)>> = const { RefCell::new(None) };
}

fn fail(code: PgSqlErrorCode, message: String) -> ! {
    ereport!(PgLogLevel::ERROR, code, message);
    unreachable!("ereport(ERROR) does not return")
}

/// The configured key file, and whether it is the default one.
fn key_file() -> (PathBuf, bool) {
    match SECRET_KEY_FILE.get() {
        Some(path) if !path.as_bytes().is_empty() => {
            (PathBuf::from(path.to_string_lossy().into_owned()), false)
        }
        _ => (PathBuf::from(DEFAULT_FILE), true),
    }
}

/// Why the key cannot be had.
enum KeyError {
    /// The default key file does not exist (yet).
    Missing(PathBuf),
    Other(String),
}

impl KeyError {
    fn message(self) -> String {
        match self {
            KeyError::Missing(path) => format!(
                "the webhook secret key file {} does not exist (arxos.secret_key_file)",
                path.display()
            ),
            KeyError::Other(message) => message,
        }
    }
}

/// The configured key, from the cache while its file is the one it was read from.
fn configured_key() -> Result<Rc<Key>, KeyError> {
    let (path, default) = key_file();
    let cached = CACHE.with(|cache| {
        let cache = cache.borrow();
        let (identity, key) = cache.as_ref()?;
        let now = std::fs::metadata(&path).ok()?;
        (FileIdentity::of(&path, &now) == *identity).then(|| Rc::clone(key))
    });
    if let Some(key) = cached {
        return Ok(key);
    }
    match read_key(&path) {
        Ok((identity, key)) => {
            let key = Rc::new(key);
            CACHE.with(|cache| *cache.borrow_mut() = Some((identity, Rc::clone(&key))));
            Ok(key)
        }
        Err(e) if default && e.kind() == std::io::ErrorKind::NotFound => {
            Err(KeyError::Missing(path))
        }
        Err(e) => Err(KeyError::Other(format!(
            "cannot read the webhook secret key file {} (arxos.secret_key_file): {e}",
            path.display()
        ))),
    }
}

/// Reads a key file: a regular file of 64 hexadecimal digits (and white space), read through one
/// handle so that the identity recorded is the content's.
fn read_key(path: &Path) -> std::io::Result<(FileIdentity, Key)> {
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut text = String::new();
    (&mut file).take(256).read_to_string(&mut text)?;
    let key = Key::from_hex(&text)
        .map_err(|e| std::io::Error::other(format!("{} is not a key: {e}", path.display())))?;
    Ok((FileIdentity::of(path, &meta), key))
}

/// The key for sealing: the configured one. The default key file is created with a new random
/// key when it does not exist and no webhook holds a sealed secret yet; when some do, a missing
/// key file is an error (a new key could open none of them).
fn sealing_key() -> Rc<Key> {
    match configured_key() {
        Ok(key) => key,
        Err(KeyError::Missing(path)) => {
            let sealed_with = Spi::get_one::<String>(
                "SELECT (SELECT encode(substr(secret, 2, 4), 'hex') FROM arxos.webhooks LIMIT 1)",
            )
            .unwrap_or_else(|e| fail(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, e.to_string()));
            if let Some(id) = sealed_with {
                fail(
                    PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
                    format!(
                        "the webhook secret key file {} is missing, and webhook secrets are sealed \
                         under key {id}: put that key file back (docs/security.md, \"Webhook \
                         secrets at rest\")",
                        path.display()
                    ),
                );
            }
            create_key_file(&path).unwrap_or_else(|e| {
                fail(
                    PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
                    format!(
                        "cannot create the webhook secret key file {}: {e}",
                        path.display()
                    ),
                )
            });
            configured_key()
                .unwrap_or_else(|e| fail(PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR, e.message()))
        }
        Err(e) => fail(PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR, e.message()),
    }
}

/// Writes a new random key to `path`, atomically (a complete file appears under its name, or
/// none; another backend creating it at the same time wins or loses as a whole) and durably.
fn create_key_file(path: &Path) -> std::io::Result<()> {
    let mut bytes = [0u8; KEY_LEN];
    strong_random(&mut bytes);
    let mut suffix = [0u8; 8];
    strong_random(&mut suffix);
    let tmp = path.with_file_name(format!(
        "{}.tmp.{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(DEFAULT_FILE),
        hex(&suffix)
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(format!("{}\n", hex(&bytes)).as_bytes())?;
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

/// A new webhook signing key: 32 bytes from the operating system's strong random source (it
/// was two random UUIDs' hex, 244 random bits; found by a review).
#[pg_extern(volatile, parallel_unsafe)]
fn webhook_new_secret() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    strong_random(&mut key);
    key
}

/// Seals a secret under the configured key (a random nonce each time).
#[pg_extern(strict, volatile, parallel_unsafe)]
fn seal_secret(secret: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    strong_random(&mut nonce);
    sealing_key().seal(secret, &nonce)
}

/// Why a sealed secret cannot be opened under the configured key, or NULL when it can. Never
/// raises: the delivery worker records the reason as the delivery's failed attempt, and the
/// other webhooks' deliveries go on.
fn problem(sealed: &[u8]) -> Option<String> {
    match configured_key() {
        Ok(key) => key
            .open(sealed)
            .err()
            .map(|e| format!("cannot open the webhook's secret: {e}")),
        Err(e) => Some(format!("cannot open the webhook's secret: {}", e.message())),
    }
}

/// Opens a secret sealed by `seal_secret` under the configured key.
#[pg_extern(strict, volatile, parallel_unsafe)]
fn open_secret(sealed: &[u8]) -> Vec<u8> {
    let key = configured_key()
        .unwrap_or_else(|e| fail(PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR, e.message()));
    key.open(sealed).unwrap_or_else(|e| {
        let code = match e {
            SecretBoxError::WrongKey { .. } => PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
            _ => PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        };
        fail(code, format!("cannot open the webhook's secret: {e}"))
    })
}

/// `open_secret`'s answer when a sealed secret opens, else NULL, with the reason: the delivery
/// worker's way in (`arxos.claim_deliveries`).
#[pg_extern(strict, volatile, parallel_unsafe)]
fn secret_problem(sealed: &[u8]) -> Option<String> {
    problem(sealed)
}

/// The id of the configured key (8 hexadecimal digits): which key the secrets sealed from now
/// on need. Never the key itself.
#[pg_extern(volatile, parallel_unsafe)]
fn secret_key_id() -> String {
    configured_key()
        .unwrap_or_else(|e| fail(PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR, e.message()))
        .id_hex()
}

/// A sealed secret under the configured key: as it is when the configured key sealed it, else
/// opened with the key in `previous_key_file` and sealed again. For changing the key (docs/
/// security.md): `UPDATE arxos.webhooks SET secret = arxos.reseal_secret(secret, '/old.key'), …`.
#[pg_extern(strict, volatile, parallel_unsafe)]
fn reseal_secret(sealed: &[u8], previous_key_file: &str) -> Vec<u8> {
    let current = sealing_key();
    if sealed.get(1..5).map(hex) == Some(current.id_hex()) {
        return sealed.to_vec();
    }
    let (_, previous) = read_key(Path::new(previous_key_file)).unwrap_or_else(|e| {
        fail(
            PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
            format!("cannot read the previous key file {previous_key_file}: {e}"),
        )
    });
    let plain = previous.open(sealed).unwrap_or_else(|e| {
        fail(
            PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
            format!("cannot open a webhook secret with {previous_key_file}: {e}"),
        )
    });
    let mut nonce = [0u8; NONCE_LEN];
    strong_random(&mut nonce);
    current.seal(&plain, &nonce)
}
