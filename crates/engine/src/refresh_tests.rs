//! Membership refreshes against lookups and ingest running at the same time: lookups and ingest
//! proceed while a refresh is held at each of its phases, and the memberships after a refresh
//! concurrent with ingest equal a from-scratch evaluation, with every entry and exit recorded
//! once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audex_profile::PersonId;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

use super::{Advertiser, RefreshHooks, RefreshPhase};
use crate::audiences::{self, Transition};
use crate::ingest::{InputLine, parse_one};
use crate::{Engine, EngineOptions};

const DAY: i64 = 86_400_000;

/// Rules of the saved audiences: windows of 3 to 30 days, counts, a negation.
const RULES: &[(&str, &str)] = &[
    ("viewers_7d", "product_viewed within 7d"),
    ("adders_3d", "product_added within 3d"),
    ("viewers_3x_30d", "product_viewed >= 3 within 30d"),
    (
        "visitors_not_buyers",
        "visit within 30d and not order_completed within 30d",
    ),
];

fn open() -> (tempfile::TempDir, Engine, Arc<Advertiser>) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    engine.create_advertiser("shop", 0).unwrap();
    let adv = engine.advertiser("shop").unwrap();
    for (name, rule) in RULES {
        let def = audiences::definition_from(name, Some(rule), None, None).unwrap();
        adv.create_audience(def).unwrap();
    }
    (dir, engine, adv)
}

/// One Segment event of `user` at `at_ms`.
fn event(id: &str, user: u32, kind: &str, at_ms: i64) -> String {
    let ts = chrono::DateTime::from_timestamp_millis(at_ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let body = match kind {
        "page" => r#""type":"page","name":"home""#.to_string(),
        name => format!(
            r#""type":"track","event":"{name}","properties":{{"product_id":"p{user}","price":12}}"#
        ),
    };
    format!(r#"{{"messageId":"{id}","userId":"u{user}","timestamp":"{ts}",{body}}}"#)
}

fn send(adv: &Advertiser, lines: &[String]) {
    let mut parsed = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let input = InputLine {
            line: i as u64 + 1,
            bytes: l.clone().into_bytes(),
        };
        for p in parse_one(&input, crate::now_ms(), adv.enrichment()) {
            parsed.push(p.expect("test event validates"));
        }
    }
    adv.ingest(parsed).unwrap();
}

fn person(adv: &Advertiser, user: u32) -> PersonId {
    let state = adv.state().unwrap();
    crate::view::find_person(&state.profiles, &format!("u{user}")).expect("known user")
}

/// Every person's saved audiences through the lookup path, as bitmaps per audience id.
fn looked_up(adv: &Advertiser) -> FxHashMap<String, RoaringBitmap> {
    let n = adv.state().unwrap().profiles.profiles.len() as PersonId;
    let mut out: FxHashMap<String, RoaringBitmap> = adv
        .definitions()
        .unwrap()
        .audiences
        .iter()
        .map(|a| (a.id.clone(), RoaringBitmap::new()))
        .collect();
    for p in 0..n {
        for a in adv.audiences_of(p).unwrap() {
            out.get_mut(&a.id).unwrap().insert(p);
        }
    }
    out
}

/// Every saved audience evaluated from scratch at `now_ms`.
fn from_scratch(adv: &Advertiser, now_ms: i64) -> FxHashMap<String, RoaringBitmap> {
    let defs = adv.definitions().unwrap().clone();
    defs.audiences
        .iter()
        .map(|a| {
            let rule = a.definition.compile().unwrap();
            (a.id.clone(), adv.evaluate(&rule, now_ms).unwrap())
        })
        .collect()
}

/// Replays the history file in order: every transition must change the membership it records
/// (no entry of someone in, no exit of someone out: nothing double-counted), and the result must
/// be the current membership (nothing lost).
fn check_history(adv: &Advertiser, current: &FxHashMap<String, RoaringBitmap>) {
    let mut replayed: FxHashMap<String, RoaringBitmap> = FxHashMap::default();
    for t in adv.history(None).unwrap() {
        let m = replayed.entry(t.audience.clone()).or_default();
        let changed = if t.entered {
            m.insert(t.person)
        } else {
            m.remove(t.person)
        };
        assert!(
            changed,
            "history records a transition that changes nothing: {t:?}"
        );
    }
    for (id, members) in current {
        let empty = RoaringBitmap::new();
        let r = replayed.get(id).unwrap_or(&empty);
        assert_eq!(
            r,
            members,
            "history of {id} replays to {} people, membership has {} (missing {:?}, extra {:?})",
            r.len(),
            members.len(),
            (members - r).iter().take(5).collect::<Vec<_>>(),
            (r - members).iter().take(5).collect::<Vec<_>>(),
        );
    }
}

/// Runs `f` on another thread and fails if it does not finish within 10 s (a lookup or an
/// ingest waiting for the held refresh would never finish).
fn within_10s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} did not finish while the refresh was held"))
}

fn by_name(adv: &Advertiser) -> FxHashMap<String, String> {
    adv.definitions()
        .unwrap()
        .audiences
        .iter()
        .map(|a| (a.name().to_string(), a.id.clone()))
        .collect()
}

fn names_of(adv: &Advertiser, p: PersonId) -> Vec<String> {
    let mut v: Vec<String> = adv
        .audiences_of(p)
        .unwrap()
        .iter()
        .map(|a| a.name().to_string())
        .collect();
    v.sort();
    v
}

/// A refresh is held (its callback blocks) after its first slice, after evaluating and after
/// the swap. At each point, lookups answer and ingest is acknowledged and seen by lookups;
/// events that make people enter or stay during the refresh are neither lost by the swap nor
/// recorded twice.
#[test]
fn lookups_and_ingest_proceed_while_a_refresh_is_held() {
    let (_dir, _engine, adv) = open();
    let now = crate::now_ms();
    // Users 1..=40 viewed a product 10 days ago: in viewers_7d as of 6 days ago, out now.
    let mut lines = Vec::new();
    for u in 1..=40u32 {
        lines.push(event(&format!("v{u}"), u, "Product Viewed", now - 10 * DAY));
    }
    send(&adv, &lines);
    // Memberships as of 6 days ago: the timed refresh below makes the viewers leave (cause
    // "time").
    adv.refresh_memberships(now - 6 * DAY, "definition")
        .unwrap();
    let ids = by_name(&adv);
    let (u1, u2, u3) = (person(&adv, 1), person(&adv, 2), person(&adv, 3));
    assert!(names_of(&adv, u1).contains(&"viewers_7d".to_string()));

    // Hold the refresh at each phase until the test thread lets it go on.
    let (at_tx, at_rx) = mpsc::channel::<RefreshPhase>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let at_tx = Mutex::new(at_tx);
    adv.set_refresh_hooks(Some(RefreshHooks {
        slice: Duration::ZERO,
        on_phase: Arc::new(move |phase| {
            at_tx.lock().unwrap().send(phase).unwrap();
            go_rx.lock().unwrap().recv().unwrap();
        }),
    }));
    let adv2 = adv.clone();
    let refresh = std::thread::spawn(move || adv2.refresh_memberships(now, "time"));

    let mut phases = Vec::new();
    loop {
        let phase = at_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("refresh reaches a phase");
        phases.push(phase);
        // A lookup answers while the refresh is held.
        let a = adv.clone();
        let before = within_10s("a lookup", move || names_of(&a, u1));
        match phase {
            RefreshPhase::Sliced { done: 1, .. } => {
                // viewers_7d is evaluated: u3 is not in it (viewed 10 days ago). u3 views now
                // and stays in (no transition); the swap must not take u3 out. A new user, u200,
                // views: enters by the streaming path, unknown to the evaluation.
                assert!(before.contains(&"viewers_7d".to_string()));
                let a = adv.clone();
                within_10s("ingest", move || {
                    send(
                        &a,
                        &[
                            event("x3", 3, "Product Viewed", crate::now_ms()),
                            event("x200", 200, "Product Viewed", crate::now_ms()),
                        ],
                    )
                });
                assert!(names_of(&adv, u3).contains(&"viewers_7d".to_string()));
                assert!(names_of(&adv, person(&adv, 200)).contains(&"viewers_7d".to_string()));
            }
            RefreshPhase::Evaluated => {
                // u1 would leave viewers_7d by time, but views again before the swap: stays in,
                // without an exit and a re-entry. u2 adds to cart: enters adders_3d.
                let a = adv.clone();
                within_10s("ingest", move || {
                    send(
                        &a,
                        &[
                            event("x1", 1, "Product Viewed", crate::now_ms()),
                            event("x2", 2, "Product Added", crate::now_ms()),
                        ],
                    )
                });
                assert!(names_of(&adv, u2).contains(&"adders_3d".to_string()));
            }
            RefreshPhase::Swapped => {
                // The new membership answers before membership.bin is written.
                assert!(
                    before.contains(&"viewers_7d".to_string()),
                    "u1 kept by its event"
                );
                let a = adv.clone();
                within_10s("a lookup", move || {
                    assert!(!names_of(&a, person(&a, 5)).contains(&"viewers_7d".to_string()))
                });
            }
            RefreshPhase::Sliced { .. } => {}
        }
        go_tx.send(()).unwrap();
        if phase == RefreshPhase::Swapped {
            break;
        }
    }
    refresh.join().unwrap().unwrap();
    adv.set_refresh_hooks(None);
    assert_eq!(
        phases,
        [
            RefreshPhase::Sliced { done: 1, total: 4 },
            RefreshPhase::Sliced { done: 2, total: 4 },
            RefreshPhase::Sliced { done: 3, total: 4 },
            RefreshPhase::Sliced { done: 4, total: 4 },
            RefreshPhase::Evaluated,
            RefreshPhase::Swapped,
        ]
    );
    let now2 = crate::now_ms();
    let current = looked_up(&adv);
    assert_eq!(current, from_scratch(&adv, now2));
    check_history(&adv, &current);
    let history = adv.history(None).unwrap();
    let of = |p: PersonId, audience: &str| -> Vec<(bool, String)> {
        history
            .iter()
            .filter(|t| t.person == p && t.audience == ids[audience])
            .map(|t: &Transition| (t.entered, t.cause.clone()))
            .collect()
    };
    assert_eq!(of(u1, "viewers_7d"), [(true, "definition".to_string())]);
    assert_eq!(
        of(u3, "viewers_7d"),
        [(true, "definition".to_string())],
        "u3 was in as of 4 days ago and is still in"
    );
    assert_eq!(of(u2, "adders_3d"), [(true, "event".to_string())]);
    assert_eq!(
        of(person(&adv, 200), "viewers_7d"),
        [(true, "event".to_string())]
    );
    // u2's event during the refresh re-evaluated u2 for every audience: its exit from
    // viewers_7d was recorded then (cause "event"), not again by the refresh.
    assert_eq!(
        of(u2, "viewers_7d"),
        [
            (true, "definition".to_string()),
            (false, "event".to_string())
        ]
    );
    // The other 37 viewers of 10 days ago left by time.
    let left_by_time = history
        .iter()
        .filter(|t| t.audience == ids["viewers_7d"] && !t.entered && t.cause == "time")
        .count();
    assert_eq!(left_by_time, 37);
    assert_eq!(
        of(person(&adv, 5), "viewers_7d"),
        [
            (true, "definition".to_string()),
            (false, "time".to_string())
        ]
    );
    // membership.bin holds the swapped membership: a reopened advertiser answers the same.
    let saved = crate::snapshot::load_memberships(&adv.dir().join("membership.bin"))
        .unwrap()
        .unwrap();
    assert_eq!(saved.by_audience, current);
}

/// Several refreshes while another thread ingests small batches and a third looks people up:
/// after each refresh, the memberships equal a from-scratch evaluation, and the history replays
/// to them.
#[test]
fn refreshes_concurrent_with_ingest_equal_a_fresh_evaluation() {
    let (_dir, _engine, adv) = open();
    let now = crate::now_ms();
    let users = 300u32;
    let kinds = ["Product Viewed", "Product Added", "Order Completed", "page"];
    // A deterministic mix of history over the last 40 days.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut lines = Vec::new();
    for i in 0..3_000u32 {
        let u = (next() % users as u64) as u32;
        let kind = kinds[(next() % 4) as usize];
        let at = now - (next() % (40 * DAY as u64)) as i64;
        lines.push(event(&format!("h{i}"), u, kind, at));
    }
    send(&adv, &lines);
    adv.refresh_memberships(now - 6 * DAY, "definition")
        .unwrap();
    // One audience per slice, and a pause at each phase so that batches land in between.
    adv.set_refresh_hooks(Some(RefreshHooks {
        slice: Duration::ZERO,
        on_phase: Arc::new(|_| std::thread::sleep(Duration::from_millis(2))),
    }));

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let ingest = {
        let (adv, stop, sent) = (adv.clone(), stop.clone(), sent.clone());
        let mut next = next;
        std::thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<String> = (0..1 + next() % 4)
                    .map(|_| {
                        i += 1;
                        let u = (next() % (users as u64 + 20)) as u32;
                        let kind = kinds[(next() % 4) as usize];
                        event(&format!("n{i}"), u, kind, crate::now_ms())
                    })
                    .collect();
                send(&adv, &batch);
                sent.fetch_add(batch.len(), Ordering::Relaxed);
            }
        })
    };
    let lookups = {
        let (adv, stop) = (adv.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let _ = adv.audiences_of(n as PersonId % 200).unwrap();
                n += 1;
            }
            n
        })
    };
    for _ in 0..5 {
        adv.refresh_memberships(crate::now_ms(), "time").unwrap();
        // Between refreshes, memberships move only by events; checked once ingest stops.
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    ingest.join().unwrap();
    let looked = lookups.join().unwrap();
    assert!(sent.load(Ordering::Relaxed) > 0 && looked > 0);
    adv.set_refresh_hooks(None);

    let now2 = crate::now_ms();
    let current = looked_up(&adv);
    assert_eq!(current, from_scratch(&adv, now2));
    check_history(&adv, &current);
    // And a refresh now changes nothing.
    let report = adv.refresh_memberships(now2, "time").unwrap();
    assert_eq!((report.entered, report.left), (0, 0), "{report:?}");
}
