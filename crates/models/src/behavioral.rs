//! Behavioral inference: lifestyle and life-stage tags from what people browse, buy and read.
//!
//! Evidence is counted in active days (a session views several products of one department, so
//! days, not events, are the near-independent draws): days with product views, cart adds or
//! orders, and how many of them touched the tag's Google Product Taxonomy subtrees; days with
//! publisher page reads, and how many touched the tag's IAB Content Taxonomy subtrees; for
//! `luxury_buyer` also days with a high-price-tier product; and declared gender, income band and
//! age band. Per tag, a two-component mixture (binomials for the day counts, categoricals for the
//! declared values) is fitted by EM on everyone — unsupervised, no truth is read — and a
//! person's score is the posterior probability of the tag's component. A person carries the tag
//! when the score reaches the tag's threshold. Thresholds were calibrated on a simulated shop
//! (seed 7, 20,000 people; not the seed the tests and MODELS.md use) as the lowest posterior with
//! precision ≥ 0.8, rounded up. Every tag maps to IAB Audience Taxonomy 1.1 ids for OpenRTB
//! `user.data` (segtax 4).

use audex_model::EventKind;
use audex_model::catalog::PriceTier;
use audex_model::taxonomy::{AudienceTaxonomy, ContentTaxonomy, ProductTaxonomy};
use audex_profile::{Entry, LINES_MARKER, PersonId, Profile, ProfileStore};
use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::Serialize;

use crate::metrics;
use crate::truth::TruthPerson;

/// The Criteo-style category a behavioral tag belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TagGroup {
    /// Lasting interests and habits.
    Lifestyles,
    /// Recent life events (a birth, a move, starting studies).
    LifeEvents,
}

/// One inferable tag.
#[derive(Debug, Clone, Serialize)]
pub struct TagSpec {
    /// Tag name (the `tag` predicate's name).
    pub name: &'static str,
    /// Group.
    pub group: TagGroup,
    /// IAB Audience Taxonomy 1.1 ids, the closest first.
    pub iab_audience: &'static [&'static str],
    /// Google Product Taxonomy path prefixes whose products signal the tag.
    pub products: &'static [&'static str],
    /// IAB Content Taxonomy path prefixes (`Tier 1>Tier 2`) whose pages signal the tag.
    pub pages: &'static [&'static str],
    /// Score at or above which a person carries the tag.
    pub threshold: f32,
}

/// Every tag Audex infers, in a fixed order (tag index = position).
pub const TAGS: [TagSpec; 11] = [
    TagSpec {
        name: "foodie",
        group: TagGroup::Lifestyles,
        iab_audience: &["368"],
        products: &["Food, Beverages & Tobacco"],
        pages: &["Food & Drink"],
        threshold: 0.15,
    },
    TagSpec {
        name: "pet_owner",
        group: TagGroup::Lifestyles,
        iab_audience: &["541"],
        products: &["Animals & Pet Supplies"],
        pages: &["Pets"],
        threshold: 0.10,
    },
    TagSpec {
        name: "luxury_buyer",
        group: TagGroup::Lifestyles,
        iab_audience: &["680", "933"],
        products: &[
            "Apparel & Accessories > Jewelry",
            "Apparel & Accessories > Handbags, Wallets & Cases",
        ],
        pages: &[
            "Style & Fashion>High Fashion",
            "Style & Fashion>Designer Clothing",
            "Automotive>Auto Type>Luxury Cars",
            "Travel>Travel Type>Spas",
            "Travel>Travel Type>Cruises",
        ],
        threshold: 0.50,
    },
    TagSpec {
        name: "sports",
        group: TagGroup::Lifestyles,
        iab_audience: &["607"],
        products: &["Sporting Goods"],
        pages: &["Sports", "Healthy Living>Fitness and Exercise"],
        threshold: 0.12,
    },
    TagSpec {
        name: "tech",
        group: TagGroup::Lifestyles,
        iab_audience: &["687", "703"],
        products: &["Electronics", "Cameras & Optics"],
        pages: &["Technology & Computing", "Video Gaming"],
        threshold: 0.12,
    },
    TagSpec {
        name: "beauty",
        group: TagGroup::Lifestyles,
        iab_audience: &["677"],
        products: &["Health & Beauty > Personal Care"],
        pages: &["Style & Fashion>Beauty", "Style & Fashion>Personal Care"],
        threshold: 0.30,
    },
    TagSpec {
        name: "home",
        group: TagGroup::Lifestyles,
        iab_audience: &["457"],
        products: &[
            "Home & Garden > Decor",
            "Home & Garden > Linens & Bedding",
            "Home & Garden > Lawn & Garden",
            "Home & Garden > Lighting",
            "Home & Garden > Household Supplies",
        ],
        pages: &[
            "Home & Garden>Gardening",
            "Home & Garden>Home Entertaining",
            "Home & Garden>Indoor Environmental Quality",
            "Home & Garden>Landscaping",
            "Home & Garden>Outdoor Decorating",
            "Home & Garden>Remodeling & Construction",
            "Home & Garden>Smart Home",
            "Home & Garden>Home Appliances",
            "Home & Garden>Home Security",
        ],
        threshold: 0.45,
    },
    TagSpec {
        name: "fashion",
        group: TagGroup::Lifestyles,
        iab_audience: &["676"],
        products: &[
            "Apparel & Accessories > Clothing",
            "Apparel & Accessories > Shoes",
            "Apparel & Accessories > Clothing Accessories",
        ],
        pages: &[
            "Style & Fashion>Women's Fashion",
            "Style & Fashion>Men's Fashion",
            "Style & Fashion>Fashion Trends",
            "Style & Fashion>Street Style",
            "Pop Culture>Celebrity Style",
        ],
        threshold: 0.35,
    },
    TagSpec {
        name: "new_parent",
        group: TagGroup::LifeEvents,
        iab_audience: &["354", "98"],
        products: &["Baby & Toddler"],
        pages: &[
            "Family and Relationships>Parenting>Parenting Babies and Toddlers",
            "Personal Celebrations & Life Events>Baby Shower",
            "Personal Celebrations & Life Events>Birth",
            "Education>Early Childhood Education",
        ],
        threshold: 0.50,
    },
    TagSpec {
        name: "recently_moved",
        group: TagGroup::LifeEvents,
        iab_audience: &["591", "1407"],
        products: &["Furniture"],
        // Interior decorating and home improvement pages are read by home lovers as much as
        // by movers: neither tag counts them.
        pages: &["Real Estate"],
        threshold: 0.95,
    },
    TagSpec {
        name: "student",
        group: TagGroup::LifeEvents,
        iab_audience: &["41", "36"],
        products: &["Office Supplies", "Media > Books"],
        pages: &[
            "Education>College Education",
            "Education>Homework and Study",
            "Careers",
            "Personal Finance>Frugal Living",
        ],
        threshold: 0.45,
    },
];

/// Number of tags.
pub const TAG_COUNT: usize = TAGS.len();

/// The index of a tag by name.
pub fn tag_index(name: &str) -> Option<usize> {
    TAGS.iter().position(|t| t.name == name)
}

/// The IAB Audience Taxonomy 1.1 ids of an inferred tag, the closest first (for OpenRTB
/// `user.data[].segment[]` with segtax 4); empty for a name Audex does not infer.
pub fn iab_ids(tag: &str) -> &'static [&'static str] {
    TAGS.iter()
        .find(|t| t.name == tag)
        .map_or(&[], |t| t.iab_audience)
}

/// The IAB Audience Taxonomy 1.1 names of a tag's ids (for reports and checks).
pub fn iab_names(tag: &TagSpec) -> Vec<(String, String)> {
    let t = AudienceTaxonomy::v1_1();
    tag.iab_audience
        .iter()
        .map(|id| (id.to_string(), t.name(id).unwrap_or("?").to_string()))
        .collect()
}

/// Tag masks per property set: product-category and page-category bits.
struct SetMasks {
    product: Vec<u16>,
    page: Vec<u16>,
    high_tier: Vec<bool>,
}

fn path_matches(path: &str, prefixes: &[&str], sep: &str) -> bool {
    prefixes.iter().any(|p| {
        path == *p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with(sep.trim()) || rest.starts_with(sep))
    })
}

fn content_path(id: &str) -> Option<String> {
    let t = ContentTaxonomy::iab_3_1();
    let mut names: Vec<&str> = t.ancestors(id).filter_map(|a| t.name(a)).collect();
    if names.is_empty() {
        return None;
    }
    names.reverse();
    Some(names.join(">"))
}

fn set_masks(store: &ProfileStore, taxonomy: Option<&ProductTaxonomy>) -> SetMasks {
    let n = store.propsets.len();
    let mut m = SetMasks {
        product: vec![0; n],
        page: vec![0; n],
        high_tier: vec![false; n],
    };
    for id in 2..n as u32 {
        let set = store.propsets.get(id);
        if let (Some(c), Some(t)) = (set.category, taxonomy)
            && let Some(cat) = t.get(c)
        {
            let path = &cat.path;
            for (i, tag) in TAGS.iter().enumerate() {
                if path_matches(path, tag.products, " > ") {
                    m.product[id as usize] |= 1 << i;
                }
            }
        }
        m.high_tier[id as usize] = set.tier == Some(PriceTier::High);
        if let Some(pc) = set.page_category
            && let Some(path) = store.propsets.values.name(pc).and_then(content_path)
        {
            for (i, tag) in TAGS.iter().enumerate() {
                if path_matches(&path, tag.pages, ">") {
                    m.page[id as usize] |= 1 << i;
                }
            }
        }
    }
    // `home` pages exclude the moving-related subtrees claimed by `recently_moved`.
    if let (Some(home), Some(moved)) = (tag_index("home"), tag_index("recently_moved")) {
        for p in &mut m.page {
            if *p & (1 << moved) != 0 {
                *p &= !(1 << home);
            }
        }
    }
    m
}

fn product_weight(kind: EventKind) -> f32 {
    match kind {
        EventKind::ProductViewed | EventKind::ProductAdded | EventKind::OrderCompleted => 1.0,
        _ => 0.0,
    }
}

/// Evidence of one person: product observations and page reads in all and per tag.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    products: f32,
    pages: f32,
    high_tier: f32,
    tag_products: [f32; TAG_COUNT],
    tag_pages: [f32; TAG_COUNT],
    /// Declared gender, income band and age band (0 = unknown; 1..=4).
    demo: [u8; 3],
}

fn age_band(age: u32) -> u8 {
    match age {
        0..=26 => 1,
        27..=34 => 2,
        35..=49 => 3,
        _ => 4,
    }
}

/// Evidence is counted in active days, not events: a session views several products of one
/// department, so events are not independent draws but days nearly are.
fn person_counts(p: &Profile, masks: &SetMasks, today: u32) -> Counts {
    let mut c = Counts {
        demo: [
            p.demo.gender.min(4),
            p.demo.income.min(4),
            p.demo.age_on(today).map_or(0, age_band),
        ],
        ..Counts::default()
    };
    // Per day: any product, tag bits of products, any high tier, any page, tag bits of pages.
    let mut day = u32::MAX;
    let (mut prod, mut prod_mask, mut high, mut page, mut page_mask) =
        (false, 0u16, false, false, 0u16);
    let flush =
        |c: &mut Counts, prod: bool, prod_mask: u16, high: bool, page: bool, page_mask: u16| {
            if prod {
                c.products += 1.0;
                c.high_tier += f32::from(u8::from(high));
                for (i, t) in c.tag_products.iter_mut().enumerate() {
                    *t += f32::from(u8::from(prod_mask & (1 << i) != 0));
                }
            }
            if page {
                c.pages += 1.0;
                for (i, t) in c.tag_pages.iter_mut().enumerate() {
                    *t += f32::from(u8::from(page_mask & (1 << i) != 0));
                }
            }
        };
    for &packed in &p.entries {
        let e = Entry::unpack(packed);
        let id = e.propset as usize;
        if e.propset == 0 || e.propset == LINES_MARKER || id >= masks.product.len() {
            continue;
        }
        if e.day != day {
            flush(&mut c, prod, prod_mask, high, page, page_mask);
            (prod, prod_mask, high, page, page_mask) = (false, 0, false, false, 0);
            day = e.day;
        }
        let kind = e.kind();
        if kind == EventKind::PublisherPageViewed {
            page = true;
            page_mask |= masks.page[id];
        } else if product_weight(kind) > 0.0 {
            prod = true;
            prod_mask |= masks.product[id];
            high |= masks.high_tier[id];
        }
    }
    flush(&mut c, prod, prod_mask, high, page, page_mask);
    c
}

/// One binomial evidence channel of a tag's two-component mixture: the chance an observation
/// falls in the tag's subtrees for people with the tag (`p1`) and without (`p0`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Channel {
    /// Share for people with the tag.
    pub p1: f64,
    /// Share for people without it.
    pub p0: f64,
}

impl Channel {
    #[inline]
    fn llr(&self, k: f32, n: f32) -> f64 {
        let (k, n) = (f64::from(k), f64::from(n));
        k * (self.p1 / self.p0).ln() + (n - k) * ((1.0 - self.p1) / (1.0 - self.p0)).ln()
    }
}

/// A fitted tag model: prior share and the product, page and (luxury) high-tier channels.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TagModel {
    /// Share of people with the tag.
    pub prior: f64,
    /// Product observations.
    pub products: Channel,
    /// Publisher page reads.
    pub pages: Channel,
    /// High-price-tier product observations (luxury only).
    pub high_tier: Option<Channel>,
    /// Declared gender, income band and age band: share of each value (index 1..=4) among
    /// people with and without the tag who declared one.
    pub demo: [Categorical; 3],
}

/// A categorical evidence channel: the distribution of a declared value with and without the
/// tag.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Categorical {
    /// With the tag, by value.
    pub p1: [f64; 5],
    /// Without the tag, by value.
    pub p0: [f64; 5],
}

impl Default for Categorical {
    fn default() -> Self {
        Categorical {
            p1: [0.25; 5],
            p0: [0.25; 5],
        }
    }
}

const EM_ITERATIONS: usize = 40;

fn observations(c: &Counts, i: usize) -> [(f32, f32); 3] {
    [
        (c.tag_products[i], c.products),
        (c.tag_pages[i], c.pages),
        (c.high_tier, c.products),
    ]
}

fn posterior(m: &TagModel, c: &Counts, i: usize) -> f64 {
    let o = observations(c, i);
    let mut z = (m.prior / (1.0 - m.prior)).ln()
        + m.products.llr(o[0].0, o[0].1)
        + m.pages.llr(o[1].0, o[1].1);
    if let Some(h) = &m.high_tier {
        z += h.llr(o[2].0, o[2].1);
    }
    for (d, &v) in m.demo.iter().zip(&c.demo) {
        if v != 0 {
            z += (d.p1[v as usize] / d.p0[v as usize]).ln();
        }
    }
    1.0 / (1.0 + (-z).exp())
}

/// Fits one tag's mixture by EM on everyone's counts (unsupervised: no truth is read).
fn fit(counts: &[Counts], i: usize) -> TagModel {
    let share = |k: f64, n: f64| if n > 0.0 { k / n } else { 0.0 };
    let sums = counts.iter().fold([0f64; 6], |mut a, c| {
        let o = observations(c, i);
        for (j, (k, n)) in o.iter().enumerate() {
            a[2 * j] += f64::from(*k);
            a[2 * j + 1] += f64::from(*n);
        }
        a
    });
    let init = |k: f64, n: f64| {
        let q = share(k, n).clamp(1e-3, 0.5);
        Channel {
            p1: (3.0 * q).min(0.9),
            p0: q / 2.0,
        }
    };
    let mut m = TagModel {
        prior: 0.2,
        products: init(sums[0], sums[1]),
        pages: init(sums[2], sums[3]),
        high_tier: (TAGS[i].name == "luxury_buyer").then(|| init(sums[4], sums[5])),
        demo: [Categorical::default(); 3],
    };
    for _ in 0..EM_ITERATIONS {
        let acc = counts
            .par_iter()
            .with_min_len(4096)
            .filter(|c| c.products + c.pages > 0.0)
            .map(|c| {
                let g = posterior(&m, c, i);
                let o = observations(c, i);
                let mut a = [0f64; ACC];
                for (j, &v) in c.demo.iter().enumerate() {
                    if v != 0 {
                        a[14 + 10 * j + v as usize] += g;
                        a[14 + 10 * j + 5 + v as usize] += 1.0 - g;
                    }
                }
                a[0] = g;
                a[1] = 1.0;
                for (j, (k, n)) in o.iter().enumerate() {
                    let (k, n) = (f64::from(*k), f64::from(*n));
                    a[2 + 4 * j] += g * k;
                    a[3 + 4 * j] += g * n;
                    a[4 + 4 * j] += (1.0 - g) * k;
                    a[5 + 4 * j] += (1.0 - g) * n;
                }
                a
            })
            .reduce(
                || [0f64; ACC],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += y;
                    }
                    a
                },
            );
        if acc[1] == 0.0 {
            break;
        }
        m.prior = (acc[0] / acc[1]).clamp(1e-3, 0.9);
        let ch = |j: usize, old: Channel| {
            let p1 = share(acc[2 + 4 * j], acc[3 + 4 * j]);
            let p0 = share(acc[4 + 4 * j], acc[5 + 4 * j]);
            if acc[3 + 4 * j] <= 0.0 || acc[5 + 4 * j] <= 0.0 {
                return old;
            }
            let p0 = p0.clamp(1e-4, 0.98);
            // The tag's component is the one with the higher share.
            Channel {
                p1: p1.clamp(p0 + 1e-4, 0.99),
                p0,
            }
        };
        m.products = ch(0, m.products);
        m.pages = ch(1, m.pages);
        if let Some(h) = m.high_tier {
            m.high_tier = Some(ch(2, h));
        }
        for (j, d) in m.demo.iter_mut().enumerate() {
            // One pseudo-count per value keeps unseen values finite.
            let base = 14 + 10 * j;
            let n1: f64 = (1..5).map(|v| acc[base + v] + 1.0).sum();
            let n0: f64 = (1..5).map(|v| acc[base + 5 + v] + 1.0).sum();
            for v in 1..5 {
                d.p1[v] = (acc[base + v] + 1.0) / n1;
                d.p0[v] = (acc[base + 5 + v] + 1.0) / n0;
            }
        }
    }
    m
}

/// EM accumulator width: prior (2), three binomial channels (4 each), three categoricals
/// (5 values × 2 components each).
const ACC: usize = 14 + 30;

/// Fitted tag models and every person's tag probabilities.
#[derive(Debug, Clone)]
pub struct Inference {
    /// One model per tag, in [`TAGS`] order.
    pub models: Vec<TagModel>,
    /// Per person id, the posterior probability of each tag.
    pub scores: Vec<[f32; TAG_COUNT]>,
}

/// Fits every tag's model on the store and scores every person.
pub fn scores(
    store: &ProfileStore,
    taxonomy: Option<&ProductTaxonomy>,
    today: u32,
) -> Vec<[f32; TAG_COUNT]> {
    infer_models(store, taxonomy, today).scores
}

/// Like [`scores`], keeping the fitted models.
pub fn infer_models(
    store: &ProfileStore,
    taxonomy: Option<&ProductTaxonomy>,
    today: u32,
) -> Inference {
    let masks = set_masks(store, taxonomy);
    let counts: Vec<Counts> = store
        .profiles
        .par_iter()
        .with_min_len(256)
        .map(|p| person_counts(p, &masks, today))
        .collect();
    let models: Vec<TagModel> = (0..TAG_COUNT).map(|i| fit(&counts, i)).collect();
    let scores = counts
        .par_iter()
        .with_min_len(1024)
        .map(|c| {
            let mut out = [0f32; TAG_COUNT];
            if c.products + c.pages > 0.0 {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = posterior(&models[i], c, i) as f32;
                }
            }
            out
        })
        .collect();
    Inference { models, scores }
}

/// The people carrying each tag (in [`TAGS`] order), at each tag's threshold.
pub fn infer(scores: &[[f32; TAG_COUNT]]) -> Vec<RoaringBitmap> {
    (0..TAG_COUNT)
        .map(|i| {
            scores
                .iter()
                .enumerate()
                .filter(|(_, s)| s[i] >= TAGS[i].threshold)
                .map(|(p, _)| p as PersonId)
                .collect()
        })
        .collect()
}

/// Precision and recall of one tag against truth.
#[derive(Debug, Clone, Serialize)]
pub struct TagQuality {
    /// Tag name.
    pub tag: &'static str,
    /// People tagged (among those with truth).
    pub predicted: u64,
    /// People whose truth carries the tag.
    pub actual: u64,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// The lowest threshold with precision ≥ 0.8, and the recall there (calibration aid).
    pub best_threshold: Option<(f32, f64)>,
}

/// Measures every tag against truth (`truth` joined to person ids).
pub fn measure(scores: &[[f32; TAG_COUNT]], truth: &[(PersonId, TruthPerson)]) -> Vec<TagQuality> {
    TAGS.iter()
        .enumerate()
        .map(|(i, tag)| {
            let mut labelled: Vec<(f32, bool)> = truth
                .iter()
                .map(|(p, t)| {
                    let s = scores.get(*p as usize).map_or(0.0, |s| s[i]);
                    (s, t.has_tag(tag.name))
                })
                .collect();
            let actual = labelled.iter().filter(|l| l.1).count() as u64;
            let predicted = labelled.iter().filter(|l| l.0 >= tag.threshold).count() as u64;
            let both = labelled
                .iter()
                .filter(|l| l.0 >= tag.threshold && l.1)
                .count() as u64;
            let (precision, recall) = metrics::precision_recall(predicted, actual, both);
            // Sweep thresholds from high to low; keep the lowest with precision ≥ 0.8.
            labelled.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut best = None;
            let (mut tp, mut n) = (0u64, 0u64);
            let mut k = 0;
            while k < labelled.len() {
                let s = labelled[k].0;
                while k < labelled.len() && labelled[k].0 == s {
                    n += 1;
                    tp += u64::from(labelled[k].1);
                    k += 1;
                }
                if s <= 0.0 {
                    break;
                }
                if tp as f64 >= 0.8 * n as f64 && actual > 0 {
                    best = Some((s, tp as f64 / actual as f64));
                }
            }
            TagQuality {
                tag: tag.name,
                predicted,
                actual,
                precision,
                recall,
                best_threshold: best,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_has_known_iab_audience_ids() {
        for t in &TAGS {
            for (id, name) in iab_names(t) {
                assert_ne!(name, "?", "tag {} id {id}", t.name);
            }
        }
        const { assert!(TAG_COUNT <= 16) };
    }

    #[test]
    fn tags_map_to_iab_ids() {
        assert_eq!(iab_ids("pet_owner"), &["541"]);
        assert!(iab_ids("nope").is_empty());
        assert_eq!(tag_index("student"), Some(TAG_COUNT - 1));
    }

    #[test]
    fn path_prefixes_match_whole_segments() {
        assert!(path_matches("Furniture > Beds", &["Furniture"], " > "));
        assert!(path_matches("Furniture", &["Furniture"], " > "));
        assert!(!path_matches("Furniture Polish", &["Furniture"], " > "));
        assert!(path_matches("Real Estate>Houses", &["Real Estate"], ">"));
    }

    #[test]
    fn content_paths_resolve() {
        let p = content_path("1").unwrap_or_default();
        assert!(!p.is_empty());
    }
}
