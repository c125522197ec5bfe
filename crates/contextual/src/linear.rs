//! A sparse linear classifier over hashed features, with two trainers written here:
//! multinomial naive Bayes (closed form) and softmax regression (SGD).

use rustc_hash::FxHashMap;

use crate::text::{BUCKETS, Features};

/// One labelled training example.
#[derive(Debug, Clone)]
pub struct Example {
    /// Hashed features of the document.
    pub features: Features,
    /// Class index.
    pub label: usize,
}

/// `score(c) = bias[c] + length[c]·L + Σ_f x_f·w[f][c]` where `L = Σ x_f` over known features.
/// Naive Bayes uses `length` for its smoothing mass; softmax regression leaves it zero.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LinearModel {
    /// Class labels, by index.
    pub classes: Vec<String>,
    bias: Vec<f32>,
    length: Vec<f32>,
    weights: FxHashMap<u32, Vec<(u32, f32)>>,
}

impl LinearModel {
    /// Number of classes.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether the model has no classes.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// Number of (feature, class) weights stored.
    pub fn weight_count(&self) -> usize {
        self.weights.values().map(Vec::len).sum()
    }

    /// Raw class scores of `x`, and the mass of `x` the model knows (0: no evidence at all).
    pub fn scores(&self, x: &Features) -> (Vec<f32>, f32) {
        let mut s = self.bias.clone();
        let mut known = 0.0f32;
        for (f, v) in x {
            if let Some(ws) = self.weights.get(f) {
                known += v;
                for &(c, w) in ws {
                    s[c as usize] += v * w;
                }
            }
        }
        for (si, l) in s.iter_mut().zip(&self.length) {
            *si += l * known;
        }
        (s, known)
    }

    /// The best class of `x` (ties: lowest index).
    pub fn predict(&self, x: &Features) -> usize {
        argmax(&self.scores(x).0)
    }
}

/// Index of the largest value (0 for an empty slice).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Softmax of scores, in place.
pub fn softmax(v: &mut [f32]) {
    let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut z = 0.0;
    for x in v.iter_mut() {
        *x = (*x - m).exp();
        z += *x;
    }
    if z > 0.0 {
        for x in v.iter_mut() {
            *x /= z;
        }
    }
}

/// Options of [`train_naive_bayes`].
#[derive(Debug, Clone, Copy)]
pub struct NbOptions {
    /// Additive (Laplace/Lidstone) smoothing.
    pub alpha: f32,
    /// Ignore class frequencies (right for seed documents, whose counts mean nothing).
    pub uniform_prior: bool,
    /// Rescale each class's term mass to the mean, so big classes are not penalised per token.
    pub equalize: bool,
}

impl Default for NbOptions {
    fn default() -> Self {
        NbOptions {
            alpha: 0.1,
            uniform_prior: false,
            equalize: false,
        }
    }
}

/// Multinomial naive Bayes, stored sparsely: `w[f][c] = ln(1 + n_fc/α)`,
/// `length[c] = ln(α / (N_c + αV))`, `bias[c] = ln P(c)`.
pub fn train_naive_bayes(examples: &[Example], classes: Vec<String>, o: NbOptions) -> LinearModel {
    let k = classes.len();
    let mut counts: FxHashMap<u32, Vec<(u32, f32)>> = FxHashMap::default();
    let mut totals = vec![0.0f64; k];
    let mut docs = vec![0usize; k];
    for e in examples {
        if e.label >= k {
            continue;
        }
        docs[e.label] += 1;
        for &(f, v) in &e.features {
            totals[e.label] += f64::from(v);
            let ws = counts.entry(f).or_default();
            match ws.iter_mut().find(|(c, _)| *c as usize == e.label) {
                Some((_, w)) => *w += v,
                None => ws.push((e.label as u32, v)),
            }
        }
    }
    let vocab = counts.len() as f64;
    let mean_total = totals.iter().sum::<f64>() / k.max(1) as f64;
    let scale: Vec<f64> = totals
        .iter()
        .map(|&t| {
            if o.equalize && t > 0.0 {
                mean_total / t
            } else {
                1.0
            }
        })
        .collect();
    let alpha = f64::from(o.alpha);
    let n_docs = docs.iter().sum::<usize>().max(1) as f64;
    let bias = (0..k)
        .map(|c| {
            if o.uniform_prior {
                0.0
            } else {
                ((docs[c] as f64 + 1.0) / (n_docs + k as f64)).ln() as f32
            }
        })
        .collect();
    let length = (0..k)
        .map(|c| (alpha / (totals[c] * scale[c] + alpha * vocab)).ln() as f32)
        .collect();
    let weights = counts
        .into_iter()
        .map(|(f, ws)| {
            let ws = ws
                .into_iter()
                .map(|(c, n)| {
                    (
                        c,
                        (1.0 + f64::from(n) * scale[c as usize] / alpha).ln() as f32,
                    )
                })
                .collect();
            (f, ws)
        })
        .collect();
    LinearModel {
        classes,
        bias,
        length,
        weights,
    }
}

/// Options of [`train_logistic`].
#[derive(Debug, Clone, Copy)]
pub struct LrOptions {
    /// Passes over the data.
    pub epochs: usize,
    /// Initial learning rate (decays as `rate / (1 + t·decay)`).
    pub rate: f32,
    /// Learning-rate decay per example.
    pub decay: f32,
    /// L2 penalty, applied to the weights an example touches.
    pub l2: f32,
    /// Shuffle seed.
    pub seed: u64,
}

impl Default for LrOptions {
    fn default() -> Self {
        LrOptions {
            epochs: 8,
            rate: 0.5,
            decay: 1e-4,
            l2: 1e-6,
            seed: 7,
        }
    }
}

/// Multinomial logistic (softmax) regression by SGD over shuffled examples; features are
/// L2-normalised per document; near-zero weights are dropped from the result.
pub fn train_logistic(examples: &[Example], classes: Vec<String>, o: LrOptions) -> LinearModel {
    let k = classes.len();
    let mut w = vec![0.0f32; BUCKETS as usize * k];
    let mut bias = vec![0.0f32; k];
    let data: Vec<(Features, usize)> = examples
        .iter()
        .filter(|e| e.label < k)
        .map(|e| (l2_normalize(&e.features), e.label))
        .collect();
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut state = o.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut t = 0u64;
    let mut p = vec![0.0f32; k];
    for _ in 0..o.epochs {
        // Fisher–Yates with xorshift.
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for &i in &order {
            let (x, y) = &data[i];
            let lr = o.rate / (1.0 + t as f32 * o.decay);
            t += 1;
            p.copy_from_slice(&bias);
            for &(f, v) in x {
                let row = &w[f as usize * k..f as usize * k + k];
                for c in 0..k {
                    p[c] += v * row[c];
                }
            }
            softmax(&mut p);
            for c in 0..k {
                let g = p[c] - if c == *y { 1.0 } else { 0.0 };
                bias[c] -= lr * g;
                for &(f, v) in x {
                    let wi = &mut w[f as usize * k + c];
                    *wi -= lr * (g * v + o.l2 * *wi);
                }
            }
        }
    }
    let mut weights: FxHashMap<u32, Vec<(u32, f32)>> = FxHashMap::default();
    for f in 0..BUCKETS as usize {
        let row = &w[f * k..f * k + k];
        if row.iter().any(|x| x.abs() > 1e-6) {
            weights.insert(
                f as u32,
                row.iter()
                    .enumerate()
                    .filter(|(_, x)| x.abs() > 1e-6)
                    .map(|(c, x)| (c as u32, *x))
                    .collect(),
            );
        }
    }
    LinearModel {
        classes,
        bias,
        length: vec![0.0; k],
        weights,
    }
}

/// `x / ‖x‖₂`.
pub fn l2_normalize(x: &Features) -> Features {
    let n = x.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if n == 0.0 {
        return x.clone();
    }
    x.iter().map(|&(f, v)| (f, v / n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{FeatureBuilder, words};

    fn ex(text: &str, label: usize) -> Example {
        let mut b = FeatureBuilder::new();
        b.words(&words(text), 1.0);
        Example {
            features: b.build(),
            label,
        }
    }

    #[test]
    fn both_learners_separate_two_topics() {
        let train = vec![
            ex("football match goal team league", 0),
            ex("team won the cup final goal", 0),
            ex("stock market shares profit earnings", 1),
            ex("company profit rose shares investors", 1),
        ];
        let classes = vec!["sports".to_string(), "business".to_string()];
        let nb = train_naive_bayes(&train, classes.clone(), NbOptions::default());
        let lr = train_logistic(&train, classes, LrOptions::default());
        for m in [&nb, &lr] {
            assert_eq!(m.predict(&ex("the team scored a late goal", 9).features), 0);
            assert_eq!(m.predict(&ex("profit and shares fell", 9).features), 1);
        }
        let (_, known) = nb.scores(&ex("zebra xylophone", 9).features);
        assert_eq!(known, 0.0);
    }
}
