//! Audience evaluation with one meaning and two evaluators.
//!
//! * [`matches`] — per person: does this person match the rule at `now`? Used by lookups and
//!   streaming membership updates.
//! * [`evaluate`] — set at a time: every member as a [`RoaringBitmap`], over the bitmap
//!   [`Index`]; used for sizes, overlaps and exports.
//!
//! Each predicate's meaning lives once, in [`person`]. The set evaluator narrows with bitmaps
//! (day buckets per event name and channel, categories, brands, campaigns, page categories,
//! demographics, seasons, traits) and calls the per-person code only where a bitmap cannot
//! decide exactly. Time is an argument: nothing here reads the clock.

pub mod eval;
pub mod facts;
pub mod geo;
pub mod index;
pub mod person;
pub mod shares;

use audex_model::taxonomy::ProductTaxonomy;
use audex_profile::ProfileStore;
use audex_rules::Rule;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

pub use eval::evaluate;
pub use index::Index;
pub use person::{explain, matches};

/// Why a rule could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("unknown contact list {0:?}")]
    UnknownList(String),
    #[error("unknown audience {0:?}")]
    UnknownAudience(String),
    #[error("audiences or tags refer to each other in a cycle through {0:?}")]
    Cycle(String),
    #[error("model {0:?} has no scores yet: model-based audiences need a trained model")]
    ModelUnavailable(String),
}

/// Everything evaluation reads besides the rule and `now`.
pub struct Context<'a> {
    pub store: &'a ProfileStore,
    pub taxonomy: Option<&'a ProductTaxonomy>,
    /// Contact lists by id and by name: the people whose identifiers are on each.
    pub lists: FxHashMap<String, RoaringBitmap>,
    /// Saved audiences by id and by name, for `in_audience`.
    pub audiences: FxHashMap<String, Rule>,
    /// Behavioral tags defined by rules, for `tag`.
    pub tags: FxHashMap<String, Rule>,
    /// Buyers' spend quartiles per `now` day, computed on first use.
    quartiles: std::sync::Mutex<Option<(u32, [f64; 3])>>,
}

impl<'a> Context<'a> {
    /// A context over a store, with the buyers' spend quartiles computed from it.
    pub fn new(store: &'a ProfileStore, taxonomy: Option<&'a ProductTaxonomy>) -> Context<'a> {
        Context {
            store,
            taxonomy,
            lists: FxHashMap::default(),
            audiences: FxHashMap::default(),
            tags: FxHashMap::default(),
            quartiles: std::sync::Mutex::new(None),
        }
    }

    /// The buyers' spend quartiles over the buying-power window ending on `now_day`.
    pub fn spend_quartiles(&self, now_day: u32) -> [f64; 3] {
        let mut cache = match self.quartiles.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        match *cache {
            Some((day, q)) if day == now_day => q,
            _ => {
                let q = spend_quartiles(self.store, now_day);
                *cache = Some((now_day, q));
                q
            }
        }
    }
}

/// The buyers' spend (over the buying-power window ending on `now_day`) at ranks ⌊n/4⌋, ⌊n/2⌋,
/// ⌊3n/4⌋ of the sorted spends of people with spend > 0.
pub fn spend_quartiles(store: &ProfileStore, now_day: u32) -> [f64; 3] {
    use rayon::prelude::*;
    let lo = now_day.saturating_sub(person::BUYING_POWER_DAYS);
    let spends: Vec<f64> = store
        .profiles
        .par_iter()
        .enumerate()
        // Cheap tests on the profile itself first: only people with revenue in the window
        // have a positive spend.
        .filter(|(_, p)| p.revenue.last().is_some_and(|r| r.0 >= lo))
        .filter(|(i, _)| store.identity.is_root(*i as u32))
        .map(|(_, p)| person::buying_power_spend(p, now_day))
        .collect();
    quartiles(spends)
}

/// Quartiles (values at ranks ⌊n/4⌋, ⌊n/2⌋, ⌊3n/4⌋) of the positive spends; zeros if none.
pub fn quartiles(spends: impl IntoIterator<Item = f64>) -> [f64; 3] {
    let mut spends: Vec<f64> = spends.into_iter().filter(|s| *s > 0.0).collect();
    let n = spends.len();
    if n == 0 {
        return [0.0; 3];
    }
    let mut at = |rank: usize| *spends.select_nth_unstable_by(rank, f64::total_cmp).1;
    [at(n / 4), at(n / 2), at((3 * n) / 4)]
}

#[cfg(test)]
mod tests;
