//! Segment-spec events: parsing, validation and the typed view later stages aggregate.
//!
//! Input is the Segment Spec (`track`, `page`, `screen`, `identify`, `alias`, `group`, and the
//! `batch` envelope). Validation refuses what cannot be stored meaningfully and names the field
//! (`/properties/price: must not be negative`); everything it does not understand is kept,
//! because the event log stores the accepted JSON verbatim.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::kind::{Channel, EventKind};
use crate::normalize::{normalize_email, normalize_phone, sha256_hex};

/// Largest accepted event, as Segment's HTTP API (32 KB).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Longest identifier or event name accepted.
pub const MAX_ID_LEN: usize = 512;
/// How far in the future a timestamp may be (clock skew) before it is refused.
pub const MAX_FUTURE_MS: i64 = 7 * 86_400_000;

/// A refused event: which field, and why. `field` is a JSON pointer into the event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// JSON pointer to the offending field (`/properties/price`), or `/` for the whole event.
    pub field: String,
    /// What is wrong with it, in words a user can act on.
    pub message: String,
}

impl ValidationError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The Segment call type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallType {
    Track,
    Page,
    Screen,
    Identify,
    Alias,
    Group,
}

impl CallType {
    fn parse(s: &str) -> Option<CallType> {
        Some(match s {
            "track" => CallType::Track,
            "page" => CallType::Page,
            "screen" => CallType::Screen,
            "identify" => CallType::Identify,
            "alias" => CallType::Alias,
            "group" => CallType::Group,
            _ => return None,
        })
    }
}

/// Declared gender (from `identify` traits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Gender {
    Unknown = 0,
    Female = 1,
    Male = 2,
    Other = 3,
}

/// Household income band. A numeric yearly `income` trait maps to a band by
/// [`IncomeBand::from_yearly`]; a string trait may name the band directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum IncomeBand {
    Low = 1,
    Medium = 2,
    High = 3,
    VeryHigh = 4,
}

impl IncomeBand {
    /// Bands for a yearly household income in the advertiser's currency:
    /// below 30k low, below 75k medium, below 150k high, else very high.
    pub fn from_yearly(amount: f64) -> IncomeBand {
        if amount < 30_000.0 {
            IncomeBand::Low
        } else if amount < 75_000.0 {
            IncomeBand::Medium
        } else if amount < 150_000.0 {
            IncomeBand::High
        } else {
            IncomeBand::VeryHigh
        }
    }

    /// Parses a band name (`low`, `medium`, `high`, `very_high`; case and separators free).
    pub fn parse(s: &str) -> Option<IncomeBand> {
        let k: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match k.as_str() {
            "low" => IncomeBand::Low,
            "medium" | "mid" | "middle" => IncomeBand::Medium,
            "high" => IncomeBand::High,
            "veryhigh" => IncomeBand::VeryHigh,
            _ => return None,
        })
    }
}

/// One product as an event mentions it (E-commerce Spec v2 product fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductRef {
    pub product_id: Option<String>,
    pub sku: Option<String>,
    /// Category as sent: a Google Product Taxonomy id or path, or free text.
    pub category: Option<String>,
    pub brand: Option<String>,
    pub price: Option<f64>,
    pub quantity: Option<f64>,
}

/// Ad exposure fields of `Ad Impression` / `Ad Clicked`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdInfo {
    pub campaign_id: Option<String>,
    pub creative_id: Option<String>,
    /// What the impression (or click) cost, in `currency`.
    pub cost: Option<f64>,
    pub currency: Option<String>,
}

/// Declared demographics, from traits (`identify`, or `context.traits`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Demographics {
    pub gender: Option<Gender>,
    /// Birth date when `birthday` is given.
    pub birthday: Option<NaiveDate>,
    /// Age at the event's time when only `age` is given.
    pub age: Option<u32>,
    pub income: Option<IncomeBand>,
}

impl Demographics {
    fn is_empty(&self) -> bool {
        self.gender.is_none()
            && self.birthday.is_none()
            && self.age.is_none()
            && self.income.is_none()
    }
}

/// A kind of identifier that resolves to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum IdKind {
    AnonymousId = 0,
    UserId = 1,
    /// SHA-256 hex of a normalised email.
    EmailSha256 = 2,
    /// SHA-256 hex of a normalised E.164 phone.
    PhoneSha256 = 3,
    /// `context.device.advertisingId` (IDFA / GAID / MAID).
    DeviceId = 4,
}

impl IdKind {
    /// Stable name used in exports and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::AnonymousId => "anonymous_id",
            IdKind::UserId => "user_id",
            IdKind::EmailSha256 => "email_sha256",
            IdKind::PhoneSha256 => "phone_sha256",
            IdKind::DeviceId => "device_id",
        }
    }

    /// Inverse of [`IdKind::as_str`].
    pub fn parse(s: &str) -> Option<IdKind> {
        [
            IdKind::AnonymousId,
            IdKind::UserId,
            IdKind::EmailSha256,
            IdKind::PhoneSha256,
            IdKind::DeviceId,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// An identifier with its kind, e.g. `(UserId, "u42")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identifier {
    pub kind: IdKind,
    pub value: String,
}

impl Identifier {
    pub fn new(kind: IdKind, value: impl Into<String>) -> Self {
        Identifier {
            kind,
            value: value.into(),
        }
    }
}

/// A validated event: the typed fields every aggregate needs, plus the untyped maps that
/// property filters read. The original JSON stays in the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub call: CallType,
    pub kind: EventKind,
    /// `event` of a track call, `name` of a page/screen call.
    pub name: Option<String>,
    pub message_id: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// `previousId` of an alias call.
    pub previous_id: Option<String>,
    /// When it happened (Unix ms, UTC), after Segment's clock-skew correction.
    pub timestamp_ms: i64,
    pub received_at_ms: i64,
    pub channel: Channel,
    pub properties: Map<String, Value>,
    pub traits: Map<String, Value>,
    /// Products mentioned: the single product of product events, or `products[]` of cart/order events.
    pub products: Vec<ProductRef>,
    /// Order value (`revenue`, else `total`, else sum of products) for `Order Completed`/`Order Refunded`.
    pub revenue: Option<f64>,
    pub currency: Option<String>,
    pub ad: Option<AdInfo>,
    /// IAB Content Taxonomy ids of a publisher page (`properties.categories`, `properties.cat`).
    pub page_categories: Vec<String>,
    pub location: Option<(f64, f64)>,
    /// Whether `location` was derived from `ip` (a GeoIP database) rather than given by the
    /// device.
    pub location_from_ip: bool,
    /// ISO 3166-1 alpha-2 country (upper case) from `context.location.country` or
    /// `traits.address.country`, when given as a two-letter code.
    pub country: Option<[u8; 2]>,
    pub ip: Option<IpAddr>,
    pub demographics: Option<Demographics>,
    /// Every identifier this event carries (user, anonymous, device, hashed email/phone).
    pub identifiers: Vec<Identifier>,
}

impl Event {
    /// The identifier that names the person this event is about: userId first, else anonymousId.
    pub fn primary_identifier(&self) -> Option<Identifier> {
        self.user_id
            .as_ref()
            .map(|u| Identifier::new(IdKind::UserId, u.clone()))
            .or_else(|| {
                self.anonymous_id
                    .as_ref()
                    .map(|a| Identifier::new(IdKind::AnonymousId, a.clone()))
            })
    }
}

/// Parses one JSON text that may be a single event or a `{"batch": [...]}` envelope, returning
/// each event's JSON (with the envelope's `context` merged in) for validation.
pub fn split_batch(value: Value) -> Result<Vec<Value>, ValidationError> {
    let Value::Object(mut obj) = value else {
        return Err(ValidationError::new("/", "expected a JSON object"));
    };
    let Some(batch) = obj.remove("batch") else {
        return Ok(vec![Value::Object(obj)]);
    };
    let Value::Array(items) = batch else {
        return Err(ValidationError::new("/batch", "must be an array of events"));
    };
    let shared_context = match obj.get("context") {
        None | Some(Value::Null) => None,
        Some(Value::Object(c)) => Some(c.clone()),
        Some(_) => return Err(ValidationError::new("/context", "must be an object")),
    };
    Ok(items
        .into_iter()
        .map(|item| match (item, &shared_context) {
            (Value::Object(mut e), Some(ctx)) => {
                let entry = e
                    .entry("context")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(ec) = entry {
                    for (k, v) in ctx {
                        ec.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                Value::Object(e)
            }
            (other, _) => other,
        })
        .collect())
}

/// Validates one event's JSON and extracts its typed view. `received_at_ms` is when Audex
/// received it (the default timestamp, and the reference for skew correction).
pub fn parse_event(value: Value, received_at_ms: i64) -> Result<Event, ValidationError> {
    let Value::Object(mut obj) = value else {
        return Err(ValidationError::new("/", "expected a JSON object"));
    };
    let obj = &mut obj;
    let type_str = match obj.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Null) | None => {
            return Err(ValidationError::new(
                "/type",
                "is required (track, page, screen, identify, alias or group)",
            ));
        }
        Some(_) => return Err(ValidationError::new("/type", "must be a string")),
    };
    let call = CallType::parse(type_str).ok_or_else(|| {
        ValidationError::new(
            "/type",
            format!(
                "unknown type {type_str:?}; expected track, page, screen, identify, alias or group"
            ),
        )
    })?;

    // Computed before the maps are moved out, so it covers the whole event.
    let derived_id = match obj.get("messageId") {
        Some(Value::String(s)) if !s.is_empty() => None,
        Some(Value::Number(_)) => None,
        _ => Some(derived_message_id(obj)),
    };
    let user_id = id_field(obj, "userId")?;
    let anonymous_id = id_field(obj, "anonymousId")?;
    let previous_id = id_field(obj, "previousId")?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(ValidationError::new(
            "/userId",
            "an event needs a userId or an anonymousId",
        ));
    }
    if call == CallType::Alias && previous_id.is_none() {
        return Err(ValidationError::new(
            "/previousId",
            "an alias call needs a previousId",
        ));
    }

    let properties = object_field(obj, "properties")?;
    let traits = object_field(obj, "traits")?;
    let context = object_field(obj, "context")?;
    let obj = &*obj;

    let name = match call {
        CallType::Track => match obj.get("event") {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                if s.len() > MAX_ID_LEN {
                    return Err(ValidationError::new(
                        "/event",
                        format!("is longer than {MAX_ID_LEN} bytes"),
                    ));
                }
                Some(s.clone())
            }
            Some(Value::String(_)) | Some(Value::Null) | None => {
                return Err(ValidationError::new(
                    "/event",
                    "a track call needs a non-empty event name",
                ));
            }
            Some(_) => return Err(ValidationError::new("/event", "must be a string")),
        },
        CallType::Page | CallType::Screen => optional_string(obj, "name", "/name")?,
        _ => None,
    };

    let kind = match call {
        CallType::Track => EventKind::from_track_name(name.as_deref().unwrap_or_default()),
        CallType::Page | CallType::Screen => EventKind::Visit,
        CallType::Identify | CallType::Group => EventKind::Identify,
        CallType::Alias => EventKind::Alias,
    };

    let timestamp_ms = resolve_timestamp(obj, received_at_ms)?;

    let message_id = match obj.get("messageId") {
        Some(Value::String(s)) if !s.is_empty() => {
            if s.len() > MAX_ID_LEN {
                return Err(ValidationError::new(
                    "/messageId",
                    format!("is longer than {MAX_ID_LEN} bytes"),
                ));
            }
            s.clone()
        }
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Null) | None | Some(Value::String(_)) => derived_id.unwrap_or_default(),
        Some(_) => {
            return Err(ValidationError::new("/messageId", "must be a string"));
        }
    };

    let channel = if call == CallType::Screen || context.contains_key("app") {
        Channel::App
    } else {
        Channel::Web
    };

    let (products, revenue, currency) = commerce_fields(kind, &properties)?;
    let ad = if matches!(kind, EventKind::AdImpression | EventKind::AdClicked) {
        Some(AdInfo {
            campaign_id: scalar_string(&properties, "campaign_id", "/properties")?,
            creative_id: scalar_string(&properties, "creative_id", "/properties")?,
            cost: non_negative(&properties, "cost", "/properties")?,
            currency: scalar_string(&properties, "currency", "/properties")?,
        })
    } else {
        None
    };
    let page_categories = if kind == EventKind::PublisherPageViewed {
        page_categories(&properties)?
    } else {
        Vec::new()
    };

    let location = location_field(&context)?;
    let country = country_code(context.get("location").and_then(|l| l.get("country")))
        .or_else(|| country_code(traits.get("address").and_then(|a| a.get("country"))));
    let ip = match context.get("ip") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.parse::<IpAddr>().map_err(|_| {
            ValidationError::new("/context/ip", format!("{s:?} is not an IP address"))
        })?),
        Some(Value::Null) | None | Some(Value::String(_)) => None,
        Some(_) => return Err(ValidationError::new("/context/ip", "must be a string")),
    };

    // Traits live at the top level for identify, in context.traits for other calls.
    let context_traits = match context.get("traits") {
        Some(Value::Object(t)) => Some(t),
        Some(Value::Null) | None => None,
        Some(_) => {
            return Err(ValidationError::new("/context/traits", "must be an object"));
        }
    };
    let (trait_src, trait_path) = if !traits.is_empty() {
        (Some(&traits), "/traits")
    } else {
        (context_traits, "/context/traits")
    };
    let demographics = match trait_src {
        Some(t) => {
            let d = demographics(t, trait_path, timestamp_ms)?;
            (!d.is_empty()).then_some(d)
        }
        None => None,
    };

    let mut identifiers = Vec::with_capacity(3);
    if let Some(u) = &user_id {
        identifiers.push(Identifier::new(IdKind::UserId, u.clone()));
    }
    if let Some(a) = &anonymous_id {
        identifiers.push(Identifier::new(IdKind::AnonymousId, a.clone()));
    }
    if let Some(Value::Object(device)) = context.get("device") {
        match device.get("advertisingId") {
            Some(Value::String(s))
                if !s.is_empty() && s != "00000000-0000-0000-0000-000000000000" =>
            {
                identifiers.push(Identifier::new(IdKind::DeviceId, s.to_ascii_lowercase()));
            }
            Some(Value::String(_)) | Some(Value::Null) | None => {}
            Some(_) => {
                return Err(ValidationError::new(
                    "/context/device/advertisingId",
                    "must be a string",
                ));
            }
        }
    }
    if let Some(t) = trait_src {
        contact_identifiers(t, trait_path, &mut identifiers)?;
    }
    // RudderStack's SDKs send identify traits only in context.traits: they are the call's traits.
    let traits = match (call, context_traits) {
        (CallType::Identify, Some(t)) if traits.is_empty() => t.clone(),
        _ => traits,
    };

    Ok(Event {
        call,
        kind,
        name,
        message_id,
        user_id,
        anonymous_id,
        previous_id,
        timestamp_ms,
        received_at_ms,
        channel,
        properties,
        traits,
        products,
        revenue,
        currency,
        ad,
        page_categories,
        location,
        location_from_ip: false,
        country,
        ip,
        demographics,
        identifiers,
    })
}

/// Parses and validates a single-event JSON text (no batch envelope).
pub fn parse_event_json(text: &[u8], received_at_ms: i64) -> Result<Event, ValidationError> {
    let value: Value = serde_json::from_slice(text).map_err(|e| {
        ValidationError::new(
            "/",
            format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    parse_event(value, received_at_ms)
}

/// A deterministic messageId for events sent without one, so that a retried identical payload
/// is still recognised as a duplicate.
fn derived_message_id(value: &Map<String, Value>) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    format!("audex-{}", &sha256_hex(&text)[..32])
}

fn id_field(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ValidationError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() {
                Ok(None)
            } else if t.len() > MAX_ID_LEN {
                Err(ValidationError::new(
                    format!("/{key}"),
                    format!("is longer than {MAX_ID_LEN} bytes"),
                ))
            } else {
                Ok(Some(t.to_string()))
            }
        }
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ValidationError::new(
            format!("/{key}"),
            "must be a string or a number",
        )),
    }
}

fn object_field(
    obj: &mut Map<String, Value>,
    key: &str,
) -> Result<Map<String, Value>, ValidationError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(ValidationError::new(format!("/{key}"), "must be an object")),
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, ValidationError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ValidationError::new(path, "must be a string")),
    }
}

/// A string or number field rendered as a string (ids are often sent as numbers). `base` is
/// the JSON pointer of `obj`; the field's pointer is only built for an error.
fn scalar_string(
    obj: &Map<String, Value>,
    key: &str,
    base: &str,
) -> Result<Option<String>, ValidationError> {
    let path = || format!("{base}/{key}");
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ValidationError::new(path(), "must be a string or a number")),
    }
}

/// A number field (numeric strings accepted). `base` is the JSON pointer of `obj`.
fn number_field(
    obj: &Map<String, Value>,
    key: &str,
    base: &str,
) -> Result<Option<f64>, ValidationError> {
    let path = || format!("{base}/{key}");
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| ValidationError::new(path(), "must be a finite number")),
        Some(Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Some(f)),
            _ => Err(ValidationError::new(
                path(),
                format!("expected a number, found the string {s:?}"),
            )),
        },
        Some(other) => Err(ValidationError::new(
            path(),
            format!("expected a number, found {}", json_type(other)),
        )),
    }
}

/// A number field that must not be negative.
fn non_negative(
    obj: &Map<String, Value>,
    key: &str,
    base: &str,
) -> Result<Option<f64>, ValidationError> {
    match number_field(obj, key, base)? {
        Some(f) if f < 0.0 => Err(ValidationError::new(
            format!("{base}/{key}"),
            "must not be negative",
        )),
        other => Ok(other),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn product_ref(obj: &Map<String, Value>, base: &str) -> Result<ProductRef, ValidationError> {
    let product = ProductRef {
        product_id: scalar_string(obj, "product_id", base)?.or(scalar_string(obj, "id", base)?),
        sku: scalar_string(obj, "sku", base)?,
        category: scalar_string(obj, "category", base)?,
        brand: scalar_string(obj, "brand", base)?,
        price: non_negative(obj, "price", base)?,
        quantity: non_negative(obj, "quantity", base)?,
    };
    Ok(product)
}

type Commerce = (Vec<ProductRef>, Option<f64>, Option<String>);

fn commerce_fields(
    kind: EventKind,
    props: &Map<String, Value>,
) -> Result<Commerce, ValidationError> {
    let currency = scalar_string(props, "currency", "/properties")?;
    // Prices and amounts are checked on every event: a negative price is wrong anywhere.
    let mut products = Vec::new();
    let single = product_ref(props, "/properties")?;
    if single.product_id.is_some() || single.sku.is_some() || single.category.is_some() {
        products.push(single);
    }
    match props.get("products") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let base = format!("/properties/products/{i}");
                match item {
                    Value::Object(o) => products.push(product_ref(o, &base)?),
                    _ => return Err(ValidationError::new(base, "must be an object")),
                }
            }
        }
        Some(_) => {
            return Err(ValidationError::new(
                "/properties/products",
                "must be an array of products",
            ));
        }
    }
    let revenue_field = non_negative(props, "revenue", "/properties")?;
    let total_field = non_negative(props, "total", "/properties")?;
    non_negative(props, "value", "/properties")?;
    let revenue = match kind {
        EventKind::OrderCompleted | EventKind::OrderRefunded => {
            revenue_field.or(total_field).or_else(|| {
                let sum: f64 = products
                    .iter()
                    .filter_map(|p| p.price.map(|pr| pr * p.quantity.unwrap_or(1.0)))
                    .sum();
                (sum > 0.0).then_some(sum)
            })
        }
        _ => None,
    };
    Ok((products, revenue, currency))
}

fn page_categories(props: &Map<String, Value>) -> Result<Vec<String>, ValidationError> {
    let (key, value) = match (props.get("categories"), props.get("cat")) {
        (Some(v), _) if !v.is_null() => ("categories", v),
        (_, Some(v)) if !v.is_null() => ("cat", v),
        _ => return Ok(Vec::new()),
    };
    let path = format!("/properties/{key}");
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(ValidationError::new(
                    format!("{path}/{i}"),
                    "must be a category id string",
                )),
            })
            .collect(),
        Value::String(s) => Ok(vec![s.clone()]),
        _ => Err(ValidationError::new(
            path,
            "must be an array of category ids",
        )),
    }
}

/// A two-letter country code, upper-cased; anything else (names, bad types) is ignored.
fn country_code(v: Option<&Value>) -> Option<[u8; 2]> {
    let s = v?.as_str()?.trim().as_bytes();
    (s.len() == 2 && s.iter().all(u8::is_ascii_alphabetic))
        .then(|| [s[0].to_ascii_uppercase(), s[1].to_ascii_uppercase()])
}

fn location_field(context: &Map<String, Value>) -> Result<Option<(f64, f64)>, ValidationError> {
    let loc = match context.get("location") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(l)) => l,
        Some(_) => {
            return Err(ValidationError::new(
                "/context/location",
                "must be an object",
            ));
        }
    };
    let lat = number_field(loc, "latitude", "/context/location")?;
    let lon = number_field(loc, "longitude", "/context/location")?;
    match (lat, lon) {
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) {
                return Err(ValidationError::new(
                    "/context/location/latitude",
                    format!("{lat} is outside -90..90"),
                ));
            }
            if !(-180.0..=180.0).contains(&lon) {
                return Err(ValidationError::new(
                    "/context/location/longitude",
                    format!("{lon} is outside -180..180"),
                ));
            }
            Ok(Some((lat, lon)))
        }
        (Some(_), None) => Err(ValidationError::new(
            "/context/location/longitude",
            "is required when latitude is given",
        )),
        (None, Some(_)) => Err(ValidationError::new(
            "/context/location/latitude",
            "is required when longitude is given",
        )),
        (None, None) => Ok(None),
    }
}

fn demographics(
    t: &Map<String, Value>,
    base: &str,
    timestamp_ms: i64,
) -> Result<Demographics, ValidationError> {
    let gender = match t.get("gender") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(match s.trim().to_ascii_lowercase().as_str() {
            "f" | "female" | "woman" | "w" => Gender::Female,
            "m" | "male" | "man" => Gender::Male,
            "" | "unknown" | "u" => Gender::Unknown,
            _ => Gender::Other,
        }),
        Some(_) => {
            return Err(ValidationError::new(
                format!("{base}/gender"),
                "must be a string",
            ));
        }
    };
    let birthday = match t.get("birthday") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => {
            let date_part = s.get(..10).unwrap_or(s);
            let d = NaiveDate::parse_from_str(date_part, "%Y-%m-%d").map_err(|_| {
                ValidationError::new(
                    format!("{base}/birthday"),
                    format!("{s:?} is not a date (YYYY-MM-DD or RFC 3339)"),
                )
            })?;
            let ts_date = DateTime::from_timestamp_millis(timestamp_ms).map(|t| t.date_naive());
            if ts_date.is_some_and(|today| d > today) {
                return Err(ValidationError::new(
                    format!("{base}/birthday"),
                    "is after the event's timestamp",
                ));
            }
            Some(d)
        }
        Some(_) => {
            return Err(ValidationError::new(
                format!("{base}/birthday"),
                "must be a date string",
            ));
        }
    };
    let age = match number_field(t, "age", base)? {
        None => None,
        Some(a) if (0.0..=130.0).contains(&a) => Some(a as u32),
        Some(a) => {
            return Err(ValidationError::new(
                format!("{base}/age"),
                format!("{a} is outside 0..130"),
            ));
        }
    };
    let income = match t.get("income") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match IncomeBand::parse(s) {
            Some(b) => Some(b),
            None => match s.trim().parse::<f64>() {
                Ok(f) if f >= 0.0 && f.is_finite() => Some(IncomeBand::from_yearly(f)),
                _ => {
                    return Err(ValidationError::new(
                        format!("{base}/income"),
                        format!(
                            "{s:?} is neither a yearly amount nor a band (low, medium, high, very_high)"
                        ),
                    ));
                }
            },
        },
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f >= 0.0 => Some(IncomeBand::from_yearly(f)),
            _ => {
                return Err(ValidationError::new(
                    format!("{base}/income"),
                    "must not be negative",
                ));
            }
        },
        Some(_) => {
            return Err(ValidationError::new(
                format!("{base}/income"),
                "must be a number or a band name",
            ));
        }
    };
    Ok(Demographics {
        gender,
        birthday,
        age,
        income,
    })
}

/// Hashed email and phone identifiers from traits. Raw contacts are hashed here and never
/// stored elsewhere in derived state; already-hashed values (`email_sha256`) are accepted.
fn contact_identifiers(
    t: &Map<String, Value>,
    base: &str,
    out: &mut Vec<Identifier>,
) -> Result<(), ValidationError> {
    match t.get("email") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(Value::String(s)) => {
            let n = normalize_email(s).ok_or_else(|| {
                ValidationError::new(
                    format!("{base}/email"),
                    format!("{s:?} is not an email address"),
                )
            })?;
            out.push(Identifier::new(IdKind::EmailSha256, sha256_hex(&n)));
        }
        Some(_) => {
            return Err(ValidationError::new(
                format!("{base}/email"),
                "must be a string",
            ));
        }
    }
    match t.get("phone") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(Value::String(s)) => {
            // A phone without a country code cannot be matched reliably; it is kept in the
            // raw event but not used as an identifier.
            if let Some(n) = normalize_phone(s, None) {
                out.push(Identifier::new(IdKind::PhoneSha256, sha256_hex(&n)));
            }
        }
        Some(_) => {
            return Err(ValidationError::new(
                format!("{base}/phone"),
                "must be a string",
            ));
        }
    }
    for (key, kind) in [
        ("email_sha256", IdKind::EmailSha256),
        ("phone_sha256", IdKind::PhoneSha256),
    ] {
        match t.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                let h = s.trim().to_ascii_lowercase();
                if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(ValidationError::new(
                        format!("{base}/{key}"),
                        "must be 64 hex characters (SHA-256)",
                    ));
                }
                out.push(Identifier::new(kind, h));
            }
            Some(_) => {
                return Err(ValidationError::new(
                    format!("{base}/{key}"),
                    "must be a string",
                ));
            }
        }
    }
    Ok(())
}

fn parse_time(v: &Value, path: &str) -> Result<Option<i64>, ValidationError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
            .map(|d| Some(d.timestamp_millis()))
            .map_err(|_| {
                ValidationError::new(
                    path,
                    format!("{s:?} is not an ISO-8601 / RFC 3339 timestamp"),
                )
            }),
        _ => Err(ValidationError::new(
            path,
            "must be an ISO-8601 timestamp string",
        )),
    }
}

/// Segment's rule: `timestamp` when given; else `originalTimestamp` corrected by the client's
/// clock skew (`receivedAt - sentAt`); else the time Audex received the event.
fn resolve_timestamp(
    obj: &Map<String, Value>,
    received_at_ms: i64,
) -> Result<i64, ValidationError> {
    let get = |k: &str| -> Result<Option<i64>, ValidationError> {
        match obj.get(k) {
            None => Ok(None),
            Some(v) => parse_time(v, &format!("/{k}")),
        }
    };
    let timestamp = get("timestamp")?;
    let original = get("originalTimestamp")?;
    let sent_at = get("sentAt")?;
    get("receivedAt")?;
    let ts = match (timestamp, original, sent_at) {
        (Some(t), _, _) => t,
        (None, Some(o), Some(s)) => o + (received_at_ms - s),
        (None, Some(o), None) => o,
        (None, None, _) => received_at_ms,
    };
    let field = if timestamp.is_some() {
        "/timestamp"
    } else {
        "/originalTimestamp"
    };
    if ts < 0 {
        return Err(ValidationError::new(field, "is before 1970-01-01"));
    }
    if ts > received_at_ms + MAX_FUTURE_MS {
        return Err(ValidationError::new(
            field,
            "is more than 7 days in the future",
        ));
    }
    Ok(ts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_764_400_000_000; // 2025-11-29

    fn ok(v: Value) -> Event {
        match parse_event(v, NOW) {
            Ok(e) => e,
            Err(e) => panic!("expected valid, got {e}"),
        }
    }

    #[test]
    fn product_viewed_is_typed() {
        let e = ok(
            json!({"type":"track","event":"Product Viewed","anonymousId":"a1",
            "messageId":"m1","timestamp":"2025-11-20T10:00:00.000Z",
            "properties":{"product_id":"p1","price":"12.5","category":"Apparel & Accessories","brand":"Acme"},
            "extra_field": {"kept": true}}),
        );
        assert_eq!(e.kind, EventKind::ProductViewed);
        assert_eq!(e.channel, Channel::Web);
        assert_eq!(e.products.len(), 1);
        assert_eq!(e.products[0].price, Some(12.5));
        assert_eq!(e.products[0].brand.as_deref(), Some("Acme"));
        assert_eq!(
            e.primary_identifier(),
            Some(Identifier::new(IdKind::AnonymousId, "a1"))
        );
    }

    #[test]
    fn screen_and_context_app_are_app_channel() {
        let e = ok(json!({"type":"screen","userId":"u","messageId":"m"}));
        assert_eq!(e.channel, Channel::App);
        assert_eq!(e.kind, EventKind::Visit);
        let e =
            ok(json!({"type":"track","event":"X","userId":"u","context":{"app":{"name":"shop"}}}));
        assert_eq!(e.channel, Channel::App);
        assert_eq!(e.kind, EventKind::Custom);
    }

    #[test]
    fn order_revenue_falls_back_to_products() {
        let e = ok(
            json!({"type":"track","event":"Order Completed","userId":"u",
            "properties":{"products":[{"product_id":"a","price":10,"quantity":2},{"product_id":"b","price":5}]}}),
        );
        assert_eq!(e.revenue, Some(25.0));
        let e = ok(
            json!({"type":"track","event":"Order Completed","userId":"u",
            "properties":{"total": 30, "revenue": 27}}),
        );
        assert_eq!(e.revenue, Some(27.0));
    }

    #[test]
    fn identify_traits_give_demographics_and_hashed_contacts() {
        let e = ok(json!({"type":"identify","userId":"u1","anonymousId":"a1",
            "traits":{"email":" John.Doe@Example.com ","gender":"F","birthday":"1990-04-01","income":80000,
            "phone":"+1 (234) 567-8901"},
            "context":{"device":{"advertisingId":"ABCD-1"}}}));
        let d = e.demographics.clone().unwrap_or_default();
        assert_eq!(d.gender, Some(Gender::Female));
        assert_eq!(d.income, Some(IncomeBand::High));
        assert_eq!(d.birthday, NaiveDate::from_ymd_opt(1990, 4, 1));
        let kinds: Vec<IdKind> = e.identifiers.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            vec![
                IdKind::UserId,
                IdKind::AnonymousId,
                IdKind::DeviceId,
                IdKind::EmailSha256,
                IdKind::PhoneSha256
            ]
        );
        assert_eq!(
            e.identifiers[3].value,
            sha256_hex("john.doe@example.com"),
            "email is normalised before hashing"
        );
    }

    #[test]
    fn rudderstack_identify_traits_in_context_are_the_call_traits() {
        let e = ok(json!({"type":"identify","userId":"u1",
            "context":{"traits":{"plan":"gold","gender":"female","email":"a@b.co"}}}));
        assert_eq!(e.traits.get("plan"), Some(&json!("gold")));
        assert_eq!(e.demographics.and_then(|d| d.gender), Some(Gender::Female));
        assert!(e.identifiers.iter().any(|i| i.kind == IdKind::EmailSha256));
        // Other calls keep context.traits as context only.
        let t = ok(json!({"type":"track","event":"X","userId":"u1",
            "context":{"traits":{"plan":"gold"}}}));
        assert!(t.traits.is_empty());
    }

    #[test]
    fn clock_skew_is_corrected() {
        let e = ok(json!({"type":"track","event":"X","userId":"u",
            "originalTimestamp":"2025-11-29T00:00:10.000Z","sentAt":"2025-11-29T00:00:20.000Z"}));
        let sent = DateTime::parse_from_rfc3339("2025-11-29T00:00:20.000Z")
            .map(|d| d.timestamp_millis())
            .unwrap_or(0);
        assert_eq!(
            e.timestamp_ms,
            DateTime::parse_from_rfc3339("2025-11-29T00:00:10.000Z")
                .map(|d| d.timestamp_millis())
                .unwrap_or(0)
                + (NOW - sent)
        );
    }

    #[test]
    fn missing_message_id_is_derived_deterministically() {
        let v = json!({"type":"track","event":"X","userId":"u","timestamp":"2025-11-20T10:00:00Z"});
        assert_eq!(ok(v.clone()).message_id, ok(v).message_id);
    }

    #[test]
    fn batch_envelope_merges_context() {
        let items = split_batch(json!({"batch":[
            {"type":"track","event":"A","userId":"u"},
            {"type":"page","userId":"u","context":{"ip":"1.2.3.4"}}],
            "context":{"ip":"9.9.9.9","app":{"name":"x"}}}))
        .unwrap_or_default();
        assert_eq!(items.len(), 2);
        let a = ok(items[0].clone());
        let b = ok(items[1].clone());
        assert_eq!(a.ip, "9.9.9.9".parse().ok());
        assert_eq!(b.ip, "1.2.3.4".parse().ok(), "the event's own context wins");
        assert_eq!(a.channel, Channel::App);
    }
}
