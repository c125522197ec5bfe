//! `audex people delete` and `audex people erase` through the real binary: a deleted person is
//! gone from lookups at once and from the log files after erasing; an unknown identifier exits
//! 1 and names it.

mod common;

use std::path::Path;

use common::{audex, ok_json};
use serde_json::Value;

/// Every byte of the advertiser's log segments, decompressed (zstd frames).
fn log_bytes(data: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for adv in std::fs::read_dir(data.join("advertisers")).expect("advertisers") {
        let log = adv.expect("entry").path().join("log");
        for seg in std::fs::read_dir(&log).expect("log") {
            all.extend(std::fs::read(seg.expect("segment").path()).expect("read"));
        }
    }
    all
}

#[test]
fn delete_then_erase() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let events = dir.path().join("events.ndjson");
    let mut lines = Vec::new();
    for (i, who) in [
        r#""userId":"kim","context":{"traits":{"email":"kim@example.com"}}"#,
        r#""userId":"kim""#,
        r#""userId":"lee""#,
    ]
    .iter()
    .enumerate()
    {
        lines.push(format!(
            r#"{{"type":"track","event":"Product Viewed","messageId":"m{i}",{who},"timestamp":"2026-11-20T10:00:00Z","properties":{{"product_id":"p","price":5}}}}"#
        ));
    }
    std::fs::write(&events, lines.join("\n")).expect("write");
    let out = audex(&data, &["import", events.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{out:?}");

    let v = ok_json(&audex(
        &data,
        &["people", "delete", "kim@example.com", "--json"],
    ));
    assert_eq!(v["people"][0]["deleted"]["identifiers"], 2, "{v}");
    let out = audex(&data, &["people", "show", "kim"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = audex(&data, &["people", "delete", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"nobody\""));

    let before = log_bytes(&data).len();
    let v = ok_json(&audex(&data, &["people", "erase", "--json"]));
    assert_eq!(v["erased"]["events_erased"], 2, "{v}");
    assert_eq!(v["erased"]["people"], 1, "{v}");
    assert_eq!(
        v["erased"]["records_after"], 2,
        "lee's event and the placeholder that keeps kim's id taken: {v}"
    );
    assert!(log_bytes(&data).len() < before);
    let v = ok_json(&audex(&data, &["people", "erase", "--json"]));
    assert_eq!(v["erased"], Value::Null, "nothing left to erase: {v}");
    let v = ok_json(&audex(&data, &["people", "show", "lee", "--json"]));
    assert_eq!(v["events"], 1, "{v}");
}
