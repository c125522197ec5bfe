//! `/openapi.json` and `/metrics` over real HTTP: every route of the router is documented (and
//! every documented operation is served), and the Prometheus text counts what was sent.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use audex_engine::{Credentials, Engine, EngineOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Server {
    base: String,
    a: Credentials,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(dir.path(), EngineOptions::default()).unwrap());
    let a = engine.create_advertiser("shop-a", 0).unwrap();
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
    Server {
        base: format!("http://{addr}"),
        a,
        _dir: dir,
        _stop: stop,
    }
}

/// Routes anyone may call.
const PUBLIC: [&str; 4] = ["/healthz", "/metrics", "/openapi.json", "/oauth2/token"];

/// A concrete path for a template (`{x}` → `x-value`; a Criteo `{version}` → `2025-10`, so that
/// the request gets past the version check).
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| {
            if seg == "{version}" {
                "2025-10".to_string()
            } else if seg.starts_with('{') && seg.ends_with('}') {
                format!("{}-value", &seg[1..seg.len() - 1])
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a response is the router's own "no such route" or "no such method" answer.
async fn unrouted(r: reqwest::Response) -> Option<String> {
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    let no_route = status == StatusCode::NOT_FOUND && body.contains("no such endpoint");
    (no_route || status == StatusCode::METHOD_NOT_ALLOWED).then(|| format!("{status} {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_in_the_openapi_document() {
    let s = start().await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let spec: Value = r.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["writeKey"]["scheme"], "basic");
    assert_eq!(schemes["adminBasic"]["scheme"], "basic");
    assert_eq!(schemes["adminBearer"]["scheme"], "bearer");
    let event = &spec["components"]["schemas"]["SegmentEvent"]["properties"];
    assert!(
        event["type"].is_object() && event["userId"].is_object(),
        "{event}"
    );

    // Router → document: each route (native and Criteo) has an operation with responses, and
    // auth where needed.
    let native = audex_server::routes();
    assert!(native.len() >= 25, "{native:?}");
    let criteo = audex_server::criteo::routes();
    assert!(criteo.len() >= 20, "{criteo:?}");
    let routes: Vec<_> = native.iter().chain(&criteo).cloned().collect();
    let mut missing = Vec::new();
    for (method, path) in &routes {
        let op = &spec["paths"][*path][method.as_str().to_lowercase()];
        if !op.is_object() {
            missing.push(format!("{method} {path}"));
            continue;
        }
        assert!(
            op["responses"]
                .as_object()
                .is_some_and(|m| m.keys().any(|k| k.starts_with('2'))),
            "{method} {path} documents no success response"
        );
        assert!(
            op["description"].is_string() || op["summary"].is_string(),
            "{method} {path} has no description"
        );
        if !PUBLIC.contains(path) {
            let security = op["security"].as_array().cloned().unwrap_or_default();
            assert!(
                !security.is_empty(),
                "{method} {path} documents no security requirement"
            );
            for req in &security {
                for name in req.as_object().unwrap().keys() {
                    assert!(schemes[name].is_object(), "{method} {path}: scheme {name}");
                }
            }
        }
        for (name, param) in op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| (p["name"].as_str().unwrap(), p))
        {
            assert!(
                path.contains(&format!("{{{name}}}")),
                "{method} {path}: {param}"
            );
        }
    }
    assert!(
        missing.is_empty(),
        "routes served but missing from /openapi.json (annotate the handler with #[utoipa::path] and list it in openapi::ApiDoc, or criteo::CriteoApi for a Criteo route): {missing:?}"
    );

    // The Criteo operations: tagged, the admin bearer token, the version documented as YYYY-MM,
    // errors in Criteo's envelope.
    for (method, path) in &criteo {
        let op = &spec["paths"][*path][method.as_str().to_lowercase()];
        let what = format!("{method} {path}");
        assert!(path.starts_with("/{version}/"), "{what}");
        assert_eq!(op["tags"], json!(["criteo"]), "{what}");
        assert_eq!(op["security"], json!([{"adminBearer": []}]), "{what}");
        let version = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "version" && p["in"] == "path")
            .unwrap_or_else(|| panic!("{what}: no version parameter"));
        assert_eq!(version["required"], true, "{what}");
        assert!(
            version["description"]
                .as_str()
                .is_some_and(|d| d.contains("YYYY-MM")),
            "{what}: {version}"
        );
        assert_eq!(
            version["schema"]["pattern"], "^[0-9]{4}-[0-9]{2}$",
            "{what}"
        );
        for (status, r) in op["responses"].as_object().unwrap() {
            let body = &r["content"]["application/json"]["schema"]["$ref"];
            let body = body.as_str().unwrap_or_default();
            if status.starts_with('4') {
                assert_eq!(
                    body, "#/components/schemas/CriteoErrorEnvelope",
                    "{what} {status}"
                );
            } else {
                assert!(
                    body.starts_with("#/components/schemas/Criteo"),
                    "{what} {status}"
                );
            }
        }
        if ["POST", "PATCH", "PUT"].contains(&method.as_str()) {
            let body = &op["requestBody"]["content"]["application/json"]["schema"]["$ref"];
            assert!(
                body.as_str()
                    .is_some_and(|b| b.starts_with("#/components/schemas/Criteo")),
                "{what}: request body {body}"
            );
        }
    }
    // Every documented path is a route of one of the two lists.
    for path in spec["paths"].as_object().unwrap().keys() {
        assert!(
            routes.iter().any(|(_, p)| p == path),
            "{path} documented but in neither audex_server::routes() nor criteo::routes()"
        );
    }
    assert_eq!(spec["info"]["title"], "Audex", "ApiDoc's info is kept");

    // Every $ref resolves.
    let text = spec.to_string();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &part[..part.find('"').unwrap()];
        assert!(
            spec["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }

    // Document → router: every documented operation is served, and every other method of a
    // documented path is refused with 405 (an undocumented method fails here).
    let mut problems = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            let documented = item[method].is_object();
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = http
                .request(m, format!("{}{}", s.base, concrete(path)))
                .send()
                .await
                .unwrap();
            let status = r.status();
            match (documented, unrouted(r).await) {
                (true, Some(answer)) => {
                    problems.push(format!("{method} {path} documented, not served: {answer}"))
                }
                (false, None) => problems.push(format!(
                    "{method} {path} served ({status}) but not documented"
                )),
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The samples of an exposition: `name{labels}` → value.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        assert!(
            out.insert(series.to_string(), v).is_none(),
            "duplicate series {series}"
        );
    }
    out
}

fn get(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

/// Checks every histogram: buckets non-decreasing in `le`, `+Inf` equal to `_count`.
fn check_histograms(samples: &BTreeMap<String, f64>) -> usize {
    let mut groups: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (series, v) in samples {
        let Some((name, labels)) = series.split_once("_bucket{") else {
            continue;
        };
        let labels = labels.trim_end_matches('}');
        let (rest, le) = labels.rsplit_once("le=\"").unwrap();
        let le = le.trim_end_matches('"');
        let le: f64 = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap()
        };
        let rest = rest.trim_end_matches(',');
        let key = if rest.is_empty() {
            name.to_string()
        } else {
            format!("{name}{{{rest}}}")
        };
        groups.entry(key).or_default().push((le, *v));
    }
    for (key, mut buckets) in groups.clone() {
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(
            buckets.windows(2).all(|w| w[0].1 <= w[1].1),
            "{key}: buckets not monotone {buckets:?}"
        );
        let count_key = match key.split_once('{') {
            Some((n, l)) => format!("{n}_count{{{l}"),
            None => format!("{key}_count"),
        };
        assert_eq!(
            buckets.last().unwrap(),
            &(f64::INFINITY, get(samples, &count_key)),
            "{key}: +Inf bucket differs from {count_key}"
        );
        assert!(buckets.len() > 5, "{key}: only {} buckets", buckets.len());
    }
    groups.len()
}

async fn scrape(http: &reqwest::Client, s: &Server) -> BTreeMap<String, f64> {
    let r = http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    parse(&r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_traffic() {
    let s = start().await;
    let http = reqwest::Client::new();
    let before = scrape(&http, &s).await;
    assert_eq!(get(&before, "audex_events_ingested_total"), 0.0);

    let now = chrono::Utc::now().to_rfc3339();
    let ev = |i: usize, user: &str| {
        json!({"event": "Product Added", "userId": user, "messageId": format!("m-{i}"),
               "timestamp": now, "properties": {"product_id": "p1", "price": 5}})
    };
    let wk = |rb: reqwest::RequestBuilder| rb.basic_auth(&s.a.write_key, Some(""));
    for (i, user) in ["ann", "bob", "cat"].iter().enumerate() {
        let r = wk(http.post(format!("{}/v1/track", s.base)))
            .json(&ev(i, user))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // A batch with two good events and one refused (no userId or anonymousId).
    let r = wk(http.post(format!("{}/v1/batch", s.base)))
        .json(&json!({"batch": [
            {"type": "track", "event": "Product Viewed", "userId": "dan", "messageId": "b-1", "timestamp": now},
            {"type": "track", "event": "Product Viewed", "messageId": "b-2", "timestamp": now},
            {"type": "track", "event": "Product Viewed", "userId": "ann", "messageId": "b-3", "timestamp": now},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Malformed JSON, an unknown write key, and a duplicate.
    let r = wk(http.post(format!("{}/v1/track", s.base)))
        .header("content-type", "application/json")
        .body("{\"event\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = http
        .post(format!("{}/v1/track", s.base))
        .basic_auth("no-such-key", Some(""))
        .json(&ev(9, "eve"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = wk(http.post(format!("{}/v1/track", s.base)))
        .json(&ev(0, "ann"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // An audience, then lookups.
    let admin = |rb: reqwest::RequestBuilder| {
        rb.basic_auth(&s.a.client_id, Some(s.a.client_secret.as_str()))
    };
    let r = admin(http.post(format!("{}/v1/audiences", s.base)))
        .json(&json!({"name": "adders", "rule": "product_added within 30d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let audience: Value = r.json().await.unwrap();
    let audience_id = audience["id"].as_str().unwrap().to_string();
    const LOOKUPS: usize = 7;
    for i in 0..LOOKUPS {
        let who = ["ann", "bob", "nobody"][i % 3];
        let r = admin(http.get(format!("{}/v1/people/{who}/audiences", s.base)))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            if who == "nobody" {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            }
        );
    }
    let r = http
        .get(format!("{}/no/such/path", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A made-up method is labelled `other` (label values stay bounded).
    let r = http
        .request(
            Method::from_bytes(b"BREW").unwrap(),
            format!("{}/healthz", s.base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);

    let after = scrape(&http, &s).await;
    assert_eq!(
        get(
            &after,
            "audex_http_requests_total{method=\"other\",route=\"/healthz\",status=\"4xx\"}"
        ),
        1.0
    );
    assert!(!after.keys().any(|k| k.contains("BREW")));
    // Totals: 3 tracks + 2 batch events stored, 1 duplicate, 1 refused event.
    assert_eq!(get(&after, "audex_events_ingested_total"), 5.0);
    assert_eq!(get(&after, "audex_events_duplicate_total"), 1.0);
    assert_eq!(get(&after, "audex_events_rejected_total"), 1.0);
    for (series, want) in [
        ("audex_collector_ingested_total{endpoint=\"track\"}", 3.0),
        ("audex_collector_ingested_total{endpoint=\"batch\"}", 2.0),
        (
            "audex_collector_rejected_total{endpoint=\"batch\",reason=\"invalid_event\"}",
            1.0,
        ),
        (
            "audex_collector_rejected_total{endpoint=\"track\",reason=\"invalid_json\"}",
            1.0,
        ),
        (
            "audex_collector_rejected_total{endpoint=\"track\",reason=\"unauthorized\"}",
            1.0,
        ),
    ] {
        assert_eq!(get(&after, series), want, "{series}");
        assert!(get(&after, series) > get(&before, series), "{series}");
    }
    // Histograms: monotone, +Inf = _count; counts equal the requests made.
    assert!(check_histograms(&before) >= 2);
    assert!(check_histograms(&after) >= 6);
    let route = |m: &str, r: &str| format!("method=\"{m}\",route=\"{r}\"");
    let lookups = route("GET", "/v1/people/{identifier}/audiences");
    assert_eq!(
        get(
            &after,
            &format!("audex_http_request_duration_seconds_count{{{lookups}}}")
        ),
        LOOKUPS as f64
    );
    assert_eq!(
        get(
            &after,
            &format!("audex_http_requests_total{{{lookups},status=\"2xx\"}}")
        ),
        (LOOKUPS - LOOKUPS / 3) as f64
    );
    assert_eq!(
        get(
            &after,
            &format!("audex_http_requests_total{{{lookups},status=\"4xx\"}}")
        ),
        (LOOKUPS / 3) as f64
    );
    let track = route("POST", "/v1/track");
    assert_eq!(
        get(
            &after,
            &format!("audex_http_request_duration_seconds_count{{{track}}}")
        ),
        6.0
    );
    assert_eq!(
        get(
            &after,
            &format!(
                "audex_http_request_duration_seconds_count{{{}}}",
                route("GET", "/metrics")
            )
        ),
        1.0,
        "the first scrape"
    );
    assert_eq!(
        get(
            &after,
            &format!(
                "audex_http_requests_total{{{},status=\"4xx\"}}",
                route("GET", "unmatched")
            )
        ),
        1.0
    );
    assert_eq!(get(&after, "audex_ingest_request_seconds_count"), 5.0);
    assert_eq!(get(&after, "audex_lookup_request_seconds_count"), 5.0);
    // Gauges: audience size and people.
    let adv = s.a.advertiser_id.as_str();
    assert_eq!(
        get(
            &after,
            &format!("audex_audience_members{{advertiser=\"{adv}\",audience=\"{audience_id}\"}}")
        ),
        3.0
    );
    assert_eq!(
        get(&after, &format!("audex_people{{advertiser=\"{adv}\"}}")),
        4.0
    );
}

/// The console's files are served from the binary with their types and a policy that lets the
/// page load nothing from anywhere else; the page points at the script and style it is served
/// with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_is_served_with_a_self_only_policy() {
    let s = start().await;
    let http = reqwest::Client::new();
    let mut bodies = Vec::new();
    for (path, ty) in [
        ("/", "text/html"),
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
    ] {
        let r = http
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), reqwest::StatusCode::OK, "{path}");
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        assert!(header("content-type").starts_with(ty), "{path}");
        let csp = header("content-security-policy");
        assert!(
            csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"),
            "{csp}"
        );
        bodies.push(r.text().await.expect("body"));
    }
    assert!(
        bodies[0].contains("/console/console.js") && bodies[0].contains("/console/console.css")
    );
    // The SVG namespace is a name, not a request.
    let outside = bodies.iter().any(|b| {
        let b = b.replace("http://www.w3.org/2000/svg", "");
        b.contains("http://") || b.contains("https://")
    });
    assert!(!outside, "no outside URL");
}
