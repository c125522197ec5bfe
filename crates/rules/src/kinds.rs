//! Typed audience kinds: the forms a console or the Criteo-style API fills in, each compiling to
//! one [`Rule`]. Every kind's meaning *is* the rule it compiles to; the table below says it in
//! words. Windows count whole days back from `now` (0 = today) as in [`Window`].
//!
//! JSON: externally tagged with camelCase keys and fields, like the attributes of Criteo's
//! `AudienceSegment` (`{"retargeting": {"visitorsType": "NonBuyers", ..}}`); enum values are
//! PascalCase as Criteo writes them (`"VeryHigh"`), snake_case is accepted too.
//!
//! "Activity" below is [`EventRef::Activity`]: a page/screen or any e-commerce step on the
//! advertiser's own site or app ([`crate::ACTIVITY_KINDS`]). It is what Criteo's "visit" means.
//!
//! | kind | compiles to | meaning |
//! |---|---|---|
//! | `retargeting` | activity in `min..max` days (on `channel`) and, when `min > 0`, no activity in `0..min-1`; `Buyers`: and `order_completed` in `min..max` (any channel); `NonBuyers`: and none | the last visit was between `daysSinceLastVisitMin` and `daysSinceLastVisitMax` days ago |
//! | `cartAbandoners` | [`NoEventAfter`] `order_completed` after `product_added, checkout_started` within `days` (anchors on `channel`) | added to cart or started checkout in the last `days` days and has not ordered since the last such step |
//! | `productViewers` | `product_viewed` within `days` on `channel` | viewed a product in the last `days` days |
//! | `buyers` | `order_completed >= minOrders` within `days` on `channel` | ordered at least `minOrders` times (default 1) in the last `days` days |
//! | `inMarket` | `country` ∧ (any [`CategoryInterest`] of `interestIds` ∨ any [`BrandInterest`] of `brandIds`, both over the last 30 days) ∧ `buyingPower` ∧ `priceRange` ∧ `gender`; empty parts are left out | recently interested in one of the categories or brands, with the given profile |
//! | `location` | [`GeoRadius`] of the points, `radiusInKm` | last known location within the radius of a point of interest |
//! | `demographic` | [`GenderIn`] ∧ [`AgeRange`] ∧ [`IncomeIn`], empty parts left out | declared demographics |
//! | `seasonality` | [`SeasonActive`] | active during the season (that year's, or the latest) |
//! | `events` | [`Event`] of `event` (a built-in name, `Segment Name`, or a custom event) with `filters`, `count`, within `days` (all history when absent), on `channel` | did the event that many times |
//! | `seenAds` | [`AdExposure`] of `campaignId`, `minImpressions`, `clicked`, `notConverted`, within `days` | saw (and clicked / did not click) the advertiser's ads |
//! | `contactList` | [`InList`] `listId` | in the uploaded contact list |
//! | `behavioral` | [`Tag`] `tag` | carries the behavioural tag |
//! | `contextual` | [`PageCategory`] of `pageCategories` within `days` ∧ [`InAudience`] `audience` when set | read publisher pages of those IAB categories (the "media category + audience filter" of contextual targeting) |
//! | `lookalike` | [`ModelScore`] `lookalike:<seedAudience>` top `targetSize` (default top 5 %) ∧ ¬ [`InAudience`] `seedAudience` | the people most like the seed, excluding the seed itself |
//! | `prospecting` | [`ModelScore`] `prospecting` score ≥ 0.5 ∧ (no activity ever; `ProspectsOrNonBuyers`: or a last visit `min..max` days ago — any time when both are absent — and no order ever) | people the prospecting model rates likely to convert who are not yet customers |
//! | `rule` | the rule itself | a hand-written rule (JSON form) |
//! | `text` | the parsed rule | a hand-written rule (text form) |

use audex_model::event::{Gender, IncomeBand};
use audex_model::season::Season;
use audex_model::{Channel, EventKind};
use serde::{Deserialize, Serialize};

use crate::ast::{
    AdExposure, AgeRange, BrandInterest, BuyingPower, BuyingPowerLevel, CategoryInterest, CountCmp,
    CountryIn, Event, EventRef, GenderIn, GeoPoint, GeoRadius, InAudience, InList, IncomeIn,
    ModelScore, NoEventAfter, PageCategory, PriceBand, PriceRange, PropFilter, Rule, SeasonActive,
    Tag, TopSpec, Window,
};
use crate::validate::ValidationError;

/// The look-back of in-market interests, in days.
pub const IN_MARKET_DAYS: u32 = 30;

/// The share of scored people a lookalike keeps when no `targetSize` is given.
pub const DEFAULT_LOOKALIKE_FRACTION: f64 = 0.05;

/// The prospecting model's decision threshold: more likely than not to convert.
pub const PROSPECTING_MIN_SCORE: f32 = 0.5;

/// Which retargeting visitors (Criteo `VisitorsType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VisitorsType {
    /// Every visitor in the window.
    #[serde(alias = "all")]
    All,
    /// Visitors who also ordered in the window.
    #[serde(alias = "buyers")]
    Buyers,
    /// Visitors who did not order in the window.
    #[serde(alias = "non_buyers")]
    NonBuyers,
}

/// Which prospects (Criteo `UsersType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UsersType {
    /// People with no activity on the advertiser's site or app, ever.
    #[serde(alias = "prospects")]
    Prospects,
    /// Those, plus visitors (in the window) who never ordered.
    #[serde(alias = "prospects_or_non_buyers")]
    ProspectsOrNonBuyers,
}

/// A point of interest (Criteo `PointOfInterestV1`; here latitude and longitude are required).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PointOfInterest {
    /// Label, informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Latitude in decimal degrees.
    pub latitude: f64,
    /// Longitude in decimal degrees.
    pub longitude: f64,
}

/// Where an audience sits in the marketing funnel (reporting and defaults; no effect on
/// membership).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FunnelStage {
    /// Reach people who do not know the shop yet.
    #[serde(alias = "awareness")]
    Awareness,
    /// People who know the shop and are weighing a purchase.
    #[serde(alias = "consideration")]
    Consideration,
    /// People close to buying, or buying again.
    #[serde(alias = "conversion")]
    Conversion,
}

/// A typed audience definition. See the module docs for each kind's exact meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum AudienceKind {
    /// Criteo `retargeting`: by days since the last visit, optionally buyers or non-buyers.
    Retargeting {
        /// All, buyers or non-buyers.
        visitors_type: VisitorsType,
        /// Fewest days since the last visit.
        days_since_last_visit_min: u32,
        /// Most days since the last visit.
        days_since_last_visit_max: u32,
        /// Channel of the visits; absent = any.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::vocab::criteo_channel_opt"
        )]
        channel: Option<Channel>,
    },
    /// Added to cart or started checkout, then did not order.
    CartAbandoners {
        /// Look-back for the cart step.
        days: u32,
        /// Channel of the cart step; absent = any.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::vocab::criteo_channel_opt"
        )]
        channel: Option<Channel>,
    },
    /// Viewed a product recently.
    ProductViewers {
        /// Look-back.
        days: u32,
        /// Channel; absent = any.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::vocab::criteo_channel_opt"
        )]
        channel: Option<Channel>,
    },
    /// Ordered recently.
    Buyers {
        /// Look-back.
        days: u32,
        /// Fewest orders (default 1).
        #[serde(default = "one", skip_serializing_if = "is_one")]
        min_orders: u32,
        /// Channel; absent = any.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::vocab::criteo_channel_opt"
        )]
        channel: Option<Channel>,
    },
    /// Criteo `inMarket`: recent interest in categories or brands, with profile filters.
    InMarket {
        /// ISO 3166-1 alpha-2 country (any case); absent = any country.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        country: Option<String>,
        /// Google Product Taxonomy ids, as strings (Criteo's shape).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        interest_ids: Vec<String>,
        /// Brand names (or catalog brand ids).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        brand_ids: Vec<String>,
        /// Accepted buying power levels; empty = any.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            with = "crate::vocab::criteo_vec"
        )]
        buying_power: Vec<BuyingPowerLevel>,
        /// Accepted price bands; empty = any.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            with = "crate::vocab::criteo_vec"
        )]
        price_range: Vec<PriceBand>,
        /// Declared gender; absent = any.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::vocab::criteo_opt"
        )]
        gender: Option<Gender>,
    },
    /// Criteo `location`: near points of interest.
    Location {
        /// Centres.
        points_of_interest: Vec<PointOfInterest>,
        /// Radius in km.
        radius_in_km: f64,
    },
    /// Declared demographics.
    Demographic {
        /// Accepted genders; empty = any.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            with = "crate::vocab::criteo_vec"
        )]
        gender: Vec<Gender>,
        /// Youngest age.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        age_min: Option<u32>,
        /// Oldest age.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        age_max: Option<u32>,
        /// Accepted income bands; empty = any.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            with = "crate::vocab::criteo_vec"
        )]
        income: Vec<IncomeBand>,
    },
    /// Active during a shopping season.
    Seasonality {
        /// Which season.
        #[serde(with = "crate::vocab::criteo_one")]
        season: Season,
        /// Which year; absent = the latest occurrence.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        year: Option<i32>,
    },
    /// Did an event (built-in or custom) some number of times.
    Events {
        /// Event name: built-in (`order_completed`, `Order Completed`, `purchase`, `activity`)
        /// or a custom event's exact name.
        event: String,
        /// Property filters (all must pass).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filters: Vec<PropFilter>,
        /// Count comparison; default `>= 1`.
        #[serde(default, skip_serializing_if = "CountCmp::is_default")]
        count: CountCmp,
        /// Look-back; absent = all history.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days: Option<u32>,
        /// Channel; absent = any.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::vocab::criteo_channel_opt"
        )]
        channel: Option<Channel>,
    },
    /// Saw the advertiser's ads.
    SeenAds {
        /// Campaign; absent = any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        campaign_id: Option<String>,
        /// Clicked / did not click / either.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clicked: Option<bool>,
        /// Fewest impressions (default 1).
        #[serde(default = "one", skip_serializing_if = "is_one")]
        min_impressions: u32,
        /// No order since the last impression.
        #[serde(default, skip_serializing_if = "is_false")]
        not_converted: bool,
        /// Look-back; absent = all history.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days: Option<u32>,
    },
    /// In an uploaded contact list.
    ContactList {
        /// Contact list id or name.
        list_id: String,
    },
    /// Carries a behavioural tag.
    Behavioral {
        /// Tag name.
        tag: String,
    },
    /// Read publisher pages of IAB content categories, optionally within another audience.
    Contextual {
        /// IAB Content Taxonomy ids.
        page_categories: Vec<String>,
        /// Look-back; absent = all history.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days: Option<u32>,
        /// Audience the readers must also belong to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
    },
    /// Criteo `lookalike`: the people most similar to a seed audience.
    Lookalike {
        /// Seed audience id or name.
        seed_audience: String,
        /// How many people to keep; absent = the top 5 %.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_size: Option<u64>,
    },
    /// Criteo `prospecting`: likely converters who are not customers yet.
    Prospecting {
        /// Prospects only, or also non-buying visitors.
        users_type: UsersType,
        /// Fewest days since the last visit (non-buyers only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days_since_last_visit_min: Option<u32>,
        /// Most days since the last visit (non-buyers only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days_since_last_visit_max: Option<u32>,
    },
    /// A hand-written rule, JSON form.
    Rule(Rule),
    /// A hand-written rule, text form.
    Text(String),
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Re-roots an error from a compiled predicate onto the kind's own field names.
fn remap(e: ValidationError, kind: &str, fields: &[(&str, &str)]) -> ValidationError {
    let best = fields
        .iter()
        .filter(|(from, _)| {
            e.path == *from || (e.path.starts_with(from) && e.path[from.len()..].starts_with('/'))
        })
        .max_by_key(|(from, _)| from.len());
    let path = match best {
        Some((from, to)) => format!("/{kind}{to}{}", &e.path[from.len()..]),
        None => format!("/{kind}"),
    };
    ValidationError::new(path, e.message)
}

fn check(rule: Rule, kind: &str, fields: &[(&str, &str)]) -> Result<Rule, ValidationError> {
    rule.validate().map_err(|e| remap(e, kind, fields))?;
    Ok(rule)
}

fn days_window(days: u32, kind: &str, field: &str) -> Result<Window, ValidationError> {
    if days == 0 {
        return Err(ValidationError::new(
            format!("/{kind}/{field}"),
            "needs at least 1 day",
        ));
    }
    let w = Window::last(days);
    crate::validate::validate_window(&w, "")
        .map_err(|e| ValidationError::new(format!("/{kind}/{field}"), e.message))?;
    Ok(w)
}

fn visit_window(min: u32, max: u32, kind: &str) -> Result<Window, ValidationError> {
    let w = Window::between(min, max);
    crate::validate::validate_window(&w, "").map_err(|e| {
        let field = if e.path.ends_with("min_days") {
            "daysSinceLastVisitMin"
        } else {
            "daysSinceLastVisitMax"
        };
        ValidationError::new(format!("/{kind}/{field}"), e.message)
    })?;
    Ok(w)
}

/// `And` of `rules` with nested `And`s spliced in, so compiled rules read flat.
fn flat_and(rules: Vec<Rule>) -> Rule {
    let mut out = Vec::new();
    for r in rules {
        match r {
            Rule::And(v) => out.extend(v),
            other => out.push(other),
        }
    }
    Rule::all(out)
}

/// Activity in `w` on `channel` and, when `w` starts after today, none more recent: the last
/// visit falls inside `w`.
fn last_visit_in(w: Window, channel: Option<Channel>) -> Rule {
    let visited = Rule::from(Event::new(EventRef::Activity).within(w).on(channel));
    if w.min_days == 0 {
        return visited;
    }
    let recent = Event::new(EventRef::Activity)
        .within(Window::between(0, w.min_days - 1))
        .on(channel);
    Rule::And(vec![visited, Rule::not(recent.into())])
}

impl AudienceKind {
    /// The kind's key in JSON (`retargeting`, `inMarket`, ...).
    pub fn key(&self) -> &'static str {
        match self {
            AudienceKind::Retargeting { .. } => "retargeting",
            AudienceKind::CartAbandoners { .. } => "cartAbandoners",
            AudienceKind::ProductViewers { .. } => "productViewers",
            AudienceKind::Buyers { .. } => "buyers",
            AudienceKind::InMarket { .. } => "inMarket",
            AudienceKind::Location { .. } => "location",
            AudienceKind::Demographic { .. } => "demographic",
            AudienceKind::Seasonality { .. } => "seasonality",
            AudienceKind::Events { .. } => "events",
            AudienceKind::SeenAds { .. } => "seenAds",
            AudienceKind::ContactList { .. } => "contactList",
            AudienceKind::Behavioral { .. } => "behavioral",
            AudienceKind::Contextual { .. } => "contextual",
            AudienceKind::Lookalike { .. } => "lookalike",
            AudienceKind::Prospecting { .. } => "prospecting",
            AudienceKind::Rule(_) => "rule",
            AudienceKind::Text(_) => "text",
        }
    }

    /// The funnel stage an audience of this kind usually serves.
    pub fn default_funnel_stage(&self) -> FunnelStage {
        match self {
            AudienceKind::Lookalike { .. }
            | AudienceKind::Prospecting { .. }
            | AudienceKind::Location { .. }
            | AudienceKind::Demographic { .. }
            | AudienceKind::Contextual { .. }
            | AudienceKind::Seasonality { .. } => FunnelStage::Awareness,
            AudienceKind::CartAbandoners { .. } | AudienceKind::Buyers { .. } => {
                FunnelStage::Conversion
            }
            AudienceKind::Retargeting { .. }
            | AudienceKind::ProductViewers { .. }
            | AudienceKind::InMarket { .. }
            | AudienceKind::Events { .. }
            | AudienceKind::SeenAds { .. }
            | AudienceKind::ContactList { .. }
            | AudienceKind::Behavioral { .. }
            | AudienceKind::Rule(_)
            | AudienceKind::Text(_) => FunnelStage::Consideration,
        }
    }

    /// The rule this kind means, validated. Errors name the kind's own field
    /// (`/location/radiusInKm: ...`).
    pub fn compile(&self) -> Result<Rule, ValidationError> {
        let key = self.key();
        match self {
            AudienceKind::Retargeting {
                visitors_type,
                days_since_last_visit_min: min,
                days_since_last_visit_max: max,
                channel,
            } => {
                let w = visit_window(*min, *max, key)?;
                let visit = last_visit_in(w, *channel);
                let bought = Rule::from(Event::new(EventKind::OrderCompleted).within(w));
                let rule = match visitors_type {
                    VisitorsType::All => visit,
                    VisitorsType::Buyers => flat_and(vec![visit, bought]),
                    VisitorsType::NonBuyers => flat_and(vec![visit, Rule::not(bought)]),
                };
                check(rule, key, &[])
            }
            AudienceKind::CartAbandoners { days, channel } => {
                let within = days_window(*days, key, "days")?;
                let rule = Rule::from(NoEventAfter {
                    event: EventRef::Kind(EventKind::OrderCompleted),
                    after: vec![
                        EventRef::Kind(EventKind::ProductAdded),
                        EventRef::Kind(EventKind::CheckoutStarted),
                    ],
                    within,
                    channel: *channel,
                });
                check(rule, key, &[])
            }
            AudienceKind::ProductViewers { days, channel } => {
                let within = days_window(*days, key, "days")?;
                let ev = Event::new(EventKind::ProductViewed)
                    .within(within)
                    .on(*channel);
                check(ev.into(), key, &[])
            }
            AudienceKind::Buyers {
                days,
                min_orders,
                channel,
            } => {
                let within = days_window(*days, key, "days")?;
                if *min_orders == 0 {
                    return Err(ValidationError::new(
                        format!("/{key}/minOrders"),
                        "needs at least 1 order",
                    ));
                }
                let ev = Event::new(EventKind::OrderCompleted)
                    .within(within)
                    .on(*channel)
                    .count(CountCmp::at_least(*min_orders));
                check(ev.into(), key, &[])
            }
            AudienceKind::InMarket {
                country,
                interest_ids,
                brand_ids,
                buying_power,
                price_range,
                gender,
            } => self.compile_in_market(
                country.as_deref(),
                interest_ids,
                brand_ids,
                buying_power,
                price_range,
                *gender,
            ),
            AudienceKind::Location {
                points_of_interest,
                radius_in_km,
            } => {
                let rule = Rule::from(GeoRadius {
                    points: points_of_interest
                        .iter()
                        .map(|p| GeoPoint {
                            lat: p.latitude,
                            lon: p.longitude,
                        })
                        .collect(),
                    radius_km: *radius_in_km,
                });
                check(
                    rule,
                    key,
                    &[
                        ("/points", "/pointsOfInterest"),
                        ("/radius_km", "/radiusInKm"),
                    ],
                )
                .map_err(|mut e| {
                    e.path = e
                        .path
                        .replace("/lat", "/latitude")
                        .replace("/lon", "/longitude");
                    e
                })
            }
            AudienceKind::Demographic {
                gender,
                age_min,
                age_max,
                income,
            } => {
                let mut parts: Vec<(Rule, &str)> = Vec::new();
                if !gender.is_empty() {
                    parts.push((
                        GenderIn {
                            values: gender.clone(),
                        }
                        .into(),
                        "/gender",
                    ));
                }
                if age_min.is_some() || age_max.is_some() {
                    parts.push((
                        AgeRange {
                            min: *age_min,
                            max: *age_max,
                        }
                        .into(),
                        "/age",
                    ));
                }
                if !income.is_empty() {
                    parts.push((
                        IncomeIn {
                            bands: income.clone(),
                        }
                        .into(),
                        "/income",
                    ));
                }
                if parts.is_empty() {
                    return Err(ValidationError::new(
                        format!("/{key}"),
                        "a demographic audience needs a gender, an age bound or an income band",
                    ));
                }
                for (r, field) in &parts {
                    r.validate().map_err(|e| {
                        let to = match (*field, e.path.as_str()) {
                            ("/age", "/min") => "/ageMin",
                            ("/age", _) => "/ageMax",
                            (f, _) => f,
                        };
                        ValidationError::new(format!("/{key}{to}"), e.message)
                    })?;
                }
                Ok(Rule::all(parts.into_iter().map(|(r, _)| r).collect()))
            }
            AudienceKind::Seasonality { season, year } => check(
                SeasonActive {
                    name: *season,
                    year: *year,
                }
                .into(),
                key,
                &[("/year", "/year")],
            ),
            AudienceKind::Events {
                event,
                filters,
                count,
                days,
                channel,
            } => {
                let within = match days {
                    Some(d) => days_window(*d, key, "days")?,
                    None => Window::ALL,
                };
                let ev = Event {
                    event: EventRef::from_name(event),
                    channel: *channel,
                    within,
                    count: *count,
                    filters: filters.clone(),
                };
                check(
                    ev.into(),
                    key,
                    &[
                        ("/event/custom", "/event"),
                        ("/event", "/event"),
                        ("/where", "/filters"),
                        ("/count", "/count"),
                    ],
                )
            }
            AudienceKind::SeenAds {
                campaign_id,
                clicked,
                min_impressions,
                not_converted,
                days,
            } => {
                let within = match days {
                    Some(d) => days_window(*d, key, "days")?,
                    None => Window::ALL,
                };
                check(
                    AdExposure {
                        campaign: campaign_id.clone(),
                        min_impressions: *min_impressions,
                        clicked: *clicked,
                        not_converted_since: *not_converted,
                        within,
                    }
                    .into(),
                    key,
                    &[
                        ("/campaign", "/campaignId"),
                        ("/min_impressions", "/minImpressions"),
                    ],
                )
            }
            AudienceKind::ContactList { list_id } => check(
                InList {
                    list: list_id.clone(),
                }
                .into(),
                key,
                &[("/list", "/listId")],
            ),
            AudienceKind::Behavioral { tag } => {
                check(Tag { name: tag.clone() }.into(), key, &[("/name", "/tag")])
            }
            AudienceKind::Contextual {
                page_categories,
                days,
                audience,
            } => {
                let within = match days {
                    Some(d) => days_window(*d, key, "days")?,
                    None => Window::ALL,
                };
                let pages = check(
                    PageCategory {
                        categories: page_categories.clone(),
                        within,
                    }
                    .into(),
                    key,
                    &[("/categories", "/pageCategories")],
                )?;
                match audience {
                    None => Ok(pages),
                    Some(a) => {
                        let member = check(
                            InAudience {
                                audience: a.clone(),
                            }
                            .into(),
                            key,
                            &[("/audience", "/audience")],
                        )?;
                        Ok(Rule::And(vec![pages, member]))
                    }
                }
            }
            AudienceKind::Lookalike {
                seed_audience,
                target_size,
            } => {
                let top = match target_size {
                    Some(n) => TopSpec::Count(*n),
                    None => TopSpec::Fraction(DEFAULT_LOOKALIKE_FRACTION),
                };
                let rule = Rule::And(vec![
                    ModelScore {
                        model: format!("lookalike:{seed_audience}"),
                        top: Some(top),
                        min_score: None,
                    }
                    .into(),
                    Rule::not(
                        InAudience {
                            audience: seed_audience.clone(),
                        }
                        .into(),
                    ),
                ]);
                if seed_audience.trim().is_empty() {
                    return Err(ValidationError::new(
                        format!("/{key}/seedAudience"),
                        "a seed audience must not be empty",
                    ));
                }
                check(rule, key, &[("/and/0/top/count", "/targetSize")])
            }
            AudienceKind::Prospecting {
                users_type,
                days_since_last_visit_min: min,
                days_since_last_visit_max: max,
            } => {
                let model = Rule::from(ModelScore {
                    model: "prospecting".into(),
                    top: None,
                    min_score: Some(PROSPECTING_MIN_SCORE),
                });
                let never_visited = Rule::not(Event::new(EventRef::Activity).into());
                let rule = match users_type {
                    UsersType::Prospects => Rule::And(vec![model, never_visited]),
                    UsersType::ProspectsOrNonBuyers => {
                        let w = match (min, max) {
                            (None, None) => Window::ALL,
                            _ => {
                                let w = Window {
                                    min_days: min.unwrap_or(0),
                                    max_days: *max,
                                };
                                crate::validate::validate_window(&w, "").map_err(|e| {
                                    let field = if e.path.ends_with("min_days") {
                                        "daysSinceLastVisitMin"
                                    } else {
                                        "daysSinceLastVisitMax"
                                    };
                                    ValidationError::new(format!("/{key}/{field}"), e.message)
                                })?;
                                w
                            }
                        };
                        let non_buyer = flat_and(vec![
                            last_visit_in(w, None),
                            Rule::not(Event::new(EventKind::OrderCompleted).into()),
                        ]);
                        Rule::And(vec![model, Rule::Or(vec![never_visited, non_buyer])])
                    }
                };
                check(rule, key, &[])
            }
            AudienceKind::Rule(r) => {
                r.validate().map_err(|e| e.under("/rule"))?;
                Ok(r.clone())
            }
            AudienceKind::Text(t) => {
                crate::parser::parse(t).map_err(|e| ValidationError::new("/text", e.to_string()))
            }
        }
    }

    fn compile_in_market(
        &self,
        country: Option<&str>,
        interest_ids: &[String],
        brand_ids: &[String],
        buying_power: &[BuyingPowerLevel],
        price_range: &[PriceBand],
        gender: Option<Gender>,
    ) -> Result<Rule, ValidationError> {
        let key = self.key();
        let mut parts = Vec::new();
        if let Some(c) = country {
            let code = c.trim().to_ascii_uppercase();
            parts.push(check(
                CountryIn { codes: vec![code] }.into(),
                key,
                &[("/codes/0", "/country")],
            )?);
        }
        let mut interests = Vec::new();
        for (i, id) in interest_ids.iter().enumerate() {
            let category = id.trim().parse::<u32>().map_err(|_| {
                ValidationError::new(
                    format!("/{key}/interestIds/{i}"),
                    format!("\"{id}\" is not a Google Product Taxonomy id (a number)"),
                )
            })?;
            interests.push(check(
                CategoryInterest {
                    category,
                    min_score: None,
                    within_days: Some(IN_MARKET_DAYS),
                }
                .into(),
                key,
                &[("/category", &format!("/interestIds/{i}"))],
            )?);
        }
        for (i, brand) in brand_ids.iter().enumerate() {
            interests.push(check(
                BrandInterest {
                    brand: brand.clone(),
                    min_score: None,
                    within_days: Some(IN_MARKET_DAYS),
                }
                .into(),
                key,
                &[("/brand", &format!("/brandIds/{i}"))],
            )?);
        }
        if interests.is_empty() {
            return Err(ValidationError::new(
                format!("/{key}/interestIds"),
                "an in-market audience needs at least one interestId or brandId",
            ));
        }
        parts.push(Rule::any(interests));
        if !buying_power.is_empty() {
            parts.push(
                BuyingPower {
                    levels: buying_power.to_vec(),
                }
                .into(),
            );
        }
        if !price_range.is_empty() {
            parts.push(
                PriceRange {
                    ranges: price_range.to_vec(),
                    category: None,
                }
                .into(),
            );
        }
        if let Some(g) = gender {
            parts.push(GenderIn { values: vec![g] }.into());
        }
        Ok(Rule::all(parts))
    }
}

/// A saved audience's definition: a name, a kind (or a hand-written rule), a funnel stage.
///
/// JSON: `{"name": "Cart abandoners", "funnelStage": "Conversion", "description": "..",
/// "kind": {"cartAbandoners": {"days": 7}}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AudienceDef {
    /// Display name (unique per advertiser, enforced by the registry).
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Funnel stage; absent = the kind's [`AudienceKind::default_funnel_stage`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funnel_stage: Option<FunnelStage>,
    /// What the audience is.
    pub kind: AudienceKind,
}

impl AudienceDef {
    /// The rule, validated; errors are rooted at the definition (`/kind/location/radiusInKm`).
    pub fn compile(&self) -> Result<Rule, ValidationError> {
        if self.name.trim().is_empty() {
            return Err(ValidationError::new("/name", "a name must not be empty"));
        }
        self.kind.compile().map_err(|e| e.under("/kind"))
    }

    /// The explicit funnel stage, or the kind's default.
    pub fn funnel_stage(&self) -> FunnelStage {
        self.funnel_stage
            .unwrap_or_else(|| self.kind.default_funnel_stage())
    }

    /// Reads a definition from JSON text; errors name the field. Call [`AudienceDef::compile`]
    /// to validate.
    pub fn from_json(text: &str) -> Result<AudienceDef, crate::JsonError> {
        crate::json::from_json_str(text)
    }
}
