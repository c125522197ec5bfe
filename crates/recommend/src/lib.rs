//! Audex retargeting recommendations: the top-N catalog products to show a person.
//!
//! A [`Recommender`] is fitted on every person's product interactions ([`histories`]: views,
//! cart adds and purchases read from profiles) and holds item-item co-occurrence ("co-viewed",
//! "bought together"), overall popularity and popularity per category. For one person,
//! [`Recommender::recommend`] blends:
//! - products they viewed or carted and did not buy (recency-weighted; carts count more),
//! - neighbours of their recent products in the co-occurrence graph,
//! - popular products of the categories they showed interest in,
//! - overall popularity as the last resort,
//!
//! and never returns a product they bought within [`Options::exclude_bought_days`].
//! [`eval`] measures hit-rate@N on each buyer's held-out last purchase against popularity.

pub mod eval;
pub mod history;

use rustc_hash::FxHashMap;
use serde::Serialize;

pub use history::{Action, Interaction, histories, history_of, item_categories};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    /// An events or catalog file could not be read.
    #[error("reading {what}: {message}")]
    Read { what: String, message: String },
}

/// Tuning of a [`Recommender`].
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Neighbours kept per product in the co-occurrence graph.
    pub neighbours: usize,
    /// Most recent distinct products per person used for co-occurrence.
    pub max_items_per_person: usize,
    /// Half-life, in days, of an interaction's weight.
    pub half_life_days: f32,
    /// Products bought this many days before `today` (or later) are never recommended.
    pub exclude_bought_days: u32,
    /// Weight of viewed-not-bought.
    pub w_viewed: f32,
    /// Weight of carted-not-bought.
    pub w_carted: f32,
    /// Weight of co-occurrence neighbours.
    pub w_co: f32,
    /// Weight of popularity within the person's categories.
    pub w_category: f32,
    /// Weight of overall popularity.
    pub w_popular: f32,
}

/// Defaults chosen on a 20,000-person development sim (seed 99), never the report's or the
/// tests' seeds.
impl Default for Options {
    fn default() -> Self {
        Options {
            neighbours: 30,
            max_items_per_person: 40,
            half_life_days: 30.0,
            exclude_bought_days: 30,
            w_viewed: 1.0,
            w_carted: 10.0,
            w_co: 1.0,
            w_category: 1.5,
            w_popular: 0.05,
        }
    }
}

/// Why a product is recommended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The person viewed it and did not buy it.
    ViewedNotBought,
    /// The person added it to a cart and did not buy it.
    CartedNotBought,
    /// People who looked at or bought the person's products also did this one.
    AlsoViewed,
    /// Popular in a category the person showed interest in.
    PopularInCategory,
    /// Popular overall.
    Popular,
}

/// One recommended product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// Catalog index of the product.
    pub item: u32,
    /// Blended score (higher is better; comparable within one person's list only).
    pub score: f32,
    /// The contributions that put it there, largest first.
    pub reasons: Vec<Reason>,
}

/// A fitted recommender (see the crate documentation).
#[derive(Debug, Clone, Default)]
pub struct Recommender {
    options: Options,
    neighbours: Vec<Vec<(u32, f32)>>,
    popular: Vec<(u32, f32)>,
    by_category: FxHashMap<u32, Vec<(u32, f32)>>,
    category: Vec<Option<u32>>,
    /// Histories the model was fitted on.
    pub people: usize,
}

fn decay(today: u32, day: u32, half_life: f32) -> f32 {
    let age = today.saturating_sub(day) as f32;
    0.5f32.powf(age / half_life.max(0.1))
}

fn action_weight(a: Action) -> f32 {
    match a {
        Action::View => 1.0,
        Action::Cart => 2.0,
        Action::Purchase => 3.0,
    }
}

fn top_k(mut v: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(k);
    v
}

impl Recommender {
    /// Fits on per-person histories over a catalog of `items` products whose categories are
    /// `category` (index = catalog index).
    pub fn fit(
        histories: &[Vec<Interaction>],
        category: Vec<Option<u32>>,
        options: Options,
    ) -> Self {
        let items = category.len();
        let mut pop = vec![0.0f32; items];
        let mut degree = vec![0.0f32; items];
        let mut pairs: FxHashMap<(u32, u32), f32> = FxHashMap::default();
        for h in histories {
            // Distinct products, strongest action and latest day first.
            let mut best: FxHashMap<u32, (f32, u32)> = FxHashMap::default();
            for i in h {
                if i.item as usize >= items {
                    continue;
                }
                pop[i.item as usize] += action_weight(i.action) * i.count.min(3) as f32;
                let e = best.entry(i.item).or_insert((0.0, 0));
                e.0 = e.0.max(action_weight(i.action));
                e.1 = e.1.max(i.day);
            }
            let mut mine: Vec<(u32, f32, u32)> =
                best.into_iter().map(|(k, (w, d))| (k, w, d)).collect();
            mine.sort_unstable_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
            mine.truncate(options.max_items_per_person);
            for &(a, wa, _) in &mine {
                degree[a as usize] += 1.0;
                for &(b, wb, _) in &mine {
                    if a < b {
                        *pairs.entry((a, b)).or_insert(0.0) += (wa * wb).sqrt();
                    }
                }
            }
        }
        let mut adj: Vec<Vec<(u32, f32)>> = vec![Vec::new(); items];
        for ((a, b), c) in pairs {
            let s = c / (degree[a as usize] * degree[b as usize]).sqrt().max(1.0);
            adj[a as usize].push((b, s));
            adj[b as usize].push((a, s));
        }
        let neighbours = adj
            .into_iter()
            .map(|v| top_k(v, options.neighbours))
            .collect();
        let max_pop = pop.iter().copied().fold(0.0f32, f32::max).max(1.0);
        let mut by_category: FxHashMap<u32, Vec<(u32, f32)>> = FxHashMap::default();
        let mut popular = Vec::new();
        for (i, &p) in pop.iter().enumerate() {
            if p <= 0.0 {
                continue;
            }
            popular.push((i as u32, p / max_pop));
            if let Some(c) = category[i] {
                by_category.entry(c).or_default().push((i as u32, p));
            }
        }
        let by_category = by_category
            .into_iter()
            .map(|(c, v)| {
                let m = v.iter().map(|x| x.1).fold(0.0f32, f32::max).max(1.0);
                (
                    c,
                    top_k(v.into_iter().map(|(i, p)| (i, p / m)).collect(), 50),
                )
            })
            .collect();
        Recommender {
            options,
            neighbours,
            popular: top_k(popular, 200),
            by_category,
            category,
            people: histories.len(),
        }
    }

    /// Number of catalog products the model knows.
    pub fn items(&self) -> usize {
        self.category.len()
    }

    /// The top `n` products for a person with `history`, on day `today`.
    pub fn recommend(&self, history: &[Interaction], today: u32, n: usize) -> Vec<Recommendation> {
        let o = &self.options;
        let items = self.items();
        let mut bought_recently = rustc_hash::FxHashSet::default();
        let mut bought_ever = rustc_hash::FxHashSet::default();
        for i in history {
            if i.action == Action::Purchase {
                bought_ever.insert(i.item);
                if today.saturating_sub(i.day) < o.exclude_bought_days {
                    bought_recently.insert(i.item);
                }
            }
        }
        // Per product: recency-weighted view and cart mass.
        let mut seen: FxHashMap<u32, (f32, f32, f32)> = FxHashMap::default();
        for i in history {
            if i.item as usize >= items || i.day > today {
                continue;
            }
            let r = decay(today, i.day, o.half_life_days) * (1.0 + (i.count as f32).ln());
            let e = seen.entry(i.item).or_insert((0.0, 0.0, 0.0));
            match i.action {
                Action::View => e.0 += r,
                Action::Cart => e.1 += r,
                Action::Purchase => e.2 += r,
            }
        }
        let mut score: FxHashMap<u32, [f32; 5]> = FxHashMap::default();
        let mut interest: FxHashMap<u32, f32> = FxHashMap::default();
        let mut total_interest = 0.0f32;
        for (&item, &(v, c, p)) in &seen {
            if !bought_ever.contains(&item) {
                let s = score.entry(item).or_default();
                s[0] += o.w_viewed * v;
                s[1] += o.w_carted * c;
            }
            let strength = v + 2.0 * c + 3.0 * p;
            for &(j, sim) in &self.neighbours[item as usize] {
                score.entry(j).or_default()[2] += o.w_co * strength * sim;
            }
            if let Some(cat) = self.category[item as usize] {
                *interest.entry(cat).or_default() += strength;
                total_interest += strength;
            }
        }
        if total_interest > 0.0 {
            for (cat, w) in &interest {
                if let Some(list) = self.by_category.get(cat) {
                    for &(j, p) in list {
                        score.entry(j).or_default()[3] += o.w_category * (w / total_interest) * p;
                    }
                }
            }
        }
        for &(j, p) in &self.popular {
            score.entry(j).or_default()[4] += o.w_popular * p;
        }
        let reasons = [
            Reason::ViewedNotBought,
            Reason::CartedNotBought,
            Reason::AlsoViewed,
            Reason::PopularInCategory,
            Reason::Popular,
        ];
        let mut out: Vec<Recommendation> = score
            .into_iter()
            .filter(|(item, _)| !bought_recently.contains(item))
            .map(|(item, parts)| {
                let mut why: Vec<(Reason, f32)> = reasons
                    .iter()
                    .zip(parts)
                    .filter(|(_, x)| *x > 0.0)
                    .map(|(r, x)| (*r, x))
                    .collect();
                why.sort_by(|a, b| b.1.total_cmp(&a.1));
                Recommendation {
                    item,
                    score: parts.iter().sum(),
                    reasons: why.into_iter().map(|(r, _)| r).collect(),
                }
            })
            .collect();
        out.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        out.truncate(n);
        out
    }

    /// The popularity baseline: the `n` most popular products the person did not buy within
    /// the exclusion window.
    pub fn popular(&self, history: &[Interaction], today: u32, n: usize) -> Vec<u32> {
        let recent: rustc_hash::FxHashSet<u32> = history
            .iter()
            .filter(|i| {
                i.action == Action::Purchase
                    && today.saturating_sub(i.day) < self.options.exclude_bought_days
            })
            .map(|i| i.item)
            .collect();
        self.popular
            .iter()
            .filter(|(i, _)| !recent.contains(i))
            .take(n)
            .map(|(i, _)| *i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(item: u32, action: Action, day: u32) -> Interaction {
        Interaction {
            item,
            action,
            day,
            count: 1,
        }
    }

    #[test]
    fn retargets_unbought_and_never_what_was_just_bought() {
        // Items 0..4; 0 and 1 are often viewed together; 2 is popular; 3 and 4 share category 9.
        let mut hs = Vec::new();
        for _ in 0..20 {
            hs.push(vec![i(0, Action::View, 10), i(1, Action::View, 10)]);
            hs.push(vec![i(2, Action::Purchase, 10)]);
        }
        hs.push(vec![i(3, Action::Purchase, 10), i(4, Action::View, 10)]);
        let cats = vec![None, None, None, Some(9), Some(9)];
        let r = Recommender::fit(&hs, cats, Options::default());
        let me = vec![
            i(0, Action::View, 19),
            i(3, Action::Cart, 18),
            i(2, Action::Purchase, 19),
        ];
        let recs = r.recommend(&me, 20, 4);
        let items: Vec<u32> = recs.iter().map(|x| x.item).collect();
        assert!(!items.contains(&2), "just bought: {recs:?}");
        assert_eq!(items[0], 3, "carted, not bought, first: {recs:?}");
        assert!(items.contains(&0) && items.contains(&1), "{recs:?}");
        assert_eq!(recs[0].reasons[0], Reason::CartedNotBought);
        assert!(!r.popular(&me, 20, 5).contains(&2));
        assert!(
            r.recommend(&[], 20, 2)
                .iter()
                .all(|x| x.reasons == [Reason::Popular])
        );
    }
}
