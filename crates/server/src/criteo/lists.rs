//! `/audience-segments/{id}/contact-list`: add or remove identifiers, wipe them, statistics.
//! A contact-list segment's identifiers are an engine contact list; these answer in the
//! `ModifyAudienceResponse` family, whose `data`, `errors` and `warnings` are all required.

use std::sync::Arc;

use audex_engine::Advertiser;
use audex_engine::audiences::SavedAudience;
use audex_model::normalize::is_sha256_hex;
use audex_rules::AudienceKind;
use axum::Json;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::model::find_segment;
use super::segments::only;
use super::{
    CResult, CriteoError, Problem, advertiser, attributes, blocking, data_object, iso_time,
    read_json, required_str, single_response, typed,
};
use crate::AppState;

/// Most identifiers in one amendment.
pub const MAX_IDENTIFIERS: usize = 100_000;

/// The contact-list segment `id` and its list id; 404 when there is no such segment for this
/// advertiser, 400 when it is not a contact-list segment.
fn contact_segment(
    adv: &Advertiser,
    id: &str,
    path: &str,
) -> Result<(SavedAudience, String), CriteoError> {
    let defs = adv.definitions()?;
    let param = |mut p: Problem| {
        p.instance = path.to_string();
        p.source = Some([("parameter".to_string(), "audience-segment-id".to_string())].into());
        p
    };
    let seg = find_segment(&defs, id)
        .cloned()
        .ok_or_else(|| param(Problem::not_found("segment-not-found", path, id)))?;
    match &seg.definition.kind {
        AudienceKind::ContactList { list_id } => {
            let list = list_id.clone();
            Ok((seg, list))
        }
        _ => Err(param(Problem::invalid(
            "segment-not-contact-list",
            path,
            format!("segment {id:?} is not a contact-list segment"),
        ))
        .into()),
    }
}

/// The numeric part of a list id (`list_12` → 12), for `contactListId`.
fn list_number(list_id: &str) -> Value {
    list_id
        .rsplit('_')
        .next()
        .and_then(|n| n.parse::<i64>().ok())
        .map(Value::from)
        .unwrap_or(Value::Null)
}

/// Whether an identifier fits the declared type before normalisation (emails have an `@`,
/// phones do not; a SHA-256 hex fits both).
fn fits(kind: &str, s: &str) -> bool {
    let t = s.trim();
    if t.len() == 64 && is_sha256_hex(&t.to_ascii_lowercase()) {
        return true;
    }
    match kind {
        "email" => t.contains('@'),
        "phoneNumber" => !t.contains('@'),
        _ => true,
    }
}

/// `PATCH …/audience-segments/{id}/contact-list`: add or remove identifiers (emails or E.164
/// phones, plaintext or SHA-256 of the normalised form).
#[utoipa::path(
    patch,
    path = "/{version}/marketing-solutions/audience-segments/{id}/contact-list",
    tag = "criteo",
    description = "Adds or removes identifiers of a contact-list segment (emails or E.164 phones, plaintext or SHA-256).",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10"), ("id" = String, Path, description = "The contact-list segment id")),
    request_body = super::doc::CriteoContactListRequest,
    responses(
        (status = 200, description = "`ContactlistAmendment`", body = super::doc::CriteoResourceResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 404, description = "No such segment or audience for this advertiser, or a version that is not YYYY-MM", body = super::doc::CriteoErrorEnvelope),
        (status = 413, description = "Body over 8 MiB", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn amend(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((_version, id)): Path<(String, String)>,
    body: Body,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    let path = uri.path().to_string();
    let body = read_json(body).await?;
    let data = Value::Object(data_object(&body)?.clone());
    let ap = "/data/attributes";
    let attrs = attributes(&data, "/data")?.clone();
    only(
        &attrs,
        &["operation", "identifiers", "identifierType", "gumCallerId"],
        ap,
    )?;
    let operation = required_str(&attrs, "operation", ap)?;
    let add = match operation.as_str() {
        "add" => true,
        "remove" => false,
        other => {
            return Err(Problem::invalid(
                "invalid-value",
                format!("{ap}/operation"),
                format!("operation must be add or remove, not {other:?}"),
            )
            .into());
        }
    };
    let identifiers: Vec<String> = match attrs.get("identifiers") {
        None | Some(Value::Null) => {
            return Err(Problem::invalid(
                "required-field",
                format!("{ap}/identifiers"),
                "identifiers is required",
            )
            .into());
        }
        Some(v) => typed(v, &format!("{ap}/identifiers"))?,
    };
    if identifiers.len() > MAX_IDENTIFIERS {
        return Err(Problem::invalid(
            "too-many-identifiers",
            format!("{ap}/identifiers"),
            format!("at most {MAX_IDENTIFIERS} identifiers per call"),
        )
        .into());
    }
    let identifier_type = match attrs.get("identifierType") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => match t.as_str() {
            "email" | "phoneNumber" => Some(t.clone()),
            "madid" | "identityLink" | "gum" => {
                return Err(Problem::invalid(
                    "unsupported-identifier-type",
                    format!("{ap}/identifierType"),
                    format!("identifierType {t:?} is not supported: use email or phoneNumber"),
                )
                .into());
            }
            other => {
                return Err(Problem::invalid(
                    "invalid-value",
                    format!("{ap}/identifierType"),
                    format!("{other:?} is not an identifier type"),
                )
                .into());
            }
        },
        Some(_) => {
            return Err(Problem::invalid(
                "invalid-type",
                format!("{ap}/identifierType"),
                "identifierType must be a string",
            )
            .into());
        }
    };
    if let Some(v) = attrs.get("gumCallerId")
        && !v.is_null()
        && !v.is_i64()
    {
        return Err(Problem::invalid(
            "invalid-type",
            format!("{ap}/gumCallerId"),
            "gumCallerId must be an integer",
        )
        .into());
    }
    blocking(move || {
        let (_, list_id) = contact_segment(&adv, &id, &path)?;
        let kind = identifier_type.as_deref().unwrap_or("");
        let (ok, mismatched): (Vec<String>, Vec<String>) =
            identifiers.into_iter().partition(|s| fits(kind, s));
        let report = adv.amend_list(&list_id, add, &ok)?;
        adv.refresh_memberships(audex_engine::now_ms(), "definition")?;
        let mut sample = mismatched.clone();
        sample.extend(report.sample_invalid);
        sample.truncate(audex_engine::ListAmendment::SAMPLE);
        Ok(Json(
            json!({"data": {"type": "ContactlistAmendment", "attributes": {
                "operation": operation,
                "contactListId": list_number(&list_id),
                "identifierType": identifier_type,
                "nbValidIdentifiers": report.valid,
                "nbInvalidIdentifiers": report.invalid + mismatched.len() as u64,
                "sampleInvalidIdentifiers": sample,
                "requestDate": iso_time(audex_engine::now_ms()),
            }}, "errors": [], "warnings": []}),
        )
        .into_response())
    })
    .await
}

/// `DELETE …/audience-segments/{id}/contact-list`: removes every identifier, keeps the segment.
#[utoipa::path(
    delete,
    path = "/{version}/marketing-solutions/audience-segments/{id}/contact-list",
    tag = "criteo",
    description = "Removes every identifier of a contact-list segment; the segment stays.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10"), ("id" = String, Path, description = "The contact-list segment id")),
    responses(
        (status = 200, description = "`AudienceContactlist`", body = super::doc::CriteoResourceResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 404, description = "No such segment or audience for this advertiser, or a version that is not YYYY-MM", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn wipe(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((_version, id)): Path<(String, String)>,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    let path = uri.path().to_string();
    blocking(move || {
        let (seg, list_id) = contact_segment(&adv, &id, &path)?;
        adv.clear_list(&list_id)?;
        adv.refresh_memberships(audex_engine::now_ms(), "definition")?;
        Ok(single_response(
            json!({"id": seg.id, "type": "AudienceContactlist",
                "attributes": {"name": seg.name(), "description": seg.definition.description}}),
            Vec::new(),
        ))
    })
    .await
}

/// `GET …/audience-segments/{id}/contact-list/statistics`: identifiers, matched people, rate.
#[utoipa::path(
    get,
    path = "/{version}/marketing-solutions/audience-segments/{id}/contact-list/statistics",
    tag = "criteo",
    description = "Identifiers, matched people and match rate of a contact-list segment.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10"), ("id" = String, Path, description = "The contact-list segment id")),
    responses(
        (status = 200, description = "`ContactListStatistics`", body = super::doc::CriteoResourceResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 404, description = "No such segment or audience for this advertiser, or a version that is not YYYY-MM", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn statistics(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((_version, id)): Path<(String, String)>,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    let path = uri.path().to_string();
    blocking(move || {
        let (seg, list_id) = contact_segment(&adv, &id, &path)?;
        let r = adv.list_stats(&list_id)?;
        let clamp = |n: u64| n.min(i32::MAX as u64);
        Ok(single_response(
            json!({"id": seg.id, "type": "ContactListStatistics", "attributes": {
                "numberOfIdentifiers": clamp(r.distinct),
                "numberOfMatches": clamp(r.matched_people),
                "matchRate": r.match_rate,
            }}),
            Vec::new(),
        ))
    })
    .await
}
