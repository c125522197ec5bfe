//! The wire shapes of the Segment-protocol SDKs, as `.ci/sdk-segment.sh` sees them from the real
//! clients, checked here without the clients: RudderStack's gzip batch with the write key only in
//! Basic auth and identify traits only in `context.traits`; error bodies with the `code` and
//! `message` the Python clients read (without `code`, rudder-sdk-python retries a 400).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use audex_engine::{Credentials, Engine, EngineOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn start() -> (
    String,
    Credentials,
    tempfile::TempDir,
    tokio::sync::oneshot::Sender<()>,
) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(dir.path(), EngineOptions::default()).unwrap());
    let a = engine.create_advertiser("shop", 0).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    tokio::spawn(async move {
        audex_server::serve(
            engine,
            "127.0.0.1:0".parse().unwrap(),
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
    (format!("http://{addr}"), a, dir, stop)
}

fn gzip(v: &Value) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(v.to_string().as_bytes()).unwrap();
    gz.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rudderstack_batch_and_error_bodies() {
    let (base, a, _dir, _stop) = start().await;
    let http = reqwest::Client::new();
    // rudder-sdk-python / rudder-sdk-node: gzip, {batch, sentAt[, timestamp]}, no writeKey.
    let body = json!({
        "batch": [{
            "type": "identify", "userId": "r-1", "anonymousId": "r-anon",
            "messageId": "r-m-1", "timestamp": "2026-11-28T10:00:00.000Z",
            "context": {"traits": {"plan": "gold", "gender": "female", "email": "R@Example.com"},
                        "library": {"name": "analytics-python", "version": "2.1.9"}},
            "integrations": {}, "sentAt": "2026-11-28T10:00:01.000Z"
        }],
        "timestamp": "2026-11-28T10:00:01.000Z",
        "sentAt": "2026-11-28T10:00:01.000Z"
    });
    let r = http
        .post(format!("{base}/v1/batch"))
        .basic_auth(&a.write_key, Some(""))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .header("user-agent", "analytics-python/2.1.9")
        .body(gzip(&body))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let profile: Value = http
        .get(format!("{base}/v1/people/r@example.com"))
        .basic_auth(&a.client_id, Some(&a.client_secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["traits"]["plan"], "gold", "{profile}");
    assert_eq!(profile["demographics"]["gender"], "female", "{profile}");

    // Refusals carry code and message, on the batch and the single-call endpoints alike.
    let bad = json!({"batch": [{"type": "track", "event": "Product Viewed", "userId": "r-1",
                                "properties": {"price": "cheap"}}]});
    let r = http
        .post(format!("{base}/v1/batch"))
        .basic_auth(&a.write_key, Some(""))
        .header("content-encoding", "gzip")
        .body(gzip(&bad))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "invalid_request", "{v}");
    assert_eq!(v["field"], "/batch/0/properties/price", "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("cheap")),
        "{v}"
    );
    for (path, key) in [("/v1/track", "bogus"), ("/v1/batch", "bogus")] {
        let r = http
            .post(format!("{base}{path}"))
            .basic_auth(key, Some(""))
            .json(&json!({"batch": [], "event": "X", "userId": "u"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "unauthorized", "{path}: {v}");
        assert!(v["message"].is_string(), "{path}: {v}");
    }
}
