//! The JSON form: serde for [`Rule`] and the small types with a custom shape, plus readers whose
//! errors name the offending field as a JSON pointer (`/and/1/radius_km`).
//!
//! Shape: `{"and": [rule, ..]}`, `{"or": [rule, ..]}`, `{"not": rule}`, or a predicate object
//! `{"type": "<snake name>", ..fields}` (fields in any order, unknown fields rejected). See each
//! predicate struct in [`crate::ast`] for its fields and defaults.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::ast::{
    AdExposure, AgeRange, BrandInterest, BuyingPower, CategoryInterest, CountryIn, Event, EventRef,
    GenderIn, GeoRadius, InAudience, InList, IncomeIn, ModelScore, NoEventAfter, PageCategory,
    Predicate, PriceRange, PropFilter, Rule, SeasonActive, Tag, Window,
};
use crate::validate::ValidationError;
use crate::vocab::join_or;

/// Why a JSON document is not a rule (or not a typed audience).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonError {
    /// The text is not JSON; position from the JSON reader (1-based).
    #[error("{line}:{column}: {message}")]
    Syntax {
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// JSON, but a field has the wrong shape or an invalid value; the error names the field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

impl JsonError {
    /// The JSON pointer of the offending field (empty for syntax errors and the root).
    pub fn path(&self) -> &str {
        match self {
            JsonError::Syntax { .. } => "",
            JsonError::Invalid(e) => &e.path,
        }
    }
}

impl Rule {
    /// Reads a rule from JSON text and validates it. Errors name the field
    /// (`/and/1/radius_km: ...`) or, for malformed JSON, the line and column.
    pub fn from_json(text: &str) -> Result<Rule, JsonError> {
        let value: Value = serde_json::from_str(text).map_err(syntax_error)?;
        Ok(Rule::from_json_value(value)?)
    }

    /// Reads a rule from a parsed JSON value and validates it.
    pub fn from_json_value(value: Value) -> Result<Rule, ValidationError> {
        let rule = decode_rule(value, "")?;
        rule.validate()?;
        Ok(rule)
    }

    /// The JSON form as a value.
    pub fn to_json(&self) -> Value {
        // Serializing plain data into a `Value` cannot fail: every map key is a string and
        // every float is finite or becomes `null`.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The JSON form as compact text.
    pub fn to_json_string(&self) -> String {
        self.to_json().to_string()
    }
}

fn syntax_error(e: serde_json::Error) -> JsonError {
    JsonError::Syntax {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e),
    }
}

/// serde_json appends " at line L column C" to messages read from text; the position is
/// reported separately.
fn strip_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    msg.strip_suffix(&suffix).map(str::to_string).unwrap_or(msg)
}

/// Reads any serde type from JSON text, naming the offending field in errors. Rules nested
/// inside (e.g. in [`crate::AudienceDef`]) report their inner path too. No validation.
pub fn from_json_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => v,
        Err(e) => {
            let path = pointer(e.path());
            let inner = e.into_inner();
            return Err(match inner.classify() {
                serde_json::error::Category::Data => {
                    let msg = strip_position(&inner);
                    JsonError::Invalid(splice(&path, &msg))
                }
                _ => syntax_error(inner),
            });
        }
    };
    de.end().map_err(syntax_error)?;
    Ok(value)
}

/// Reads any serde type from a JSON value, naming the offending field in errors. No validation.
pub fn from_json_value<T: DeserializeOwned>(value: Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = pointer(e.path());
        splice(&path, &e.into_inner().to_string())
    })
}

/// Marks a nested rule's own error inside a serde message, so the outer path and the rule's
/// inner path can be joined back into one pointer.
const NESTED: &str = "rule error at `";

fn splice(outer: &str, msg: &str) -> ValidationError {
    if let Some(rest) = msg.strip_prefix(NESTED)
        && let Some((inner, message)) = rest.split_once("`: ")
    {
        return ValidationError::new(format!("{outer}{inner}"), message);
    }
    ValidationError::new(outer, msg)
}

/// A serde_path_to_error path as a JSON pointer (`/and/1/radius_km`; `""` for the root).
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push('/');
                out.push_str(&escape_pointer(key));
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// Escapes one JSON pointer segment (RFC 6901).
pub(crate) fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decodes a rule from a JSON value (shape only, no validation); `path` is the pointer of `v`.
pub(crate) fn decode_rule(v: Value, path: &str) -> Result<Rule, ValidationError> {
    let Value::Object(mut map) = v else {
        return Err(ValidationError::new(
            path,
            format!(
                "expected a rule object ({{\"and\": [..]}}, {{\"or\": [..]}}, {{\"not\": ..}} or a predicate with \"type\"), found {}",
                kind_of(&v)
            ),
        ));
    };
    let combinator = ["and", "or", "not"]
        .into_iter()
        .find(|k| map.contains_key(*k));
    if let Some(op) = combinator {
        if map.len() != 1 {
            let other = map.keys().find(|k| k.as_str() != op).cloned();
            return Err(ValidationError::new(
                format!("{path}/{}", escape_pointer(other.as_deref().unwrap_or(op))),
                format!("a \"{op}\" rule object has no other fields"),
            ));
        }
        let inner = map.remove(op).unwrap_or(Value::Null);
        let here = format!("{path}/{op}");
        return match op {
            "not" => Ok(Rule::not(decode_rule(inner, &here)?)),
            _ => {
                let Value::Array(items) = inner else {
                    return Err(ValidationError::new(
                        here,
                        format!("expected an array of rules, found {}", kind_of(&inner)),
                    ));
                };
                let rules = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| decode_rule(r, &format!("{here}/{i}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "and" {
                    Rule::And(rules)
                } else {
                    Rule::Or(rules)
                })
            }
        };
    }
    let Some(tag) = map.remove("type") else {
        return Err(ValidationError::new(
            path,
            "expected a rule object: one with \"and\", \"or\" or \"not\", or a predicate with \"type\"",
        ));
    };
    let Value::String(tag) = tag else {
        return Err(ValidationError::new(
            format!("{path}/type"),
            format!("expected a predicate type name, found {}", kind_of(&tag)),
        ));
    };
    decode_predicate(&tag, map, path).map(Rule::Pred)
}

fn decode_predicate(
    tag: &str,
    fields: Map<String, Value>,
    path: &str,
) -> Result<Predicate, ValidationError> {
    fn body<T: DeserializeOwned>(
        fields: Map<String, Value>,
        path: &str,
    ) -> Result<T, ValidationError> {
        from_json_value(Value::Object(fields))
            .map_err(|e| ValidationError::new(format!("{path}{}", e.path), e.message))
    }
    Ok(match tag {
        "event" => Predicate::Event(body::<Event>(fields, path)?),
        "no_event_after" => Predicate::NoEventAfter(body::<NoEventAfter>(fields, path)?),
        "category_interest" => Predicate::CategoryInterest(body::<CategoryInterest>(fields, path)?),
        "brand_interest" => Predicate::BrandInterest(body::<BrandInterest>(fields, path)?),
        "price_range" => Predicate::PriceRange(body::<PriceRange>(fields, path)?),
        "buying_power" => Predicate::BuyingPower(body::<BuyingPower>(fields, path)?),
        "gender" => Predicate::Gender(body::<GenderIn>(fields, path)?),
        "age" => Predicate::Age(body::<AgeRange>(fields, path)?),
        "income" => Predicate::Income(body::<IncomeIn>(fields, path)?),
        "geo_radius" => Predicate::GeoRadius(body::<GeoRadius>(fields, path)?),
        "country" => Predicate::Country(body::<CountryIn>(fields, path)?),
        "in_list" => Predicate::InList(body::<InList>(fields, path)?),
        "season" => Predicate::Season(body::<SeasonActive>(fields, path)?),
        "ad_exposure" => Predicate::AdExposure(body::<AdExposure>(fields, path)?),
        "page_category" => Predicate::PageCategory(body::<PageCategory>(fields, path)?),
        "in_audience" => Predicate::InAudience(body::<InAudience>(fields, path)?),
        "attribute" => Predicate::Attribute(body::<PropFilter>(fields, path)?),
        "model_score" => Predicate::ModelScore(body::<ModelScore>(fields, path)?),
        "tag" => Predicate::Tag(body::<Tag>(fields, path)?),
        other => {
            let names: Vec<String> = Predicate::TYPE_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect();
            return Err(ValidationError::new(
                format!("{path}/type"),
                format!(
                    "unknown predicate type \"{other}\", expected {}",
                    join_or(&names)
                ),
            ));
        }
    })
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Rule::And(v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("and", v)?;
                m.end()
            }
            Rule::Or(v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("or", v)?;
                m.end()
            }
            Rule::Not(r) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("not", r)?;
                m.end()
            }
            Rule::Pred(p) => p.serialize(s),
        }
    }
}

/// Shape only (no validation): use [`Rule::from_json`] or [`Rule::validate`] for that.
impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rule, D::Error> {
        let v = Value::deserialize(d)?;
        decode_rule(v, "")
            .map_err(|e| de::Error::custom(format!("{NESTED}{}`: {}", e.path, e.message)))
    }
}

impl Serialize for EventRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EventRef::Kind(k) => s.serialize_str(k.as_str()),
            EventRef::Activity => s.serialize_str("activity"),
            EventRef::Custom(name) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("custom", name)?;
                m.end()
            }
        }
    }
}

/// The built-in event names, for messages.
pub(crate) fn builtin_event_names() -> String {
    let mut names: Vec<String> = audex_model::EventKind::ALL
        .iter()
        .filter(|k| **k != audex_model::EventKind::Custom)
        .map(|k| k.as_str().to_string())
        .collect();
    names.push("activity".into());
    names.join(", ")
}

struct EventRefVisitor;

impl<'de> Visitor<'de> for EventRefVisitor {
    type Value = EventRef;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a built-in event name or {\"custom\": \"Event Name\"}")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<EventRef, E> {
        EventRef::builtin_from_name(s).ok_or_else(|| {
            E::custom(format!(
                "unknown event \"{s}\": built-in events are {}; write {{\"custom\": \"{s}\"}} for a custom event",
                builtin_event_names()
            ))
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventRef, A::Error> {
        let mut name: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "custom" && name.is_none() {
                name = Some(map.next_value()?);
            } else {
                return Err(de::Error::unknown_field(&key, &["custom"]));
            }
        }
        name.map(EventRef::Custom)
            .ok_or_else(|| de::Error::missing_field("custom"))
    }
}

impl<'de> Deserialize<'de> for EventRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EventRef, D::Error> {
        d.deserialize_any(EventRefVisitor)
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = usize::from(self.min_days != 0) + usize::from(self.max_days.is_some());
        let mut m = s.serialize_map(Some(n))?;
        if self.min_days != 0 {
            m.serialize_entry("min_days", &self.min_days)?;
        }
        if let Some(max) = self.max_days {
            m.serialize_entry("max_days", &max)?;
        }
        m.end()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFields {
    #[serde(default)]
    min_days: u32,
    #[serde(default)]
    max_days: Option<u32>,
}

struct WindowVisitor;

impl<'de> Visitor<'de> for WindowVisitor {
    type Value = Window;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a window: {\"min_days\": 0, \"max_days\": 30} or \"30d\", \"0..14d\", \"7d..\"",
        )
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Window, E> {
        crate::parser::parse_window_str(s).ok_or_else(|| {
            E::custom(format!(
                "expected a window like \"30d\", \"0..14d\" or \"7d..\", found \"{s}\""
            ))
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Window, A::Error> {
        let f = WindowFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Window {
            min_days: f.min_days,
            max_days: f.max_days,
        })
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Window, D::Error> {
        d.deserialize_any(WindowVisitor)
    }
}
