//! Audex over HTTP: the Segment collector, person lookups, the native audience API, metrics.
//!
//! Every handler answers errors as JSON naming the field; the collector answers 200 only once
//! the events are durable (group-committed per advertiser by [`audex_engine::queue`]).

pub mod auth;
mod collector;
pub mod criteo;
pub mod error;
mod metrics;
mod native;
pub mod openrtb;
pub mod recommend;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audex_engine::queue::IngestQueue;
use audex_engine::{Advertiser, Engine};
use axum::Router;
use axum::routing::{get, post};
use tower_http::decompression::RequestDecompressionLayer;

pub use error::ApiError;
pub use metrics::Metrics;

/// Largest event the collector accepts (Segment's limit).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Largest request body the collector accepts, after decompression (Segment's batch limit).
pub const MAX_BATCH_BYTES: usize = 500 * 1024;

/// Shared state of the server.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub tokens: auth::Tokens,
    pub metrics: Metrics,
    queues: Mutex<HashMap<String, IngestQueue>>,
}

impl AppState {
    /// A state over an open engine.
    pub fn new(engine: Arc<Engine>) -> Arc<AppState> {
        Arc::new(AppState {
            engine,
            tokens: auth::Tokens::default(),
            metrics: Metrics::default(),
            queues: Mutex::new(HashMap::new()),
        })
    }

    /// The group-commit queue of an advertiser (started on first use).
    pub fn queue(&self, adv: &Arc<Advertiser>) -> Result<IngestQueue, ApiError> {
        let mut queues = self
            .queues
            .lock()
            .map_err(|_| ApiError::internal("queue registry poisoned"))?;
        if let Some(q) = queues.get(&adv.record.id) {
            return Ok(q.clone());
        }
        let q = IngestQueue::spawn(adv.clone())?;
        queues.insert(adv.record.id.clone(), q.clone());
        Ok(q)
    }
}

/// The application's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/track", post(collector::track))
        .route("/v1/page", post(collector::page))
        .route("/v1/screen", post(collector::screen))
        .route("/v1/identify", post(collector::identify))
        .route("/v1/alias", post(collector::alias))
        .route("/v1/group", post(collector::group))
        .route("/v1/batch", post(collector::batch))
        .route("/v1/import", post(collector::batch))
        .route("/oauth2/token", post(native::token))
        .route("/v1/openrtb/bid-request", post(openrtb::bid_request))
        .route("/v1/people/{identifier}", get(native::person))
        .route(
            "/v1/people/{identifier}/recommendations",
            get(recommend::person_recommendations),
        )
        .route(
            "/v1/people/{identifier}/audiences",
            get(native::person_audiences),
        )
        .route(
            "/v1/audiences",
            get(native::list_audiences).post(native::create_audience),
        )
        .route("/v1/audiences/estimate-size", post(native::estimate_size))
        .route("/v1/audiences/overlap", get(native::overlap))
        .route(
            "/v1/audiences/{id}",
            get(native::get_audience)
                .put(native::update_audience)
                .patch(native::update_audience)
                .delete(native::delete_audience),
        )
        .route("/v1/audiences/{id}/size", get(native::audience_size))
        .route("/v1/audiences/{id}/members", get(native::audience_members))
        .route("/v1/audiences/{id}/history", get(native::audience_history))
        .route("/v1/audiences/{id}/explain/{person}", get(native::explain))
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/metrics", get(metrics::render))
        .merge(criteo::router())
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(RequestDecompressionLayer::new())
        .with_state(state)
}

/// Re-evaluates every open advertiser's saved audiences every `every`, recording the exits
/// that time causes (windows aging).
pub fn spawn_sweeper(state: Arc<AppState>, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let st = state.clone();
            let _ = tokio::task::spawn_blocking(move || {
                if let Ok(advs) = st.engine.open_advertisers() {
                    for a in advs {
                        if let Err(e) = a.refresh_memberships(audex_engine::now_ms(), "time") {
                            tracing::warn!(advertiser = %a.record.name, error = %e, "membership sweep failed");
                        }
                    }
                }
            })
            .await;
        }
    });
}

/// Serves until `shutdown` resolves, then snapshots every advertiser.
pub async fn serve(
    engine: Arc<Engine>,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let state = AppState::new(engine.clone());
    spawn_sweeper(state.clone(), Duration::from_secs(60));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_bound(listener.local_addr()?);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    let engine2 = engine.clone();
    let _ = tokio::task::spawn_blocking(move || engine2.snapshot_all()).await;
    Ok(())
}
