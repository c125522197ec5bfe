//! Validation: the constraints a rule must meet beyond its shape, checked after both parsers.
//! Errors name the offending field with a JSON pointer into the rule's JSON form.

use audex_model::EventKind;
use serde_json::Value;
use thiserror::Error;

use crate::ast::{
    AgeRange, Event, EventRef, GeoPoint, MAX_DAYS, Predicate, PropFilter, PropOp, Rule, TopSpec,
    Window,
};
use crate::json::escape_pointer;

/// The largest radius a [`crate::GeoRadius`] accepts: half of Earth's circumference, rounded.
pub const MAX_RADIUS_KM: f64 = 20_000.0;

/// The oldest age an [`AgeRange`] may name.
pub const MAX_AGE: u32 = 150;

/// A field of a rule that breaks a constraint. Display: `/and/1/radius_km: must be > 0`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}: {message}", if path.is_empty() { "/" } else { path.as_str() })]
pub struct ValidationError {
    /// JSON pointer of the field in the rule's JSON form (`""` = the whole rule).
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl ValidationError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ValidationError {
        ValidationError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error under `prefix` (a pointer such as `/and/2`).
    pub fn under(mut self, prefix: &str) -> ValidationError {
        self.path = format!("{prefix}{}", self.path);
        self
    }
}

type Res = Result<(), ValidationError>;

/// Builds child pointers.
struct At<'a>(&'a str);

impl At<'_> {
    fn err(&self, field: &str, message: impl Into<String>) -> ValidationError {
        if field.is_empty() {
            ValidationError::new(self.0, message)
        } else {
            ValidationError::new(format!("{}/{}", self.0, escape_pointer(field)), message)
        }
    }
    fn child(&self, field: &str) -> String {
        format!("{}/{}", self.0, escape_pointer(field))
    }
}

impl Rule {
    /// Checks every constraint; the first broken one is returned with its JSON pointer.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_rule(self, "")
    }
}

impl Predicate {
    /// Checks this predicate's constraints; pointers are relative to the predicate object.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_predicate(self, "")
    }
}

fn validate_rule(r: &Rule, path: &str) -> Res {
    match r {
        Rule::And(v) | Rule::Or(v) => {
            let op = if matches!(r, Rule::And(_)) {
                "and"
            } else {
                "or"
            };
            let here = format!("{path}/{op}");
            if v.is_empty() {
                return Err(ValidationError::new(
                    here,
                    format!("an \"{op}\" needs at least one rule"),
                ));
            }
            v.iter()
                .enumerate()
                .try_for_each(|(i, r)| validate_rule(r, &format!("{here}/{i}")))
        }
        Rule::Not(r) => validate_rule(r, &format!("{path}/not")),
        Rule::Pred(p) => validate_predicate(p, path),
    }
}

fn non_empty(at: &At, field: &str, s: &str, what: &str) -> Res {
    if s.trim().is_empty() {
        return Err(at.err(field, format!("{what} must not be empty")));
    }
    if s.chars().any(char::is_control) {
        return Err(at.err(field, format!("{what} must not contain control characters")));
    }
    Ok(())
}

fn non_empty_list<T>(at: &At, field: &str, v: &[T], what: &str) -> Res {
    if v.is_empty() {
        return Err(at.err(field, format!("needs at least one {what}")));
    }
    Ok(())
}

fn score(at: &At, field: &str, s: Option<f32>) -> Res {
    match s {
        Some(x) if !(x.is_finite() && (0.0..=1.0).contains(&x)) => {
            Err(at.err(field, format!("score {x} is outside [0, 1]")))
        }
        _ => Ok(()),
    }
}

fn within_days(at: &At, field: &str, d: Option<u32>) -> Res {
    match d {
        Some(0) => Err(at.err(field, "a look-back needs at least 1 day")),
        Some(d) if d > MAX_DAYS => Err(at.err(
            field,
            format!("{d} days is beyond the {MAX_DAYS} days of history"),
        )),
        _ => Ok(()),
    }
}

fn taxonomy_id(at: &At, field: &str, id: u32) -> Res {
    if id == 0 {
        return Err(at.err(field, "Google Product Taxonomy ids start at 1"));
    }
    Ok(())
}

/// Checks a window at `path` (the window object's pointer).
pub(crate) fn validate_window(w: &Window, path: &str) -> Res {
    let at = At(path);
    if w.min_days > MAX_DAYS {
        return Err(at.err(
            "min_days",
            format!(
                "{} days ago is beyond the {MAX_DAYS} days of history",
                w.min_days
            ),
        ));
    }
    if let Some(max) = w.max_days {
        if max > MAX_DAYS {
            return Err(at.err(
                "max_days",
                format!("{max} days ago is beyond the {MAX_DAYS} days of history"),
            ));
        }
        if max < w.min_days {
            return Err(at.err(
                "max_days",
                format!(
                    "the window ends ({max} days ago) before it starts ({} days ago)",
                    w.min_days
                ),
            ));
        }
    }
    Ok(())
}

fn validate_event_ref(e: &EventRef, path: &str) -> Res {
    match e {
        EventRef::Kind(EventKind::Custom) => Err(ValidationError::new(
            path,
            "\"custom\" is not an event: name a custom event, like {\"custom\": \"Wishlist Added\"}",
        )),
        EventRef::Kind(_) | EventRef::Activity => Ok(()),
        EventRef::Custom(name) => {
            if name.trim().is_empty() {
                return Err(ValidationError::new(
                    format!("{path}/custom"),
                    "a custom event name must not be empty",
                ));
            }
            if let Some(EventRef::Kind(k)) = EventRef::builtin_from_name(name) {
                return Err(ValidationError::new(
                    format!("{path}/custom"),
                    format!(
                        "\"{name}\" is the built-in event {}; use that name",
                        k.as_str()
                    ),
                ));
            }
            Ok(())
        }
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// Checks a property / trait comparison at `path` (the filter object's pointer).
fn validate_filter(f: &PropFilter, path: &str) -> Res {
    let at = At(path);
    if f.key.is_empty() {
        return Err(at.err("key", "a property name must not be empty"));
    }
    let op = f.op.symbol();
    match f.op {
        PropOp::Exists => {
            if !f.value.is_null() {
                return Err(at.err("value", "\"exists\" takes no value"));
            }
        }
        PropOp::In => {
            let Value::Array(items) = &f.value else {
                return Err(at.err("value", "\"in\" needs a list of values"));
            };
            if items.is_empty() {
                return Err(at.err("value", "\"in\" needs at least one value"));
            }
            let vpath = at.child("value");
            for (i, v) in items.iter().enumerate() {
                if !is_scalar(v) {
                    return Err(ValidationError::new(
                        format!("{vpath}/{i}"),
                        "a list value must be a string, a number or a boolean",
                    ));
                }
            }
        }
        PropOp::Gt | PropOp::Ge | PropOp::Lt | PropOp::Le => {
            if !matches!(f.value, Value::Number(_) | Value::String(_)) {
                return Err(at.err(
                    "value",
                    format!("\"{op}\" compares with a number or a string"),
                ));
            }
        }
        PropOp::Eq | PropOp::Ne => {
            if !(is_scalar(&f.value) || f.value.is_null()) {
                return Err(at.err(
                    "value",
                    format!("\"{op}\" compares with a string, a number, a boolean or null"),
                ));
            }
        }
        PropOp::Contains => {
            if !is_scalar(&f.value) {
                return Err(at.err(
                    "value",
                    "\"contains\" looks for a string, a number or a boolean",
                ));
            }
        }
    }
    Ok(())
}

fn validate_event(e: &Event, path: &str) -> Res {
    let at = At(path);
    validate_event_ref(&e.event, &at.child("event"))?;
    validate_window(&e.within, &at.child("within"))?;
    if e.count.op == crate::ast::CountOp::Lt && e.count.value == 0 {
        return Err(ValidationError::new(
            format!("{}/value", at.child("count")),
            "a count below 0 can never match",
        ));
    }
    let wpath = at.child("where");
    e.filters
        .iter()
        .enumerate()
        .try_for_each(|(i, f)| validate_filter(f, &format!("{wpath}/{i}")))
}

fn validate_point(p: &GeoPoint, path: &str) -> Res {
    let at = At(path);
    if !(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat)) {
        return Err(at.err("lat", format!("latitude {} is outside [-90, 90]", p.lat)));
    }
    if !(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon)) {
        return Err(at.err("lon", format!("longitude {} is outside [-180, 180]", p.lon)));
    }
    Ok(())
}

fn validate_age(a: &AgeRange, at: &At) -> Res {
    if a.min.is_none() && a.max.is_none() {
        return Err(at.err("", "an age range needs a minimum or a maximum"));
    }
    for (field, v) in [("min", a.min), ("max", a.max)] {
        if let Some(v) = v
            && v > MAX_AGE
        {
            return Err(at.err(field, format!("age {v} is above {MAX_AGE}")));
        }
    }
    if let (Some(lo), Some(hi)) = (a.min, a.max)
        && hi < lo
    {
        return Err(at.err(
            "max",
            format!("the maximum age {hi} is below the minimum {lo}"),
        ));
    }
    Ok(())
}

fn validate_predicate(p: &Predicate, path: &str) -> Res {
    let at = At(path);
    match p {
        Predicate::Event(e) => validate_event(e, path),
        Predicate::NoEventAfter(n) => {
            validate_event_ref(&n.event, &at.child("event"))?;
            non_empty_list(&at, "after", &n.after, "anchor event")?;
            let apath = at.child("after");
            for (i, a) in n.after.iter().enumerate() {
                let here = format!("{apath}/{i}");
                validate_event_ref(a, &here)?;
                if *a == n.event {
                    return Err(ValidationError::new(
                        here,
                        "the anchor cannot be the event itself (it would never match)",
                    ));
                }
            }
            validate_window(&n.within, &at.child("within"))
        }
        Predicate::CategoryInterest(c) => {
            taxonomy_id(&at, "category", c.category)?;
            score(&at, "min_score", c.min_score)?;
            within_days(&at, "within_days", c.within_days)
        }
        Predicate::BrandInterest(b) => {
            non_empty(&at, "brand", &b.brand, "a brand")?;
            score(&at, "min_score", b.min_score)?;
            within_days(&at, "within_days", b.within_days)
        }
        Predicate::PriceRange(p) => {
            non_empty_list(&at, "ranges", &p.ranges, "price band")?;
            match p.category {
                Some(c) => taxonomy_id(&at, "category", c),
                None => Ok(()),
            }
        }
        Predicate::BuyingPower(b) => non_empty_list(&at, "levels", &b.levels, "level"),
        Predicate::Gender(g) => non_empty_list(&at, "values", &g.values, "gender"),
        Predicate::Age(a) => validate_age(a, &at),
        Predicate::Income(i) => non_empty_list(&at, "bands", &i.bands, "income band"),
        Predicate::GeoRadius(g) => {
            non_empty_list(&at, "points", &g.points, "point")?;
            let ppath = at.child("points");
            g.points
                .iter()
                .enumerate()
                .try_for_each(|(i, p)| validate_point(p, &format!("{ppath}/{i}")))?;
            if !(g.radius_km.is_finite() && g.radius_km > 0.0 && g.radius_km <= MAX_RADIUS_KM) {
                return Err(at.err(
                    "radius_km",
                    format!(
                        "radius {} km must be > 0 and at most {MAX_RADIUS_KM}",
                        g.radius_km
                    ),
                ));
            }
            Ok(())
        }
        Predicate::Country(c) => {
            non_empty_list(&at, "codes", &c.codes, "country code")?;
            let cpath = at.child("codes");
            for (i, code) in c.codes.iter().enumerate() {
                if !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())) {
                    return Err(ValidationError::new(
                        format!("{cpath}/{i}"),
                        format!(
                            "\"{code}\" is not an ISO 3166-1 alpha-2 code in upper case, like \"FR\""
                        ),
                    ));
                }
            }
            Ok(())
        }
        Predicate::InList(l) => non_empty(&at, "list", &l.list, "a list id"),
        Predicate::Season(s) => {
            if let Some(y) = s.year {
                if !(1970..=2100).contains(&y) {
                    return Err(at.err("year", format!("year {y} is outside 1970..2100")));
                }
                if s.name.dates(y).is_none() {
                    return Err(at.err(
                        "year",
                        format!("{} does not take place in {y}", s.name.as_str()),
                    ));
                }
            }
            Ok(())
        }
        Predicate::AdExposure(a) => {
            if let Some(c) = &a.campaign {
                non_empty(&at, "campaign", c, "a campaign id")?;
            }
            if a.min_impressions == 0 {
                return Err(at.err("min_impressions", "needs at least 1 impression"));
            }
            validate_window(&a.within, &at.child("within"))
        }
        Predicate::PageCategory(p) => {
            non_empty_list(&at, "categories", &p.categories, "category")?;
            let cpath = at.child("categories");
            for (i, c) in p.categories.iter().enumerate() {
                non_empty(&At(&cpath), &i.to_string(), c, "a category id")?;
            }
            validate_window(&p.within, &at.child("within"))
        }
        Predicate::InAudience(a) => non_empty(&at, "audience", &a.audience, "an audience id"),
        Predicate::Attribute(f) => validate_filter(f, path),
        Predicate::ModelScore(m) => {
            non_empty(&at, "model", &m.model, "a model name")?;
            if m.top.is_none() && m.min_score.is_none() {
                return Err(at.err("", "a model score needs \"top\" or \"min_score\""));
            }
            match m.top {
                Some(TopSpec::Count(0)) => {
                    return Err(ValidationError::new(
                        format!("{}/count", at.child("top")),
                        "top needs at least 1 person",
                    ));
                }
                Some(TopSpec::Fraction(f)) if !(f.is_finite() && f > 0.0 && f <= 1.0) => {
                    return Err(ValidationError::new(
                        format!("{}/fraction", at.child("top")),
                        format!("fraction {f} must be > 0 and at most 1"),
                    ));
                }
                _ => {}
            }
            score(&at, "min_score", m.min_score)
        }
        Predicate::Tag(t) => non_empty(&at, "name", &t.name, "a tag name"),
    }
}
