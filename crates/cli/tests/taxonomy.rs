//! The data directory keeps the taxonomy it was first opened with, so category audiences give
//! the same answer whatever the working directory of later commands (a run from elsewhere once
//! found no taxonomy and silently matched no category subtree).

use std::path::{Path, PathBuf};
use std::process::Command;

fn taxonomy() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt"
    ))
}

/// Runs audex in `cwd` (an empty directory: no taxonomy to find there), with `--taxonomy`
/// only when `flag`.
fn audex(cwd: &Path, data: &Path, flag: bool, args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_audex"));
    cmd.current_dir(cwd).arg("--data").arg(data);
    if flag {
        cmd.arg("--taxonomy").arg(taxonomy());
    }
    let out = cmd.args(args).output().expect("audex runs");
    assert!(
        out.status.success(),
        "audex {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn size(cwd: &Path, data: &Path, flag: bool) -> u64 {
    let out = audex(
        cwd,
        data,
        flag,
        &[
            "audience",
            "size",
            "--rule",
            "category 166 within 365d",
            "--now",
            "2026-11-29T00:00:00Z",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_default();
    v["size"].as_u64().unwrap_or(u64::MAX)
}

#[test]
fn the_taxonomy_stays_with_the_data_directory() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("audex-taxonomy-kept");
    let _ = std::fs::remove_dir_all(&dir);
    let (data, sim, cwd) = (dir.join("data"), dir.join("sim"), dir.join("elsewhere"));
    std::fs::create_dir_all(&cwd).expect("temp dir");
    let sim_s = sim.to_string_lossy().to_string();
    audex(
        &cwd,
        &data,
        true,
        &["sim", "--people", "400", "--out", &sim_s],
    );
    audex(
        &cwd,
        &data,
        true,
        &["catalog", "import", &format!("{sim_s}/catalog.tsv")],
    );
    audex(
        &cwd,
        &data,
        true,
        &["import", &format!("{sim_s}/events.ndjson")],
    );

    let kept = data.join("google-product-taxonomy.txt");
    assert_eq!(
        std::fs::read(&kept).ok(),
        std::fs::read(taxonomy()).ok(),
        "the taxonomy given once is kept in the data directory"
    );
    let with_flag = size(&cwd, &data, true);
    let without = size(&cwd, &data, false);
    assert!(with_flag > 0, "apparel shoppers exist in the sim");
    assert_eq!(without, with_flag, "same answer without --taxonomy");
}
