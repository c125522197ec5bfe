//! Publisher pages without categories are classified at ingest (and identically on replay),
//! so the `page_category` rule predicate ("media category + audience") sees them.

use std::io::Cursor;

use audex_engine::import::{Format, ImportOptions, import_reader};
use audex_engine::{Advertiser, Engine, EngineOptions};

fn import(adv: &Advertiser, lines: &[&str]) {
    let r = import_reader(
        adv,
        Box::new(Cursor::new(lines.join("\n").into_bytes())),
        "t",
        Format::Ndjson,
        &ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(r.rejected.total, 0, "{:?}", r.rejected.kept);
}

const NOW: i64 = 1_764_460_800_000; // 2025-11-30T00:00:00Z

#[test]
fn uncategorised_pages_are_classified_at_ingest_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let rule = audex_rules::parse(r#"page_category in ("483") within 30d"#).unwrap();
    let tennis = audex_rules::parse(r#"page_category in ("539") within 30d"#).unwrap();
    let members = |adv: &Advertiser| {
        (
            adv.evaluate(&rule, NOW).unwrap().len(),
            adv.evaluate(&tennis, NOW).unwrap().len(),
        )
    };
    {
        let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
        let adv = engine.advertiser("default").unwrap();
        import(
            &adv,
            &[
                // No categories: classified (Sports, Tennis).
                r#"{"type":"track","event":"Publisher Page Viewed","userId":"a","messageId":"1","timestamp":"2025-11-28T10:00:00Z","properties":{"url":"https://news.example/sports/tennis/123","title":"Federer wins in straight sets"}}"#,
                // Categories given: kept as sent (Technology & Computing), not classified.
                r#"{"type":"track","event":"Publisher Page Viewed","userId":"b","messageId":"2","timestamp":"2025-11-28T10:00:00Z","properties":{"url":"https://news.example/sports/tennis/9","title":"Tennis final","categories":["596"]}}"#,
                // Nothing to classify.
                r#"{"type":"track","event":"Publisher Page Viewed","userId":"c","messageId":"3","timestamp":"2025-11-28T10:00:00Z","properties":{}}"#,
            ],
        );
        assert_eq!(members(&adv), (1, 1));
    }
    // Replay from the log without a snapshot gives the same categories.
    assert!(remove_snapshots(dir.path()) <= 1);
    let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    let adv = engine.advertiser("default").unwrap();
    assert_eq!(members(&adv), (1, 1));
}

/// Deletes every `snapshot.bin` under `dir`; returns how many there were.
fn remove_snapshots(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            n += remove_snapshots(&p);
        } else if p.file_name().is_some_and(|f| f == "snapshot.bin") {
            std::fs::remove_file(&p).unwrap();
            n += 1;
        }
    }
    n
}
