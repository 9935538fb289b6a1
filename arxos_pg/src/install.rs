//! What this build installed: the digest of its install script, which the database records
//! when the extension is created (sql/15_backup.sql) and `arxos.schema_problem()` compares
//! with the script installed now (`arxos_core::install_script`).

use std::ffi::{c_char, CStr};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::SystemTime;

use pgrx::prelude::*;

/// The install script as the session found it when it loaded the library: its path, and its
/// size and time of change (`None` when it could not be read).
static LOADED_WITH: OnceLock<Option<(PathBuf, u64, SystemTime)>> = OnceLock::new();

/// Notes the install script installed with the library this session loads (from `_PG_init`: a
/// `stat`, no reading).
pub fn remember_script() {
    LOADED_WITH.get_or_init(script_stat);
}

fn script_stat() -> Option<(PathBuf, u64, SystemTime)> {
    let path = share_dir()?
        .join("extension")
        .join(format!("arxos--{}.sql", env!("CARGO_PKG_VERSION")));
    let meta = std::fs::metadata(&path).ok()?;
    Some((path, meta.len(), meta.modified().ok()?))
}

/// The digest of `arxos--VERSION.sql` in the server's extension directory, VERSION this
/// library's; NULL when it cannot be read, or when it changed since this session loaded the
/// library (a build installed since: the session runs the library of the script it replaced,
/// which cannot be read any more). Read once per session.
#[pg_extern(volatile, parallel_safe)]
fn install_script_digest() -> Option<String> {
    static DIGEST: OnceLock<Option<String>> = OnceLock::new();
    DIGEST
        .get_or_init(|| {
            let loaded = LOADED_WITH.get_or_init(script_stat).clone()?;
            let text = std::fs::read_to_string(&loaded.0).ok()?;
            // (the time and size again, after the read: a script replaced in between is not
            // the one the library came with)
            (script_stat()? == loaded).then(|| arxos_core::install_script::digest(&text))
        })
        .clone()
}

/// The server's share directory (`pg_config --sharedir`), found as PostgreSQL finds it: from
/// the path of its own executable.
fn share_dir() -> Option<PathBuf> {
    let mut buf = vec![0 as c_char; pg_sys::MAXPGPATH as usize];
    // SAFETY: `my_exec_path` is the backend's NUL-terminated executable path (MAXPGPATH
    // bytes), set at start-up; get_share_path writes at most MAXPGPATH bytes, NUL-terminated.
    let path = unsafe {
        pg_sys::get_share_path(
            std::ptr::addr_of!(pg_sys::my_exec_path).cast::<c_char>(),
            buf.as_mut_ptr(),
        );
        CStr::from_ptr(buf.as_ptr())
    };
    let path = path.to_str().ok()?;
    (!path.is_empty()).then(|| PathBuf::from(path))
}
