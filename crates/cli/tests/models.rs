//! `audex model …` end to end: a small simulated shop imported through the real binary; a
//! lookalike, prospecting and behavioral tags trained and stored; audiences of kind
//! `lookalike` and `prospecting`, and `tag` rules, then evaluate with both evaluators.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn taxonomy() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt"
    ))
}

fn audex(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_audex"))
        .arg("--data")
        .arg(data)
        .arg("--taxonomy")
        .arg(taxonomy())
        .args(args)
        .output()
        .expect("audex runs");
    assert!(
        out.status.success(),
        "audex {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn size(data: &Path, args: &[&str], now: &str) -> (u64, u64) {
    // `audience size` counts set at a time; `members --evaluator person` lists per person.
    let mut a = vec!["audience", "size"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--now", now, "--json"]);
    let set = json(&audex(data, &a))["size"].as_u64().unwrap_or(u64::MAX);
    let mut m = vec!["audience", "members"];
    m.extend_from_slice(args);
    m.extend_from_slice(&["--now", now, "--evaluator", "person", "--format", "ids"]);
    let person = audex(data, &m)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    (set, person)
}

#[test]
fn trained_models_feed_audiences() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("audex-models-e2e");
    let _ = std::fs::remove_dir_all(&dir);
    let sim = dir.join("sim");
    let data = dir.join("data");
    let sim_s = sim.to_string_lossy().to_string();
    audex(&data, &["sim", "--people", "1500", "--out", &sim_s]);
    audex(
        &data,
        &["catalog", "import", &format!("{sim_s}/catalog.tsv")],
    );
    audex(&data, &["import", &format!("{sim_s}/events.ndjson")]);
    let now = "2026-11-29T00:00:00Z";

    // A seed audience: recent luxury-tier buyers of anything (a rule).
    audex(
        &data,
        &[
            "audience",
            "create",
            "--name",
            "buyers",
            "--rule",
            "order_completed within 120d",
        ],
    );
    let v = json(&audex(
        &data,
        &[
            "model",
            "lookalike",
            "--seed",
            "buyers",
            "--target-size",
            "100",
            "--save-as",
            "like-buyers",
            "--now",
            now,
            "--json",
        ],
    ));
    assert_eq!(v["members"].as_u64(), Some(100), "{v}");
    assert_eq!(size(&data, &["like-buyers"], now), (100, 100));

    // Before training, a prospecting audience has no model; after, it evaluates.
    let kind = dir.join("prospecting.json");
    std::fs::write(
        &kind,
        r#"{"name": "prospects", "kind": {"prospecting": {"usersType": "ProspectsOrNonBuyers"}}}"#,
    )
    .expect("write kind");
    let k = kind.to_string_lossy().to_string();
    let v = json(&audex(
        &data,
        &["model", "prospecting", "--now", now, "--json"],
    ));
    assert!(v["scored"].as_u64().unwrap_or(0) > 0, "{v}");
    audex(
        &data,
        &["audience", "create", "--name", "prospects", "--file", &k],
    );
    let (set, person) = size(&data, &["prospects"], now);
    assert_eq!(set, person);

    // Inferred tags answer `tag` predicates; a rule-defined tag of the same name would win.
    let v = json(&audex(
        &data,
        &["model", "behavioral", "--now", now, "--json"],
    ));
    let foodies = v
        .as_array()
        .and_then(|a| a.iter().find(|t| t["tag"] == "foodie"))
        .and_then(|t| t["people"].as_u64())
        .unwrap_or(0);
    assert!(foodies > 0, "{v}");
    assert_eq!(
        size(&data, &["--rule", "tag foodie"], now),
        (foodies, foodies)
    );

    // Refresh retrains what the saved audiences use and re-evaluates memberships.
    let v = json(&audex(&data, &["model", "refresh", "--now", now, "--json"]));
    let lines = v["refreshed"].to_string();
    assert!(
        lines.contains("lookalike:") && lines.contains("prospecting"),
        "{v}"
    );
    assert_eq!(size(&data, &["like-buyers"], now), (100, 100));

    // The behavioral report exports everyone's evidence and truth tags for the supervised
    // ceiling: one row per person in the truth file, the tags matrix agreeing with the truth.
    let export = dir.join("behavioral-export");
    let truth = format!("{sim_s}/truth.ndjson");
    let v = json(&audex(
        &data,
        &[
            "model",
            "report",
            "--behavioral-only",
            "--truth",
            &truth,
            "--now",
            now,
            "--behavioral-export",
            &export.to_string_lossy(),
        ],
    ));
    let rows = v["truth_people"].as_u64().unwrap_or(0) as usize;
    assert!(rows > 1000, "{v}");
    let meta = json(&std::fs::read_to_string(export.join("meta.json")).expect("meta.json"));
    let columns = meta["columns"].as_array().map_or(0, Vec::len);
    let tags: Vec<&str> = meta["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!((meta["rows"].as_u64(), tags.len()), (Some(rows as u64), 11));
    let npy = |name: &str, item: usize, cols: usize| -> Vec<u8> {
        let file = std::fs::read(export.join(name)).expect("npy file");
        let header = 10 + usize::from(u16::from_le_bytes([file[8], file[9]]));
        let dict = String::from_utf8_lossy(&file[10..header]).into_owned();
        assert!(
            dict.contains(&format!("'shape': ({rows}, {cols})")),
            "{name}: {dict}"
        );
        assert_eq!(file.len() - header, rows * cols * item, "{name}");
        file[header..].to_vec()
    };
    let evidence = npy("evidence.npy", 4, columns);
    assert!(evidence.chunks(4).any(|c| c != [0, 0, 0, 0]));
    let scores = npy("scores.npy", 4, tags.len());
    let scores: Vec<f32> = scores
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)) && scores.iter().any(|s| *s > 0.5));
    let matrix = npy("tags.npy", 1, tags.len());
    let carriers = |tag: &str| {
        let i = tags.iter().position(|t| *t == tag).expect("tag");
        matrix.chunks(tags.len()).filter(|r| r[i] == 1).count()
    };
    // Every person of this sim sent events, so every truth line is a row: the matrix counts
    // exactly the file's carriers.
    let text = std::fs::read_to_string(&truth).expect("truth");
    assert_eq!(text.lines().count(), rows);
    let in_truth = |tag: &str| {
        text.lines()
            .filter(|l| l.contains(&format!("\"{tag}\"")))
            .count()
    };
    for tag in ["foodie", "new_parent"] {
        assert!(carriers(tag) > 0, "{tag}");
        assert_eq!(carriers(tag), in_truth(tag), "{tag}");
    }
}
