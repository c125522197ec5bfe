//! Criteo lookalike and prospecting segments over real HTTP once their models are trained on a
//! small simulated shop: `compute-sizes` (segments, and audiences over them) answers the same
//! size as the native `/v1/audiences/{id}/size`, and a real one; before training the size is
//! null with a warning.

mod common;

use audex_engine::EngineOptions;
use common::Server;
use reqwest::StatusCode;
use serde_json::{Value, json};

const P: &str = "/2027-01/marketing-solutions";

async fn start() -> Server {
    common::start_server(EngineOptions {
        taxonomy: Some(common::taxonomy_path()),
    })
    .await
}

async fn token(s: &Server) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/oauth2/token", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "client_id={}&client_secret={}&grant_type=client_credentials",
            s.a.client_id, s.a.client_secret
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn call(s: &Server, tok: &str, get: bool, path: &str, body: Value) -> (StatusCode, Value) {
    let http = reqwest::Client::new();
    let url = format!("{}{path}", s.base);
    let req = if get {
        http.get(url)
    } else {
        http.post(url).json(&body)
    };
    let r = req.bearer_auth(tok).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, v)
}

async fn native_size(s: &Server, tok: &str, id: &str) -> Value {
    let (st, v) = call(
        s,
        tok,
        true,
        &format!("/v1/audiences/{id}/size"),
        json!(null),
    )
    .await;
    if st == StatusCode::UNPROCESSABLE_ENTITY {
        return Value::Null;
    }
    assert_eq!(st, StatusCode::OK, "{v}");
    v["size"].clone()
}

/// `compute-sizes` of segments (or audiences) by id: the sizes in order, and the warnings.
async fn criteo_sizes(s: &Server, tok: &str, what: &str, ids: &[&str]) -> (Vec<Value>, Value) {
    let kind = if what == "audiences" {
        "AudienceSize"
    } else {
        "AudienceSegmentSize"
    };
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "type": kind}))
        .collect();
    let (st, v) = call(
        s,
        tok,
        false,
        &format!("{P}/{what}/compute-sizes"),
        json!({"data": data}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["errors"], json!([]), "{v}");
    let sizes = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .zip(ids)
        .map(|(item, id)| {
            assert_eq!(item["id"], *id, "{v}");
            item["attributes"]["size"].clone()
        })
        .collect();
    (sizes, v["warnings"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trained_models_size_lookalike_and_prospecting_segments_like_the_native_api() {
    let s = start().await;
    let adv = s.engine.advertiser("shop-a").unwrap();
    {
        let adv = adv.clone();
        tokio::task::spawn_blocking(move || common::load_sim(&adv, 800))
            .await
            .unwrap();
    }
    let t = token(&s).await;
    let adv_id = s.a.advertiser_id.clone();

    // The seed: buyers (a native rule audience, a Behavioral segment to Criteo).
    let (st, v) = call(
        &s,
        &t,
        false,
        "/v1/audiences",
        json!({"name": "buyers", "rule": "order_completed within 365d"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let seed = v["id"].as_str().unwrap().to_string();
    let seg = |name: &str, kind: &str, body: Value| json!({"type": "AudienceSegment", "attributes": {"advertiserId": adv_id, "name": name, kind: body}});
    let (st, v) = call(
        &s,
        &t,
        false,
        &format!("{P}/audience-segments/create"),
        json!({"data": [
            seg("lal", "lookalike", json!({"seedSegmentId": seed, "targetSize": 50})),
            seg("pros", "prospecting", json!({"usersType": "ProspectsOrNonBuyers"})),
        ]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["errors"], json!([]), "{v}");
    let lal = v["data"][0]["id"].as_str().unwrap().to_string();
    let pros = v["data"][1]["id"].as_str().unwrap().to_string();
    let (st, v) = call(
        &s,
        &t,
        false,
        &format!("{P}/audiences/create"),
        json!({"data": [{"type": "Audience", "attributes": {"advertiserId": adv_id,
            "name": "either", "algebra": {"or": [{"audienceSegmentId": lal}, {"audienceSegmentId": pros}]}}}]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let either = v["data"][0]["id"].as_str().unwrap().to_string();

    // Untrained: null sizes, one warning per segment, as before.
    let (sizes, warnings) = criteo_sizes(&s, &t, "audience-segments", &[&lal, &pros]).await;
    assert_eq!(sizes, vec![Value::Null, Value::Null]);
    assert_eq!(warnings.as_array().map(Vec::len), Some(2), "{warnings}");
    assert_eq!(warnings[0]["code"], "size-not-available", "{warnings}");
    assert_eq!(native_size(&s, &t, &lal).await, Value::Null);

    // Trained: real sizes, equal to the native API's.
    let now = audex_engine::now_ms();
    {
        let (adv, seed) = (adv.clone(), seed.clone());
        tokio::task::spawn_blocking(move || {
            common::train_lookalike(&adv, &seed, 50, now);
            common::train_prospecting(&adv, now);
        })
        .await
        .unwrap();
    }
    let (sizes, warnings) = criteo_sizes(&s, &t, "audience-segments", &[&lal, &seed, &pros]).await;
    assert_eq!(warnings, json!([]));
    for (size, id) in sizes.iter().zip([&lal, &seed, &pros]) {
        assert_eq!(*size, native_size(&s, &t, id).await, "{id}");
        assert!(size.as_u64().is_some_and(|n| n > 0), "{id}: {size}");
    }
    assert!(sizes[0].as_u64().is_some_and(|n| n <= 50), "{sizes:?}");
    let (sizes, warnings) = criteo_sizes(&s, &t, "audiences", &[&either]).await;
    assert_eq!(warnings, json!([]));
    assert_eq!(sizes[0], native_size(&s, &t, &either).await);
    assert!(sizes[0].as_u64().is_some_and(|n| n > 0), "{sizes:?}");
    let (st, v) = call(
        &s,
        &t,
        false,
        &format!("{P}/audiences/estimate-size"),
        json!({"data": {"type": "Audience", "attributes": {"advertiserId": adv_id,
            "algebra": {"and": [{"audienceSegmentId": lal}]}}}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["data"]["attributes"]["size"],
        native_size(&s, &t, &lal).await,
        "{v}"
    );
}
