//! The native API: OAuth2 tokens, person lookups, audiences (CRUD, sizes, members, overlap,
//! history, explain). Every endpoint is scoped to the advertiser of the credentials.

use std::sync::Arc;
use std::time::Instant;

use audex_engine::Advertiser;
use audex_engine::audiences::{SavedAudience, definition_from};
use audex_model::event::IdKind;
use audex_rules::{FunnelStage, Rule};
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::{AppState, auth};

/// Decodes `application/x-www-form-urlencoded` pairs (`+` and `%XX`).
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match s
                        .get(i + 1..i + 3)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or(())
                    {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// `POST /oauth2/token`: client credentials (form or JSON body, or Basic auth) → bearer token.
#[utoipa::path(
    post,
    path = "/oauth2/token",
    tag = "auth",
    request_body(description = "Client credentials, form-encoded or JSON (or as Basic auth)", content(
        (crate::openapi::TokenRequest = "application/x-www-form-urlencoded"),
        (crate::openapi::TokenRequest = "application/json")
    )),
    responses(
        (status = 200, description = "A bearer token", body = crate::openapi::TokenResponse),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
    ),
    security((), ("adminBasic" = []))
)]
pub async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = body_bytes(body).await?;
    let pairs: Vec<(String, String)> = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect(),
        _ => form_pairs(&bytes),
    };
    let get = |k: &str| pairs.iter().find(|(pk, _)| pk == k).map(|(_, v)| v.clone());
    let grant = get("grant_type").unwrap_or_else(|| "client_credentials".into());
    if grant != "client_credentials" {
        return Err(ApiError::bad_request(
            "grant_type",
            "only client_credentials is supported",
        ));
    }
    let (id, secret) = match (get("client_id"), get("client_secret")) {
        (Some(id), Some(secret)) => (id, secret),
        _ => auth::basic(&headers).ok_or_else(|| {
            ApiError::bad_request("client_id", "client_id and client_secret are required")
        })?,
    };
    let adv = state
        .engine
        .advertiser_by_client(&id, &secret)?
        .ok_or_else(|| ApiError::unauthorized("unknown client id or wrong secret"))?;
    let token = state.tokens.issue(&adv.record.id);
    // `refresh_token` must be present (null is fine): Criteo's SDK reads the key unconditionally.
    Ok(Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": auth::TOKEN_TTL.as_secs(), "refresh_token": null})).into_response())
}

/// Resolves any identifier (userId, anonymousId, device id, email, SHA-256, or `kind:value`).
fn find_person(adv: &Advertiser, s: &str) -> Result<u32, ApiError> {
    let state = adv.state()?;
    audex_engine::view::find_person(&state.profiles, s)
        .ok_or_else(|| ApiError::not_found(format!("no person with identifier {s:?}")))
}

fn audience_json(a: &SavedAudience) -> Value {
    json!({"id": a.id, "name": a.name(), "funnel_stage": a.funnel_stage(), "kind": a.definition.kind.key()})
}

/// `GET /v1/people/{identifier}/audiences`: the hot path.
#[utoipa::path(
    get,
    path = "/v1/people/{identifier}/audiences",
    tag = "people",
    params(("identifier" = String, Path, description = "Any identifier: userId, anonymousId, device id, email, SHA-256 of an email, or kind:value")),
    responses(
        (status = 200, description = "The person's audiences", body = crate::openapi::PersonAudiences),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn person_audiences(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(identifier): Path<String>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let adv = auth::admin(&state, &headers)?;
    let person = find_person(&adv, &identifier)?;
    let audiences = adv.audiences_of(person)?;
    state.metrics.lookup_latency.observe(started.elapsed());
    Ok(Json(json!({"person": person, "audiences": audiences.iter().map(audience_json).collect::<Vec<_>>()})).into_response())
}

/// A query string, refused as a JSON 400 naming what is wrong.
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Q(v)),
            Err(e) => Err(ApiError::bad_request("query", e.body_text())),
        }
    }
}

#[derive(Deserialize)]
pub struct NowQuery {
    now: Option<String>,
}

fn parse_now(q: &Option<String>) -> Result<i64, ApiError> {
    match q {
        None => Ok(audex_engine::now_ms()),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_millis())
            .map_err(|_| ApiError::bad_request("now", format!("{s:?} is not an RFC 3339 time"))),
    }
}

/// `GET /v1/people/{identifier}`: the profile.
#[utoipa::path(
    get,
    path = "/v1/people/{identifier}",
    tag = "people",
    params(("identifier" = String, Path, description = "Any identifier: userId, anonymousId, device id, email, SHA-256 of an email, or kind:value"), ("now" = Option<String>, Query, description = "Evaluate at this RFC 3339 time instead of now")),
    responses(
        (status = 200, description = "The person's profile: identifiers, traits, aggregates, recent activity", body = Object),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn person(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(identifier): Path<String>,
    Q(q): Q<NowQuery>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let now = parse_now(&q.now)?;
    let person = find_person(&adv, &identifier)?;
    let st = adv.state()?;
    let view = audex_engine::view::profile_json(&st.profiles, person, now)
        .ok_or_else(|| ApiError::not_found("no profile"))?;
    Ok(Json(view).into_response())
}

/// `DELETE /v1/people/{identifier}`: privacy deletion of the person (see `audex people delete`).
#[utoipa::path(
    delete,
    path = "/v1/people/{identifier}",
    tag = "people",
    params(("identifier" = String, Path, description = "Any identifier: userId, anonymousId, device id, email, SHA-256 of an email, or kind:value")),
    responses(
        (status = 200, description = "Deleted: the person left every audience and export; their events leave the log at the next erase", body = crate::openapi::DeletedPersonBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn delete_person(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(identifier): Path<String>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let deleted = tokio::task::spawn_blocking(move || {
        adv.delete_person(&identifier).map(|d| (d, identifier))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    match deleted {
        (Some(d), _) => Ok(Json(json!({
            "person": d.person,
            "identifiers": d.identifiers,
            "history_entries": d.history_entries,
            "audiences_left": d.audiences_left,
        }))
        .into_response()),
        (None, identifier) => Err(ApiError::not_found(format!(
            "no person with identifier {identifier:?}"
        ))),
    }
}

/// A definition in a request body: `rule` (text), `rule_json`, or `kind` (typed), with a name
/// and optional funnel stage.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefinitionBody {
    name: Option<String>,
    rule: Option<String>,
    rule_json: Option<Value>,
    kind: Option<Value>,
    funnel_stage: Option<FunnelStage>,
    description: Option<String>,
}

/// Parses a JSON body, naming the failing field (serde_path_to_error).
fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        // serde_path_to_error writes "." for the root and "?" for an unknown position.
        let field = match path.as_str() {
            "." | "?" => "/".to_string(),
            p => format!("/{}", p.replace('.', "/")),
        };
        ApiError::bad_request(field, e.into_inner().to_string())
    })
}

fn definition(
    body: &DefinitionBody,
    name_default: Option<&str>,
) -> Result<audex_rules::AudienceDef, ApiError> {
    let name = body
        .name
        .clone()
        .or(name_default.map(str::to_owned))
        .ok_or_else(|| ApiError::bad_request("/name", "an audience needs a name"))?;
    let json = match (&body.rule_json, &body.kind) {
        (Some(r), None) => Some(r.to_string()),
        (None, Some(k)) => Some(k.to_string()),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "/kind",
                "give one of rule, rule_json or kind",
            ));
        }
        (None, None) => None,
    };
    if body.rule.is_some() && json.is_some() {
        return Err(ApiError::bad_request(
            "/rule",
            "give one of rule, rule_json or kind",
        ));
    }
    let mut def = definition_from(
        &name,
        body.rule.as_deref(),
        json.as_deref(),
        body.funnel_stage,
    )
    .map_err(|e| {
        ApiError::bad_request(
            if body.rule.is_some() {
                "/rule"
            } else if body.kind.is_some() {
                "/kind"
            } else {
                "/rule_json"
            },
            e.to_string(),
        )
    })?;
    if body.description.is_some() {
        def.description = body.description.clone();
    }
    Ok(def)
}

async fn body_bytes(body: Body) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(|_| ApiError::too_large("request body is larger than 1 MB"))
}

/// `GET /v1/audiences`.
#[utoipa::path(
    get,
    path = "/v1/audiences",
    tag = "audiences",
    responses(
        (status = 200, description = "The saved audiences with their sizes", body = crate::openapi::AudienceList),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn list_audiences(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let sizes: std::collections::HashMap<String, u64> =
        adv.membership_sizes()?.into_iter().collect();
    let defs = adv.definitions()?;
    let list: Vec<Value> = defs
        .audiences
        .iter()
        .map(|a| {
            let mut v = audience_json(a);
            v["size"] = json!(sizes.get(&a.id));
            v
        })
        .collect();
    Ok(Json(json!({"audiences": list})).into_response())
}

fn saved(adv: &Advertiser, id: &str) -> Result<SavedAudience, ApiError> {
    adv.definitions()?
        .audience(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no audience {id:?}")))
}

/// `POST /v1/audiences`.
#[utoipa::path(
    post,
    path = "/v1/audiences",
    tag = "audiences",
    request_body = crate::openapi::DefinitionBody,
    responses(
        (status = 201, description = "Created, with its size", body = crate::openapi::AudienceSummary),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 413, description = "Body over 1 MB", body = crate::openapi::ErrorBody),
        (status = 422, description = "The rule cannot be evaluated", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn create_audience(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let body: DefinitionBody = parse_body(&body_bytes(body).await?)?;
    let def = definition(&body, None)?;
    let adv2 = adv.clone();
    let saved = tokio::task::spawn_blocking(move || -> Result<SavedAudience, ApiError> {
        let s = adv2.create_audience(def)?;
        adv2.refresh_memberships(audex_engine::now_ms(), "definition")?;
        Ok(s)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    let mut v = audience_json(&saved);
    v["size"] = json!(
        adv.membership_sizes()?
            .into_iter()
            .find(|(id, _)| *id == saved.id)
            .map(|x| x.1)
    );
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `GET /v1/audiences/{id}`.
#[utoipa::path(
    get,
    path = "/v1/audiences/{id}",
    tag = "audiences",
    params(("id" = String, Path, description = "The audience id")),
    responses(
        (status = 200, description = "The audience with its definition and rule", body = crate::openapi::AudienceDetail),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn get_audience(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let a = saved(&adv, &id)?;
    let rule = a
        .definition
        .compile()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut v = audience_json(&a);
    v["definition"] = serde_json::to_value(&a.definition).unwrap_or(Value::Null);
    v["rule"] = json!(rule.to_text());
    v["rule_json"] = rule.to_json();
    Ok(Json(v).into_response())
}

/// `PUT|PATCH /v1/audiences/{id}`.
#[utoipa::path(
    method(put, patch),
    path = "/v1/audiences/{id}",
    tag = "audiences",
    params(("id" = String, Path, description = "The audience id")),
    request_body = crate::openapi::DefinitionBody,
    responses(
        (status = 200, description = "Updated", body = crate::openapi::AudienceSummary),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
        (status = 422, description = "The rule cannot be evaluated", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn update_audience(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let current = saved(&adv, &id)?;
    let body: DefinitionBody = parse_body(&body_bytes(body).await?)?;
    let def = definition(&body, Some(current.name()))?;
    let adv2 = adv.clone();
    let updated = tokio::task::spawn_blocking(move || -> Result<SavedAudience, ApiError> {
        let s = adv2.update_audience(&id, def)?;
        adv2.refresh_memberships(audex_engine::now_ms(), "definition")?;
        Ok(s)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(audience_json(&updated)).into_response())
}

/// `DELETE /v1/audiences/{id}`.
#[utoipa::path(
    delete,
    path = "/v1/audiences/{id}",
    tag = "audiences",
    params(("id" = String, Path, description = "The audience id")),
    responses(
        (status = 200, description = "Deleted: `{\"deleted\": id}`", body = Object),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn delete_audience(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let gone = adv.delete_audience(&id)?;
    Ok(Json(json!({"deleted": gone.id})).into_response())
}

fn rule_of(a: &SavedAudience) -> Result<Rule, ApiError> {
    a.definition
        .compile()
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// `GET /v1/audiences/{id}/size?now=`.
#[utoipa::path(
    get,
    path = "/v1/audiences/{id}/size",
    tag = "audiences",
    params(("id" = String, Path, description = "The audience id"), ("now" = Option<String>, Query, description = "Evaluate at this RFC 3339 time instead of now")),
    responses(
        (status = 200, description = "Members at `now`", body = crate::openapi::SizeBody),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn audience_size(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Q(q): Q<NowQuery>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let now = parse_now(&q.now)?;
    let rule = rule_of(&saved(&adv, &id)?)?;
    let adv2 = adv.clone();
    let size = tokio::task::spawn_blocking(move || adv2.evaluate(&rule, now).map(|b| b.len()))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(json!({"id": id, "size": size})).into_response())
}

/// `POST /v1/audiences/estimate-size`: the size of an unsaved definition (live preview).
#[utoipa::path(
    post,
    path = "/v1/audiences/estimate-size",
    tag = "audiences",
    params(("now" = Option<String>, Query, description = "Evaluate at this RFC 3339 time instead of now")),
    request_body = crate::openapi::DefinitionBody,
    responses(
        (status = 200, description = "The size of the unsaved definition", body = crate::openapi::SizeBody),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 422, description = "The rule cannot be evaluated", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn estimate_size(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Q(q): Q<NowQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let now = parse_now(&q.now)?;
    let body: DefinitionBody = parse_body(&body_bytes(body).await?)?;
    let rule = definition(&body, Some("unsaved"))?
        .compile()
        .map_err(|e| ApiError::bad_request(e.path.clone(), e.message.clone()))?;
    let adv2 = adv.clone();
    let size = tokio::task::spawn_blocking(move || adv2.evaluate(&rule, now).map(|b| b.len()))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(json!({"size": size})).into_response())
}

#[derive(Deserialize)]
pub struct MembersQuery {
    now: Option<String>,
    format: Option<String>,
}

/// `GET /v1/audiences/{id}/members?format=csv|ndjson`: every member, streamed.
#[utoipa::path(
    get,
    path = "/v1/audiences/{id}/members",
    tag = "audiences",
    params(("id" = String, Path, description = "The audience id"), ("now" = Option<String>, Query, description = "Evaluate at this RFC 3339 time instead of now"), ("format" = Option<String>, Query, description = "`csv` (default) or `ndjson`")),
    responses(
        (status = 200, description = "Every member, streamed: CSV `person,primary_id,user_id,anonymous_ids,email_sha256` or NDJSON", content(
            (String = "text/csv"),
            (String = "application/x-ndjson")
        )),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn audience_members(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Q(q): Q<MembersQuery>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let now = parse_now(&q.now)?;
    let format = q.format.clone().unwrap_or_else(|| "csv".into());
    if format != "csv" && format != "ndjson" {
        return Err(ApiError::bad_request(
            "format",
            "format must be csv or ndjson",
        ));
    }
    let rule = rule_of(&saved(&adv, &id)?)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(16);
    tokio::task::spawn_blocking(move || {
        let members = match adv.evaluate(&rule, now) {
            Ok(m) => m,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let Ok(state) = adv.state() else { return };
        let store = &state.profiles;
        let mut chunk = Vec::with_capacity(64 * 1024);
        if format == "csv" {
            chunk.extend_from_slice(b"person,primary_id,user_id,anonymous_ids,email_sha256\n");
        }
        for p in &members {
            let ids = store.identity.ids_of(p);
            let of = |k: IdKind| {
                ids.iter()
                    .filter(|i| i.kind == k)
                    .map(|i| i.value.as_str())
                    .collect::<Vec<_>>()
            };
            let primary = Advertiser::primary_id(store, p);
            if format == "csv" {
                let quote = |s: &str| {
                    if s.contains([',', '"', '\n']) {
                        format!("\"{}\"", s.replace('"', "\"\""))
                    } else {
                        s.to_string()
                    }
                };
                chunk.extend_from_slice(
                    format!(
                        "{p},{},{},{},{}\n",
                        quote(&primary),
                        quote(&of(IdKind::UserId).join(" ")),
                        quote(&of(IdKind::AnonymousId).join(" ")),
                        quote(&of(IdKind::EmailSha256).join(" "))
                    )
                    .as_bytes(),
                );
            } else {
                chunk.extend_from_slice(json!({"person": p, "primary_id": primary, "user_id": of(IdKind::UserId), "anonymous_ids": of(IdKind::AnonymousId), "email_sha256": of(IdKind::EmailSha256)}).to_string().as_bytes());
                chunk.push(b'\n');
            }
            if chunk.len() >= 60 * 1024 && tx.blocking_send(Ok(std::mem::take(&mut chunk))).is_err()
            {
                return;
            }
        }
        let _ = tx.blocking_send(Ok(chunk));
    });
    let stream = ReceiverStream(rx);
    let ctype = if q.format.as_deref() == Some("ndjson") {
        "application/x-ndjson"
    } else {
        "text/csv"
    };
    Ok(([(header::CONTENT_TYPE, ctype)], Body::from_stream(stream)).into_response())
}

/// A body stream over a channel of chunks.
struct ReceiverStream(tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>);

impl futures_core::Stream for ReceiverStream {
    type Item = Result<Vec<u8>, std::io::Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.get_mut().0.poll_recv(cx)
    }
}

#[derive(Deserialize)]
pub struct OverlapQuery {
    a: String,
    b: String,
    now: Option<String>,
}

/// `GET /v1/audiences/overlap?a=&b=`.
#[utoipa::path(
    get,
    path = "/v1/audiences/overlap",
    tag = "audiences",
    params(("a" = String, Query, description = "An audience id"), ("b" = String, Query, description = "Another audience id"), ("now" = Option<String>, Query, description = "Evaluate at this RFC 3339 time instead of now")),
    responses(
        (status = 200, description = "Sizes of both, their intersection and Jaccard index", body = crate::openapi::Overlap),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn overlap(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Q(q): Q<OverlapQuery>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let now = parse_now(&q.now)?;
    let (ra, rb) = (rule_of(&saved(&adv, &q.a)?)?, rule_of(&saved(&adv, &q.b)?)?);
    let adv2 = adv.clone();
    let (a, b) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        Ok((adv2.evaluate(&ra, now)?, adv2.evaluate(&rb, now)?))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    let both = (&a & &b).len();
    let union = (&a | &b).len();
    Ok(Json(json!({"a": a.len(), "b": b.len(), "both": both, "only_a": a.len() - both, "only_b": b.len() - both,
        "jaccard": if union > 0 { both as f64 / union as f64 } else { 0.0 }})).into_response())
}

/// `GET /v1/audiences/{id}/history`.
#[utoipa::path(
    get,
    path = "/v1/audiences/{id}/history",
    tag = "audiences",
    params(("id" = String, Path, description = "The audience id")),
    responses(
        (status = 200, description = "Entries and exits", body = crate::openapi::HistoryBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn audience_history(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let a = saved(&adv, &id)?;
    let history = adv.history(Some(&a.id))?;
    let st = adv.state()?;
    let items: Vec<Value> = history
        .iter()
        .map(|t| json!({"person": Advertiser::primary_id(&st.profiles, t.person), "entered": t.entered,
            "at": chrono::DateTime::from_timestamp_millis(t.at_ms).map(|d| d.to_rfc3339()), "cause": t.cause}))
        .collect();
    Ok(Json(json!({"id": a.id, "history": items})).into_response())
}

/// `?days=` of `GET /v1/audiences/{id}/sizes`.
#[derive(Debug, Deserialize)]
pub struct SizesQuery {
    pub days: Option<String>,
}

/// Most days `GET /v1/audiences/{id}/sizes` evaluates (one evaluation each).
const MAX_SIZE_DAYS: u32 = 180;

/// `GET /v1/audiences/{id}/sizes`: the audience's size by day two ways — `days`, recorded:
/// entries and exits from its history (what really happened since it was saved); `evaluated`:
/// the definition evaluated at the end of each of the last `days` days (default 30) on the data
/// as it is now, so a new audience shows its trend too. What the console charts.
#[utoipa::path(
    get,
    path = "/v1/audiences/{id}/sizes",
    tag = "audiences",
    params(("id" = String, Path, description = "The audience id"), ("days" = Option<u32>, Query, description = "Days to evaluate, 1–180 (default 30)")),
    responses(
        (status = 200, description = "Recorded and evaluated sizes, oldest first", body = crate::openapi::SizesBody),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn audience_sizes(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Q(q): Q<SizesQuery>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let days = match q.days.as_deref() {
        None => 30,
        Some(d) => d
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_SIZE_DAYS).contains(d))
            .ok_or_else(|| {
                ApiError::bad_request("days", format!("days must be 1 to {MAX_SIZE_DAYS}"))
            })?,
    };
    let a = saved(&adv, &id)?;
    let rule = rule_of(&a)?;
    let id = a.id.clone();
    let now = audex_engine::now_ms();
    let (recorded, evaluated) = tokio::task::spawn_blocking(move || {
        let recorded = adv
            .history(Some(&a.id))
            .map(|h| audex_engine::audiences::daily_sizes(&h))?;
        let mut evaluated = Vec::with_capacity(days as usize);
        for k in (0..i64::from(days)).rev() {
            // The end of each day; today's point is now.
            let day_end = (now.div_euclid(86_400_000) - k + 1) * 86_400_000 - 1;
            let at = day_end.min(now);
            let size = adv.evaluate(&rule, at)?.len();
            let date = chrono::DateTime::from_timestamp_millis(at)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            evaluated.push(json!({"date": date, "size": size}));
        }
        Ok::<_, audex_engine::EngineError>((recorded, evaluated))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(json!({"id": id, "days": recorded, "evaluated": evaluated})).into_response())
}

/// `GET /v1/audiences/{id}/report`: each ad campaign's cost and results among the audience's
/// members (CPM, CTR, cost per qualified visit, cost per order, ROAS; see
/// `audex_engine::reports`).
#[utoipa::path(
    get,
    path = "/v1/audiences/{id}/report",
    tag = "audiences",
    params(("id" = String, Path, description = "The audience id"), ("now" = Option<String>, Query, description = "Evaluate membership at this RFC 3339 time instead of now")),
    responses(
        (status = 200, description = "Per campaign and in total, over the members' retained history", body = crate::openapi::ReportBody),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn audience_report(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Q(q): Q<NowQuery>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let now = parse_now(&q.now)?;
    let a = saved(&adv, &id)?;
    let (a, report) = tokio::task::spawn_blocking(move || adv.audience_report(&a.id, now))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(json!({
        "id": a.id,
        "name": a.name(),
        "funnel_stage": a.funnel_stage(),
        "attribution_days": audex_engine::reports::ATTRIBUTION_DAYS,
        "members": report.members,
        "reached": report.total.reached,
        "campaigns": report.campaigns,
        "total": report.total,
    }))
    .into_response())
}

/// `GET /v1/audiences/{id}/explain/{person}`.
#[utoipa::path(
    get,
    path = "/v1/audiences/{id}/explain/{person}",
    tag = "audiences",
    params(("id" = String, Path, description = "The audience id"), ("person" = String, Path, description = "Any identifier of the person"), ("now" = Option<String>, Query, description = "Evaluate at this RFC 3339 time instead of now")),
    responses(
        (status = 200, description = "Why the person is (or is not) in the audience: the rule tree with each node's value", body = Object),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn explain(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, person)): Path<(String, String)>,
    Q(q): Q<NowQuery>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let now = parse_now(&q.now)?;
    let rule = rule_of(&saved(&adv, &id)?)?;
    let who = find_person(&adv, &person)?;
    let v = adv.with_context(|ctx, _| Ok(audex_index::explain(ctx, who, &rule, now)?))?;
    Ok(Json(v).into_response())
}
