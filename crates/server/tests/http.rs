//! The server over real HTTP on loopback: collector, auth and tenancy, lookups, audience API,
//! and a table of bad requests that must each get a 4xx JSON error while nothing accepted is lost.

mod common;

use std::io::Write;

use audex_engine::{Credentials, EngineOptions};
use common::Server;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn start() -> Server {
    common::start_server(EngineOptions::default()).await
}

async fn token(s: &Server, c: &Credentials) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/oauth2/token", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            c.client_id, c.client_secret
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

fn event(i: usize, user: &str, name: &str) -> Value {
    json!({"type": "track", "event": name, "userId": user, "messageId": format!("m-{user}-{i}"),
           "timestamp": "2026-11-28T10:00:00.000Z", "properties": {"product_id": "p1", "price": 5}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_lookup_and_audiences_over_http() {
    let s = start().await;
    let http = reqwest::Client::new();
    // Collector: a batch with the write key as Basic user, then a single track call.
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"batch": [event(1, "ann", "Product Viewed"), event(2, "ann", "Product Added")]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["accepted"], 2);
    // The same batch again: acknowledged, nothing stored twice.
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .json(&json!({"writeKey": s.a.write_key, "batch": [event(1, "ann", "Product Viewed"), event(2, "ann", "Product Added")]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["duplicates"], 2);
    // gzip-compressed body (RudderStack's SDKs send these).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(
        json!({"batch": [event(3, "bob", "Product Viewed")]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .header("content-encoding", "gzip")
        .header("content-type", "application/json")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    // Durable and applied: the engine sees them.
    let adv = s.engine.advertiser("shop-a").unwrap();
    assert_eq!(adv.state().unwrap().events, 3);

    let ta = token(&s, &s.a).await;
    // Save an audience, look a person up.
    let r = http
        .post(format!("{}/v1/audiences", s.base))
        .bearer_auth(&ta)
        .json(&json!({"name": "carters", "rule": "product_added within 30d", "funnel_stage": "Conversion"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let r = http
        .get(format!("{}/v1/people/ann/audiences", s.base))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["audiences"][0]["id"], id.as_str(), "{v}");
    let r = http
        .get(format!("{}/v1/people/bob/audiences", s.base))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["audiences"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    // A new event moves bob into the audience in real time.
    let r = http
        .post(format!("{}/v1/track", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"event": "Product Added", "userId": "bob", "properties": {"price": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .get(format!("{}/v1/people/bob/audiences", s.base))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["audiences"][0]["id"],
        id.as_str()
    );
    // Sizes, members (CSV), estimate of an unsaved definition, history, explain.
    let size: Value = http
        .get(format!("{}/v1/audiences/{id}/size", s.base))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(size["size"], 2);
    let csv = http
        .get(format!("{}/v1/audiences/{id}/members", s.base))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains(",ann,") && csv.contains(",bob,"));
    let est: Value = http
        .post(format!("{}/v1/audiences/estimate-size", s.base))
        .bearer_auth(&ta)
        .json(&json!({"rule_json": {"type": "event", "event": "product_viewed"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(est["size"], 2);
    let hist: Value = http
        .get(format!("{}/v1/audiences/{id}/history", s.base))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let causes: Vec<&str> = hist["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["cause"].as_str())
        .collect();
    assert!(
        causes.contains(&"definition") && causes.contains(&"event"),
        "{hist}"
    );
    let ex: Value = http
        .get(format!("{}/v1/audiences/{id}/explain/ann", s.base))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ex["result"], true, "{ex}");

    // Tenancy: advertiser B sees none of A's people or audiences, and B's write key writes to B.
    let tb = token(&s, &s.b).await;
    for url in [
        format!("{}/v1/people/ann/audiences", s.base),
        format!("{}/v1/people/ann", s.base),
        format!("{}/v1/audiences/{id}", s.base),
        format!("{}/v1/audiences/{id}/size", s.base),
        format!("{}/v1/audiences/{id}/members", s.base),
        format!("{}/v1/audiences/{id}/explain/ann", s.base),
    ] {
        let r = http.get(&url).bearer_auth(&tb).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{url}");
        let body: Value = r.json().await.unwrap();
        assert!(
            !body.to_string().contains("ann")
                || body["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("identifier"),
            "{body}"
        );
    }
    let list: Value = http
        .get(format!("{}/v1/audiences", s.base))
        .bearer_auth(&tb)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["audiences"].as_array().map(Vec::len), Some(0));
    let r = http
        .delete(format!("{}/v1/audiences/{id}", s.base))
        .bearer_auth(&tb)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Deleting with A's token works.
    let r = http
        .delete(format!("{}/v1/audiences/{id}", s.base))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let m = http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("audex_events_ingested_total 4"), "{m}");
    assert!(m.contains("audex_lookup_request_seconds_count"));
    let h: Value = http
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "ok");
}

/// (method, path, auth, content-type, body, expected status, field the error must name or "")
#[allow(clippy::type_complexity)]
fn bad_requests(
    s: &Server,
    ta: &str,
) -> Vec<(
    &'static str,
    String,
    String,
    &'static str,
    Vec<u8>,
    u16,
    &'static str,
)> {
    let wk = format!("Basic {}", base64_user(&s.a.write_key));
    let bearer = format!("Bearer {ta}");
    let j = |v: Value| v.to_string().into_bytes();
    let big_event =
        j(json!({"type":"track","event":"X","userId":"u","properties":{"pad":"x".repeat(40_000)}}));
    let big_batch = j(
        json!({"batch": (0..30).map(|i| json!({"type":"track","event":"X","userId":"u","messageId":format!("big{i}"),"properties":{"pad":"x".repeat(20_000)}})).collect::<Vec<_>>()}),
    );
    let deep = {
        let mut r = json!({"type":"event","event":"visit"});
        for _ in 0..200 {
            r = json!({"not": r});
        }
        j(json!({"name": "deep", "rule_json": r}))
    };
    vec![
        (
            "POST",
            "/v1/track".into(),
            String::new(),
            "application/json",
            j(json!({"event":"X","userId":"u"})),
            401,
            "",
        ),
        (
            "POST",
            "/v1/track".into(),
            "Basic Zm9vOg==".into(),
            "application/json",
            j(json!({"event":"X","userId":"u"})),
            401,
            "",
        ),
        (
            "POST",
            "/v1/track".into(),
            "Basic !!!".into(),
            "application/json",
            j(json!({"event":"X","userId":"u"})),
            401,
            "",
        ),
        (
            "POST",
            "/v1/track".into(),
            format!("Basic {}", base64_user(&s.b.client_id)),
            "application/json",
            j(json!({"event":"X","userId":"u"})),
            401,
            "",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            b"{not json".to_vec(),
            400,
            "/",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            b"[1,2]".to_vec(),
            400,
            "/",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            b"".to_vec(),
            400,
            "/",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            j(json!({"event":"X"})),
            400,
            "/userId",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            j(json!({"userId":"u"})),
            400,
            "/event",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            j(json!({"event":"X","userId":"u","timestamp":"soon"})),
            400,
            "/timestamp",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            j(json!({"event":"X","userId":"u","properties":"p"})),
            400,
            "/properties",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            j(json!({"event":"Product Viewed","userId":"u","properties":{"price":-1}})),
            400,
            "/properties/price",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            j(json!({"event":"X","userId":{"id":1}})),
            400,
            "/userId",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            j(json!({"type":"purchase","event":"X","userId":"u"})),
            400,
            "/type",
        ),
        (
            "POST",
            "/v1/track".into(),
            wk.clone(),
            "application/json",
            big_event,
            413,
            "",
        ),
        (
            "POST",
            "/v1/identify".into(),
            wk.clone(),
            "application/json",
            j(json!({"userId":"u","traits":{"email":"nope"}})),
            400,
            "/traits/email",
        ),
        (
            "POST",
            "/v1/identify".into(),
            wk.clone(),
            "application/json",
            j(json!({"userId":"u","traits":{"age":-3}})),
            400,
            "/traits/age",
        ),
        (
            "POST",
            "/v1/alias".into(),
            wk.clone(),
            "application/json",
            j(json!({"userId":"u"})),
            400,
            "/previousId",
        ),
        (
            "POST",
            "/v1/page".into(),
            wk.clone(),
            "application/json",
            j(json!({"userId":"u","context":{"location":{"latitude":100,"longitude":0}}})),
            400,
            "/context/location/latitude",
        ),
        (
            "POST",
            "/v1/screen".into(),
            wk.clone(),
            "application/json",
            j(json!({"userId":"u","context":{"ip":"1.2.3"}})),
            400,
            "/context/ip",
        ),
        (
            "POST",
            "/v1/batch".into(),
            wk.clone(),
            "application/json",
            j(json!({"batch":"x"})),
            400,
            "/batch",
        ),
        (
            "POST",
            "/v1/batch".into(),
            wk.clone(),
            "application/json",
            j(json!({"nobatch":[]})),
            400,
            "/batch",
        ),
        (
            "POST",
            "/v1/batch".into(),
            wk.clone(),
            "application/json",
            j(
                json!({"batch":[{"type":"track","event":"X","userId":"ok","messageId":"keep-1"},{"type":"track","userId":"u"}]}),
            ),
            400,
            "/batch/1/event",
        ),
        (
            "POST",
            "/v1/batch".into(),
            wk.clone(),
            "application/json",
            j(json!({"batch":[1]})),
            400,
            "/batch/0",
        ),
        (
            "POST",
            "/v1/batch".into(),
            wk.clone(),
            "application/json",
            big_batch,
            413,
            "",
        ),
        (
            "POST",
            "/v1/batch".into(),
            wk.clone(),
            "application/json",
            b"\x1f\x8b garbage".to_vec(),
            400,
            "/",
        ),
        (
            "POST",
            "/oauth2/token".into(),
            String::new(),
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials".to_vec(),
            400,
            "client_id",
        ),
        (
            "POST",
            "/oauth2/token".into(),
            String::new(),
            "application/x-www-form-urlencoded",
            format!(
                "grant_type=client_credentials&client_id={}&client_secret=wrong",
                s.a.client_id
            )
            .into_bytes(),
            401,
            "",
        ),
        (
            "POST",
            "/oauth2/token".into(),
            String::new(),
            "application/x-www-form-urlencoded",
            b"grant_type=password&client_id=a&client_secret=b".to_vec(),
            400,
            "grant_type",
        ),
        (
            "GET",
            "/v1/audiences".into(),
            String::new(),
            "",
            vec![],
            401,
            "",
        ),
        (
            "GET",
            "/v1/audiences".into(),
            "Bearer nope".into(),
            "",
            vec![],
            401,
            "",
        ),
        (
            "GET",
            "/v1/audiences".into(),
            wk.clone(),
            "",
            vec![],
            401,
            "",
        ),
        (
            "GET",
            "/v1/people/nobody/audiences".into(),
            bearer.clone(),
            "",
            vec![],
            404,
            "",
        ),
        (
            "GET",
            "/v1/audiences/aud_999".into(),
            bearer.clone(),
            "",
            vec![],
            404,
            "",
        ),
        (
            "GET",
            "/v1/audiences/aud_999/size".into(),
            bearer.clone(),
            "",
            vec![],
            404,
            "",
        ),
        (
            "POST",
            "/v1/audiences".into(),
            bearer.clone(),
            "application/json",
            b"{".to_vec(),
            400,
            "/",
        ),
        (
            "POST",
            "/v1/audiences".into(),
            bearer.clone(),
            "application/json",
            j(json!({"rule":"visit within 30d"})),
            400,
            "/name",
        ),
        (
            "POST",
            "/v1/audiences".into(),
            bearer.clone(),
            "application/json",
            j(json!({"name":"x","rule":"visit within"})),
            400,
            "/rule",
        ),
        (
            "POST",
            "/v1/audiences".into(),
            bearer.clone(),
            "application/json",
            j(json!({"name":"x","rule_json":{"type":"geo_radius","points":[],"radius_km":0}})),
            400,
            "/rule_json",
        ),
        (
            "POST",
            "/v1/audiences".into(),
            bearer.clone(),
            "application/json",
            j(json!({"name":"x","kind":{"location":{"pointsOfInterest":[],"radiusInKm":5}}})),
            400,
            "/kind",
        ),
        (
            "POST",
            "/v1/audiences".into(),
            bearer.clone(),
            "application/json",
            j(json!({"name":"x","rule":"visit","bogus":1})),
            400,
            "",
        ),
        (
            "POST",
            "/v1/audiences".into(),
            bearer.clone(),
            "application/json",
            j(json!({"name":"x","rule":"in_audience \"ghost\""})),
            400,
            "",
        ),
        (
            "POST",
            "/v1/audiences".into(),
            bearer.clone(),
            "application/json",
            j(json!({"name":"x","rule":"in_list \"ghost\""})),
            400,
            "",
        ),
        (
            "POST",
            "/v1/audiences".into(),
            bearer.clone(),
            "application/json",
            deep,
            400,
            "",
        ),
        (
            "POST",
            "/v1/audiences/estimate-size".into(),
            bearer.clone(),
            "application/json",
            j(json!({"rule":"model lookalike top 10"})),
            422,
            "",
        ),
        (
            "GET",
            "/v1/audiences/overlap?a=x".into(),
            bearer.clone(),
            "",
            vec![],
            400,
            "",
        ),
        (
            "GET",
            "/v1/people/u/audiences?now=yesterday".into(),
            bearer.clone(),
            "",
            vec![],
            200,
            "",
        ),
        (
            "GET",
            "/v1/people/ok?now=yesterday".into(),
            bearer.clone(),
            "",
            vec![],
            400,
            "now",
        ),
        ("GET", "/v1/nowhere".into(), bearer, "", vec![], 404, ""),
    ]
}

fn base64_user(user: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_errors_and_lose_nothing() {
    let s = start().await;
    let http = reqwest::Client::new();
    // Something accepted first, which no bad request may disturb.
    let r = http
        .post(format!("{}/v1/track", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"event": "Product Viewed", "userId": "u", "messageId": "first"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ta = token(&s, &s.a).await;
    let table = bad_requests(&s, &ta);
    assert!(table.len() >= 40, "{} cases", table.len());
    let mut failures = Vec::new();
    for (method, path, auth, ctype, body, status, field) in &table {
        let mut req = http.request(method.parse().unwrap(), format!("{}{path}", s.base));
        if !auth.is_empty() {
            req = req.header("authorization", auth);
        }
        if !ctype.is_empty() {
            req = req.header("content-type", *ctype);
        }
        if path == "/v1/batch" && body.starts_with(b"\x1f\x8b") {
            req = req.header("content-encoding", "gzip");
        }
        let r = req.body(body.clone()).send().await.unwrap();
        let got = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let ok = got == *status
            && (got == 200 || json["error"].is_string())
            && (field.is_empty() || json["field"] == *field);
        if !ok {
            failures.push(format!(
                "{method} {path} → {got} {text} (expected {status} naming {field:?})"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
    // The server is still up and nothing accepted was lost: the first event and the valid half
    // of the partly bad batch are stored.
    let h = http
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), StatusCode::OK);
    let adv = s.engine.advertiser("shop-a").unwrap();
    let state = adv.state().unwrap();
    assert_eq!(state.events, 2);
    assert!(
        state
            .profiles
            .person(&audex_model::event::Identifier::new(
                audex_model::event::IdKind::UserId,
                "ok"
            ))
            .is_some()
    );
}
