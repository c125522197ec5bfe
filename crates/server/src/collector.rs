//! The Segment HTTP Tracking API: `POST /v1/{track,page,screen,identify,alias,group,batch}`.
//!
//! The write key is the Basic-auth user name (or `writeKey` in the body). A single-call
//! endpoint takes its `type` from the path. 200 means every event of the request is durable;
//! a request with refused events answers 400 naming each one's field, and still stores the
//! valid ones (so a client retry changes nothing: events are deduplicated on `messageId`).
//! Events without `context.ip` get the client's address, as Segment's servers do.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use audex_engine::ingest::{InputLine, parse_one_from};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
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

/// The address a request came from: the first `X-Forwarded-For` entry when the server runs
/// behind a proxy it was told to trust ([`crate::ServeOptions::trust_forwarded_for`]), else the
/// TCP peer.
fn client_ip(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Option<IpAddr> {
    if state.trust_forwarded_for
        && let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return Some(first);
    }
    peer.map(|Extension(ConnectInfo(addr))| addr.ip())
}

async fn single(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    kind: &'static str,
    client: Option<IpAddr>,
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
        kind,
        client,
    )
    .await
}

/// Why a collector request failed, for `audex_collector_rejected_total`.
fn reason(e: &ApiError) -> &'static str {
    match e.code {
        "invalid_request" if e.message.starts_with("invalid JSON") => "invalid_json",
        "invalid_request" | "unauthorized" | "payload_too_large" | "not_stored" => e.code,
        _ => "other",
    }
}

/// Counts a failed collector request under its endpoint and reason (refused events are counted
/// one by one in [`ingest`]) and adds the Segment `code`.
fn refused(state: &AppState, endpoint: &'static str, e: ApiError) -> ApiError {
    let per_event = e
        .extra
        .as_ref()
        .is_some_and(|x| x.get("rejected").is_some());
    if !per_event {
        state.metrics.rejected_at(endpoint, reason(&e), 1);
    }
    with_code(e)
}

/// `POST /v1/batch`: `{"batch": [...], "context"?: {...}, "writeKey"?: "…"}`.
#[utoipa::path(
    post,
    path = "/v1/batch",
    tag = "collector",
    request_body = crate::openapi::BatchBody,
    responses(
        (status = 200, description = "Every event is durable", body = crate::openapi::IngestAck),
        (status = 400, description = "Malformed body or refused events (valid ones are stored); `field` names the first", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown write key", body = crate::openapi::ErrorBody),
        (status = 413, description = "Body over 500 KB", body = crate::openapi::ErrorBody),
    ),
    security(("writeKey" = []))
)]
pub async fn batch(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let st = state.clone();
    let client = client_ip(&state, &headers, peer);
    batch_call(state, headers, body, "batch", client)
        .await
        .map_err(|e| refused(&st, "batch", e))
}

/// `POST /v1/import`: the same as `/v1/batch` (Segment's historical import endpoint).
#[utoipa::path(
    post,
    path = "/v1/import",
    tag = "collector",
    request_body = crate::openapi::BatchBody,
    responses(
        (status = 200, description = "Every event is durable", body = crate::openapi::IngestAck),
        (status = 400, description = "Malformed body or refused events (valid ones are stored); `field` names the first", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown write key", body = crate::openapi::ErrorBody),
        (status = 413, description = "Body over 500 KB", body = crate::openapi::ErrorBody),
    ),
    security(("writeKey" = []))
)]
pub async fn import(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let st = state.clone();
    let client = client_ip(&state, &headers, peer);
    batch_call(state, headers, body, "import", client)
        .await
        .map_err(|e| refused(&st, "import", e))
}

async fn batch_call(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    endpoint: &'static str,
    client: Option<IpAddr>,
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
    ingest(state, adv, bytes.to_vec(), endpoint, client).await
}

/// Validates a request's events (a single event or a batch envelope) and stores the valid
/// ones through the advertiser's group-commit queue.
async fn ingest(
    state: Arc<AppState>,
    adv: Arc<audex_engine::Advertiser>,
    body: Vec<u8>,
    endpoint: &'static str,
    client: Option<IpAddr>,
) -> Result<Response, ApiError> {
    let is_batch = endpoint == "batch" || endpoint == "import";
    let started = Instant::now();
    let received = audex_engine::now_ms();
    let mut events = Vec::new();
    let mut rejected = Vec::new();
    for r in parse_one_from(
        &InputLine {
            line: 0,
            bytes: body,
        },
        received,
        adv.enrichment(),
        client,
    ) {
        match r {
            Ok(p) => events.push(p),
            Err(rej) => rejected.push(rej),
        }
    }
    state.metrics.rejected(rejected.len() as u64);
    state
        .metrics
        .rejected_at(endpoint, "invalid_event", rejected.len() as u64);
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
    state.metrics.ingested_at(endpoint, accepted);
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
    ($name:ident, $kind:literal, $path:tt, $doc:tt) => {
        #[doc = $doc]
        #[utoipa::path(
            post,
            path = $path,
            tag = "collector",
            request_body(content = crate::openapi::SegmentEvent, description = "One call, at most 32 KB; `type` defaults to the path's"),
            responses(
                (status = 200, description = "The event is durable", body = crate::openapi::IngestAck),
                (status = 400, description = "Malformed JSON or a refused event; `field` names what is wrong", body = crate::openapi::ErrorBody),
                (status = 401, description = "Missing or unknown write key", body = crate::openapi::ErrorBody),
                (status = 413, description = "Body over 32 KB", body = crate::openapi::ErrorBody),
            ),
            security(("writeKey" = []))
        )]
        pub async fn $name(
            State(state): State<Arc<AppState>>,
            peer: Option<Extension<ConnectInfo<SocketAddr>>>,
            headers: HeaderMap,
            body: Body,
        ) -> Result<Response, ApiError> {
            let st = state.clone();
            let client = client_ip(&state, &headers, peer);
            single(state, headers, body, $kind, client)
                .await
                .map_err(|e| refused(&st, $kind, e))
        }
    };
}

single_call!(
    track,
    "track",
    "/v1/track",
    "`POST /v1/track`. One `track` call: an action the user did."
);
single_call!(
    page,
    "page",
    "/v1/page",
    "`POST /v1/page`. One `page` call: a web page view."
);
single_call!(
    screen,
    "screen",
    "/v1/screen",
    "`POST /v1/screen`. One `screen` call: an app screen view."
);
single_call!(
    identify,
    "identify",
    "/v1/identify",
    "`POST /v1/identify`. One `identify` call: who the user is, with traits."
);
single_call!(
    alias,
    "alias",
    "/v1/alias",
    "`POST /v1/alias`. One `alias` call: `previousId` and `userId` are the same person."
);
single_call!(
    group,
    "group",
    "/v1/group",
    "`POST /v1/group`. One `group` call: the user's account or organisation."
);
