//! Criterion micro-benchmarks of the evaluator hot paths (issue 6).
//!
//! A synthetic store of 50,000 people (about 30 events each over 120 days: visits on web and
//! app, product views, carts, orders with product lines, ad impressions and clicks, publisher
//! pages, a custom event, identify with demographics and a location) is built once through
//! `ProfileStore::apply`, as ingest does. Then, for a few rule shapes:
//!
//! * `evaluate/<shape>`: set at a time over the bitmap index, all 50,000 people;
//! * `matches/<shape>`: the per-person evaluator over 1,000 spread people (throughput per person);
//! * `index/build`: building the bitmap index from the store.
//!
//! Run with `cargo bench -p audex-index --bench eval` (add `-- --quick` for a short pass).

use std::hint::black_box;
use std::sync::OnceLock;

use audex_index::{Context, Index, evaluate, matches};
use audex_model::event::parse_event;
use audex_model::taxonomy::ProductTaxonomy;
use audex_profile::{ProfileStore, Reference};
use audex_rules::Rule;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

const PEOPLE: u64 = 50_000;
const DAYS: u64 = 120;
const DAY_MS: i64 = 86_400_000;
/// 2026-08-01T00:00:00Z: the first simulated day.
const START_MS: i64 = 1_785_542_400_000;
/// Evaluation time: the day after the last simulated day, at noon.
const NOW_MS: i64 = START_MS + DAYS as i64 * DAY_MS + DAY_MS / 2;

/// A small Google-taxonomy-shaped tree: two top-level categories with subtrees.
const TAXONOMY: &str = "# Google_Product_Taxonomy_Version: bench\n\
1 - Apparel & Accessories\n\
2 - Apparel & Accessories > Clothing\n\
3 - Apparel & Accessories > Clothing > Dresses\n\
4 - Apparel & Accessories > Shoes\n\
5 - Home & Garden\n\
6 - Home & Garden > Kitchen & Dining\n\
7 - Home & Garden > Kitchen & Dining > Cookware\n\
8 - Home & Garden > Lighting\n";

const BRANDS: [&str; 6] = ["Acme", "Stride", "Bolt", "Lumen", "Nordic", "Velvet"];
const CAMPAIGNS: [&str; 3] = ["cmp_retarget", "cmp_prospect", "cmp_brand"];
const PAGE_CATS: [&str; 5] = ["422", "427", "428", "483", "596"];

/// The rule shapes measured.
const SHAPES: [(&str, &str); 7] = [
    ("event_window", "activity within 30d"),
    ("event_window_channel", "visit within 7..30d on app"),
    (
        "filtered_count",
        "product_viewed where price > 50 count >= 2 within 30d",
    ),
    ("category_interest", "category 1 score >= 0.3 within 90d"),
    (
        "cart_abandoners",
        "no order_completed after product_added, checkout_started within 7d",
    ),
    (
        "demographic",
        "gender in (female) and age 25..44 and income in (high, very_high)",
    ),
    (
        "nested_and_or_not",
        "(activity within 14d on app or product_added within 7d) and not order_completed within 30d \
         and (gender in (female) or age 18..34)",
    ),
];

/// splitmix64: a tiny deterministic generator, so the bench needs no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// One of 500 catalog-like products: a product always has the same category, brand and price.
fn product(r: &mut Rng) -> Value {
    let id = r.below(500);
    json!({
        "product_id": format!("P{id:04}"),
        "category": (2 + id % 7).to_string(),
        "brand": BRANDS[(id % BRANDS.len() as u64) as usize],
        "price": ((id * 7919) % 20_000) as f64 / 100.0 + 0.99,
    })
}

/// One person's events, as Segment JSON.
fn person_events(p: u64, r: &mut Rng, out: &mut Vec<Value>) {
    let anon = format!("anon-{p}");
    let user = (r.below(3) == 0).then(|| format!("user-{p}"));
    let app = r.below(3) == 0;
    let n = 10 + r.below(40);
    let mut day = r.below(DAYS);
    for _ in 0..n {
        let ts = START_MS + (day as i64) * DAY_MS + r.below(DAY_MS as u64) as i64;
        let on_app = app && r.below(2) == 0;
        let mut v = match r.below(20) {
            0..=5 => json!({"type": if on_app {"screen"} else {"page"}}),
            6..=10 => json!({"type": "track", "event": "Product Viewed", "properties": product(r)}),
            11 => json!({"type": "track", "event": "Product Added", "properties": product(r)}),
            12 => json!({"type": "track", "event": "Checkout Started",
                         "properties": {"products": [product(r)]}}),
            13 => {
                let lines: Vec<Value> = (0..1 + r.below(3)).map(|_| product(r)).collect();
                json!({"type": "track", "event": "Order Completed",
                       "properties": {"revenue": (r.below(30_000) as f64) / 100.0, "products": lines}})
            }
            14 | 15 => json!({"type": "track", "event": "Ad Impression",
                              "properties": {"campaign_id": r.pick(&CAMPAIGNS), "cost": 0.002}}),
            16 => json!({"type": "track", "event": "Ad Clicked",
                         "properties": {"campaign_id": r.pick(&CAMPAIGNS)}}),
            17 => json!({"type": "track", "event": "Publisher Page Viewed",
                         "properties": {"categories": [r.pick(&PAGE_CATS), r.pick(&PAGE_CATS)]}}),
            18 => json!({"type": "track", "event": "Wishlist Added",
                         "properties": {"product_id": "P0001", "price": r.below(100)}}),
            _ => json!({"type": "identify", "traits": {
                "gender": r.pick(&["female", "male", "other"]),
                "age": 18 + r.below(60),
                "income": r.below(200_000),
            }}),
        };
        v["anonymousId"] = json!(anon);
        if let Some(u) = &user {
            v["userId"] = json!(u);
        }
        if on_app {
            let ctx = json!({"app": {"name": "shop"}, "location": {
                "latitude": 48.0 + (r.below(1000) as f64) / 100.0,
                "longitude": 2.0 + (r.below(1000) as f64) / 100.0}});
            v["context"] = ctx;
        }
        v["messageId"] = json!(format!("m-{p}-{}", out.len()));
        v["timestamp"] = json!(
            chrono::DateTime::from_timestamp_millis(ts)
                .map(|d| d.to_rfc3339())
                .unwrap_or_default()
        );
        out.push(v);
        // Sessions cluster: mostly the same or a nearby day, sometimes a jump.
        day = match r.below(4) {
            0 => r.below(DAYS),
            1 => (day + 1 + r.below(10)).min(DAYS - 1),
            _ => day,
        };
    }
}

struct Fixture {
    taxonomy: ProductTaxonomy,
    store: ProfileStore,
    index: Index,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let taxonomy = ProductTaxonomy::parse(TAXONOMY).expect("bench taxonomy parses");
        let mut store = ProfileStore::default();
        let mut rng = Rng(6);
        let mut events = Vec::new();
        for p in 0..PEOPLE {
            events.clear();
            person_events(p, &mut rng, &mut events);
            events.sort_by(|a, b| a["timestamp"].as_str().cmp(&b["timestamp"].as_str()));
            for e in events.drain(..) {
                if let Ok(ev) = parse_event(e, NOW_MS) {
                    let reference = Reference {
                        catalog: None,
                        taxonomy: Some(&taxonomy),
                    };
                    let _ = store.apply(&ev, reference);
                }
            }
        }
        let index = Index::build(&store);
        Fixture {
            taxonomy,
            store,
            index,
        }
    })
}

fn rules() -> Vec<(&'static str, Rule)> {
    SHAPES
        .iter()
        .map(|(name, text)| {
            let rule = text
                .parse::<Rule>()
                .unwrap_or_else(|e| panic!("bench rule {name}: {e}"));
            (*name, rule)
        })
        .collect()
}

fn bench_evaluate(c: &mut Criterion) {
    let f = fixture();
    let ctx = Context::new(&f.store, Some(&f.taxonomy));
    let mut g = c.benchmark_group("evaluate");
    g.throughput(Throughput::Elements(f.index.live.len()));
    for (name, rule) in rules() {
        g.bench_with_input(BenchmarkId::from_parameter(name), &rule, |b, rule| {
            b.iter(|| evaluate(&ctx, &f.index, black_box(rule), NOW_MS).map(|m| m.len()))
        });
    }
    g.finish();
}

fn bench_matches(c: &mut Criterion) {
    let f = fixture();
    let ctx = Context::new(&f.store, Some(&f.taxonomy));
    let people: Vec<u32> = f
        .index
        .live
        .iter()
        .step_by(f.index.live.len() as usize / 1000)
        .collect();
    let mut g = c.benchmark_group("matches");
    g.throughput(Throughput::Elements(people.len() as u64));
    for (name, rule) in rules() {
        g.bench_with_input(BenchmarkId::from_parameter(name), &rule, |b, rule| {
            b.iter(|| {
                people
                    .iter()
                    .filter(|&&p| matches(&ctx, p, black_box(rule), NOW_MS).unwrap_or(false))
                    .count()
            })
        });
    }
    g.finish();
}

fn bench_index(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    g.throughput(Throughput::Elements(f.store.profiles.len() as u64));
    g.bench_function("build", |b| {
        b.iter(|| Index::build(black_box(&f.store)).live.len())
    });
    g.finish();
}

criterion_group!(benches, bench_evaluate, bench_matches, bench_index);
criterion_main!(benches);
