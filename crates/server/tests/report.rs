//! `GET /v1/audiences/{id}/report` over real HTTP: ad costs, qualified visits and last-touch
//! orders of an audience's members, per campaign and in total; an unknown audience is a 404.

mod common;

use audex_engine::EngineOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_report_per_audience() {
    let s = common::start_server(EngineOptions::default()).await;
    let http = reqwest::Client::new();
    let now = chrono::Utc::now();
    let at = |days_ago: i64| (now - chrono::Duration::days(days_ago)).to_rfc3339();
    let mut n = 0;
    let mut ev = |user: &str, days_ago: i64, name: &str, props: Value| {
        n += 1;
        json!({"type": "track", "event": name, "userId": user, "messageId": format!("r{n}"),
               "timestamp": at(days_ago), "properties": props})
    };
    let ad = |c: &str, cost: f64| json!({"campaign_id": c, "creative_id": "x", "cost": cost});
    let batch = json!({"batch": [
        ev("ann", 10, "Ad Impression", ad("spring", 0.01)),
        ev("ann", 9, "Ad Clicked", ad("spring", 0.5)),
        ev("ann", 9, "Product Viewed", json!({"product_id": "p1", "price": 20})),
        ev("ann", 8, "Order Completed", json!({"order_id": "o1", "revenue": 80})),
        ev("bob", 9, "Ad Impression", ad("spring", 0.01)),
        ev("bob", 9, "Ad Impression", ad("summer", 0.02)),
        ev("bob", 5, "Product Viewed", json!({"product_id": "p1", "price": 20})),
        // Not a buyer-to-be: only viewed.
        ev("cid", 3, "Ad Impression", ad("summer", 0.02)),
    ]});
    let r = http
        .post(format!("{}/v1/batch", s.base))
        .basic_auth(&s.a.write_key, Some(""))
        .json(&batch)
        .send()
        .await
        .expect("batch");
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .post(format!("{}/v1/audiences", s.base))
        .basic_auth(&s.a.client_id, Some(&s.a.client_secret))
        .json(&json!({"name": "viewers", "rule": "product_viewed within 30d", "funnel_stage": "Consideration"}))
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = http
        .get(format!("{}/v1/audiences/{id}/report", s.base))
        .basic_auth(&s.a.client_id, Some(&s.a.client_secret))
        .send()
        .await
        .expect("report");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["members"], 2, "{v}");
    assert_eq!(v["reached"], 2, "{v}");
    assert_eq!(v["funnel_stage"], "Consideration");
    let spring = &v["campaigns"][0];
    assert_eq!(spring["campaign_id"], "spring", "{v}");
    assert_eq!(spring["impressions"], 2);
    assert_eq!(spring["clicks"], 1);
    assert_eq!(spring["qualified_visits"], 1);
    assert_eq!(spring["orders"], 1);
    assert_eq!(spring["revenue"], 80.0);
    assert!((spring["cost"].as_f64().unwrap_or(0.0) - 0.52).abs() < 1e-9);
    assert!((spring["cpm"].as_f64().unwrap_or(0.0) - 260.0).abs() < 1e-6);
    let summer = &v["campaigns"][1];
    assert_eq!(summer["campaign_id"], "summer", "cid is no member: {v}");
    assert_eq!(summer["impressions"], 1);
    assert_eq!(summer["cost_per_order"], Value::Null);
    assert_eq!(v["total"]["orders"], 1);

    let r = http
        .get(format!("{}/v1/audiences/aud_missing/report", s.base))
        .basic_auth(&s.a.client_id, Some(&s.a.client_secret))
        .send()
        .await
        .expect("report");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        r.json::<Value>()
            .await
            .is_ok_and(|e| e.get("message").is_some())
    );
}
