//! Refreshing an advertiser's model-backed audiences: retrain what the saved audiences use —
//! the lookalike of every seed a `lookalike` audience names, prospecting when a `prospecting`
//! audience exists — and infer the behavioral tags again, store the outputs, then re-evaluate
//! every saved audience. One function for `audex model refresh` (on demand) and the server's
//! schedule (`audex serve --model-refresh`).
//!
//! The profiles are read-locked only while features, prospecting's population and the
//! behavioral evidence are read from them, and then a slice of [`SLICE`] people at a time:
//! ingest, which needs the write lock, waits for one slice at most (and lookups queued behind
//! it with it), not for a whole read of everyone. Training, scoring and the tag fit run without
//! the lock. The outputs are stored one model at a time
//! (each replaces the previous one atomically), and the memberships they move are recorded
//! with the cause `model`.

use std::time::Instant;

use audex_engine::Advertiser;
use audex_engine::models::{InferredTags, ModelScores};
use audex_profile::ProfileStore;
use audex_rules::Predicate;
use roaring::RoaringBitmap;
use serde::Serialize;

use crate::behavioral::{self, EvidenceReader, TAGS};
use crate::features::{FeatureConfig, FeatureReader};
use crate::lookalike::{self, LookalikeConfig};
use crate::prospecting::{self, ProspectingConfig};
use crate::{ModelError, ReadProgress};

/// People (and property sets) read per hold of the profiles' read lock: at most 80 ms a hold
/// at a million people on two cores, against 4–5 s for one read of everyone's features.
pub const SLICE: usize = 16_384;

/// When and how to refresh.
#[derive(Debug, Clone, Copy)]
pub struct RefreshOptions {
    /// Evaluation time (Unix ms): recency is measured from it and outputs are stamped with it.
    pub now_ms: i64,
    /// Random seed (negative sampling).
    pub rng_seed: u64,
}

/// One lookalike seed's refresh.
#[derive(Debug, Clone, Serialize)]
pub struct LookalikeRefresh {
    /// The seed audience's id (the model is `lookalike:<id>`).
    pub seed_id: String,
    /// Seed members now.
    pub seed: u64,
    /// People scored, or why the model was not retrained (its earlier scores stay).
    pub outcome: Result<u64, String>,
}

/// What one refresh did.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRefresh {
    /// Lookalike seeds retrained (or not).
    pub lookalikes: Vec<LookalikeRefresh>,
    /// Prospecting, when an audience uses it: buyers trained on and people scored.
    pub prospecting: Option<(u64, u64)>,
    /// Members of each inferred tag, in [`TAGS`] order.
    pub tags: Vec<(String, u64)>,
    /// Saved audiences re-evaluated, people who entered and left one.
    pub memberships: (usize, u64, u64),
    /// The longest single hold of the profiles' read lock, milliseconds: how long ingest could
    /// wait on the refresh.
    pub longest_read_lock_ms: f64,
    /// Wall time, milliseconds.
    pub ms: f64,
}

impl ModelRefresh {
    /// One line per model and one for the memberships (what `audex model refresh` prints).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for l in &self.lookalikes {
            out.push(match &l.outcome {
                Ok(scored) => format!("lookalike:{}: seed {}, {scored} scored", l.seed_id, l.seed),
                // A seed too small to learn from keeps its earlier scores, if any.
                Err(e) => format!("lookalike:{}: not retrained: {e}", l.seed_id),
            });
        }
        if let Some((buyers, scored)) = self.prospecting {
            out.push(format!("prospecting: {buyers} buyers, {scored} scored"));
        }
        out.push(format!("behavioral: {} tags", self.tags.len()));
        let (audiences, entered, left) = self.memberships;
        out.push(format!(
            "memberships: {audiences} audiences, {entered} entered, {left} left"
        ));
        out.push(format!(
            "profiles read-locked {:.0} ms at most at a time; {:.1} s in all",
            self.longest_read_lock_ms,
            self.ms / 1e3
        ));
        out
    }
}

/// The models the saved audiences use: lookalike seed ids (in audience order, once each) and
/// whether any uses prospecting.
fn models_in_use(adv: &Advertiser) -> Result<(Vec<(String, audex_rules::Rule)>, bool), ModelError> {
    let defs = adv.definitions()?;
    let (mut seeds, mut prospecting_used) = (Vec::new(), false);
    for a in &defs.audiences {
        // An audience that no longer compiles uses no model (it is reported where it is used).
        let Ok(rule) = a.definition.compile() else {
            continue;
        };
        for p in rule.predicates() {
            let Predicate::ModelScore(m) = p else {
                continue;
            };
            if let Some(seed) = m.model.strip_prefix("lookalike:") {
                if let Some(s) = defs.audience(seed)
                    && !seeds.iter().any(|(id, _)| id == &s.id)
                    && let Ok(seed_rule) = s.definition.compile()
                {
                    seeds.push((s.id.clone(), seed_rule));
                }
            } else if m.model == "prospecting" {
                prospecting_used = true;
            }
        }
    }
    Ok((seeds, prospecting_used))
}

/// The advertiser's day of `now_ms`.
fn day_of(store: &ProfileStore, now_ms: i64) -> u32 {
    audex_model::time::day_of_ms(now_ms + store.utc_offset_ms).unwrap_or(0)
}

/// Calls `read` under the profiles' read lock, once per hold, until it reads nothing more
/// (people and property sets that arrive meanwhile are read too); keeps the longest hold in
/// `longest_ms`.
fn read_sliced(
    adv: &Advertiser,
    longest_ms: &mut f64,
    mut read: impl FnMut(&ProfileStore) -> ReadProgress,
) -> Result<(), ModelError> {
    loop {
        let t = Instant::now();
        let state = adv.state()?;
        let n = read(&state.profiles);
        drop(state);
        *longest_ms = longest_ms.max(t.elapsed().as_secs_f64() * 1e3);
        if n.is_done() {
            return Ok(());
        }
    }
}

/// Retrains the models the saved audiences use, infers the behavioral tags, stores them and
/// re-evaluates the saved audiences (see the module documentation). `progress` hears the step
/// under way.
pub fn refresh(
    adv: &Advertiser,
    options: &RefreshOptions,
    progress: &dyn Fn(&str),
) -> Result<ModelRefresh, ModelError> {
    let started = Instant::now();
    let now = options.now_ms;
    let (seeds, prospecting_used) = models_in_use(adv)?;
    let taxonomy = adv.taxonomy();
    let day = day_of(&adv.state()?.profiles, now);
    let mut longest = 0.0f64;

    let mut lookalikes = Vec::new();
    if !seeds.is_empty() {
        // Seeds first (each evaluation takes the advertiser's locks itself), then the features
        // a slice at a time, before training.
        let mut evaluated: Vec<(String, RoaringBitmap)> = Vec::new();
        for (id, rule) in &seeds {
            evaluated.push((id.clone(), adv.evaluate(rule, now)?));
        }
        progress("lookalike: features");
        let mut reader = FeatureReader::new(FeatureConfig::new(day));
        read_sliced(adv, &mut longest, |store| {
            reader.read(store, taxonomy, SLICE)
        })?;
        let f = reader.finish();
        for (seed_id, seed) in evaluated {
            progress(&format!("lookalike:{seed_id}: training"));
            let config = LookalikeConfig {
                seed: options.rng_seed,
                ..LookalikeConfig::default()
            };
            let outcome = match lookalike::run(&f, &seed, &config) {
                Ok(r) => {
                    let scored = r.scores.len() as u64;
                    let (people, scores) = r.scores.into_iter().unzip();
                    adv.save_model_scores(&ModelScores {
                        model: format!("lookalike:{seed_id}"),
                        trained_ms: now,
                        people,
                        scores,
                    })?;
                    Ok(scored)
                }
                Err(e @ (ModelError::SeedTooSmall { .. } | ModelError::Invalid(_))) => {
                    Err(e.to_string())
                }
                Err(e) => return Err(e),
            };
            lookalikes.push(LookalikeRefresh {
                seed_id,
                seed: seed.len(),
                outcome,
            });
        }
    }

    let mut prospecting = None;
    if prospecting_used {
        progress("prospecting: features");
        let config = ProspectingConfig {
            seed: options.rng_seed,
            ..ProspectingConfig::default()
        };
        let mut fc = FeatureConfig::new(day);
        fc.exclude_purchases = true;
        let mut first_party = FeatureReader::new(fc.clone());
        fc.publisher_view = true;
        let mut publisher = FeatureReader::new(fc);
        let mut population = prospecting::Population::default();
        read_sliced(adv, &mut longest, |store| {
            // From the same place in the same store, the two readers read the same sets and
            // people; the population is taken for those people.
            let start = first_party.rows();
            let read = first_party.read(store, taxonomy, SLICE);
            publisher.read(store, taxonomy, SLICE);
            population.extend(prospecting::population_among(
                store,
                &config,
                day,
                start..start + read.people,
            ));
            read
        })?;
        let (f, pf) = (first_party.finish(), publisher.finish());
        progress("prospecting: training");
        let views = prospecting::Views {
            first_party: &f,
            publisher: Some(&pf),
        };
        let all = prospecting::run_population(&population, views, &config)?;
        let scored = all.scores.len() as u64;
        let (people, scores) = all.scores.into_iter().unzip();
        adv.save_model_scores(&ModelScores {
            model: "prospecting".into(),
            trained_ms: now,
            people,
            scores,
        })?;
        prospecting = Some((all.buyers, scored));
    }

    progress("behavioral: evidence");
    let mut reader = EvidenceReader::new(day);
    read_sliced(adv, &mut longest, |store| {
        reader.read(store, taxonomy, SLICE)
    })?;
    let evidence = reader.finish();
    progress("behavioral: fitting tag models");
    let members = behavioral::infer(&behavioral::fit_and_score(&evidence).scores);
    drop(evidence);
    let tags: Vec<(String, RoaringBitmap)> = TAGS
        .iter()
        .zip(members)
        .map(|(t, m)| (t.name.to_string(), m))
        .collect();
    let sizes = tags.iter().map(|(n, m)| (n.clone(), m.len())).collect();
    adv.save_inferred_tags(&InferredTags {
        inferred_ms: now,
        tags,
    })?;

    progress("memberships");
    let r = adv.refresh_memberships(now, "model")?;
    Ok(ModelRefresh {
        lookalikes,
        prospecting,
        tags: sizes,
        memberships: (r.audiences, r.entered, r.left),
        longest_read_lock_ms: longest,
        ms: started.elapsed().as_secs_f64() * 1e3,
    })
}
