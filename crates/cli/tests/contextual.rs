//! `audex model contextual train` end to end through the real binary: a labelled corpus is
//! read, measured against the shipped classifier on held-out pages, installed in the data
//! directory, and `classify` answers with it; a bad corpus line is an error naming its line.

mod common;

use std::path::Path;

use common::{audex, ok_json};
use serde_json::Value;

#[test]
fn trained_classifier_is_measured_installed_and_used() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let corpus = dir.path().join("pages.ndjson");
    // Made-up pages under three categories: Birds (423), Food & Drink (210), Tennis (539).
    let topics = [
        ("423", ["parrot", "budgie", "perch", "feathers", "cage"]),
        ("210", ["sourdough", "oven", "crust", "flour", "recipe"]),
        (
            "539",
            ["serve", "racket", "wimbledon", "volley", "baseline"],
        ),
    ];
    let mut lines = Vec::new();
    for k in 0..60 {
        for (id, words) in &topics {
            let title = format!("{} {} {k}", words[k % 5], words[(k + 1) % 5]);
            let text = format!("{} {}", words[(k + 2) % 5], words[(k + 3) % 5]);
            lines.push(format!(
                r#"{{"title":"{title}","text":"{text}","category":"{id}"}}"#
            ));
        }
    }
    std::fs::write(&corpus, lines.join("\n")).expect("corpus");
    let corpus = corpus.to_string_lossy().to_string();

    let dry = ok_json(&audex(
        &data,
        &[
            "model",
            "contextual",
            "train",
            "--corpus",
            &corpus,
            "--dry-run",
            "--json",
        ],
    ));
    assert!(dry["installed"].is_null(), "{dry}");
    assert!(!data.join("contextual").exists());

    let v = ok_json(&audex(
        &data,
        &[
            "model",
            "contextual",
            "train",
            "--corpus",
            &corpus,
            "--json",
        ],
    ));
    assert_eq!(
        (
            v["pages"].as_u64(),
            v["held_out"].as_u64(),
            v["categories"].as_u64()
        ),
        (Some(180), Some(36), Some(3)),
        "{v}"
    );
    // The held-out pages are told apart by their words; the shipped classifier, built without
    // this corpus, does not name these exact categories as often.
    let trained = v["trained"]["category"].as_f64().unwrap_or(0.0);
    let shipped = v["shipped"]["category"].as_f64().unwrap_or(1.0);
    assert!(trained > 0.95 && trained > shipped, "{v}");
    let path = v["installed"]["path"].as_str().unwrap_or_default();
    assert!(Path::new(path).is_file(), "{v}");

    // `classify` answers with the installed model; `--shipped` with the shipped one, which
    // knows none of these words (exit code 1: no category).
    let classify = |extra: &[&str]| {
        let mut args = vec![
            "model",
            "contextual",
            "classify",
            "--title",
            "budgie perch",
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = audex(&data, &args);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let ids: Vec<String> = v["categories"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        (out.status.code(), ids)
    };
    assert_eq!(classify(&[]), (Some(0), vec!["422".into(), "423".into()]));
    assert_eq!(classify(&["--shipped"]), (Some(1), vec![]));

    // A bad line: the error names the file, the line and the field; nothing is installed.
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(
        &bad,
        "{\"title\":\"a\",\"category\":\"423\"}\n{\"title\":\"b\",\"category\":\"12345678\"}\n",
    )
    .expect("bad corpus");
    let out = audex(
        &data,
        &[
            "model",
            "contextual",
            "train",
            "--corpus",
            &bad.to_string_lossy(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("line 2") && err.contains("`category`"),
        "{err}"
    );
    let models = std::fs::read_dir(data.join("contextual")).map_or(0, |d| d.count());
    assert_eq!(models, 1);
}
