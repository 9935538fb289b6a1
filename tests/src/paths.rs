//! Where things are: the target directory of the running tests, the `arxos` binary.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// `<target>/<profile>`: the directory that holds the running test binary's `deps/`.
pub(crate) fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the running test binary");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in <target>/<profile>/deps")
        .to_path_buf()
}

/// Scratch space for clusters: `<target>/e2e`.
pub(crate) fn scratch_dir() -> PathBuf {
    let profile = profile_dir();
    profile.parent().unwrap_or(&profile).join("e2e")
}

/// The `arxos` binary under test: `$ARXOS_BIN` if set, else the one next to the test binary,
/// brought up to date with `cargo build -p arxos_http` (once per test process).
pub fn arxos_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("ARXOS_BIN") {
            let bin = PathBuf::from(bin);
            assert!(bin.is_file(), "ARXOS_BIN={} is not a file", bin.display());
            return bin;
        }
        let profile = profile_dir();
        let target = profile.parent().unwrap_or(&profile).to_path_buf();
        let profile_name = match profile.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_owned(),
            Some(other) => other.to_owned(),
        };
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ lives in the workspace")
            .to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "arxos_http",
                "--bin",
                "arxos",
                "--profile",
            ])
            .arg(&profile_name)
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(&workspace)
            .status()
            .expect("run cargo to build the arxos binary");
        assert!(
            status.success(),
            "cargo build -p arxos_http failed: {status}"
        );
        let bin = profile.join("arxos");
        assert!(bin.is_file(), "{} missing after cargo build", bin.display());
        bin
    })
    .clone()
}
