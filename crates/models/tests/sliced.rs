//! Reading the profiles a slice at a time (what a model refresh does, to hold the profiles'
//! lock briefly) gives what one read of everyone gives: features, behavioral evidence and
//! prospecting's population, on a simulated shop; and people or property sets that arrive
//! between two slices are read as they are when their slice comes.

use std::path::PathBuf;

use audex_model::catalog::Catalog;
use audex_model::event::parse_event_json;
use audex_model::taxonomy::ProductTaxonomy;
use audex_models::behavioral::{self, EvidenceReader};
use audex_models::features::{self, FeatureConfig, FeatureReader, Features};
use audex_models::prospecting::{self, Population, ProspectingConfig};
use audex_profile::{ProfileStore, Reference};

fn taxonomy_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt"
    ))
}

/// A simulated shop's events, its catalog and taxonomy, and the last event's day.
struct Shop {
    lines: Vec<Vec<u8>>,
    catalog: Catalog,
    taxonomy: ProductTaxonomy,
    today: u32,
}

fn shop() -> Shop {
    let config = audex_sim::SimConfig::new(1200, "/nonexistent", taxonomy_path());
    let sim = audex_sim::run_in_memory(&config).expect("sim runs");
    let text = std::fs::read_to_string(taxonomy_path()).expect("taxonomy file");
    let taxonomy = ProductTaxonomy::parse(&text).expect("taxonomy parses");
    let feed = audex_model::catalog::parse_feed(&sim.catalog[..], Some(&taxonomy)).expect("feed");
    let mut catalog = Catalog::new();
    for p in feed.products {
        catalog.upsert(p);
    }
    catalog.rebuild_tiers(&taxonomy);
    let lines: Vec<Vec<u8>> = sim
        .events
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let last_ms = lines
        .iter()
        .filter_map(|l| parse_event_json(l, i64::MAX / 4).ok())
        .map(|e| e.timestamp_ms)
        .max()
        .unwrap_or(0);
    Shop {
        lines,
        catalog,
        taxonomy,
        today: (last_ms / 86_400_000) as u32,
    }
}

fn apply(shop: &Shop, store: &mut ProfileStore, lines: &[Vec<u8>]) {
    let reference = Reference {
        catalog: Some(&shop.catalog),
        taxonomy: Some(&shop.taxonomy),
    };
    for line in lines {
        let e = parse_event_json(line, i64::MAX / 4).expect("simulated events validate");
        let _ = store.apply(&e, reference);
    }
}

fn row(f: &Features, p: usize) -> (&[u32], &[f32]) {
    let (a, b) = (f.indptr[p], f.indptr[p + 1]);
    (&f.indices[a..b], &f.values[a..b])
}

fn configs(today: u32) -> Vec<FeatureConfig> {
    let mut prospecting = FeatureConfig::new(today);
    prospecting.exclude_purchases = true;
    let mut publisher = prospecting.clone();
    publisher.publisher_view = true;
    vec![FeatureConfig::new(today), prospecting, publisher]
}

#[test]
fn slices_read_what_one_read_does() {
    let shop = shop();
    let mut store = ProfileStore::default();
    apply(&shop, &mut store, &shop.lines);
    let tax = Some(&shop.taxonomy);
    let people = store.profiles.len();
    assert!(people > 1000, "{people} people");
    for config in configs(shop.today) {
        let whole = features::extract(&store, tax, &config);
        for slice in [1, 97, people + 5] {
            let mut reader = FeatureReader::new(config.clone());
            while !reader.read(&store, tax, slice).is_done() {}
            let sliced = reader.finish();
            assert_eq!(sliced.indptr, whole.indptr, "slice {slice}");
            assert_eq!(sliced.indices, whole.indices, "slice {slice}");
            assert_eq!(sliced.values, whole.values, "slice {slice}");
        }
    }

    let whole = behavioral::evidence(&store, tax, shop.today);
    let mut reader = EvidenceReader::new(shop.today);
    // Property sets first, a budget's worth per call; people only once none is left behind.
    assert!(store.propsets.len() > 2 * 97);
    let progress = reader.read(&store, tax, 97);
    assert_eq!((progress.sets, progress.people, reader.rows()), (97, 0, 0));
    while !reader.read(&store, tax, 97).is_done() {}
    let sliced = reader.finish();
    assert_eq!(sliced.column_names(), whole.column_names());
    for p in 0..people as u32 {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        sliced.dense_row(p, &mut a);
        whole.dense_row(p, &mut b);
        assert_eq!(a, b, "person {p}");
    }
    assert_eq!(
        behavioral::fit_and_score(&sliced).scores,
        behavioral::fit_and_score(&whole).scores
    );

    let config = ProspectingConfig::default();
    let whole = prospecting::population(&store, &config, shop.today);
    assert!(!whole.buyers.is_empty() && !whole.visited.is_empty());
    let mut merged = Population::default();
    for start in (0..people).step_by(97) {
        merged.extend(prospecting::population_among(
            &store,
            &config,
            shop.today,
            start..(start + 97).min(people),
        ));
    }
    assert_eq!(merged.buyers, whole.buyers);
    assert_eq!(merged.eligible, whole.eligible);
    assert_eq!(merged.visited, whole.visited);
}

#[test]
fn people_arriving_between_slices_are_read_as_they_are_then() {
    let shop = shop();
    let half = shop.lines.len() / 2;
    let mut store = ProfileStore::default();
    apply(&shop, &mut store, &shop.lines[..half]);
    let tax = Some(&shop.taxonomy);
    let config = FeatureConfig::new(shop.today);
    let before = features::extract(&store, tax, &config);
    let (sets_before, people_before) = (store.propsets.len(), store.profiles.len());

    // Read a third of the people, then the rest of the events arrive (new people, new property
    // sets), then the reader goes on.
    let mut reader = FeatureReader::new(config.clone());
    let mut evidence = EvidenceReader::new(shop.today);
    let first = people_before / 3;
    while reader.rows() < first {
        reader.read(&store, tax, 50.min(first - reader.rows()));
    }
    while evidence.rows() < first {
        evidence.read(&store, tax, first - evidence.rows());
    }
    apply(&shop, &mut store, &shop.lines[half..]);
    assert!(store.propsets.len() > sets_before && store.profiles.len() > people_before);
    while !reader.read(&store, tax, 50).is_done() {}
    while !evidence.read(&store, tax, 50).is_done() {}
    let sliced = reader.finish();
    let after = features::extract(&store, tax, &config);

    assert_eq!(sliced.rows(), store.profiles.len());
    assert_eq!(evidence.rows(), store.profiles.len());
    for p in 0..store.profiles.len() {
        let expected = if p < first {
            row(&before, p)
        } else {
            row(&after, p)
        };
        assert_eq!(row(&sliced, p), expected, "person {p}");
    }
    // The new property sets' columns were caught up on: some rows read after the arrival hold
    // columns no row of the earlier store had.
    let old: std::collections::HashSet<u32> = before.indices.iter().copied().collect();
    assert!(
        sliced.indices[sliced.indptr[first]..]
            .iter()
            .any(|c| !old.contains(c))
    );
}
