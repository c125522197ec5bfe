//! `/openapi.json`: the OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations and the schemas below (which describe the wire shapes; the handlers read raw JSON
//! so that every error can name its field).
//!
//! Adding documented routes: annotate the handler with `#[utoipa::path]`, list it in
//! [`ApiDoc`]'s `paths(...)`, and add its route to `crate::routes` (the test
//! `tests/openapi_metrics.rs` fails when a route there is missing from the document). Another module's
//! routes join with [`spec`]: derive an `OpenApi` struct there and `merge` it (or `nest` it under
//! a prefix) in [`spec`], as [`criteo_doc`] does for `crate::criteo` (whose routes are listed by
//! `crate::criteo::routes`).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The name of the write-key security scheme (collector).
pub const WRITE_KEY: &str = "writeKey";
/// The name of the admin bearer-token security scheme.
pub const ADMIN_BEARER: &str = "adminBearer";
/// The name of the admin Basic `client_id:client_secret` security scheme.
pub const ADMIN_BASIC: &str = "adminBasic";

/// The document, without the routes of other modules (see [`spec`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Audex",
        description = "Self-hostable audience engine: the Segment collector, person lookups, OpenRTB enrichment and the native audience API."
    ),
    paths(
        crate::collector::track,
        crate::collector::page,
        crate::collector::screen,
        crate::collector::identify,
        crate::collector::alias,
        crate::collector::group,
        crate::collector::batch,
        crate::collector::import,
        crate::native::token,
        crate::native::person,
        crate::native::delete_person,
        crate::native::person_audiences,
        crate::recommend::person_recommendations,
        crate::native::list_audiences,
        crate::native::create_audience,
        crate::native::estimate_size,
        crate::native::overlap,
        crate::native::get_audience,
        crate::native::update_audience,
        crate::native::delete_audience,
        crate::native::audience_size,
        crate::native::audience_members,
        crate::native::audience_history,
        crate::native::audience_report,
        crate::native::audience_sizes,
        crate::native::explain,
        crate::openrtb::bid_request,
        crate::metrics::healthz,
        crate::metrics::render,
        openapi_json,
    ),
    components(schemas(
        ErrorBody, SegmentEvent, BatchBody, IngestAck, TokenRequest, TokenResponse,
        AudienceSummary, AudienceList, AudienceDetail, DefinitionBody, FunnelStage, SizeBody, Overlap,
        HistoryBody, HistoryItem, ReportBody, CampaignRow, SizesBody, DaySize, EvaluatedSize, PersonAudiences, DeletedPersonBody, Recommendations, Health
    )),
    modifiers(&SecurityAddon),
    tags(
        (name = "collector", description = "Segment HTTP Tracking API; the write key is the Basic-auth user name"),
        (name = "auth", description = "OAuth2 client credentials"),
        (name = "people", description = "Person lookups"),
        (name = "audiences", description = "The native audience API"),
        (name = "openrtb", description = "OpenRTB 2.6 bid-request enrichment"),
        (name = "operations", description = "Health, metrics, this document"),
    )
)]
pub struct ApiDoc;

/// Adds the security schemes: the collector's write key, the admin bearer token and Basic.
struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut basic = |name: &str, text: &str| {
            let mut http = Http::new(HttpAuthScheme::Basic);
            http.description = Some(text.to_string());
            components.add_security_scheme(name, SecurityScheme::Http(http));
        };
        basic(
            WRITE_KEY,
            "The advertiser's write key as the Basic-auth user name, empty password (or `writeKey` in the body).",
        );
        basic(
            ADMIN_BASIC,
            "The advertiser's admin credentials as Basic `client_id:client_secret`.",
        );
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some("A token from `POST /oauth2/token`.".to_string());
        components.add_security_scheme(ADMIN_BEARER, SecurityScheme::Http(bearer));
    }
}

/// The Criteo Marketing Solutions routes' part of the document: [`crate::criteo::CriteoApi`]
/// (its paths are absolute, `/{version}/marketing-solutions/…`).
pub fn criteo_doc() -> utoipa::openapi::OpenApi {
    crate::criteo::CriteoApi::openapi()
}

/// The whole document: [`ApiDoc`] with the other modules' parts merged in.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi().merge_from(criteo_doc())
}

/// The document as JSON, built once.
fn spec_json() -> Arc<str> {
    static JSON: OnceLock<Arc<str>> = OnceLock::new();
    JSON.get_or_init(|| {
        spec()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"internal\",\"message\":\"{e}\"}}"))
            .into()
    })
    .clone()
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        spec_json().to_string(),
    )
        .into_response()
}

/// A refusal: `{"error": code, "message": …, "field"?: …}` (collector errors repeat the code as
/// `code` and list refused events in `rejected`).
#[derive(ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code (`invalid_request`, `unauthorized`, `not_found`, …).
    pub error: String,
    /// What is wrong.
    pub message: String,
    /// The field at fault: a JSON pointer, a query parameter or a form field.
    pub field: Option<String>,
    /// Collector only: the same value as `error`.
    pub code: Option<String>,
    /// Collector only: events stored from the request.
    pub accepted: Option<u64>,
    /// Collector only: each refused event (`index`, `field`, `message`).
    pub rejected: Option<Vec<Value>>,
}

/// One Segment call (track, page, screen, identify, alias or group); other Segment fields are
/// accepted and kept.
#[derive(ToSchema)]
#[schema(example = json!({"type": "track", "event": "Product Viewed", "userId": "user-1",
    "messageId": "m-1", "timestamp": "2026-11-28T10:00:00Z", "properties": {"product_id": "p1", "price": 5}}))]
#[allow(non_snake_case)]
pub struct SegmentEvent {
    /// `track`, `page`, `screen`, `identify`, `alias` or `group` (taken from the path when absent).
    pub r#type: Option<String>,
    /// The known user id; one of `userId` and `anonymousId` is required.
    pub userId: Option<String>,
    /// The anonymous id.
    pub anonymousId: Option<String>,
    /// The event name (track).
    pub event: Option<String>,
    /// The page or screen name.
    pub name: Option<String>,
    /// Event properties.
    pub properties: Option<BTreeMap<String, Value>>,
    /// Identify traits.
    pub traits: Option<BTreeMap<String, Value>>,
    /// Context (device, page, locale, …).
    pub context: Option<BTreeMap<String, Value>>,
    /// Alias: the previous id.
    pub previousId: Option<String>,
    /// Group: the group id.
    pub groupId: Option<String>,
    /// Deduplication key.
    pub messageId: Option<String>,
    /// When the event happened (ISO 8601).
    pub timestamp: Option<String>,
    /// The write key, when not sent as Basic auth.
    pub writeKey: Option<String>,
}

/// A batch of calls (`POST /v1/batch`, `/v1/import`), at most 500 KB.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct BatchBody {
    /// The calls, each with its `type`.
    pub batch: Vec<SegmentEvent>,
    /// Context merged into every call.
    pub context: Option<BTreeMap<String, Value>>,
    /// The write key, when not sent as Basic auth.
    pub writeKey: Option<String>,
}

/// A collector acknowledgement: every event is durable.
#[derive(ToSchema)]
pub struct IngestAck {
    /// Always true.
    pub success: bool,
    /// Events stored.
    pub accepted: u64,
    /// Events already stored before (same `messageId`).
    pub duplicates: u64,
}

/// OAuth2 client-credentials request (form-encoded or JSON; or the credentials as Basic auth).
#[derive(ToSchema)]
pub struct TokenRequest {
    /// `client_credentials` (the default).
    pub grant_type: Option<String>,
    /// The admin client id.
    pub client_id: Option<String>,
    /// The admin client secret.
    pub client_secret: Option<String>,
}

/// An issued bearer token.
#[derive(ToSchema)]
pub struct TokenResponse {
    /// The token, sent as `Authorization: Bearer …`.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Always null.
    pub refresh_token: Option<String>,
}

/// An audience in lists and answers.
#[derive(ToSchema)]
pub struct AudienceSummary {
    /// The audience id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The funnel stage, when set.
    pub funnel_stage: Option<String>,
    /// The definition kind (`rule`, `lookalike`, …).
    pub kind: String,
    /// Members at the last refresh (lists and creation).
    pub size: Option<u64>,
}

/// `GET /v1/audiences`.
#[derive(ToSchema)]
pub struct AudienceList {
    /// The advertiser's saved audiences.
    pub audiences: Vec<AudienceSummary>,
}

/// One audience with its definition and compiled rule.
#[derive(ToSchema)]
pub struct AudienceDetail {
    /// The audience id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The funnel stage, when set.
    pub funnel_stage: Option<String>,
    /// The definition kind.
    pub kind: String,
    /// The stored definition.
    pub definition: Value,
    /// The compiled rule as text.
    pub rule: String,
    /// The compiled rule as JSON.
    pub rule_json: Value,
}

/// An audience definition: exactly one of `rule` (text), `rule_json` or `kind` (typed).
#[derive(ToSchema)]
#[schema(example = json!({"name": "recent carters", "rule": "product_added within 30d", "funnel_stage": "Conversion"}))]
pub struct DefinitionBody {
    /// The name (required on create).
    pub name: Option<String>,
    /// The rule in the text form.
    pub rule: Option<String>,
    /// The rule in the JSON form.
    pub rule_json: Option<Value>,
    /// A typed definition (lookalike, prospecting, …).
    pub kind: Option<Value>,
    /// The funnel stage (lower case accepted too).
    pub funnel_stage: Option<FunnelStage>,
    /// Free text.
    pub description: Option<String>,
}

/// Where an audience sits in the marketing funnel.
#[derive(ToSchema)]
pub enum FunnelStage {
    /// Reach people who do not know the shop yet.
    Awareness,
    /// People weighing a purchase.
    Consideration,
    /// People close to buying, or buying again.
    Conversion,
}

/// A size answer.
#[derive(ToSchema)]
pub struct SizeBody {
    /// The audience id (saved audiences only).
    pub id: Option<String>,
    /// Members now.
    pub size: u64,
}

/// `GET /v1/audiences/overlap`.
#[derive(ToSchema)]
pub struct Overlap {
    /// Members of `a`.
    pub a: u64,
    /// Members of `b`.
    pub b: u64,
    /// Members of both.
    pub both: u64,
    /// Only in `a`.
    pub only_a: u64,
    /// Only in `b`.
    pub only_b: u64,
    /// |a ∩ b| / |a ∪ b|.
    pub jaccard: f64,
}

/// One entry or exit.
#[derive(ToSchema)]
pub struct HistoryItem {
    /// The person's primary id.
    pub person: String,
    /// True for an entry, false for an exit.
    pub entered: bool,
    /// When (RFC 3339).
    pub at: Option<String>,
    /// What caused it (`event`, `time`, `definition`, …).
    pub cause: String,
}

/// One campaign's figures among an audience's members.
#[derive(ToSchema)]
pub struct CampaignRow {
    /// `campaign_id` as sent (`(total)` in the total).
    pub campaign_id: String,
    /// Members with at least one impression or click.
    pub reached: u64,
    pub impressions: u64,
    pub clicks: u64,
    /// Sum of `cost` of impressions and clicks.
    pub cost: f64,
    /// Member-days with a click and, the same day, a product seen, listed, searched or carted.
    pub qualified_visits: u64,
    /// Orders credited by last touch within `attribution_days`, and their net revenue.
    pub orders: u64,
    pub revenue: f64,
    pub cpm: Option<f64>,
    pub ctr: Option<f64>,
    pub cost_per_click: Option<f64>,
    pub cost_per_qualified_visit: Option<f64>,
    pub cost_per_order: Option<f64>,
    /// Revenue per unit of cost.
    pub roas: Option<f64>,
}

/// One day of membership.
#[derive(ToSchema)]
pub struct DaySize {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub entered: u64,
    pub left: u64,
    /// Members at the end of the day.
    pub size: u64,
}

/// The definition evaluated at the end of a day.
#[derive(ToSchema)]
pub struct EvaluatedSize {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub size: u64,
}

/// `GET /v1/audiences/{id}/sizes`.
#[derive(ToSchema)]
pub struct SizesBody {
    pub id: String,
    /// Recorded: days with entries or exits, oldest first.
    pub days: Vec<DaySize>,
    /// Evaluated on today's data at the end of each of the last `days` days, oldest first.
    pub evaluated: Vec<EvaluatedSize>,
}

/// `GET /v1/audiences/{id}/report`.
#[derive(ToSchema)]
pub struct ReportBody {
    pub id: String,
    pub name: String,
    pub funnel_stage: FunnelStage,
    /// Days after a touch in which an order is credited to it.
    pub attribution_days: u32,
    /// Members now.
    pub members: u64,
    /// Members reached by any campaign.
    pub reached: u64,
    /// Most cost first.
    pub campaigns: Vec<CampaignRow>,
    pub total: CampaignRow,
}

/// `GET /v1/audiences/{id}/history`.
#[derive(ToSchema)]
pub struct HistoryBody {
    /// The audience id.
    pub id: String,
    /// Entries and exits, oldest first.
    pub history: Vec<HistoryItem>,
}

/// `GET /v1/people/{identifier}/audiences`.
#[derive(ToSchema)]
pub struct PersonAudiences {
    /// The internal person id.
    pub person: u32,
    /// The audiences the person is in.
    pub audiences: Vec<AudienceSummary>,
}

/// `DELETE /v1/people/{identifier}`.
#[derive(ToSchema)]
pub struct DeletedPersonBody {
    /// The internal id the person had (never live again).
    pub person: u32,
    /// Identifiers that no longer resolve.
    pub identifiers: u64,
    /// Profile history entries dropped.
    pub history_entries: u64,
    /// Ids of the saved audiences the person left.
    pub audiences_left: Vec<String>,
}

/// `GET /v1/people/{identifier}/recommendations`.
#[derive(ToSchema)]
pub struct Recommendations {
    /// The internal person id.
    pub person: u32,
    /// Products, best first (`product_id`, `title`, `brand`, `price`, `currency`, `category`,
    /// `score`, `reasons`).
    pub recommendations: Vec<Value>,
}

/// `GET /healthz`.
#[derive(ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}
