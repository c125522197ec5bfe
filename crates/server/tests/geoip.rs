//! IP geolocation over real HTTP: with MaxMind's GeoLite2-City test database installed in the
//! data directory, events that carry `context.ip` and no `context.location` put people in
//! location and country audiences; a device's own fix outranks a newer IP guess; a
//! country-level answer gives the country but no coordinates; and after a restart that replays
//! the log, everyone is where they were.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use audex_engine::{Engine, EngineOptions};
use audex_geoip::GeoIp;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn city_db() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../geoip/tests/data/GeoLite2-City-Test.mmdb")
}

struct Running {
    base: String,
    engine: Arc<Engine>,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

async fn serve(dir: &Path) -> Running {
    serve_with(dir, audex_server::ServeOptions::default()).await
}

async fn serve_with(dir: &Path, options: audex_server::ServeOptions) -> Running {
    let engine = Arc::new(Engine::open(dir, EngineOptions::default()).expect("engine opens"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let e = engine.clone();
    let done = tokio::spawn(async move {
        audex_server::serve_with(
            e,
            "127.0.0.1:0".parse().expect("addr"),
            options,
            async {
                let _ = stopped.await;
            },
            move |addr| {
                let _ = tx.send(addr);
            },
        )
        .await
        .expect("server runs");
    });
    let addr = rx.await.expect("server bound");
    Running {
        base: format!("http://{addr}"),
        engine,
        stop,
        done,
    }
}

async fn token(base: &str, id: &str, secret: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}"
        ))
        .send()
        .await
        .expect("token request");
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// Audience names of a person, sorted.
async fn audiences_of(base: &str, token: &str, who: &str) -> Vec<String> {
    let r = reqwest::Client::new()
        .get(format!("{base}/v1/people/{who}/audiences"))
        .bearer_auth(token)
        .send()
        .await
        .expect("lookup");
    let v: Value = r.json().await.expect("json");
    let mut names: Vec<String> = v["audiences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Saves an audience (`{"name", "rule" | "kind"}`); panics unless it is created.
async fn create_audience(base: &str, token: &str, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/audiences"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("create audience");
    assert_eq!(r.status(), StatusCode::CREATED, "{body}");
}

/// A person's profile (`GET /v1/people/{who}`).
async fn profile(base: &str, token: &str, who: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}/v1/people/{who}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("profile")
        .json()
        .await
        .expect("json")
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let dest = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_dir(&path, &dest);
        } else if path
            .file_name()
            .is_some_and(|n| n != "LOCK" && n != "snapshot.bin")
        {
            std::fs::copy(&path, &dest).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_located_from_their_ip_and_stay_located_after_a_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let installed = GeoIp::install(dir.path(), &city_db(), audex_engine::now_ms() - 60_000)
        .expect("test database installs");
    assert_eq!(installed.info().database_type, "GeoLite2-City");

    let s = serve(dir.path()).await;
    let creds = s.engine.create_advertiser("shop", 0).expect("advertiser");
    let t = token(&s.base, &creds.client_id, &creds.client_secret).await;
    let http = reqwest::Client::new();
    for (name, rule) in [
        ("london", "near (51.5074, -0.1278) within 25km"),
        ("paris", "near (48.8566, 2.3522) within 25km"),
        ("gb", "country in (GB)"),
        ("bt", "country in (BT)"),
    ] {
        create_audience(&s.base, &t, json!({"name": name, "rule": rule})).await;
    }

    let now = chrono::Utc::now();
    let at = |hours_ago: i64| (now - chrono::Duration::hours(hours_ago)).to_rfc3339();
    let ev = |user: &str, id: &str, hours_ago: i64, context: Value| {
        json!({"type": "track", "event": "Product Viewed", "userId": user, "messageId": id,
               "timestamp": at(hours_ago), "properties": {"product_id": "p1"}, "context": context})
    };
    let batch = json!({"batch": [
        // A laptop in London: located by its IP (GeoLite2: London, 10 km).
        ev("web-ldn", "m1", 5, json!({"ip": "81.2.69.142"})),
        // A phone in Paris, then the same person on a London network a day later: the
        // phone's fix is fresher than 30 days, so they stay in Paris.
        ev("app-paris", "m2", 30, json!({"ip": "81.2.69.142", "app": {"name": "Shop"},
            "location": {"latitude": 48.8566, "longitude": 2.3522}})),
        ev("app-paris", "m3", 6, json!({"ip": "81.2.69.142"})),
        // Bhutan: MaxMind knows the country only (534 km): a country, no coordinates.
        ev("bhutan", "m4", 5, json!({"ip": "67.43.156.1"})),
        // A private address is in no database.
        ev("lan", "m5", 5, json!({"ip": "10.0.0.7"})),
        // A declared country wins over the IP's.
        ev("declared", "m6", 5, json!({"ip": "81.2.69.142", "location": {"country": "BT"}})),
    ]});
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&creds.write_key, Some(""))
        .json(&batch)
        .send()
        .await
        .expect("batch");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.expect("json")["accepted"], 6);

    let expected: [(&str, &[&str]); 5] = [
        ("web-ldn", &["gb", "london"]),
        ("app-paris", &["gb", "paris"]),
        ("bhutan", &["bt"]),
        ("lan", &[]),
        ("declared", &["bt", "london"]),
    ];
    for (who, want) in expected {
        assert_eq!(audiences_of(&s.base, &t, who).await, want, "{who}");
    }
    // The profile says where the location came from.
    let v = profile(&s.base, &t, "web-ldn").await;
    assert_eq!(v["location"]["source"], "ip", "{v}");
    assert_eq!(v["location"]["lat"], 51.5142, "{v}");
    assert_eq!(v["country"], "GB", "{v}");

    // Restart on a copy of the data directory (the running server keeps its lock) without the
    // snapshot written at shutdown: the log replays through the same installed database.
    let _ = s.stop.send(());
    let _ = s.done.await;
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(dir.path(), copy.path());
    let s = serve(copy.path()).await;
    let adv = s.engine.advertiser("shop").expect("advertiser reopens");
    assert!(!adv.open_report.snapshot_loaded, "replayed from the log");
    assert_eq!(adv.state().expect("state").events, 6);
    let t = token(&s.base, &creds.client_id, &creds.client_secret).await;
    for (who, want) in expected {
        assert_eq!(
            audiences_of(&s.base, &t, who).await,
            want,
            "{who} after replay"
        );
    }
    let _ = s.stop.send(());
}

/// Events posted without `context.ip` get the client's address, as Segment's servers add it to
/// what analytics.js sends: the TCP peer, or behind a trusted proxy the first
/// `X-Forwarded-For` entry (a client-written header is ignored otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_gives_events_the_client_address() {
    for trust in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        GeoIp::install(dir.path(), &city_db(), audex_engine::now_ms() - 60_000)
            .expect("test database installs");
        let options = audex_server::ServeOptions {
            trust_forwarded_for: trust,
            ..audex_server::ServeOptions::default()
        };
        let s = serve_with(dir.path(), options).await;
        let creds = s.engine.create_advertiser("shop", 0).expect("advertiser");
        let t = token(&s.base, &creds.client_id, &creds.client_secret).await;
        let http = reqwest::Client::new();
        create_audience(
            &s.base,
            &t,
            json!({"name": "se", "rule": "near (58.41, 15.62) within 20km"}),
        )
        .await;
        // A single call and a batch, both through a proxy that says the browser is in
        // Linköping; the batch's second event names its own address (London).
        let r = http
            .post(format!("{}/v1/page", s.base))
            .basic_auth(&creds.write_key, Some(""))
            .header("x-forwarded-for", "89.160.20.115, 10.1.2.3")
            .json(&json!({"userId": "single", "name": "Home"}))
            .send()
            .await
            .expect("page");
        assert_eq!(r.status(), StatusCode::OK);
        let r = http
            .post(format!("{}/v1/batch", s.base))
            .basic_auth(&creds.write_key, Some(""))
            .header("x-forwarded-for", "89.160.20.115")
            .json(&json!({"batch": [
                {"type": "page", "userId": "batched", "name": "Home"},
                {"type": "page", "userId": "own-ip", "name": "Home", "context": {"ip": "81.2.69.142"}},
            ]}))
            .send()
            .await
            .expect("batch");
        assert_eq!(r.status(), StatusCode::OK);
        let in_se: &[&str] = if trust { &["se"] } else { &[] };
        assert_eq!(
            audiences_of(&s.base, &t, "single").await,
            in_se,
            "trust {trust}"
        );
        assert_eq!(
            audiences_of(&s.base, &t, "batched").await,
            in_se,
            "trust {trust}"
        );
        assert!(audiences_of(&s.base, &t, "own-ip").await.is_empty());
        let v = profile(&s.base, &t, "own-ip").await;
        assert_eq!(v["country"], "GB", "its own context.ip was kept: {v}");
        if !trust {
            // The loopback peer was recorded instead: no location, no country.
            let v = profile(&s.base, &t, "single").await;
            assert!(v["location"].is_null() && v["country"].is_null(), "{v}");
        }
        let _ = s.stop.send(());
    }
}

/// Bid requests get the saved `location` audiences their device is near now: by `device.geo`,
/// else by `device.ip` through the installed database, for people Audex has never seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bid_requests_match_location_audiences_by_the_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    GeoIp::install(dir.path(), &city_db(), audex_engine::now_ms() - 60_000)
        .expect("test database installs");
    let s = serve(dir.path()).await;
    let creds = s.engine.create_advertiser("shop", 0).expect("advertiser");
    let t = token(&s.base, &creds.client_id, &creds.client_secret).await;
    let http = reqwest::Client::new();
    create_audience(
        &s.base,
        &t,
        json!({"name": "near the london store", "kind": {"location": {
            "pointsOfInterest": [{"name": "store", "latitude": 51.5074, "longitude": -0.1278}],
            "radiusInKm": 25}}}),
    )
    .await;
    let bid = |device: Value| {
        json!({"id": "b1", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}],
               "user": {"id": "never-seen"}, "device": device})
    };
    let post = |body: Value| {
        let http = http.clone();
        let url = format!("{}/v1/openrtb/bid-request", s.base);
        let t = t.clone();
        async move {
            let r = http
                .post(url)
                .bearer_auth(t)
                .json(&body)
                .send()
                .await
                .expect("bid");
            let status = r.status();
            (status, r.json::<Value>().await.expect("json"))
        }
    };
    let names = |v: &Value| -> Vec<String> {
        v["user"]["data"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["segment"].as_array().into_iter().flatten())
            .filter_map(|x| x["name"].as_str().map(str::to_owned))
            .collect()
    };
    let (status, v) = post(bid(json!({"ip": "81.2.69.142"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&v), ["near the london store"], "{v}");
    let (_, v) = post(bid(json!({"geo": {"lat": 51.52, "lon": -0.1, "type": 1}}))).await;
    assert_eq!(names(&v), ["near the london store"], "{v}");
    // The device's own fix wins over its network's.
    let (_, v) = post(bid(
        json!({"ip": "81.2.69.142", "geo": {"lat": 48.8566, "lon": 2.3522}}),
    ))
    .await;
    assert!(names(&v).is_empty(), "{v}");
    let (_, v) = post(bid(json!({"ip": "10.0.0.1"}))).await;
    assert!(names(&v).is_empty(), "{v}");
    let (status, v) = post(bid(json!({"geo": {"lat": 200.0, "lon": 0.0}}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["field"], "/device/geo/lat", "{v}");
    let _ = s.stop.send(());
}
