//! Per-person interest counts per top-level product category over one window ending on one
//! day, in one dense column: each person's product events in the window (the denominator of
//! an interest share) and how many fell in each top-level category they touched (the
//! numerators). Category interest with or without a score is a per-person arithmetic check on
//! this column instead of a scan of every candidate's history: exact for a top-level category,
//! an upper bound for a deeper one (whose events are a part of its top-level category's).
//!
//! Like [`crate::facts`], a column is computed for a (day, window) on first use, in parallel,
//! from the same per-person function the per-person evaluator counts with
//! ([`for_each_product_event`]), kept current for the people events touch, and recomputed for
//! another day. The few people whose counts do not fit the compact slots (more top-level
//! categories than slots, or large counts) keep exact counts in a side table.

use std::sync::{Arc, Mutex};

use audex_model::taxonomy::ProductTaxonomy;
use audex_profile::{PersonId, Profile, ProfileStore};
use rayon::prelude::*;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

use crate::person::for_each_product_event;

/// Top-level categories one person's slots can hold; a person with more goes to the side table.
/// (One under test, so the small proptest histories exercise the side table too.)
const SLOTS: usize = if cfg!(test) { 1 } else { 7 };
/// Bits of a slot holding the count (the rest hold the top-level code, 1-based).
const COUNT_BITS: u32 = 11;
const COUNT_MAX: u32 = (1 << COUNT_BITS) - 1;
/// Top-level categories that get a code (5 bits); products under others count only in the
/// denominator, and a query on one of them falls back to the per-person code.
const MAX_CODES: usize = 31;
/// A denominator that sends the lookup to the side table.
const WIDE: u16 = u16::MAX;
/// Columns kept at once (one per distinct window asked for on the current day, 18 MB each
/// at 1M people).
const CACHED: usize = 6;

/// One person's counts: 16 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Shares {
    den: u16,
    slots: [u16; SLOTS],
}

impl Shares {
    /// The count in the slot of `code` (0 without one).
    #[inline]
    fn num(&self, code: u8) -> u64 {
        self.slots
            .iter()
            .find(|&&slot| slot >> COUNT_BITS == u16::from(code))
            .map_or(0, |&slot| u64::from(slot & COUNT_MAX as u16))
    }
}

/// Exact counts of a person who does not fit [`Shares`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct WideShares {
    den: u64,
    counts: Vec<(u8, u64)>,
}

impl WideShares {
    fn share(&self, code: u8) -> (u64, u64) {
        let num = self
            .counts
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(0, |&(_, n)| n);
        (num, self.den)
    }
}

/// The column of one (day, window).
#[derive(Debug, Clone)]
pub struct ShareFacts {
    /// The evaluation day (UTC days since 1970).
    pub day: u32,
    /// The window in days, as `within_days` resolves it.
    pub window: u32,
    /// Top-level category ids; a code is an index + 1.
    roots: Vec<u32>,
    /// Category id → code of its top-level category (0: a top-level category without a code).
    code_of: FxHashMap<u32, u8>,
    /// Property set id → code of its product's top-level category (0: none).
    propset_code: Vec<u8>,
    people: Vec<Shares>,
    wide: FxHashMap<PersonId, WideShares>,
}

impl ShareFacts {
    /// Computes every person's counts over `window` days ending on `day`.
    pub fn compute(
        store: &ProfileStore,
        taxonomy: &ProductTaxonomy,
        day: u32,
        window: u32,
    ) -> ShareFacts {
        let roots: Vec<u32> = taxonomy
            .iter()
            .map(|c| c.id)
            .filter(|&id| taxonomy.top_level(id) == Some(id))
            .collect();
        let code_by_root: FxHashMap<u32, u8> = roots
            .iter()
            .take(MAX_CODES)
            .enumerate()
            .map(|(i, &r)| (r, i as u8 + 1))
            .collect();
        let code_of = taxonomy
            .iter()
            .filter_map(|c| {
                let root = taxonomy.top_level(c.id)?;
                Some((c.id, code_by_root.get(&root).copied().unwrap_or(0)))
            })
            .collect();
        let mut facts = ShareFacts {
            day,
            window,
            roots,
            code_of,
            propset_code: Vec::new(),
            people: Vec::new(),
            wide: FxHashMap::default(),
        };
        facts.extend_codes(store);
        let computed: Vec<(Shares, Option<WideShares>)> = store
            .profiles
            .par_iter()
            .enumerate()
            .map(|(i, p)| facts.person(store, i as PersonId, p))
            .collect();
        for (i, (shares, wide)) in computed.into_iter().enumerate() {
            facts.people.push(shares);
            if let Some(w) = wide {
                facts.wide.insert(i as PersonId, w);
            }
        }
        facts
    }

    /// The code of a top-level category, when it has one.
    pub fn code(&self, root: u32) -> Option<u8> {
        let pos = self.roots.iter().take(MAX_CODES).position(|&r| r == root)?;
        Some(pos as u8 + 1)
    }

    /// Splits everyone in the column by `decide` over their `(num, den)` share of the top-level
    /// category coded `code` (what [`crate::person::interest_share`] counts): those it says yes to, and those it cannot settle (`None`). A
    /// sequential scan of the column in parallel chunks; people beyond it have no share.
    pub fn split(
        &self,
        code: u8,
        decide: impl Fn(u64, u64) -> Option<bool> + Sync,
    ) -> (RoaringBitmap, RoaringBitmap) {
        const CHUNK: usize = 1 << 15;
        let parts: Vec<(Vec<PersonId>, Vec<PersonId>)> = self
            .people
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(k, chunk)| {
                let (mut yes, mut unsure) = (Vec::new(), Vec::new());
                let base = (k * CHUNK) as PersonId;
                for (i, s) in chunk.iter().enumerate() {
                    let person = base + i as PersonId;
                    let (num, den) = if s.den == WIDE {
                        self.wide.get(&person).map_or((0, 0), |w| w.share(code))
                    } else {
                        (s.num(code), u64::from(s.den))
                    };
                    match decide(num, den) {
                        Some(true) => yes.push(person),
                        Some(false) => {}
                        None => unsure.push(person),
                    }
                }
                (yes, unsure)
            })
            .collect();
        let yes = parts.iter().flat_map(|(y, _)| y.iter().copied());
        let unsure = parts.iter().flat_map(|(_, u)| u.iter().copied());
        (
            RoaringBitmap::from_sorted_iter(yes).unwrap_or_default(),
            RoaringBitmap::from_sorted_iter(unsure).unwrap_or_default(),
        )
    }

    /// Recomputes one person's counts (after events touched them or a merge moved them).
    pub fn update(&mut self, store: &ProfileStore, person: PersonId) {
        self.extend_codes(store);
        if self.people.len() < store.profiles.len() {
            self.people.resize(store.profiles.len(), Shares::default());
        }
        let Some(p) = store.profiles.get(person as usize) else {
            return;
        };
        let (shares, wide) = self.person(store, person, p);
        self.people[person as usize] = shares;
        match wide {
            Some(w) => self.wide.insert(person, w),
            None => self.wide.remove(&person),
        };
    }

    /// Codes for the property sets created since the last call.
    fn extend_codes(&mut self, store: &ProfileStore) {
        let sets = &store.propsets;
        for id in self.propset_code.len()..sets.len() {
            let code = sets
                .get(id as u32)
                .category
                .and_then(|c| self.code_of.get(&c).copied())
                .unwrap_or(0);
            self.propset_code.push(code);
        }
    }

    /// A person's compact counts, with their exact counts when those do not fit.
    fn person(
        &self,
        store: &ProfileStore,
        person: PersonId,
        p: &Profile,
    ) -> (Shares, Option<WideShares>) {
        if !store.identity.is_root(person) {
            return (Shares::default(), None);
        }
        let mut wide = WideShares::default();
        for_each_product_event(p, Some(self.window), self.day, |propset, count| {
            wide.den += u64::from(count);
            let code = self
                .propset_code
                .get(propset as usize)
                .copied()
                .unwrap_or(0);
            if code == 0 || count == 0 {
                return;
            }
            match wide.counts.iter_mut().find(|(c, _)| *c == code) {
                Some(slot) => slot.1 += u64::from(count),
                None => wide.counts.push((code, u64::from(count))),
            }
        });
        let fits = wide.counts.len() <= SLOTS
            && wide.den < u64::from(WIDE)
            && wide.counts.iter().all(|&(_, n)| n <= u64::from(COUNT_MAX));
        if !fits {
            let shares = Shares {
                den: WIDE,
                slots: [0; SLOTS],
            };
            return (shares, Some(wide));
        }
        let mut slots = [0u16; SLOTS];
        for (slot, &(code, n)) in slots.iter_mut().zip(&wide.counts) {
            *slot = (u16::from(code) << COUNT_BITS) | n as u16;
        }
        let shares = Shares {
            den: wide.den as u16,
            slots,
        };
        (shares, None)
    }
}

/// The columns asked for on the current day.
#[derive(Debug, Default)]
pub struct ShareCache(Mutex<Vec<Arc<ShareFacts>>>);

impl Clone for ShareCache {
    fn clone(&self) -> Self {
        ShareCache(Mutex::new(self.lock().clone()))
    }
}

impl ShareCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<ShareFacts>>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The column of (`day`, `window`) under `taxonomy`, computing it on first use; `None`
    /// once [`CACHED`] other windows hold columns for the day (the caller then scans
    /// histories: no column is evicted within a day, so many windows cannot thrash).
    pub fn get(
        &self,
        store: &ProfileStore,
        taxonomy: &ProductTaxonomy,
        day: u32,
        window: u32,
    ) -> Option<Arc<ShareFacts>> {
        let mut cached = self.lock();
        cached.retain(|f| f.day == day && f.code_of.len() == taxonomy.len());
        if let Some(f) = cached
            .iter()
            .find(|f| f.window == window && f.people.len() == store.profiles.len())
        {
            return Some(f.clone());
        }
        cached.retain(|f| f.window != window);
        if cached.len() >= CACHED {
            return None;
        }
        let facts = Arc::new(ShareFacts::compute(store, taxonomy, day, window));
        cached.push(facts.clone());
        Some(facts)
    }

    /// Brings a person's counts up to date in every cached column.
    pub fn update(&mut self, store: &ProfileStore, person: PersonId) {
        let cached = match self.0.get_mut() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        for f in cached.iter_mut() {
            Arc::make_mut(f).update(store, person);
        }
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn a_day_keeps_its_first_windows_and_declines_more() {
        let store = ProfileStore::default();
        let taxonomy = ProductTaxonomy::parse("1 - Home\n2 - Home > Kitchen\n")
            .unwrap_or_else(|e| panic!("taxonomy: {e}"));
        let cache = ShareCache::default();
        for window in 0..CACHED as u32 {
            assert!(cache.get(&store, &taxonomy, 10, window).is_some());
        }
        assert!(
            cache.get(&store, &taxonomy, 10, 99).is_none(),
            "full for the day"
        );
        assert!(
            cache.get(&store, &taxonomy, 10, 2).is_some(),
            "a cached window stays"
        );
        assert!(
            cache.get(&store, &taxonomy, 11, 99).is_some(),
            "a new day starts afresh"
        );
        let code = cache.get(&store, &taxonomy, 11, 99).and_then(|f| f.code(1));
        assert_eq!(code, Some(1));
    }
}
