//! Lookalike audiences: the people most like a seed audience.
//!
//! Two methods over the same person features ([`crate::features`]):
//! * [`Method::Centroid`] — the mean of the seed's L2-normalised rows, renormalised; a person's
//!   score is the cosine with it (Grab / Pinterest stage-2 style);
//! * [`Method::Logistic`] — positive-unlabeled logistic regression: the seed as positives
//!   against a deterministic random sample of everyone else as negatives
//!   ([`crate::logistic`]); a person's score is the predicted probability (LinkedIn
//!   campaign-aware / Pinterest per-advertiser classifier style).
//!
//! Scoring is rayon-parallel; results are the same for the same seed, features and config.
//! The default method is the one that measured better in MODELS.md (held-out seed AUC).

use std::time::Instant;

use audex_profile::PersonId;
use rayon::prelude::*;
use roaring::RoaringBitmap;

use crate::ModelError;
use crate::features::Features;
use crate::logistic::{self, LogisticConfig, LogisticModel};
use crate::metrics;
use crate::rng::SplitMix64;

/// How to rank people by likeness to the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Cosine with the seed centroid.
    Centroid,
    /// Positive-unlabeled logistic regression (the default: higher held-out AUC in MODELS.md).
    #[default]
    Logistic,
}

impl Method {
    /// The method's name (`centroid`, `logistic`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Centroid => "centroid",
            Method::Logistic => "logistic",
        }
    }

    /// Parses a method name.
    pub fn parse(s: &str) -> Option<Method> {
        match s.trim().to_ascii_lowercase().as_str() {
            "centroid" | "cosine" => Some(Method::Centroid),
            "logistic" | "lr" | "pu" => Some(Method::Logistic),
            _ => None,
        }
    }
}

/// How many people a lookalike keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Exactly this many (fewer if fewer are eligible).
    Size(u64),
    /// This share, in (0, 1], of the eligible non-seed people.
    Ratio(f64),
}

impl Target {
    /// The number of people kept out of `eligible`.
    pub fn resolve(self, eligible: u64) -> u64 {
        match self {
            Target::Size(n) => n.min(eligible),
            Target::Ratio(r) => {
                ((r.clamp(0.0, 1.0) * eligible as f64).round() as u64).min(eligible)
            }
        }
    }
}

/// Lookalike parameters.
#[derive(Debug, Clone)]
pub struct LookalikeConfig {
    /// Ranking method.
    pub method: Method,
    /// How many to keep.
    pub target: Target,
    /// Seed of negative sampling.
    pub seed: u64,
    /// Negatives sampled per positive (logistic).
    pub negatives_per_positive: f64,
    /// Fewest negatives sampled (logistic), when that many exist.
    pub min_negatives: u64,
    /// Logistic regression parameters.
    pub logistic: LogisticConfig,
}

impl Default for LookalikeConfig {
    fn default() -> Self {
        LookalikeConfig {
            method: Method::default(),
            target: Target::Ratio(0.05),
            seed: 42,
            negatives_per_positive: 4.0,
            min_negatives: 2_000,
            logistic: LogisticConfig::default(),
        }
    }
}

/// A trained lookalike model.
#[derive(Debug, Clone)]
pub enum LookalikeModel {
    /// Unit-length seed centroid.
    Centroid(Vec<f32>),
    /// Logistic regression.
    Logistic(LogisticModel),
}

impl LookalikeModel {
    /// A person's score in [0, 1].
    #[inline]
    pub fn score(&self, features: &Features, p: PersonId) -> f32 {
        match self {
            LookalikeModel::Centroid(c) => features.dot(p, c).clamp(0.0, 1.0),
            LookalikeModel::Logistic(m) => m.probability(features, p),
        }
    }
}

/// People with a non-empty feature row.
pub fn eligible(features: &Features) -> RoaringBitmap {
    (0..features.rows() as u32)
        .filter(|&p| features.has_row(p))
        .collect()
}

/// A deterministic sample of `n` members of `from` (all of them when `n` is larger).
pub fn sample(from: &RoaringBitmap, n: u64, seed: u64) -> RoaringBitmap {
    let len = from.len();
    if n >= len {
        return from.clone();
    }
    // Selection sampling (Knuth's algorithm S): one pass, ordered, exact size.
    let mut rng = SplitMix64::new(seed ^ 0x05A1_71E5);
    let mut out = RoaringBitmap::new();
    let mut needed = n;
    let mut left = len;
    for p in from {
        if rng.below(left) < needed {
            out.insert(p);
            needed -= 1;
            if needed == 0 {
                break;
            }
        }
        left -= 1;
    }
    out
}

/// Negatives for the logistic method: a sample of `unlabeled` sized from the positives.
pub fn negatives_for(
    positives: u64,
    unlabeled: &RoaringBitmap,
    config: &LookalikeConfig,
) -> RoaringBitmap {
    let n = ((positives as f64 * config.negatives_per_positive) as u64).max(config.min_negatives);
    sample(unlabeled, n, config.seed)
}

/// Trains on `positives` (people with rows), sampling negatives from `unlabeled`; returns the
/// model and the negatives used.
pub fn train(
    features: &Features,
    positives: &RoaringBitmap,
    unlabeled: &RoaringBitmap,
    config: &LookalikeConfig,
) -> Result<(LookalikeModel, RoaringBitmap), ModelError> {
    train_observed(features, positives, unlabeled, config, &|_| {})
}

/// [`train`], reporting finished L-BFGS iterations (logistic) to `on_iteration`.
pub fn train_observed(
    features: &Features,
    positives: &RoaringBitmap,
    unlabeled: &RoaringBitmap,
    config: &LookalikeConfig,
    on_iteration: &dyn Fn(u32),
) -> Result<(LookalikeModel, RoaringBitmap), ModelError> {
    let pos: RoaringBitmap = positives.iter().filter(|&p| features.has_row(p)).collect();
    if pos.len() < 2 {
        return Err(ModelError::SeedTooSmall {
            found: pos.len(),
            needed: 2,
        });
    }
    match config.method {
        Method::Centroid => {
            let mut c = vec![0f32; features.dim as usize];
            for p in &pos {
                let (idx, val) = features.row(p);
                for (&i, &v) in idx.iter().zip(val) {
                    c[i as usize] += v;
                }
            }
            let norm = c.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            for x in &mut c {
                *x /= norm;
            }
            Ok((LookalikeModel::Centroid(c), RoaringBitmap::new()))
        }
        Method::Logistic => {
            let negs = negatives_for(pos.len(), unlabeled, config);
            let examples: Vec<(PersonId, bool)> = pos
                .iter()
                .map(|p| (p, true))
                .chain(
                    negs.iter()
                        .filter(|p| !pos.contains(*p))
                        .map(|p| (p, false)),
                )
                .collect();
            Ok((
                LookalikeModel::Logistic(logistic::train_observed(
                    features,
                    &examples,
                    &config.logistic,
                    on_iteration,
                )),
                negs,
            ))
        }
    }
}

/// Scores `candidates` in parallel; the result is sorted by person id.
pub fn score(
    model: &LookalikeModel,
    features: &Features,
    candidates: &RoaringBitmap,
) -> Vec<(PersonId, f32)> {
    let ids: Vec<PersonId> = candidates.iter().collect();
    ids.par_iter()
        .with_min_len(1024)
        .map(|&p| (p, model.score(features, p)))
        .collect()
}

/// The `k` best-scored people (ties broken by lower person id).
pub fn top(scores: &[(PersonId, f32)], k: u64) -> RoaringBitmap {
    let mut v: Vec<(PersonId, f32)> = scores.to_vec();
    let k = (k as usize).min(v.len());
    if k == 0 {
        return RoaringBitmap::new();
    }
    let cmp = |a: &(PersonId, f32), b: &(PersonId, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    v.select_nth_unstable_by(k - 1, cmp);
    v[..k].iter().map(|s| s.0).collect()
}

/// A lookalike audience and how it was made.
#[derive(Debug, Clone)]
pub struct Lookalike {
    /// The people kept (never seed members).
    pub members: RoaringBitmap,
    /// Every scored non-seed person's score, sorted by person id.
    pub scores: Vec<(PersonId, f32)>,
    /// Seed members with features (used as positives).
    pub seed_used: u64,
    /// Training time, milliseconds.
    pub train_ms: f64,
    /// Scoring time, milliseconds.
    pub score_ms: f64,
}

/// Trains on the whole seed and keeps the target number of the best non-seed people.
pub fn run(
    features: &Features,
    seed: &RoaringBitmap,
    config: &LookalikeConfig,
) -> Result<Lookalike, ModelError> {
    run_observed(features, seed, config, &|_| {})
}

/// [`run`], reporting finished L-BFGS iterations to `on_iteration`.
pub fn run_observed(
    features: &Features,
    seed: &RoaringBitmap,
    config: &LookalikeConfig,
    on_iteration: &dyn Fn(u32),
) -> Result<Lookalike, ModelError> {
    let all = eligible(features);
    let unlabeled = &all - seed;
    let t = Instant::now();
    let (model, _) = train_observed(features, seed, &unlabeled, config, on_iteration)?;
    let train_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let scores = score(&model, features, &unlabeled);
    let k = config.target.resolve(unlabeled.len());
    let members = top(&scores, k);
    let score_ms = t.elapsed().as_secs_f64() * 1e3;
    Ok(Lookalike {
        members,
        scores,
        seed_used: (seed & &all).len(),
        train_ms,
        score_ms,
    })
}

/// The split of a held-out evaluation: who trains, who is held out, who is scored.
#[derive(Debug, Clone)]
pub struct Split {
    /// Seed members trained on (80 %).
    pub train_seed: RoaringBitmap,
    /// Seed members held out (20 %): the positives of the evaluation.
    pub held_out: RoaringBitmap,
    /// Sampled negatives the logistic method trains on (excluded from evaluation).
    pub train_negatives: RoaringBitmap,
    /// People scored in the evaluation: held-out seed plus non-seed people not trained on.
    pub evaluated: RoaringBitmap,
}

/// Splits a seed for held-out evaluation (deterministic for `config.seed`).
pub fn split(
    features: &Features,
    seed: &RoaringBitmap,
    holdout: f64,
    config: &LookalikeConfig,
) -> Split {
    let all = eligible(features);
    let seed = seed & &all;
    let n_out = (seed.len() as f64 * holdout.clamp(0.0, 1.0)).round() as u64;
    let held_out = sample(&seed, n_out, config.seed ^ 0x401D);
    let train_seed = &seed - &held_out;
    let unlabeled = &all - &train_seed;
    let train_negatives = negatives_for(train_seed.len(), &unlabeled, config);
    let evaluated = &unlabeled - &(&train_negatives - &held_out);
    Split {
        train_seed,
        held_out,
        train_negatives,
        evaluated,
    }
}

/// Held-out quality of one method.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Quality {
    /// ROC AUC of held-out seed members against the other evaluated people.
    pub auc: f64,
    /// Share of held-out seed members among the `k` best-scored evaluated people.
    pub recall_at_k: f64,
    /// Share of the `k` best that are held-out seed members.
    pub precision_at_k: f64,
    /// `k`: the target size resolved on the evaluated people.
    pub k: u64,
    /// Training time, milliseconds.
    pub train_ms: f64,
    /// Scoring time (all evaluated people), milliseconds.
    pub score_ms: f64,
    /// Solver iterations (logistic; 0 for the centroid).
    pub iterations: u32,
    /// Loss-and-gradient passes over the training rows (logistic; 0 for the centroid).
    pub passes: u32,
    /// Final scaled gradient (logistic; 0 for the centroid): see [`crate::logistic`].
    pub gradient: f64,
}

/// Trains on 80 % of the seed and measures how well the other 20 % rank (RALM / MetaHeac
/// protocol): AUC and recall@k, `k` = the target size on the evaluated people.
pub fn evaluate(
    features: &Features,
    split: &Split,
    config: &LookalikeConfig,
) -> Result<Quality, ModelError> {
    let t = Instant::now();
    let unlabeled_for_training = split.train_negatives.clone();
    let mut c = config.clone();
    // Train exactly on the split's negatives: sample size = all of them.
    c.negatives_per_positive = f64::INFINITY;
    c.min_negatives = u64::MAX;
    let (model, _) = train(features, &split.train_seed, &unlabeled_for_training, &c)?;
    let train_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let scores = score(&model, features, &split.evaluated);
    let score_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut q = quality_of(&scores, &split.held_out, config.target, train_ms, score_ms);
    if let LookalikeModel::Logistic(m) = &model {
        q.iterations = m.iterations;
        q.passes = m.passes;
        q.gradient = m.gradient;
    }
    Ok(q)
}

/// AUC and recall/precision@k of scores against held-out positives.
pub fn quality_of(
    scores: &[(PersonId, f32)],
    held_out: &RoaringBitmap,
    target: Target,
    train_ms: f64,
    score_ms: f64,
) -> Quality {
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    let labelled: Vec<(u32, f32, bool)> = scores
        .iter()
        .map(|&(p, s)| {
            let y = held_out.contains(p);
            if y {
                pos.push(s);
            } else {
                neg.push(s);
            }
            (p, s, y)
        })
        .collect();
    let k = target.resolve(scores.len() as u64);
    let (recall, precision) = metrics::at_k(&labelled, k as usize);
    Quality {
        auc: metrics::auc(&pos, &neg).unwrap_or(0.5),
        recall_at_k: recall,
        precision_at_k: precision,
        k,
        train_ms,
        score_ms,
        ..Quality::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve() {
        assert_eq!(Target::Size(10).resolve(5), 5);
        assert_eq!(Target::Ratio(0.1).resolve(1000), 100);
        assert_eq!(Target::Ratio(2.0).resolve(7), 7);
    }

    #[test]
    fn sampling_is_exact_and_deterministic() {
        let from: RoaringBitmap = (0..1000).collect();
        let a = sample(&from, 100, 1);
        assert_eq!(a.len(), 100);
        assert_eq!(a, sample(&from, 100, 1));
        assert_ne!(a, sample(&from, 100, 2));
        assert_eq!(sample(&from, 5000, 1).len(), 1000);
    }

    #[test]
    fn top_breaks_ties_by_lower_id() {
        let s = vec![(5, 0.5), (3, 0.5), (9, 0.9), (1, 0.1)];
        let t = top(&s, 2);
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![3, 9]);
    }

    #[test]
    fn methods_parse() {
        assert_eq!(Method::parse("Centroid"), Some(Method::Centroid));
        assert_eq!(Method::parse("pu"), Some(Method::Logistic));
        assert_eq!(Method::parse("x"), None);
    }
}
