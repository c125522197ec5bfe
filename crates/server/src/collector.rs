//! The Segment HTTP Tracking API: `POST /v1/{track,page,screen,identify,alias,group,batch}`.
//!
//! The write key is the Basic-auth user name (or `writeKey` in the body). A single-call
//! endpoint takes its `type` from the path. 200 means every event of the request is durable;
//! a request with refused events answers 400 naming each one's field, and still stores the
//! valid ones (so a client retry changes nothing: events are deduplicated on `messageId`).

use std::sync::Arc;
use std::time::Instant;

use audex_engine::ingest::{InputLine, parse_one};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::{AppState, MAX_BATCH_BYTES, MAX_EVENT_BYTES, auth};

async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // The length limit and a broken gzip stream both surface here.
        let text = e.to_string();
        if text.contains("length limit") {
            ApiError::too_large(format!("request body is larger than {} KB", limit / 1024))
        } else {
            ApiError::bad_request("/", format!("could not read the request body: {text}"))
        }
    })
}

/// Segment-protocol clients read `code` and `message` from an error body: rudder-sdk-python
/// retries a 4xx whose body has no `code` (it fails parsing it), and segment-analytics-python
/// reports it as `unknown`. So collector errors carry `code` (the same value as `error`) too.
fn with_code(mut e: ApiError) -> ApiError {
    let mut extra = match e.extra.take() {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    extra.insert("code".into(), Value::String(e.code.to_string()));
    e.extra = Some(Value::Object(extra));
    e
}

async fn single(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    kind: &str,
) -> Result<Response, ApiError> {
    let bytes = read_body(body, MAX_EVENT_BYTES).await?;
    let mut value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "/",
            format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let Some(obj) = value.as_object_mut() else {
        return Err(ApiError::bad_request("/", "expected a JSON object"));
    };
    obj.entry("type")
        .or_insert_with(|| Value::String(kind.to_string()));
    let key = obj
        .get("writeKey")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let adv = auth::writer(&state, &headers, key.as_deref())?;
    ingest(
        state,
        adv,
        serde_json::to_vec(&value).unwrap_or_default(),
        false,
    )
    .await
}

/// `POST /v1/batch`: `{"batch": [...], "context"?: {...}, "writeKey"?: "…"}`.
pub async fn batch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    batch_call(state, headers, body).await.map_err(with_code)
}

async fn batch_call(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(body, MAX_BATCH_BYTES).await?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "/",
            format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let key = value
        .get("writeKey")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let adv = auth::writer(&state, &headers, key.as_deref())?;
    if !value.get("batch").is_some_and(Value::is_array) {
        return Err(ApiError::bad_request(
            "/batch",
            "must be an array of events",
        ));
    }
    drop(value);
    ingest(state, adv, bytes.to_vec(), true).await
}

/// Validates a request's events (a single event or a batch envelope) and stores the valid
/// ones through the advertiser's group-commit queue.
async fn ingest(
    state: Arc<AppState>,
    adv: Arc<audex_engine::Advertiser>,
    body: Vec<u8>,
    is_batch: bool,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let received = audex_engine::now_ms();
    let mut events = Vec::new();
    let mut rejected = Vec::new();
    for r in parse_one(
        &InputLine {
            line: 0,
            bytes: body,
        },
        received,
    ) {
        match r {
            Ok(p) => events.push(p),
            Err(rej) => rejected.push(rej),
        }
    }
    state.metrics.rejected(rejected.len() as u64);
    let outcome = if events.is_empty() {
        None
    } else {
        let queue = state.queue(&adv)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        queue.submit(
            events,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        let r = rx
            .await
            .map_err(|_| ApiError::internal("the ingest worker stopped"))?;
        Some(r.map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_stored",
                format!("events were not stored: {e}"),
            )
        })?)
    };
    let (accepted, duplicates) = outcome.map_or((0, 0), |o| (o.accepted, o.duplicates));
    state
        .metrics
        .ingested(accepted, duplicates, started.elapsed());
    if rejected.is_empty() {
        return Ok(
            Json(json!({"success": true, "accepted": accepted, "duplicates": duplicates}))
                .into_response(),
        );
    }
    let first = &rejected[0];
    let details: Vec<Value> = rejected
        .iter()
        .map(|r| json!({"index": r.index, "field": r.field, "message": r.message}))
        .collect();
    Err(ApiError::bad_request(
        if is_batch {
            format!(
                "/batch/{}{}",
                first.index,
                if first.field == "/" { "" } else { &first.field }
            )
        } else {
            first.field.clone()
        },
        format!("{} event(s) refused: {}", rejected.len(), first.message),
    )
    .with_extra(json!({"accepted": accepted, "duplicates": duplicates, "rejected": details})))
}

macro_rules! single_call {
    ($name:ident, $kind:literal) => {
        #[doc = concat!("`POST /v1/", $kind, "`: one `", $kind, "` call.")]
        pub async fn $name(
            State(state): State<Arc<AppState>>,
            headers: HeaderMap,
            body: Body,
        ) -> Result<Response, ApiError> {
            single(state, headers, body, $kind).await.map_err(with_code)
        }
    };
}

single_call!(track, "track");
single_call!(page, "page");
single_call!(screen, "screen");
single_call!(identify, "identify");
single_call!(alias, "alias");
single_call!(group, "group");
