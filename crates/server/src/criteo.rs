//! Criteo Marketing Solutions compatibility: the audience-segment, audience and contact-list
//! endpoints under `/{YYYY-MM}/marketing-solutions/`, in the JSON:API-style envelopes the official
//! SDK sends and checks (`/work/shared/reference/criteo-api.md`).
//!
//! Nothing here is a second store. A Criteo *segment* is a saved audience of a Criteo-shaped
//! [`AudienceKind`] (its id is the native audience id, so `/v1/audiences/{id}/size` answers the
//! same size); a Criteo *audience* is a saved audience whose rule is an and/or/not algebra of
//! `in_audience` leaves; a contact-list segment's identifiers are an engine contact list. Native
//! audiences of kinds Criteo has no shape for show up as read-only `Behavioral` segments, so an
//! algebra can combine them.
//!
//! Bulk operations answer 200 with the items that succeeded in `data` and one problem per failed
//! item in `errors` (Criteo's "success or partial success"); when every item failed, the status
//! is the first failure's (400 invalid, 403 other advertiser, 404 unknown id), so a request that
//! did nothing is never a 200. Whole-request failures use the same envelope, `data: null`.

mod adsets;
mod audiences;
pub mod doc;
mod lists;
mod model;
mod segments;

use std::collections::BTreeMap;
use std::sync::Arc;

use audex_engine::Advertiser;
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::{AppState, auth};

pub use doc::CriteoApi;
pub use model::{SegmentType, algebra_json};

/// Largest request body of the Criteo endpoints (a contact-list patch may carry 50 000 hashes).
pub const MAX_BODY_BYTES: usize = 8 << 20;

/// Deepest and/or/not nesting accepted in an audience algebra.
pub const MAX_ALGEBRA_DEPTH: usize = 16;

/// Most segment references in one audience algebra.
pub const MAX_ALGEBRA_LEAVES: usize = 256;

/// One Criteo problem (boxed: it travels in every `Result` of the item functions).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Problem(Box<ProblemBody>);

impl std::ops::Deref for Problem {
    type Target = ProblemBody;

    fn deref(&self) -> &ProblemBody {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemBody {
        &mut self.0
    }
}

/// The `CommonProblem` shape, with `instance` always set so that it is also a valid
/// `AudienceError` (the contact-list endpoints' shape).
#[derive(Debug, Clone, Serialize)]
pub struct ProblemBody {
    /// One of Criteo's problem types (`validation`, `authorization`, ...).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Kebab-case code (`segment-not-found`).
    pub code: String,
    /// Short summary.
    pub title: String,
    /// What exactly is wrong.
    pub detail: String,
    /// The request path, or the JSON pointer of the item.
    pub instance: String,
    /// Where: `{"pointer": "/data/0/attributes/name"}` or `{"parameter": "limit"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<BTreeMap<String, String>>,
    /// The HTTP status this problem would have on its own.
    #[serde(skip)]
    pub status: StatusCode,
}

impl Problem {
    /// A problem of `status` and `code`, pointing at a JSON pointer in the body.
    pub fn at(
        status: StatusCode,
        code: &str,
        pointer: impl Into<String>,
        detail: impl Into<String>,
    ) -> Problem {
        let pointer = pointer.into();
        let kind = match status {
            StatusCode::UNAUTHORIZED => "authentication",
            StatusCode::FORBIDDEN => "authorization",
            StatusCode::TOO_MANY_REQUESTS => "quota",
            s if s.is_server_error() => "availability",
            _ => "validation",
        };
        Problem(Box::new(ProblemBody {
            kind,
            code: code.to_string(),
            title: title_of(code),
            detail: detail.into(),
            instance: pointer.clone(),
            source: Some(BTreeMap::from([("pointer".to_string(), pointer)])),
            status,
        }))
    }

    /// A 400 `validation` problem at a JSON pointer.
    pub fn invalid(code: &str, pointer: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem::at(StatusCode::BAD_REQUEST, code, pointer, detail)
    }

    /// A 400 about a query parameter.
    pub fn parameter(name: &str, detail: impl Into<String>) -> Problem {
        let mut p = Problem::invalid("invalid-parameter", format!("?{name}"), detail);
        p.source = Some(BTreeMap::from([(
            "parameter".to_string(),
            name.to_string(),
        )]));
        p
    }

    /// A 404: no such segment or audience for this advertiser (the same whether it does not
    /// exist or belongs to another advertiser).
    pub fn not_found(code: &str, pointer: impl Into<String>, id: &str) -> Problem {
        let what = code.trim_end_matches("-not-found").replace('-', " ");
        Problem::at(
            StatusCode::NOT_FOUND,
            code,
            pointer,
            format!("no {what} with id {id:?} for this advertiser"),
        )
    }

    /// A 403: the advertiser id is not the credentials' advertiser.
    pub fn advertiser(pointer: impl Into<String>, id: &str) -> Problem {
        Problem::at(
            StatusCode::FORBIDDEN,
            "advertiser-not-accessible",
            pointer,
            format!("advertiser {id:?} is not accessible with these credentials"),
        )
    }

    /// A warning (sizes that cannot be computed yet).
    pub fn warning(code: &str, pointer: impl Into<String>, detail: impl Into<String>) -> Problem {
        let mut p = Problem::at(StatusCode::OK, code, pointer, detail);
        p.kind = "availability";
        p
    }
}

/// A readable title from a kebab-case code.
fn title_of(code: &str) -> String {
    let t = code.replace('-', " ");
    let mut c = t.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => t,
    }
}

/// A whole-request failure: a non-2xx status with the Criteo envelope.
#[derive(Debug)]
pub struct CriteoError {
    /// HTTP status.
    pub status: StatusCode,
    /// At least one problem.
    pub problems: Vec<Problem>,
}

impl From<Problem> for CriteoError {
    fn from(p: Problem) -> Self {
        CriteoError {
            status: p.status,
            problems: vec![p],
        }
    }
}

impl From<ApiError> for CriteoError {
    fn from(e: ApiError) -> Self {
        let code = e.code.replace('_', "-");
        let pointer = e.field.clone().unwrap_or_default();
        let mut p = Problem::at(e.status, &code, pointer, e.message);
        if e.field.is_none() {
            p.source = None;
        }
        p.into()
    }
}

impl From<audex_engine::EngineError> for CriteoError {
    fn from(e: audex_engine::EngineError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for CriteoError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"data": null, "errors": self.problems, "warnings": []})),
        )
            .into_response()
    }
}

/// The result of a Criteo handler.
pub type CResult = Result<Response, CriteoError>;

/// The response of a bulk operation: succeeded items in `data`, one problem per failed item; a
/// request where every item failed takes the first failure's status.
pub fn bulk_response(results: Vec<Result<Value, Problem>>, warnings: Vec<Problem>) -> CResult {
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(v) => data.push(v),
            Err(p) => errors.push(p),
        }
    }
    if data.is_empty()
        && let Some(first) = errors.first()
    {
        return Err(CriteoError {
            status: first.status,
            problems: errors,
        });
    }
    Ok(Json(json!({"data": data, "errors": errors, "warnings": warnings})).into_response())
}

/// A single-resource response: `{data, errors: [], warnings}`.
pub fn single_response(data: Value, warnings: Vec<Problem>) -> Response {
    Json(json!({"data": data, "errors": [], "warnings": warnings})).into_response()
}

/// The advertiser of the credentials, with authentication failures in the Criteo envelope.
pub fn advertiser(state: &AppState, headers: &HeaderMap) -> Result<Arc<Advertiser>, CriteoError> {
    Ok(auth::admin(state, headers)?)
}

/// Whether an advertiser id given in a request is the credentials' advertiser (id or name).
pub fn is_own(adv: &Advertiser, id: &str) -> bool {
    id == adv.record.id || id == adv.record.name
}

/// Reads a request body as JSON; malformed JSON (or nesting past serde_json's limit) is a 400
/// naming the line and column.
pub async fn read_json(body: Body) -> Result<Value, CriteoError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            CriteoError::from(Problem::at(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "",
                format!("request body is larger than {MAX_BODY_BYTES} bytes"),
            ))
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::invalid(
            "required-field",
            "/data",
            "a JSON body {\"data\": ...} is required",
        )
        .into());
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        Problem::invalid(
            "invalid-json",
            "",
            format!("malformed JSON at {}:{}: {e}", e.line(), e.column()),
        )
        .into()
    })
}

/// `body.data` as an array of resources (bulk operations).
pub fn data_array(body: &Value) -> Result<&Vec<Value>, CriteoError> {
    match body.get("data") {
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(Problem::invalid(
            "invalid-type",
            "/data",
            "data must be an array of resources",
        )
        .into()),
        None => Err(Problem::invalid("required-field", "/data", "data is required").into()),
    }
}

/// `body.data` as one resource object (single-input operations).
pub fn data_object(body: &Value) -> Result<&serde_json::Map<String, Value>, CriteoError> {
    match body.get("data") {
        Some(Value::Object(o)) => Ok(o),
        Some(_) => {
            Err(
                Problem::invalid("invalid-type", "/data", "data must be one resource object")
                    .into(),
            )
        }
        None => Err(Problem::invalid("required-field", "/data", "data is required").into()),
    }
}

/// The `attributes` object of a resource at `pointer` (absent = empty).
pub fn attributes<'a>(
    item: &'a Value,
    pointer: &str,
) -> Result<&'a serde_json::Map<String, Value>, Problem> {
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();
    let Value::Object(o) = item else {
        return Err(Problem::invalid(
            "invalid-type",
            pointer,
            "a resource must be an object {\"type\", \"attributes\"}",
        ));
    };
    if let Some(t) = o.get("type")
        && !t.is_string()
        && !t.is_null()
    {
        return Err(Problem::invalid(
            "invalid-type",
            format!("{pointer}/type"),
            "type must be a string",
        ));
    }
    match o.get("attributes") {
        Some(Value::Object(a)) => Ok(a),
        None | Some(Value::Null) => Ok(EMPTY.get_or_init(serde_json::Map::new)),
        Some(_) => Err(Problem::invalid(
            "invalid-type",
            format!("{pointer}/attributes"),
            "attributes must be an object",
        )),
    }
}

/// The string `id` of a resource at `pointer`.
pub fn resource_id(item: &Value, pointer: &str) -> Result<String, Problem> {
    match item.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(Problem::invalid(
            "required-field",
            format!("{pointer}/id"),
            "id is required",
        )),
        Some(_) => Err(Problem::invalid(
            "invalid-type",
            format!("{pointer}/id"),
            "id must be a string",
        )),
    }
}

/// Deserialises `value` as `T`; a failure names the field as a JSON pointer under `pointer`.
pub fn typed<T: serde::de::DeserializeOwned>(value: &Value, pointer: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let mut at = pointer.to_string();
        for seg in e.path().iter() {
            use serde_path_to_error::Segment;
            match seg {
                Segment::Seq { index } => at.push_str(&format!("/{index}")),
                Segment::Map { key } => at.push_str(&format!("/{key}")),
                Segment::Enum { variant } => at.push_str(&format!("/{variant}")),
                Segment::Unknown => {}
            }
        }
        Problem::invalid("invalid-value", at, e.into_inner().to_string())
    })
}

/// A required string attribute.
pub fn required_str(
    attrs: &serde_json::Map<String, Value>,
    key: &str,
    pointer: &str,
) -> Result<String, Problem> {
    match attrs.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(Problem::invalid(
            "required-field",
            format!("{pointer}/{key}"),
            format!("{key} is required"),
        )),
        Some(_) => Err(Problem::invalid(
            "invalid-type",
            format!("{pointer}/{key}"),
            format!("{key} must be a string"),
        )),
    }
}

/// An optional string attribute.
pub fn optional_str(
    attrs: &serde_json::Map<String, Value>,
    key: &str,
    pointer: &str,
) -> Result<Option<String>, Problem> {
    match attrs.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Problem::invalid(
            "invalid-type",
            format!("{pointer}/{key}"),
            format!("{key} must be a string"),
        )),
    }
}

/// A `Nillable*` wrapper `{"value": x}`: `None` = absent (unchanged), `Some(Null)` = clear.
pub fn nillable<'a>(
    attrs: &'a serde_json::Map<String, Value>,
    key: &str,
    pointer: &str,
) -> Result<Option<&'a Value>, Problem> {
    match attrs.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => match o.get("value") {
            Some(v) if o.len() == 1 => Ok(Some(v)),
            _ => Err(Problem::invalid(
                "invalid-value",
                format!("{pointer}/{key}"),
                format!("{key} must be {{\"value\": ...}}"),
            )),
        },
        Some(_) => Err(Problem::invalid(
            "invalid-type",
            format!("{pointer}/{key}"),
            format!("{key} must be {{\"value\": ...}}"),
        )),
    }
}

/// Checks a required `advertiserId` attribute against the credentials' advertiser.
pub fn check_advertiser(
    adv: &Advertiser,
    attrs: &serde_json::Map<String, Value>,
    pointer: &str,
) -> Result<(), Problem> {
    let id = required_str(attrs, "advertiserId", pointer)?;
    if is_own(adv, &id) {
        Ok(())
    } else {
        Err(Problem::advertiser(format!("{pointer}/advertiserId"), &id))
    }
}

/// An ISO-8601 UTC time from epoch milliseconds.
pub fn iso_time(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| Value::String(d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

/// Runs blocking engine work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CriteoError> + Send + 'static,
) -> Result<T, CriteoError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CriteoError::from(ApiError::internal(e.to_string())))?
}

/// `limit` and `offset` of the paginated searches (defaults 50 and 0; limit at most 100).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Items per page.
    pub limit: usize,
    /// Zero-based first item.
    pub offset: usize,
}

impl Page {
    /// Reads `limit` and `offset` from a raw query string; a bad value is a 400 naming it.
    pub fn from_query(query: Option<&str>) -> Result<Page, CriteoError> {
        let mut page = Page {
            limit: 50,
            offset: 0,
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let parse = |max: i64| -> Result<usize, CriteoError> {
                let n: i64 = v.parse().map_err(|_| {
                    Problem::parameter(k, format!("{k} must be an integer, not {v:?}"))
                })?;
                if n < 0 || n > max {
                    return Err(
                        Problem::parameter(k, format!("{k} must be between 0 and {max}")).into(),
                    );
                }
                usize::try_from(n).map_err(|_| Problem::parameter(k, "out of range").into())
            };
            match k {
                "limit" => page.limit = parse(100)?,
                "offset" => page.offset = parse(i64::from(i32::MAX))?,
                _ => {}
            }
        }
        Ok(page)
    }

    /// This page of `items`, with the `meta` object.
    pub fn apply(&self, items: Vec<Value>) -> (Vec<Value>, Value) {
        let total = items.len();
        let page: Vec<Value> = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        (
            page,
            json!({"limit": self.limit, "offset": self.offset, "totalItems": total}),
        )
    }
}

/// An optional array-of-strings search filter.
pub fn string_filter(
    attrs: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<String>>, CriteoError> {
    match attrs.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Ok(Some(typed::<Vec<String>>(
            v,
            &format!("/data/attributes/{key}"),
        )?)),
    }
}

/// Refuses a search filter naming advertisers other than the credentials' one.
pub fn check_advertiser_filter(
    adv: &Advertiser,
    ids: &Option<Vec<String>>,
) -> Result<(), CriteoError> {
    for (i, id) in ids.iter().flatten().enumerate() {
        if !is_own(adv, id) {
            return Err(
                Problem::advertiser(format!("/data/attributes/advertiserIds/{i}"), id).into(),
            );
        }
    }
    Ok(())
}

/// Only `/{YYYY-MM}/marketing-solutions/…` is Criteo's; any other first segment is a 404.
async fn check_version(req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let version = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let b = version.as_bytes();
    let ok = b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_digit);
    if !ok {
        return CriteoError::from(Problem::at(
            StatusCode::NOT_FOUND,
            "endpoint-not-found",
            "",
            format!("no endpoint {path}: Criteo paths start with /YYYY-MM/marketing-solutions/"),
        ))
        .into_response();
    }
    next.run(req).await
}

/// `GET /{version}/advertisers/me`: the credentials' advertiser (`GetPortfolioResponse`), so an
/// SDK user can find the id every audience call takes.
#[utoipa::path(
    get,
    path = "/{version}/advertisers/me",
    tag = "criteo",
    description = "The credentials' advertiser (`GetPortfolioResponse`).",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10")),
    responses(
        (status = 200, description = "The advertiser", body = doc::CriteoResourceResponse),
        (status = 401, description = "Missing or wrong credentials", body = doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
async fn advertisers_me(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    headers: HeaderMap,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    Ok(
        Json(json!({"data": [{"id": adv.record.id, "type": "advertiser",
        "attributes": {"advertiserName": adv.record.name}}], "errors": [], "warnings": []}))
        .into_response(),
    )
}

/// `GET /{version}/marketing-solutions/me`: the calling application (`ApplicationSummaryModel`).
#[utoipa::path(
    get,
    path = "/{version}/marketing-solutions/me",
    tag = "criteo",
    description = "The calling application (`ApplicationSummaryModel`).",
    params(("version" = String, Path, description = "The API version, YYYY-MM (e.g. 2025-10)", pattern = "^[0-9]{4}-[0-9]{2}$", example = "2025-10")),
    responses(
        (status = 200, description = "The application", body = doc::CriteoResourceResponse),
        (status = 401, description = "Missing or wrong credentials", body = doc::CriteoErrorEnvelope),
    ),
    security(("adminBearer" = []))
)]
async fn me(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    headers: HeaderMap,
) -> CResult {
    let adv = advertiser(&state, &headers)?;
    Ok(single_response(
        json!({"type": "ApplicationSummary", "attributes": {
            "applicationId": null, "organizationId": null, "name": adv.record.client_id,
            "description": format!("Audex admin credentials of advertiser {}", adv.record.name),
            "criteoService": "MarketingSolutions"}}),
        Vec::new(),
    ))
}

/// Every Criteo route, in one place: [`router`] serves exactly these, and the OpenAPI test checks
/// each appears in `/openapi.json` (annotate the handler and list it in [`CriteoApi`]).
fn table() -> Vec<crate::Route> {
    use crate::route;
    use Method as M;
    vec![
        route(
            M::POST,
            "/{version}/marketing-solutions/audience-segments/create",
            segments::create,
        ),
        route(
            M::PATCH,
            "/{version}/marketing-solutions/audience-segments",
            segments::update,
        ),
        route(
            M::POST,
            "/{version}/marketing-solutions/audience-segments/delete",
            segments::delete,
        ),
        route(
            M::POST,
            "/{version}/marketing-solutions/audience-segments/search",
            segments::search,
        ),
        route(
            M::POST,
            "/{version}/marketing-solutions/audience-segments/compute-sizes",
            segments::compute_sizes,
        ),
        route(
            M::POST,
            "/{version}/marketing-solutions/audience-segments/estimate-size",
            segments::estimate_size,
        ),
        route(
            M::GET,
            "/{version}/marketing-solutions/audience-segments/in-market-brands",
            segments::in_market_brands,
        ),
        route(
            M::GET,
            "/{version}/marketing-solutions/audience-segments/in-market-interests",
            segments::in_market_interests,
        ),
        route(
            M::PATCH,
            "/{version}/marketing-solutions/audience-segments/{id}/contact-list",
            lists::amend,
        ),
        route(
            M::DELETE,
            "/{version}/marketing-solutions/audience-segments/{id}/contact-list",
            lists::wipe,
        ),
        route(
            M::GET,
            "/{version}/marketing-solutions/audience-segments/{id}/contact-list/statistics",
            lists::statistics,
        ),
        route(
            M::POST,
            "/{version}/marketing-solutions/audiences/create",
            audiences::create,
        ),
        route(
            M::PATCH,
            "/{version}/marketing-solutions/audiences",
            audiences::update,
        ),
        route(
            M::POST,
            "/{version}/marketing-solutions/audiences/delete",
            audiences::delete,
        ),
        route(
            M::POST,
            "/{version}/marketing-solutions/audiences/search",
            audiences::search,
        ),
        route(
            M::POST,
            "/{version}/marketing-solutions/audiences/compute-sizes",
            audiences::compute_sizes,
        ),
        route(
            M::POST,
            "/{version}/marketing-solutions/audiences/estimate-size",
            audiences::estimate_size,
        ),
        route(
            M::PUT,
            "/{version}/marketing-solutions/ad-sets/{id}/audience",
            adsets::link,
        ),
        route(M::GET, "/{version}/advertisers/me", advertisers_me),
        route(M::GET, "/{version}/marketing-solutions/me", me),
    ]
}

/// The (method, path template) of every Criteo route (the counterpart of [`crate::routes`]).
pub fn routes() -> Vec<(Method, &'static str)> {
    table().into_iter().map(|(m, p, _)| (m, p)).collect()
}

/// The Criteo routes, to merge into the application's router.
pub fn router() -> Router<Arc<AppState>> {
    let mut app = Router::new();
    for (_, path, handler) in table() {
        app = app.route(path, handler);
    }
    app.route_layer(middleware::from_fn(check_version))
        .method_not_allowed_fallback(|| async {
            CriteoError::from(Problem::at(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "",
                "this endpoint does not take that HTTP method",
            ))
        })
}
