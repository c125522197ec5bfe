//! What the CLI's end-to-end tests share: running the real binary on a data directory.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs `audex --data DATA ARGS…`.
pub fn audex(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_audex"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("audex runs")
}

/// The JSON a successful run printed; a failed run fails the test with its output.
pub fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{:?}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}
