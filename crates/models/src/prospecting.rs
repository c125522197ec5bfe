//! Prospecting: people who have not bought yet, scored by likeness to the advertiser's buyers.
//!
//! Positive-unlabeled logistic regression: buyers are the positives, a sample of everyone else
//! the negatives, on features that leave out checkouts, orders and spend (so buying cannot
//! explain itself). Every non-buyer with features is scored — including people known only from
//! publisher pages or bid requests. The audience is the eligible people (Criteo `usersType`,
//! days since last visit) at or above a score threshold, or the top N of them.

use std::ops::Range;
use std::time::Instant;

use audex_model::EventKind;
use audex_profile::{Entry, PersonId, Profile, ProfileStore};
use audex_rules::{ACTIVITY_KINDS, UsersType};
use roaring::RoaringBitmap;
use serde::Serialize;

use crate::ModelError;
use crate::features::Features;
use crate::logistic::LogisticConfig;
use crate::lookalike::{self, LookalikeConfig, LookalikeModel, Method, Target};
use crate::metrics;
use rayon::prelude::*;

/// Which eligible people to keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// The `n` best-scored.
    Top(u64),
    /// Everyone scoring at least this (in [0, 1]).
    Threshold(f32),
}

/// Prospecting parameters (Criteo's `prospecting` segment plus the selection).
#[derive(Debug, Clone)]
pub struct ProspectingConfig {
    /// Prospects only, or also non-buying visitors.
    pub users_type: UsersType,
    /// Fewest days since the last visit (non-buyers only).
    pub days_since_last_visit_min: Option<u32>,
    /// Most days since the last visit (non-buyers only).
    pub days_since_last_visit_max: Option<u32>,
    /// Top N or a threshold (default: the rules' `PROSPECTING_MIN_SCORE`, 0.5).
    pub selection: Selection,
    /// Seed of sampling and shuffles.
    pub seed: u64,
    /// Logistic regression parameters.
    pub logistic: LogisticConfig,
}

impl Default for ProspectingConfig {
    fn default() -> Self {
        ProspectingConfig {
            users_type: UsersType::ProspectsOrNonBuyers,
            days_since_last_visit_min: None,
            days_since_last_visit_max: None,
            selection: Selection::Threshold(audex_rules::kinds::PROSPECTING_MIN_SCORE),
            seed: 42,
            logistic: LogisticConfig::default(),
        }
    }
}

/// Day of the person's first order, if any.
fn first_order_day(p: &Profile) -> Option<u32> {
    p.entries
        .iter()
        .map(|&e| Entry::unpack(e))
        .find(|e| e.kind() == EventKind::OrderCompleted)
        .map(|e| e.day)
}

/// Day of the last first-party activity on or before `as_of`.
fn last_visit_day(p: &Profile, as_of: u32) -> Option<u32> {
    p.entries
        .iter()
        .rev()
        .map(|&e| Entry::unpack(e))
        .filter(|e| e.day <= as_of)
        .find(|e| ACTIVITY_KINDS.contains(&e.kind()))
        .map(|e| e.day)
}

/// People who ordered on or before `as_of`.
pub fn buyers(store: &ProfileStore, as_of: u32) -> RoaringBitmap {
    buyers_among(store, as_of, 0..store.profiles.len())
}

/// [`buyers`] among the people of `range`.
fn buyers_among(store: &ProfileStore, as_of: u32, range: Range<usize>) -> RoaringBitmap {
    let Some(slice) = store.profiles.get(range.clone()) else {
        return RoaringBitmap::new();
    };
    slice
        .iter()
        .zip(range)
        .filter(|(p, _)| first_order_day(p).is_some_and(|d| d <= as_of))
        .map(|(_, i)| i as PersonId)
        .collect()
}

/// The non-buyers (as of `today`) the configuration admits.
pub fn eligible(store: &ProfileStore, config: &ProspectingConfig, today: u32) -> RoaringBitmap {
    eligible_among(store, config, today, 0..store.profiles.len())
}

/// [`eligible`] among the people of `range`.
fn eligible_among(
    store: &ProfileStore,
    config: &ProspectingConfig,
    today: u32,
    range: Range<usize>,
) -> RoaringBitmap {
    let Some(slice) = store.profiles.get(range.clone()) else {
        return RoaringBitmap::new();
    };
    slice
        .iter()
        .zip(range)
        .filter(|(p, _)| p.events > 0 && first_order_day(p).is_none_or(|d| d > today))
        .filter(|(p, _)| match last_visit_day(p, today) {
            None => true,
            Some(_) if config.users_type == UsersType::Prospects => false,
            Some(d) => {
                let ago = today.saturating_sub(d);
                config.days_since_last_visit_min.is_none_or(|m| ago >= m)
                    && config.days_since_last_visit_max.is_none_or(|m| ago <= m)
            }
        })
        .map(|(_, i)| i as PersonId)
        .collect()
}

/// A prospecting audience and how it was made.
#[derive(Debug, Clone)]
pub struct Prospecting {
    /// The people kept.
    pub members: RoaringBitmap,
    /// Scores of every eligible person, sorted by person id.
    pub scores: Vec<(PersonId, f32)>,
    /// Buyers trained on.
    pub buyers: u64,
    /// Training time, milliseconds.
    pub train_ms: f64,
    /// Scoring time, milliseconds.
    pub score_ms: f64,
}

fn lookalike_config(config: &ProspectingConfig) -> LookalikeConfig {
    LookalikeConfig {
        method: Method::Logistic,
        target: Target::Ratio(1.0),
        seed: config.seed,
        logistic: config.logistic.clone(),
        ..LookalikeConfig::default()
    }
}

/// Prospecting's two views of people: first-party features (built with `exclude_purchases`)
/// and, optionally, the publisher view (built with `publisher_view` too: what bid requests and
/// publisher pages show). People never active on the site or app are scored on the publisher
/// view, so they are compared with buyers on what is known of them rather than penalised for
/// what is not.
#[derive(Debug, Clone, Copy)]
pub struct Views<'a> {
    /// First-party features without purchases.
    pub first_party: &'a Features,
    /// Publisher-view features.
    pub publisher: Option<&'a Features>,
}

struct Trained {
    first_party: LookalikeModel,
    publisher: Option<LookalikeModel>,
}

fn train_views(
    views: Views<'_>,
    positives: &RoaringBitmap,
    config: &ProspectingConfig,
) -> Result<Trained, ModelError> {
    let lc = lookalike_config(config);
    let all = lookalike::eligible(views.first_party);
    let (first_party, _) =
        lookalike::train(views.first_party, positives, &(&all - positives), &lc)?;
    let publisher = match views.publisher {
        Some(pf) => {
            let all = lookalike::eligible(pf);
            let pos = positives & &all;
            match lookalike::train(pf, &pos, &(&all - positives), &lc) {
                Ok((m, _)) => Some(m),
                Err(ModelError::SeedTooSmall { .. }) => None,
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    Ok(Trained {
        first_party,
        publisher,
    })
}

fn score_views(
    views: Views<'_>,
    trained: &Trained,
    candidates: &RoaringBitmap,
    visited: &(dyn Fn(PersonId) -> bool + Sync),
) -> Vec<(PersonId, f32)> {
    let ids: Vec<PersonId> = candidates.iter().collect();
    ids.par_iter()
        .with_min_len(1024)
        .map(|&p| {
            let s = match (views.publisher, &trained.publisher) {
                (Some(pf), Some(m)) if !visited(p) && pf.has_row(p) => m.score(pf, p),
                _ => trained.first_party.score(views.first_party, p),
            };
            (p, s)
        })
        .collect()
}

fn scorable(views: Views<'_>) -> RoaringBitmap {
    let mut all = lookalike::eligible(views.first_party);
    if let Some(pf) = views.publisher {
        all |= lookalike::eligible(pf);
    }
    all
}

/// What prospecting reads from the profiles: the buyers, the non-buyers the configuration
/// admits, and which of those visited the site or app. Taken once, so that a caller can let go
/// of the profiles before the (longer) training.
#[derive(Debug, Clone, Default)]
pub struct Population {
    /// Buyers as of the day (the positives).
    pub buyers: RoaringBitmap,
    /// Non-buyers the configuration admits (the candidates).
    pub eligible: RoaringBitmap,
    /// Candidates with a visit to the site or app (scored on first-party features).
    pub visited: RoaringBitmap,
}

/// Reads a [`Population`] from the profiles as of `today`.
pub fn population(store: &ProfileStore, config: &ProspectingConfig, today: u32) -> Population {
    population_among(store, config, today, 0..store.profiles.len())
}

/// [`population`] among the people of `range` (ids outside it are not looked at), so a caller
/// can read it a slice at a time under short locks and [`Population::extend`] the parts.
pub fn population_among(
    store: &ProfileStore,
    config: &ProspectingConfig,
    today: u32,
    range: Range<usize>,
) -> Population {
    let eligible = eligible_among(store, config, today, range.clone());
    let visited = eligible
        .iter()
        .filter(|&p| {
            store
                .profiles
                .get(p as usize)
                .is_some_and(|pr| last_visit_day(pr, today).is_some())
        })
        .collect();
    Population {
        buyers: buyers_among(store, today, range),
        eligible,
        visited,
    }
}

impl Population {
    /// Adds another slice's population.
    pub fn extend(&mut self, other: Population) {
        self.buyers |= other.buyers;
        self.eligible |= other.eligible;
        self.visited |= other.visited;
    }
}

/// Trains on buyers and scores the eligible non-buyers.
pub fn run(
    store: &ProfileStore,
    views: Views<'_>,
    config: &ProspectingConfig,
    today: u32,
) -> Result<Prospecting, ModelError> {
    run_population(&population(store, config, today), views, config)
}

/// [`run`] on a population read beforehand (no profiles needed).
pub fn run_population(
    population: &Population,
    views: Views<'_>,
    config: &ProspectingConfig,
) -> Result<Prospecting, ModelError> {
    let positives = &population.buyers;
    let t = Instant::now();
    let trained = train_views(views, positives, config)?;
    let train_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let candidates = &population.eligible & &scorable(views);
    let visited = |p: PersonId| population.visited.contains(p);
    let scores = score_views(views, &trained, &candidates, &visited);
    let members = select(&scores, config.selection);
    Ok(Prospecting {
        members,
        scores,
        buyers: positives.len(),
        train_ms,
        score_ms: t.elapsed().as_secs_f64() * 1e3,
    })
}

/// Applies a selection to scores.
pub fn select(scores: &[(PersonId, f32)], selection: Selection) -> RoaringBitmap {
    match selection {
        Selection::Top(n) => lookalike::top(scores, n),
        Selection::Threshold(t) => scores.iter().filter(|s| s.1 >= t).map(|s| s.0).collect(),
    }
}

/// How well prospecting foresaw conversions in a time split.
#[derive(Debug, Clone, Serialize)]
pub struct ProspectingQuality {
    /// The cutoff: features and buyers as of this many days before the end.
    pub holdout_days: u32,
    /// Buyers at the cutoff (positives).
    pub buyers: u64,
    /// Non-buyers at the cutoff who were scored.
    pub candidates: u64,
    /// Of those, people who ordered after the cutoff.
    pub converters: u64,
    /// AUC of the model's scores for converters against the other candidates.
    pub auc: f64,
    /// AUC of a naive baseline: the number of first-party events before the cutoff.
    pub baseline_auc: f64,
    /// Share of converters among the top `k` (k = converters: precision = recall there).
    pub precision_at_k: f64,
    /// Training plus scoring time, milliseconds.
    pub ms: f64,
}

/// Trains as of `today - holdout_days` and measures how converters after it ranked. The views
/// must be built with `as_of_day = today - holdout_days`.
pub fn evaluate_time_split(
    store: &ProfileStore,
    views: Views<'_>,
    config: &ProspectingConfig,
    today: u32,
    holdout_days: u32,
) -> Result<ProspectingQuality, ModelError> {
    let cutoff = today.saturating_sub(holdout_days);
    let positives = buyers(store, cutoff);
    let t = Instant::now();
    let trained = train_views(views, &positives, config)?;
    // Every non-buyer at the cutoff is evaluated, the sampled training negatives too: that is
    // conservative (a converter sampled as a negative was trained toward a low score).
    let candidates = &scorable(views) - &positives;
    let visited = |p: PersonId| {
        store
            .profiles
            .get(p as usize)
            .is_some_and(|pr| last_visit_day(pr, cutoff).is_some())
    };
    let scores = score_views(views, &trained, &candidates, &visited);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let converted = |p: PersonId| {
        store
            .profiles
            .get(p as usize)
            .and_then(first_order_day)
            .is_some_and(|d| d > cutoff)
    };
    let activity = |p: PersonId| -> f32 {
        store.profiles.get(p as usize).map_or(0.0, |pr| {
            pr.entries
                .iter()
                .map(|&e| Entry::unpack(e))
                .filter(|e| e.day <= cutoff && ACTIVITY_KINDS.contains(&e.kind()))
                .map(|e| e.count as f32)
                .sum()
        })
    };
    let (mut pos, mut neg, mut bpos, mut bneg) = (vec![], vec![], vec![], vec![]);
    let mut labelled = Vec::with_capacity(scores.len());
    for &(p, s) in &scores {
        let y = converted(p);
        let a = activity(p);
        if y {
            pos.push(s);
            bpos.push(a);
        } else {
            neg.push(s);
            bneg.push(a);
        }
        labelled.push((p, s, y));
    }
    let k = pos.len();
    let (_, precision) = metrics::at_k(&labelled, k);
    Ok(ProspectingQuality {
        holdout_days,
        buyers: positives.len(),
        candidates: scores.len() as u64,
        converters: k as u64,
        auc: metrics::auc(&pos, &neg).unwrap_or(0.5),
        baseline_auc: metrics::auc(&bpos, &bneg).unwrap_or(0.5),
        precision_at_k: precision,
        ms,
    })
}
