//! What this build installed: the digest of its install script, which the database records
//! when the extension is created (sql/15_backup.sql) and `arxos.schema_problem()` compares
//! with the script installed now (`arxos_core::install_script`).

use std::ffi::{c_char, CStr};
use std::path::PathBuf;
use std::sync::OnceLock;

use pgrx::prelude::*;

/// The digest of `arxos--VERSION.sql` in the server's extension directory, VERSION this
/// library's; NULL when it cannot be read. Read once per session: a session runs the library it
/// loaded first, whatever is installed since, and the script installed with it is the one that
/// describes it (an install replaces both).
#[pg_extern(volatile, parallel_safe)]
fn install_script_digest() -> Option<String> {
    static DIGEST: OnceLock<Option<String>> = OnceLock::new();
    DIGEST
        .get_or_init(|| {
            let script = share_dir()?
                .join("extension")
                .join(format!("arxos--{}.sql", env!("CARGO_PKG_VERSION")));
            let text = std::fs::read_to_string(script).ok()?;
            Some(arxos_core::install_script::digest(&text))
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
