//! L2-regularised logistic regression on sparse rows, trained by SGD.
//!
//! The objective is scikit-learn's: `C · Σ wᵢ · logloss(xᵢ, yᵢ) + ½‖w‖²` (bias not
//! regularised), written per example as `wᵢ · logloss + λ/2 ‖w‖²` with `λ = 1 / (C · n)`.
//! Updates use Bottou's schedule `η_t = η₀ / (1 + η₀ λ t)` and the scaled-weight trick
//! (`w = s · v`) so the L2 shrink costs O(1) per step and a step costs O(nnz of the row).
//! Examples are visited in a shuffled order drawn from the seed, so training is deterministic.

use audex_profile::PersonId;

use crate::features::Features;
use crate::rng::SplitMix64;

/// Training parameters.
#[derive(Debug, Clone)]
pub struct LogisticConfig {
    /// Inverse regularisation strength, as scikit-learn's `C`.
    pub c: f32,
    /// Passes over the examples.
    pub epochs: u32,
    /// Initial learning rate η₀.
    pub learning_rate: f32,
    /// Weight classes inversely to their frequency (scikit-learn's `class_weight="balanced"`).
    pub balanced: bool,
    /// Shuffle seed.
    pub seed: u64,
}

impl Default for LogisticConfig {
    fn default() -> Self {
        LogisticConfig {
            c: 1.0,
            epochs: 10,
            learning_rate: 0.5,
            balanced: true,
            seed: 42,
        }
    }
}

/// A trained linear model: `P(y = 1 | x) = σ(w · x + b)`.
#[derive(Debug, Clone)]
pub struct LogisticModel {
    /// Dense weights, one per feature column.
    pub weights: Vec<f32>,
    /// Intercept.
    pub bias: f32,
}

impl LogisticModel {
    /// The margin `w · x + b` of a person's row.
    #[inline]
    pub fn margin(&self, features: &Features, p: PersonId) -> f32 {
        features.dot(p, &self.weights) + self.bias
    }

    /// The probability `σ(w · x + b)` of a person's row.
    #[inline]
    pub fn probability(&self, features: &Features, p: PersonId) -> f32 {
        sigmoid(self.margin(features, p))
    }
}

/// The logistic function.
#[inline]
pub fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Trains on `(person, label)` examples.
pub fn train(
    features: &Features,
    examples: &[(PersonId, bool)],
    config: &LogisticConfig,
) -> LogisticModel {
    train_observed(features, examples, config, &|_| {})
}

/// [`train`], calling `on_epoch` with the number of epochs done after each one.
pub fn train_observed(
    features: &Features,
    examples: &[(PersonId, bool)],
    config: &LogisticConfig,
    on_epoch: &dyn Fn(u32),
) -> LogisticModel {
    let dim = features.dim as usize;
    let mut v = vec![0f32; dim];
    let mut scale = 1f64;
    let n = examples.len().max(1);
    let pos = examples.iter().filter(|e| e.1).count();
    let neg = examples.len() - pos;
    let (wp, wn) = if config.balanced && pos > 0 && neg > 0 {
        (n as f32 / (2.0 * pos as f32), n as f32 / (2.0 * neg as f32))
    } else {
        (1.0, 1.0)
    };
    let lambda = 1.0 / (f64::from(config.c.max(1e-9)) * n as f64);
    // A prior-matching start for the intercept speeds the first epoch up.
    let prior = (pos as f32 * wp).max(1e-3) / (neg as f32 * wn).max(1e-3);
    let mut bias = prior.ln();
    let mut order: Vec<u32> = (0..examples.len() as u32).collect();
    let mut rng = SplitMix64::new(config.seed);
    let eta0 = f64::from(config.learning_rate);
    let mut t = 0f64;
    for epoch in 0..config.epochs {
        on_epoch(epoch);
        rng.shuffle(&mut order);
        for &k in &order {
            let (p, y) = examples[k as usize];
            let eta = eta0 / (1.0 + eta0 * lambda * t);
            t += 1.0;
            let (idx, val) = features.row(p);
            let mut z = f64::from(bias);
            for (&i, &x) in idx.iter().zip(val) {
                z += f64::from(v[i as usize]) * f64::from(x) * scale;
            }
            let pr = f64::from(sigmoid(z as f32));
            let (target, weight) = if y { (1.0, wp) } else { (0.0, wn) };
            let g = (pr - target) * f64::from(weight);
            // L2 shrink of every weight at once.
            scale *= 1.0 - eta * lambda;
            if scale < 1e-9 {
                for w in &mut v {
                    *w = (f64::from(*w) * scale) as f32;
                }
                scale = 1.0;
            }
            let step = eta * g / scale;
            for (&i, &x) in idx.iter().zip(val) {
                v[i as usize] -= (step * f64::from(x)) as f32;
            }
            bias -= (eta * g) as f32;
        }
    }
    on_epoch(config.epochs);
    for w in &mut v {
        *w = (f64::from(*w) * scale) as f32;
    }
    LogisticModel { weights: v, bias }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Features, Vec<(PersonId, bool)>) {
        // Column 0 marks positives, column 1 negatives; column 2 is noise on all.
        let mut f = Features {
            dim: 8,
            indptr: vec![0],
            ..Default::default()
        };
        let mut ex = Vec::new();
        for p in 0..200u32 {
            let y = p % 4 == 0;
            f.indices.extend([if y { 0 } else { 1 }, 2]);
            f.values.extend([0.8, 0.6]);
            f.indptr.push(f.indices.len());
            ex.push((p, y));
        }
        (f, ex)
    }

    #[test]
    fn separates_a_separable_problem_deterministically() {
        let (f, ex) = toy();
        let m = train(&f, &ex, &LogisticConfig::default());
        assert!(m.probability(&f, 0) > 0.8);
        assert!(m.probability(&f, 1) < 0.2);
        let again = train(&f, &ex, &LogisticConfig::default());
        assert_eq!(m.weights, again.weights);
        assert_eq!(m.bias, again.bias);
    }

    #[test]
    fn sigmoid_is_stable() {
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
    }
}
