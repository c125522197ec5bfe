//! Quality floors at small scale: a simulated shop of a few thousand people, built in process,
//! so that a regression in features, lookalike, prospecting or behavioral inference fails CI.

use std::path::PathBuf;
use std::sync::OnceLock;

use audex_model::catalog::Catalog;
use audex_model::event::parse_event_json;
use audex_model::taxonomy::ProductTaxonomy;
use audex_models::behavioral;
use audex_models::features::{self, FeatureConfig};
use audex_models::lookalike::{self, LookalikeConfig, Method, Target};
use audex_models::prospecting::{self, ProspectingConfig};
use audex_models::truth::{self, TruthPerson};
use audex_profile::{PersonId, ProfileStore, Reference};
use roaring::RoaringBitmap;

const PEOPLE: u64 = 4000;

struct Shop {
    store: ProfileStore,
    taxonomy: ProductTaxonomy,
    truth: Vec<(PersonId, TruthPerson)>,
    today: u32,
}

fn taxonomy_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt"
    ))
}

fn shop() -> &'static Shop {
    static SHOP: OnceLock<Shop> = OnceLock::new();
    SHOP.get_or_init(|| {
        let config = audex_sim::SimConfig::new(PEOPLE, "/nonexistent", taxonomy_path());
        let sim = audex_sim::run_in_memory(&config).expect("sim runs");
        let text = std::fs::read_to_string(taxonomy_path()).expect("taxonomy file");
        let taxonomy = ProductTaxonomy::parse(&text).expect("taxonomy parses");
        let feed =
            audex_model::catalog::parse_feed(&sim.catalog[..], Some(&taxonomy)).expect("feed");
        let mut catalog = Catalog::new();
        for p in feed.products {
            catalog.upsert(p);
        }
        catalog.rebuild_tiers(&taxonomy);
        let mut store = ProfileStore::default();
        let reference = Reference {
            catalog: Some(&catalog),
            taxonomy: Some(&taxonomy),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut last_ms = 0;
        let mut rejected = 0;
        for line in sim.events.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            match parse_event_json(line, now) {
                Ok(e) => {
                    last_ms = last_ms.max(e.timestamp_ms);
                    let _ = store.apply(&e, reference);
                }
                Err(_) => rejected += 1,
            }
        }
        assert_eq!(rejected, 0, "simulated events all validate");
        let people = truth::parse(&String::from_utf8_lossy(&sim.truth), "truth").expect("truth");
        let truth = truth::join(&store, people);
        Shop {
            store,
            taxonomy,
            truth,
            today: (last_ms / 86_400_000) as u32,
        }
    })
}

fn seed_of(shop: &Shop, tag: &str) -> RoaringBitmap {
    shop.truth
        .iter()
        .filter(|(_, t)| t.has_tag(tag))
        .map(|(p, _)| *p)
        .collect()
}

#[test]
fn lookalike_ranks_held_out_seed_members_high() {
    let shop = shop();
    let f = features::extract(
        &shop.store,
        Some(&shop.taxonomy),
        &FeatureConfig::new(shop.today),
    );
    for tag in ["luxury_buyer", "pet_owner"] {
        let seed = seed_of(shop, tag);
        let mut aucs = Vec::new();
        for method in [Method::Centroid, Method::Logistic] {
            let config = LookalikeConfig {
                method,
                target: Target::Ratio(0.1),
                ..LookalikeConfig::default()
            };
            let split = lookalike::split(&f, &seed, 0.2, &config);
            let q = lookalike::evaluate(&f, &split, &config).expect("trains");
            eprintln!(
                "{tag} {}: auc {:.3} recall@{} {:.3} precision {:.3} ({} iterations, {:.1} ms)",
                method.as_str(),
                q.auc,
                q.k,
                q.recall_at_k,
                q.precision_at_k,
                q.iterations,
                q.train_ms
            );
            let floor = if method == Method::Logistic {
                0.8
            } else {
                0.65
            };
            assert!(q.auc > floor, "{tag} {} AUC {:.3}", method.as_str(), q.auc);
            aucs.push(q.auc);
            if method == Method::Logistic {
                // Converged: the optimum of scikit-learn's objective (L2, C = 1, balanced), so
                // its quality is scikit-learn's LogisticRegression's on the same rows
                // (MODELS.md); an early stop shows here first.
                assert!(
                    q.gradient <= LookalikeConfig::default().logistic.tolerance,
                    "{tag}: logistic stopped at gradient {:.2e} after {} iterations",
                    q.gradient,
                    q.iterations
                );
            }
        }
        assert!(
            aucs[1] > aucs[0],
            "{tag}: logistic AUC {:.3} not above the centroid's {:.3}",
            aucs[1],
            aucs[0]
        );
    }
}

#[test]
fn behavioral_tags_meet_their_floors() {
    let shop = shop();
    let inf = behavioral::infer_models(&shop.store, Some(&shop.taxonomy), shop.today);
    for (t, m) in behavioral::TAGS.iter().zip(&inf.models) {
        eprintln!(
            "{:15} prior {:.3} products {:?} pages {:?} tiers {:?}",
            t.name, m.prior, m.products, m.pages, m.tiers
        );
    }
    let scores = inf.scores;
    let q = behavioral::measure(&scores, &shop.truth);
    for t in &q {
        eprintln!(
            "{:15} p {:.3} r {:.3} (pred {} actual {}) best {:?}",
            t.tag, t.precision, t.recall, t.predicted, t.actual, t.best_threshold
        );
    }
    for t in &q {
        // The goal (precision ≥ 0.8 at recall ≥ 0.6) where this shop meets it, else floors a
        // little under what it measured (MODELS.md has the 100k figures and the reasons).
        let (p, r) = match t.tag {
            "foodie" | "pet_owner" | "sports" | "tech" => (0.8, 0.6),
            "beauty" => (0.78, 0.57),
            // Without the home moves seen in device locations: precision 0.656, recall 0.350.
            "recently_moved" => (0.68, 0.36),
            "student" => (0.72, 0.47),
            "home" => (0.76, 0.44),
            _ => (0.76, 0.5),
        };
        assert!(
            t.precision >= p && t.recall >= r,
            "{}: precision {:.3} (floor {p}), recall {:.3} (floor {r})",
            t.tag,
            t.precision,
            t.recall
        );
    }
    // Explaining product days by the other tags (`TagSpec::explain`): without it this shop's
    // best recall at precision 0.8 is 0.595 for beauty and 0.560 for fashion.
    for (tag, floor) in [("beauty", 0.62), ("fashion", 0.57)] {
        let best = q
            .iter()
            .find(|t| t.tag == tag)
            .and_then(|t| t.best_threshold)
            .map_or(0.0, |b| b.1);
        assert!(
            best >= floor,
            "{tag}: best recall at p ≥ 0.8 {best:.3} (floor {floor})"
        );
    }
}

#[test]
fn prospecting_beats_a_naive_baseline() {
    let shop = shop();
    let mut fc = FeatureConfig::new(shop.today);
    fc.exclude_purchases = true;
    fc.as_of_day = Some(shop.today.saturating_sub(30));
    let f = features::extract(&shop.store, Some(&shop.taxonomy), &fc);
    fc.publisher_view = true;
    let pf = features::extract(&shop.store, Some(&shop.taxonomy), &fc);
    let views = prospecting::Views {
        first_party: &f,
        publisher: Some(&pf),
    };
    let q = prospecting::evaluate_time_split(
        &shop.store,
        views,
        &ProspectingConfig::default(),
        shop.today,
        30,
    )
    .expect("trains");
    eprintln!("{q:?}");
    assert!(
        q.auc > 0.62 && q.auc > q.baseline_auc,
        "prospecting AUC {:.3}, baseline {:.3}",
        q.auc,
        q.baseline_auc
    );
}

#[test]
fn features_and_lookalikes_are_deterministic() {
    let shop = shop();
    let fc = FeatureConfig::new(shop.today);
    let a = features::extract(&shop.store, Some(&shop.taxonomy), &fc);
    let b = features::extract(&shop.store, Some(&shop.taxonomy), &fc);
    assert_eq!(a.indptr, b.indptr);
    assert_eq!(a.indices, b.indices);
    assert_eq!(a.values, b.values);
    let seed = seed_of(shop, "sports");
    let config = LookalikeConfig {
        target: Target::Size(200),
        ..LookalikeConfig::default()
    };
    let x = lookalike::run(&a, &seed, &config).expect("trains");
    let y = lookalike::run(&b, &seed, &config).expect("trains");
    assert_eq!(x.members, y.members);
    assert_eq!(x.members.len(), 200);
    assert!(
        (&x.members & &seed).is_empty(),
        "a lookalike never holds seed members"
    );
    let other = lookalike::run(
        &a,
        &seed,
        &LookalikeConfig {
            seed: 7,
            ..config.clone()
        },
    )
    .expect("trains");
    // Another seed samples other negatives: mostly the same people, not necessarily all.
    assert!((&other.members & &x.members).len() > 150);
    let empty = RoaringBitmap::new();
    assert!(lookalike::run(&a, &empty, &config).is_err());
}
