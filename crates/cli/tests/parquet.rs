//! Parquet bulk history through the real binary (built with `--features parquet`): an
//! advertiser's events exported, imported into another data directory, and the two agree —
//! same events, same profiles, same audience sizes; importing the file again adds nothing.
#![cfg(feature = "parquet")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn taxonomy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt")
}

fn audex(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_audex"))
        .arg("--data")
        .arg(data)
        .arg("--taxonomy")
        .arg(taxonomy())
        .args(args)
        .output()
        .expect("audex runs")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn export_then_import_elsewhere_gives_the_same_shop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let sim = dir.path().join("sim");
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    ok(audex(&a, &["sim", "--people", "400", "--out", &s(&sim)]));
    ok(audex(&a, &["import", &s(&sim.join("events.ndjson"))]));
    let file = dir.path().join("events.parquet");
    let exported = json(audex(&a, &["export", &s(&file), "--json"]));
    let stats_a = json(audex(&a, &["stats", "--json"]));
    assert_eq!(exported["rows"], stats_a["events"], "{exported} {stats_a}");
    assert_eq!(exported["skipped"], 0);

    let imported = json(audex(&b, &["import", &s(&file), "--json"]));
    assert_eq!(imported["accepted"], exported["rows"]);
    let stats_b = json(audex(&b, &["stats", "--json"]));
    assert_eq!(stats_b["events"], stats_a["events"]);
    assert_eq!(stats_b["people"], stats_a["people"]);
    let rule = "product_viewed within 30d and not order_completed within 30d";
    // "N of M people (…), evaluated in T ms": the counts, not the time.
    let size = |d: &Path| {
        let out = ok(audex(d, &["audience", "size", "--rule", rule]));
        out.split(", evaluated")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(size(&a), size(&b));
    let truth = std::fs::read_to_string(sim.join("truth.ndjson")).expect("truth");
    let someone: Value =
        serde_json::from_str(truth.lines().next().expect("a person")).expect("json");
    let id = someone["anonymous_ids"][0].as_str().expect("anonymous id");
    let show = |d: &Path| json(audex(d, &["people", "show", id, "--json"]));
    assert_eq!(show(&a)["events"], show(&b)["events"]);
    assert_eq!(show(&a)["identifiers"], show(&b)["identifiers"]);

    let again = json(audex(&b, &["import", &s(&file), "--json"]));
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["duplicates"], exported["rows"]);

    // Not Parquet inside: a clear error naming the file, exit 2.
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, "{}").expect("write");
    let out = audex(&b, &["import", &s(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.parquet"));
}

#[test]
fn a_deleted_person_is_not_exported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let sim = dir.path().join("sim");
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    ok(audex(&a, &["sim", "--people", "200", "--out", &s(&sim)]));
    ok(audex(&a, &["import", &s(&sim.join("events.ndjson"))]));
    let truth = std::fs::read_to_string(sim.join("truth.ndjson")).expect("truth");
    let someone: Value =
        serde_json::from_str(truth.lines().next().expect("a person")).expect("json");
    let id = someone["anonymous_ids"][0].as_str().expect("anonymous id");
    let theirs = json(audex(&a, &["people", "show", id, "--json"]))["events"]
        .as_u64()
        .expect("events");
    let before = json(audex(&a, &["stats", "--json"]));
    ok(audex(&a, &["people", "delete", id]));
    let file = dir.path().join("events.parquet");
    let exported = json(audex(&a, &["export", &s(&file), "--json"]));
    assert_eq!(
        exported["rows"].as_u64(),
        before["events"].as_u64().map(|n| n - theirs),
        "{exported}"
    );
    ok(audex(&b, &["import", &s(&file)]));
    assert_eq!(audex(&b, &["people", "show", id]).status.code(), Some(1));
    assert_eq!(
        json(audex(&b, &["stats", "--json"]))["people"],
        json(audex(&a, &["stats", "--json"]))["people"]
    );
}
