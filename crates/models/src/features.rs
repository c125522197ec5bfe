//! Person features: one hashed sparse vector per person, built from the profile alone.
//!
//! Feature groups (each hashed into `2^bits` columns with its own namespace):
//! * product categories (the category and every ancestor in the Google Product Taxonomy),
//!   brands and price tiers of the products a person viewed, carted or bought, weighted by
//!   event kind and by recency (half-life [`FeatureConfig::half_life_days`]);
//! * event kind × recency bucket (≤ 7, ≤ 30, ≤ 90, older days) counts;
//! * channel (web / app) mix;
//! * publisher page categories (IAB Content Taxonomy id and its ancestors);
//! * declared demographics (gender, age band, income band), a ~1° geo cell and the country.
//!
//! Raw sums are compressed with `ln(1 + x)` and every row is L2-normalised, so cosine
//! similarity is a dot product. The matrix is CSR, rows indexed by person id; merged-away and
//! empty people have empty rows. Extraction runs in parallel and is deterministic.

use audex_model::EventKind;
use audex_model::taxonomy::{ContentTaxonomy, ProductTaxonomy};
use audex_profile::{Entry, LINES_MARKER, PersonId, Profile, ProfileStore};
use rayon::prelude::*;

use crate::ReadProgress;
use crate::rng::{hash_bytes, hash_u64};

/// What to extract.
#[derive(Debug, Clone)]
pub struct FeatureConfig {
    /// Columns are `2^bits`.
    pub bits: u32,
    /// The day (days since 1970) recency is measured from.
    pub now_day: u32,
    /// Entries after this day are ignored (for as-of features in time-split evaluations).
    pub as_of_day: Option<u32>,
    /// Leave out checkouts, orders, refunds and spend (prospecting: buying must not explain
    /// itself).
    pub exclude_purchases: bool,
    /// Keep only what the publisher side also sees — page categories, ad exposure,
    /// demographics, geo — so people never active on the advertiser's site or app are
    /// comparable with those who were (prospecting's second view).
    pub publisher_view: bool,
    /// Recency half-life of interest weights, in days.
    pub half_life_days: f32,
}

impl FeatureConfig {
    /// Defaults: 2^18 columns, 60-day half-life, all history up to `now_day`.
    pub fn new(now_day: u32) -> Self {
        FeatureConfig {
            bits: 18,
            now_day,
            as_of_day: None,
            exclude_purchases: false,
            publisher_view: false,
            half_life_days: 60.0,
        }
    }
}

/// A CSR matrix of L2-normalised person feature rows.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// Number of columns.
    pub dim: u32,
    /// Row `p` spans `indptr[p]..indptr[p + 1]` of `indices` and `values`.
    pub indptr: Vec<usize>,
    /// Column of each stored value, ascending within a row.
    pub indices: Vec<u32>,
    /// Stored values.
    pub values: Vec<f32>,
}

impl Features {
    /// Number of rows (person ids).
    pub fn rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Columns and values of row `p` (empty for out-of-range rows).
    #[inline]
    pub fn row(&self, p: PersonId) -> (&[u32], &[f32]) {
        let p = p as usize;
        if p + 1 >= self.indptr.len() {
            return (&[], &[]);
        }
        let (a, b) = (self.indptr[p], self.indptr[p + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// Whether row `p` has any feature.
    pub fn has_row(&self, p: PersonId) -> bool {
        !self.row(p).0.is_empty()
    }

    /// Dot product of row `p` with a dense vector.
    #[inline]
    pub fn dot(&self, p: PersonId, dense: &[f32]) -> f32 {
        let (idx, val) = self.row(p);
        idx.iter()
            .zip(val)
            .map(|(&i, &v)| dense.get(i as usize).copied().unwrap_or(0.0) * v)
            .sum()
    }

    /// Writes row `p` in svmlight form (`label col:val …`, 1-based columns) to `out`.
    pub fn write_svmlight_row(&self, p: PersonId, label: u8, out: &mut Vec<u8>) {
        use std::io::Write;
        let (idx, val) = self.row(p);
        let _ = write!(out, "{label}");
        for (i, v) in idx.iter().zip(val) {
            let _ = write!(out, " {}:{v}", i + 1);
        }
        out.push(b'\n');
    }

    /// Writes the rows of `rows` (person, label), in order, as a CSR matrix in four NumPy
    /// `.npy` files — `{prefix}_indptr.npy` (int64), `{prefix}_indices.npy` (int32, 0-based
    /// columns), `{prefix}_values.npy` (float32, the exact stored values) and
    /// `{prefix}_labels.npy` (uint8) — so a comparison reads the very same numbers without
    /// parsing text (8 bytes per stored value instead of ~17 in svmlight).
    pub fn write_npy(
        &self,
        rows: &[(PersonId, u8)],
        dir: &std::path::Path,
        prefix: &str,
    ) -> std::io::Result<()> {
        use std::io::{BufWriter, Write};
        let nnz: usize = rows.iter().map(|&(p, _)| self.row(p).0.len()).sum();
        let create =
            |name: &str, descr: &str, len: usize| -> std::io::Result<BufWriter<std::fs::File>> {
                let mut w = BufWriter::with_capacity(
                    1 << 20,
                    std::fs::File::create(dir.join(format!("{prefix}_{name}.npy")))?,
                );
                w.write_all(&npy_header(descr, &[len]))?;
                Ok(w)
            };
        let mut indices = create("indices", "<i4", nnz)?;
        let mut values = create("values", "<f4", nnz)?;
        let mut indptr = Vec::with_capacity((rows.len() + 1) * 8);
        let mut labels = Vec::with_capacity(rows.len());
        let mut at = 0i64;
        indptr.extend_from_slice(&at.to_le_bytes());
        for &(p, y) in rows {
            let (idx, val) = self.row(p);
            for (&i, &v) in idx.iter().zip(val) {
                indices.write_all(&(i as i32).to_le_bytes())?;
                values.write_all(&v.to_le_bytes())?;
            }
            at += idx.len() as i64;
            indptr.extend_from_slice(&at.to_le_bytes());
            labels.push(y);
        }
        indices.flush()?;
        values.flush()?;
        let mut w = create("indptr", "<i8", rows.len() + 1)?;
        w.write_all(&indptr)?;
        w.flush()?;
        let mut w = create("labels", "|u1", rows.len())?;
        w.write_all(&labels)?;
        w.flush()
    }
}

/// A NumPy format 1.0 header for a C-order array of `shape` items of type `descr`, padded so
/// the data starts on a 64-byte boundary.
fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims: String = match shape {
        [n] => format!("{n},"),
        _ => shape
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let header_len = (dict.len() + pad + 1) as u16;
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&header_len.to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.extend(std::iter::repeat_n(b' ', pad));
    h.push(b'\n');
    h
}

/// Writes a C-order `rows × cols` matrix to a NumPy `.npy` file: `f4` (float32) values or `u1`
/// (uint8) ones, for an outside comparison to read without parsing text.
pub fn write_npy_matrix<T: NpyScalar>(
    path: &std::path::Path,
    rows: usize,
    cols: usize,
    data: &[T],
) -> std::io::Result<()> {
    use std::io::{BufWriter, Write};
    if data.len() != rows * cols {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} values for a {rows} × {cols} matrix", data.len()),
        ));
    }
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    w.write_all(&npy_header(T::DESCR, &[rows, cols]))?;
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in data.chunks(1 << 14) {
        buf.clear();
        for v in chunk {
            v.push_le(&mut buf);
        }
        w.write_all(&buf)?;
    }
    w.flush()
}

/// A scalar [`write_npy_matrix`] can store.
pub trait NpyScalar: Copy {
    /// NumPy type string.
    const DESCR: &'static str;
    /// Appends the value's little-endian bytes.
    fn push_le(self, out: &mut Vec<u8>);
}

impl NpyScalar for f32 {
    const DESCR: &'static str = "<f4";
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl NpyScalar for u8 {
    const DESCR: &'static str = "|u1";
    fn push_le(self, out: &mut Vec<u8>) {
        out.push(self);
    }
}

// Feature namespaces.
const NS_CATEGORY: u64 = 1;
const NS_BRAND: u64 = 2;
const NS_TIER: u64 = 3;
const NS_KIND_RECENCY: u64 = 4;
const NS_CHANNEL: u64 = 5;
const NS_PAGE: u64 = 6;
const NS_GENDER: u64 = 7;
const NS_AGE: u64 = 8;
const NS_INCOME: u64 = 9;
const NS_GEO: u64 = 10;
const NS_COUNTRY: u64 = 11;
const NS_ACTIVITY: u64 = 12;
const NS_CAMPAIGN: u64 = 13;

/// How much an event kind says about interest in the product it carries.
fn kind_weight(kind: EventKind) -> f32 {
    match kind {
        EventKind::ProductViewed | EventKind::ProductListViewed | EventKind::ProductsSearched => {
            1.0
        }
        EventKind::ProductAdded | EventKind::CartViewed => 2.0,
        EventKind::CheckoutStarted => 2.5,
        EventKind::OrderCompleted => 3.0,
        EventKind::ProductRemoved => 0.5,
        EventKind::OrderRefunded => -1.0,
        EventKind::PublisherPageViewed => 1.0,
        EventKind::AdClicked => 1.0,
        EventKind::AdImpression => 0.2,
        _ => 0.0,
    }
}

fn is_purchase(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::CheckoutStarted | EventKind::OrderCompleted | EventKind::OrderRefunded
    )
}

fn recency_bucket(age_days: u32) -> u64 {
    match age_days {
        0..=7 => 0,
        8..=30 => 1,
        31..=90 => 2,
        _ => 3,
    }
}

/// Hashed columns contributed by one property set (computed once per set).
fn propset_columns(
    store: &ProfileStore,
    id: u32,
    taxonomy: Option<&ProductTaxonomy>,
    mask: u64,
) -> Vec<u32> {
    let set = store.propsets.get(id);
    let mut cols = Vec::new();
    let col = |h: u64| (h & mask) as u32;
    if let Some(c) = set.category {
        match taxonomy {
            Some(t) if t.contains(c) => {
                for a in t.ancestors(c) {
                    cols.push(col(hash_u64(NS_CATEGORY, u64::from(a))));
                }
            }
            _ => cols.push(col(hash_u64(NS_CATEGORY, u64::from(c)))),
        }
    }
    if let Some(b) = set.brand {
        let name = store.propsets.values.name(b).unwrap_or_default();
        cols.push(col(hash_bytes(
            NS_BRAND,
            name.to_ascii_lowercase().as_bytes(),
        )));
    }
    if let Some(t) = set.tier {
        cols.push(col(hash_bytes(NS_TIER, t.as_str().as_bytes())));
    }
    if let Some(pc) = set.page_category {
        let name = store.propsets.values.name(pc).unwrap_or_default();
        let content = ContentTaxonomy::iab_3_1();
        let mut any = false;
        for a in content.ancestors(name) {
            any = true;
            cols.push(col(hash_bytes(NS_PAGE, a.as_bytes())));
        }
        if !any {
            cols.push(col(hash_bytes(NS_PAGE, name.as_bytes())));
        }
    }
    if let Some(c) = set.campaign {
        cols.push(col(hash_u64(NS_CAMPAIGN, u64::from(c))));
    }
    cols
}

/// Builds the feature matrix of every person in `store`.
pub fn extract(
    store: &ProfileStore,
    taxonomy: Option<&ProductTaxonomy>,
    config: &FeatureConfig,
) -> Features {
    let mut reader = FeatureReader::new(config.clone());
    reader.read(store, taxonomy, usize::MAX);
    reader.finish()
}

/// Builds a feature matrix a slice of people at a time, so a caller can hold the profiles'
/// lock for one slice only and let ingest in between. Each row is the person's profile when
/// its slice was read; property sets added in between are caught up on at the next slice.
#[derive(Debug)]
pub struct FeatureReader {
    config: FeatureConfig,
    mask: u64,
    /// Hashed columns per property set id, for the sets seen so far.
    sets: Vec<Vec<u32>>,
    /// The slices read: row lengths, columns, values. Joined by [`FeatureReader::finish`],
    /// outside the lock: growing one matrix would copy all of it under the lock now and then.
    slices: Vec<(Vec<u32>, Vec<u32>, Vec<f32>)>,
    rows: usize,
}

impl FeatureReader {
    /// An empty matrix with `config`'s columns.
    pub fn new(config: FeatureConfig) -> Self {
        let bits = config.bits.clamp(8, 30);
        FeatureReader {
            config,
            mask: (1u64 << bits) - 1,
            sets: Vec::new(),
            slices: Vec::new(),
            rows: 0,
        }
    }

    /// People read so far (the next slice starts here).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Catches up on up to `at_most` of the property sets `store` added since the last call;
    /// once none is left behind, reads its next people, up to `at_most` of them.
    pub fn read(
        &mut self,
        store: &ProfileStore,
        taxonomy: Option<&ProductTaxonomy>,
        at_most: usize,
    ) -> ReadProgress {
        let known = self.sets.len();
        let upto = store.propsets.len().min(known.saturating_add(at_most));
        let mask = self.mask;
        let added: Vec<Vec<u32>> = (known as u32..upto as u32)
            .into_par_iter()
            .map(|id| {
                if id == 0 || id == LINES_MARKER {
                    Vec::new()
                } else {
                    propset_columns(store, id, taxonomy, mask)
                }
            })
            .collect();
        self.sets.extend(added);
        let sets = upto - known;
        let start = self.rows();
        let end = store.profiles.len().min(start.saturating_add(at_most));
        let slice = match store.profiles.get(start..end) {
            Some(slice) if upto == store.propsets.len() => slice,
            _ => return ReadProgress { sets, people: 0 },
        };
        let rows: Vec<Vec<(u32, f32)>> = slice
            .par_iter()
            .with_min_len(256)
            .map(|p| person_row(p, &self.sets, &self.config, mask))
            .collect();
        let nnz: usize = rows.iter().map(Vec::len).sum();
        let mut part = (
            Vec::with_capacity(rows.len()),
            Vec::with_capacity(nnz),
            Vec::with_capacity(nnz),
        );
        for r in rows {
            part.0.push(r.len() as u32);
            for (i, v) in r {
                part.1.push(i);
                part.2.push(v);
            }
        }
        self.slices.push(part);
        self.rows = end;
        ReadProgress {
            sets,
            people: end - start,
        }
    }

    /// The matrix read.
    pub fn finish(self) -> Features {
        let nnz = self.slices.iter().map(|s| s.1.len()).sum();
        let mut f = Features {
            dim: 1 << self.config.bits.clamp(8, 30),
            indptr: Vec::with_capacity(self.rows + 1),
            indices: Vec::with_capacity(nnz),
            values: Vec::with_capacity(nnz),
        };
        f.indptr.push(0);
        for (lens, indices, values) in self.slices {
            for len in lens {
                let last = f.indptr[f.indptr.len() - 1];
                f.indptr.push(last + len as usize);
            }
            f.indices.extend_from_slice(&indices);
            f.values.extend_from_slice(&values);
        }
        f
    }
}

/// One person's row: sorted columns, L2-normalised values.
fn person_row(
    p: &Profile,
    sets: &[Vec<u32>],
    config: &FeatureConfig,
    mask: u64,
) -> Vec<(u32, f32)> {
    if p.events == 0 {
        return Vec::new();
    }
    let col = |h: u64| (h & mask) as u32;
    let mut acc: Vec<(u32, f32)> = Vec::with_capacity(p.entries.len() * 4 + 8);
    let ln2 = std::f32::consts::LN_2;
    let mut any = false;
    let (mut web, mut app) = (0f32, 0f32);
    for &packed in &p.entries {
        let e = Entry::unpack(packed);
        if config.as_of_day.is_some_and(|d| e.day > d) {
            continue;
        }
        let kind = e.kind();
        if config.exclude_purchases && is_purchase(kind) {
            continue;
        }
        if config.publisher_view && audex_rules::ACTIVITY_KINDS.contains(&kind) {
            continue;
        }
        any = true;
        let age = config.now_day.saturating_sub(e.day);
        let count = e.count as f32;
        if !e.line {
            acc.push((
                col(hash_u64(
                    NS_KIND_RECENCY,
                    (kind as u64) << 8 | recency_bucket(age),
                )),
                count,
            ));
            if e.channel == audex_model::Channel::App {
                app += count;
            } else {
                web += count;
            }
        }
        let kw = kind_weight(kind);
        if kw == 0.0 {
            continue;
        }
        if let Some(cols) = sets.get(e.propset as usize) {
            let w = kw * count * (-(age as f32) * ln2 / config.half_life_days).exp();
            for &c in cols {
                acc.push((c, w));
            }
        }
    }
    if !any {
        return Vec::new();
    }
    let total = web + app;
    if total > 0.0 && !config.publisher_view {
        acc.push((col(hash_u64(NS_CHANNEL, 0)), 3.0 * web / total));
        acc.push((col(hash_u64(NS_CHANNEL, 1)), 3.0 * app / total));
    }
    let d = &p.demo;
    if d.gender != 0 {
        acc.push((col(hash_u64(NS_GENDER, u64::from(d.gender))), 1.0));
    }
    if d.income != 0 {
        acc.push((col(hash_u64(NS_INCOME, u64::from(d.income))), 1.0));
    }
    if let Some(age) = d.age_on(config.now_day) {
        acc.push((col(hash_u64(NS_AGE, u64::from(age / 10))), 1.0));
    }
    if let Some(l) = p.location {
        let cell = ((l.lat.floor() as i64 + 90) << 16) | (l.lon.floor() as i64 + 180);
        acc.push((col(hash_u64(NS_GEO, cell as u64)), 1.0));
    }
    if let Some((c, _)) = p.country {
        acc.push((col(hash_bytes(NS_COUNTRY, &c)), 1.0));
    }
    if !config.exclude_purchases && config.as_of_day.is_none() && p.orders > 0 {
        acc.push((col(hash_u64(NS_ACTIVITY, 1)), (p.orders as f32).ln_1p()));
    }
    finish_row(acc)
}

/// Sorts, sums duplicates, compresses with `ln(1 + |x|)` (sign kept) and L2-normalises.
fn finish_row(mut acc: Vec<(u32, f32)>) -> Vec<(u32, f32)> {
    acc.sort_unstable_by_key(|a| a.0);
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(acc.len());
    for (i, v) in acc {
        match out.last_mut() {
            Some(last) if last.0 == i => last.1 += v,
            _ => out.push((i, v)),
        }
    }
    for o in &mut out {
        o.1 = o.1.signum() * o.1.abs().ln_1p();
    }
    out.retain(|o| o.1 != 0.0 && o.1.is_finite());
    let norm = out.iter().map(|o| o.1 * o.1).sum::<f32>().sqrt();
    if norm > 0.0 {
        for o in &mut out {
            o.1 /= norm;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_sorted_merged_and_unit_length() {
        let r = finish_row(vec![(5, 1.0), (2, 2.0), (5, 1.0), (9, 0.0)]);
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![2, 5]);
        let n: f32 = r.iter().map(|x| x.1 * x.1).sum();
        assert!((n - 1.0).abs() < 1e-5);
        assert!(finish_row(Vec::new()).is_empty());
    }

    #[test]
    fn recency_buckets() {
        assert_eq!(recency_bucket(0), 0);
        assert_eq!(recency_bucket(30), 1);
        assert_eq!(recency_bucket(31), 2);
        assert_eq!(recency_bucket(400), 3);
    }

    #[test]
    fn csr_rows_and_svmlight() {
        let f = Features {
            dim: 16,
            indptr: vec![0, 0, 2],
            indices: vec![1, 3],
            values: vec![0.6, 0.8],
        };
        assert_eq!(f.rows(), 2);
        assert!(!f.has_row(0));
        assert!(f.has_row(1));
        assert!(!f.has_row(7));
        let mut dense = vec![0.0; 16];
        dense[3] = 1.0;
        assert!((f.dot(1, &dense) - 0.8).abs() < 1e-6);
        let mut out = Vec::new();
        f.write_svmlight_row(1, 1, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "1 2:0.6 4:0.8\n");
    }

    #[test]
    fn npy_matrix_has_a_two_dimensional_header() {
        let path = std::env::temp_dir().join(format!("audex-npy2-{}.npy", std::process::id()));
        write_npy_matrix(&path, 2, 3, &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.5]).expect("writes");
        let file = std::fs::read(&path).expect("file");
        std::fs::remove_file(&path).ok();
        let header = 10 + usize::from(u16::from_le_bytes([file[8], file[9]]));
        assert_eq!(header % 64, 0);
        let dict = String::from_utf8_lossy(&file[10..header]);
        assert!(
            dict.contains("'descr': '<f4'") && dict.contains("'shape': (2, 3)"),
            "{dict}"
        );
        assert_eq!(file.len() - header, 6 * 4);
        assert_eq!(&file[file.len() - 4..], &6.5f32.to_le_bytes());
        assert!(write_npy_matrix(&path, 2, 2, &[1u8, 2, 3]).is_err());
    }

    #[test]
    fn npy_export_is_a_csr_matrix() {
        let f = Features {
            dim: 16,
            indptr: vec![0, 0, 2, 3],
            indices: vec![1, 3, 5],
            values: vec![0.6, 0.8, 1.0],
        };
        let dir = std::env::temp_dir().join(format!("audex-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        f.write_npy(&[(2, 0), (1, 1)], &dir, "t").expect("writes");
        let read = |name: &str| std::fs::read(dir.join(format!("t_{name}.npy"))).expect("file");
        let (indptr, indices, values, labels) = (
            read("indptr"),
            read("indices"),
            read("values"),
            read("labels"),
        );
        std::fs::remove_dir_all(&dir).ok();
        for file in [&indptr, &indices, &values, &labels] {
            assert_eq!(&file[..6], b"\x93NUMPY");
            let header = 10 + usize::from(u16::from_le_bytes([file[8], file[9]]));
            assert_eq!(header % 64, 0);
            assert_eq!(file[header - 1], b'\n');
        }
        let body =
            |file: &[u8]| file[10 + usize::from(u16::from_le_bytes([file[8], file[9]]))..].to_vec();
        let ints = |b: Vec<u8>, w: usize| -> Vec<i64> {
            b.chunks(w)
                .map(|c| {
                    if w == 8 {
                        i64::from_le_bytes(c.try_into().expect("8"))
                    } else {
                        i64::from(i32::from_le_bytes(c.try_into().expect("4")))
                    }
                })
                .collect()
        };
        assert_eq!(ints(body(&indptr), 8), vec![0, 1, 3]);
        assert_eq!(ints(body(&indices), 4), vec![5, 1, 3]);
        let vals: Vec<f32> = body(&values)
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
            .collect();
        assert_eq!(vals, vec![1.0, 0.6, 0.8]);
        assert_eq!(body(&labels), vec![0, 1]);
        assert!(String::from_utf8_lossy(&indptr).contains("'shape': (3,)"));
    }
}
