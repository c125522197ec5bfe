//! Offline measurement: hit-rate@N on each buyer's held-out last purchase, beside a
//! popularity baseline, from a simulator directory (`events.ndjson`, `catalog.tsv`).

use std::io::{BufRead, BufReader};
use std::path::Path;

use audex_model::catalog::{Catalog, parse_feed};
use audex_model::event::parse_event_json;
use audex_model::taxonomy::ProductTaxonomy;
use audex_profile::{ProfileStore, Reference};
use serde::Serialize;

use crate::{
    Action, Interaction, Options, RecommendError, Recommender, histories, item_categories,
};

/// 2100-01-01T00:00:00Z: the receipt time given to replayed simulator events.
const RECEIVED_AT_MS: i64 = 4_102_444_800_000;

/// Builds profiles and the catalog from a simulator directory, in memory (no event log).
pub fn load_sim(
    dir: &Path,
    taxonomy: Option<&ProductTaxonomy>,
) -> Result<(ProfileStore, Catalog), RecommendError> {
    let err = |what: &Path, e: &dyn std::fmt::Display| RecommendError::Read {
        what: what.display().to_string(),
        message: e.to_string(),
    };
    let cat_path = dir.join("catalog.tsv");
    let file = std::fs::File::open(&cat_path).map_err(|e| err(&cat_path, &e))?;
    let feed = parse_feed(BufReader::new(file), taxonomy).map_err(|e| err(&cat_path, &e))?;
    let mut catalog = Catalog::new();
    for p in feed.products {
        catalog.upsert(p);
    }
    let ev_path = dir.join("events.ndjson");
    let file = std::fs::File::open(&ev_path).map_err(|e| err(&ev_path, &e))?;
    let mut store = ProfileStore::default();
    let reference = Reference {
        catalog: Some(&catalog),
        taxonomy,
    };
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| err(&ev_path, &e))?;
        if line.trim().is_empty() {
            continue;
        }
        // Received "in 2100": simulated timestamps are never refused as future ones.
        if let Ok(event) = parse_event_json(line.as_bytes(), RECEIVED_AT_MS) {
            // An event that does not apply (timestamp out of range) is skipped, as on ingest.
            let _ = store.apply(&event, reference);
        }
    }
    Ok((store, catalog))
}

/// One held-out case: a buyer's history before their last purchase day, and what they bought.
#[derive(Debug, Clone)]
pub struct Case {
    /// Interactions strictly before `day`.
    pub history: Vec<Interaction>,
    /// The last purchase day.
    pub day: u32,
    /// Products bought that day.
    pub bought: Vec<u32>,
}

/// Splits histories into training histories (each buyer's cut before their last purchase
/// day) and held-out cases (buyers with some earlier history).
pub fn holdout(all: &[Vec<Interaction>]) -> (Vec<Vec<Interaction>>, Vec<Case>) {
    let mut train = Vec::with_capacity(all.len());
    let mut cases = Vec::new();
    for h in all {
        let last = h
            .iter()
            .filter(|i| i.action == Action::Purchase)
            .map(|i| i.day)
            .max();
        let Some(day) = last else {
            train.push(h.clone());
            continue;
        };
        let before: Vec<Interaction> = h.iter().filter(|i| i.day < day).copied().collect();
        let mut bought: Vec<u32> = h
            .iter()
            .filter(|i| i.action == Action::Purchase && i.day == day)
            .map(|i| i.item)
            .collect();
        bought.sort_unstable();
        bought.dedup();
        if !before.is_empty() {
            cases.push(Case {
                history: before.clone(),
                day,
                bought,
            });
        }
        train.push(before);
    }
    (train, cases)
}

/// Hit-rates of the recommender and the popularity baseline.
#[derive(Debug, Clone, Serialize)]
pub struct HitRates {
    /// N of hit-rate@N.
    pub n: usize,
    /// Held-out cases (buyers with history before their last purchase day).
    pub cases: usize,
    /// People the model was fitted on.
    pub people: usize,
    /// Fraction of cases where a product bought that day is in the recommender's top N.
    pub model: f64,
    /// The same for the most popular products.
    pub popularity: f64,
    /// Fraction of cases where a bought product had been viewed or carted before (the ceiling
    /// of pure retargeting).
    pub seen_before: f64,
}

/// Fits on the training histories and measures hit-rate@`n` on the held-out cases.
pub fn evaluate(store: &ProfileStore, catalog: &Catalog, options: Options, n: usize) -> HitRates {
    let all: Vec<Vec<Interaction>> = histories(store, catalog)
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    let (train, cases) = holdout(&all);
    let model = Recommender::fit(&train, item_categories(catalog), options);
    let (mut hit, mut hit_pop, mut seen) = (0usize, 0usize, 0usize);
    for c in &cases {
        let recs = model.recommend(&c.history, c.day, n);
        if recs.iter().any(|r| c.bought.contains(&r.item)) {
            hit += 1;
        }
        if model
            .popular(&c.history, c.day, n)
            .iter()
            .any(|i| c.bought.contains(i))
        {
            hit_pop += 1;
        }
        if c.history.iter().any(|i| c.bought.contains(&i.item)) {
            seen += 1;
        }
    }
    let d = cases.len().max(1) as f64;
    HitRates {
        n,
        cases: cases.len(),
        people: model.people,
        model: hit as f64 / d,
        popularity: hit_pop as f64 / d,
        seen_before: seen as f64 / d,
    }
}

/// Hit-rate@`n` of each signal alone and of the blend without it, for the report.
pub fn ablations(store: &ProfileStore, catalog: &Catalog, n: usize) -> Vec<(String, f64)> {
    let base = Options::default();
    let only = |f: &dyn Fn(&mut Options)| {
        let mut o = Options {
            w_viewed: 0.0,
            w_carted: 0.0,
            w_co: 0.0,
            w_category: 0.0,
            w_popular: 1e-6,
            ..base
        };
        f(&mut o);
        o
    };
    let without = |f: &dyn Fn(&mut Options)| {
        let mut o = base;
        f(&mut o);
        o
    };
    let variants: Vec<(&str, Options)> = vec![
        (
            "retargeting only (viewed/carted, not bought)",
            only(&|o| {
                o.w_viewed = base.w_viewed;
                o.w_carted = base.w_carted;
            }),
        ),
        ("co-occurrence only", only(&|o| o.w_co = base.w_co)),
        (
            "category popularity only",
            only(&|o| o.w_category = base.w_category),
        ),
        (
            "blend without retargeting",
            without(&|o| {
                o.w_viewed = 0.0;
                o.w_carted = 0.0;
            }),
        ),
        ("blend without co-occurrence", without(&|o| o.w_co = 0.0)),
        (
            "blend without category popularity",
            without(&|o| o.w_category = 0.0),
        ),
    ];
    variants
        .into_iter()
        .map(|(name, o)| (name.to_string(), evaluate(store, catalog, o, n).model))
        .collect()
}
