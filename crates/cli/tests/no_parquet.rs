//! A default build (without the `parquet` feature) answers Parquet requests with how to get it,
//! exit code 2, instead of misreading the file.
#![cfg(not(feature = "parquet"))]

use std::process::Command;

#[test]
fn parquet_needs_the_feature_and_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("events.parquet");
    std::fs::write(&file, "PAR1").expect("write");
    for verb in ["export", "import"] {
        let out = Command::new(env!("CARGO_BIN_EXE_audex"))
            .arg("--data")
            .arg(dir.path().join("data"))
            .arg(verb)
            .arg(&file)
            .output()
            .expect("audex runs");
        assert_eq!(out.status.code(), Some(2), "{verb}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--features parquet"), "{verb}: {err}");
    }
}
