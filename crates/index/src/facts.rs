//! Per-person facts of one day: each person's price band, buying-power spend and age as of that
//! day, in dense columns. All depend on a window ending on the evaluation day, so they are
//! computed for a day on first use (in parallel), kept current for the people that events
//! touch, and recomputed when another day is asked for. The set evaluator reads them instead
//! of scanning every candidate's history; the values come from the same per-person functions
//! as the per-person evaluator's, so both keep one meaning.

use std::sync::{Arc, Mutex};

use audex_model::catalog::PriceTier;
use audex_profile::{PersonId, Profile, ProfileStore};
use rayon::prelude::*;

use crate::person::{buying_power_spend, price_band_by};

/// Price band code in [`DayFacts::band`]: none (no priced product event in the window).
pub const BAND_NONE: u8 = 0;
/// Age code in [`DayFacts::age`]: unknown.
pub const AGE_NONE: u8 = u8::MAX;
/// Age code in [`DayFacts::age`]: this age or older (the per-person code decides).
pub const AGE_WIDE: u8 = u8::MAX - 1;

/// The columns of one day.
#[derive(Debug, Clone)]
pub struct DayFacts {
    /// The day (UTC days since 1970) the values hold for.
    pub day: u32,
    /// Price band over all categories: [`BAND_NONE`], or 1 + `PriceBand` (Low, Medium, High).
    pub band: Vec<u8>,
    /// Net spend over the buying-power window (0 for people merged into another).
    pub spend: Vec<f64>,
    /// Age in whole years on the day ([`AGE_NONE`] when unknown, [`AGE_WIDE`] and older).
    pub age: Vec<u8>,
    /// Buyers' spend quartiles over `spend`, computed on first use after a change.
    quartiles: std::sync::OnceLock<[f64; 3]>,
}

impl DayFacts {
    /// Computes every person's facts for `day`.
    pub fn compute(store: &ProfileStore, day: u32) -> DayFacts {
        let facts: Vec<(u8, f64, u8)> = store
            .profiles
            .par_iter()
            .enumerate()
            .map(|(i, p)| person_facts(store, i as PersonId, p, day))
            .collect();
        DayFacts {
            day,
            band: facts.iter().map(|f| f.0).collect(),
            spend: facts.iter().map(|f| f.1).collect(),
            age: facts.iter().map(|f| f.2).collect(),
            quartiles: std::sync::OnceLock::new(),
        }
    }

    /// The buyers' spend quartiles of the day ([`crate::quartiles`] of `spend`).
    pub fn quartiles(&self) -> [f64; 3] {
        *self
            .quartiles
            .get_or_init(|| crate::quartiles(self.spend.iter().copied()))
    }

    /// Recomputes one person's facts (after events touched them or a merge moved them).
    pub fn update(&mut self, store: &ProfileStore, person: PersonId) {
        let n = store.profiles.len();
        if self.band.len() < n {
            self.band.resize(n, BAND_NONE);
            self.spend.resize(n, 0.0);
            self.age.resize(n, AGE_NONE);
        }
        let Some(p) = store.profiles.get(person as usize) else {
            return;
        };
        let (b, s, age) = person_facts(store, person, p, self.day);
        self.band[person as usize] = b;
        self.age[person as usize] = age;
        if self.spend[person as usize] != s {
            self.quartiles = std::sync::OnceLock::new();
        }
        self.spend[person as usize] = s;
    }
}

/// One person's (band code, spend, age code) on `day`; merged-away people have none.
fn person_facts(store: &ProfileStore, person: PersonId, p: &Profile, day: u32) -> (u8, f64, u8) {
    if !store.identity.is_root(person) {
        return (BAND_NONE, 0.0, AGE_NONE);
    }
    let sets = &store.propsets;
    let band = price_band_by(p, day, |id| sets.get(id).tier).map_or(BAND_NONE, |b| 1 + b as u8);
    let age = p
        .demo
        .age_on(day)
        .map_or(AGE_NONE, |a| a.min(u32::from(AGE_WIDE)) as u8);
    (band, buying_power_spend(p, day), age)
}

/// A lazily computed [`DayFacts`], shared by concurrent evaluations.
#[derive(Debug, Default)]
pub struct FactsCache(Mutex<Option<Arc<DayFacts>>>);

impl Clone for FactsCache {
    fn clone(&self) -> Self {
        FactsCache(Mutex::new(self.lock().clone()))
    }
}

impl FactsCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<DayFacts>>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The facts of `day`, computing them when the cached ones are of another day.
    pub fn get(&self, store: &ProfileStore, day: u32) -> Arc<DayFacts> {
        let mut cached = self.lock();
        match cached.as_ref() {
            Some(f) if f.day == day && f.band.len() == store.profiles.len() => f.clone(),
            _ => {
                let f = Arc::new(DayFacts::compute(store, day));
                *cached = Some(f.clone());
                f
            }
        }
    }

    /// Brings a person's cached facts up to date (nothing to do when none are cached).
    pub fn update(&mut self, store: &ProfileStore, person: PersonId) {
        let slot = match self.0.get_mut() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(f) = slot {
            Arc::make_mut(f).update(store, person);
        }
    }
}

/// The tier a band code stands for.
pub fn band_code_tier(code: u8) -> Option<PriceTier> {
    match code {
        1 => Some(PriceTier::Low),
        2 => Some(PriceTier::Medium),
        3 => Some(PriceTier::High),
        _ => None,
    }
}
