//! Bitmap indexes over people, built from the profile store and kept current as events arrive.
//!
//! Indexes only ever gain members (a person's history only grows, and merged-away people are
//! masked by [`Index::live`]), so they are *candidate* sets: the set evaluator intersects and
//! unions them, and refines with the per-person code where they cannot decide exactly.

use std::collections::BTreeMap;

use audex_model::Channel;
use audex_profile::entry::Entry;
use audex_profile::{LINES_MARKER, PersonId, ProfileStore};
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

/// Entry names of the product events (view, add to cart, order) that carry a product.
const PRODUCT_NAMES: [u32; 3] = [
    audex_model::EventKind::ProductViewed as u32,
    audex_model::EventKind::ProductAdded as u32,
    audex_model::EventKind::OrderCompleted as u32,
];

/// Bitmap indexes of one advertiser's people.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Live people (roots of the identity graph).
    pub live: RoaringBitmap,
    /// (entry name, channel) → day → people with an event of that name on that channel that day.
    pub days: FxHashMap<(u32, Channel), BTreeMap<u32, RoaringBitmap>>,
    /// Google category id → people with any entry whose product is in that exact category.
    pub categories: FxHashMap<u32, RoaringBitmap>,
    /// Brand (value id) → people with any entry of that brand.
    pub brands: FxHashMap<u32, RoaringBitmap>,
    /// Campaign (value id) → people with an ad entry of that campaign.
    pub campaigns: FxHashMap<u32, RoaringBitmap>,
    /// IAB content category (value id) → people who read a publisher page of it.
    pub page_categories: FxHashMap<u32, RoaringBitmap>,
    /// Price tier (Low, Medium, High) → day → people with a product event (view, add, order
    /// or order line) of a product of that tier that day: exact, tiers are fixed per product.
    pub tier_days: [BTreeMap<u32, RoaringBitmap>; 3],
    /// Season mark → people active in that season occurrence.
    pub seasons: FxHashMap<u16, RoaringBitmap>,
    /// People with a known location (candidates for geo predicates).
    pub located: RoaringBitmap,
    /// H3 cell ([`crate::geo::CELL_RESOLUTION`]) → people located in it at some point (a
    /// newer location may have moved them: candidates).
    pub geo_cells: FxHashMap<u64, RoaringBitmap>,
    /// People with a declared birthday or age.
    pub aged: RoaringBitmap,
    /// Gender code → people who have declared it (a later declaration may differ: candidates).
    pub genders: [RoaringBitmap; 4],
    /// Income band code → people who have declared it (candidates).
    pub incomes: [RoaringBitmap; 5],
    /// Price band and buying-power spend of every person on one day (computed on first use).
    pub facts: crate::facts::FactsCache,
    /// Product-event counts per top-level category over a window ending on one day (computed
    /// on first use per window).
    pub shares: crate::shares::ShareCache,
}

impl Index {
    /// Builds every index from a store.
    pub fn build(store: &ProfileStore) -> Index {
        let mut index = Index::default();
        for p in 0..store.profiles.len() as PersonId {
            index.update_person(store, p);
        }
        index
    }

    /// Brings a person's index entries up to date after events were applied to them (and
    /// removes people merged into another from the live set).
    pub fn update_person(&mut self, store: &ProfileStore, person: PersonId) {
        self.facts.update(store, person);
        self.shares.update(store, person);
        if !store.identity.is_root(person) {
            self.live.remove(person);
            return;
        }
        let Some(profile) = store.profiles.get(person as usize) else {
            return;
        };
        if profile.events == 0 {
            return;
        }
        self.live.insert(person);
        for &raw in &profile.entries {
            let e = Entry::unpack(raw);
            if !e.line {
                self.days
                    .entry((e.name, e.channel))
                    .or_default()
                    .entry(e.day)
                    .or_default()
                    .insert(person);
            }
            if e.propset == 0 || e.propset == LINES_MARKER {
                continue;
            }
            let set = store.propsets.get(e.propset);
            if let Some(t) = set.tier
                && PRODUCT_NAMES.contains(&e.name)
            {
                self.tier_days[t as usize]
                    .entry(e.day)
                    .or_default()
                    .insert(person);
            }
            if let Some(c) = set.category {
                self.categories.entry(c).or_default().insert(person);
            }
            if let Some(b) = set.brand {
                self.brands.entry(b).or_default().insert(person);
            }
            if let Some(c) = set.campaign {
                self.campaigns.entry(c).or_default().insert(person);
            }
            if let Some(c) = set.page_category {
                self.page_categories.entry(c).or_default().insert(person);
            }
        }
        for &mark in &profile.seasons {
            self.seasons.entry(mark).or_default().insert(person);
        }
        if let Some(l) = profile.location {
            self.located.insert(person);
            if let Some(cell) = crate::geo::cell_of(f64::from(l.lat), f64::from(l.lon)) {
                self.geo_cells.entry(cell).or_default().insert(person);
            }
        }
        let demo = &profile.demo;
        if demo.birthday.is_some() || demo.age.is_some() {
            self.aged.insert(person);
        }
        if let Some(g) = self.genders.get_mut(usize::from(demo.gender)) {
            g.insert(person);
        }
        if let Some(i) = self.incomes.get_mut(usize::from(demo.income)) {
            i.insert(person);
        }
    }

    /// People with an event of one of `names` on `channel` (any when `None`) on a day in `lo..=hi`.
    pub fn event_days(
        &self,
        names: &[u32],
        channel: Option<Channel>,
        lo: u32,
        hi: u32,
    ) -> RoaringBitmap {
        union(self.event_day_parts(names, channel, lo, hi))
    }

    /// The (name, channel, day) bitmaps [`Index::event_days`] unions: one per entry a person
    /// can hold, so being in `k` of them means at least `k` events.
    pub fn event_day_parts(
        &self,
        names: &[u32],
        channel: Option<Channel>,
        lo: u32,
        hi: u32,
    ) -> Vec<&RoaringBitmap> {
        let mut parts: Vec<&RoaringBitmap> = Vec::new();
        for &name in names {
            for ch in [Channel::Web, Channel::App] {
                if channel.is_some_and(|c| c != ch) {
                    continue;
                }
                if let Some(days) = self.days.get(&(name, ch)) {
                    parts.extend(days.range(lo..=hi).map(|(_, b)| b));
                }
            }
        }
        parts
    }

    /// People with a product event of price tier `tier` (0 Low, 1 Medium, 2 High) on a day
    /// in `lo..=hi`.
    pub fn tier_between(&self, tier: usize, lo: u32, hi: u32) -> RoaringBitmap {
        self.tier_days
            .get(tier)
            .map(|d| union(d.range(lo..=hi).map(|(_, b)| b).collect()))
            .unwrap_or_default()
    }

    /// Approximate heap bytes held by the bitmaps.
    pub fn heap_bytes(&self) -> usize {
        let maps = [
            &self.categories,
            &self.brands,
            &self.campaigns,
            &self.page_categories,
        ];
        self.live.serialized_size()
            + self
                .days
                .values()
                .flat_map(|d| d.values())
                .map(RoaringBitmap::serialized_size)
                .sum::<usize>()
            + maps
                .iter()
                .flat_map(|m| m.values())
                .map(RoaringBitmap::serialized_size)
                .sum::<usize>()
            + self
                .tier_days
                .iter()
                .flat_map(|d| d.values())
                .map(RoaringBitmap::serialized_size)
                .sum::<usize>()
            + self
                .geo_cells
                .values()
                .map(RoaringBitmap::serialized_size)
                .sum::<usize>()
            + self
                .seasons
                .values()
                .map(RoaringBitmap::serialized_size)
                .sum::<usize>()
    }
}

/// The union of many bitmaps.
pub fn union(parts: Vec<&RoaringBitmap>) -> RoaringBitmap {
    use roaring::MultiOps;
    match parts.len() {
        0 => RoaringBitmap::new(),
        1 => parts[0].clone(),
        _ => parts.into_iter().union(),
    }
}
