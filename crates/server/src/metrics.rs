//! `/metrics` in the Prometheus text format: counters and latency histograms.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

/// A cumulative latency histogram.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; 13],
    sum_micros: AtomicU64,
}

impl Histogram {
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

    fn render(&self, name: &str, out: &mut String) {
        let mut cumulative = 0;
        out.push_str(&format!("# TYPE {name} histogram\n"));
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            out.push_str(&format!("{name}_bucket{{le=\"{b}\"}} {cumulative}\n"));
        }
        cumulative += self.counts[BUCKETS.len()].load(Ordering::Relaxed);
        out.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {cumulative}\n"));
        out.push_str(&format!(
            "{name}_sum {}\n{name}_count {cumulative}\n",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
    }
}

/// Server counters.
#[derive(Default)]
pub struct Metrics {
    pub events_ingested: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub events_rejected: AtomicU64,
    pub ingest_latency: Histogram,
    pub lookup_latency: Histogram,
}

impl Metrics {
    pub fn ingested(&self, accepted: u64, duplicates: u64, took: Duration) {
        self.events_ingested.fetch_add(accepted, Ordering::Relaxed);
        self.events_duplicate
            .fetch_add(duplicates, Ordering::Relaxed);
        self.ingest_latency.observe(took);
    }

    pub fn rejected(&self, n: u64) {
        self.events_rejected.fetch_add(n, Ordering::Relaxed);
    }
}

/// `GET /metrics`.
pub async fn render(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let m = &state.metrics;
    let mut out = String::new();
    for (name, v) in [
        ("audex_events_ingested_total", &m.events_ingested),
        ("audex_events_duplicate_total", &m.events_duplicate),
        ("audex_events_rejected_total", &m.events_rejected),
    ] {
        out.push_str(&format!(
            "# TYPE {name} counter\n{name} {}\n",
            v.load(Ordering::Relaxed)
        ));
    }
    m.ingest_latency
        .render("audex_ingest_request_seconds", &mut out);
    m.lookup_latency
        .render("audex_lookup_request_seconds", &mut out);
    out.push_str("# TYPE audex_audience_members gauge\n");
    if let Ok(advs) = state.engine.open_advertisers() {
        for a in advs {
            if let Ok(sizes) = a.membership_sizes() {
                for (id, n) in sizes {
                    out.push_str(&format!(
                        "audex_audience_members{{advertiser=\"{}\",audience=\"{id}\"}} {n}\n",
                        a.record.id
                    ));
                }
            }
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
