//! Audex over HTTP: the Segment collector, person lookups, the native audience API, metrics.
//!
//! Every handler answers errors as JSON naming the field; the collector answers 200 only once
//! the events are durable (group-committed per advertiser by [`audex_engine::queue`]).

pub mod auth;
mod collector;
mod console;
pub mod criteo;
pub mod error;
mod metrics;
mod native;
pub mod openapi;
pub mod openrtb;
pub mod recommend;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audex_engine::queue::IngestQueue;
use audex_engine::{Advertiser, Engine};
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
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
    /// Whether the collector takes a client's address from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
}

impl AppState {
    /// A state over an open engine.
    pub fn new(engine: Arc<Engine>) -> Arc<AppState> {
        AppState::new_with(engine, false)
    }

    /// A state over an open engine whose collector trusts `X-Forwarded-For` or not.
    pub fn new_with(engine: Arc<Engine>, trust_forwarded_for: bool) -> Arc<AppState> {
        Arc::new(AppState {
            engine,
            tokens: auth::Tokens::default(),
            metrics: Metrics::default(),
            queues: Mutex::new(HashMap::new()),
            trust_forwarded_for,
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

/// One route: method, path template, and its handler.
pub(crate) type Route = (Method, &'static str, MethodRouter<Arc<AppState>>);

pub(crate) fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, Arc<AppState>>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
    (method, path, on(filter, handler))
}

/// Every route outside the Criteo API, in one place: [`router`] serves exactly these, and the
/// OpenAPI test checks each appears in `/openapi.json` (so document a handler when adding it).
fn table() -> Vec<Route> {
    use Method as M;
    vec![
        route(M::POST, "/v1/track", collector::track),
        route(M::POST, "/v1/page", collector::page),
        route(M::POST, "/v1/screen", collector::screen),
        route(M::POST, "/v1/identify", collector::identify),
        route(M::POST, "/v1/alias", collector::alias),
        route(M::POST, "/v1/group", collector::group),
        route(M::POST, "/v1/batch", collector::batch),
        route(M::POST, "/v1/import", collector::import),
        route(M::POST, "/oauth2/token", native::token),
        route(M::POST, "/v1/openrtb/bid-request", openrtb::bid_request),
        route(M::GET, "/v1/people/{identifier}", native::person),
        route(M::DELETE, "/v1/people/{identifier}", native::delete_person),
        route(
            M::GET,
            "/v1/people/{identifier}/recommendations",
            recommend::person_recommendations,
        ),
        route(
            M::GET,
            "/v1/people/{identifier}/audiences",
            native::person_audiences,
        ),
        route(M::GET, "/v1/audiences", native::list_audiences),
        route(M::POST, "/v1/audiences", native::create_audience),
        route(
            M::POST,
            "/v1/audiences/estimate-size",
            native::estimate_size,
        ),
        route(M::GET, "/v1/audiences/overlap", native::overlap),
        route(M::GET, "/v1/audiences/{id}", native::get_audience),
        route(M::PUT, "/v1/audiences/{id}", native::update_audience),
        route(M::PATCH, "/v1/audiences/{id}", native::update_audience),
        route(M::DELETE, "/v1/audiences/{id}", native::delete_audience),
        route(M::GET, "/v1/audiences/{id}/size", native::audience_size),
        route(
            M::GET,
            "/v1/audiences/{id}/members",
            native::audience_members,
        ),
        route(
            M::GET,
            "/v1/audiences/{id}/history",
            native::audience_history,
        ),
        route(M::GET, "/v1/audiences/{id}/report", native::audience_report),
        route(M::GET, "/v1/audiences/{id}/sizes", native::audience_sizes),
        route(
            M::GET,
            "/v1/audiences/{id}/explain/{person}",
            native::explain,
        ),
        route(M::GET, "/healthz", metrics::healthz),
        route(M::GET, "/metrics", metrics::render),
        route(M::GET, "/openapi.json", openapi::openapi_json),
    ]
}

/// The (method, path template) of every route outside the Criteo API (those are
/// [`criteo::routes`]).
pub fn routes() -> Vec<(Method, &'static str)> {
    table().into_iter().map(|(m, p, _)| (m, p)).collect()
}

/// The application's routes.
pub fn router(state: Arc<AppState>) -> Router {
    let mut app = Router::new();
    for (_, path, handler) in table() {
        app = app.route(path, handler);
    }
    app.route("/", axum::routing::get(console::index))
        .route("/console/console.js", axum::routing::get(console::script))
        .route("/console/console.css", axum::routing::get(console::style))
        .merge(criteo::router())
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(RequestDecompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Re-evaluates every open advertiser's saved audiences every `every`, recording the exits
/// that time causes (windows aging), and rewrites the snapshot of those where people were
/// deleted since (`Advertiser::persist_deletions`).
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
                        if let Err(e) = a.persist_deletions() {
                            tracing::warn!(advertiser = %a.record.name, error = %e, "saving deletions to the snapshot failed");
                        }
                    }
                }
            })
            .await;
        }
    });
}

/// Default period of the model refresh (`audex serve --model-refresh`).
pub const DEFAULT_MODEL_REFRESH: Duration = Duration::from_secs(24 * 3600);

/// The server's background work.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How often saved audiences are re-evaluated for the exits that time causes.
    pub sweep_every: Duration,
    /// How often every advertiser's model-backed audiences are refreshed — lookalike and
    /// prospecting retrained, behavioral tags inferred again, memberships re-evaluated
    /// ([`audex_models::refresh`]); `None` never (only `audex model refresh` then).
    pub model_refresh_every: Option<Duration>,
    /// Take the collector's client address (the `context.ip` of events that carry none) from
    /// the first `X-Forwarded-For` entry: only behind a proxy that sets it, since a client can
    /// write the header itself. Otherwise the TCP peer's address is used.
    pub trust_forwarded_for: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            sweep_every: Duration::from_secs(60),
            model_refresh_every: Some(DEFAULT_MODEL_REFRESH),
            trust_forwarded_for: false,
        }
    }
}

/// Refreshes every advertiser's model-backed audiences every `every` (the first time one
/// period after the start), on a blocking thread and one advertiser at a time, so serving goes
/// on meanwhile; a refresh that outlasts the period delays the next one rather than overlap it.
/// Each refresh is logged, and counted in `/metrics`.
pub fn spawn_model_refresher(state: Arc<AppState>, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let st = state.clone();
            let _ = tokio::task::spawn_blocking(move || refresh_models(&st)).await;
        }
    });
}

/// One scheduled round: every advertiser with events, one after the other.
fn refresh_models(state: &AppState) {
    let records = match state.engine.advertisers() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "model refresh: advertisers unavailable");
            return;
        }
    };
    for record in records {
        let name = record.name.clone();
        let result = state.engine.advertiser(&record.id).and_then(|adv| {
            let events = adv.state()?.events;
            Ok((adv, events))
        });
        let adv = match result {
            Ok((_, 0)) => continue,
            Ok((adv, _)) => adv,
            Err(e) => {
                tracing::warn!(advertiser = %name, error = %e, "model refresh: advertiser unavailable");
                state.metrics.model_refreshed(false);
                continue;
            }
        };
        let options = audex_models::refresh::RefreshOptions {
            now_ms: audex_engine::now_ms(),
            rng_seed: 42,
        };
        tracing::info!(advertiser = %name, "model refresh: started");
        let step = |s: &str| tracing::debug!(advertiser = %name, step = s, "model refresh");
        match audex_models::refresh::refresh(&adv, &options, &step) {
            Ok(r) => {
                state.metrics.model_refreshed(true);
                tracing::info!(
                    advertiser = %name,
                    ms = r.ms.round(),
                    longest_read_lock_ms = r.longest_read_lock_ms.round(),
                    lookalikes = r.lookalikes.len(),
                    prospecting = r.prospecting.is_some(),
                    audiences = r.memberships.0,
                    entered = r.memberships.1,
                    left = r.memberships.2,
                    "model refresh: done"
                );
            }
            Err(e) => {
                state.metrics.model_refreshed(false);
                tracing::warn!(advertiser = %name, error = %e, "model refresh failed");
            }
        }
    }
}

/// Serves until `shutdown` resolves, then snapshots every advertiser; background work as
/// [`ServeOptions::default`].
pub async fn serve(
    engine: Arc<Engine>,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    serve_with(engine, addr, ServeOptions::default(), shutdown, on_bound).await
}

/// [`serve`] with the given background work.
pub async fn serve_with(
    engine: Arc<Engine>,
    addr: SocketAddr,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let state = AppState::new_with(engine.clone(), options.trust_forwarded_for);
    spawn_sweeper(state.clone(), options.sweep_every);
    if let Some(every) = options.model_refresh_every.filter(|d| !d.is_zero()) {
        spawn_model_refresher(state.clone(), every);
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_bound(listener.local_addr()?);
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    let engine2 = engine.clone();
    let _ = tokio::task::spawn_blocking(move || engine2.snapshot_all()).await;
    Ok(())
}
