//! `/metrics` in the Prometheus text format (0.0.4): event counters by collector endpoint and
//! refusal reason, a latency histogram and status counts per route, audience sizes and people
//! counts per advertiser. `/healthz` lives here too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

/// The `route` label of requests that matched no route (one label, whatever the path).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// A cumulative latency histogram.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; 13],
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines; `labels` is `k="v",…` or empty.
    fn render(&self, name: &str, labels: &str, out: &mut String) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        cumulative += self.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        );
        let braces = |l: &str| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{{{l}}}")
            }
        };
        let _ = writeln!(
            out,
            "{name}_sum{} {}\n{name}_count{} {cumulative}",
            braces(labels),
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            braces(labels),
        );
    }
}

/// What one route has served: its latency histogram and responses by status class.
#[derive(Default)]
struct RouteStats {
    latency: Histogram,
    /// Responses by status class, 1xx … 5xx.
    by_status: [AtomicU64; 5],
}

/// Server counters.
#[derive(Default)]
pub struct Metrics {
    /// Events stored, all endpoints.
    pub events_ingested: AtomicU64,
    /// Events already stored (same `messageId`), all endpoints.
    pub events_duplicate: AtomicU64,
    /// Events refused, all endpoints.
    pub events_rejected: AtomicU64,
    /// Time from request to durable acknowledgement, collector requests.
    pub ingest_latency: Histogram,
    /// Time of `GET /v1/people/{identifier}/audiences`.
    pub lookup_latency: Histogram,
    /// Stored events by collector endpoint.
    ingested_by_endpoint: Mutex<BTreeMap<&'static str, u64>>,
    /// Refusals by (collector endpoint, reason).
    rejected_by: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Per (method, route template).
    routes: RwLock<BTreeMap<(String, String), Arc<RouteStats>>>,
    /// Scheduled model refreshes of one advertiser that finished, and that failed.
    model_refreshes: [AtomicU64; 2],
}

impl Metrics {
    /// Counts one scheduled model refresh of one advertiser.
    pub fn model_refreshed(&self, ok: bool) {
        self.model_refreshes[usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
    }

    /// Records a collector request's stored and duplicate events and its latency.
    pub fn ingested(&self, accepted: u64, duplicates: u64, took: Duration) {
        self.events_ingested.fetch_add(accepted, Ordering::Relaxed);
        self.events_duplicate
            .fetch_add(duplicates, Ordering::Relaxed);
        self.ingest_latency.observe(took);
    }

    /// Counts `n` stored events of a collector endpoint.
    pub fn ingested_at(&self, endpoint: &'static str, n: u64) {
        if let Ok(mut m) = self.ingested_by_endpoint.lock() {
            *m.entry(endpoint).or_default() += n;
        }
    }

    /// Counts `n` refused events (all endpoints).
    pub fn rejected(&self, n: u64) {
        self.events_rejected.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` refusals of a collector endpoint for `reason` (refused events, or one whole
    /// request refused before its events were read).
    pub fn rejected_at(&self, endpoint: &'static str, reason: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        if let Ok(mut m) = self.rejected_by.lock() {
            *m.entry((endpoint, reason)).or_default() += n;
        }
    }

    /// Records one served request of a route.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let key = (method.to_string(), route.to_string());
        let found = self.routes.read().ok().and_then(|m| m.get(&key).cloned());
        let stats = match found {
            Some(s) => s,
            None => match self.routes.write() {
                Ok(mut m) => m.entry(key).or_default().clone(),
                Err(_) => return,
            },
        };
        stats.latency.observe(took);
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        stats.by_status[class].fetch_add(1, Ordering::Relaxed);
    }
}

/// Middleware: times every request and records it under its route template.
pub async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Only standard methods get their own label: any token is a valid method, and each label
    // value is a series kept forever.
    const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    let method = METHODS
        .into_iter()
        .find(|m| *m == req.method().as_str())
        .unwrap_or("other");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_string(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    state.metrics.request(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// A label value with `\`, `"` and newlines escaped.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The whole exposition text.
pub fn exposition(state: &AppState) -> String {
    let m = &state.metrics;
    let mut out = String::new();
    for (name, v, help) in [
        (
            "audex_events_ingested_total",
            &m.events_ingested,
            "Events stored by the collector.",
        ),
        (
            "audex_events_duplicate_total",
            &m.events_duplicate,
            "Events received again (same messageId) and not stored twice.",
        ),
        (
            "audex_events_rejected_total",
            &m.events_rejected,
            "Events refused by validation.",
        ),
    ] {
        header(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
    }
    header(
        &mut out,
        "audex_collector_ingested_total",
        "counter",
        "Events stored, by collector endpoint.",
    );
    if let Ok(by) = m.ingested_by_endpoint.lock() {
        for (endpoint, n) in by.iter() {
            let _ = writeln!(
                out,
                "audex_collector_ingested_total{{endpoint=\"{endpoint}\"}} {n}"
            );
        }
    }
    header(
        &mut out,
        "audex_collector_rejected_total",
        "counter",
        "Collector refusals by endpoint and reason: refused events (reason invalid_event), or whole requests refused before their events were read.",
    );
    if let Ok(by) = m.rejected_by.lock() {
        for ((endpoint, reason), n) in by.iter() {
            let _ = writeln!(
                out,
                "audex_collector_rejected_total{{endpoint=\"{endpoint}\",reason=\"{reason}\"}} {n}"
            );
        }
    }
    header(
        &mut out,
        "audex_ingest_request_seconds",
        "histogram",
        "Collector request latency up to the durable acknowledgement.",
    );
    m.ingest_latency
        .render("audex_ingest_request_seconds", "", &mut out);
    header(
        &mut out,
        "audex_lookup_request_seconds",
        "histogram",
        "Latency of person-to-audiences lookups.",
    );
    m.lookup_latency
        .render("audex_lookup_request_seconds", "", &mut out);
    let routes: Vec<((String, String), Arc<RouteStats>)> = m
        .routes
        .read()
        .map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    header(
        &mut out,
        "audex_http_request_duration_seconds",
        "histogram",
        "Request latency (to the response head) by method and route template.",
    );
    for ((method, route), stats) in &routes {
        let labels = format!("method=\"{}\",route=\"{}\"", esc(method), esc(route));
        stats
            .latency
            .render("audex_http_request_duration_seconds", &labels, &mut out);
    }
    header(
        &mut out,
        "audex_http_requests_total",
        "counter",
        "Responses by method, route template and status class.",
    );
    for ((method, route), stats) in &routes {
        for (i, c) in stats.by_status.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                let _ = writeln!(
                    out,
                    "audex_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}xx\"}} {n}",
                    esc(method),
                    esc(route),
                    i + 1
                );
            }
        }
    }
    header(
        &mut out,
        "audex_model_refreshes_total",
        "counter",
        "Scheduled model refreshes of one advertiser (audex serve --model-refresh), by outcome.",
    );
    for (outcome, n) in ["ok", "failed"].iter().zip(&m.model_refreshes) {
        let _ = writeln!(
            out,
            "audex_model_refreshes_total{{outcome=\"{outcome}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    let mut sizes = String::new();
    let mut people = String::new();
    let mut refreshed = String::new();
    if let Ok(advs) = state.engine.open_advertisers() {
        for a in advs {
            let adv = esc(&a.record.id);
            if let Ok(st) = a.state() {
                let _ = writeln!(
                    people,
                    "audex_people{{advertiser=\"{adv}\"}} {}",
                    st.profiles.people()
                );
            }
            if let Ok(models) = a.model_store() {
                let latest = models
                    .scores
                    .values()
                    .map(|s| s.trained_ms)
                    .chain((!models.tags.tags.is_empty()).then_some(models.tags.inferred_ms))
                    .max();
                if let Some(ms) = latest {
                    let _ = writeln!(
                        refreshed,
                        "audex_models_refreshed_timestamp_seconds{{advertiser=\"{adv}\"}} {}",
                        ms as f64 / 1e3
                    );
                }
            }
            if let Ok(list) = a.membership_sizes() {
                for (id, n) in list {
                    let _ = writeln!(
                        sizes,
                        "audex_audience_members{{advertiser=\"{adv}\",audience=\"{}\"}} {n}",
                        esc(&id)
                    );
                }
            }
        }
    }
    header(
        &mut out,
        "audex_audience_members",
        "gauge",
        "Members of each saved audience (as of the last membership refresh).",
    );
    out.push_str(&sizes);
    header(
        &mut out,
        "audex_people",
        "gauge",
        "People (merged identities) of each open advertiser.",
    );
    out.push_str(&people);
    header(
        &mut out,
        "audex_models_refreshed_timestamp_seconds",
        "gauge",
        "When the advertiser's newest model output (lookalike or prospecting scores, inferred tags) was made, as the evaluation time it was made for (Unix seconds).",
    );
    out.push_str(&refreshed);
    out
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String))
)]
pub async fn render(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let st = state.clone();
    let out = tokio::task::spawn_blocking(move || exposition(&st))
        .await
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

/// `GET /healthz`.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The server is up", body = crate::openapi::Health))
)]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}
