//! How saved audiences look to Criteo: which are segments (and of which `SegmentType`), which
//! are algebra audiences, and their read models. Every enum value written here is one of the
//! reference's §4.2 values (the SDK rejects any other).

use audex_engine::audiences::{Definitions, SavedAudience};
use audex_rules::{
    AudienceKind, BuyingPowerLevel, Gender, InAudience, Predicate, PriceBand, Rule, UsersType,
    VisitorsType,
};
use serde_json::{Map, Value, json};

use super::{MAX_ALGEBRA_DEPTH, MAX_ALGEBRA_LEAVES, Problem, iso_time};

/// Criteo's `SegmentType` (write values; `Unknown` only appears in search filters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentType {
    /// Recent interest in categories or brands.
    InMarket,
    /// Likely converters who are not customers.
    Prospecting,
    /// Uploaded identifiers.
    ContactList,
    /// Near points of interest.
    Location,
    /// Read-only: native kinds with no Criteo shape (seasonality, tags, events, ...).
    Behavioral,
    /// By days since the last visit.
    Retargeting,
    /// Most similar to a seed segment.
    Lookalike,
}

impl SegmentType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentType::InMarket => "InMarket",
            SegmentType::Prospecting => "Prospecting",
            SegmentType::ContactList => "ContactList",
            SegmentType::Location => "Location",
            SegmentType::Behavioral => "Behavioral",
            SegmentType::Retargeting => "Retargeting",
            SegmentType::Lookalike => "Lookalike",
        }
    }

    /// The attribute key of the type's sub-object (`inMarket`, ...).
    pub fn key(self) -> &'static str {
        match self {
            SegmentType::InMarket => "inMarket",
            SegmentType::Prospecting => "prospecting",
            SegmentType::ContactList => "contactList",
            SegmentType::Location => "location",
            SegmentType::Behavioral => "behavioral",
            SegmentType::Retargeting => "retargeting",
            SegmentType::Lookalike => "lookalike",
        }
    }

    /// Reads a search-filter value: `None` when it is not a segment type, `Some(None)` for
    /// `Unknown` (matches nothing).
    pub fn parse_filter(s: &str) -> Option<Option<SegmentType>> {
        Some(Some(match s {
            "InMarket" => SegmentType::InMarket,
            "Prospecting" => SegmentType::Prospecting,
            "ContactList" => SegmentType::ContactList,
            "Location" => SegmentType::Location,
            "Behavioral" => SegmentType::Behavioral,
            "Retargeting" => SegmentType::Retargeting,
            "Lookalike" => SegmentType::Lookalike,
            "Unknown" => return Some(None),
            _ => return None,
        }))
    }
}

/// The and/or/not algebra of a rule whose leaves are all `in_audience`, as Criteo's
/// `AlgebraNodeV1`; `None` for any other rule.
pub fn algebra_json(rule: &Rule) -> Option<Value> {
    Some(match rule {
        Rule::And(v) => json!({"and": v.iter().map(algebra_json).collect::<Option<Vec<_>>>()?}),
        Rule::Or(v) => json!({"or": v.iter().map(algebra_json).collect::<Option<Vec<_>>>()?}),
        Rule::Not(r) => json!({"not": algebra_json(r)?}),
        Rule::Pred(Predicate::InAudience(a)) => json!({"audienceSegmentId": a.audience}),
        Rule::Pred(_) => return None,
    })
}

/// The rule of a saved audience when it is a Criteo algebra audience.
pub fn algebra_rule(a: &SavedAudience) -> Option<Rule> {
    let rule = match &a.definition.kind {
        AudienceKind::Rule(r) => r.clone(),
        AudienceKind::Text(t) => audex_rules::parse(t).ok()?,
        _ => return None,
    };
    algebra_json(&rule).map(|_| rule)
}

/// The segment type of a saved audience; `None` when it is an algebra audience.
pub fn segment_type(a: &SavedAudience) -> Option<SegmentType> {
    Some(match &a.definition.kind {
        AudienceKind::Retargeting { .. } => SegmentType::Retargeting,
        AudienceKind::InMarket { .. } => SegmentType::InMarket,
        AudienceKind::Location { .. } => SegmentType::Location,
        AudienceKind::Lookalike { .. } => SegmentType::Lookalike,
        AudienceKind::Prospecting { .. } => SegmentType::Prospecting,
        AudienceKind::ContactList { .. } => SegmentType::ContactList,
        AudienceKind::Rule(_) | AudienceKind::Text(_) if algebra_rule(a).is_some() => return None,
        _ => SegmentType::Behavioral,
    })
}

/// A segment of this advertiser by id (not an algebra audience).
pub fn find_segment<'a>(defs: &'a Definitions, id: &str) -> Option<&'a SavedAudience> {
    defs.audiences
        .iter()
        .find(|a| a.id == id)
        .filter(|a| segment_type(a).is_some())
}

/// An algebra audience of this advertiser by id.
pub fn find_audience<'a>(defs: &'a Definitions, id: &str) -> Option<&'a SavedAudience> {
    defs.audiences
        .iter()
        .find(|a| a.id == id)
        .filter(|a| segment_type(a).is_none())
}

fn buying_power(l: BuyingPowerLevel) -> &'static str {
    match l {
        BuyingPowerLevel::Low => "Low",
        BuyingPowerLevel::Medium => "Medium",
        BuyingPowerLevel::High => "High",
        BuyingPowerLevel::VeryHigh => "VeryHigh",
    }
}

fn price_band(b: PriceBand) -> &'static str {
    match b {
        PriceBand::Low => "Low",
        PriceBand::Medium => "Medium",
        PriceBand::High => "High",
    }
}

fn gender(g: Gender) -> &'static str {
    match g {
        Gender::Female => "Female",
        Gender::Male => "Male",
        Gender::Unknown | Gender::Other => "Unknown",
    }
}

/// The type's sub-object of the segment read model (`InMarketV1`, `RetargetingV1`, ...).
fn sub_object(defs: &Definitions, kind: &AudienceKind) -> Value {
    match kind {
        AudienceKind::Retargeting {
            visitors_type,
            days_since_last_visit_min,
            days_since_last_visit_max,
            ..
        } => json!({
            "visitorsType": match visitors_type {
                VisitorsType::All => "All",
                VisitorsType::Buyers => "Buyers",
                VisitorsType::NonBuyers => "NonBuyers",
            },
            "daysSinceLastVisitMin": days_since_last_visit_min,
            "daysSinceLastVisitMax": days_since_last_visit_max,
        }),
        AudienceKind::InMarket {
            country,
            interest_ids,
            brand_ids,
            buying_power: bp,
            price_range,
            gender: g,
        } => json!({
            "country": country,
            "interestIds": interest_ids,
            "brandIds": brand_ids,
            "buyingPower": bp.iter().map(|l| buying_power(*l)).collect::<Vec<_>>(),
            "priceRange": price_range.iter().map(|b| price_band(*b)).collect::<Vec<_>>(),
            "gender": g.map(gender),
        }),
        AudienceKind::Location {
            points_of_interest,
            radius_in_km,
        } => json!({
            "pointsOfInterest": points_of_interest.iter().map(|p| json!({
                "name": p.name, "latitude": p.latitude, "longitude": p.longitude,
            })).collect::<Vec<_>>(),
            // int32 on the wire; the SDK refuses 5.0.
            "radiusInKm": radius_in_km.round().clamp(0.0, f64::from(i32::MAX)) as i64,
            "registryType": "PointOfInterest",
        }),
        AudienceKind::Lookalike {
            seed_audience,
            target_size,
        } => json!({
            "seedSegmentId": defs.audience(seed_audience).map(|a| a.id.as_str()).unwrap_or(seed_audience),
            "targetSize": target_size,
        }),
        AudienceKind::Prospecting {
            users_type,
            days_since_last_visit_min,
            days_since_last_visit_max,
        } => json!({
            "usersType": match users_type {
                UsersType::Prospects => "Prospects",
                UsersType::ProspectsOrNonBuyers => "ProspectsOrNonBuyers",
            },
            "daysSinceLastVisitMin": days_since_last_visit_min,
            "daysSinceLastVisitMax": days_since_last_visit_max,
        }),
        AudienceKind::ContactList { .. } => json!({"isReadOnly": false}),
        AudienceKind::Seasonality { .. } => json!({"category": "Seasonal"}),
        AudienceKind::Behavioral { .. } | AudienceKind::Demographic { .. } => {
            json!({"category": "Lifestyles"})
        }
        _ => json!({"category": "BuyingPatterns"}),
    }
}

/// The `AudienceSegmentEntityV1Resource` of a segment.
pub fn segment_json(defs: &Definitions, advertiser_id: &str, a: &SavedAudience) -> Option<Value> {
    let t = segment_type(a)?;
    let mut attrs = Map::new();
    attrs.insert("advertiserId".into(), json!(advertiser_id));
    attrs.insert("name".into(), json!(a.name()));
    attrs.insert("description".into(), json!(a.definition.description));
    attrs.insert("type".into(), json!(t.as_str()));
    attrs.insert("createdAt".into(), iso_time(a.created_ms));
    attrs.insert("updatedAt".into(), iso_time(a.updated_ms));
    attrs.insert(t.key().into(), sub_object(defs, &a.definition.kind));
    Some(json!({"id": a.id, "type": "AudienceSegment", "attributes": attrs}))
}

/// The `AudienceEntityV1Resource` of an algebra audience, with the ad sets linked to it.
pub fn audience_json(
    advertiser_id: &str,
    a: &SavedAudience,
    ad_sets: Vec<String>,
) -> Option<Value> {
    if segment_type(a).is_some() {
        return None;
    }
    let algebra = algebra_json(&algebra_rule(a)?)?;
    Some(json!({"id": a.id, "type": "Audience", "attributes": {
        "advertiserId": advertiser_id,
        "name": a.name(),
        "description": a.definition.description,
        "algebra": algebra,
        "adSetIds": ad_sets,
        "createdAt": iso_time(a.created_ms),
        "updatedAt": iso_time(a.updated_ms),
    }}))
}

/// Reads a Criteo `AlgebraNodeV1` into a rule of `in_audience` leaves. Each node must carry
/// exactly one of `and`, `or`, `not`, `audienceSegmentId`; every leaf must be a segment of this
/// advertiser; nesting and size are bounded.
pub fn algebra_from_json(defs: &Definitions, v: &Value, pointer: &str) -> Result<Rule, Problem> {
    let mut leaves = 0usize;
    algebra_node(defs, v, pointer, 1, &mut leaves)
}

fn algebra_node(
    defs: &Definitions,
    v: &Value,
    pointer: &str,
    depth: usize,
    leaves: &mut usize,
) -> Result<Rule, Problem> {
    if depth > MAX_ALGEBRA_DEPTH {
        return Err(Problem::invalid(
            "algebra-too-deep",
            pointer,
            format!("an algebra may nest at most {MAX_ALGEBRA_DEPTH} levels"),
        ));
    }
    let Value::Object(o) = v else {
        return Err(Problem::invalid(
            "invalid-type",
            pointer,
            "an algebra node must be an object with one of and, or, not, audienceSegmentId",
        ));
    };
    let set: Vec<(&String, &Value)> = o.iter().filter(|(_, v)| !v.is_null()).collect();
    let [(key, value)] = set.as_slice() else {
        return Err(Problem::invalid(
            "invalid-algebra",
            pointer,
            "an algebra node must carry exactly one of and, or, not, audienceSegmentId",
        ));
    };
    let at = format!("{pointer}/{key}");
    match key.as_str() {
        "and" | "or" => {
            let Value::Array(items) = value else {
                return Err(Problem::invalid(
                    "invalid-type",
                    at,
                    format!("{key} must be an array of nodes"),
                ));
            };
            if items.is_empty() {
                return Err(Problem::invalid(
                    "invalid-algebra",
                    at,
                    format!("{key} needs at least one node"),
                ));
            }
            let rules = items
                .iter()
                .enumerate()
                .map(|(i, n)| algebra_node(defs, n, &format!("{at}/{i}"), depth + 1, leaves))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if key.as_str() == "and" {
                Rule::And(rules)
            } else {
                Rule::Or(rules)
            })
        }
        "not" => Ok(Rule::Not(Box::new(algebra_node(
            defs,
            value,
            &at,
            depth + 1,
            leaves,
        )?))),
        "audienceSegmentId" => {
            let Value::String(id) = value else {
                return Err(Problem::invalid(
                    "invalid-type",
                    at,
                    "audienceSegmentId must be a string",
                ));
            };
            *leaves += 1;
            if *leaves > MAX_ALGEBRA_LEAVES {
                return Err(Problem::invalid(
                    "algebra-too-large",
                    at,
                    format!("an algebra may refer to at most {MAX_ALGEBRA_LEAVES} segments"),
                ));
            }
            if find_segment(defs, id).is_none() {
                return Err(Problem::not_found("segment-not-found", at, id));
            }
            Ok(Rule::Pred(Predicate::InAudience(InAudience {
                audience: id.clone(),
            })))
        }
        other => Err(Problem::invalid(
            "invalid-algebra",
            at,
            format!("unknown algebra field {other:?}: use and, or, not, audienceSegmentId"),
        )),
    }
}
