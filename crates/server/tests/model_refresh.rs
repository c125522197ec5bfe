//! The scheduled model refresh against a real server: with a short period, a behavioral-tag
//! audience takes in a newcomer whose new events show the tag — no `audex model refresh` run,
//! and not by the real-time path (which applies stored tags, never infers them) — while the
//! refreshed-at gauge and the refresh counter in `/metrics` move on.

mod common;

use std::time::{Duration, Instant};

use audex_engine::EngineOptions;
use audex_server::ServeOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn metrics(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of a metric line starting with `prefix`.
fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Polls `f` every 100 ms until it answers `Some`, for at most a minute.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_refresh_takes_new_events_into_model_backed_audiences() {
    let s = common::start_server_with(
        EngineOptions {
            taxonomy: Some(common::taxonomy_path()),
        },
        ServeOptions {
            model_refresh_every: Some(Duration::from_millis(700)),
            ..ServeOptions::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let adv = s.engine.advertiser("shop-a").unwrap();
    {
        let adv = adv.clone();
        tokio::task::spawn_blocking(move || common::load_sim(&adv, 800))
            .await
            .unwrap();
    }
    let gauge = format!(
        "audex_models_refreshed_timestamp_seconds{{advertiser=\"{}\"}}",
        adv.record.id
    );
    let ok = "audex_model_refreshes_total{outcome=\"ok\"}";
    // The schedule refreshes the shop without being asked: tags inferred, time stamped.
    let first = eventually("a first scheduled refresh", || async {
        metric(&metrics(&s.base).await, &gauge)
    })
    .await;
    assert!(!adv.model_store().unwrap().tags.tags.is_empty());

    let token = http
        .post(format!("{}/oauth2/token", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            s.a.client_id, s.a.client_secret
        ))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http
        .post(format!("{}/v1/audiences", s.base))
        .bearer_auth(&token)
        .json(&json!({"name": "pet people", "rule": "tag pet_owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    let audience = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let in_audience = || async {
        let v: Value = http
            .get(format!("{}/v1/people/newcomer/audiences", s.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["audiences"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["id"] == audience.as_str()))
    };

    // A newcomer: pet supplies viewed on four days, pet pages read.
    let before = metric(&metrics(&s.base).await, ok).unwrap_or(0.0);
    let now = chrono::Utc::now();
    let mut batch = Vec::new();
    for day in 1..=4i64 {
        let ts = (now - chrono::Duration::days(day)).to_rfc3339();
        for (k, category) in [
            "Animals & Pet Supplies > Pet Supplies > Dog Supplies",
            "Animals & Pet Supplies > Pet Supplies > Cat Supplies",
        ]
        .iter()
        .enumerate()
        {
            batch.push(json!({"type": "track", "event": "Product Viewed", "userId": "newcomer",
                "messageId": format!("newcomer-{day}-{k}"), "timestamp": ts,
                "properties": {"product_id": format!("pet-{k}"), "category": category, "price": 12}}));
        }
        batch.push(
            json!({"type": "track", "event": "Publisher Page Viewed", "userId": "newcomer",
            "messageId": format!("newcomer-{day}-page"), "timestamp": ts,
            "properties": {"url": "https://pets.example/a", "categories": ["422"]}}),
        );
    }
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"batch": batch}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    assert_eq!(r.json::<Value>().await.unwrap()["accepted"], 12);
    // Ingest applies the stored tags in real time; only a refresh infers the newcomer's.
    if in_audience().await {
        eventually(
            "the refresh that took the newcomer in to be counted",
            || async {
                (metric(&metrics(&s.base).await, ok).unwrap_or(0.0) > before).then_some(())
            },
        )
        .await;
    }
    eventually("the newcomer in the tag audience", || async {
        in_audience().await.then_some(())
    })
    .await;
    let text = metrics(&s.base).await;
    assert!(metric(&text, &gauge).unwrap_or(0.0) > first, "{text}");
    assert!(metric(&text, ok).unwrap_or(0.0) > before, "{text}");
    assert_eq!(
        metric(&text, "audex_model_refreshes_total{outcome=\"failed\"}"),
        Some(0.0)
    );
    // The refresh recorded why the newcomer entered.
    let history: Value = http
        .get(format!("{}/v1/audiences/{audience}/history", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(history.to_string().contains("\"model\""), "{history}");
}
