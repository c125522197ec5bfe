//! `DELETE /v1/people/{identifier}` over real HTTP: the person leaves lookups and audiences at
//! once, the request needs the admin key, an unknown identifier is a 404 naming it, and a later
//! event from the same device starts a new person.

mod common;

use audex_engine::EngineOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_a_person_over_http() {
    let s = common::start_server(EngineOptions::default()).await;
    let http = reqwest::Client::new();
    let now = chrono::Utc::now().to_rfc3339();
    let ev = |id: &str, who: Value| {
        let mut e = json!({"type": "track", "event": "Product Viewed", "messageId": id,
                           "timestamp": now, "properties": {"product_id": "p1", "price": 20}});
        for (k, v) in who.as_object().into_iter().flatten() {
            e[k] = v.clone();
        }
        e
    };
    let admin = |r: reqwest::RequestBuilder| r.basic_auth(&s.a.client_id, Some(&s.a.client_secret));
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"batch": [
            ev("1", json!({"userId": "zoe", "anonymousId": "dev-z", "context": {"traits": {"email": "zoe@example.com"}}})),
            ev("2", json!({"userId": "yan"})),
        ]}))
        .send()
        .await
        .expect("batch");
    assert_eq!(r.status(), StatusCode::OK);
    let r = admin(http.post(format!("{}/v1/audiences", s.base)))
        .json(&json!({"name": "viewers", "rule": "product_viewed within 7d"}))
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), StatusCode::CREATED);
    let audience = r.json::<Value>().await.expect("json")["id"].clone();

    // The write key may send events, not delete people.
    let r = http
        .delete(format!("{}/v1/people/zoe@example.com", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = admin(http.delete(format!("{}/v1/people/zoe@example.com", s.base)))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["identifiers"], 3, "{v}");
    assert_eq!(v["audiences_left"], json!([audience]), "{v}");

    for id in ["zoe", "dev-z", "zoe@example.com"] {
        let r = admin(http.get(format!("{}/v1/people/{id}/audiences", s.base)))
            .send()
            .await
            .expect("lookup");
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{id}");
    }
    let r = admin(http.delete(format!("{}/v1/people/zoe", s.base)))
        .send()
        .await
        .expect("again");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["message"].as_str().unwrap_or("").contains("zoe"),
        "{body}"
    );

    let r = admin(http.get(format!(
        "{}/v1/audiences/{}/size",
        s.base,
        audience.as_str().unwrap_or("")
    )))
    .send()
    .await
    .expect("audience");
    assert_eq!(r.json::<Value>().await.expect("json")["size"], 1);

    // Back on the same device: a new person, in the audience again, with one event only.
    let r = http
        .post(format!("{}/v1/track", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&ev("3", json!({"anonymousId": "dev-z"})))
        .send()
        .await
        .expect("track");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = admin(http.get(format!("{}/v1/people/dev-z", s.base)))
        .send()
        .await
        .expect("profile")
        .json()
        .await
        .expect("json");
    assert_eq!(v["events"], 1, "{v}");
    assert_eq!(v["identifiers"].as_array().map(Vec::len), Some(1), "{v}");
}
