//! The membership sweep against a real server: while a sweep is held at each of its phases
//! (test hooks of the engine), `GET /v1/people/{id}/audiences` answers and `POST /v1/track` is
//! acknowledged and seen by lookups; afterwards the lookups equal a from-scratch evaluation and
//! the history records each entry and exit once.

mod common;

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use audex_engine::advertiser::{RefreshHooks, RefreshPhase};
use audex_engine::{EngineOptions, now_ms};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAY: i64 = 86_400_000;

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn viewed(user: u32, at_ms: i64, id: &str) -> Value {
    json!({"type": "track", "event": "Product Viewed", "userId": format!("u{user}"),
           "messageId": id, "timestamp": iso(at_ms),
           "properties": {"product_id": format!("p{user}"), "price": 5}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_and_events_proceed_while_a_sweep_is_held() {
    let s = common::start_server(EngineOptions::default()).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let now = now_ms();
    // u1..u30 viewed a product 10 days ago.
    let batch: Vec<Value> = (1..=30u32)
        .map(|u| viewed(u, now - 10 * DAY, &format!("h{u}")))
        .collect();
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({ "batch": batch }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let admin = (s.a.client_id.clone(), s.a.client_secret.clone());
    let r = http
        .post(format!("{}/v1/audiences", s.base))
        .basic_auth(&admin.0, Some(&admin.1))
        .json(&json!({"name": "viewers_7d", "rule": "product_viewed within 7d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    let r = http
        .post(format!("{}/v1/audiences", s.base))
        .basic_auth(&admin.0, Some(&admin.1))
        .json(&json!({"name": "viewers_30d", "rule": "product_viewed within 30d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let adv = s.engine.advertiser("shop-a").unwrap();
    // Memberships as of 6 days ago: u1..u30 in viewers_7d; the sweep makes them leave by time.
    adv.refresh_memberships(now - 6 * DAY, "definition")
        .unwrap();

    let lookup = |user: u32| {
        let (http, base, admin) = (http.clone(), s.base.clone(), admin.clone());
        async move {
            let t = Instant::now();
            let r = http
                .get(format!("{base}/v1/people/u{user}/audiences"))
                .basic_auth(&admin.0, Some(&admin.1))
                .send()
                .await
                .expect("the lookup answers while the sweep is held");
            assert_eq!(r.status(), StatusCode::OK);
            let v: Value = r.json().await.unwrap();
            let mut names: Vec<String> = v["audiences"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            (names, t.elapsed())
        }
    };
    let track = |user: u32, id: &'static str| {
        let (http, base, key) = (http.clone(), s.base.clone(), s.a.write_key.clone());
        async move {
            let r = http
                .post(format!("{base}/v1/track"))
                .basic_auth(&key, Some(""))
                .json(&viewed(user, now_ms(), id))
                .send()
                .await
                .expect("the event is acknowledged while the sweep is held");
            assert_eq!(r.status(), StatusCode::OK);
        }
    };

    // The sweep, held at each phase until the test lets it go on.
    let (at_tx, mut at_rx) = tokio::sync::mpsc::unbounded_channel::<RefreshPhase>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    adv.set_refresh_hooks(Some(RefreshHooks {
        slice: Duration::ZERO,
        on_phase: Arc::new(move |phase| {
            at_tx.send(phase).unwrap();
            go_rx.lock().unwrap().recv().unwrap();
        }),
    }));
    let adv2 = adv.clone();
    let sweep = std::thread::spawn(move || adv2.refresh_memberships(now_ms(), "time"));
    let mut slowest = Duration::ZERO;
    loop {
        let phase = tokio::time::timeout(Duration::from_secs(30), at_rx.recv())
            .await
            .expect("the sweep reaches its next phase")
            .unwrap();
        for u in [1, 2, 3] {
            let (_, took) = lookup(u).await;
            slowest = slowest.max(took);
        }
        match phase {
            RefreshPhase::Sliced { done: 1, .. } => {
                // viewers_7d is evaluated without u1's new view: u1 must stay in.
                track(1, "x1").await;
                assert_eq!(lookup(1).await.0, ["viewers_30d", "viewers_7d"]);
            }
            RefreshPhase::Evaluated => {
                track(2, "x2").await;
                track(50, "x50").await;
                assert_eq!(lookup(2).await.0, ["viewers_30d", "viewers_7d"]);
                assert_eq!(lookup(50).await.0, ["viewers_30d", "viewers_7d"]);
                // Not swapped yet: u3 is still in viewers_7d.
                assert_eq!(lookup(3).await.0, ["viewers_30d", "viewers_7d"]);
            }
            RefreshPhase::Swapped => {
                // Swapped, membership.bin not yet written: u3 left by time, u1 and u2 stayed.
                assert_eq!(lookup(3).await.0, ["viewers_30d"]);
                assert_eq!(lookup(1).await.0, ["viewers_30d", "viewers_7d"]);
                assert_eq!(lookup(2).await.0, ["viewers_30d", "viewers_7d"]);
            }
            RefreshPhase::Sliced { .. } => {}
        }
        go_tx.send(()).unwrap();
        if phase == RefreshPhase::Swapped {
            break;
        }
    }
    let report = tokio::task::spawn_blocking(move || sweep.join().unwrap())
        .await
        .unwrap()
        .unwrap();
    adv.set_refresh_hooks(None);
    // u3..u30 left viewers_7d by time; u1 and u2 viewed again during the sweep.
    assert_eq!((report.entered, report.left), (0, 28), "{report:?}");
    assert!(
        slowest < Duration::from_secs(2),
        "a lookup took {slowest:?} while the sweep was held"
    );

    // Lookups equal a from-scratch evaluation.
    let at = now_ms();
    let defs = adv.definitions().unwrap().clone();
    for a in &defs.audiences {
        let members = adv.evaluate(&a.definition.compile().unwrap(), at).unwrap();
        for u in (1..=30).chain([50]) {
            let (names, _) = lookup(u).await;
            let p = {
                let st = adv.state().unwrap();
                audex_engine::view::find_person(&st.profiles, &format!("u{u}")).unwrap()
            };
            assert_eq!(
                names.iter().any(|n| n == a.name()),
                members.contains(p),
                "u{u} in {}",
                a.name()
            );
        }
    }
    // The history over HTTP: u1 entered viewers_7d once and never left; u3 left once, by time.
    let id = &defs.audience("viewers_7d").unwrap().id;
    let r = http
        .get(format!("{}/v1/audiences/{id}/history", s.base))
        .basic_auth(&admin.0, Some(&admin.1))
        .send()
        .await
        .unwrap();
    let h: Value = r.json().await.unwrap();
    let of = |u: u32| -> Vec<(bool, String)> {
        h["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["person"] == format!("u{u}").as_str())
            .map(|t| {
                (
                    t["entered"].as_bool().unwrap(),
                    t["cause"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(of(1), [(true, "definition".to_string())], "{h}");
    assert_eq!(
        of(3),
        [
            (true, "definition".to_string()),
            (false, "time".to_string())
        ]
    );
    assert_eq!(of(50), [(true, "event".to_string())]);
}
