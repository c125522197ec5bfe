//! OpenRTB 2.6 enrichment: `POST /v1/openrtb/bid-request` takes a BidRequest and answers the same
//! request with the person's audiences added to `user.data[]`.
//!
//! - **Auth:** the advertiser's admin credentials (bearer token or Basic `client_id:secret`), as
//!   every read of first-party data; the write key is for the collector only (DESIGN "Tenancy").
//! - **Who:** the first of `user.id`, `user.buyeruid`, `user.eids[].uids[].id`, `device.ifa` that
//!   names a person of the advertiser (any identifier kind, as `GET /v1/people/{id}`). The
//!   response header `x-audex-match` names the field that matched (`none` when nothing did).
//! - **What is added:** one `user.data[]` object `{"id":"audex","name":"audex","segment":[{"id",
//!   "name"}…]}` with the person's audience ids and names, and, when some of those audiences imply
//!   an IAB Audience Taxonomy 1.1 segment, a second one with `"ext":{"segtax":4}` carrying those
//!   ids, together with the IAB ids of the behavioral tags inferred for the person (`audex model
//!   behavioral`; a tag a rule defines under the same name is not the inferred one and maps to
//!   none). Earlier `user.data[]` objects named `audex` are replaced (enriching twice is a no-op).
//! - **Contextual audiences on this page** ("media category + audience"): a saved `contextual`
//!   audience is added when the request's own page falls under its categories — `content.cat`,
//!   else `site.cat`/`app.cat` (Content 1.0 codes mapped to 3.1), else the page classified with
//!   the advertiser's classifier in use (`audex model contextual train`, else the shipped one)
//!   — and the viewer is in its audience filter, if it has one. A person Audex does not know
//!   gets only those without a filter. (Membership earned by reading such pages before is
//!   among the person's audiences already.)
//! - **Location audiences near the device:** a saved `location` audience is added when the
//!   device is within its radius of one of its points now — `device.geo` `lat`/`lon`, else
//!   `device.ip`/`ipv6` through the installed GeoIP database (`audex geoip install`) — known
//!   person or not.
//! - **Recommended products** (DESIGN "Serving"): the first Audex object's `ext.recommendations`
//!   holds up to `?recommendations=N` products (default 5, 0 for none) from the advertiser's
//!   retargeting recommender (`product_id`, `title`, `brand`, `price`, `currency`, `category`,
//!   `score`, `reasons`), when it has any for the person. A recommender failure leaves them out
//!   rather than failing the bid.
//! - **Everything else is unchanged:** the request is handled as a JSON value, so unknown fields
//!   pass through; a request with no known person and no contextual audience on its page (or a
//!   person in no audience and with nothing to recommend) is answered with the exact bytes it
//!   came with. Keys of an enriched request may
//!   come back in another order (JSON objects are unordered; `serde_json` here keeps no order).
//! - **Not recorded:** the request's page categories (`site.cat`, `app.cat`) are not written to
//!   the event log: this is a read path on the bidding hot path, and the publisher view enters
//!   through ingest (DESIGN "Data flow").
//!
//! A malformed request is a 400 naming the field as a JSON pointer (`/imp/0/id`).

use std::sync::{Arc, OnceLock};

use audex_engine::audiences::SavedAudience;
use audex_engine::{Advertiser, EngineError};
use audex_model::event::Gender;
use audex_model::taxonomy::{AudienceTaxonomy, ContentTaxonomy};
use audex_profile::PersonId;
use audex_rules::{AudienceKind, GeoPoint, Predicate, Rule};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::native::Q;
use crate::{AppState, auth};

/// Largest bid request accepted.
pub const MAX_BID_REQUEST_BYTES: usize = 256 * 1024;

/// The `name` (and `id`) of the `user.data[]` objects Audex adds.
pub const DATA_PROVIDER: &str = "audex";

/// Recommended products added when the query does not say how many.
pub const DEFAULT_RECOMMENDATIONS: usize = 5;

/// The query of `POST /v1/openrtb/bid-request`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BidQuery {
    /// How many recommended products to add (0 = none).
    recommendations: Option<usize>,
}

/// `POST /v1/openrtb/bid-request?recommendations=N`: the request back with `user.data[]` filled.
#[utoipa::path(
    post,
    path = "/v1/openrtb/bid-request",
    tag = "openrtb",
    params(("recommendations" = Option<u32>, Query, description = "How many recommended products to add in the ext (0 = none, default 5)")),
    request_body(content = Object, description = "An OpenRTB 2.6 BidRequest (at most 256 KB); the person is found by user.id, user.buyeruid, user.eids or device.ifa"),
    responses(
        (status = 200, description = "The same BidRequest with `user.data[]` filled (audience segments, IAB Audience Taxonomy segments with `ext.segtax`, recommended products in `ext`)", body = Object),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 413, description = "Body over 256 KB", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn bid_request(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Q(q): Q<BidQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let n = q
        .recommendations
        .unwrap_or(DEFAULT_RECOMMENDATIONS)
        .min(crate::recommend::MAX_N);
    let bytes = axum::body::to_bytes(body, MAX_BID_REQUEST_BYTES)
        .await
        .map_err(|_| {
            ApiError::too_large(format!(
                "a bid request is at most {} KB",
                MAX_BID_REQUEST_BYTES / 1024
            ))
        })?;
    let mut request: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "/",
            format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let candidates = validate(&request)?;
    let matched = {
        let st = adv.state()?;
        candidates.iter().find_map(|(field, id)| {
            audex_engine::view::find_person(&st.profiles, id).map(|p| (*field, p))
        })
    };
    let (segments, products, inferred) = match matched {
        Some((_, person)) => {
            let products = if n == 0 {
                Vec::new()
            } else {
                let adv2 = adv.clone();
                let now = audex_engine::now_ms();
                tokio::task::spawn_blocking(move || {
                    crate::recommend::recommendations_json(&adv2, person, now, n)
                })
                .await
                .map_err(|e| ApiError::internal(e.to_string()))
                .and_then(|r| r)
                .unwrap_or_else(|e| {
                    tracing::warn!(advertiser = %adv.record.name, error = %e.message, "no recommendations for a bid request");
                    Vec::new()
                })
            };
            (
                adv.audiences_of(person)?,
                products,
                inferred_iab_ids(&adv, person)?,
            )
        }
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let mut segments = segments;
    let nearby = at_location(&adv, &request)?;
    for a in in_context(&adv, &request, &segments)?
        .into_iter()
        .chain(nearby)
    {
        if !segments.iter().any(|s| s.id == a.id) {
            segments.push(a);
        }
    }
    let field = matched.map_or("none", |m| m.0);
    if segments.is_empty() && products.is_empty() && inferred.is_empty() {
        return Ok(json_response(bytes.to_vec(), field));
    }
    enrich(&mut request, &segments, products, &inferred);
    let out = serde_json::to_vec(&request).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(json_response(out, field))
}

/// Saved `contextual` audiences the request's own page puts the viewer in ("media category +
/// audience"): the page's categories — `content.cat`, else `site.cat`/`app.cat`, else the page
/// classified with the advertiser's classifier in use now — fall under one of the audience's,
/// and the viewer belongs to its audience filter when it has one (a person Audex does not know
/// belongs to none). `member_of` are the viewer's audiences; membership earned by reading such
/// pages before is among them already.
fn in_context(
    adv: &Advertiser,
    request: &Value,
    member_of: &[SavedAudience],
) -> Result<Vec<SavedAudience>, ApiError> {
    let defs = adv.definitions()?;
    let contextual: Vec<&SavedAudience> = defs
        .audiences
        .iter()
        .filter(|a| matches!(a.definition.kind, AudienceKind::Contextual { .. }))
        .collect();
    if contextual.is_empty() {
        return Ok(Vec::new());
    }
    let now = audex_engine::now_ms();
    let page =
        audex_contextual::from_bid_request_with(request, |p| adv.contextual().classify_at(now, p));
    let taxonomy = ContentTaxonomy::iab_3_1();
    let mut out = Vec::new();
    for a in contextual {
        let AudienceKind::Contextual {
            page_categories,
            audience,
            ..
        } = &a.definition.kind
        else {
            continue;
        };
        let on_page = page.ids.iter().any(|id| {
            page_categories
                .iter()
                .any(|c| taxonomy.is_descendant(id, c))
        });
        let viewer_in_filter = match audience {
            None => true,
            Some(f) => defs
                .audience(f)
                .is_some_and(|fa| member_of.iter().any(|m| m.id == fa.id)),
        };
        if on_page && viewer_in_filter {
            out.push(a.clone());
        }
    }
    Ok(out)
}

/// Where the device is now: `device.geo` `lat`/`lon`, else `device.ip`/`device.ipv6` located
/// with the data directory's GeoIP database in use (coordinates only when precise enough, as
/// for events). `None` when the request does not tell.
fn device_location(adv: &Advertiser, request: &Value) -> Option<GeoPoint> {
    let device = request.get("device")?;
    if let Some(geo) = device.get("geo")
        && let (Some(lat), Some(lon)) = (
            geo.get("lat").and_then(Value::as_f64),
            geo.get("lon").and_then(Value::as_f64),
        )
    {
        return Some(GeoPoint { lat, lon });
    }
    let ip = ["ip", "ipv6"]
        .iter()
        .find_map(|k| device.get(*k)?.as_str()?.trim().parse().ok())?;
    let place = adv
        .enrichment()
        .geoip
        .locate_at(audex_engine::now_ms(), ip)?;
    let (lat, lon) = place.location?;
    Some(GeoPoint { lat, lon })
}

/// Saved `location` audiences whose points of interest the device is near now (a bid from the
/// shop's neighbourhood), whether or not Audex knows the person: the request's own location is
/// fresher than any profile's.
fn at_location(adv: &Advertiser, request: &Value) -> Result<Vec<SavedAudience>, ApiError> {
    let defs = adv.definitions()?;
    let located: Vec<&SavedAudience> = defs
        .audiences
        .iter()
        .filter(|a| matches!(a.definition.kind, AudienceKind::Location { .. }))
        .collect();
    if located.is_empty() {
        return Ok(Vec::new());
    }
    let Some(here) = device_location(adv, request) else {
        return Ok(Vec::new());
    };
    Ok(located
        .into_iter()
        .filter(|a| match &a.definition.kind {
            AudienceKind::Location {
                points_of_interest,
                radius_in_km,
            } => points_of_interest.iter().any(|p| {
                here.distance_km(&GeoPoint {
                    lat: p.latitude,
                    lon: p.longitude,
                }) <= *radius_in_km
            }),
            _ => false,
        })
        .cloned()
        .collect())
}

fn json_response(body: Vec<u8>, matched: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert("x-audex-match", HeaderValue::from_static(matched));
    r
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn want_object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.as_object()
        .ok_or_else(|| ApiError::bad_request(at, format!("must be an object, not {}", kind(v))))
}

fn want_array<'a>(v: &'a Value, at: &str) -> Result<&'a Vec<Value>, ApiError> {
    v.as_array()
        .ok_or_else(|| ApiError::bad_request(at, format!("must be an array, not {}", kind(v))))
}

fn want_str<'a>(v: &'a Value, at: &str) -> Result<&'a str, ApiError> {
    v.as_str()
        .ok_or_else(|| ApiError::bad_request(at, format!("must be a string, not {}", kind(v))))
}

/// Checks the parts of a BidRequest this endpoint relies on (OpenRTB 2.6 §3.2.1, §3.2.13,
/// §3.2.18, §3.2.20, §3.2.27–28) and returns the identifiers to look up, in order, each with the
/// field it came from.
pub fn validate(request: &Value) -> Result<Vec<(&'static str, String)>, ApiError> {
    let root = want_object(request, "/")?;
    match root.get("id") {
        None => return Err(ApiError::bad_request("/id", "a BidRequest needs an id")),
        Some(v) => {
            want_str(v, "/id")?;
        }
    }
    let imps = root
        .get("imp")
        .ok_or_else(|| ApiError::bad_request("/imp", "a BidRequest needs at least one imp"))?;
    let imps = want_array(imps, "/imp")?;
    if imps.is_empty() {
        return Err(ApiError::bad_request("/imp", "must hold at least one imp"));
    }
    for (i, imp) in imps.iter().enumerate() {
        let at = format!("/imp/{i}");
        let imp = want_object(imp, &at)?;
        match imp.get("id") {
            None => {
                return Err(ApiError::bad_request(
                    format!("{at}/id"),
                    "an imp needs an id",
                ));
            }
            Some(v) => {
                want_str(v, &format!("{at}/id"))?;
            }
        }
    }
    for key in ["site", "app", "device", "user"] {
        if let Some(v) = root.get(key) {
            want_object(v, &format!("/{key}"))?;
        }
    }
    if let Some(geo) = root.get("device").and_then(|d| d.get("geo")) {
        let geo = want_object(geo, "/device/geo")?;
        for (key, range) in [("lat", 90.0), ("lon", 180.0)] {
            if let Some(v) = geo.get(key) {
                let ok = v
                    .as_f64()
                    .is_some_and(|x| x.is_finite() && x.abs() <= range);
                if !ok {
                    return Err(ApiError::bad_request(
                        format!("/device/geo/{key}"),
                        format!("must be a number in [-{range}, {range}]"),
                    ));
                }
            }
        }
    }
    if root.contains_key("site") && root.contains_key("app") {
        return Err(ApiError::bad_request(
            "/app",
            "a BidRequest carries a site or an app, not both",
        ));
    }
    let mut ids: Vec<(&'static str, String)> = Vec::new();
    let mut push = |field: &'static str, s: &str| {
        let s = s.trim();
        if !s.is_empty() && !ids.iter().any(|(_, x)| x == s) {
            ids.push((field, s.to_string()));
        }
    };
    if let Some(user) = root.get("user").and_then(Value::as_object) {
        for key in ["id", "buyeruid"] {
            if let Some(v) = user.get(key) {
                let s = want_str(v, &format!("/user/{key}"))?;
                push(
                    if key == "id" {
                        "user.id"
                    } else {
                        "user.buyeruid"
                    },
                    s,
                );
            }
        }
        if let Some(data) = user.get("data") {
            for (i, d) in want_array(data, "/user/data")?.iter().enumerate() {
                want_object(d, &format!("/user/data/{i}"))?;
            }
        }
        if let Some(eids) = user.get("eids") {
            for (i, eid) in want_array(eids, "/user/eids")?.iter().enumerate() {
                let at = format!("/user/eids/{i}");
                let eid = want_object(eid, &at)?;
                let Some(uids) = eid.get("uids") else {
                    return Err(ApiError::bad_request(
                        format!("{at}/uids"),
                        "an eid needs a uids array",
                    ));
                };
                for (j, uid) in want_array(uids, &format!("{at}/uids"))?.iter().enumerate() {
                    let uat = format!("{at}/uids/{j}");
                    let uid = want_object(uid, &uat)?;
                    match uid.get("id") {
                        None => {
                            return Err(ApiError::bad_request(
                                format!("{uat}/id"),
                                "a uid needs an id",
                            ));
                        }
                        Some(v) => push("user.eids.uids.id", want_str(v, &format!("{uat}/id"))?),
                    }
                }
            }
        }
    }
    if let Some(device) = root.get("device").and_then(Value::as_object)
        && let Some(v) = device.get("ifa")
    {
        push("device.ifa", want_str(v, "/device/ifa")?);
    }
    Ok(ids)
}

/// The IAB Audience Taxonomy 1.1 ids of the behavioral tags inferred for `person` (stored by
/// `audex model behavioral|refresh`), in tag order, without repeats. A tag that a rule defines
/// under the same name is skipped, as `tag` predicates see the rule rather than the inference.
pub fn inferred_iab_ids(
    adv: &Advertiser,
    person: PersonId,
) -> Result<Vec<&'static str>, EngineError> {
    let models = adv.model_store()?;
    if models.tags.tags.is_empty() {
        return Ok(Vec::new());
    }
    let defs = adv.definitions()?;
    let mut out: Vec<&'static str> = Vec::new();
    for (name, members) in &models.tags.tags {
        if !members.contains(person) || defs.tags.iter().any(|(n, _)| n == name) {
            continue;
        }
        for id in audex_models::behavioral::iab_ids(name) {
            if !out.contains(id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// Adds the Audex `user.data[]` objects for `audiences` (and `products`, recommended, in the
/// first one's `ext`) to a validated request, replacing any earlier ones named
/// [`DATA_PROVIDER`]. `inferred` are IAB Audience Taxonomy 1.1 ids of the person's inferred
/// behavioral tags ([`inferred_iab_ids`]); they join the ids the audiences imply in the
/// `segtax` 4 object.
pub fn enrich(
    request: &mut Value,
    audiences: &[SavedAudience],
    products: Vec<Value>,
    inferred: &[&'static str],
) {
    let Some(root) = request.as_object_mut() else {
        return;
    };
    let user = root
        .entry("user")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(user) = user.as_object_mut() else {
        return;
    };
    let data = user
        .entry("data")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(data) = data.as_array_mut() else {
        return;
    };
    data.retain(|d| d.get("name").and_then(Value::as_str) != Some(DATA_PROVIDER));
    let segment: Vec<Value> = audiences
        .iter()
        .map(|a| json!({"id": a.id, "name": a.name()}))
        .collect();
    let mut ours = json!({"id": DATA_PROVIDER, "name": DATA_PROVIDER, "segment": segment});
    if !products.is_empty() {
        ours["ext"] = json!({ "recommendations": products });
    }
    data.push(ours);
    let mut iab: Vec<&'static str> = audiences.iter().flat_map(iab_segments).collect();
    iab.extend_from_slice(inferred);
    iab.sort_by_key(|id| (id.len(), *id));
    iab.dedup();
    if !iab.is_empty() {
        let tax = AudienceTaxonomy::v1_1();
        let segment: Vec<Value> = iab
            .iter()
            .map(|id| match tax.name(id) {
                Some(name) => json!({"id": id, "name": name}),
                None => json!({"id": id}),
            })
            .collect();
        data.push(json!({"id": DATA_PROVIDER, "name": DATA_PROVIDER,
            "ext": {"segtax": AudienceTaxonomy::SEGTAX_1_1}, "segment": segment}));
    }
}

/// The IAB Audience Taxonomy 1.1 segments an audience's members are all in: a declared gender
/// when the audience requires exactly one, and an age range when the audience's ages fall inside
/// one of the taxonomy's ranges. Only conditions that every member meets count (the operands of
/// top-level `and`s); income bands are in the advertiser's currency, so they map to none.
pub fn iab_segments(audience: &SavedAudience) -> Vec<&'static str> {
    let Ok(rule) = audience.definition.compile() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    implied(&rule, &mut out);
    out
}

fn implied(rule: &Rule, out: &mut Vec<&'static str>) {
    let table = iab_demographics();
    match rule {
        Rule::And(v) => v.iter().for_each(|r| implied(r, out)),
        Rule::Pred(Predicate::Gender(g)) => {
            if let [only] = g.values.as_slice() {
                let id = match only {
                    Gender::Female => table.female,
                    Gender::Male => table.male,
                    Gender::Other => table.other,
                    Gender::Unknown => None,
                };
                out.extend(id);
            }
        }
        Rule::Pred(Predicate::Age(a)) => {
            let (lo, hi) = (a.min.unwrap_or(0), a.max.unwrap_or(u32::MAX));
            if let Some((_, _, id)) = table
                .ages
                .iter()
                .find(|(min, max, _)| *min <= lo && hi <= *max)
            {
                out.push(id);
            }
        }
        _ => {}
    }
}

/// The demographic segments of Audience Taxonomy 1.1, read from the embedded file.
struct IabDemographics {
    female: Option<&'static str>,
    male: Option<&'static str>,
    other: Option<&'static str>,
    /// `(min, max, id)` of each `Demographic > Age Range > A-B` (or `A+`) segment.
    ages: Vec<(u32, u32, &'static str)>,
}

fn iab_demographics() -> &'static IabDemographics {
    static CELL: OnceLock<IabDemographics> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut t = IabDemographics {
            female: None,
            male: None,
            other: None,
            ages: Vec::new(),
        };
        for c in AudienceTaxonomy::v1_1().iter() {
            let tiers: Vec<&str> = c.tiers.iter().map(|s| s.trim()).collect();
            match tiers.as_slice() {
                ["Demographic", "Gender", g] => match *g {
                    "Female" => t.female = Some(c.id.as_str()),
                    "Male" => t.male = Some(c.id.as_str()),
                    "Other Gender" => t.other = Some(c.id.as_str()),
                    _ => {}
                },
                ["Demographic", "Age Range", range] => {
                    let parsed = match range.strip_suffix('+') {
                        Some(min) => min.trim().parse().ok().map(|m| (m, u32::MAX)),
                        None => range.split_once('-').and_then(|(a, b)| {
                            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
                        }),
                    };
                    if let Some((min, max)) = parsed {
                        t.ages.push((min, max, c.id.as_str()));
                    }
                }
                _ => {}
            }
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demographics_come_from_the_taxonomy() {
        let t = iab_demographics();
        assert_eq!(t.female, Some("49"));
        assert_eq!(t.male, Some("50"));
        assert_eq!(t.other, Some("51"));
        assert!(t.ages.contains(&(25, 29, "5")));
        assert!(t.ages.contains(&(75, u32::MAX, "15")));
        assert_eq!(t.ages.len(), 13);
    }
}
