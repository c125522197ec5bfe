//! The Criteo routes' part of `/openapi.json`: [`CriteoApi`] lists the annotated handlers, and
//! the schemas below describe Criteo's JSON:API-style envelopes (`{"data": …, "errors": […],
//! "warnings": […]}`). Like the native API, the handlers read raw JSON so that every refusal can
//! name its field; these types only document the wire shapes.

use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

/// The Criteo Marketing Solutions operations, merged into the document by
/// [`crate::openapi::spec`].
#[derive(OpenApi)]
#[openapi(
    paths(
        super::segments::create,
        super::segments::update,
        super::segments::delete,
        super::segments::search,
        super::segments::compute_sizes,
        super::segments::estimate_size,
        super::segments::in_market_brands,
        super::segments::in_market_interests,
        super::lists::amend,
        super::lists::wipe,
        super::lists::statistics,
        super::audiences::create,
        super::audiences::update,
        super::audiences::delete,
        super::audiences::search,
        super::audiences::compute_sizes,
        super::audiences::estimate_size,
        super::adsets::link,
        super::advertisers_me,
        super::me,
    ),
    components(schemas(
        CriteoProblem, CriteoErrorEnvelope, CriteoResource, CriteoBulkResponse, CriteoPageMeta,
        CriteoPagedResponse, CriteoResourceResponse, CriteoIdResource, CriteoIdsRequest,
        CriteoInMarket, CriteoLookalike, CriteoSegmentCreateAttributes, CriteoSegmentCreate,
        CriteoSegmentCreateRequest, CriteoSegmentUpdateAttributes, CriteoSegmentUpdate,
        CriteoSegmentUpdateRequest, CriteoSegmentSearchAttributes, CriteoSegmentSearch,
        CriteoSegmentSearchRequest, CriteoSegmentEstimateAttributes, CriteoSegmentEstimate,
        CriteoSegmentEstimateRequest, CriteoAudienceCreateAttributes, CriteoAudienceCreate,
        CriteoAudienceCreateRequest, CriteoAudienceUpdateAttributes, CriteoAudienceUpdate,
        CriteoAudienceUpdateRequest, CriteoAudienceSearchAttributes, CriteoAudienceSearch,
        CriteoAudienceSearchRequest, CriteoAudienceEstimateAttributes, CriteoAudienceEstimate,
        CriteoAudienceEstimateRequest, CriteoContactListAttributes, CriteoContactList,
        CriteoContactListRequest, CriteoAdSetAudienceAttributes, CriteoAdSetAudience,
        CriteoAdSetAudienceRequest, CriteoNillableString
    )),
    tags(
        (name = "criteo", description = "Criteo Marketing Solutions compatibility (audience segments, audiences, contact lists, ad-set links) under `/{version}/marketing-solutions/`, in Criteo's JSON:API envelopes; the admin bearer token from `POST /oauth2/token` (admin Basic credentials are accepted too)"),
    )
)]
pub struct CriteoApi;

/// One problem (`CommonProblem`; `instance` is always set, so it is also an `AudienceError`).
#[derive(ToSchema)]
pub struct CriteoProblem {
    /// `validation`, `authentication`, `authorization`, `quota` or `availability`.
    pub r#type: String,
    /// Kebab-case code (`segment-not-found`, `required-field`, …).
    pub code: String,
    /// Short summary.
    pub title: String,
    /// What exactly is wrong.
    pub detail: String,
    /// The request path, or the JSON pointer of the item.
    pub instance: String,
    /// Where: `{"pointer": "/data/0/attributes/name"}` or `{"parameter": "limit"}`.
    pub source: Option<std::collections::BTreeMap<String, String>>,
}

/// A whole-request failure: `data` is null and `errors` names the field at fault.
#[derive(ToSchema)]
pub struct CriteoErrorEnvelope {
    /// Always null.
    pub data: Option<Value>,
    /// At least one problem (one per failed item for bulk operations).
    pub errors: Vec<CriteoProblem>,
    /// Warnings.
    pub warnings: Vec<CriteoProblem>,
}

/// One resource in an answer.
#[derive(ToSchema)]
pub struct CriteoResource {
    /// The id (segment, audience, brand, interest or ad-set id).
    pub id: Option<String>,
    /// The resource type (`AudienceSegment`, `Audience`, `AudienceSegmentSize`, …).
    pub r#type: String,
    /// The resource's attributes.
    pub attributes: Value,
}

/// A bulk answer: the items that succeeded, one problem per failed item (200 on success or
/// partial success).
#[derive(ToSchema)]
pub struct CriteoBulkResponse {
    /// Items that succeeded.
    pub data: Vec<CriteoResource>,
    /// One problem per failed item.
    pub errors: Vec<CriteoProblem>,
    /// Warnings (sizes that cannot be computed yet).
    pub warnings: Vec<CriteoProblem>,
}

/// Pagination of a search.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoPageMeta {
    /// Items per page.
    pub limit: u64,
    /// Zero-based first item.
    pub offset: u64,
    /// Items matching the search.
    pub totalItems: u64,
}

/// A search answer.
#[derive(ToSchema)]
pub struct CriteoPagedResponse {
    /// This page.
    pub data: Vec<CriteoResource>,
    /// Pagination.
    pub meta: CriteoPageMeta,
    /// Always empty.
    pub errors: Vec<CriteoProblem>,
    /// Warnings.
    pub warnings: Vec<CriteoProblem>,
}

/// A single-resource answer (`data` is an array for the in-market lists and `advertisers/me`).
#[derive(ToSchema)]
pub struct CriteoResourceResponse {
    /// The resource (or the list of resources).
    pub data: Value,
    /// Always empty.
    pub errors: Vec<CriteoProblem>,
    /// Warnings.
    pub warnings: Vec<CriteoProblem>,
}

/// A resource named by id (delete, compute-sizes).
#[derive(ToSchema)]
pub struct CriteoIdResource {
    /// The segment or audience id.
    pub id: String,
    /// The resource type (ignored).
    pub r#type: Option<String>,
    /// Ignored; an object when given.
    pub attributes: Option<Value>,
}

/// `{"data": [{"id": …}, …]}`.
#[derive(ToSchema)]
#[schema(example = json!({"data": [{"id": "aud_1", "type": "AudienceSegment"}]}))]
pub struct CriteoIdsRequest {
    /// The resources.
    pub data: Vec<CriteoIdResource>,
}

/// `inMarket`: shoppers of interests or brands in a country.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoInMarket {
    /// ISO 3166-1 alpha-2 country (required when creating).
    pub country: Option<String>,
    /// Google product category ids.
    pub interestIds: Option<Vec<String>>,
    /// Brand names of the catalog.
    pub brandIds: Option<Vec<String>>,
    /// `Low`, `Medium`, `High`.
    pub buyingPower: Option<Vec<String>>,
    /// `Low`, `Medium`, `High`.
    pub priceRange: Option<Vec<String>>,
    /// `Male` or `Female` (a `{"value": …}` wrapper when updating).
    pub gender: Option<Value>,
}

/// `lookalike`: people like the members of a seed segment.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoLookalike {
    /// The seed segment id.
    pub seedSegmentId: String,
    /// How many people to keep (at least 1; absent = the top 5 %).
    pub targetSize: Option<u64>,
}

/// The attributes of a new segment: exactly one of `inMarket`, `prospecting`, `retargeting`,
/// `location`, `lookalike`, `contactList`.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoSegmentCreateAttributes {
    /// The credentials' advertiser id.
    pub advertiserId: String,
    /// A name unique among the advertiser's segments and audiences.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// An in-market segment.
    pub inMarket: Option<CriteoInMarket>,
    /// `{"usersType": "Prospects"|"ProspectsOrNonBuyers", "daysSinceLastVisitMin"?, "daysSinceLastVisitMax"?}`.
    pub prospecting: Option<Value>,
    /// `{"visitorsType": "All"|"Buyers"|"NonBuyers", "daysSinceLastVisitMin", "daysSinceLastVisitMax"}`.
    pub retargeting: Option<Value>,
    /// `{"pointsOfInterest": [{"name", "latitude", "longitude"}], "radiusInKm"}`.
    pub location: Option<Value>,
    /// A lookalike segment.
    pub lookalike: Option<CriteoLookalike>,
    /// `{}`: a contact-list segment (identifiers go through `PATCH …/{id}/contact-list`).
    pub contactList: Option<Value>,
}

/// A new segment.
#[derive(ToSchema)]
pub struct CriteoSegmentCreate {
    /// `AudienceSegment`.
    pub r#type: Option<String>,
    /// Its attributes.
    pub attributes: CriteoSegmentCreateAttributes,
}

/// `POST …/audience-segments/create`.
#[derive(ToSchema)]
#[schema(example = json!({"data": [{"type": "AudienceSegment", "attributes": {"advertiserId": "adv_1",
    "name": "shoes FR", "inMarket": {"country": "FR", "brandIds": ["Acme"]}}}]}))]
pub struct CriteoSegmentCreateRequest {
    /// The segments to create.
    pub data: Vec<CriteoSegmentCreate>,
}

/// A `Nillable*` wrapper: `{"value": null}` clears.
#[derive(ToSchema)]
pub struct CriteoNillableString {
    /// The new value, or null.
    pub value: Option<String>,
}

/// The attributes a segment update may change (its own sub-object only).
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoSegmentUpdateAttributes {
    /// A new name.
    pub name: Option<String>,
    /// A new description (`{"value": null}` clears).
    pub description: Option<CriteoNillableString>,
    /// Changes to an in-market segment.
    pub inMarket: Option<Value>,
    /// Changes to a prospecting segment.
    pub prospecting: Option<Value>,
    /// Changes to a retargeting segment.
    pub retargeting: Option<Value>,
    /// Changes to a location segment.
    pub location: Option<Value>,
    /// Changes to a lookalike segment (`targetSize`).
    pub lookalike: Option<Value>,
}

/// A segment change.
#[derive(ToSchema)]
pub struct CriteoSegmentUpdate {
    /// The segment id.
    pub id: String,
    /// `AudienceSegment`.
    pub r#type: Option<String>,
    /// What changes.
    pub attributes: CriteoSegmentUpdateAttributes,
}

/// `PATCH …/audience-segments`.
#[derive(ToSchema)]
#[schema(example = json!({"data": [{"id": "aud_1", "type": "AudienceSegment", "attributes": {"name": "shoes FR (all)",
    "description": {"value": null}, "inMarket": {"brandIds": ["Acme", "Bolt"]}}}]}))]
pub struct CriteoSegmentUpdateRequest {
    /// The changes.
    pub data: Vec<CriteoSegmentUpdate>,
}

/// Segment search filters (all optional).
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoSegmentSearchAttributes {
    /// Only the credentials' advertiser may be named.
    pub advertiserIds: Option<Vec<String>>,
    /// Segment ids.
    pub audienceSegmentIds: Option<Vec<String>>,
    /// `InMarket`, `Prospecting`, `ContactList`, `Location`, `Behavioral`, `Retargeting`,
    /// `Lookalike`, `Unknown`.
    pub audienceSegmentTypes: Option<Vec<String>>,
}

/// A segment search.
#[derive(ToSchema)]
pub struct CriteoSegmentSearch {
    /// `AudienceSegment`.
    pub r#type: Option<String>,
    /// The filters.
    pub attributes: Option<CriteoSegmentSearchAttributes>,
}

/// `POST …/audience-segments/search`.
#[derive(ToSchema)]
#[schema(example = json!({"data": {"type": "AudienceSegment", "attributes": {"audienceSegmentTypes": ["InMarket", "ContactList"]}}}))]
pub struct CriteoSegmentSearchRequest {
    /// The search.
    pub data: CriteoSegmentSearch,
}

/// An unsaved in-market or location segment to size: exactly one of `inMarket`, `location`.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoSegmentEstimateAttributes {
    /// The credentials' advertiser id.
    pub advertiserId: String,
    /// An in-market definition (`country` required).
    pub inMarket: Option<CriteoInMarket>,
    /// A location definition.
    pub location: Option<Value>,
}

/// A segment estimate.
#[derive(ToSchema)]
pub struct CriteoSegmentEstimate {
    /// `AudienceSegment`.
    pub r#type: Option<String>,
    /// The definition.
    pub attributes: CriteoSegmentEstimateAttributes,
}

/// `POST …/audience-segments/estimate-size`.
#[derive(ToSchema)]
#[schema(example = json!({"data": {"type": "AudienceSegment", "attributes": {"advertiserId": "adv_1",
    "inMarket": {"country": "FR", "interestIds": ["187"]}}}}))]
pub struct CriteoSegmentEstimateRequest {
    /// The definition to size.
    pub data: CriteoSegmentEstimate,
}

/// A new audience: an and/or/not algebra of segments.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoAudienceCreateAttributes {
    /// The credentials' advertiser id.
    pub advertiserId: String,
    /// A unique name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// `{"and": [...]}`, `{"or": [...]}`, `{"not": {...}}` or `{"audienceSegmentId": "…"}`
    /// (at most 16 levels and 256 segments).
    pub algebra: Value,
}

/// A new audience.
#[derive(ToSchema)]
pub struct CriteoAudienceCreate {
    /// `Audience`.
    pub r#type: Option<String>,
    /// Its attributes.
    pub attributes: CriteoAudienceCreateAttributes,
}

/// `POST …/audiences/create`.
#[derive(ToSchema)]
#[schema(example = json!({"data": [{"type": "Audience", "attributes": {"advertiserId": "adv_1", "name": "shoes, not buyers",
    "algebra": {"and": [{"audienceSegmentId": "aud_1"}, {"not": {"audienceSegmentId": "aud_2"}}]}}}]}))]
pub struct CriteoAudienceCreateRequest {
    /// The audiences to create.
    pub data: Vec<CriteoAudienceCreate>,
}

/// The attributes an audience update may change.
#[derive(ToSchema)]
pub struct CriteoAudienceUpdateAttributes {
    /// A new name.
    pub name: Option<String>,
    /// A new description (`{"value": null}` clears).
    pub description: Option<CriteoNillableString>,
    /// A new algebra.
    pub algebra: Option<Value>,
}

/// An audience change.
#[derive(ToSchema)]
pub struct CriteoAudienceUpdate {
    /// The audience id.
    pub id: String,
    /// `Audience`.
    pub r#type: Option<String>,
    /// What changes.
    pub attributes: CriteoAudienceUpdateAttributes,
}

/// `PATCH …/audiences`.
#[derive(ToSchema)]
#[schema(example = json!({"data": [{"id": "aud_3", "type": "Audience", "attributes": {"algebra": {"or": [{"audienceSegmentId": "aud_1"},
    {"audienceSegmentId": "aud_2"}]}}}]}))]
pub struct CriteoAudienceUpdateRequest {
    /// The changes.
    pub data: Vec<CriteoAudienceUpdate>,
}

/// Audience search filters (all optional).
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoAudienceSearchAttributes {
    /// Audiences linked to these ad sets.
    pub adSetIds: Option<Vec<String>>,
    /// Only the credentials' advertiser may be named.
    pub advertiserIds: Option<Vec<String>>,
    /// Audience ids.
    pub audienceIds: Option<Vec<String>>,
    /// Audiences whose algebra uses one of these segments.
    pub audienceSegmentIds: Option<Vec<String>>,
}

/// An audience search.
#[derive(ToSchema)]
pub struct CriteoAudienceSearch {
    /// `Audience`.
    pub r#type: Option<String>,
    /// The filters.
    pub attributes: Option<CriteoAudienceSearchAttributes>,
}

/// `POST …/audiences/search`.
#[derive(ToSchema)]
#[schema(example = json!({"data": {"type": "Audience", "attributes": {"audienceSegmentIds": ["aud_1"]}}}))]
pub struct CriteoAudienceSearchRequest {
    /// The search.
    pub data: CriteoAudienceSearch,
}

/// An unsaved algebra to size.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoAudienceEstimateAttributes {
    /// The credentials' advertiser id.
    pub advertiserId: String,
    /// The algebra.
    pub algebra: Value,
}

/// An audience estimate.
#[derive(ToSchema)]
pub struct CriteoAudienceEstimate {
    /// `Audience`.
    pub r#type: Option<String>,
    /// The algebra.
    pub attributes: CriteoAudienceEstimateAttributes,
}

/// `POST …/audiences/estimate-size`.
#[derive(ToSchema)]
#[schema(example = json!({"data": {"type": "Audience", "attributes": {"advertiserId": "adv_1",
    "algebra": {"and": [{"audienceSegmentId": "aud_1"}, {"audienceSegmentId": "aud_2"}]}}}}))]
pub struct CriteoAudienceEstimateRequest {
    /// The algebra to size.
    pub data: CriteoAudienceEstimate,
}

/// Identifiers to add to or remove from a contact list.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoContactListAttributes {
    /// `add` or `remove`.
    pub operation: String,
    /// `email` or `phoneNumber` (plaintext or SHA-256 of the normalised form).
    pub identifierType: Option<String>,
    /// The identifiers (at most 100 000).
    pub identifiers: Vec<String>,
    /// Accepted and ignored.
    pub gumCallerId: Option<u64>,
}

/// A contact-list amendment.
#[derive(ToSchema)]
pub struct CriteoContactList {
    /// `ContactlistAmendment`.
    pub r#type: Option<String>,
    /// The amendment.
    pub attributes: CriteoContactListAttributes,
}

/// `PATCH …/audience-segments/{id}/contact-list`.
#[derive(ToSchema)]
#[schema(example = json!({"data": {"type": "ContactlistAmendment", "attributes": {"operation": "add",
    "identifierType": "email", "identifiers": ["ann@example.com"]}}}))]
pub struct CriteoContactListRequest {
    /// The amendment.
    pub data: CriteoContactList,
}

/// The audience an ad set targets.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct CriteoAdSetAudienceAttributes {
    /// The audience id; null unlinks.
    pub audienceId: Option<String>,
}

/// An ad-set link.
#[derive(ToSchema)]
pub struct CriteoAdSetAudience {
    /// `AdSetAudience`.
    pub r#type: Option<String>,
    /// The link.
    pub attributes: CriteoAdSetAudienceAttributes,
}

/// `PUT …/ad-sets/{id}/audience`.
#[derive(ToSchema)]
#[schema(example = json!({"data": {"type": "AdSetAudience", "attributes": {"audienceId": "aud_3"}}}))]
pub struct CriteoAdSetAudienceRequest {
    /// The link.
    pub data: CriteoAdSetAudience,
}
