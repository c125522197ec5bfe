//! `POST /v1/openrtb/bid-request` over real HTTP on every bid request in
//! `shared/data/openrtb` (IAB spec 2.5/2.6 examples, bsm/openrtb test data; the 2.6 EIDs
//! fragments are wrapped in a minimal request): a known person gets the Audex `user.data[]`
//! objects and nothing else changes; an unknown person gets the request back byte for byte;
//! malformed requests get a 400 naming the field. After behavioral inference on a small
//! simulated shop, a tagged person's request carries the tags' IAB Audience Taxonomy ids.
//! Contextual audiences match the request's own page ("media category + audience").

mod common;

use std::path::{Path, PathBuf};

use audex_engine::{Credentials, EngineOptions};
use common::Server;
use reqwest::StatusCode;
use serde_json::{Value, json};

const KNOWN: &str = "ortb-known-user";

async fn start() -> Server {
    start_with(EngineOptions::default()).await
}

async fn start_with(options: EngineOptions) -> Server {
    common::start_server(options).await
}

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/openrtb"
    ))
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// Every bid request under the data directory, by name: full requests as they are, the EIDs
/// fragments (`user`/`device` objects only) wrapped in a minimal request. Responses
/// (`seatbid`) and the segtax files are left out.
fn requests() -> Vec<(String, Value)> {
    let mut files = Vec::new();
    json_files(&data_dir(), &mut files);
    let mut out = Vec::new();
    for f in files {
        let name = f.strip_prefix(data_dir()).unwrap().display().to_string();
        let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if v.get("seatbid").is_some() || name.contains("response") || name.contains("bres.") {
            continue;
        }
        if v.get("imp").is_some() {
            out.push((name, v));
        } else {
            let mut wrapped = json!({"id": format!("wrapped-{name}"), "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}]});
            for k in ["user", "device"] {
                if let Some(x) = v.get(k) {
                    wrapped[k] = x.clone();
                }
            }
            assert!(
                wrapped.get("user").is_some() || wrapped.get("device").is_some(),
                "{name}: neither a request nor an EIDs fragment"
            );
            out.push((format!("{name} (wrapped)"), wrapped));
        }
    }
    out
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

async fn post_json(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> Value {
    let r = http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

/// Creates the same three audiences for an advertiser; answers their ids.
async fn audiences(s: &Server, token: &str) -> Vec<String> {
    let http = reqwest::Client::new();
    let url = format!("{}/v1/audiences", s.base);
    let mut ids = Vec::new();
    for body in [
        json!({"name": "viewers", "rule": "product_viewed within 30d"}),
        json!({"name": "women", "kind": {"demographic": {"gender": ["Female"]}}}),
        json!({"name": "women 25-29", "kind": {"demographic": {"gender": ["Female"], "ageMin": 25, "ageMax": 29}}}),
        json!({"name": "buyers", "rule": "order_completed within 30d"}),
    ] {
        let v = post_json(&http, &url, token, &body).await;
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    ids
}

async fn bid(
    http: &reqwest::Client,
    s: &Server,
    token: &str,
    body: Vec<u8>,
) -> (StatusCode, String, Vec<u8>) {
    let r = http
        .post(format!("{}/v1/openrtb/bid-request", s.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let matched = r
        .headers()
        .get("x-audex-match")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, matched, r.bytes().await.unwrap().to_vec())
}

/// The response without the `user.data[]` objects Audex adds, and those objects.
fn split_audex(mut v: Value) -> (Value, Vec<Value>) {
    let mut ours = Vec::new();
    if let Some(data) = v.pointer_mut("/user/data").and_then(Value::as_array_mut) {
        let (a, rest): (Vec<Value>, Vec<Value>) =
            data.drain(..).partition(|d| d["name"] == "audex");
        ours = a;
        *data = rest;
    }
    (v, ours)
}

/// What the request must look like after enrichment once the Audex objects are taken out: the
/// same, except that a request without `user.data` (or `user`) had them created.
fn expected_rest(request: &Value) -> Value {
    let mut v = request.clone();
    if v.get("user").is_none() {
        v["user"] = json!({});
    }
    if v["user"].get("data").is_none() {
        v["user"]["data"] = json!([]);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_enriched_for_a_known_person_and_unchanged_otherwise() {
    let s = start().await;
    let http = reqwest::Client::new();
    let (ta, tb) = (token(&s, &s.a).await, token(&s, &s.b).await);
    let ids_a = audiences(&s, &ta).await;
    audiences(&s, &tb).await;
    let reqs = requests();
    let full = reqs
        .iter()
        .filter(|(n, _)| !n.ends_with("(wrapped)"))
        .count();
    let wrapped = reqs.len() - full;
    assert_eq!(
        (full, wrapped),
        (17, 6),
        "bid requests found: {:?}",
        reqs.iter().map(|r| &r.0).collect::<Vec<_>>()
    );

    // The known person: a woman of 27 who viewed a product, then every identifier any fixture
    // carries is linked to her (anonymous ids, and the IFAs as advertising ids).
    let mut batch = vec![
        json!({"type": "identify", "userId": KNOWN, "messageId": "k-1",
               "traits": {"gender": "female", "age": 27}}),
        json!({"type": "track", "event": "Product Viewed", "userId": KNOWN, "messageId": "k-2",
               "properties": {"product_id": "p1", "price": 10}}),
    ];
    let mut with_ids = 0;
    for (i, (name, req)) in reqs.iter().enumerate() {
        let ids = audex_server::openrtb::validate(req).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        with_ids += usize::from(!ids.is_empty());
        for (j, (field, id)) in ids.iter().enumerate() {
            let mut ev =
                json!({"type": "identify", "userId": KNOWN, "messageId": format!("link-{i}-{j}")});
            if *field == "device.ifa" {
                ev["context"] = json!({"device": {"advertisingId": id}});
            } else {
                ev["anonymousId"] = json!(id);
            }
            batch.push(ev);
        }
    }
    assert!(with_ids >= 12, "only {with_ids} fixtures carry a user id");
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"batch": batch}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);

    let expected_segments: Vec<&str> = ids_a[..3].iter().map(String::as_str).collect();
    let mut checked = 0;
    for (name, req) in &reqs {
        let bytes = serde_json::to_vec_pretty(req).unwrap();
        // Advertiser B knows nobody: exactly the bytes sent come back.
        let (status, matched, out) = bid(&http, &s, &tb, bytes.clone()).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{name}: {}",
            String::from_utf8_lossy(&out)
        );
        assert_eq!(matched, "none", "{name}");
        assert_eq!(
            out, bytes,
            "{name}: unknown person must leave the request unchanged"
        );

        // Advertiser A: the fixture's own identifiers when it has some, else a user.id added.
        let has_ids = !audex_server::openrtb::validate(req).unwrap().is_empty();
        let mut sent = req.clone();
        if !has_ids {
            if sent.get("user").is_none() {
                sent["user"] = json!({});
            }
            sent["user"]["id"] = json!(KNOWN);
        }
        let (status, matched, out) = bid(&http, &s, &ta, serde_json::to_vec(&sent).unwrap()).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{name}: {}",
            String::from_utf8_lossy(&out)
        );
        assert_ne!(matched, "none", "{name}");
        let enriched: Value = serde_json::from_slice(&out).unwrap();
        let (rest, ours) = split_audex(enriched.clone());
        assert_eq!(
            rest,
            expected_rest(&sent),
            "{name}: the rest of the request changed"
        );
        // The pre-existing user.data objects keep their place, ours come last.
        let n = ours.len();
        let data = enriched["user"]["data"].as_array().unwrap();
        assert!(
            data[data.len() - n..].iter().all(|d| d["name"] == "audex"),
            "{name}"
        );
        assert_eq!(n, 2, "{name}: {ours:?}");
        let audex: Vec<&str> = ours[0]["segment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap())
            .collect();
        assert_eq!(audex, expected_segments, "{name}");
        assert_eq!(ours[0]["segment"][1]["name"], "women", "{name}");
        assert!(ours[0].get("ext").is_none(), "{name}");
        assert_eq!(ours[1]["ext"], json!({"segtax": 4}), "{name}");
        assert_eq!(
            ours[1]["segment"],
            json!([{"id": "5", "name": "25-29"}, {"id": "49", "name": "Female"}]),
            "{name}"
        );
        // Enriching an enriched request changes nothing.
        let (_, _, again) = bid(&http, &s, &ta, out.clone()).await;
        assert_eq!(
            serde_json::from_slice::<Value>(&again).unwrap(),
            enriched,
            "{name}: not idempotent"
        );
        checked += 1;
    }
    assert_eq!(checked, 23);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_identifier_field_finds_the_person() {
    let s = start().await;
    let http = reqwest::Client::new();
    let ta = token(&s, &s.a).await;
    let ids = audiences(&s, &ta).await;
    let email = audex_model::normalize::normalize_email("Jane.Doe@Example.com").unwrap();
    let email_sha = audex_model::normalize::sha256_hex(&email);
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"batch": [
            {"type": "track", "event": "Order Completed", "userId": "u-1", "anonymousId": "anon-1",
             "messageId": "e-1", "properties": {"order_id": "o1", "total": 20},
             "context": {"device": {"advertisingId": "6D92078A-8246-4BA4-AE5B-76104861E7DC"}}},
            {"type": "identify", "userId": "u-1", "messageId": "e-2",
             "traits": {"email": "Jane.Doe@Example.com "}},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let imp = json!([{"id": "1"}]);
    let cases = [
        (json!({"user": {"id": "u-1"}}), "user.id"),
        (json!({"user": {"buyeruid": "anon-1"}}), "user.buyeruid"),
        (
            json!({"user": {"id": "nobody", "eids": [{"source": "x.com", "uids": [{"id": "zzz"}, {"id": email_sha, "atype": 3}]}]}}),
            "user.eids.uids.id",
        ),
        (
            json!({"device": {"ifa": "6d92078a-8246-4ba4-ae5b-76104861e7dc"}, "app": {"id": "a"}}),
            "device.ifa",
        ),
    ];
    for (partial, field) in cases {
        let mut req = partial.clone();
        req["id"] = json!("r");
        req["imp"] = imp.clone();
        let (status, matched, out) = bid(&http, &s, &ta, serde_json::to_vec(&req).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(matched, field, "{partial}");
        let v: Value = serde_json::from_slice(&out).unwrap();
        let (_, ours) = split_audex(v);
        assert_eq!(
            ours.len(),
            1,
            "{field}: no IAB segment for a buyer: {ours:?}"
        );
        assert_eq!(
            ours[0]["segment"],
            json!([{"id": ids[3], "name": "buyers"}]),
            "{field}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_name_the_field() {
    let s = start().await;
    let http = reqwest::Client::new();
    let ta = token(&s, &s.a).await;
    let ok = json!({"id": "r", "imp": [{"id": "1"}]});
    let with = |path: &str, v: Value| {
        let mut r = ok.clone();
        let mut parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let last = parts.pop().unwrap();
        let mut at = &mut r;
        for p in parts {
            at = match p.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[p],
            };
        }
        at[last] = v;
        r.to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        ("{\"id\": ".into(), "/"),
        ("[1, 2]".into(), "/"),
        (json!({"imp": [{"id": "1"}]}).to_string(), "/id"),
        (with("/id", json!(7)), "/id"),
        (json!({"id": "r"}).to_string(), "/imp"),
        (with("/imp", json!([])), "/imp"),
        (with("/imp", json!({"id": "1"})), "/imp"),
        (with("/imp", json!([{"id": "1"}, "x"])), "/imp/1"),
        (
            with("/imp", json!([{"id": "1"}, {"banner": {}}])),
            "/imp/1/id",
        ),
        (with("/imp/0/id", json!(1)), "/imp/0/id"),
        (with("/user", json!("u")), "/user"),
        (with("/device", json!([])), "/device"),
        (with("/site", json!(1)), "/site"),
        (with("/user", json!({"id": 12})), "/user/id"),
        (with("/user", json!({"buyeruid": null})), "/user/buyeruid"),
        (with("/user", json!({"data": {}})), "/user/data"),
        (with("/user", json!({"data": [1]})), "/user/data/0"),
        (with("/user", json!({"eids": {}})), "/user/eids"),
        (
            with("/user", json!({"eids": [{"source": "a"}]})),
            "/user/eids/0/uids",
        ),
        (
            with("/user", json!({"eids": [{"uids": [{"atype": 1}]}]})),
            "/user/eids/0/uids/0/id",
        ),
        (
            with("/user", json!({"eids": [{"uids": [{"id": 5}]}]})),
            "/user/eids/0/uids/0/id",
        ),
        (with("/device", json!({"ifa": false})), "/device/ifa"),
        (
            json!({"id": "r", "imp": [{"id": "1"}], "site": {}, "app": {}}).to_string(),
            "/app",
        ),
    ];
    for (body, field) in &cases {
        let (status, _, out) = bid(&http, &s, &ta, body.clone().into_bytes()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let v: Value = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(v["error"], "invalid_request", "{body}: {v}");
        assert_eq!(v["field"], *field, "{body}: {v}");
    }
    // Credentials: the write key is for the collector only.
    let r = http
        .post(format!("{}/v1/openrtb/bid-request", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http
        .post(format!("{}/v1/openrtb/bid-request", s.base))
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Basic client_id:secret works as well as a bearer token.
    let r = http
        .post(format!("{}/v1/openrtb/bid-request", s.base))
        .basic_auth(&s.a.client_id, Some(&s.a.client_secret))
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommended_products_in_the_audex_ext() {
    let s = start().await;
    let http = reqwest::Client::new();
    let ta = token(&s, &s.a).await;
    let product = |id: &str| audex_model::catalog::Product {
        id: id.into(),
        title: format!("Product {id}"),
        brand: Some("Acme".into()),
        price: Some(10.0),
        currency: Some("USD".into()),
        product_type: Some("Shoes".into()),
        category: None,
    };
    s.engine
        .advertiser("shop-a")
        .unwrap()
        .upsert_products(["p1", "p2", "p3"].map(product).to_vec())
        .unwrap();
    // u1 carted p2 and is in no audience (none saved yet); u2 has no history.
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"batch": [
            {"type": "track", "event": "Product Added", "userId": "u1", "messageId": "r-1",
             "properties": {"product_id": "p2", "price": 10}},
            {"type": "identify", "userId": "u2", "messageId": "r-2", "traits": {"plan": "x"}},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let req = json!({"id": "r", "imp": [{"id": "1"}], "user": {"id": "u1"}});
    let post = |query: &'static str| {
        let (http, url, ta, body) = (
            http.clone(),
            format!("{}/v1/openrtb/bid-request{query}", s.base),
            ta.clone(),
            req.to_string(),
        );
        async move {
            let r = http
                .post(url)
                .bearer_auth(ta)
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, v) = post("").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (rest, ours) = split_audex(v.clone());
    assert_eq!(rest, expected_rest(&req));
    assert_eq!(ours.len(), 1, "{v}");
    assert_eq!(ours[0]["segment"], json!([]), "{v}");
    let recs = ours[0]["ext"]["recommendations"].as_array().unwrap();
    assert!(!recs.is_empty() && recs.len() <= 5, "{v}");
    assert_eq!(recs[0]["product_id"], "p2", "the carted product first: {v}");
    let (_, v) = post("?recommendations=1").await;
    assert_eq!(
        v["user"]["data"][0]["ext"]["recommendations"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{v}"
    );
    // None asked for, no audience: the request comes back as it was.
    let (_, v) = post("?recommendations=0").await;
    assert_eq!(v, req);
    let (status, v) = post("?recommendations=many").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["field"], "query", "{v}");
    // u2 has no history: popular products. An unknown person, even with a catalog: unchanged.
    for (user, popular) in [("u2", true), ("nobody", false)] {
        let body = json!({"id": "r", "imp": [{"id": "1"}], "user": {"id": user}});
        let r = http
            .post(format!("{}/v1/openrtb/bid-request", s.base))
            .bearer_auth(&ta)
            .json(&body)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        if popular {
            let recs = &v["user"]["data"][0]["ext"]["recommendations"];
            assert_eq!(recs[0]["reasons"], json!(["popular"]), "{v}");
        } else {
            assert_eq!(v, body);
        }
    }
}

/// The IAB ids of the `segtax` 4 object of an enriched request (empty when there is none).
fn segtax_ids(v: &Value) -> Vec<String> {
    let (_, ours) = split_audex(v.clone());
    ours.iter()
        .filter(|d| d["ext"]["segtax"] == 4)
        .flat_map(|d| d["segment"].as_array().cloned().unwrap_or_default())
        .filter_map(|seg| seg["id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inferred_behavioral_tags_add_their_iab_audience_ids() {
    let s = start_with(EngineOptions {
        taxonomy: Some(common::taxonomy_path()),
    })
    .await;
    let http = reqwest::Client::new();
    let ta = token(&s, &s.a).await;
    let adv = s.engine.advertiser("shop-a").unwrap();
    let tags = {
        let adv = adv.clone();
        tokio::task::spawn_blocking(move || {
            common::load_sim(&adv, 800);
            common::infer_tags(&adv, audex_engine::now_ms())
        })
        .await
        .unwrap()
    };
    // A tagged person and an untagged one, by their primary identifiers (no audience is saved,
    // so only the tags can enrich).
    let (tagged, untagged) = {
        let st = adv.state().unwrap();
        let n = st.profiles.profiles.len() as u32;
        let is_tagged = |p: u32| tags.iter().any(|(_, m)| m.contains(p));
        // People whose primary identifier finds them (not merged into someone else).
        let found = |p: u32| {
            let id = audex_engine::Advertiser::primary_id(&st.profiles, p);
            (audex_engine::view::find_person(&st.profiles, &id) == Some(p)).then_some((p, id))
        };
        let tagged = (0..n)
            .filter(|p| is_tagged(*p))
            .find_map(found)
            .expect("someone is tagged");
        let untagged = (0..n)
            .filter(|p| !is_tagged(*p))
            .find_map(found)
            .expect("someone is untagged");
        (tagged, untagged.1)
    };
    let mut expected: Vec<&str> = Vec::new();
    for (name, members) in &tags {
        if members.contains(tagged.0) {
            let ids = audex_models::behavioral::iab_ids(name);
            assert!(!ids.is_empty(), "{name} maps to IAB ids");
            expected.extend(ids);
        }
    }
    expected.sort_by_key(|id| (id.len(), *id));
    expected.dedup();

    let post = |user: String| {
        let (http, url, ta) = (
            http.clone(),
            format!("{}/v1/openrtb/bid-request?recommendations=0", s.base),
            ta.clone(),
        );
        async move {
            let body =
                serde_json::to_vec(&json!({"id": "r", "imp": [{"id": "1"}], "user": {"id": user}}))
                    .unwrap();
            let (status, matched, out) = bid_url(&http, &url, &ta, body.clone()).await;
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
            (matched, body, out)
        }
    };
    let (matched, sent, out) = post(tagged.1.clone()).await;
    assert_eq!(matched, "user.id");
    let v: Value = serde_json::from_slice(&out).unwrap();
    let (rest, ours) = split_audex(v.clone());
    assert_eq!(
        rest,
        expected_rest(&serde_json::from_slice(&sent).unwrap()),
        "{v}"
    );
    assert_eq!(ours.len(), 2, "{v}");
    assert_eq!(ours[0]["segment"], json!([]), "no audience saved: {v}");
    assert_eq!(ours[1]["ext"], json!({"segtax": 4}), "{v}");
    assert_eq!(segtax_ids(&v), expected, "{v}");
    // Enriching again changes nothing.
    let (http2, ta2) = (http.clone(), ta.clone());
    let url = format!("{}/v1/openrtb/bid-request?recommendations=0", s.base);
    let (_, _, again) = bid_url(&http2, &url, &ta2, out.clone()).await;
    assert_eq!(serde_json::from_slice::<Value>(&again).unwrap(), v);

    // An untagged person in no audience, and an unknown one: the request comes back as sent.
    for user in [untagged, "nobody-at-all".to_string()] {
        let (_, sent, out) = post(user.clone()).await;
        assert_eq!(out, sent, "{user}: {}", String::from_utf8_lossy(&out));
    }
}

async fn bid_url(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> (StatusCode, String, Vec<u8>) {
    let r = http
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let matched = r
        .headers()
        .get("x-audex-match")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, matched, r.bytes().await.unwrap().to_vec())
}

/// "Media category + audience" at bid time: a saved `contextual` audience matches when the
/// request's own page falls under its categories (`content.cat`, else `site.cat` — Content
/// 1.0 codes mapped —, else the page classified) and the viewer is in its audience filter, if
/// any; a person Audex does not know matches only the audiences without a filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contextual_audiences_match_the_requests_own_page() {
    let s = start().await;
    let http = reqwest::Client::new();
    let ta = token(&s, &s.a).await;
    // b is a buyer, c is known but no buyer; neither has read a page.
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&json!({"batch": [
            {"type": "track", "event": "Order Completed", "userId": "b", "messageId": "c-1",
             "properties": {"order_id": "o1", "total": 30}},
            {"type": "track", "event": "Product Viewed", "userId": "c", "messageId": "c-2",
             "properties": {"product_id": "p1"}},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let url = format!("{}/v1/audiences", s.base);
    let id = |body: Value| {
        let (http, url, ta) = (http.clone(), url.clone(), ta.clone());
        async move {
            post_json(&http, &url, &ta, &body).await["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    id(json!({"name": "buyers", "rule": "order_completed within 30d"})).await;
    let sports =
        id(json!({"name": "sports pages", "kind": {"contextual": {"pageCategories": ["483"]}}}))
            .await;
    let sports_buyers = id(json!({"name": "sports pages + buyers",
        "kind": {"contextual": {"pageCategories": ["483"], "audience": "buyers"}}}))
    .await;
    let pets =
        id(json!({"name": "pet pages", "kind": {"contextual": {"pageCategories": ["422"]}}})).await;

    let segments = |user: &str, site: Value| {
        let body = json!({"id": "r", "imp": [{"id": "1"}], "user": {"id": user}, "site": site});
        let (http, url, ta) = (
            http.clone(),
            format!("{}/v1/openrtb/bid-request", s.base),
            ta.clone(),
        );
        async move {
            let r = http
                .post(url)
                .bearer_auth(ta)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let v: Value = r.json().await.unwrap();
            let (_, ours) = split_audex(v);
            let mut ids: Vec<String> = ours
                .first()
                .and_then(|o| o["segment"].as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x["id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            ids.sort();
            ids
        }
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    // Tennis (539, under Sports 483) in content.cat, Content Taxonomy 3.x (cattax 7).
    let tennis = json!({"content": {"cat": ["539"], "cattax": 7}});
    let buyers_id = {
        let all = audiences_by_name(&s, &ta).await;
        all["buyers"].clone()
    };
    assert_eq!(
        segments("b", tennis.clone()).await,
        sorted(vec![
            buyers_id.clone(),
            sports.clone(),
            sports_buyers.clone()
        ])
    );
    assert_eq!(segments("c", tennis.clone()).await, vec![sports.clone()]);
    assert_eq!(segments("nobody", tennis).await, vec![sports.clone()]);
    // Content 1.0 code in site.cat (IAB17 Sports, OpenRTB's default cattax).
    assert_eq!(
        segments("c", json!({"cat": ["IAB17"]})).await,
        vec![sports.clone()]
    );
    // No categories: the page is classified (a pets page).
    assert_eq!(
        segments("c", json!({"page": "https://news.example/pets/cats/1", "content": {"title": "How to care for your cat and dog"}})).await,
        vec![pets]
    );
    // Another topic: no contextual audience; the buyer keeps their own.
    assert_eq!(
        segments("b", json!({"content": {"cat": ["596"], "cattax": 7}})).await,
        vec![buyers_id]
    );
}

/// The advertiser's saved audiences, name → id.
async fn audiences_by_name(s: &Server, token: &str) -> std::collections::HashMap<String, String> {
    let v: Value = reqwest::Client::new()
        .get(format!("{}/v1/audiences", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = v["audiences"]
        .as_array()
        .or(v.as_array())
        .cloned()
        .unwrap_or_default();
    list.iter()
        .filter_map(|a| {
            Some((
                a["name"].as_str()?.to_string(),
                a["id"].as_str()?.to_string(),
            ))
        })
        .collect()
}
