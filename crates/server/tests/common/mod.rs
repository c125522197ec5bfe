//! A small simulated shop loaded into an advertiser in process (catalog and events), and the
//! model training the CLI's `audex model …` verbs do, for the server tests that need trained
//! models or inferred tags.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use audex_engine::import::{Format, ImportOptions, import_reader};
use audex_engine::models::{InferredTags, ModelScores};
use audex_engine::{Advertiser, Credentials, Engine, EngineOptions};
use audex_models::behavioral::{self, TAGS};
use audex_models::features::{self, FeatureConfig};
use audex_models::lookalike::{self, LookalikeConfig, Target};
use audex_models::prospecting::{self, ProspectingConfig};
use roaring::RoaringBitmap;

/// The Google Product Taxonomy file the simulator and the engine read.
pub fn taxonomy_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt"
    ))
}

/// Simulates `people` people whose last day is today and imports the catalog and events into
/// `adv`.
pub fn load_sim(adv: &Advertiser, people: u64) {
    let mut config = audex_sim::SimConfig::new(people, "/nonexistent", taxonomy_path());
    config.end_date = chrono::Utc::now().date_naive();
    let sim = audex_sim::run_in_memory(&config).expect("sim runs");
    let feed =
        audex_model::catalog::parse_feed(&sim.catalog[..], adv.taxonomy()).expect("feed parses");
    adv.upsert_products(feed.products).expect("catalog stored");
    let report = import_reader(
        adv,
        Box::new(&sim.events[..]),
        "sim",
        Format::Ndjson,
        &ImportOptions::default(),
        &mut |_| {},
    )
    .expect("events import");
    assert_eq!(report.rejected.total, 0, "simulated events all validate");
    assert!(report.accepted > 0);
}

fn today(adv: &Advertiser, now: i64) -> u32 {
    let state = adv.state().expect("state");
    audex_model::time::day_of_ms(now + state.profiles.utc_offset_ms).unwrap_or(0)
}

/// `audex model lookalike --seed SEED --target-size N`: trains and stores the scores.
pub fn train_lookalike(adv: &Advertiser, seed_id: &str, target: u64, now: i64) {
    let rule = {
        let defs = adv.definitions().expect("definitions");
        defs.audience(seed_id)
            .expect("seed audience")
            .definition
            .compile()
            .expect("seed compiles")
    };
    let seed: RoaringBitmap = adv.evaluate(&rule, now).expect("seed evaluates");
    assert!(seed.len() >= 10, "seed of {} people", seed.len());
    let day = today(adv, now);
    let result = {
        let state = adv.state().expect("state");
        let f = features::extract(&state.profiles, adv.taxonomy(), &FeatureConfig::new(day));
        let config = LookalikeConfig {
            target: Target::Size(target),
            ..LookalikeConfig::default()
        };
        lookalike::run(&f, &seed, &config).expect("lookalike trains")
    };
    let (people, scores): (Vec<u32>, Vec<f32>) = result.scores.iter().copied().unzip();
    adv.save_model_scores(&ModelScores {
        model: format!("lookalike:{seed_id}"),
        trained_ms: now,
        people,
        scores,
    })
    .expect("scores stored");
}

/// `audex model prospecting`: trains on buyers, scores every non-buyer, stores the scores.
pub fn train_prospecting(adv: &Advertiser, now: i64) {
    let day = today(adv, now);
    let all = {
        let state = adv.state().expect("state");
        let store = &state.profiles;
        let mut fc = FeatureConfig::new(day);
        fc.exclude_purchases = true;
        let f = features::extract(store, adv.taxonomy(), &fc);
        fc.publisher_view = true;
        let pf = features::extract(store, adv.taxonomy(), &fc);
        let views = prospecting::Views {
            first_party: &f,
            publisher: Some(&pf),
        };
        prospecting::run(store, views, &ProspectingConfig::default(), day)
            .expect("prospecting trains")
    };
    let (people, scores): (Vec<u32>, Vec<f32>) = all.scores.iter().copied().unzip();
    adv.save_model_scores(&ModelScores {
        model: "prospecting".into(),
        trained_ms: now,
        people,
        scores,
    })
    .expect("scores stored");
}

/// `audex model behavioral`: infers the tags and stores them; answers each tag's members.
pub fn infer_tags(adv: &Advertiser, now: i64) -> Vec<(String, RoaringBitmap)> {
    let day = today(adv, now);
    let members = {
        let state = adv.state().expect("state");
        behavioral::infer(&behavioral::scores(&state.profiles, adv.taxonomy(), day))
    };
    let tags: Vec<(String, RoaringBitmap)> = TAGS
        .iter()
        .zip(members)
        .map(|(t, m)| (t.name.to_string(), m))
        .collect();
    adv.save_inferred_tags(&InferredTags {
        inferred_ms: now,
        tags: tags.clone(),
    })
    .expect("tags stored");
    tags
}

/// A real `audex_server` on a loopback port over a fresh data directory with two advertisers,
/// stopped when dropped.
pub struct Server {
    pub base: String,
    pub engine: Arc<Engine>,
    pub a: Credentials,
    pub b: Credentials,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts a [`Server`] whose engine opens with `options`.
pub async fn start_server(options: EngineOptions) -> Server {
    start_server_with(options, audex_server::ServeOptions::default()).await
}

/// [`start_server`] with the server's background work set by `serve`.
pub async fn start_server_with(
    options: EngineOptions,
    serve: audex_server::ServeOptions,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(dir.path(), options).unwrap());
    let a = engine.create_advertiser("shop-a", 0).unwrap();
    let b = engine.create_advertiser("shop-b", 0).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let e = engine.clone();
    tokio::spawn(async move {
        audex_server::serve_with(
            e,
            "127.0.0.1:0".parse().unwrap(),
            serve,
            async {
                let _ = stopped.await;
            },
            move |addr| {
                let _ = tx.send(addr);
            },
        )
        .await
        .unwrap();
    });
    let addr = rx.await.unwrap();
    Server {
        base: format!("http://{addr}"),
        engine,
        a,
        b,
        _dir: dir,
        _stop: stop,
    }
}
