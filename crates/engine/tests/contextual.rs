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

/// A classifier trained and installed in the data directory classifies the pages received
/// after its install; pages received before keep the shipped classifier's categories, also
/// when the log is replayed.
#[test]
fn a_trained_classifier_takes_over_from_its_install_on() {
    use audex_contextual::{Classifiers, LabeledPage, Page, TrainedClassifier};
    let dir = tempfile::tempdir().unwrap();
    let sports = audex_rules::parse(r#"page_category in ("483") within 30d"#).unwrap();
    let food = audex_rules::parse(r#"page_category in ("210") within 30d"#).unwrap();
    let members = |adv: &Advertiser| {
        let ids = |r| -> Vec<u32> { adv.evaluate(r, NOW).unwrap().iter().collect() };
        (ids(&sports), ids(&food))
    };
    let page = |user: &str, id: &str| {
        format!(
            r#"{{"type":"track","event":"Publisher Page Viewed","userId":"{user}","messageId":"{id}","timestamp":"2025-11-28T10:00:00Z","properties":{{"url":"https://news.example/sports/tennis/1","title":"Federer wins in straight sets"}}}}"#
        )
    };
    {
        let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
        let adv = engine.advertiser("default").unwrap();
        import(&adv, &[&page("a", "1")]);
        assert_eq!(members(&adv), (vec![0], vec![]));
    }
    // A deployment whose corpus files these pages under Food & Drink (210), against Birds.
    let mut corpus = Vec::new();
    for k in 0..10 {
        let labeled = |title: String, category: &str| LabeledPage {
            page: Page {
                title,
                ..Page::default()
            },
            category: category.into(),
        };
        corpus.push(labeled(format!("Federer wins in straight sets {k}"), "210"));
        corpus.push(labeled(format!("Budgie cage and perch {k}"), "423"));
    }
    let model = TrainedClassifier::train(&corpus).unwrap();
    let (_, installed) = Classifiers::install(dir.path(), model, audex_engine::now_ms()).unwrap();
    while audex_engine::now_ms() <= installed.installed_ms {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    {
        let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
        let adv = engine.advertiser("default").unwrap();
        // Received before the install: still Sports after reopening.
        assert_eq!(members(&adv), (vec![0], vec![]));
        import(&adv, &[&page("b", "2")]);
        assert_eq!(members(&adv), (vec![0], vec![1]));
    }
    // Replaying the whole log classifies each page with the model of its time again.
    assert!(remove_snapshots(dir.path()) <= 1);
    let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    let adv = engine.advertiser("default").unwrap();
    assert_eq!(members(&adv), (vec![0], vec![1]));
}
