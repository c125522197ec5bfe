//! `/audience-segments…`: create, update, delete, search, sizes, estimates and the in-market
//! brand and interest lists. Segments are saved audiences of Criteo-shaped kinds.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use audex_engine::{Advertiser, EngineError};
use audex_rules::{AudienceDef, AudienceKind, Rule, ValidationError};
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::model::{SegmentType, find_segment, segment_json, segment_type};
use super::{
    CResult, CriteoError, Page, Problem, advertiser, attributes, blocking, bulk_response,
    check_advertiser, check_advertiser_filter, data_array, data_object, is_own, nillable,
    optional_str, read_json, required_str, resource_id, single_response, string_filter, typed,
};
use crate::AppState;

/// The sub-object keys a segment can be created with.
const CREATABLE: [&str; 6] = [
    "inMarket",
    "prospecting",
    "retargeting",
    "location",
    "lookalike",
    "contactList",
];

/// An engine failure on one item, as a problem at `pointer`.
pub(super) fn engine_problem(e: EngineError, pointer: &str) -> Problem {
    match e {
        EngineError::Invalid(m) if m.contains("already exists") => {
            Problem::invalid("name-must-be-unique", format!("{pointer}/name"), m)
        }
        EngineError::Invalid(m) => Problem::invalid("invalid-value", pointer, m),
        EngineError::UnknownAudience(id) => Problem::not_found("segment-not-found", pointer, &id),
        EngineError::UnknownList(id) => Problem::not_found("contact-list-not-found", pointer, &id),
        EngineError::Eval(ev) => Problem::at(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not-evaluable",
            pointer,
            ev.to_string(),
        ),
        other => Problem::at(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            pointer,
            other.to_string(),
        ),
    }
}

/// A rule validation error (`/kind/inMarket/interestIds/0`) as a problem under `attrs_pointer`.
pub(super) fn rule_problem(e: ValidationError, attrs_pointer: &str) -> Problem {
    let path = e.path.strip_prefix("/kind").unwrap_or(&e.path);
    Problem::invalid("invalid-value", format!("{attrs_pointer}{path}"), e.message)
}

/// Refuses attributes other than `allowed`.
pub(super) fn only(
    attrs: &Map<String, Value>,
    allowed: &[&str],
    pointer: &str,
) -> Result<(), Problem> {
    for k in attrs.keys() {
        if !allowed.contains(&k.as_str()) {
            let hint = match k.as_str() {
                "behavioral" => "; behavioral segments are provided, not created or updated",
                "contactList" => "; identifiers go through PATCH …/{id}/contact-list",
                _ => "",
            };
            return Err(Problem::invalid(
                "unknown-field",
                format!("{pointer}/{k}"),
                format!("{k} is not accepted here{hint}"),
            ));
        }
    }
    Ok(())
}

/// The one sub-object key set among `keys`.
fn one_kind<'a>(
    attrs: &'a Map<String, Value>,
    keys: &[&'static str],
    pointer: &str,
    required: bool,
) -> Result<Option<(&'static str, &'a Value)>, Problem> {
    let set: Vec<(&'static str, &Value)> = keys
        .iter()
        .filter_map(|k| attrs.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
        .collect();
    match set.as_slice() {
        [one] => Ok(Some(*one)),
        [] if !required => Ok(None),
        _ => Err(Problem::invalid(
            "invalid-segment-type",
            pointer,
            format!("give exactly one of {}", keys.join(", ")),
        )),
    }
}

/// A typed kind from its Criteo sub-object (`{"inMarket": {...}}`).
fn kind_from(key: &str, value: &Value, attrs_pointer: &str) -> Result<AudienceKind, Problem> {
    if !value.is_object() {
        return Err(Problem::invalid(
            "invalid-type",
            format!("{attrs_pointer}/{key}"),
            format!("{key} must be an object"),
        ));
    }
    typed::<AudienceKind>(&json!({ key: value }), attrs_pointer)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LookalikeCreate {
    seed_segment_id: String,
    #[serde(default)]
    target_size: Option<u64>,
}

fn valid_name(name: &str, attrs_pointer: &str) -> Result<(), Problem> {
    if name.trim().is_empty() {
        return Err(Problem::invalid(
            "name-must-not-be-empty",
            format!("{attrs_pointer}/name"),
            "a name must not be empty",
        ));
    }
    Ok(())
}

/// Refuses a name another saved audience already has (names are unique per advertiser).
pub(super) fn unique_name(
    adv: &Advertiser,
    name: &str,
    except: Option<&str>,
    attrs_pointer: &str,
) -> Result<(), Problem> {
    let defs = adv
        .definitions()
        .map_err(|e| engine_problem(e, attrs_pointer))?;
    if defs
        .audiences
        .iter()
        .any(|a| a.name() == name && Some(a.id.as_str()) != except)
    {
        return Err(Problem::invalid(
            "name-must-be-unique",
            format!("{attrs_pointer}/name"),
            format!("a segment or audience named {name:?} already exists"),
        ));
    }
    Ok(())
}

fn create_one(adv: &Advertiser, item: &Value, pointer: &str) -> Result<Value, Problem> {
    let ap = format!("{pointer}/attributes");
    let attrs = attributes(item, pointer)?;
    only(
        attrs,
        &[
            "advertiserId",
            "name",
            "description",
            "inMarket",
            "prospecting",
            "retargeting",
            "location",
            "lookalike",
            "contactList",
        ],
        &ap,
    )?;
    check_advertiser(adv, attrs, &ap)?;
    let name = required_str(attrs, "name", &ap)?;
    valid_name(&name, &ap)?;
    let description = optional_str(attrs, "description", &ap)?;
    let Some((key, value)) = one_kind(attrs, &CREATABLE, &ap, true)? else {
        return Err(Problem::invalid(
            "invalid-segment-type",
            ap,
            "a segment type is required",
        ));
    };
    unique_name(adv, &name, None, &ap)?;
    let kind = match key {
        "contactList" => {
            if !value.is_object() {
                return Err(Problem::invalid(
                    "invalid-type",
                    format!("{ap}/contactList"),
                    "contactList must be an object ({} when creating)",
                ));
            }
            // The list is created once the definition is known to be valid.
            AudienceKind::ContactList {
                list_id: String::new(),
            }
        }
        "lookalike" => {
            let l: LookalikeCreate = typed(value, &format!("{ap}/lookalike"))?;
            let defs = adv.definitions().map_err(|e| engine_problem(e, &ap))?;
            if find_segment(&defs, &l.seed_segment_id).is_none() {
                return Err(Problem::not_found(
                    "segment-not-found",
                    format!("{ap}/lookalike/seedSegmentId"),
                    &l.seed_segment_id,
                ));
            }
            if l.target_size == Some(0) {
                return Err(Problem::invalid(
                    "invalid-value",
                    format!("{ap}/lookalike/targetSize"),
                    "targetSize must be at least 1",
                ));
            }
            AudienceKind::Lookalike {
                seed_audience: l.seed_segment_id,
                target_size: l.target_size,
            }
        }
        _ => {
            if key == "inMarket" && value.get("country").is_none_or(Value::is_null) {
                return Err(Problem::invalid(
                    "required-field",
                    format!("{ap}/inMarket/country"),
                    "country is required",
                ));
            }
            kind_from(key, value, &ap)?
        }
    };
    let mut def = AudienceDef {
        name: name.clone(),
        description,
        funnel_stage: None,
        kind,
    };
    let mut list_id = None;
    if let AudienceKind::ContactList { list_id: id } = &mut def.kind {
        let list = create_list(adv, &name).map_err(|e| engine_problem(e, &ap))?;
        *id = list.clone();
        list_id = Some(list);
    }
    def.compile().map_err(|e| rule_problem(e, &ap))?;
    let saved = adv.create_audience(def).map_err(|e| {
        if let Some(l) = &list_id {
            let _ = adv.delete_list(l);
        }
        engine_problem(e, &ap)
    })?;
    let defs = adv.definitions().map_err(|e| engine_problem(e, &ap))?;
    segment_json(&defs, &adv.record.id, &saved).ok_or_else(|| {
        Problem::at(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            ap,
            "not a segment",
        )
    })
}

/// A new empty contact list named after the segment (suffixed when the name is taken).
fn create_list(adv: &Advertiser, name: &str) -> Result<String, EngineError> {
    let taken: BTreeSet<String> = adv
        .definitions()?
        .lists
        .iter()
        .map(|l| l.name.clone())
        .collect();
    let mut candidate = name.to_string();
    let mut n = 1;
    while taken.contains(&candidate) {
        n += 1;
        candidate = format!("{name} #{n}");
    }
    Ok(adv.create_list(&candidate)?.id)
}

/// Runs one item function over `data[]`, refreshes memberships when something changed, and
/// answers in the bulk envelope.
pub(super) async fn bulk(
    adv: Arc<Advertiser>,
    items: Vec<Value>,
    changes: bool,
    f: fn(&Advertiser, &Value, &str) -> Result<Value, Problem>,
) -> CResult {
    blocking(move || {
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            results.push(f(&adv, item, &format!("/data/{i}")));
        }
        if changes && results.iter().any(Result::is_ok) {
            adv.refresh_memberships(audex_engine::now_ms(), "definition")?;
        }
        bulk_response(results, Vec::new())
    })
    .await
}

/// `POST …/audience-segments/create`.
#[utoipa::path(
    post,
    path = "/{version}/marketing-solutions/audience-segments/create",
    tag = "criteo",
    description = "Creates segments (in-market, prospecting, retargeting, location, lookalike or contact list).",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10")),
    request_body = super::doc::CriteoSegmentCreateRequest,
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

/// Fields each updatable sub-object accepts, and which of them are `Nillable*` wrappers.
fn update_fields(key: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match key {
        "inMarket" => (
            &[
                "country",
                "interestIds",
                "brandIds",
                "buyingPower",
                "priceRange",
                "gender",
            ],
            &["gender"],
        ),
        "prospecting" => (
            &[
                "usersType",
                "daysSinceLastVisitMin",
                "daysSinceLastVisitMax",
            ],
            &["daysSinceLastVisitMin", "daysSinceLastVisitMax"],
        ),
        "retargeting" => (
            &[
                "visitorsType",
                "daysSinceLastVisitMin",
                "daysSinceLastVisitMax",
            ],
            &[],
        ),
        "location" => (&["pointsOfInterest", "radiusInKm", "registryType"], &[]),
        "lookalike" => (&["targetSize"], &[]),
        _ => (&[], &[]),
    }
}

fn update_one(adv: &Advertiser, item: &Value, pointer: &str) -> Result<Value, Problem> {
    let ap = format!("{pointer}/attributes");
    let id = resource_id(item, pointer)?;
    let attrs = attributes(item, pointer)?;
    let current = {
        let defs = adv.definitions().map_err(|e| engine_problem(e, pointer))?;
        find_segment(&defs, &id)
            .cloned()
            .ok_or_else(|| Problem::not_found("segment-not-found", format!("{pointer}/id"), &id))?
    };
    only(
        attrs,
        &[
            "name",
            "description",
            "inMarket",
            "prospecting",
            "retargeting",
            "location",
            "lookalike",
        ],
        &ap,
    )?;
    let mut def = current.definition.clone();
    if let Some(name) = optional_str(attrs, "name", &ap)? {
        valid_name(&name, &ap)?;
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
    let updatable = [
        "inMarket",
        "prospecting",
        "retargeting",
        "location",
        "lookalike",
    ];
    if let Some((key, value)) = one_kind(attrs, &updatable, &ap, false)? {
        let current_type = segment_type(&current);
        if current_type.map(SegmentType::key) != Some(key) {
            return Err(Problem::invalid(
                "segment-type-cannot-change",
                format!("{ap}/{key}"),
                format!(
                    "segment {id:?} is {}; its type cannot change",
                    current_type.map(SegmentType::as_str).unwrap_or("Unknown")
                ),
            ));
        }
        let Value::Object(given) = value else {
            return Err(Problem::invalid(
                "invalid-type",
                format!("{ap}/{key}"),
                format!("{key} must be an object"),
            ));
        };
        let (allowed, nillables) = update_fields(key);
        let sub = format!("{ap}/{key}");
        only(given, allowed, &sub)?;
        let mut merged = serde_json::to_value(&def.kind)
            .ok()
            .and_then(|v| v.get(key).cloned())
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        for (k, v) in given {
            if v.is_null() {
                continue;
            }
            if k == "registryType" {
                if v != "PointOfInterest" {
                    return Err(Problem::invalid(
                        "invalid-value",
                        format!("{sub}/registryType"),
                        "registryType must be PointOfInterest",
                    ));
                }
                continue;
            }
            if nillables.contains(&k.as_str()) {
                match nillable(given, k, &sub)? {
                    Some(Value::Null) => {
                        merged.remove(k);
                    }
                    Some(inner) => {
                        merged.insert(k.clone(), inner.clone());
                    }
                    None => {}
                }
            } else {
                merged.insert(k.clone(), v.clone());
            }
        }
        def.kind = kind_from(key, &Value::Object(merged), &ap)?;
    }
    def.compile().map_err(|e| rule_problem(e, &ap))?;
    let saved = adv
        .update_audience(&current.id, def)
        .map_err(|e| engine_problem(e, &ap))?;
    let defs = adv.definitions().map_err(|e| engine_problem(e, &ap))?;
    segment_json(&defs, &adv.record.id, &saved).ok_or_else(|| {
        Problem::at(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            ap,
            "not a segment",
        )
    })
}

/// `PATCH …/audience-segments`.
#[utoipa::path(
    patch,
    path = "/{version}/marketing-solutions/audience-segments",
    tag = "criteo",
    description = "Updates segments: name, description and their own type's fields.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10")),
    request_body = super::doc::CriteoSegmentUpdateRequest,
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
    let current = {
        let defs = adv.definitions().map_err(|e| engine_problem(e, pointer))?;
        find_segment(&defs, &id)
            .cloned()
            .ok_or_else(|| Problem::not_found("segment-not-found", format!("{pointer}/id"), &id))?
    };
    adv.delete_audience(&current.id).map_err(|e| match e {
        EngineError::Invalid(m) => Problem::invalid(
            "segment-in-use",
            format!("{pointer}/id"),
            format!("segment {id:?} is used by another audience or segment: {m}"),
        ),
        other => engine_problem(other, pointer),
    })?;
    if let AudienceKind::ContactList { list_id } = &current.definition.kind {
        // Kept if something else still refers to the list.
        let _ = adv.delete_list(list_id);
    }
    Ok(json!({"id": id, "type": "AudienceSegment", "attributes": {}}))
}

/// `POST …/audience-segments/delete`.
#[utoipa::path(
    post,
    path = "/{version}/marketing-solutions/audience-segments/delete",
    tag = "criteo",
    description = "Deletes segments that no audience or segment uses.",
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

/// `POST …/audience-segments/search?limit=&offset=`.
#[utoipa::path(
    post,
    path = "/{version}/marketing-solutions/audience-segments/search",
    tag = "criteo",
    description = "Searches the advertiser's segments.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10"), ("limit" = Option<u32>, Query, description = "Items per page, 0 to 100 (default 50)"), ("offset" = Option<u32>, Query, description = "Zero-based first item (default 0)")),
    request_body = super::doc::CriteoSegmentSearchRequest,
    responses(
        (status = 200, description = "A page of segments", body = super::doc::CriteoPagedResponse),
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
    let data = data_object(&body)?;
    let empty = Map::new();
    let attrs = match data.get("attributes") {
        Some(Value::Object(a)) => a,
        None | Some(Value::Null) => &empty,
        Some(_) => {
            return Err(Problem::invalid(
                "invalid-type",
                "/data/attributes",
                "attributes must be an object",
            )
            .into());
        }
    };
    only(
        attrs,
        &[
            "advertiserIds",
            "audienceSegmentIds",
            "audienceSegmentTypes",
        ],
        "/data/attributes",
    )?;
    let advertisers = string_filter(attrs, "advertiserIds")?;
    check_advertiser_filter(&adv, &advertisers)?;
    let ids = string_filter(attrs, "audienceSegmentIds")?;
    let types = match string_filter(attrs, "audienceSegmentTypes")? {
        None => None,
        Some(v) => Some(
            v.iter()
                .enumerate()
                .map(|(i, t)| {
                    SegmentType::parse_filter(t).ok_or_else(|| {
                        Problem::invalid(
                            "invalid-value",
                            format!("/data/attributes/audienceSegmentTypes/{i}"),
                            format!("{t:?} is not a segment type: use InMarket, Prospecting, ContactList, Location, Behavioral, Retargeting, Lookalike or Unknown"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let defs = adv.definitions()?;
    let items: Vec<Value> = defs
        .audiences
        .iter()
        .filter(|a| ids.as_ref().is_none_or(|ids| ids.contains(&a.id)))
        .filter(|a| {
            types
                .as_ref()
                .is_none_or(|ts| ts.contains(&segment_type(a)))
        })
        .filter_map(|a| segment_json(&defs, &adv.record.id, a))
        .collect();
    let (data, meta) = page.apply(items);
    Ok(Json(json!({"data": data, "meta": meta, "errors": [], "warnings": []})).into_response())
}

/// The size of a rule now, or `None` (with a warning) when a model it needs has no scores yet.
/// `rule` must already have its `model` predicates materialized (see [`sizes_of`]).
pub(super) fn size_of(
    ctx: &audex_index::Context<'_>,
    index: &audex_index::Index,
    rule: &Rule,
    now: i64,
    pointer: &str,
    warnings: &mut Vec<Problem>,
) -> Result<Option<u64>, Problem> {
    match audex_index::evaluate(ctx, index, rule, now) {
        Ok(b) => Ok(Some(b.len())),
        Err(audex_index::EvalError::ModelUnavailable(m)) => {
            warnings.push(Problem::warning(
                "size-not-available",
                pointer,
                format!("model {m:?} has no scores yet, so the size is unknown"),
            ));
            Ok(None)
        }
        Err(e) => Err(engine_problem(e.into(), pointer)),
    }
}

/// Sizes of saved audiences chosen by `find`, as `{id, type, attributes: {size}}` items.
///
/// Every item's rule is evaluated in one context built by
/// [`Advertiser::with_rule_context`], so `model` predicates (lookalike, prospecting) are
/// materialized from stored scores exactly as for the native `/v1/audiences/{id}/size`.
pub(super) async fn compute(
    adv: Arc<Advertiser>,
    items: Vec<Value>,
    kind: &'static str,
    find: fn(&audex_engine::audiences::Definitions, &str) -> bool,
) -> CResult {
    blocking(move || {
        let now = audex_engine::now_ms();
        let mut warnings = Vec::new();
        let what = if kind == "AudienceSize" {
            "audience-not-found"
        } else {
            "segment-not-found"
        };
        // Resolve and compile every item first: the context holds the definitions' read lock.
        let resolved: Vec<Result<(String, Rule), Problem>> = {
            let defs = adv.definitions()?;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let pointer = format!("/data/{i}");
                    let id = resource_id(item, &pointer)?;
                    attributes(item, &pointer)?;
                    let a = defs
                        .audiences
                        .iter()
                        .find(|a| a.id == id && find(&defs, &a.id))
                        .ok_or_else(|| Problem::not_found(what, format!("{pointer}/id"), &id))?;
                    let rule = a
                        .definition
                        .compile()
                        .map_err(|e| rule_problem(e, &pointer))?;
                    Ok((id, rule))
                })
                .collect()
        };
        // The compiled rules, with the item index of each (for pointers).
        let (positions, rules): (Vec<usize>, Vec<Rule>) = resolved
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().ok().map(|(_, rule)| (i, rule.clone())))
            .unzip();
        let pointer = |j: usize| format!("/data/{}", positions.get(j).copied().unwrap_or(j));
        let sizes = sizes_of(&adv, rules, now, pointer, &mut warnings)?;
        let mut sizes = sizes.into_iter();
        let results = resolved
            .into_iter()
            .map(|r| {
                let (id, _) = r?;
                let size = sizes.next().unwrap_or(Ok(None))?;
                Ok(json!({"id": id, "type": kind, "attributes": {"size": size}}))
            })
            .collect();
        bulk_response(results, warnings)
    })
    .await
}

/// The sizes of `rules` now, in order, evaluated in one context whose `model` predicates are
/// materialized from stored scores (`pointer(j)` names the j-th rule in problems and
/// warnings). A model without scores gives `None` with a warning.
pub(super) fn sizes_of(
    adv: &Advertiser,
    rules: Vec<Rule>,
    now: i64,
    pointer: impl Fn(usize) -> String,
    warnings: &mut Vec<Problem>,
) -> Result<Vec<Result<Option<u64>, Problem>>, CriteoError> {
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    // One `or` of every rule: the rewrite keeps an `or`'s operands in order.
    let all = Rule::Or(rules);
    let sizes = adv.with_rule_context(Some(&all), |ctx, index, rewritten| {
        let rewritten = match rewritten {
            Some(Rule::Or(v)) => v.as_slice(),
            _ => match &all {
                Rule::Or(v) => v.as_slice(),
                _ => &[],
            },
        };
        Ok(rewritten
            .iter()
            .enumerate()
            .map(|(j, rule)| size_of(ctx, index, rule, now, &pointer(j), warnings))
            .collect())
    })?;
    Ok(sizes)
}

/// `POST …/audience-segments/compute-sizes`.
#[utoipa::path(
    post,
    path = "/{version}/marketing-solutions/audience-segments/compute-sizes",
    tag = "criteo",
    description = "Sizes of saved segments now (null with a warning when a model has no scores yet).",
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
    compute(adv, items, "AudienceSegmentSize", |defs, id| {
        find_segment(defs, id).is_some()
    })
    .await
}

/// The size of an unsaved rule now, in the single-resource envelope.
pub(super) async fn estimate(adv: Arc<Advertiser>, rule: Rule, kind: &'static str) -> CResult {
    blocking(move || {
        let now = audex_engine::now_ms();
        let mut warnings = Vec::new();
        let size = sizes_of(
            &adv,
            vec![rule],
            now,
            |_| "/data".to_string(),
            &mut warnings,
        )?
        .pop()
        .unwrap_or(Ok(None))?;
        Ok(single_response(
            json!({"type": kind, "attributes": {"size": size}}),
            warnings,
        ))
    })
    .await
}

/// `POST …/audience-segments/estimate-size`: in-market or location only.
#[utoipa::path(
    post,
    path = "/{version}/marketing-solutions/audience-segments/estimate-size",
    tag = "criteo",
    description = "The size of an unsaved in-market or location segment.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10")),
    request_body = super::doc::CriteoSegmentEstimateRequest,
    responses(
        (status = 200, description = "`AudienceSegmentSizeEstimation`", body = super::doc::CriteoResourceResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 403, description = "An advertiser id other than the credentials' advertiser", body = super::doc::CriteoErrorEnvelope),
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
    only(attrs, &["advertiserId", "inMarket", "location"], ap)?;
    check_advertiser(&adv, attrs, ap)?;
    let Some((key, value)) = one_kind(attrs, &["inMarket", "location"], ap, true)? else {
        return Err(
            Problem::invalid("invalid-segment-type", ap, "give inMarket or location").into(),
        );
    };
    if key == "inMarket" && value.get("country").is_none_or(Value::is_null) {
        return Err(Problem::invalid(
            "required-field",
            format!("{ap}/inMarket/country"),
            "country is required",
        )
        .into());
    }
    let kind = kind_from(key, value, ap)?;
    let rule = kind
        .compile()
        .map_err(|e| Problem::invalid("invalid-value", format!("{ap}{}", e.path), e.message))?;
    estimate(adv, rule, "AudienceSegmentSizeEstimation").await
}

/// `advertiser-id` and `country` of the in-market lists, both required.
fn in_market_query(
    adv: &Advertiser,
    q: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<String, CriteoError> {
    let Query(q) = q.map_err(|e| Problem::parameter("query", e.body_text()))?;
    let id = q
        .get("advertiser-id")
        .ok_or_else(|| Problem::parameter("advertiser-id", "advertiser-id is required"))?;
    if !is_own(adv, id) {
        let mut p = Problem::advertiser("?advertiser-id", id);
        p.source = Some([("parameter".to_string(), "advertiser-id".to_string())].into());
        return Err(p.into());
    }
    let country = q
        .get("country")
        .ok_or_else(|| Problem::parameter("country", "country is required"))?;
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(Problem::parameter(
            "country",
            format!("{country:?} is not an ISO 3166-1 alpha-2 country code"),
        )
        .into());
    }
    Ok(country.to_ascii_uppercase())
}

/// Most brands listed by `in-market-brands`.
const MAX_BRANDS: usize = 1000;

/// `GET …/audience-segments/in-market-brands?advertiser-id=&country=`: the catalog's brands
/// with the size of each one's in-market segment in that country.
#[utoipa::path(
    get,
    path = "/{version}/marketing-solutions/audience-segments/in-market-brands",
    tag = "criteo",
    description = "The catalog's brands with the size of each one's in-market segment in a country.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10"), ("advertiser-id" = String, Query, description = "The credentials' advertiser id"), ("country" = String, Query, description = "ISO 3166-1 alpha-2 country code")),
    responses(
        (status = 200, description = "`InMarketAudienceSegmentBrand` items", body = super::doc::CriteoResourceResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 403, description = "An advertiser id other than the credentials' advertiser", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn in_market_brands(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    let country = in_market_query(&adv, q)?;
    blocking(move || {
        let brands: BTreeSet<String> = adv
            .catalog()?
            .iter()
            .filter_map(|p| p.brand.clone())
            .filter(|b| !b.trim().is_empty())
            .take(MAX_BRANDS)
            .collect();
        let now = audex_engine::now_ms();
        let data = adv.with_context(|ctx, index| {
            let mut out = Vec::with_capacity(brands.len());
            for b in &brands {
                let kind = AudienceKind::InMarket {
                    country: Some(country.clone()),
                    interest_ids: Vec::new(),
                    brand_ids: vec![b.clone()],
                    buying_power: Vec::new(),
                    price_range: Vec::new(),
                    gender: None,
                };
                let Ok(rule) = kind.compile() else { continue };
                let size = audex_index::evaluate(ctx, index, &rule, now)?.len();
                out.push(json!({"id": b, "type": "InMarketAudienceSegmentBrand",
                    "attributes": {"name": b, "size": size.min(i32::MAX as u64)}}));
            }
            Ok(out)
        })?;
        Ok(single_response(Value::Array(data), Vec::new()))
    })
    .await
}

/// `GET …/audience-segments/in-market-interests?advertiser-id=&country=`: the Google product
/// categories of the catalog and their ancestors, with parents.
#[utoipa::path(
    get,
    path = "/{version}/marketing-solutions/audience-segments/in-market-interests",
    tag = "criteo",
    description = "The Google product categories of the catalog and their ancestors.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10"), ("advertiser-id" = String, Query, description = "The credentials' advertiser id"), ("country" = String, Query, description = "ISO 3166-1 alpha-2 country code")),
    responses(
        (status = 200, description = "`InMarketAudienceSegmentInterest` items", body = super::doc::CriteoResourceResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 403, description = "An advertiser id other than the credentials' advertiser", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn in_market_interests(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    in_market_query(&adv, q)?;
    blocking(move || {
        let used: BTreeSet<u32> = adv.catalog()?.iter().filter_map(|p| p.category).collect();
        let taxonomy = adv.taxonomy();
        let mut all = BTreeSet::new();
        for c in used {
            let mut cur = Some(c);
            // Bounded walk up the tree (the taxonomy is at most a few levels deep).
            for _ in 0..16 {
                let Some(id) = cur else { break };
                if !all.insert(id) {
                    break;
                }
                cur = taxonomy.and_then(|t| t.get(id)).and_then(|c| c.parent);
            }
        }
        let data: Vec<Value> = all
            .iter()
            .map(|id| {
                let parent = taxonomy
                    .and_then(|t| t.get(*id))
                    .and_then(|c| c.parent)
                    .map(|p| p.to_string());
                json!({"id": id.to_string(), "type": "InMarketAudienceSegmentInterest",
                    "attributes": {"parentId": parent}})
            })
            .collect();
        Ok(single_response(Value::Array(data), Vec::new()))
    })
    .await
}
