//! `PUT /ad-sets/{ad-set-id}/audience`: which audience an ad set targets. Ad sets are Criteo
//! campaign objects Audex does not otherwise model, so these links are the Criteo layer's only
//! state of its own: `criteo-ad-sets.json` in the advertiser's directory (ad set id → audience
//! id), read back as the audiences' `adSetIds`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use audex_engine::Advertiser;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::model::find_audience;
use super::segments::only;
use super::{
    CResult, Problem, advertiser, attributes, blocking, data_object, read_json, single_response,
};
use crate::AppState;

/// The file holding an advertiser's ad-set links.
pub const FILE: &str = "criteo-ad-sets.json";

/// Longest ad-set id accepted.
pub const MAX_AD_SET_ID: usize = 128;

/// Serialises changes to the link files (and deletes of audiences against new links).
pub static LOCK: Mutex<()> = Mutex::new(());

fn path(adv: &Advertiser) -> PathBuf {
    adv.dir().join(FILE)
}

/// An advertiser's links, ad set id → audience id (empty when none were made).
pub fn load(adv: &Advertiser) -> Result<BTreeMap<String, String>, Problem> {
    let p = path(adv);
    match std::fs::read(&p) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| internal(format!("{}: {e}", p.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(internal(format!("{}: {e}", p.display()))),
    }
}

fn internal(detail: String) -> Problem {
    Problem::at(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal-error",
        "",
        detail,
    )
}

fn save(adv: &Advertiser, links: &BTreeMap<String, String>) -> Result<(), Problem> {
    let p = path(adv);
    let tmp = p.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(links).map_err(|e| internal(e.to_string()))?;
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, &p))
        .map_err(|e| internal(format!("{}: {e}", p.display())))
}

/// The ad sets linked to an audience.
pub fn ad_sets_of(links: &BTreeMap<String, String>, audience_id: &str) -> Vec<String> {
    links
        .iter()
        .filter(|(_, a)| *a == audience_id)
        .map(|(s, _)| s.clone())
        .collect()
}

/// `PUT …/ad-sets/{ad-set-id}/audience`: links the ad set to `audienceId`, or unlinks it when
/// `audienceId` is null.
#[utoipa::path(
    put,
    path = "/{version}/marketing-solutions/ad-sets/{id}/audience",
    tag = "criteo",
    description = "Links an ad set to an audience, or unlinks it when `audienceId` is null.",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10"), ("id" = String, Path, description = "The ad-set id (1 to 128 characters)")),
    request_body = super::doc::CriteoAdSetAudienceRequest,
    responses(
        (status = 200, description = "`AdSetAudience`", body = super::doc::CriteoResourceResponse),
        (status = 400, description = "Invalid request: `errors[].source` names the field (JSON pointer or parameter)", body = super::doc::CriteoErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = super::doc::CriteoErrorEnvelope),
        (status = 404, description = "No such segment or audience for this advertiser, or a version that is not YYYY-MM", body = super::doc::CriteoErrorEnvelope),
        (status = 413, description = "Body over 8 MiB", body = super::doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
pub async fn link(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((_version, ad_set)): Path<(String, String)>,
    body: Body,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    if ad_set.trim().is_empty() || ad_set.len() > MAX_AD_SET_ID {
        let mut p = Problem::invalid(
            "invalid-value",
            "",
            format!("an ad set id has 1 to {MAX_AD_SET_ID} characters"),
        );
        p.source = Some([("parameter".to_string(), "ad-set-id".to_string())].into());
        return Err(p.into());
    }
    let body = read_json(body).await?;
    let data = Value::Object(data_object(&body)?.clone());
    let ap = "/data/attributes";
    let attrs = attributes(&data, "/data")?;
    only(attrs, &["audienceId"], ap)?;
    let audience = match attrs.get("audienceId") {
        None => {
            return Err(Problem::invalid(
                "required-field",
                format!("{ap}/audienceId"),
                "audienceId is required (null unlinks)",
            )
            .into());
        }
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(Problem::invalid(
                "invalid-type",
                format!("{ap}/audienceId"),
                "audienceId must be a string or null",
            )
            .into());
        }
    };
    blocking(move || {
        if let Some(id) = &audience {
            let defs = adv.definitions()?;
            if find_audience(&defs, id).is_none() {
                return Err(Problem::not_found(
                    "audience-not-found",
                    format!("{ap}/audienceId"),
                    id,
                )
                .into());
            }
        }
        let _guard = LOCK
            .lock()
            .map_err(|_| internal("ad-set lock poisoned".into()))?;
        let mut links = load(&adv)?;
        match &audience {
            Some(id) => {
                links.insert(ad_set.clone(), id.clone());
            }
            None => {
                links.remove(&ad_set);
            }
        }
        save(&adv, &links)?;
        Ok(single_response(
            json!({"id": ad_set, "type": "AdSetAudience", "attributes": {"audienceId": audience}}),
            Vec::new(),
        ))
    })
    .await
}
