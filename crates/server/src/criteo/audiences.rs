//! `/audiences…`: and/or/not algebras of segments, saved as audiences whose rule is made of
//! `in_audience` leaves (so the native API sees and sizes the very same audience).

use std::sync::Arc;

use audex_engine::Advertiser;
use audex_rules::{AudienceDef, AudienceKind, Predicate};
use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::adsets;
use super::model::{algebra_from_json, algebra_rule, audience_json, find_audience};
use super::segments::{bulk, compute, engine_problem, estimate, only, rule_problem, unique_name};
use super::{
    CResult, Page, Problem, advertiser, attributes, check_advertiser, check_advertiser_filter,
    data_array, data_object, nillable, optional_str, read_json, required_str, resource_id,
    string_filter,
};
use crate::AppState;

fn read_back(adv: &Advertiser, id: &str, pointer: &str) -> Result<Value, Problem> {
    let links = adsets::load(adv)?;
    let defs = adv.definitions().map_err(|e| engine_problem(e, pointer))?;
    find_audience(&defs, id)
        .and_then(|a| audience_json(&adv.record.id, a, adsets::ad_sets_of(&links, id)))
        .ok_or_else(|| {
            Problem::at(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                pointer,
                "saved audience is not an algebra",
            )
        })
}

/// The rule of a required `algebra` attribute.
fn algebra(
    adv: &Advertiser,
    attrs: &Map<String, Value>,
    ap: &str,
) -> Result<Option<audex_rules::Rule>, Problem> {
    match attrs.get("algebra") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let defs = adv.definitions().map_err(|e| engine_problem(e, ap))?;
            algebra_from_json(&defs, v, &format!("{ap}/algebra")).map(Some)
        }
    }
}

fn create_one(adv: &Advertiser, item: &Value, pointer: &str) -> Result<Value, Problem> {
    let ap = format!("{pointer}/attributes");
    let attrs = attributes(item, pointer)?;
    only(
        attrs,
        &["advertiserId", "name", "description", "algebra"],
        &ap,
    )?;
    check_advertiser(adv, attrs, &ap)?;
    let name = required_str(attrs, "name", &ap)?;
    if name.trim().is_empty() {
        return Err(Problem::invalid(
            "name-must-not-be-empty",
            format!("{ap}/name"),
            "a name must not be empty",
        ));
    }
    let description = optional_str(attrs, "description", &ap)?;
    let rule = algebra(adv, attrs, &ap)?.ok_or_else(|| {
        Problem::invalid(
            "required-field",
            format!("{ap}/algebra"),
            "algebra is required",
        )
    })?;
    unique_name(adv, &name, None, &ap)?;
    let def = AudienceDef {
        name,
        description,
        funnel_stage: None,
        kind: AudienceKind::Rule(rule),
    };
    def.compile().map_err(|e| rule_problem(e, &ap))?;
    let saved = adv
        .create_audience(def)
        .map_err(|e| engine_problem(e, &ap))?;
    read_back(adv, &saved.id, &ap)
}

/// `POST …/audiences/create`.
#[utoipa::path(
    post,
    path = "/{version}/marketing-solutions/audiences/create",
    tag = "criteo",
    description = "Creates audiences: and/or/not algebras of segments.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10")),
    request_body = super::doc::CriteoAudienceCreateRequest,
    responses(
        (status = 200, description = "Every item, or some (failed items are in `errors`)", body = super::doc::CriteoBulkResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 403, description = "An advertiser id other than the credentials' advertiser", body = super::doc::CriteoErrorEnvelope),
        (status = 404, description = "No such segment or audience for this advertiser, or a version that is not YYYY-MM", body = super::doc::CriteoErrorEnvelope),
        (status = 413, description = "Body over 8 MiB", body = super::doc::CriteoErrorEnvelope),
        (status = 422, description = "The definition cannot be evaluated", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn create(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> CResult {
    let adv = advertiser(&state, &headers)?;
    let body = read_json(body).await?;
    let items = data_array(&body)?.clone();
    bulk(adv, items, true, create_one).await
}

fn update_one(adv: &Advertiser, item: &Value, pointer: &str) -> Result<Value, Problem> {
    let ap = format!("{pointer}/attributes");
    let id = resource_id(item, pointer)?;
    let attrs = attributes(item, pointer)?;
    let current = {
        let defs = adv.definitions().map_err(|e| engine_problem(e, pointer))?;
        find_audience(&defs, &id)
            .cloned()
            .ok_or_else(|| Problem::not_found("audience-not-found", format!("{pointer}/id"), &id))?
    };
    only(attrs, &["name", "description", "algebra"], &ap)?;
    let mut def = current.definition.clone();
    if let Some(name) = optional_str(attrs, "name", &ap)? {
        if name.trim().is_empty() {
            return Err(Problem::invalid(
                "name-must-not-be-empty",
                format!("{ap}/name"),
                "a name must not be empty",
            ));
        }
        unique_name(adv, &name, Some(&current.id), &ap)?;
        def.name = name;
    }
    if let Some(v) = nillable(attrs, "description", &ap)? {
        def.description = match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => {
                return Err(Problem::invalid(
                    "invalid-type",
                    format!("{ap}/description/value"),
                    "description.value must be a string or null",
                ));
            }
        };
    }
    if let Some(rule) = algebra(adv, attrs, &ap)? {
        def.kind = AudienceKind::Rule(rule);
    }
    def.compile().map_err(|e| rule_problem(e, &ap))?;
    adv.update_audience(&current.id, def)
        .map_err(|e| engine_problem(e, &ap))?;
    read_back(adv, &current.id, &ap)
}

/// `PATCH …/audiences`.
#[utoipa::path(
    patch,
    path = "/{version}/marketing-solutions/audiences",
    tag = "criteo",
    description = "Updates audiences: name, description, algebra.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10")),
    request_body = super::doc::CriteoAudienceUpdateRequest,
    responses(
        (status = 200, description = "Every item, or some (failed items are in `errors`)", body = super::doc::CriteoBulkResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 404, description = "No such segment or audience for this advertiser, or a version that is not YYYY-MM", body = super::doc::CriteoErrorEnvelope),
        (status = 413, description = "Body over 8 MiB", body = super::doc::CriteoErrorEnvelope),
        (status = 422, description = "The definition cannot be evaluated", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn update(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> CResult {
    let adv = advertiser(&state, &headers)?;
    let body = read_json(body).await?;
    let items = data_array(&body)?.clone();
    bulk(adv, items, true, update_one).await
}

fn delete_one(adv: &Advertiser, item: &Value, pointer: &str) -> Result<Value, Problem> {
    let id = resource_id(item, pointer)?;
    attributes(item, pointer)?;
    {
        let defs = adv.definitions().map_err(|e| engine_problem(e, pointer))?;
        if find_audience(&defs, &id).is_none() {
            return Err(Problem::not_found(
                "audience-not-found",
                format!("{pointer}/id"),
                &id,
            ));
        }
    }
    // An ad set must not target an audience that is gone: unlink it first.
    let _guard = adsets::LOCK.lock().map_err(|_| {
        Problem::at(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            pointer,
            "ad-set lock poisoned",
        )
    })?;
    let linked = adsets::ad_sets_of(&adsets::load(adv)?, &id);
    if !linked.is_empty() {
        return Err(Problem::invalid(
            "audience-in-use",
            format!("{pointer}/id"),
            format!(
                "audience {id:?} is linked to ad sets {linked:?}; unlink them first (PUT …/ad-sets/{{id}}/audience with audienceId null)"
            ),
        ));
    }
    adv.delete_audience(&id).map_err(|e| match e {
        audex_engine::EngineError::Invalid(m) => Problem::invalid(
            "audience-in-use",
            format!("{pointer}/id"),
            format!("audience {id:?} is used by another audience: {m}"),
        ),
        other => engine_problem(other, pointer),
    })?;
    Ok(json!({"id": id, "type": "Audience", "attributes": {}}))
}

/// `POST …/audiences/delete`.
#[utoipa::path(
    post,
    path = "/{version}/marketing-solutions/audiences/delete",
    tag = "criteo",
    description = "Deletes audiences that no ad set is linked to.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10")),
    request_body = super::doc::CriteoIdsRequest,
    responses(
        (status = 200, description = "Every item, or some (failed items are in `errors`)", body = super::doc::CriteoBulkResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 404, description = "No such segment or audience for this advertiser, or a version that is not YYYY-MM", body = super::doc::CriteoErrorEnvelope),
        (status = 413, description = "Body over 8 MiB", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn delete(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> CResult {
    let adv = advertiser(&state, &headers)?;
    let body = read_json(body).await?;
    let items = data_array(&body)?.clone();
    bulk(adv, items, true, delete_one).await
}

/// `POST …/audiences/search?limit=&offset=`.
#[utoipa::path(
    post,
    path = "/{version}/marketing-solutions/audiences/search",
    tag = "criteo",
    description = "Searches the advertiser's audiences.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10"), ("limit" = Option<u32>, Query, description = "Items per page, 0 to 100 (default 50)"), ("offset" = Option<u32>, Query, description = "Zero-based first item (default 0)")),
    request_body = super::doc::CriteoAudienceSearchRequest,
    responses(
        (status = 200, description = "A page of audiences", body = super::doc::CriteoPagedResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 403, description = "An advertiser id other than the credentials' advertiser", body = super::doc::CriteoErrorEnvelope),
        (status = 413, description = "Body over 8 MiB", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn search(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    let page = Page::from_query(query.as_deref())?;
    let body = read_json(body).await?;
    let data = Value::Object(data_object(&body)?.clone());
    let attrs = attributes(&data, "/data")?;
    only(
        attrs,
        &[
            "adSetIds",
            "advertiserIds",
            "audienceIds",
            "audienceSegmentIds",
        ],
        "/data/attributes",
    )?;
    let advertisers = string_filter(attrs, "advertiserIds")?;
    check_advertiser_filter(&adv, &advertisers)?;
    let ad_sets = string_filter(attrs, "adSetIds")?;
    let ids = string_filter(attrs, "audienceIds")?;
    let segments = string_filter(attrs, "audienceSegmentIds")?;
    let links = adsets::load(&adv)?;
    let defs = adv.definitions()?;
    let items: Vec<Value> = defs
        .audiences
        .iter()
        .filter(|a| {
            ad_sets.as_ref().is_none_or(|sets| {
                links
                    .iter()
                    .any(|(set, aud)| *aud == a.id && sets.contains(set))
            })
        })
        .filter(|a| ids.as_ref().is_none_or(|ids| ids.contains(&a.id)))
        .filter(|a| {
            segments.as_ref().is_none_or(|segs| {
                algebra_rule(a).is_some_and(|r| {
                    r.predicates().iter().any(
                        |p| matches!(p, Predicate::InAudience(x) if segs.contains(&x.audience)),
                    )
                })
            })
        })
        .filter_map(|a| audience_json(&adv.record.id, a, adsets::ad_sets_of(&links, &a.id)))
        .collect();
    let (data, meta) = page.apply(items);
    Ok(Json(json!({"data": data, "meta": meta, "errors": [], "warnings": []})).into_response())
}

/// `POST …/audiences/compute-sizes`.
#[utoipa::path(
    post,
    path = "/{version}/marketing-solutions/audiences/compute-sizes",
    tag = "criteo",
    description = "Sizes of saved audiences now.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10")),
    request_body = super::doc::CriteoIdsRequest,
    responses(
        (status = 200, description = "Every item, or some (failed items are in `errors`)", body = super::doc::CriteoBulkResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 404, description = "No such segment or audience for this advertiser, or a version that is not YYYY-MM", body = super::doc::CriteoErrorEnvelope),
        (status = 413, description = "Body over 8 MiB", body = super::doc::CriteoErrorEnvelope),
        (status = 422, description = "The definition cannot be evaluated", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn compute_sizes(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    let body = read_json(body).await?;
    let items = data_array(&body)?.clone();
    compute(adv, items, "AudienceSize", |defs, id| {
        find_audience(defs, id).is_some()
    })
    .await
}

/// `POST …/audiences/estimate-size`: the size of an unsaved algebra.
#[utoipa::path(
    post,
    path = "/{version}/marketing-solutions/audiences/estimate-size",
    tag = "criteo",
    description = "The size of an unsaved algebra.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10")),
    request_body = super::doc::CriteoAudienceEstimateRequest,
    responses(
        (status = 200, description = "`AudienceSizeEstimation`", body = super::doc::CriteoResourceResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 403, description = "An advertiser id other than the credentials' advertiser", body = super::doc::CriteoErrorEnvelope),
        (status = 404, description = "No such segment or audience for this advertiser, or a version that is not YYYY-MM", body = super::doc::CriteoErrorEnvelope),
        (status = 413, description = "Body over 8 MiB", body = super::doc::CriteoErrorEnvelope),
        (status = 422, description = "The definition cannot be evaluated", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn estimate_size(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    let body = read_json(body).await?;
    let data = Value::Object(data_object(&body)?.clone());
    let ap = "/data/attributes";
    let attrs = attributes(&data, "/data")?;
    only(attrs, &["advertiserId", "algebra"], ap)?;
    check_advertiser(&adv, attrs, ap)?;
    let rule = algebra(&adv, attrs, ap)?.ok_or_else(|| {
        Problem::invalid(
            "required-field",
            format!("{ap}/algebra"),
            "algebra is required",
        )
    })?;
    rule.validate().map_err(|e| {
        Problem::invalid(
            "invalid-value",
            format!("{ap}/algebra{}", e.path),
            e.message,
        )
    })?;
    estimate(adv, rule, "AudienceSizeEstimation").await
}
