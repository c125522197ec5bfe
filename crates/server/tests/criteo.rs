//! The Criteo Marketing Solutions endpoints over real HTTP on loopback: every segment type,
//! contact lists, algebra audiences, sizes equal to the native API's, pagination, updates and
//! deletes; then a table of bad requests that must each get a 4xx in Criteo's envelope naming the
//! field, with another advertiser's ids answered exactly like unknown ones.

mod common;

use audex_engine::{Credentials, EngineOptions};
use common::Server;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const P: &str = "/2027-01/marketing-solutions";

async fn start() -> Server {
    common::start_server(EngineOptions::default()).await
}

/// The token exactly as Criteo's SDK asks for it (form body, JSON answer with refresh_token).
async fn token(s: &Server, c: &Credentials) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/oauth2/token", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(format!(
            "client_id={}&client_secret={}&grant_type=client_credentials",
            c.client_id, c.client_secret
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert!(v.as_object().unwrap().contains_key("refresh_token"), "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_in"].as_u64().unwrap() > 0);
    v["access_token"].as_str().unwrap().to_string()
}

async fn call(
    s: &Server,
    tok: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", s.base))
        .bearer_auth(tok)
        .header("accept", "application/json");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, v)
}

async fn post(s: &Server, tok: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(s, tok, Method::POST, &format!("{P}{path}"), Some(body)).await
}

async fn native_size(s: &Server, tok: &str, id: &str) -> Value {
    let (st, v) = call(
        s,
        tok,
        Method::GET,
        &format!("/v1/audiences/{id}/size"),
        None,
    )
    .await;
    if st == StatusCode::UNPROCESSABLE_ENTITY {
        // A model-based audience whose model has no scores yet: Criteo's size is null.
        return Value::Null;
    }
    assert_eq!(st, StatusCode::OK, "{v}");
    v["size"].clone()
}

fn seg(adv: &str, name: &str, kind: &str, body: Value) -> Value {
    json!({"type": "AudienceSegment", "attributes": {"advertiserId": adv, "name": name, kind: body}})
}

async fn send_events(s: &Server) {
    let day = |d: i64| (chrono::Utc::now() - chrono::Duration::days(d)).to_rfc3339();
    let mut batch = Vec::new();
    for (i, user) in ["ann", "bob", "cid", "dee"].iter().enumerate() {
        batch.push(
            json!({"type": "identify", "userId": user, "messageId": format!("id-{user}"),
            "timestamp": day(3), "traits": {"email": format!("{user}@example.com")}}),
        );
        batch.push(json!({"type": "track", "event": "Product Viewed", "userId": user,
            "messageId": format!("pv-{user}"), "timestamp": day(i as i64 * 10 + 1),
            "properties": {"product_id": "p1", "price": 20, "category": "Apparel & Accessories", "brand": "Acme"}}));
    }
    batch.push(json!({"type": "track", "event": "Order Completed", "userId": "ann", "messageId": "oc-ann",
        "timestamp": day(1), "properties": {"order_id": "o1", "total": 20, "products": [{"product_id": "p1", "price": 20}]}}));
    let r = reqwest::Client::new()
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"batch": batch}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn criteo_segments_audiences_and_lists_match_the_native_api() {
    let s = start().await;
    send_events(&s).await;
    let t = token(&s, &s.a).await;
    let adv = s.a.advertiser_id.as_str();

    // The credentials' advertiser and application.
    let (st, v) = call(&s, &t, Method::GET, "/2027-01/advertisers/me", None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["data"],
        json!([{"id": adv, "type": "advertiser", "attributes": {"advertiserName": "shop-a"}}])
    );
    let (st, v) = call(&s, &t, Method::GET, &format!("{P}/me"), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["attributes"]["name"], s.a.client_id.as_str());

    // One segment of each creatable type.
    let (st, v) = post(&s, &t, "/audience-segments/create", json!({"data": [
        seg(adv, "visitors", "retargeting", json!({"visitorsType": "All", "daysSinceLastVisitMin": 0, "daysSinceLastVisitMax": 15})),
        seg(adv, "in-market", "inMarket", json!({"country": "FR", "brandIds": ["Acme"], "buyingPower": ["High", "VeryHigh"], "priceRange": ["Medium"], "gender": "Female"})),
        seg(adv, "paris", "location", json!({"radiusInKm": 5, "pointsOfInterest": [{"name": "Paris", "latitude": 48.85661, "longitude": 2.35222}]})),
        seg(adv, "prospects", "prospecting", json!({"usersType": "ProspectsOrNonBuyers", "daysSinceLastVisitMin": 0, "daysSinceLastVisitMax": 30})),
        seg(adv, "crm", "contactList", json!({})),
    ]})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["errors"], json!([]), "{v}");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 5);
    let types: Vec<&str> = data
        .iter()
        .map(|d| d["attributes"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "Retargeting",
            "InMarket",
            "Location",
            "Prospecting",
            "ContactList"
        ]
    );
    for d in data {
        assert!(d["id"].is_string());
        assert_eq!(d["attributes"]["advertiserId"], adv);
        assert!(
            d["attributes"]["createdAt"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
    }
    assert_eq!(
        data[2]["attributes"]["location"]["radiusInKm"],
        json!(5),
        "an int32, not 5.0"
    );
    assert_eq!(data[1]["attributes"]["inMarket"]["gender"], "Female");
    let ids: Vec<String> = data
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    let (visitors, crm, paris) = (&ids[0], &ids[4], &ids[2]);
    let (st, v) = post(
        &s,
        &t,
        "/audience-segments/create",
        json!({"data": [
            seg(adv, "lookalike", "lookalike", json!({"seedSegmentId": crm, "targetSize": 1000})),
        ]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let lookalike = v["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        v["data"][0]["attributes"]["lookalike"]["seedSegmentId"],
        crm.as_str()
    );

    // Contact list: add (one bad identifier), statistics.
    let (st, v) = call(&s, &t, Method::PATCH, &format!("{P}/audience-segments/{crm}/contact-list"), Some(json!({"data": {
        "type": "ContactlistAmendment", "attributes": {"operation": "add", "identifierType": "email",
        "identifiers": ["ann@example.com", "BOB@Example.com ", "nobody@example.com", "not-an-email"]}}}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let a = &v["data"]["attributes"];
    assert_eq!(a["operation"], "add");
    assert_eq!(a["nbValidIdentifiers"], 3);
    assert_eq!(a["nbInvalidIdentifiers"], 1);
    assert_eq!(a["sampleInvalidIdentifiers"], json!(["not-an-email"]));
    assert!(a["contactListId"].is_i64());
    assert_eq!(v["errors"], json!([]));
    assert_eq!(v["warnings"], json!([]));
    let (st, v) = call(
        &s,
        &t,
        Method::GET,
        &format!("{P}/audience-segments/{crm}/contact-list/statistics"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["attributes"]["numberOfIdentifiers"], 3);
    assert_eq!(v["data"]["attributes"]["numberOfMatches"], 2);
    assert!((v["data"]["attributes"]["matchRate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);

    // Sizes equal the native API's (null when a model has no scores yet, with a warning).
    let (st, v) = post(&s, &t, "/audience-segments/compute-sizes", json!({"data":
        ids.iter().chain([&lookalike]).map(|id| json!({"id": id, "type": "AudienceSegmentSize", "attributes": {}})).collect::<Vec<_>>()})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let sizes = v["data"].as_array().unwrap();
    assert_eq!(sizes.len(), 6);
    for item in sizes {
        let id = item["id"].as_str().unwrap();
        assert_eq!(
            item["attributes"]["size"],
            native_size(&s, &t, id).await,
            "{id}"
        );
    }
    // Null sizes (models without scores) come with a warning each.
    let nulls = sizes
        .iter()
        .filter(|i| i["attributes"]["size"].is_null())
        .count();
    assert_eq!(v["warnings"].as_array().unwrap().len(), nulls, "{v}");
    assert_eq!(
        sizes[0]["attributes"]["size"], 2,
        "ann and bob visited in the last 15 days"
    );
    assert_eq!(
        sizes[4]["attributes"]["size"], 2,
        "ann and bob are on the list"
    );

    // An algebra audience: (visitors or crm) and not paris.
    let algebra = json!({"and": [{"or": [{"audienceSegmentId": visitors}, {"audienceSegmentId": crm}]}, {"not": {"audienceSegmentId": paris}}]});
    let (st, v) = post(
        &s,
        &t,
        "/audiences/create",
        json!({"data": [{"type": "Audience", "attributes":
        {"advertiserId": adv, "name": "mix", "description": "algebra", "algebra": algebra}}]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let aud = v["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(v["data"][0]["attributes"]["algebra"], algebra);
    assert_eq!(v["data"][0]["attributes"]["adSetIds"], json!([]));
    let (_, v) = post(
        &s,
        &t,
        "/audiences/compute-sizes",
        json!({"data": [{"id": aud, "type": "AudienceSize", "attributes": {}}]}),
    )
    .await;
    let size = v["data"][0]["attributes"]["size"].clone();
    assert_eq!(size, native_size(&s, &t, &aud).await);
    assert_eq!(size, 2);
    let (st, v) = post(
        &s,
        &t,
        "/audiences/estimate-size",
        json!({"data": {"type": "AudienceSizeEstimation",
        "attributes": {"advertiserId": adv, "algebra": algebra}}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["attributes"]["size"], size);
    // The segment estimate equals the native estimate of the same kind.
    let in_market = json!({"country": "FR", "brandIds": ["Acme"]});
    let (st, v) = post(
        &s,
        &t,
        "/audience-segments/estimate-size",
        json!({"data": {"type": "AudienceSegment",
        "attributes": {"advertiserId": adv, "inMarket": in_market}}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, native) = call(
        &s,
        &t,
        Method::POST,
        "/v1/audiences/estimate-size",
        Some(json!({"kind": {"inMarket": in_market}})),
    )
    .await;
    assert_eq!(v["data"]["attributes"]["size"], native["size"], "{native}");

    // Search with pagination; filters by type and id; audiences by segment.
    let search =
        json!({"data": {"type": "AudienceSegment", "attributes": {"advertiserIds": [adv]}}});
    let (_, p1) = post(
        &s,
        &t,
        "/audience-segments/search?limit=4&offset=0",
        search.clone(),
    )
    .await;
    let (_, p2) = post(
        &s,
        &t,
        "/audience-segments/search?limit=4&offset=4",
        search.clone(),
    )
    .await;
    assert_eq!(
        p1["meta"],
        json!({"limit": 4, "offset": 0, "totalItems": 6})
    );
    assert_eq!(p1["data"].as_array().unwrap().len(), 4);
    assert_eq!(p2["data"].as_array().unwrap().len(), 2);
    let (_, all) = post(
        &s,
        &t,
        "/audience-segments/search",
        json!({"data": {"type": "AudienceSegment", "attributes": {}}}),
    )
    .await;
    assert_eq!(all["meta"]["limit"], 50);
    assert_eq!(
        all["meta"]["totalItems"], 6,
        "the algebra audience is not a segment"
    );
    let (_, v) = post(
        &s,
        &t,
        "/audience-segments/search",
        json!({"data": {"type": "AudienceSegment",
        "attributes": {"audienceSegmentTypes": ["Location", "Lookalike"]}}}),
    )
    .await;
    assert_eq!(v["meta"]["totalItems"], 2);
    let (_, v) = post(
        &s,
        &t,
        "/audiences/search",
        json!({"data": {"type": "Audience", "attributes": {"audienceSegmentIds": [paris]}}}),
    )
    .await;
    assert_eq!(v["data"][0]["id"], aud.as_str());
    let (_, v) = post(
        &s,
        &t,
        "/audiences/search",
        json!({"data": {"type": "Audience", "attributes": {"audienceSegmentIds": [lookalike]}}}),
    )
    .await;
    assert_eq!(v["meta"]["totalItems"], 0);

    // Updates: partial, nillable wrappers, the type cannot change.
    let (st, v) = call(&s, &t, Method::PATCH, &format!("{P}/audience-segments"), Some(json!({"data": [
        {"id": visitors, "type": "AudienceSegment", "attributes": {"name": "visitors 30d", "description": {"value": "last month"},
            "retargeting": {"daysSinceLastVisitMax": 30}}},
        {"id": ids[3], "type": "AudienceSegment", "attributes": {"prospecting": {"daysSinceLastVisitMin": {"value": null}}}},
    ]}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["errors"], json!([]), "{v}");
    let r = &v["data"][0]["attributes"];
    assert_eq!(r["name"], "visitors 30d");
    assert_eq!(r["description"], "last month");
    assert_eq!(r["retargeting"]["daysSinceLastVisitMax"], 30);
    assert_eq!(r["retargeting"]["visitorsType"], "All");
    assert_eq!(
        v["data"][1]["attributes"]["prospecting"]["daysSinceLastVisitMin"],
        Value::Null
    );
    let (_, v) = post(
        &s,
        &t,
        "/audience-segments/compute-sizes",
        json!({"data": [{"id": visitors, "type": "AudienceSegmentSize"}]}),
    )
    .await;
    assert_eq!(
        v["data"][0]["attributes"]["size"], 3,
        "now within 30 days: ann, bob, cid"
    );
    let (st, v) = call(&s, &t, Method::PATCH, &format!("{P}/audiences"), Some(json!({"data": [
        {"id": aud, "type": "Audience", "attributes": {"algebra": {"audienceSegmentId": visitors}, "description": {"value": null}}}]}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"][0]["attributes"]["description"], Value::Null);
    assert_eq!(native_size(&s, &t, &aud).await, 3);

    // Brands and interests.
    let (st, v) = call(
        &s,
        &t,
        Method::GET,
        &format!("{P}/audience-segments/in-market-brands?advertiser-id={adv}&country=FR"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["data"].is_array());
    let (st, v) = call(
        &s,
        &t,
        Method::GET,
        &format!("{P}/audience-segments/in-market-interests?advertiser-id={adv}&country=FR"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["data"].is_array());

    // Ad sets: link, read back, search by ad set; a linked audience cannot be deleted.
    let link =
        |aud: Value| json!({"data": {"type": "AdSetAudience", "attributes": {"audienceId": aud}}});
    let (st, v) = call(
        &s,
        &t,
        Method::PUT,
        &format!("{P}/ad-sets/as-1/audience"),
        Some(link(json!(aud))),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["data"],
        json!({"id": "as-1", "type": "AdSetAudience", "attributes": {"audienceId": aud}})
    );
    let (_, v) = post(
        &s,
        &t,
        "/audiences/search",
        json!({"data": {"type": "Audience", "attributes": {"adSetIds": ["as-1", "as-9"]}}}),
    )
    .await;
    assert_eq!(v["meta"]["totalItems"], 1);
    assert_eq!(v["data"][0]["attributes"]["adSetIds"], json!(["as-1"]));
    let (_, v) = post(
        &s,
        &t,
        "/audiences/search",
        json!({"data": {"type": "Audience", "attributes": {"adSetIds": ["as-9"]}}}),
    )
    .await;
    assert_eq!(v["meta"]["totalItems"], 0);
    let (st, v) = post(
        &s,
        &t,
        "/audiences/delete",
        json!({"data": [{"id": aud, "type": "Audience"}]}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["code"], "audience-in-use");
    let (st, v) = call(
        &s,
        &t,
        Method::PUT,
        &format!("{P}/ad-sets/as-1/audience"),
        Some(link(Value::Null)),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["attributes"]["audienceId"], Value::Null);

    // Wipe the list, then delete: a segment in use is refused, then the audience, then it.
    let (st, v) = call(
        &s,
        &t,
        Method::DELETE,
        &format!("{P}/audience-segments/{crm}/contact-list"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["id"], crm.as_str());
    assert_eq!(native_size(&s, &t, crm).await, 0);
    let (st, v) = post(
        &s,
        &t,
        "/audience-segments/delete",
        json!({"data": [{"id": visitors, "type": "AudienceSegment", "attributes": {}}]}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["code"], "segment-in-use");
    let (st, v) = post(
        &s,
        &t,
        "/audiences/delete",
        json!({"data": [{"id": aud, "type": "Audience", "attributes": {}}]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"][0]["id"], aud.as_str());
    let (st, v) = post(&s, &t, "/audience-segments/delete", json!({"data": [
        {"id": visitors, "type": "AudienceSegment"}, {"id": lookalike, "type": "AudienceSegment"}, {"id": "aud_999", "type": "AudienceSegment"}]})).await;
    assert_eq!(st, StatusCode::OK, "partial success: {v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["errors"][0]["code"], "segment-not-found");
    assert_eq!(v["errors"][0]["source"]["pointer"], "/data/2/id");
    let (_, v) = post(
        &s,
        &t,
        "/audience-segments/delete",
        json!({"data": [{"id": crm, "type": "AudienceSegment"}]}),
    )
    .await;
    assert_eq!(v["data"][0]["id"], crm.as_str());
    let (_, all) = post(&s, &t, "/audience-segments/search", search).await;
    assert_eq!(all["meta"]["totalItems"], 3);
}

/// A bad request: what, method, path under the prefix, body, expected status, expected pointer
/// prefix of the first problem (empty: not checked).
type Case = (
    &'static str,
    Method,
    String,
    Option<String>,
    StatusCode,
    &'static str,
);

/// Every problem must be well formed: string fields, a known type, string-valued source.
fn check_problems(v: &Value) {
    let errors = v["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors[]: {v}"));
    assert!(!errors.is_empty(), "{v}");
    for e in errors {
        for k in ["code", "title", "detail", "instance"] {
            assert!(e[k].is_string(), "{k} in {e}");
        }
        let t = e["type"].as_str().unwrap();
        assert!(
            [
                "unknown",
                "access-control",
                "authentication",
                "authorization",
                "availability",
                "deprecation",
                "quota",
                "validation"
            ]
            .contains(&t),
            "{t}"
        );
        if let Some(src) = e.get("source") {
            assert!(
                src.as_object().unwrap().values().all(Value::is_string),
                "{e}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn criteo_bad_requests_get_4xx_problems_and_leak_nothing() {
    let s = start().await;
    let ta = token(&s, &s.a).await;
    let tb = token(&s, &s.b).await;
    let (a, b) = (s.a.advertiser_id.as_str(), s.b.advertiser_id.as_str());
    let retarget =
        json!({"visitorsType": "All", "daysSinceLastVisitMin": 0, "daysSinceLastVisitMax": 30});
    // A segment and a contact list of each advertiser.
    let (_, v) = post(&s, &ta, "/audience-segments/create", json!({"data": [seg(a, "a-visitors", "retargeting", retarget.clone()), seg(a, "a-crm", "contactList", json!({}))]})).await;
    let a_seg = v["data"][0]["id"].as_str().unwrap().to_string();
    let a_ids: Vec<Value> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    // B's ids are per advertiser and may coincide with A's: B makes more segments than A, so
    // its later ids exist only for B.
    let (_, v) = post(&s, &tb, "/audience-segments/create", json!({"data": [
        seg(b, "b-secret", "retargeting", retarget.clone()), seg(b, "b-more", "retargeting", retarget.clone()),
        seg(b, "b-more2", "retargeting", retarget.clone()), seg(b, "b-crm", "contactList", json!({}))]})).await;
    let b_seg = v["data"][0]["id"].as_str().unwrap().to_string();
    let b_only = v["data"].as_array().unwrap()[..3]
        .iter()
        .map(|d| d["id"].clone())
        .find(|id| !a_ids.contains(id))
        .unwrap();
    let b_only = b_only.as_str().unwrap().to_string();
    let b_list = v["data"][3]["id"].as_str().unwrap().to_string();
    assert!(!a_ids.contains(&json!(b_list)));

    let mut deep = json!({"audienceSegmentId": a_seg});
    for _ in 0..20 {
        deep = json!({"not": deep});
    }
    let very_deep = format!("{}{}", "{\"data\":".repeat(2000), "}".repeat(2000));
    let aud = |algebra: Value| json!({"data": [{"type": "Audience", "attributes": {"advertiserId": a, "name": "x", "algebra": algebra}}]});
    let cases: Vec<Case> = vec![
        ("malformed JSON", Method::POST, "/audience-segments/create".into(), Some("{\"data\": [".into()), StatusCode::BAD_REQUEST, ""),
        ("empty body", Method::POST, "/audience-segments/create".into(), Some(String::new()), StatusCode::BAD_REQUEST, "/data"),
        ("no data", Method::POST, "/audience-segments/create".into(), Some("{}".into()), StatusCode::BAD_REQUEST, "/data"),
        ("data not an array", Method::POST, "/audience-segments/create".into(), Some(r#"{"data": {"type": "x"}}"#.into()), StatusCode::BAD_REQUEST, "/data"),
        ("JSON nested 2000 deep", Method::POST, "/audiences/create".into(), Some(very_deep), StatusCode::BAD_REQUEST, ""),
        ("name of the wrong type", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [{"type": "AudienceSegment", "attributes": {"advertiserId": a, "name": 5, "retargeting": retarget}}]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/name"),
        ("int as a string", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [seg(a, "s", "retargeting", json!({"visitorsType": "All", "daysSinceLastVisitMin": "0", "daysSinceLastVisitMax": 3}))]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/retargeting/daysSinceLastVisitMin"),
        ("unknown enum value", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [seg(a, "s", "inMarket", json!({"country": "FR", "interestIds": ["1604"], "buyingPower": ["Huge"]}))]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/inMarket/buyingPower/0"),
        ("interest id not a number", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [seg(a, "s", "inMarket", json!({"country": "FR", "interestIds": ["shoes"]}))]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/inMarket/interestIds/0"),
        ("in-market without country", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [seg(a, "s", "inMarket", json!({"interestIds": ["1604"]}))]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/inMarket/country"),
        ("window min after max", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [seg(a, "s", "retargeting", json!({"visitorsType": "All", "daysSinceLastVisitMin": 9, "daysSinceLastVisitMax": 3}))]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/retargeting/daysSinceLast"),
        ("two segment types", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [{"type": "AudienceSegment", "attributes": {"advertiserId": a, "name": "s", "retargeting": retarget, "contactList": {}}}]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes"),
        ("behavioral is not creatable", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [seg(a, "s", "behavioral", json!({"category": "Seasonal"}))]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/behavioral"),
        ("empty name", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [seg(a, " ", "retargeting", retarget.clone())]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/name"),
        ("duplicate name", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [seg(a, "a-visitors", "retargeting", retarget.clone())]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/name"),
        ("other advertiser's id in create", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [seg(b, "s", "retargeting", retarget.clone())]}).to_string()), StatusCode::FORBIDDEN, "/data/0/attributes/advertiserId"),
        ("lookalike of another advertiser's segment", Method::POST, "/audience-segments/create".into(),
            Some(json!({"data": [seg(a, "s", "lookalike", json!({"seedSegmentId": b_only}))]}).to_string()), StatusCode::NOT_FOUND, "/data/0/attributes/lookalike/seedSegmentId"),
        ("id of the wrong type", Method::POST, "/audience-segments/delete".into(),
            Some(json!({"data": [{"id": 5, "type": "AudienceSegment"}]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/id"),
        ("unknown segment id", Method::POST, "/audience-segments/delete".into(),
            Some(json!({"data": [{"id": "aud_4242", "type": "AudienceSegment"}]}).to_string()), StatusCode::NOT_FOUND, "/data/0/id"),
        ("other advertiser's segment id", Method::POST, "/audience-segments/delete".into(),
            Some(json!({"data": [{"id": b_only, "type": "AudienceSegment"}]}).to_string()), StatusCode::NOT_FOUND, "/data/0/id"),
        ("other advertiser's segment in sizes", Method::POST, "/audience-segments/compute-sizes".into(),
            Some(json!({"data": [{"id": b_only, "type": "AudienceSegmentSize"}]}).to_string()), StatusCode::NOT_FOUND, "/data/0/id"),
        ("type change on update", Method::PATCH, "/audience-segments".into(),
            Some(json!({"data": [{"id": a_seg, "type": "AudienceSegment", "attributes": {"location": {"radiusInKm": 3}}}]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/location"),
        ("nillable not wrapped", Method::PATCH, "/audience-segments".into(),
            Some(json!({"data": [{"id": a_seg, "type": "AudienceSegment", "attributes": {"description": "plain"}}]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/description"),
        ("search by another advertiser", Method::POST, "/audience-segments/search".into(),
            Some(json!({"data": {"type": "AudienceSegment", "attributes": {"advertiserIds": [b]}}}).to_string()), StatusCode::FORBIDDEN, "/data/attributes/advertiserIds/0"),
        ("unknown segment type filter", Method::POST, "/audience-segments/search".into(),
            Some(json!({"data": {"type": "AudienceSegment", "attributes": {"audienceSegmentTypes": ["Events"]}}}).to_string()), StatusCode::BAD_REQUEST, "/data/attributes/audienceSegmentTypes/0"),
        ("limit above 100", Method::POST, "/audience-segments/search?limit=500".into(),
            Some(json!({"data": {"type": "AudienceSegment", "attributes": {}}}).to_string()), StatusCode::BAD_REQUEST, ""),
        ("limit not a number", Method::POST, "/audiences/search?limit=ten".into(),
            Some(json!({"data": {"type": "Audience", "attributes": {}}}).to_string()), StatusCode::BAD_REQUEST, ""),
        ("negative offset", Method::POST, "/audiences/search?offset=-1".into(),
            Some(json!({"data": {"type": "Audience", "attributes": {}}}).to_string()), StatusCode::BAD_REQUEST, ""),
        ("algebra 21 deep", Method::POST, "/audiences/create".into(), Some(aud(deep).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/algebra"),
        ("algebra node with two keys", Method::POST, "/audiences/create".into(),
            Some(aud(json!({"and": [{"audienceSegmentId": a_seg}], "or": [{"audienceSegmentId": a_seg}]})).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/algebra"),
        ("empty and", Method::POST, "/audiences/create".into(), Some(aud(json!({"and": []})).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/algebra/and"),
        ("algebra leaf not a string", Method::POST, "/audiences/create".into(),
            Some(aud(json!({"or": [{"audienceSegmentId": 7}]})).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/algebra/or/0/audienceSegmentId"),
        ("algebra over another advertiser's segment", Method::POST, "/audiences/create".into(),
            Some(aud(json!({"or": [{"audienceSegmentId": a_seg}, {"audienceSegmentId": b_only}]})).to_string()), StatusCode::NOT_FOUND, "/data/0/attributes/algebra/or/1/audienceSegmentId"),
        ("algebra missing", Method::POST, "/audiences/create".into(),
            Some(json!({"data": [{"type": "Audience", "attributes": {"advertiserId": a, "name": "x"}}]}).to_string()), StatusCode::BAD_REQUEST, "/data/0/attributes/algebra"),
        ("estimate for another advertiser", Method::POST, "/audiences/estimate-size".into(),
            Some(json!({"data": {"type": "x", "attributes": {"advertiserId": b, "algebra": {"audienceSegmentId": a_seg}}}}).to_string()), StatusCode::FORBIDDEN, "/data/attributes/advertiserId"),
        ("segment estimate of a retargeting", Method::POST, "/audience-segments/estimate-size".into(),
            Some(json!({"data": {"type": "x", "attributes": {"advertiserId": a, "retargeting": retarget}}}).to_string()), StatusCode::BAD_REQUEST, "/data/attributes/retargeting"),
        ("contact list of a retargeting segment", Method::PATCH, format!("/audience-segments/{a_seg}/contact-list"),
            Some(json!({"data": {"type": "ContactlistAmendment", "attributes": {"operation": "add", "identifiers": ["a@b.c"]}}}).to_string()), StatusCode::BAD_REQUEST, ""),
        ("contact list of another advertiser", Method::PATCH, format!("/audience-segments/{b_list}/contact-list"),
            Some(json!({"data": {"type": "ContactlistAmendment", "attributes": {"operation": "add", "identifiers": ["a@b.c"]}}}).to_string()), StatusCode::NOT_FOUND, ""),
        ("statistics of another advertiser's list", Method::GET, format!("/audience-segments/{b_list}/contact-list/statistics"), None, StatusCode::NOT_FOUND, ""),
        ("wipe of an unknown list", Method::DELETE, "/audience-segments/nope/contact-list".into(), None, StatusCode::NOT_FOUND, ""),
        ("unsupported identifier type", Method::PATCH, "/audience-segments/aud_2/contact-list".into(),
            Some(json!({"data": {"type": "ContactlistAmendment", "attributes": {"operation": "add", "identifierType": "madid", "identifiers": ["x"]}}}).to_string()), StatusCode::BAD_REQUEST, "/data/attributes/identifierType"),
        ("bad operation", Method::PATCH, "/audience-segments/aud_2/contact-list".into(),
            Some(json!({"data": {"type": "ContactlistAmendment", "attributes": {"operation": "replace", "identifiers": ["x"]}}}).to_string()), StatusCode::BAD_REQUEST, "/data/attributes/operation"),
        ("identifiers not strings", Method::PATCH, "/audience-segments/aud_2/contact-list".into(),
            Some(json!({"data": {"type": "ContactlistAmendment", "attributes": {"operation": "add", "identifiers": [1, 2]}}}).to_string()), StatusCode::BAD_REQUEST, "/data/attributes/identifiers/0"),
        ("brands without country", Method::GET, format!("/audience-segments/in-market-brands?advertiser-id={a}"), None, StatusCode::BAD_REQUEST, ""),
        ("brands of another advertiser", Method::GET, format!("/audience-segments/in-market-brands?advertiser-id={b}&country=FR"), None, StatusCode::FORBIDDEN, ""),
        ("wrong method", Method::GET, "/audiences/create".into(), None, StatusCode::METHOD_NOT_ALLOWED, ""),
        ("ad set linked to a segment", Method::PUT, "/ad-sets/as-1/audience".into(),
            Some(json!({"data": {"type": "AdSetAudience", "attributes": {"audienceId": a_seg}}}).to_string()), StatusCode::NOT_FOUND, "/data/attributes/audienceId"),
        ("ad set linked to another advertiser's id", Method::PUT, "/ad-sets/as-1/audience".into(),
            Some(json!({"data": {"type": "AdSetAudience", "attributes": {"audienceId": b_only}}}).to_string()), StatusCode::NOT_FOUND, "/data/attributes/audienceId"),
        ("ad set audience of the wrong type", Method::PUT, "/ad-sets/as-1/audience".into(),
            Some(json!({"data": {"type": "AdSetAudience", "attributes": {"audienceId": 12}}}).to_string()), StatusCode::BAD_REQUEST, "/data/attributes/audienceId"),
        ("ad set without audienceId", Method::PUT, "/ad-sets/as-1/audience".into(),
            Some(json!({"data": {"type": "AdSetAudience", "attributes": {}}}).to_string()), StatusCode::BAD_REQUEST, "/data/attributes/audienceId"),
    ];
    let n = cases.len();
    for (what, method, path, body, status, pointer) in cases {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{P}{path}", s.base))
            .bearer_auth(&ta);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let r = req.send().await.unwrap();
        let got = r.status();
        let text = r.text().await.unwrap();
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{what}: not JSON ({got}): {text}"));
        assert_eq!(got, status, "{what}: {v}");
        check_problems(&v);
        assert!(v.as_object().unwrap().contains_key("data"), "{what}: {v}");
        if !pointer.is_empty() {
            let at = v["errors"][0]["source"]["pointer"].as_str().unwrap_or("");
            assert!(
                at.starts_with(pointer),
                "{what}: pointer {at:?}, wanted {pointer:?}: {v}"
            );
        }
        assert!(
            !text.contains("b-secret") && !text.contains("b-crm"),
            "{what} leaked: {text}"
        );
    }
    assert!(n >= 40);

    // No credentials, a bad token, an unknown version prefix: JSON problems too.
    let r = reqwest::Client::new()
        .post(format!("{}{P}/audiences/search", s.base))
        .json(&json!({"data": {"type": "Audience", "attributes": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.unwrap();
    check_problems(&v);
    assert_eq!(v["errors"][0]["type"], "authentication");
    let (st, v) = call(
        &s,
        "nope",
        Method::POST,
        &format!("{P}/audiences/search"),
        Some(json!({"data": {}})),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    let (st, v) = call(
        &s,
        &ta,
        Method::POST,
        "/latest/marketing-solutions/audiences/search",
        Some(json!({"data": {}})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");

    // Another advertiser's id answers exactly like an id that exists nowhere.
    let del = |id: &str| json!({"data": [{"id": id, "type": "AudienceSegment"}]});
    let (_, theirs) = post(&s, &ta, "/audience-segments/delete", del(&b_only)).await;
    let (_, nobody) = post(&s, &ta, "/audience-segments/delete", del("aud_4242")).await;
    assert_eq!(
        theirs.to_string().replace(&b_only, "ID"),
        nobody.to_string().replace("aud_4242", "ID")
    );

    // A's search shows only A's segments; B's segment survived everything above.
    let (_, v) = post(
        &s,
        &ta,
        "/audience-segments/search",
        json!({"data": {"type": "AudienceSegment", "attributes": {}}}),
    )
    .await;
    assert_eq!(v["meta"]["totalItems"], 2, "{v}");
    let (_, v) = post(
        &s,
        &tb,
        "/audience-segments/search",
        json!({"data": {"type": "AudienceSegment", "attributes": {"audienceSegmentIds": [b_seg]}}}),
    )
    .await;
    assert_eq!(v["data"][0]["attributes"]["name"], "b-secret");

    // Partial success: one good item, one bad: 200 with both reported.
    let (st, v) = post(&s, &ta, "/audience-segments/create", json!({"data": [
        seg(a, "fine", "retargeting", retarget.clone()), seg(a, "", "retargeting", retarget.clone())]})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(v["errors"][0]["code"], "name-must-not-be-empty");
    assert_eq!(
        v["errors"][0]["source"]["pointer"],
        "/data/1/attributes/name"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_audiences_show_as_behavioral_segments_and_models_without_scores_break_nothing() {
    let s = start().await;
    send_events(&s).await;
    let t = token(&s, &s.a).await;
    let adv = s.a.advertiser_id.as_str();
    let mut ids = Vec::new();
    for (body, category) in [
        (
            json!({"name": "carts", "kind": {"cartAbandoners": {"days": 7}}}),
            "BuyingPatterns",
        ),
        (
            json!({"name": "bf", "kind": {"seasonality": {"season": "BlackFriday"}}}),
            "Seasonal",
        ),
        (
            json!({"name": "women", "kind": {"demographic": {"gender": ["Female"]}}}),
            "Lifestyles",
        ),
        (
            json!({"name": "viewers", "rule": "product_viewed within 30d"}),
            "BuyingPatterns",
        ),
    ] {
        let (st, v) = call(&s, &t, Method::POST, "/v1/audiences", Some(body)).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        ids.push((v["id"].as_str().unwrap().to_string(), category));
    }
    let rule_json = json!({"or": [{"type": "in_audience", "audience": ids[0].0}, {"type": "in_audience", "audience": ids[3].0}]});
    let (st, v) = call(
        &s,
        &t,
        Method::POST,
        "/v1/audiences",
        Some(json!({"name": "either", "rule_json": rule_json})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let either = v["id"].as_str().unwrap().to_string();

    let (_, v) = post(
        &s,
        &t,
        "/audience-segments/search",
        json!({"data": {"type": "AudienceSegment", "attributes": {}}}),
    )
    .await;
    assert_eq!(v["meta"]["totalItems"], 4, "{v}");
    for (item, (id, category)) in v["data"].as_array().unwrap().iter().zip(&ids) {
        assert_eq!(item["id"], id.as_str());
        assert_eq!(item["attributes"]["type"], "Behavioral");
        assert_eq!(item["attributes"]["behavioral"]["category"], *category);
    }
    let (_, v) = post(
        &s,
        &t,
        "/audiences/search",
        json!({"data": {"type": "Audience", "attributes": {}}}),
    )
    .await;
    assert_eq!(v["meta"]["totalItems"], 1);
    assert_eq!(v["data"][0]["id"], either.as_str());
    assert_eq!(
        v["data"][0]["attributes"]["algebra"],
        json!({"or": [{"audienceSegmentId": ids[0].0}, {"audienceSegmentId": ids[3].0}]})
    );
    let (_, v) = post(
        &s,
        &t,
        "/audiences/compute-sizes",
        json!({"data": [{"id": either, "type": "AudienceSize"}]}),
    )
    .await;
    assert_eq!(
        v["data"][0]["attributes"]["size"],
        native_size(&s, &t, &either).await
    );
    assert_eq!(
        v["data"][0]["attributes"]["size"], 3,
        "viewed within 30 days: ann, bob, cid"
    );

    // Lookalike and prospecting segments have no model scores yet: their sizes are null, and
    // nothing else stops working — lookups, new events, other audiences' sizes.
    let (st, v) = post(
        &s,
        &t,
        "/audience-segments/create",
        json!({"data": [
            seg(adv, "lal", "lookalike", json!({"seedSegmentId": ids[3].0})),
            seg(adv, "pros", "prospecting", json!({"usersType": "Prospects"})),
        ]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["errors"], json!([]));
    let (st, v) = call(&s, &t, Method::GET, "/v1/people/ann/audiences", None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let r = reqwest::Client::new()
        .post(format!("{}/v1/track", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"event": "Product Viewed", "userId": "dee", "properties": {"price": 3}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(native_size(&s, &t, &either).await, 4);
    let (st, v) = call(&s, &t, Method::GET, "/v1/people/dee/audiences", None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(
        v["audiences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == either.as_str()),
        "{v}"
    );
}
