//! `GET /v1/people/{id}/recommendations` over real HTTP: admin auth, tenancy, retargeting of a
//! carted product, never what was just bought, bad `n`.

use std::net::SocketAddr;
use std::sync::Arc;

use audex_engine::{Engine, EngineOptions};
use audex_model::catalog::Product;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn product(id: &str) -> Product {
    Product {
        id: id.into(),
        title: format!("Product {id}"),
        brand: Some("Acme".into()),
        price: Some(10.0),
        currency: Some("USD".into()),
        product_type: Some("Shoes".into()),
        category: None,
    }
}

fn ev(i: usize, user: &str, name: &str, pid: &str, day: u32) -> Value {
    let mut e = json!({"type": "track", "event": name, "userId": user,
        "messageId": format!("m-{user}-{i}"),
        "timestamp": format!("2026-11-{day:02}T10:00:00.000Z"),
        "properties": {"product_id": pid, "price": 10}});
    if name == "Order Completed" {
        e["properties"] = json!({"order_id": format!("o-{user}-{i}"),
            "products": [{"product_id": pid, "price": 10, "quantity": 1}]});
    }
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommendations_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(dir.path(), EngineOptions::default()).unwrap());
    let a = engine.create_advertiser("shop-a", 0).unwrap();
    let b = engine.create_advertiser("shop-b", 0).unwrap();
    engine
        .advertiser("shop-a")
        .unwrap()
        .upsert_products(["p1", "p2", "p3", "p4"].map(product).to_vec())
        .unwrap();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let e = engine.clone();
    tokio::spawn(async move {
        audex_server::serve(
            e,
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
    let base = format!("http://{}", rx.await.unwrap());
    let http = reqwest::Client::new();

    // Many people buy p4 (popular); u1 carts p2, views p3, and just bought p4.
    let mut batch = Vec::new();
    for k in 0..10 {
        batch.push(ev(k, &format!("other{k}"), "Order Completed", "p4", 20));
    }
    batch.push(ev(1, "u1", "Product Viewed", "p2", 25));
    batch.push(ev(2, "u1", "Product Added", "p2", 25));
    batch.push(ev(3, "u1", "Product Viewed", "p3", 26));
    batch.push(ev(4, "u1", "Order Completed", "p4", 27));
    let r = http
        .post(format!("{base}/v1/batch"))
        .basic_auth(&a.write_key, Some(""))
        .json(&json!({"batch": batch}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    let url = format!("{base}/v1/people/u1/recommendations?n=3&now=2026-11-28T12:00:00Z");
    let r = http
        .get(&url)
        .basic_auth(&a.client_id, Some(&a.client_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let ids: Vec<&str> = body["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["product_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.first(), Some(&"p2"), "{body}");
    assert!(ids.contains(&"p3"), "{body}");
    assert!(!ids.contains(&"p4"), "just bought: {body}");
    let reasons = body["recommendations"][0]["reasons"].as_array().unwrap();
    assert!(reasons.contains(&json!("carted_not_bought")), "{body}");

    // No credentials; another advertiser's credentials; bad n; unknown person.
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http
        .get(&url)
        .basic_auth(&b.client_id, Some(&b.client_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for bad in ["n=0", "n=1000", "n=x", "now=yesterday", "bogus=1"] {
        let r = http
            .get(format!("{base}/v1/people/u1/recommendations?{bad}"))
            .basic_auth(&a.client_id, Some(&a.client_secret))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let r = http
        .get(format!("{base}/v1/people/nobody/recommendations"))
        .basic_auth(&a.client_id, Some(&a.client_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
