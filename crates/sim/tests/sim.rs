//! End-to-end checks of the simulator's output on small populations.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use audex_sim::{SimConfig, run};
use serde_json::Value;

fn taxonomy_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt"
    ))
}

fn config(people: u64, out: &Path) -> SimConfig {
    SimConfig::new(people, out, taxonomy_path())
}

/// Parsed output of one shared 2000-person run (default period: 120 days to 2026-11-28).
struct Output {
    events: Vec<Value>,
    truth: Vec<Value>,
    catalog: Vec<Vec<String>>,
    summary: audex_sim::SimSummary,
}

fn shared() -> &'static Output {
    static OUT: OnceLock<Output> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("audex-sim-shared-2000");
        let summary = run(&config(2000, &dir), &|_| {}).unwrap();
        let events = std::fs::read_to_string(dir.join("events.ndjson"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let truth = std::fs::read_to_string(dir.join("truth.ndjson"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let catalog = std::fs::read_to_string(dir.join("catalog.tsv"))
            .unwrap()
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect();
        Output {
            events,
            truth,
            catalog,
            summary,
        }
    })
}

fn read_all(dir: &Path) -> [Vec<u8>; 3] {
    ["events.ndjson", "catalog.tsv", "truth.ndjson"].map(|f| std::fs::read(dir.join(f)).unwrap())
}

#[test]
fn deterministic_across_runs_and_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c, d) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
        tmp.path().join("d"),
    );
    // 1500 people: two chunks, the second one partial.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let three = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let sa = one.install(|| run(&config(1500, &a), &|_| {})).unwrap();
    let sb = three.install(|| run(&config(1500, &b), &|_| {})).unwrap();
    assert_eq!(sa, sb);
    assert_eq!(
        read_all(&a),
        read_all(&b),
        "same seed, different thread count"
    );

    let mut other_seed = config(1500, &c);
    other_seed.seed = 7;
    run(&other_seed, &|_| {}).unwrap();
    let [ea, ca, ta] = read_all(&a);
    let [ec, cc, tc] = read_all(&c);
    assert_ne!(ea, ec);
    assert_ne!(ca, cc);
    assert_ne!(ta, tc);

    // A prefix of the population is the same people with the same events.
    let sd = run(&config(1024, &d), &|_| {}).unwrap();
    let ed = std::fs::read(d.join("events.ndjson")).unwrap();
    assert!(sd.events < sa.events);
    assert_eq!(&ea[..ed.len()], &ed[..]);
    assert!(!tmp.path().join("a").join(".events.ndjson.partial").exists());
}

#[test]
fn every_event_is_valid_segment_json() {
    let out = shared();
    assert_eq!(out.events.len() as u64, out.summary.events);
    let start = chrono::DateTime::parse_from_rfc3339("2026-08-01T00:00:00Z").unwrap();
    let end = chrono::DateTime::parse_from_rfc3339("2026-11-29T00:00:00Z").unwrap();
    let mut ids = HashSet::new();
    let mut last_by_device: HashMap<&str, chrono::DateTime<chrono::FixedOffset>> = HashMap::new();
    let mut kinds: HashMap<String, u64> = HashMap::new();
    for e in &out.events {
        let ty = e["type"].as_str().expect("type");
        assert!(
            ["track", "page", "screen", "identify", "alias"].contains(&ty),
            "{ty}"
        );
        let id = e["messageId"].as_str().expect("messageId");
        assert_eq!(id.len(), 36);
        assert!(ids.insert(id.to_string()), "duplicate messageId {id}");
        let ts = e["timestamp"].as_str().expect("timestamp");
        assert!(
            ts.len() == 24 && ts.ends_with('Z') && &ts[19..20] == ".",
            "{ts}"
        );
        let t = chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339");
        assert!(t >= start && t < end, "{ts} outside the period");
        let anon = e["anonymousId"].as_str();
        assert!(anon.is_some() || e["userId"].is_string());
        if let Some(a) = anon {
            let last = last_by_device.entry(a).or_insert(t);
            assert!(t >= *last, "events of {a} out of order");
            *last = t;
        }
        let name = match ty {
            "track" => e["event"].as_str().expect("event name").to_string(),
            other => other.to_string(),
        };
        *kinds.entry(name.clone()).or_default() += 1;
        let ctx = &e["context"];
        assert!(ctx.is_object());
        if ty == "screen" || ctx.get("app").is_some() {
            assert!(ctx["app"]["name"].is_string() && ctx["app"]["build"].is_string());
            assert!(ctx["location"]["latitude"].is_f64());
            let lib = ctx["library"]["name"].as_str().unwrap();
            assert!(lib == "analytics-ios" || lib == "analytics-android");
        } else {
            assert!(ctx["ip"].is_string() && ctx["userAgent"].is_string());
        }
        if ty == "page" {
            let page = &ctx["page"];
            assert!(page["url"].as_str().unwrap().starts_with("https://"));
            assert!(page["path"].as_str().unwrap().starts_with('/'));
            assert!(page["title"].is_string());
        }
        if ty == "identify" {
            assert_eq!(e["userId"].as_str().unwrap().len(), 20);
            assert!(e["traits"].is_object());
        }
        if ty == "alias" {
            assert_eq!(e["previousId"], e["anonymousId"]);
            assert!(e["userId"].is_string());
        }
        if name == "Ad Impression" {
            let p = &e["properties"];
            assert!(p["campaign_id"].is_string() && p["creative_id"].is_string());
            assert!(p["cost"].as_f64().unwrap() > 0.0 && p["cost"].as_f64().unwrap() < 0.05);
            assert_eq!(p["currency"], "USD");
        }
        if name == "Publisher Page Viewed" {
            let p = &e["properties"];
            assert!(
                p["url"]
                    .as_str()
                    .unwrap()
                    .contains(p["domain"].as_str().unwrap())
            );
            assert_eq!(p["cattax"], 7);
            assert!(!p["categories"].as_array().unwrap().is_empty());
        }
        if name == "Order Completed" {
            let p = &e["properties"];
            let revenue = p["revenue"].as_f64().unwrap();
            let total = p["total"].as_f64().unwrap();
            assert!(total >= revenue && revenue > 0.0);
            assert!(!p["products"].as_array().unwrap().is_empty());
            assert!(p["order_id"].as_str().unwrap().starts_with("ORD-"));
        }
    }
    for k in [
        "page",
        "screen",
        "identify",
        "alias",
        "Product List Viewed",
        "Products Searched",
        "Product Viewed",
        "Product Added",
        "Product Removed",
        "Cart Viewed",
        "Checkout Started",
        "Order Completed",
        "Order Refunded",
        "Ad Impression",
        "Ad Clicked",
        "Publisher Page Viewed",
        "Newsletter Subscribed",
        "Wishlist Added",
        "Video Played",
    ] {
        assert!(kinds.get(k).copied().unwrap_or(0) > 0, "no {k} events");
    }
    // About 30 events per person on average.
    let per_person = out.events.len() as f64 / out.truth.len() as f64;
    assert!((20.0..45.0).contains(&per_person), "{per_person}");
}

#[test]
fn catalog_rows_reference_real_taxonomy_categories() {
    let out = shared();
    let text = std::fs::read_to_string(taxonomy_path()).unwrap();
    let tax = audex_sim::parse_google_taxonomy(&text, &taxonomy_path()).unwrap();
    let ids: HashSet<String> = tax.iter().map(|c| c.id.to_string()).collect();
    let paths: HashSet<&str> = tax.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        out.catalog[0],
        [
            "id",
            "title",
            "brand",
            "price",
            "product_type",
            "google_product_category"
        ]
    );
    let rows = &out.catalog[1..];
    assert_eq!(rows.len() as u32, out.summary.products);
    assert_eq!(rows.len(), 500);
    let (mut numeric, mut text_form) = (0, 0);
    let mut seen = HashSet::new();
    for r in rows {
        assert_eq!(r.len(), 6, "{r:?}");
        assert!(seen.insert(r[0].clone()), "duplicate id {}", r[0]);
        let price = r[3].strip_suffix(" USD").expect("price currency");
        let (units, cents) = price.split_once('.').expect("price decimals");
        assert!(units.parse::<u64>().is_ok() && cents.len() == 2);
        let cat = &r[5];
        if cat.bytes().all(|b| b.is_ascii_digit()) {
            assert!(ids.contains(cat), "unknown category id {cat}");
            numeric += 1;
        } else {
            assert!(paths.contains(cat.as_str()), "unknown category path {cat}");
            text_form += 1;
        }
    }
    assert!(numeric > text_form && text_form > 0);
}

#[test]
fn events_reference_catalog_products() {
    let out = shared();
    let catalog: HashMap<&str, &Vec<String>> = out.catalog[1..]
        .iter()
        .map(|r| (r[0].as_str(), r))
        .collect();
    let text = std::fs::read_to_string(taxonomy_path()).unwrap();
    let tax = audex_sim::parse_google_taxonomy(&text, &taxonomy_path()).unwrap();
    let paths: HashSet<&str> = tax.iter().map(|c| c.path.as_str()).collect();
    let mut checked = 0;
    let check = |p: &Value, checked: &mut u32| {
        let id = p["product_id"].as_str().expect("product_id");
        let row = catalog
            .get(id)
            .unwrap_or_else(|| panic!("{id} not in catalog"));
        if let Some(cat) = p.get("category").and_then(Value::as_str) {
            assert!(paths.contains(cat), "{cat}");
        }
        if let Some(price) = p.get("price").and_then(Value::as_f64) {
            let listed: f64 = row[3].trim_end_matches(" USD").parse().unwrap();
            assert!((price - listed).abs() < 1e-9);
        }
        if let Some(brand) = p.get("brand").and_then(Value::as_str) {
            assert_eq!(brand, row[2]);
        }
        *checked += 1;
    };
    for e in &out.events {
        let props = &e["properties"];
        if props.get("product_id").is_some() {
            check(props, &mut checked);
        }
        if let Some(products) = props.get("products").and_then(Value::as_array) {
            for p in products {
                check(p, &mut checked);
            }
        }
    }
    assert!(checked > 10_000);
}

#[test]
fn truth_matches_population_and_events() {
    let out = shared();
    assert_eq!(out.truth.len(), 2000);
    let mut anon_owner = HashMap::new();
    let mut user_owner = HashMap::new();
    for (i, t) in out.truth.iter().enumerate() {
        assert_eq!(t["person"].as_u64(), Some(i as u64));
        for a in t["anonymous_ids"].as_array().unwrap() {
            assert!(anon_owner.insert(a.as_str().unwrap(), i).is_none());
        }
        if let Some(u) = t["user_id"].as_str() {
            assert!(user_owner.insert(u, i).is_none());
        }
        let n = t["lifestyles"].as_array().unwrap().len();
        assert!((1..=3).contains(&n));
        assert!(t["lat"].is_f64() && t["lon"].is_f64());
        assert_eq!(
            t["buyer"].as_bool(),
            Some(t["orders"].as_u64().unwrap() > 0)
        );
        if let Some(phone) = t["phone"].as_str() {
            assert!(phone.starts_with('+') && phone[1..].bytes().all(|b| b.is_ascii_digit()));
            assert!(phone.len() <= 16);
        }
    }
    let crm = out.truth.iter().filter(|t| t["email"].is_string()).count();
    assert!((600..1000).contains(&crm), "CRM share {crm}/2000");
    let mut orders = vec![0u64; out.truth.len()];
    for e in &out.events {
        let owner = anon_owner[e["anonymousId"].as_str().unwrap()];
        if let Some(u) = e["userId"].as_str() {
            assert_eq!(user_owner[u], owner, "userId and anonymousId disagree");
        }
        if e["event"] == "Order Completed" {
            orders[owner] += 1;
        }
    }
    for (t, n) in out.truth.iter().zip(&orders) {
        assert_eq!(t["orders"].as_u64(), Some(*n));
    }
    // Every listed device sent events; most identified two-device people are linked by userId.
    let seen: HashSet<&str> = out
        .events
        .iter()
        .map(|e| e["anonymousId"].as_str().unwrap())
        .collect();
    assert!(anon_owner.keys().all(|a| seen.contains(a)));
    let mut linked: HashMap<&str, HashSet<&str>> = HashMap::new();
    for e in &out.events {
        if let Some(u) = e["userId"].as_str() {
            linked
                .entry(u)
                .or_default()
                .insert(e["anonymousId"].as_str().unwrap());
        }
    }
    let two: Vec<&Value> = out
        .truth
        .iter()
        .filter(|t| t["user_id"].is_string() && t["anonymous_ids"].as_array().unwrap().len() == 2)
        .collect();
    let both = two
        .iter()
        .filter(|t| {
            linked
                .get(t["user_id"].as_str().unwrap())
                .is_some_and(|s| s.len() == 2)
        })
        .count();
    assert!(both * 10 > two.len() * 6, "{both} of {} linked", two.len());
    // Bouncers stay short.
    let mut per_person = vec![0u32; out.truth.len()];
    for e in &out.events {
        per_person[anon_owner[e["anonymousId"].as_str().unwrap()]] += 1;
    }
    for (t, n) in out.truth.iter().zip(&per_person) {
        if t["persona"] == "bouncer" {
            assert!((1..=3).contains(n), "bouncer with {n} events");
        }
    }
    let loyal: Vec<u32> = out
        .truth
        .iter()
        .zip(&per_person)
        .filter(|(t, _)| t["persona"] == "loyal_buyer")
        .map(|(_, n)| *n)
        .collect();
    let mean = loyal.iter().sum::<u32>() as f64 / loyal.len() as f64;
    assert!(mean >= 100.0, "loyal buyers average {mean} events");
}

#[test]
fn black_friday_week_has_more_orders_than_a_normal_week() {
    let out = shared();
    // Period: 2026-08-01 .. 2026-11-28; Black Friday 2026 is Nov 27.
    let mut by_day: HashMap<chrono::NaiveDate, u32> = HashMap::new();
    for e in &out.events {
        if e["event"] == "Order Completed" {
            let t = chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap()).unwrap();
            *by_day.entry(t.date_naive()).or_default() += 1;
        }
    }
    let week = |first: chrono::NaiveDate| -> u32 {
        (0..7)
            .map(|d| {
                by_day
                    .get(&(first + chrono::Duration::days(d)))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    };
    let d = |m, day| chrono::NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let bf_week = week(d(11, 22));
    let normal: Vec<u32> = [d(8, 3), d(8, 17), d(9, 7), d(9, 21)]
        .into_iter()
        .map(week)
        .collect();
    let normal_mean = normal.iter().sum::<u32>() as f64 / normal.len() as f64;
    assert!(
        f64::from(bf_week) > 1.5 * normal_mean,
        "Black Friday week {bf_week} vs normal weeks {normal:?}"
    );
    assert!(
        by_day.get(&d(11, 27)).copied().unwrap_or(0)
            > 2 * by_day.get(&d(9, 25)).copied().unwrap_or(0)
    );
}

#[test]
fn new_parents_browse_baby_and_toddler() {
    let out = shared();
    let mut owner = HashMap::new();
    for (i, t) in out.truth.iter().enumerate() {
        for a in t["anonymous_ids"].as_array().unwrap() {
            owner.insert(a.as_str().unwrap(), i);
        }
    }
    let (mut parent, mut parent_baby, mut other, mut other_baby) = (0u32, 0u32, 0u32, 0u32);
    for e in &out.events {
        if e["event"] != "Product Viewed" {
            continue;
        }
        let t = &out.truth[owner[e["anonymousId"].as_str().unwrap()]];
        let baby = e["properties"]["category"]
            .as_str()
            .unwrap()
            .starts_with("Baby & Toddler");
        if t["life_stage"] == "new_parent" {
            parent += 1;
            parent_baby += u32::from(baby);
        } else {
            other += 1;
            other_baby += u32::from(baby);
        }
    }
    let p = f64::from(parent_baby) / f64::from(parent.max(1));
    let o = f64::from(other_baby) / f64::from(other.max(1));
    assert!(parent > 200, "too few new-parent views: {parent}");
    assert!(p > 3.0 * o, "new parents {p:.3} vs others {o:.3}");
}

#[test]
fn lifestyles_and_tiers_drive_browsing() {
    let out = shared();
    let mut owner = HashMap::new();
    for (i, t) in out.truth.iter().enumerate() {
        for a in t["anonymous_ids"].as_array().unwrap() {
            owner.insert(a.as_str().unwrap(), i);
        }
    }
    let has = |t: &Value, tag: &str| t["lifestyles"].as_array().unwrap().iter().any(|v| v == tag);
    let (mut pet, mut pet_hits, mut rest, mut rest_hits) = (0u32, 0u32, 0u32, 0u32);
    let (mut lux, mut lux_high, mut nonlux, mut nonlux_high) = (0u32, 0u32, 0u32, 0u32);
    for e in &out.events {
        if e["event"] != "Product Viewed" {
            continue;
        }
        let t = &out.truth[owner[e["anonymousId"].as_str().unwrap()]];
        let cat = e["properties"]["category"].as_str().unwrap();
        let pets = cat.starts_with("Animals & Pet Supplies");
        let high = e["properties"]["sku"].as_str().unwrap().ends_with("-h");
        if has(t, "pet_owner") {
            pet += 1;
            pet_hits += u32::from(pets);
        } else {
            rest += 1;
            rest_hits += u32::from(pets);
        }
        if has(t, "luxury_buyer") {
            lux += 1;
            lux_high += u32::from(high);
        } else {
            nonlux += 1;
            nonlux_high += u32::from(high);
        }
    }
    let ratio = |a: u32, b: u32| f64::from(a) / f64::from(b.max(1));
    assert!(ratio(pet_hits, pet) > 3.0 * ratio(rest_hits, rest));
    assert!(ratio(lux_high, lux) > 1.5 * ratio(nonlux_high, nonlux));
}

#[test]
fn missing_taxonomy_file_names_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = config(10, tmp.path());
    c.taxonomy_path = tmp.path().join("nope.txt");
    let err = run(&c, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("nope.txt"), "{err}");
    let mut c = config(10, tmp.path());
    c.days = 0;
    assert!(run(&c, &|_| {}).is_err());
}

#[test]
fn zero_people_and_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let s = run(&config(0, tmp.path()), &|_| {}).unwrap();
    assert_eq!((s.people, s.events), (0, 0));
    assert_eq!(
        std::fs::read(tmp.path().join("events.ndjson"))
            .unwrap()
            .len(),
        0
    );
    let seen = std::sync::Mutex::new(Vec::new());
    run(&config(3000, tmp.path()), &|n| seen.lock().unwrap().push(n)).unwrap();
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.last(), Some(&3000));
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
}

/// Kilometres between two (lat, lon) points (equirectangular: fine at city scale).
fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let x = (b.1 - a.1).to_radians() * ((a.0 + b.0) / 2.0).to_radians().cos();
    let y = (b.0 - a.0).to_radians();
    6371.0 * (x * x + y * y).sqrt()
}

#[test]
fn movers_phones_report_the_new_home_from_the_move_on() {
    let out = shared();
    let mut owner = HashMap::new();
    for (i, t) in out.truth.iter().enumerate() {
        for a in t["anonymous_ids"].as_array().unwrap() {
            owner.insert(a.as_str().unwrap().to_owned(), i);
        }
    }
    let (mut movers_checked, mut stayers_checked) = (0, 0);
    for e in &out.events {
        let Some(loc) = e["context"]["location"].as_object() else {
            continue;
        };
        let at = (
            loc["latitude"].as_f64().unwrap(),
            loc["longitude"].as_f64().unwrap(),
        );
        let t = &out.truth[owner[e["anonymousId"].as_str().unwrap()]];
        let home = (t["lat"].as_f64().unwrap(), t["lon"].as_f64().unwrap());
        let date = &e["timestamp"].as_str().unwrap()[..10];
        match t["moved_from"].as_object() {
            Some(from) => {
                let old = (from["lat"].as_f64().unwrap(), from["lon"].as_f64().unwrap());
                assert!(km(old, home) >= 2.9, "a move of {:.1} km", km(old, home));
                let moved = date >= t["life_stage_date"].as_str().unwrap();
                let near = if moved { home } else { old };
                assert!(km(at, near) < 0.3, "{date}: {at:?} is not near {near:?}");
                movers_checked += 1;
            }
            None => {
                assert_ne!(t["life_stage"], "recently_moved");
                assert!(km(at, home) < 0.3, "{at:?} is not near home {home:?}");
                stayers_checked += 1;
            }
        }
    }
    assert!(
        movers_checked > 100 && stayers_checked > 1000,
        "{movers_checked} {stayers_checked}"
    );
}
