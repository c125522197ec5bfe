//! The set-at-a-time evaluator: `evaluate(index, rule, now) -> RoaringBitmap`.
//!
//! Each node is evaluated within a *universe* (the people still in play): `and` narrows the
//! universe child by child, `or` evaluates each child on what is not yet matched, `not` is the
//! universe minus its child. A predicate takes its candidates from bitmaps; where the bitmap is
//! exact (an event seen in a window, a season) that is the answer, otherwise each candidate is
//! refined with the per-person code, so both evaluators share one meaning.

use audex_model::catalog::PriceTier;
use audex_profile::{LINES_MARKER, PersonId, Profile};
use audex_rules::{CountOp, Event, Predicate, Rule};
use rayon::prelude::*;
use roaring::RoaringBitmap;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::index::{Index, union};
use crate::person::{
    MAX_REFERENCE_DEPTH, PRICE_RANGE_DAYS, ShareThreshold, brand_eq, event_count, has_interest,
    in_category, interest_share, matches_pred, matches_rule, name_ids, price_band_by,
    propset_passes, season_mark, season_year, share_matches, window_days,
};
use crate::{Context, EvalError};

/// Every member of `rule` at `now_ms`.
pub fn evaluate(
    ctx: &Context<'_>,
    index: &Index,
    rule: &Rule,
    now_ms: i64,
) -> Result<RoaringBitmap, EvalError> {
    let now_day = ctx.store.day_of(now_ms);
    eval_rule(ctx, index, rule, now_day, &index.live, 0)
}

/// Rough cost rank of a rule node: cheap, exact bitmap predicates first in an `and`.
fn cost(rule: &Rule) -> u8 {
    match rule {
        Rule::Pred(Predicate::Event(e)) if e.filters.is_empty() && e.count.is_default() => 0,
        Rule::Pred(Predicate::Season(_) | Predicate::InList(_)) => 0,
        Rule::Pred(
            Predicate::Gender(_)
            | Predicate::Income(_)
            | Predicate::Age(_)
            | Predicate::Country(_)
            | Predicate::BuyingPower(_),
        ) => 1,
        Rule::Pred(_) => 2,
        Rule::Not(_) => 3,
        Rule::And(_) | Rule::Or(_) => 3,
    }
}

fn eval_rule(
    ctx: &Context<'_>,
    index: &Index,
    rule: &Rule,
    now_day: u32,
    universe: &RoaringBitmap,
    depth: usize,
) -> Result<RoaringBitmap, EvalError> {
    match rule {
        Rule::And(rules) => {
            let mut order: Vec<&Rule> = rules.iter().collect();
            order.sort_by_key(|r| cost(r));
            let mut u = universe.clone();
            for r in order {
                if u.is_empty() {
                    break;
                }
                u = eval_rule(ctx, index, r, now_day, &u, depth)?;
            }
            Ok(u)
        }
        Rule::Or(rules) => {
            let mut out = RoaringBitmap::new();
            let mut rest = universe.clone();
            for r in rules {
                if rest.is_empty() {
                    break;
                }
                let m = eval_rule(ctx, index, r, now_day, &rest, depth)?;
                rest -= &m;
                out |= m;
            }
            Ok(out)
        }
        Rule::Not(r) => Ok(universe - eval_rule(ctx, index, r, now_day, universe, depth)?),
        Rule::Pred(p) => eval_pred(ctx, index, p, now_day, universe, depth),
    }
}

/// Keeps the candidates for which `keep` holds, checking them in parallel chunks (the result
/// stays sorted).
fn par_filter(
    ctx: &Context<'_>,
    candidates: &RoaringBitmap,
    keep: &(dyn Fn(PersonId, &Profile) -> Result<bool, EvalError> + Sync),
) -> Result<RoaringBitmap, EvalError> {
    let ids: Vec<PersonId> = candidates.iter().collect();
    let profiles = &ctx.store.profiles;
    let kept: Vec<Vec<PersonId>> = ids
        .par_chunks(4096)
        .map(|chunk| {
            let mut out = Vec::with_capacity(chunk.len());
            for (i, &person) in chunk.iter().enumerate() {
                // Refinement is bound by memory latency (each person's entries live in their
                // own allocation): fetch the profile two steps ahead of its entries, and the
                // entries ahead of their use, so the loads overlap.
                if let Some(&ahead) = chunk.get(i + 2 * PREFETCH_DISTANCE) {
                    prefetch(profiles.get(ahead as usize));
                }
                if let Some(p) = chunk
                    .get(i + PREFETCH_DISTANCE)
                    .and_then(|&a| profiles.get(a as usize))
                {
                    prefetch_entries(&p.entries);
                }
                if let Some(p) = profiles.get(person as usize)
                    && keep(person, p)?
                {
                    out.push(person);
                }
            }
            Ok(out)
        })
        .collect::<Result<_, EvalError>>()?;
    Ok(RoaringBitmap::from_sorted_iter(kept.into_iter().flatten()).unwrap_or_default())
}

/// How many candidates ahead of the one being checked its entries are fetched.
const PREFETCH_DISTANCE: usize = 8;

/// Hints the CPU to bring the cache line holding `value` closer (no effect elsewhere than
/// x86-64; never faults, whatever the address).
#[inline(always)]
fn prefetch<T>(value: Option<&T>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = value {
        // SAFETY: a prefetch is only a hint; it reads nothing into the program and cannot
        // fault, and the pointer comes from a live reference.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                (v as *const T).cast::<i8>(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Prefetches the newest entries of a history (windows end at `now`, so scans read the tail)
/// and the middle one, where the binary search for the window start begins.
#[inline(always)]
fn prefetch_entries(entries: &[u64]) {
    const PER_LINE: usize = 8;
    prefetch(entries.get(entries.len() / 2));
    let tail = entries.len().saturating_sub(4 * PER_LINE);
    for i in (tail..entries.len()).step_by(PER_LINE) {
        prefetch(entries.get(i));
    }
}

/// Keeps the candidates for which the per-person predicate holds.
fn refine(
    ctx: &Context<'_>,
    candidates: &RoaringBitmap,
    pred: &Predicate,
    now_day: u32,
    depth: usize,
) -> Result<RoaringBitmap, EvalError> {
    par_filter(ctx, candidates, &|person, p| {
        matches_pred(ctx, person, p, pred, now_day, depth)
    })
}

/// A per-property-set answer computed at most once per evaluation, on first need, and shared
/// by the parallel workers (the set evaluator's shortcut for checks the per-person code makes on
/// every entry). Values are small codes; 0 means "not computed yet".
struct LazyPropsets<'a> {
    codes: Vec<AtomicU8>,
    compute: Box<dyn Fn(u32) -> u8 + Sync + 'a>,
}

impl<'a> LazyPropsets<'a> {
    fn new(ctx: &Context<'_>, compute: impl Fn(u32) -> u8 + Sync + 'a) -> LazyPropsets<'a> {
        LazyPropsets {
            codes: (0..ctx.store.propsets.len())
                .map(|_| AtomicU8::new(0))
                .collect(),
            compute: Box::new(compute),
        }
    }

    /// The code of a property set (computing it on first use; codes must be non-zero).
    fn get(&self, id: u32) -> u8 {
        let Some(slot) = self.codes.get(id as usize) else {
            return (self.compute)(id);
        };
        match slot.load(Ordering::Relaxed) {
            0 => {
                let v = (self.compute)(id);
                slot.store(v, Ordering::Relaxed);
                v
            }
            v => v,
        }
    }

    /// For boolean answers encoded as 1 = false, 2 = true.
    fn yes(&self, id: u32) -> bool {
        self.get(id) == 2
    }
}

fn bool_code(b: bool) -> u8 {
    if b { 2 } else { 1 }
}

fn eval_event(
    ctx: &Context<'_>,
    index: &Index,
    ev: &Event,
    now_day: u32,
    universe: &RoaringBitmap,
) -> RoaringBitmap {
    let names = name_ids(ctx, &ev.event);
    let candidates = match window_days(&ev.within, now_day) {
        Some((lo, hi)) => index.event_days(&names, ev.channel, lo, hi) & universe,
        None => RoaringBitmap::new(),
    };
    if ev.filters.is_empty() && ev.count.is_default() {
        return candidates; // exact: at least one event in the window
    }
    // Without filters, being in `k` of the (name, channel, day) bitmaps means at least `k`
    // events: count that far with bit-sliced bitmaps, and scan histories only below it.
    let certain = match (
        ev.filters.is_empty(),
        ev.count.op,
        window_days(&ev.within, now_day),
    ) {
        (true, CountOp::Ge | CountOp::Gt, Some((lo, hi))) => {
            let k = ev.count.value as usize + usize::from(ev.count.op == CountOp::Gt);
            (2..=MAX_SLICED_COUNT).contains(&k).then(|| {
                at_least_k(
                    &index.event_day_parts(&names, ev.channel, lo, hi),
                    &candidates,
                    k,
                )
            })
        }
        _ => None,
    };
    if let Some(certain) = certain {
        let rest = &candidates - &certain;
        let passing = par_filter(ctx, &rest, &|_, p| {
            Ok(ev
                .count
                .matches(event_count(p, ev, &names, now_day, |_| true)))
        })
        .unwrap_or_default();
        return certain | passing;
    }
    // Which property sets pass the filters, decided once per set.
    let sets = &ctx.store.propsets;
    let pass = LazyPropsets::new(ctx, |id| {
        bool_code(id != LINES_MARKER && propset_passes(ctx, sets.get(id), &ev.filters))
    });
    let ok = |id: u32| pass.yes(id);
    let passing = par_filter(ctx, &candidates, &|_, p| {
        Ok(ev.count.matches(event_count(p, ev, &names, now_day, ok)))
    })
    .unwrap_or_default();
    if ev.count.matches(0) {
        // People without any such event have count 0, which satisfies the comparison.
        (universe - &candidates) | passing
    } else {
        passing
    }
}

fn eval_pred(
    ctx: &Context<'_>,
    index: &Index,
    pred: &Predicate,
    now_day: u32,
    universe: &RoaringBitmap,
    depth: usize,
) -> Result<RoaringBitmap, EvalError> {
    let sets = &ctx.store.propsets;
    Ok(match pred {
        Predicate::Event(ev) => eval_event(ctx, index, ev, now_day, universe),
        Predicate::NoEventAfter(r) => {
            let anchors: Vec<u32> = r.after.iter().flat_map(|a| name_ids(ctx, a)).collect();
            let events = name_ids(ctx, &r.event);
            let Some((lo, hi)) = window_days(&r.within, now_day) else {
                return Ok(RoaringBitmap::new());
            };
            // Exact with bitmaps alone: walk the window's days from the newest, so the first
            // day a person's anchor is seen is their last anchor day; they pass unless one of
            // the events fell on that day or later.
            let candidates = index.event_days(&anchors, r.channel, lo, hi) & universe;
            let mut after = if hi < now_day {
                index.event_days(&events, None, hi + 1, now_day) & &candidates
            } else {
                RoaringBitmap::new()
            };
            let (mut decided, mut out) = (RoaringBitmap::new(), RoaringBitmap::new());
            for day in (lo..=hi).rev() {
                after |= index.event_days(&events, None, day, day) & &candidates;
                let last_anchor_today =
                    (index.event_days(&anchors, r.channel, day, day) & &candidates) - &decided;
                out |= &last_anchor_today - &after;
                decided |= last_anchor_today;
                if decided.len() == candidates.len() {
                    break;
                }
            }
            out
        }
        Predicate::CategoryInterest(c)
            if let Some(shares) = category_shares(ctx, index, c, now_day) =>
        {
            let (facts, code, exact) = shares;
            let threshold = ShareThreshold::new(c.min_score);
            // A deeper category's events are a part of its top-level category's: that share
            // is an upper bound of its own, and 0 a lower one.
            let (certain, unsure) = facts.split(code, |num, den| {
                if !threshold.passes(num, den) {
                    Some(false)
                } else if exact || threshold.passes(0, den) {
                    Some(true)
                } else {
                    None
                }
            });
            (certain & universe) | refine(ctx, &(unsure & universe), pred, now_day, depth)?
        }
        Predicate::CategoryInterest(c) if zero_share_passes(c.min_score) => {
            let candidates = product_people(index, c.within_days, now_day) & universe;
            refine(ctx, &candidates, pred, now_day, depth)?
        }
        Predicate::BrandInterest(b) if zero_share_passes(b.min_score) => {
            let candidates = product_people(index, b.within_days, now_day) & universe;
            refine(ctx, &candidates, pred, now_day, depth)?
        }
        Predicate::CategoryInterest(c) => {
            let parts: Vec<&RoaringBitmap> = index
                .categories
                .iter()
                .filter(|(cat, _)| match ctx.taxonomy {
                    Some(t) => t.is_descendant(**cat, c.category),
                    None => **cat == c.category,
                })
                .map(|(_, b)| b)
                .collect();
            let in_cat = LazyPropsets::new(ctx, |id| {
                bool_code(in_category(ctx, sets.get(id), c.category))
            });
            // Only people with a product event in the window have a share.
            let candidates =
                union(parts) & universe & product_people(index, c.within_days, now_day);
            if c.min_score.is_none() {
                return par_filter(ctx, &candidates, &|_, p| {
                    Ok(has_interest(p, c.within_days, now_day, |id| in_cat.yes(id)))
                });
            }
            par_filter(ctx, &candidates, &|_, p| {
                let (num, den) = interest_share(p, c.within_days, now_day, |id| in_cat.yes(id));
                Ok(share_matches(num, den, c.min_score))
            })?
        }
        Predicate::BrandInterest(b) => {
            let parts: Vec<&RoaringBitmap> = index
                .brands
                .iter()
                .filter(|(v, _)| sets.values.name(**v).is_some_and(|n| brand_eq(n, &b.brand)))
                .map(|(_, bm)| bm)
                .collect();
            let is_brand = LazyPropsets::new(ctx, |id| {
                bool_code(
                    sets.get(id)
                        .brand
                        .and_then(|v| sets.values.name(v))
                        .is_some_and(|n| brand_eq(n, &b.brand)),
                )
            });
            let candidates =
                union(parts) & universe & product_people(index, b.within_days, now_day);
            if b.min_score.is_none() {
                return par_filter(ctx, &candidates, &|_, p| {
                    Ok(has_interest(p, b.within_days, now_day, |id| {
                        is_brand.yes(id)
                    }))
                });
            }
            par_filter(ctx, &candidates, &|_, p| {
                let (num, den) = interest_share(p, b.within_days, now_day, |id| is_brand.yes(id));
                Ok(share_matches(num, den, b.min_score))
            })?
        }
        Predicate::PriceRange(r) if r.category.is_none() => {
            let facts = index.facts.get(ctx.store, now_day);
            let mut wanted = [false; 4];
            for &b in &r.ranges {
                wanted[1 + b as usize] = true;
            }
            select(universe, |p| {
                facts
                    .band
                    .get(p as usize)
                    .is_some_and(|&code| wanted[usize::from(code.min(3))])
            })
        }
        Predicate::PriceRange(r) => {
            let lo = now_day.saturating_sub(PRICE_RANGE_DAYS);
            // The band is the tier of one of the person's products (a lower median), so only
            // people with a product of a wanted tier can match; without a category, those
            // whose products in the window are all of wanted tiers match for certain.
            let wanted = |t: PriceTier| r.ranges.iter().any(|&b| band_tier(b) == t);
            let mut has_wanted = RoaringBitmap::new();
            let mut has_other = RoaringBitmap::new();
            for t in [PriceTier::Low, PriceTier::Medium, PriceTier::High] {
                let people = index.tier_between(t as usize, lo, now_day) & universe;
                if wanted(t) {
                    has_wanted |= people;
                } else {
                    has_other |= people;
                }
            }
            let (certain, candidates) = if r.category.is_none() {
                (&has_wanted - &has_other, has_wanted & has_other)
            } else {
                (RoaringBitmap::new(), has_wanted)
            };
            let tiers = LazyPropsets::new(ctx, |id| {
                let set = sets.get(id);
                if r.category.is_some_and(|c| !in_category(ctx, set, c)) {
                    return 1;
                }
                match set.tier {
                    None => 1,
                    Some(PriceTier::Low) => 2,
                    Some(PriceTier::Medium) => 3,
                    Some(PriceTier::High) => 4,
                }
            });
            let tier_of = |id: u32| match tiers.get(id) {
                2 => Some(PriceTier::Low),
                3 => Some(PriceTier::Medium),
                4 => Some(PriceTier::High),
                _ => None,
            };
            certain
                | par_filter(ctx, &candidates, &|_, p| {
                    Ok(price_band_by(p, now_day, tier_of)
                        .is_some_and(|band| r.ranges.contains(&band)))
                })?
        }
        Predicate::Season(s) => match season_year(s, now_day) {
            Some(y) => index
                .seasons
                .get(&season_mark(s.name, y))
                .map(|b| b & universe)
                .unwrap_or_default(),
            None => RoaringBitmap::new(),
        },
        Predicate::InList(l) => {
            ctx.lists
                .get(&l.list)
                .ok_or_else(|| EvalError::UnknownList(l.list.clone()))?
                & universe
        }
        Predicate::AdExposure(a) => {
            // An impression in the window (of the campaign, when one is named), and a click in
            // it when clicking is required.
            let Some((lo, hi)) = window_days(&a.within, now_day) else {
                return Ok(RoaringBitmap::new());
            };
            let imp = audex_model::EventKind::AdImpression as u32;
            let mut candidates = index.event_days(&[imp], None, lo, hi) & universe;
            if let Some(c) = &a.campaign {
                match sets.values.get(c).and_then(|id| index.campaigns.get(&id)) {
                    Some(people) => candidates &= people,
                    None => return Ok(RoaringBitmap::new()),
                }
            }
            if a.clicked == Some(true) {
                let click = audex_model::EventKind::AdClicked as u32;
                candidates &= index.event_days(&[click], None, lo, hi);
            }
            refine(ctx, &candidates, pred, now_day, depth)?
        }
        Predicate::PageCategory(pc) => {
            let parts: Vec<&RoaringBitmap> = pc
                .categories
                .iter()
                .filter_map(|c| sets.values.get(c))
                .filter_map(|id| index.page_categories.get(&id))
                .collect();
            refine(ctx, &(union(parts) & universe), pred, now_day, depth)?
        }
        Predicate::InAudience(a) => {
            let rule = ctx
                .audiences
                .get(&a.audience)
                .ok_or_else(|| EvalError::UnknownAudience(a.audience.clone()))?;
            if depth >= MAX_REFERENCE_DEPTH {
                return Err(EvalError::Cycle(a.audience.clone()));
            }
            eval_rule(ctx, index, rule, now_day, universe, depth + 1)?
        }
        Predicate::Tag(t) => match ctx.tags.get(&t.name) {
            None => RoaringBitmap::new(),
            Some(_) if depth >= MAX_REFERENCE_DEPTH => {
                return Err(EvalError::Cycle(t.name.clone()));
            }
            Some(rule) => eval_rule(ctx, index, rule, now_day, universe, depth + 1)?,
        },
        Predicate::ModelScore(m) => return Err(EvalError::ModelUnavailable(m.model.clone())),
        // The spend column gives both the quartiles (over the same people and values as the
        // per-person path's) and each person's level.
        Predicate::BuyingPower(b) => {
            let facts = index.facts.get(ctx.store, now_day);
            let [q1, q2, q3] = facts.quartiles();
            let wanted = |s: f64| {
                s > 0.0
                    && b.levels.contains(&if s < q1 {
                        audex_rules::BuyingPowerLevel::Low
                    } else if s < q2 {
                        audex_rules::BuyingPowerLevel::Medium
                    } else if s < q3 {
                        audex_rules::BuyingPowerLevel::High
                    } else {
                        audex_rules::BuyingPowerLevel::VeryHigh
                    })
            };
            select(universe, |p| {
                facts.spend.get(p as usize).is_some_and(|&s| wanted(s))
            })
        }
        Predicate::GeoRadius(g) => {
            let candidates = geo_candidates(index, g) & universe;
            refine(ctx, &candidates, pred, now_day, depth)?
        }
        Predicate::Age(a) => {
            use crate::facts::{AGE_NONE, AGE_WIDE};
            let facts = index.facts.get(ctx.store, now_day);
            let candidates = &index.aged & universe;
            let code = |p: PersonId| facts.age.get(p as usize).copied().unwrap_or(AGE_NONE);
            let in_range =
                |age: u32| a.min.is_none_or(|m| age >= m) && a.max.is_none_or(|m| age <= m);
            let certain = select(&candidates, |p| {
                let c = code(p);
                c < AGE_WIDE && in_range(u32::from(c))
            });
            let wide = select(&candidates, |p| code(p) == AGE_WIDE);
            certain | refine(ctx, &wide, pred, now_day, depth)?
        }
        Predicate::Income(i) => {
            let parts: Vec<&RoaringBitmap> = i
                .bands
                .iter()
                .filter_map(|b| index.incomes.get(*b as usize))
                .collect();
            refine(ctx, &(union(parts) & universe), pred, now_day, depth)?
        }
        Predicate::Gender(g) if !g.values.contains(&audex_rules::Gender::Unknown) => {
            let parts: Vec<&RoaringBitmap> = g
                .values
                .iter()
                .filter_map(|v| index.genders.get(*v as usize))
                .collect();
            refine(ctx, &(union(parts) & universe), pred, now_day, depth)?
        }
        // Attributes of the person itself: one cheap check per person in the universe.
        Predicate::Gender(_) | Predicate::Country(_) | Predicate::Attribute(_) => {
            refine(ctx, universe, pred, now_day, depth)?
        }
    })
}

/// Largest count threshold decided with bit-sliced bitmaps (each level costs a pass over the
/// day bitmaps).
const MAX_SLICED_COUNT: usize = 32;

/// The people of `within` who are in at least `k` of `parts` (`1 <= k <= 255`), counted
/// with one saturating byte per person: a pass over the parts' members, no bitmap algebra,
/// in parallel over blocks of 2^16 ids (one roaring container each).
fn at_least_k(parts: &[&RoaringBitmap], within: &RoaringBitmap, k: usize) -> RoaringBitmap {
    const BLOCK: u32 = 1 << 16;
    let k = k.min(usize::from(u8::MAX)) as u8;
    let Some(max) = within.max() else {
        return RoaringBitmap::new();
    };
    let kept: Vec<Vec<PersonId>> = (0..=max / BLOCK)
        .into_par_iter()
        .map(|b| {
            let lo = b * BLOCK;
            let hi = lo.saturating_add(BLOCK - 1);
            let mut counts = vec![0u8; BLOCK as usize];
            for part in parts {
                for p in part.range(lo..=hi) {
                    let c = &mut counts[(p - lo) as usize];
                    if *c < k {
                        *c += 1;
                    }
                }
            }
            within
                .range(lo..=hi)
                .filter(|&p| counts[(p - lo) as usize] >= k)
                .collect()
        })
        .collect();
    RoaringBitmap::from_sorted_iter(kept.into_iter().flatten()).unwrap_or_default()
}

/// The people of `set` for which `keep` holds (a scan of a dense column, in parallel).
fn select(set: &RoaringBitmap, keep: impl Fn(PersonId) -> bool + Sync) -> RoaringBitmap {
    const CHUNK: u32 = 1 << 16;
    let Some(max) = set.max() else {
        return RoaringBitmap::new();
    };
    // A dense set: checking every id in order and intersecting after is cheaper than
    // iterating the bitmap (the checks are column reads).
    if set.len() * 4 >= u64::from(max) {
        let kept: Vec<Vec<PersonId>> = (0..=max / CHUNK)
            .into_par_iter()
            .map(|k| {
                let hi = k.saturating_mul(CHUNK).saturating_add(CHUNK - 1).min(max);
                (k * CHUNK..=hi).filter(|&p| keep(p)).collect()
            })
            .collect();
        return RoaringBitmap::from_sorted_iter(kept.into_iter().flatten()).unwrap_or_default()
            & set;
    }
    let ids: Vec<PersonId> = set.iter().collect();
    let kept: Vec<Vec<PersonId>> = ids
        .par_chunks(CHUNK as usize)
        .map(|c| c.iter().copied().filter(|&p| keep(p)).collect())
        .collect();
    RoaringBitmap::from_sorted_iter(kept.into_iter().flatten()).unwrap_or_default()
}

/// The catalog tier a price band stands for.
fn band_tier(b: audex_rules::PriceBand) -> PriceTier {
    match b {
        audex_rules::PriceBand::Low => PriceTier::Low,
        audex_rules::PriceBand::Medium => PriceTier::Medium,
        audex_rules::PriceBand::High => PriceTier::High,
    }
}

/// Whether `score >= min_score` holds for a share of 0 (then anyone with product events in the
/// window matches, not only people with an event of the category or brand).
fn zero_share_passes(min_score: Option<f32>) -> bool {
    min_score.is_some_and(|m| share_matches(0, 1, Some(m)))
}

/// People whose cells can reach one of the circles (everyone located when a circle is too
/// large to cover).
fn geo_candidates(index: &Index, g: &audex_rules::GeoRadius) -> RoaringBitmap {
    let mut cells: Vec<u64> = Vec::new();
    for c in &g.points {
        match crate::geo::cover(c, g.radius_km) {
            Some(cover) => cells.extend(cover),
            None => return index.located.clone(),
        }
    }
    cells.sort_unstable();
    cells.dedup();
    union(
        cells
            .iter()
            .filter_map(|c| index.geo_cells.get(c))
            .collect(),
    )
}

/// The share column for a category-interest predicate, the code of the category's top-level
/// category in it, and whether the category is that top-level one; `None` without a taxonomy
/// or for a category it does not know.
fn category_shares(
    ctx: &Context<'_>,
    index: &Index,
    c: &audex_rules::CategoryInterest,
    now_day: u32,
) -> Option<(std::sync::Arc<crate::shares::ShareFacts>, u8, bool)> {
    let taxonomy = ctx.taxonomy?;
    let root = taxonomy.top_level(c.category)?;
    let window = c.within_days.unwrap_or(audex_rules::MAX_DAYS);
    let facts = index.shares.get(ctx.store, taxonomy, now_day, window)?;
    let code = facts.code(root)?;
    Some((facts, code, root == c.category))
}

/// People with a product event (view, add, order) in the last `within_days` days.
fn product_people(index: &Index, within_days: Option<u32>, now_day: u32) -> RoaringBitmap {
    let kinds = [
        audex_model::EventKind::ProductViewed as u32,
        audex_model::EventKind::ProductAdded as u32,
        audex_model::EventKind::OrderCompleted as u32,
    ];
    let lo = now_day.saturating_sub(within_days.unwrap_or(audex_rules::MAX_DAYS));
    index.event_days(&kinds, None, lo, now_day)
}

/// Whether `person` matches (the per-person evaluator over a rule), for callers holding an index.
pub fn matches_in(
    ctx: &Context<'_>,
    person: PersonId,
    rule: &Rule,
    now_day: u32,
) -> Result<bool, EvalError> {
    match ctx.store.profiles.get(person as usize) {
        Some(p) if ctx.store.identity.is_root(person) => {
            matches_rule(ctx, person, p, rule, now_day, 0)
        }
        _ => Ok(false),
    }
}
