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
pub mod index;
pub mod person;

use audex_model::taxonomy::ProductTaxonomy;
use audex_profile::ProfileStore;
use audex_rules::Rule;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

pub use eval::evaluate;
pub use index::Index;
pub use person::matches;

/// Why a rule could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("unknown contact list {0:?}")]
    UnknownList(String),
    #[error("unknown audience {0:?}")]
    UnknownAudience(String),
    #[error("unknown tag {0:?}")]
    UnknownTag(String),
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
    /// Buyers' spend at ranks n/4, n/2, 3n/4 (see `BuyingPowerLevel`).
    pub spend_quartiles: [f64; 3],
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
            spend_quartiles: spend_quartiles(store),
        }
    }
}

/// The buyers' spend at ranks ⌊n/4⌋, ⌊n/2⌋, ⌊3n/4⌋ of the sorted spends.
pub fn spend_quartiles(store: &ProfileStore) -> [f64; 3] {
    let mut spends: Vec<f64> = store
        .profiles
        .iter()
        .enumerate()
        .filter(|(i, p)| p.spend > 0.0 && store.identity.is_root(*i as u32))
        .map(|(_, p)| p.spend)
        .collect();
    if spends.is_empty() {
        return [0.0; 3];
    }
    spends.sort_by(f64::total_cmp);
    let n = spends.len();
    [spends[n / 4], spends[n / 2], spends[(3 * n) / 4]]
}

#[cfg(test)]
mod tests;
