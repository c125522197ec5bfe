//! The per-person evaluator: `matches(person, rule, now)` over one profile.
//!
//! Every predicate's meaning is implemented here once; the set-at-a-time evaluator
//! ([`crate::eval`]) narrows candidates with bitmaps and then calls these same functions where a
//! bitmap cannot decide exactly, so the two evaluators agree by construction (and a proptest
//! checks it).

use audex_model::EventKind;
use audex_model::catalog::PriceTier;
use audex_model::season::{Season, date_to_day, day_to_date};
use audex_profile::entry::{CUSTOM_NAME_BASE, Entry, entry_day};
use audex_profile::{LINES_MARKER, PersonId, Profile, PropSet, Scalar};
use audex_rules::{
    AdExposure, BrandInterest, BuyingPowerLevel, CategoryInterest, Event, EventRef, GeoPoint,
    MAX_DAYS, NoEventAfter, PageCategory, Predicate, PriceBand, PropFilter, PropOp, Rule,
    SeasonActive, Window,
};
use chrono::Datelike;
use serde_json::Value;

use crate::{Context, EvalError};

/// How deep `in_audience` / `tag` references may nest before it is called a cycle.
pub const MAX_REFERENCE_DEPTH: usize = 16;

/// Look-back of [`PriceRange`] in days.
pub const PRICE_RANGE_DAYS: u32 = 90;

/// Kinds whose entries are "product events" for interest and price range.
const PRODUCT_KINDS: [EventKind; 3] = [
    EventKind::ProductViewed,
    EventKind::ProductAdded,
    EventKind::OrderCompleted,
];

/// The inclusive day range a window covers at `now_day`, or `None` when it is empty.
pub fn window_days(w: &Window, now_day: u32) -> Option<(u32, u32)> {
    if w.min_days > now_day {
        return None;
    }
    let hi = now_day - w.min_days;
    let lo = now_day.saturating_sub(w.max_days_or_limit());
    (lo <= hi).then_some((lo, hi))
}

/// The entries of a profile whose day is in `lo..=hi` (entries are sorted by day).
pub fn entries_between(p: &Profile, lo: u32, hi: u32) -> impl Iterator<Item = Entry> + '_ {
    let start = p.entries.partition_point(|e| entry_day(*e) < lo);
    p.entries[start..]
        .iter()
        .take_while(move |e| entry_day(**e) <= hi)
        .map(|e| Entry::unpack(*e))
}

/// The entry name ids an event reference stands for.
pub fn name_ids(ctx: &Context<'_>, r: &EventRef) -> Vec<u32> {
    match r {
        EventRef::Kind(k) => vec![*k as u32],
        EventRef::Activity => audex_rules::ACTIVITY_KINDS
            .iter()
            .map(|k| *k as u32)
            .collect(),
        EventRef::Custom(name) => ctx
            .store
            .event_names
            .get(name)
            .map(|i| vec![CUSTOM_NAME_BASE + i])
            .unwrap_or_default(),
    }
}

fn scalar_value(ctx: &Context<'_>, s: &Scalar) -> Value {
    match *s {
        Scalar::Str(id) => Value::String(
            ctx.store
                .propsets
                .values
                .name(id)
                .unwrap_or_default()
                .to_string(),
        ),
        Scalar::Num(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
        Scalar::Bool(b) => Value::Bool(b),
    }
}

/// Compares a present value with a filter's right-hand side (numbers numerically).
fn compare(lhs: &Value, op: PropOp, rhs: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = |a: &Value, b: &Value| -> Option<Ordering> {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
            (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
            (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
            _ => None,
        }
    };
    let eq =
        |a: &Value, b: &Value| ord(a, b) == Some(Ordering::Equal) || (a.is_null() && b.is_null());
    match op {
        PropOp::Eq => eq(lhs, rhs),
        PropOp::Ne => !eq(lhs, rhs),
        PropOp::Gt => ord(lhs, rhs) == Some(Ordering::Greater),
        PropOp::Ge => matches!(ord(lhs, rhs), Some(Ordering::Greater | Ordering::Equal)),
        PropOp::Lt => ord(lhs, rhs) == Some(Ordering::Less),
        PropOp::Le => matches!(ord(lhs, rhs), Some(Ordering::Less | Ordering::Equal)),
        PropOp::In => rhs.as_array().is_some_and(|a| a.iter().any(|v| eq(lhs, v))),
        PropOp::Contains => match (lhs, rhs) {
            (Value::String(l), Value::String(r)) => l.contains(r.as_str()),
            (Value::Array(l), r) => l.iter().any(|v| eq(v, r)),
            _ => false,
        },
        PropOp::Exists => !lhs.is_null(),
    }
}

/// Whether a value (or its absence) passes a filter: a missing property passes only `!=`.
fn filter_passes(value: Option<Value>, f: &PropFilter) -> bool {
    match value {
        None | Some(Value::Null) if f.op == PropOp::Exists => false,
        None => f.op == PropOp::Ne,
        Some(v) => compare(&v, f.op, &f.value),
    }
}

/// Whether a property set passes every filter.
pub fn propset_passes(ctx: &Context<'_>, set: &PropSet, filters: &[PropFilter]) -> bool {
    filters.iter().all(|f| {
        let key = ctx.store.propsets.keys.get(&f.key);
        let value = key.and_then(|k| {
            set.pairs
                .iter()
                .find(|(pk, _)| *pk == k)
                .map(|(_, v)| scalar_value(ctx, v))
        });
        filter_passes(value, f)
    })
}

/// Matching events of an [`Event`] predicate in its window (see its docs for line counting).
pub fn event_count(
    p: &Profile,
    ev: &Event,
    names: &[u32],
    now_day: u32,
    propset_ok: impl Fn(u32) -> bool,
) -> u64 {
    let Some((lo, hi)) = window_days(&ev.within, now_day) else {
        return 0;
    };
    let mut n = 0u64;
    for e in entries_between(p, lo, hi) {
        if !names.contains(&e.name) || ev.channel.is_some_and(|c| c != e.channel) {
            continue;
        }
        let counts = if ev.filters.is_empty() {
            !e.line
        } else {
            e.propset != LINES_MARKER && propset_ok(e.propset)
        };
        if counts {
            n += u64::from(e.count);
        }
    }
    n
}

fn no_event_after(ctx: &Context<'_>, p: &Profile, r: &NoEventAfter, now_day: u32) -> bool {
    let anchors: Vec<u32> = r.after.iter().flat_map(|a| name_ids(ctx, a)).collect();
    no_event_after_ids(p, r, &anchors, &name_ids(ctx, &r.event), now_day)
}

/// [`NoEventAfter`] with its event references already resolved to entry names.
pub fn no_event_after_ids(
    p: &Profile,
    r: &NoEventAfter,
    anchors: &[u32],
    events: &[u32],
    now_day: u32,
) -> bool {
    let Some((lo, hi)) = window_days(&r.within, now_day) else {
        return false;
    };
    let last_anchor = entries_between(p, lo, hi)
        .filter(|e| !e.line && anchors.contains(&e.name))
        .filter(|e| r.channel.is_none_or(|c| c == e.channel))
        .map(|e| e.day)
        .max();
    let Some(anchor_day) = last_anchor else {
        return false;
    };
    !entries_between(p, anchor_day, now_day).any(|e| !e.line && events.contains(&e.name))
}

/// Calls `visit(propset, count)` for every product event (view, add to cart, order; not
/// order lines) in the last `within_days` days: what interest shares are counted over.
pub fn for_each_product_event(
    p: &Profile,
    within_days: Option<u32>,
    now_day: u32,
    mut visit: impl FnMut(u32, u32),
) {
    let lo = now_day.saturating_sub(within_days.unwrap_or(MAX_DAYS));
    for e in entries_between(p, lo, now_day) {
        if e.propset != LINES_MARKER && PRODUCT_KINDS.contains(&e.kind()) {
            visit(e.propset, e.count);
        }
    }
}

/// Numerator and denominator of an interest share over product events in `within_days`:
/// `set_of(propset)` says whether an event's product counts toward the numerator.
pub fn interest_share(
    p: &Profile,
    within_days: Option<u32>,
    now_day: u32,
    set_of: impl Fn(u32) -> bool,
) -> (u64, u64) {
    let (mut num, mut den) = (0u64, 0u64);
    for_each_product_event(p, within_days, now_day, |propset, count| {
        den += u64::from(count);
        if set_of(propset) {
            num += u64::from(count);
        }
    });
    (num, den)
}

/// Whether the numerator of [`interest_share`] is positive — some product event of the window
/// counts toward it — found without scanning the rest (newest entries first).
pub fn has_interest(
    p: &Profile,
    within_days: Option<u32>,
    now_day: u32,
    set_of: impl Fn(u32) -> bool,
) -> bool {
    let lo = now_day.saturating_sub(within_days.unwrap_or(MAX_DAYS));
    let start = p.entries.partition_point(|e| entry_day(*e) < lo);
    let end = p.entries.partition_point(|e| entry_day(*e) <= now_day);
    p.entries.get(start..end).is_some_and(|window| {
        window.iter().rev().map(|e| Entry::unpack(*e)).any(|e| {
            e.count > 0
                && e.propset != LINES_MARKER
                && PRODUCT_KINDS.contains(&e.kind())
                && set_of(e.propset)
        })
    })
}

/// Whether an interest share `num / den` passes: without `min_score`, at least one matching
/// event; with it, some product events and `num / den >= min_score`. The threshold is taken at
/// six decimals and compared in integers, so a share of exactly 0.3 passes `score >= 0.3`
/// (0.3 is not exact as a float).
pub fn share_matches(num: u64, den: u64, min_score: Option<f32>) -> bool {
    ShareThreshold::new(min_score).passes(num, den)
}

/// A `min_score` resolved once for many [`share_matches`] checks.
#[derive(Debug, Clone, Copy)]
pub struct ShareThreshold(Option<u128>);

impl ShareThreshold {
    pub fn new(min_score: Option<f32>) -> ShareThreshold {
        ShareThreshold(min_score.map(|m| (f64::from(m) * 1e6).round().max(0.0) as u128))
    }

    /// [`share_matches`] with this threshold.
    #[inline]
    pub fn passes(self, num: u64, den: u64) -> bool {
        match self.0 {
            None => num > 0,
            Some(millionths) => {
                den > 0 && u128::from(num) * 1_000_000 >= millionths * u128::from(den)
            }
        }
    }
}

/// Whether a property set's product is in the category subtree.
pub fn in_category(ctx: &Context<'_>, set: &PropSet, category: u32) -> bool {
    match (set.category, ctx.taxonomy) {
        (Some(c), Some(t)) => t.is_descendant(c, category),
        (Some(c), None) => c == category,
        (None, _) => false,
    }
}

/// Whether a brand string equals the wanted one, ignoring ASCII case and surrounding spaces.
pub fn brand_eq(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn category_interest(ctx: &Context<'_>, p: &Profile, c: &CategoryInterest, now_day: u32) -> bool {
    let sets = &ctx.store.propsets;
    let (num, den) = interest_share(p, c.within_days, now_day, |id| {
        in_category(ctx, sets.get(id), c.category)
    });
    share_matches(num, den, c.min_score)
}

fn brand_interest(ctx: &Context<'_>, p: &Profile, b: &BrandInterest, now_day: u32) -> bool {
    let sets = &ctx.store.propsets;
    let (num, den) = interest_share(p, b.within_days, now_day, |id| {
        sets.get(id)
            .brand
            .and_then(|v| sets.values.name(v))
            .is_some_and(|name| brand_eq(name, &b.brand))
    });
    share_matches(num, den, b.min_score)
}

/// The person's price band (see [`PriceRange`]).
pub fn price_band(
    ctx: &Context<'_>,
    p: &Profile,
    category: Option<u32>,
    now_day: u32,
) -> Option<PriceBand> {
    let sets = &ctx.store.propsets;
    price_band_by(p, now_day, |id| {
        let set = sets.get(id);
        if category.is_some_and(|c| !in_category(ctx, set, c)) {
            return None;
        }
        set.tier
    })
}

/// The lower-median price band of the product events of the last [`PRICE_RANGE_DAYS`] days;
/// `tier_of(propset)` gives a product's band, or `None` when it is out of scope or unpriced.
pub fn price_band_by(
    p: &Profile,
    now_day: u32,
    tier_of: impl Fn(u32) -> Option<PriceTier>,
) -> Option<PriceBand> {
    let mut counts = [0u64; 3];
    let lo = now_day.saturating_sub(PRICE_RANGE_DAYS);
    for e in entries_between(p, lo, now_day) {
        if e.propset == LINES_MARKER || !PRODUCT_KINDS.contains(&e.kind()) {
            continue;
        }
        let slot = match tier_of(e.propset) {
            Some(PriceTier::Low) => 0,
            Some(PriceTier::Medium) => 1,
            Some(PriceTier::High) => 2,
            None => continue,
        };
        counts[slot] += u64::from(e.count);
    }
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    // Lower median: the element at rank (total - 1) / 2 in low < medium < high order.
    let rank = (total - 1) / 2;
    let band = if rank < counts[0] {
        PriceBand::Low
    } else if rank < counts[0] + counts[1] {
        PriceBand::Medium
    } else {
        PriceBand::High
    };
    Some(band)
}

/// Look-back of buying power in days (an order exactly this many days ago still counts).
pub const BUYING_POWER_DAYS: u32 = 365;

/// Net revenue of a person over the buying-power window ending on `now_day`.
pub fn buying_power_spend(p: &Profile, now_day: u32) -> f64 {
    p.revenue_between(now_day.saturating_sub(BUYING_POWER_DAYS), now_day)
}

/// The person's buying power level (see `BuyingPowerLevel`).
pub fn buying_power(ctx: &Context<'_>, p: &Profile, now_day: u32) -> Option<BuyingPowerLevel> {
    let spend = buying_power_spend(p, now_day);
    if spend <= 0.0 {
        return None;
    }
    let [q1, q2, q3] = ctx.spend_quartiles(now_day);
    Some(if spend < q1 {
        BuyingPowerLevel::Low
    } else if spend < q2 {
        BuyingPowerLevel::Medium
    } else if spend < q3 {
        BuyingPowerLevel::High
    } else {
        BuyingPowerLevel::VeryHigh
    })
}

/// The year of the occurrence a season predicate means at `now_day`.
pub fn season_year(s: &SeasonActive, now_day: u32) -> Option<i32> {
    if let Some(y) = s.year {
        return Some(y);
    }
    let year = day_to_date(now_day)?.year();
    (year - 12..=year)
        .rev()
        .find(|y| s.name.days(*y).is_some_and(|(start, _)| start <= now_day))
}

/// The mark a profile records for a season occurrence.
pub fn season_mark(season: Season, year: i32) -> u16 {
    (((year - 1970).clamp(0, 0xFFF) as u16) << 4) | season as u16
}

fn ad_exposure(ctx: &Context<'_>, p: &Profile, a: &AdExposure, now_day: u32) -> bool {
    let Some((lo, hi)) = window_days(&a.within, now_day) else {
        return false;
    };
    let sets = &ctx.store.propsets;
    let wanted = match &a.campaign {
        Some(c) => match sets.values.get(c) {
            Some(id) => Some(id),
            None => return false,
        },
        None => None,
    };
    let (mut impressions, mut clicks, mut last_imp) = (0u64, 0u64, None);
    for e in entries_between(p, lo, hi) {
        let kind = e.kind();
        if kind != EventKind::AdImpression && kind != EventKind::AdClicked {
            continue;
        }
        if wanted.is_some_and(|w| sets.get(e.propset).campaign != Some(w)) {
            continue;
        }
        if kind == EventKind::AdImpression {
            impressions += u64::from(e.count);
            last_imp = Some(e.day);
        } else {
            clicks += u64::from(e.count);
        }
    }
    if impressions < u64::from(a.min_impressions.max(1)) {
        return false;
    }
    match a.clicked {
        Some(true) if clicks == 0 => return false,
        Some(false) if clicks > 0 => return false,
        _ => {}
    }
    if a.not_converted_since
        && let Some(day) = last_imp
        && entries_between(p, day, now_day)
            .any(|e| !e.line && e.kind() == EventKind::OrderCompleted)
    {
        return false;
    }
    true
}

fn page_category(ctx: &Context<'_>, p: &Profile, pc: &PageCategory, now_day: u32) -> bool {
    let Some((lo, hi)) = window_days(&pc.within, now_day) else {
        return false;
    };
    let sets = &ctx.store.propsets;
    let wanted: Vec<u32> = pc
        .categories
        .iter()
        .filter_map(|c| sets.values.get(c))
        .collect();
    entries_between(p, lo, hi).any(|e| {
        e.kind() == EventKind::PublisherPageViewed
            && sets
                .get(e.propset)
                .page_category
                .is_some_and(|c| wanted.contains(&c))
    })
}

fn attribute(ctx: &Context<'_>, p: &Profile, f: &PropFilter) -> bool {
    let value = ctx.store.propsets.keys.get(&f.key).and_then(|k| {
        p.traits
            .iter()
            .find(|(tk, _)| *tk == k)
            .map(|(_, v)| scalar_value(ctx, v))
    });
    filter_passes(value, f)
}

/// Whether `person` matches `rule` at `now_ms`.
pub fn matches(
    ctx: &Context<'_>,
    person: PersonId,
    rule: &Rule,
    now_ms: i64,
) -> Result<bool, EvalError> {
    let now_day = ctx.store.day_of(now_ms);
    let Some(p) = ctx.store.profiles.get(person as usize) else {
        return Ok(false);
    };
    if !ctx.store.identity.is_root(person) {
        return Ok(false);
    }
    matches_rule(ctx, person, p, rule, now_day, 0)
}

pub(crate) fn matches_rule(
    ctx: &Context<'_>,
    person: PersonId,
    p: &Profile,
    rule: &Rule,
    now_day: u32,
    depth: usize,
) -> Result<bool, EvalError> {
    Ok(match rule {
        Rule::And(rs) => {
            for r in rs {
                if !matches_rule(ctx, person, p, r, now_day, depth)? {
                    return Ok(false);
                }
            }
            true
        }
        Rule::Or(rs) => {
            for r in rs {
                if matches_rule(ctx, person, p, r, now_day, depth)? {
                    return Ok(true);
                }
            }
            false
        }
        Rule::Not(r) => !matches_rule(ctx, person, p, r, now_day, depth)?,
        Rule::Pred(pred) => matches_pred(ctx, person, p, pred, now_day, depth)?,
    })
}

/// Whether one predicate holds for a person (the single source of each predicate's meaning).
pub(crate) fn matches_pred(
    ctx: &Context<'_>,
    person: PersonId,
    p: &Profile,
    pred: &Predicate,
    now_day: u32,
    depth: usize,
) -> Result<bool, EvalError> {
    Ok(match pred {
        Predicate::Event(ev) => {
            let names = name_ids(ctx, &ev.event);
            let sets = &ctx.store.propsets;
            let n = event_count(p, ev, &names, now_day, |id| {
                propset_passes(ctx, sets.get(id), &ev.filters)
            });
            ev.count.matches(n)
        }
        Predicate::NoEventAfter(r) => no_event_after(ctx, p, r, now_day),
        Predicate::CategoryInterest(c) => category_interest(ctx, p, c, now_day),
        Predicate::BrandInterest(b) => brand_interest(ctx, p, b, now_day),
        Predicate::PriceRange(r) => {
            price_band(ctx, p, r.category, now_day).is_some_and(|b| r.ranges.contains(&b))
        }
        Predicate::BuyingPower(b) => {
            buying_power(ctx, p, now_day).is_some_and(|l| b.levels.contains(&l))
        }
        Predicate::Gender(g) => g.values.iter().any(|v| *v as u8 == p.demo.gender),
        Predicate::Age(a) => p
            .demo
            .age_on(now_day)
            .is_some_and(|age| a.min.is_none_or(|m| age >= m) && a.max.is_none_or(|m| age <= m)),
        Predicate::Income(i) => i.bands.iter().any(|b| *b as u8 == p.demo.income),
        Predicate::GeoRadius(g) => p.location.is_some_and(|l| {
            let here = GeoPoint {
                lat: f64::from(l.lat),
                lon: f64::from(l.lon),
            };
            g.points.iter().any(|c| c.distance_km(&here) <= g.radius_km)
        }),
        Predicate::Country(c) => p.country.is_some_and(|(pc, _)| {
            c.codes
                .iter()
                .any(|x| x.as_bytes().eq_ignore_ascii_case(&pc))
        }),
        Predicate::InList(l) => ctx
            .lists
            .get(&l.list)
            .ok_or_else(|| EvalError::UnknownList(l.list.clone()))?
            .contains(person),
        Predicate::Season(s) => season_year(s, now_day)
            .is_some_and(|y| p.seasons.binary_search(&season_mark(s.name, y)).is_ok()),
        Predicate::AdExposure(a) => ad_exposure(ctx, p, a, now_day),
        Predicate::PageCategory(pc) => page_category(ctx, p, pc, now_day),
        Predicate::InAudience(a) => {
            let rule = ctx
                .audiences
                .get(&a.audience)
                .ok_or_else(|| EvalError::UnknownAudience(a.audience.clone()))?;
            if depth >= MAX_REFERENCE_DEPTH {
                return Err(EvalError::Cycle(a.audience.clone()));
            }
            matches_rule(ctx, person, p, rule, now_day, depth + 1)?
        }
        Predicate::Tag(t) => match ctx.tags.get(&t.name) {
            // A tag nobody defined is carried by nobody.
            None => false,
            Some(_) if depth >= MAX_REFERENCE_DEPTH => {
                return Err(EvalError::Cycle(t.name.clone()));
            }
            Some(rule) => matches_rule(ctx, person, p, rule, now_day, depth + 1)?,
        },
        Predicate::Attribute(f) => attribute(ctx, p, f),
        Predicate::ModelScore(m) => return Err(EvalError::ModelUnavailable(m.model.clone())),
    })
}

/// Days of a season occurrence, for explanations.
pub fn season_days(s: Season, year: i32) -> Option<(u32, u32)> {
    let (a, b) = s.dates(year)?;
    Some((date_to_day(a)?, date_to_day(b)?))
}

/// Why a person does or does not match: the rule tree with each node's result and, for
/// predicates, the facts that decided it (matching days and counts, scores, declared values).
pub fn explain(
    ctx: &Context<'_>,
    person: PersonId,
    rule: &Rule,
    now_ms: i64,
) -> Result<Value, EvalError> {
    let now_day = ctx.store.day_of(now_ms);
    let Some(p) = ctx.store.profiles.get(person as usize) else {
        return Ok(serde_json::json!({"result": false, "reason": "no such person"}));
    };
    explain_rule(ctx, person, p, rule, now_day, 0)
}

fn explain_rule(
    ctx: &Context<'_>,
    person: PersonId,
    p: &Profile,
    rule: &Rule,
    now_day: u32,
    depth: usize,
) -> Result<Value, EvalError> {
    use serde_json::json;
    Ok(match rule {
        Rule::And(rs) | Rule::Or(rs) => {
            let op = if matches!(rule, Rule::And(_)) {
                "and"
            } else {
                "or"
            };
            let children = rs
                .iter()
                .map(|r| explain_rule(ctx, person, p, r, now_day, depth))
                .collect::<Result<Vec<_>, _>>()?;
            json!({"op": op, "result": matches_rule(ctx, person, p, rule, now_day, depth)?, "children": children})
        }
        Rule::Not(r) => json!({
            "op": "not",
            "result": !matches_rule(ctx, person, p, r, now_day, depth)?,
            "children": [explain_rule(ctx, person, p, r, now_day, depth)?],
        }),
        Rule::Pred(pred) => {
            let result = matches_pred(ctx, person, p, pred, now_day, depth)?;
            json!({"predicate": Rule::Pred(pred.clone()).to_text(), "result": result, "facts": facts(ctx, p, pred, now_day)})
        }
    })
}

/// The evidence behind one predicate for one person.
fn facts(ctx: &Context<'_>, p: &Profile, pred: &Predicate, now_day: u32) -> Value {
    use serde_json::json;
    let date = |d: u32| day_to_date(d).map(|x| x.to_string()).unwrap_or_default();
    let sets = &ctx.store.propsets;
    match pred {
        Predicate::Event(ev) => {
            let names = name_ids(ctx, &ev.event);
            let Some((lo, hi)) = window_days(&ev.within, now_day) else {
                return json!({"window": "empty"});
            };
            let days: Vec<Value> = entries_between(p, lo, hi)
                .filter(|e| names.contains(&e.name) && ev.channel.is_none_or(|c| c == e.channel))
                .filter(|e| {
                    if ev.filters.is_empty() {
                        !e.line
                    } else {
                        e.propset != LINES_MARKER && propset_passes(ctx, sets.get(e.propset), &ev.filters)
                    }
                })
                .map(|e| json!({"date": date(e.day), "channel": e.channel.as_str(), "count": e.count}))
                .collect();
            let n = event_count(p, ev, &names, now_day, |id| {
                propset_passes(ctx, sets.get(id), &ev.filters)
            });
            json!({"window": [date(lo), date(hi)], "count": n, "matching_days": days})
        }
        Predicate::CategoryInterest(c) => {
            let (num, den) = interest_share(p, c.within_days, now_day, |id| {
                in_category(ctx, sets.get(id), c.category)
            });
            json!({"category_events": num, "product_events": den})
        }
        Predicate::BrandInterest(b) => {
            let (num, den) = interest_share(p, b.within_days, now_day, |id| {
                sets.get(id)
                    .brand
                    .and_then(|v| sets.values.name(v))
                    .is_some_and(|n| brand_eq(n, &b.brand))
            });
            json!({"brand_events": num, "product_events": den})
        }
        Predicate::PriceRange(r) => {
            json!({"price_band": format!("{:?}", price_band(ctx, p, r.category, now_day))})
        }
        Predicate::BuyingPower(_) => {
            json!({"spend": buying_power_spend(p, now_day), "level": format!("{:?}", buying_power(ctx, p, now_day)), "quartiles": ctx.spend_quartiles(now_day)})
        }
        Predicate::Gender(_) | Predicate::Age(_) | Predicate::Income(_) => json!({
            "gender": p.demo.gender, "age": p.demo.age_on(now_day), "income": p.demo.income
        }),
        Predicate::GeoRadius(g) => json!({
            "location": p.location.map(|l| [l.lat, l.lon]),
            "nearest_km": p.location.map(|l| g.points.iter().map(|c| c.distance_km(&GeoPoint { lat: f64::from(l.lat), lon: f64::from(l.lon) })).fold(f64::INFINITY, f64::min)),
        }),
        Predicate::Season(s) => json!({"occurrence": season_year(s, now_day)}),
        Predicate::AdExposure(a) => {
            json!({"campaigns": p.ads.iter().filter(|x| a.campaign.as_deref().is_none_or(|c| sets.values.name(x.campaign) == Some(c))).map(|x| json!({
            "campaign": sets.values.name(x.campaign), "impressions": x.impressions, "clicks": x.clicks})).collect::<Vec<_>>()})
        }
        _ => Value::Null,
    }
}
