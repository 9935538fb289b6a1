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
pub fn scratch_dir() -> PathBuf {
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
        let mut build = Command::new(cargo);
        // `cargo test` hands this process the test crate's own variables (CARGO_MANIFEST_DIR,
        // CARGO_PKG_NAME, ...). Build scripts that watch them (ring's watches
        // CARGO_MANIFEST_DIR) would otherwise see a change and rebuild half the dependency
        // tree, and the next plain `cargo build` would rebuild it back.
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(set_by_cargo_for_the_test) {
                build.env_remove(&name);
            }
        }
        let status = build
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

/// Variables `cargo test` sets for the test crate (as opposed to the user's own `CARGO_HOME`,
/// `CARGO_TARGET_DIR`, `CARGO_PROFILE_*` and the like, which the nested build must keep).
fn set_by_cargo_for_the_test(name: &str) -> bool {
    const PREFIXES: [&str; 4] = [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_EXE_",
        "CARGO_CRATE_",
    ];
    const NAMES: [&str; 3] = [
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::set_by_cargo_for_the_test;

    #[test]
    fn only_the_test_crates_own_variables_are_dropped() {
        for dropped in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
        ] {
            assert!(set_by_cargo_for_the_test(dropped), "{dropped}");
        }
        for kept in [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_PROFILE_DEV_DEBUG",
            "CARGO",
            "PATH",
        ] {
            assert!(!set_by_cargo_for_the_test(kept), "{kept}");
        }
    }
}
