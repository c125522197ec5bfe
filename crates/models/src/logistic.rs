//! L2-regularised logistic regression on sparse rows, solved to convergence by full-batch L-BFGS.
//!
//! The objective is scikit-learn's `LogisticRegression`:
//! `C · Σ sᵢ · log(1 + exp(−yᵢ (w · xᵢ + b))) + ½‖w‖²`, the intercept `b` not regularised and
//! `sᵢ` the sample weights (`n / (2 · n_class)` with [`LogisticConfig::balanced`], as
//! `class_weight="balanced"`). It is strictly convex, so a converged solver reaches the one
//! optimum scikit-learn's solvers approach; Audex stops at a gradient ten times smaller than
//! scikit-learn's default (`tol = 1e-4`), on the same scale (the gradient divided by `C · Σ sᵢ`).
//!
//! How it is made fast (tens of passes over the rows where SGD needs many epochs to get
//! close, and a fraction of the cost of scikit-learn's lbfgs, which works on all 2^18 columns):
//! * only the columns present in the training rows are solved for (a hashed space of 2^18
//!   columns holds a few thousand used ones); the training rows are copied once, in parallel,
//!   into a compact CSR matrix with `u16` column ids when they fit, so a pass streams 6 bytes
//!   per stored value and the weights stay in cache;
//! * features are centred implicitly (`w · (x − μ) + b'`, `μ` the weighted column means), an
//!   exact reparametrisation of the same model and penalty that takes the intercept's strong
//!   coupling with near-constant columns (country, demographics) out of the Hessian;
//! * L-BFGS's initial inverse Hessian is the inverse of the Hessian at `w = 0`, kept dense
//!   (Cholesky-factored) on the most frequent columns — whose correlations (a category and
//!   its ancestors, demographic groups) make the problem ill-conditioned — and diagonal on the
//!   rest: about four times fewer passes than with a diagonal alone;
//! * one pass over the rows computes the loss and the gradient together, in parallel over
//!   fixed blocks of rows summed in a fixed order: the result does not depend on the number
//!   of threads, so training is deterministic.

use audex_profile::PersonId;
use rayon::prelude::*;

use crate::features::Features;

/// Training parameters.
#[derive(Debug, Clone)]
pub struct LogisticConfig {
    /// Inverse regularisation strength, as scikit-learn's `C`.
    pub c: f32,
    /// Weight classes inversely to their frequency (scikit-learn's `class_weight="balanced"`).
    pub balanced: bool,
    /// Stop when the largest gradient component, divided by `C · Σ sᵢ`, is at most this
    /// (scikit-learn's `tol` on the same scale; its default is 1e-4).
    pub tolerance: f64,
    /// Most L-BFGS iterations.
    pub max_iterations: u32,
    /// L-BFGS memory (correction pairs kept).
    pub memory: usize,
    /// Columns of the dense block of the preconditioner (the most frequent ones); `None`
    /// sizes it from the data (about `2 · ∛(6 · stored values)`, at most 1,536).
    pub block_columns: Option<usize>,
}

impl Default for LogisticConfig {
    fn default() -> Self {
        LogisticConfig {
            c: 1.0,
            balanced: true,
            tolerance: 1e-5,
            max_iterations: 500,
            memory: 10,
            block_columns: None,
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
    /// L-BFGS iterations run.
    pub iterations: u32,
    /// Loss-and-gradient passes over the training rows.
    pub passes: u32,
    /// The final largest gradient component divided by `C · Σ sᵢ`.
    pub gradient: f64,
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

/// A compact column id: `u16` when the training rows use at most 65,536 columns (a quarter
/// less memory to stream per pass), `u32` otherwise.
trait Column: Copy + Default + Send + Sync {
    fn new(j: u32) -> Self;
    fn at(self) -> usize;
}

impl Column for u16 {
    #[inline]
    fn new(j: u32) -> Self {
        j as u16
    }
    #[inline]
    fn at(self) -> usize {
        usize::from(self)
    }
}

impl Column for u32 {
    #[inline]
    fn new(j: u32) -> Self {
        j
    }
    #[inline]
    fn at(self) -> usize {
        self as usize
    }
}

/// The rows of the examples and their weights, before the copy.
struct Rows<'a> {
    features: &'a Features,
    examples: &'a [(PersonId, bool)],
    /// `+1` / `−1` per row.
    sign: Vec<f64>,
    /// `C · sᵢ` per row.
    weight: Vec<f64>,
    /// Row blocks of a pass: fixed by the number of rows only, so sums over blocks taken in
    /// block order do not depend on the number of threads.
    blocks: Vec<(usize, usize)>,
    /// Used columns of the feature space, ascending.
    columns: Vec<u32>,
}

impl<'a> Rows<'a> {
    fn new(
        features: &'a Features,
        examples: &'a [(PersonId, bool)],
        config: &LogisticConfig,
    ) -> Self {
        let pos = examples.iter().filter(|e| e.1).count();
        let neg = examples.len() - pos;
        let n = examples.len() as f64;
        let (wp, wn) = if config.balanced && pos > 0 && neg > 0 {
            (n / (2.0 * pos as f64), n / (2.0 * neg as f64))
        } else {
            (1.0, 1.0)
        };
        let c = f64::from(config.c.max(1e-9));
        let sign = examples
            .iter()
            .map(|e| if e.1 { 1.0 } else { -1.0 })
            .collect();
        let weight = examples
            .iter()
            .map(|e| c * if e.1 { wp } else { wn })
            .collect();
        let rows = examples.len();
        let nblocks = (rows / 2048).clamp(1, 64);
        let blocks: Vec<(usize, usize)> = (0..nblocks)
            .map(|b| (b * rows / nblocks, (b + 1) * rows / nblocks))
            .collect();
        // Used columns: one bitset per block, OR-ed.
        let words = (features.dim as usize).div_ceil(64);
        let used = blocks
            .par_iter()
            .map(|&(lo, hi)| {
                let mut bits = vec![0u64; words];
                for &(p, _) in &examples[lo..hi] {
                    for &i in features.row(p).0 {
                        bits[i as usize / 64] |= 1 << (i % 64);
                    }
                }
                bits
            })
            .reduce(
                || vec![0u64; words],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x |= y;
                    }
                    a
                },
            );
        let columns = (0..features.dim)
            .filter(|&i| used[i as usize / 64] >> (i % 64) & 1 == 1)
            .collect();
        Rows {
            features,
            examples,
            sign,
            weight,
            blocks,
            columns,
        }
    }
}

/// The training rows, copied into a compact matrix over the columns they use.
struct Problem<C> {
    /// Used columns of the feature space, ascending; compact column `j` is `columns[j]`.
    columns: Vec<u32>,
    indptr: Vec<usize>,
    indices: Vec<C>,
    values: Vec<f32>,
    /// `+1` / `−1` per row.
    sign: Vec<f64>,
    /// `C · sᵢ` per row.
    weight: Vec<f64>,
    /// Weighted column means (the implicit centring).
    mean: Vec<f64>,
    /// `Σ sᵢ · xᵢⱼ²` per column.
    square: Vec<f64>,
    /// Rows holding each column.
    count: Vec<u32>,
    /// Row blocks of a pass (see [`Rows::blocks`]).
    blocks: Vec<(usize, usize)>,
}

impl<C: Column> Problem<C> {
    /// Copies the rows in parallel, block by block, with the column sums the solver needs.
    fn new(rows: Rows<'_>) -> Self {
        let Rows {
            features,
            examples,
            sign,
            weight,
            blocks,
            columns,
        } = rows;
        let d = columns.len();
        let mut compact = vec![u32::MAX; features.dim as usize];
        for (j, &i) in columns.iter().enumerate() {
            compact[i as usize] = j as u32;
        }
        let mut indptr = Vec::with_capacity(examples.len() + 1);
        indptr.push(0usize);
        for &(p, _) in examples {
            indptr.push(indptr[indptr.len() - 1] + features.row(p).0.len());
        }
        let nnz = indptr[examples.len()];
        let mut indices = vec![C::default(); nnz];
        let mut values = vec![0f32; nnz];
        // Each block's slice of the output.
        let mut parts = Vec::with_capacity(blocks.len());
        let (mut ri, mut rv) = (&mut indices[..], &mut values[..]);
        for &(lo, hi) in &blocks {
            let len = indptr[hi] - indptr[lo];
            let (a, rest_i) = std::mem::take(&mut ri).split_at_mut(len);
            let (b, rest_v) = std::mem::take(&mut rv).split_at_mut(len);
            parts.push((lo, hi, a, b));
            (ri, rv) = (rest_i, rest_v);
        }
        let sums: Vec<(Vec<f64>, Vec<f64>, Vec<u32>)> = parts
            .into_par_iter()
            .map(|(lo, hi, out_i, out_v)| {
                let (mut mean, mut square, mut count) =
                    (vec![0f64; d], vec![0f64; d], vec![0u32; d]);
                let mut k = 0;
                for r in lo..hi {
                    let (idx, val) = features.row(examples[r].0);
                    let s = weight[r];
                    for (&i, &v) in idx.iter().zip(val) {
                        let j = compact[i as usize];
                        out_i[k] = C::new(j);
                        out_v[k] = v;
                        k += 1;
                        let (j, v) = (j as usize, f64::from(v));
                        mean[j] += s * v;
                        square[j] += s * v * v;
                        count[j] += 1;
                    }
                }
                (mean, square, count)
            })
            .collect();
        let (mut mean, mut square, mut count) = (vec![0f64; d], vec![0f64; d], vec![0u32; d]);
        for (m, q, c) in &sums {
            for j in 0..d {
                mean[j] += m[j];
                square[j] += q[j];
                count[j] += c[j];
            }
        }
        let total: f64 = weight.iter().sum();
        for m in &mut mean {
            *m /= total.max(f64::MIN_POSITIVE);
        }
        Problem {
            columns,
            indptr,
            indices,
            values,
            sign,
            weight,
            mean,
            square,
            count,
            blocks,
        }
    }

    fn dim(&self) -> usize {
        self.columns.len()
    }

    /// Loss and gradient at `theta = (w, b')` (margin `w · (x − μ) + b'`), in one pass.
    /// `grad` has `dim + 1` entries, the last for `b'`.
    fn loss_gradient(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let d = self.dim();
        let (w, b) = (&theta[..d], theta[d]);
        let shift = b - w.iter().zip(&self.mean).map(|(a, m)| a * m).sum::<f64>();
        let parts: Vec<(f64, f64, Vec<f64>)> = self
            .blocks
            .par_iter()
            .map(|&(lo, hi)| {
                let mut g = vec![0f64; d];
                let (mut loss, mut rsum) = (0f64, 0f64);
                for r in lo..hi {
                    let (a, e) = (self.indptr[r], self.indptr[r + 1]);
                    let (idx, val) = (&self.indices[a..e], &self.values[a..e]);
                    let z = shift + gather(w, idx, val);
                    let (y, s) = (self.sign[r], self.weight[r]);
                    let m = y * z;
                    // log(1 + e^{−m}) and σ(−m), stable on both sides (e ≤ 1, so
                    // ln(1 + e) is exact to 1e-16 absolute, all the sum needs).
                    let e = (-m.abs()).exp();
                    let l = (1.0 + e).ln() + (-m).max(0.0);
                    let q = if m >= 0.0 {
                        e / (1.0 + e)
                    } else {
                        1.0 / (1.0 + e)
                    };
                    loss += s * l;
                    let res = -y * s * q;
                    rsum += res;
                    for (&j, &v) in idx.iter().zip(val) {
                        g[j.at()] += res * f64::from(v);
                    }
                }
                (loss, rsum, g)
            })
            .collect();
        let (mut loss, mut rsum) = (0f64, 0f64);
        grad[..d].copy_from_slice(w);
        for (l, r, g) in &parts {
            loss += l;
            rsum += r;
            for (a, b) in grad[..d].iter_mut().zip(g) {
                *a += b;
            }
        }
        for (a, m) in grad[..d].iter_mut().zip(&self.mean) {
            *a -= m * rsum;
        }
        grad[d] = rsum;
        loss + 0.5 * w.iter().map(|a| a * a).sum::<f64>()
    }

    /// The preconditioner: the Hessian at `w = 0` (every σ(1 − σ) is ¼, centred columns),
    /// dense on the `block` most frequent columns (estimated on evenly spaced rows), diagonal
    /// elsewhere and on the intercept (which
    /// centring decouples: at `w = 0` every centred column sums to zero).
    fn preconditioner(&self, block: usize) -> Preconditioner {
        let d = self.dim();
        let total: f64 = self.weight.iter().sum();
        let mut diag: Vec<f64> = self
            .square
            .iter()
            .zip(&self.mean)
            .map(|(q, m)| 1.0 + 0.25 * (q - m * m * total).max(0.0))
            .collect();
        diag.push((0.25 * total).max(1e-12));
        let b = block.min(d);
        if b == 0 {
            return Preconditioner::diagonal(diag);
        }
        // The most frequent columns (ties: lower column), in ascending order.
        let mut by_count: Vec<u32> = (0..d as u32).collect();
        by_count.sort_by(|&x, &y| {
            self.count[y as usize]
                .cmp(&self.count[x as usize])
                .then(x.cmp(&y))
        });
        let mut cols: Vec<u32> = by_count[..b].to_vec();
        cols.sort_unstable();
        let mut at = vec![u32::MAX; d];
        for (k, &c) in cols.iter().enumerate() {
            at[c as usize] = k as u32;
        }
        // Σ D xxᵀ, Σ D x and Σ D over the sampled rows (D = sᵢ / 4), packed lower triangle.
        // An eighth of the rows (its cost about one pass), 2,000 to PRECONDITIONER_ROWS.
        let rows = self.sign.len();
        let want = (rows / 8).clamp(2000, PRECONDITIONER_ROWS).min(rows).max(1);
        let stride = rows.div_ceil(want).max(1);
        let mut h = vec![0f64; b * (b + 1) / 2];
        let mut v = vec![0f64; b];
        let (mut t, mut sampled) = (0f64, 0f64);
        let mut entries: Vec<(usize, f64)> = Vec::new();
        for r in (0..rows).step_by(stride) {
            let dr = 0.25 * self.weight[r];
            sampled += self.weight[r];
            t += dr;
            entries.clear();
            for k in self.indptr[r]..self.indptr[r + 1] {
                let p = at[self.indices[k].at()];
                if p != u32::MAX {
                    entries.push((p as usize, f64::from(self.values[k])));
                }
            }
            // Columns ascend within a row, so block positions do too.
            for (a, &(pa, xa)) in entries.iter().enumerate() {
                let row = pa * (pa + 1) / 2;
                let dx = dr * xa;
                v[pa] += dx;
                for &(pb, xb) in &entries[..=a] {
                    h[row + pb] += dx * xb;
                }
            }
        }
        // Centre (Σ D (x − μ)(x − μ)ᵀ = Σ D xxᵀ − v μᵀ − μ vᵀ + t μμᵀ), scale the sample up
        // to all rows, add the L2 term.
        let up = total / sampled.max(f64::MIN_POSITIVE);
        let mu: Vec<f64> = cols.iter().map(|&c| self.mean[c as usize]).collect();
        for a in 0..b {
            let row = a * (a + 1) / 2;
            for c in 0..=a {
                let x = h[row + c] - v[a] * mu[c] - mu[a] * v[c] + t * mu[a] * mu[c];
                h[row + c] = up * x + if a == c { 1.0 } else { 0.0 };
            }
        }
        if !cholesky_packed(&mut h, b) {
            return Preconditioner::diagonal(diag);
        }
        Preconditioner {
            diag,
            block: cols,
            factor: h,
        }
    }
}

/// Rows sampled to estimate the dense block of the preconditioner.
const PRECONDITIONER_ROWS: usize = 20_000;

/// The automatic size of the preconditioner's dense block: its Cholesky factorisation costs
/// about as much as a few passes over the stored values.
fn block_size(nnz: usize) -> usize {
    ((2.0 * (6.0 * nnz as f64).cbrt()) as usize).min(1536)
}

/// `P⁻¹` for L-BFGS's initial inverse Hessian: a Cholesky-factored dense block on some
/// columns, a diagonal on the others.
struct Preconditioner {
    /// Diagonal of `P` (used off the block), intercept last.
    diag: Vec<f64>,
    /// Compact columns of the block, ascending.
    block: Vec<u32>,
    /// Cholesky factor `L` of the block, packed lower triangle by rows.
    factor: Vec<f64>,
}

impl Preconditioner {
    fn diagonal(diag: Vec<f64>) -> Self {
        Preconditioner {
            diag,
            block: Vec::new(),
            factor: Vec::new(),
        }
    }

    /// `v ← P⁻¹ v`.
    fn apply(&self, v: &mut [f64], scratch: &mut Vec<f64>) {
        scratch.clear();
        scratch.extend(self.block.iter().map(|&c| v[c as usize]));
        for (x, h) in v.iter_mut().zip(&self.diag) {
            *x /= h;
        }
        // L y = v, then Lᵀ x = y, both along rows of the packed factor.
        let b = self.block.len();
        for i in 0..b {
            let row = i * (i + 1) / 2;
            let s = scratch[i] - dot(&self.factor[row..row + i], &scratch[..i]);
            scratch[i] = s / self.factor[row + i];
        }
        for i in (0..b).rev() {
            let row = i * (i + 1) / 2;
            let x = scratch[i] / self.factor[row + i];
            scratch[i] = x;
            for (y, l) in scratch[..i].iter_mut().zip(&self.factor[row..row + i]) {
                *y -= l * x;
            }
        }
        for (&c, &x) in self.block.iter().zip(scratch.iter()) {
            v[c as usize] = x;
        }
    }
}

/// In-place Cholesky factorisation of a packed (lower triangle by rows) symmetric matrix;
/// false when it is not positive definite.
fn cholesky_packed(a: &mut [f64], n: usize) -> bool {
    for i in 0..n {
        let ri = i * (i + 1) / 2;
        for j in 0..=i {
            let rj = j * (j + 1) / 2;
            let s = a[ri + j] - dot(&a[ri..ri + j], &a[rj..rj + j]);
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return false;
                }
                a[ri + i] = s.sqrt();
            } else {
                a[ri + j] = s / a[rj + j];
            }
        }
    }
    true
}

/// `Σ w[idx[k]] · val[k]`, four partial sums wide: a single running sum would make every
/// addition wait for the previous one.
#[inline]
fn gather<C: Column>(w: &[f64], idx: &[C], val: &[f32]) -> f64 {
    let mut acc = [0f64; 4];
    let (ic, vc) = (idx.chunks_exact(4), val.chunks_exact(4));
    let (ir, vr) = (ic.remainder(), vc.remainder());
    for (i, v) in ic.zip(vc) {
        for k in 0..4 {
            acc[k] += w[i[k].at()] * f64::from(v[k]);
        }
    }
    for (&i, &v) in ir.iter().zip(vr) {
        acc[0] += w[i.at()] * f64::from(v);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// `a · b`, four partial sums wide.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0f64; 4];
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    for (x, y) in ar.iter().zip(br) {
        acc[0] += x * y;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0f64, |m, x| m.max(x.abs()))
}

/// [`train`], calling `on_iteration` with the number of L-BFGS iterations done so far.
pub fn train_observed(
    features: &Features,
    examples: &[(PersonId, bool)],
    config: &LogisticConfig,
    on_iteration: &dyn Fn(u32),
) -> LogisticModel {
    let rows = Rows::new(features, examples, config);
    if rows.columns.len() <= 1 << 16 {
        solve(
            &Problem::<u16>::new(rows),
            features.dim,
            config,
            on_iteration,
        )
    } else {
        solve(
            &Problem::<u32>::new(rows),
            features.dim,
            config,
            on_iteration,
        )
    }
}

fn solve<C: Column>(
    prob: &Problem<C>,
    dim: u32,
    config: &LogisticConfig,
    on_iteration: &dyn Fn(u32),
) -> LogisticModel {
    let d = prob.dim();
    let total: f64 = prob.weight.iter().sum();
    let scale = total.max(f64::MIN_POSITIVE);
    let block = config
        .block_columns
        .unwrap_or_else(|| block_size(prob.indices.len()));
    let pre = prob.preconditioner(block);
    let mut scratch = Vec::new();
    let mut py = vec![0f64; d + 1];
    let mut theta = vec![0f64; d + 1];
    let mut grad = vec![0f64; d + 1];
    let mut f = prob.loss_gradient(&theta, &mut grad);
    let mut passes = 1u32;
    let memory = config.memory.max(1);
    let (mut s_hist, mut y_hist, mut rho): (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<f64>) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut dir = vec![0f64; d + 1];
    let mut trial = vec![0f64; d + 1];
    let mut trial_grad = vec![0f64; d + 1];
    let mut alpha = vec![0f64; memory];
    let mut iterations = 0u32;
    while iterations < config.max_iterations && max_abs(&grad) / scale > config.tolerance {
        on_iteration(iterations);
        // Two-loop recursion: dir = −H·grad.
        for (q, g) in dir.iter_mut().zip(&grad) {
            *q = -g;
        }
        for k in (0..s_hist.len()).rev() {
            alpha[k] = rho[k] * dot(&s_hist[k], &dir);
            for (q, y) in dir.iter_mut().zip(&y_hist[k]) {
                *q -= alpha[k] * y;
            }
        }
        // H₀ = γ · P⁻¹, γ = sᵀy / yᵀP⁻¹y of the newest pair.
        let gamma = match (s_hist.last(), y_hist.last()) {
            (Some(s), Some(y)) => {
                py.copy_from_slice(y);
                pre.apply(&mut py, &mut scratch);
                dot(s, y) / dot(y, &py).max(f64::MIN_POSITIVE)
            }
            _ => 1.0,
        };
        pre.apply(&mut dir, &mut scratch);
        for q in dir.iter_mut() {
            *q *= gamma;
        }
        for k in 0..s_hist.len() {
            let beta = rho[k] * dot(&y_hist[k], &dir);
            for (q, s) in dir.iter_mut().zip(&s_hist[k]) {
                *q += (alpha[k] - beta) * s;
            }
        }
        let mut slope = dot(&grad, &dir);
        if slope >= 0.0 {
            // Not a descent direction (lost curvature): restart from the scaled gradient.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            for (q, g) in dir.iter_mut().zip(&grad) {
                *q = -g;
            }
            pre.apply(&mut dir, &mut scratch);
            slope = dot(&grad, &dir);
        }
        // Backtracking (Armijo) from the full step, interpolating the next trial step.
        let mut step = 1.0f64;
        let mut accepted = false;
        for _ in 0..40 {
            for ((t, x), q) in trial.iter_mut().zip(&theta).zip(&dir) {
                *t = x + step * q;
            }
            let ft = prob.loss_gradient(&trial, &mut trial_grad);
            passes += 1;
            if ft.is_finite() && ft <= f + 1e-4 * step * slope {
                accepted = true;
                f = ft;
                break;
            }
            let interp = if ft.is_finite() {
                -slope * step * step / (2.0 * (ft - f - slope * step))
            } else {
                0.1 * step
            };
            step = interp.clamp(0.1 * step, 0.5 * step);
        }
        if !accepted {
            break;
        }
        iterations += 1;
        let s: Vec<f64> = trial.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = trial_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        std::mem::swap(&mut theta, &mut trial);
        std::mem::swap(&mut grad, &mut trial_grad);
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&y, &y).max(f64::MIN_POSITIVE) {
            if s_hist.len() == memory {
                s_hist.remove(0);
                y_hist.remove(0);
                rho.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
            rho.push(1.0 / sy);
        }
    }
    on_iteration(iterations);
    // Back to the original columns: b = b' − μ · w.
    let mut weights = vec![0f32; dim as usize];
    for (j, &col) in prob.columns.iter().enumerate() {
        weights[col as usize] = theta[j] as f32;
    }
    let bias = theta[d] - dot(&theta[..d], &prob.mean);
    LogisticModel {
        weights,
        bias: bias as f32,
        iterations,
        passes,
        gradient: max_abs(&grad) / scale,
    }
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

    /// A random sparse problem: `n` rows over `dim` columns, a dense-ish column every row
    /// carries (as country does), labels from a noisy linear rule.
    fn random_problem(n: u32, dim: u32, seed: u64) -> (Features, Vec<(PersonId, bool)>) {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let mut f = Features {
            dim,
            indptr: vec![0],
            ..Default::default()
        };
        let truth: Vec<f64> = (0..dim).map(|_| rng.unit() * 4.0 - 2.0).collect();
        let mut ex = Vec::new();
        for p in 0..n {
            let mut cols: Vec<u32> = (0..6)
                .map(|_| 1 + rng.below(u64::from(dim) - 1) as u32)
                .collect();
            cols.push(0);
            cols.sort_unstable();
            cols.dedup();
            let vals: Vec<f32> = cols.iter().map(|_| (0.2 + rng.unit()) as f32).collect();
            let z: f64 = cols
                .iter()
                .zip(&vals)
                .map(|(&c, &v)| truth[c as usize] * f64::from(v))
                .sum::<f64>()
                - 1.0;
            let y = rng.unit() < 1.0 / (1.0 + (-2.0 * z).exp());
            f.indices.extend(&cols);
            f.values.extend(&vals);
            f.indptr.push(f.indices.len());
            ex.push((p, y));
        }
        (f, ex)
    }

    /// The exact optimum of the same objective by Newton's method with a dense Hessian
    /// (Cholesky), intercept last: the reference a converged solver must reach.
    fn newton_reference(f: &Features, ex: &[(PersonId, bool)], c: f64) -> Vec<f64> {
        let d = f.dim as usize;
        let pos = ex.iter().filter(|e| e.1).count() as f64;
        let n = ex.len() as f64;
        let (wp, wn) = (n / (2.0 * pos), n / (2.0 * (n - pos)));
        let mut th = vec![0f64; d + 1];
        for _ in 0..50 {
            let mut g = vec![0f64; d + 1];
            let mut h = vec![vec![0f64; d + 1]; d + 1];
            for (j, x) in g.iter_mut().zip(&th).take(d) {
                *j = *x;
            }
            for (k, row) in h.iter_mut().enumerate().take(d) {
                row[k] = 1.0;
            }
            for &(p, y) in ex {
                let (idx, val) = f.row(p);
                let mut x: Vec<(usize, f64)> = idx
                    .iter()
                    .zip(val)
                    .map(|(&i, &v)| (i as usize, f64::from(v)))
                    .collect();
                x.push((d, 1.0));
                let z: f64 = x.iter().map(|&(i, v)| th[i] * v).sum();
                let pr = 1.0 / (1.0 + (-z).exp());
                let s = c * if y { wp } else { wn };
                let r = s * (pr - if y { 1.0 } else { 0.0 });
                let dd = s * pr * (1.0 - pr);
                for &(i, v) in &x {
                    g[i] += r * v;
                    for &(k, u) in &x {
                        h[i][k] += dd * v * u;
                    }
                }
            }
            // Cholesky solve h · step = g.
            let m = d + 1;
            let mut l = vec![vec![0f64; m]; m];
            for i in 0..m {
                for k in 0..=i {
                    let sum: f64 = (0..k).map(|t| l[i][t] * l[k][t]).sum();
                    l[i][k] = if i == k {
                        (h[i][i] - sum).sqrt()
                    } else {
                        (h[i][k] - sum) / l[k][k]
                    };
                }
            }
            let mut u = vec![0f64; m];
            for i in 0..m {
                u[i] = (g[i] - (0..i).map(|t| l[i][t] * u[t]).sum::<f64>()) / l[i][i];
            }
            let mut step = vec![0f64; m];
            for i in (0..m).rev() {
                step[i] = (u[i] - (i + 1..m).map(|t| l[t][i] * step[t]).sum::<f64>()) / l[i][i];
            }
            for (t, s) in th.iter_mut().zip(&step) {
                *t -= s;
            }
            if max_abs(&step) < 1e-12 {
                break;
            }
        }
        th
    }

    #[test]
    fn reaches_the_exact_optimum_of_the_objective() {
        let (f, ex) = random_problem(3000, 24, 9);
        // Automatic block (here all columns), a partial block, the diagonal alone.
        for (c, block) in [(1.0f32, None), (0.1, None), (1.0, Some(8)), (1.0, Some(0))] {
            let m = train(
                &f,
                &ex,
                &LogisticConfig {
                    c,
                    block_columns: block,
                    ..LogisticConfig::default()
                },
            );
            let reference = newton_reference(&f, &ex, f64::from(c));
            let d = f.dim as usize;
            let ours = |j: usize| f64::from(if j < d { m.weights[j] } else { m.bias });
            let diff = (0..=d)
                .map(|j| (ours(j) - reference[j]).abs())
                .fold(0f64, f64::max);
            eprintln!(
                "C {c}, block {block:?}: {} iterations, {} passes, gradient {:.1e}, largest difference {diff:.1e}",
                m.iterations, m.passes, m.gradient
            );
            assert!(m.gradient <= 1e-5, "C {c}: gradient {:.2e}", m.gradient);
            assert!(
                diff < 2e-3,
                "C {c}, block {block:?}: a weight differs from Newton's by {diff:.2e}"
            );
        }
    }

    #[test]
    fn result_does_not_depend_on_the_thread_count() {
        let (f, ex) = random_problem(20_000, 64, 3);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| train(&f, &ex, &LogisticConfig::default()))
        };
        let (a, b) = (run(1), run(3));
        assert_eq!(a.weights, b.weights);
        assert_eq!(a.bias, b.bias);
        assert_eq!(a.passes, b.passes);
    }

    #[test]
    fn sigmoid_is_stable() {
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
    }
}
