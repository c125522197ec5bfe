//! Behavioral inference: lifestyle and life-stage tags from what people browse, buy and read.
//!
//! For every tag a person gets a score in [0, 1]: the share of their product interest (views,
//! list views, cart adds, orders; weighted by kind) in the tag's Google Product Taxonomy
//! subtrees, blended with the share of their publisher page reads in the tag's IAB Content
//! Taxonomy subtrees, shrunk toward 0 when there is little evidence
//! (`(tag + β·tag_pages) / (all + β·pages + k₀)`). Some tags add a signal of their own:
//! `luxury_buyer` counts high-price-tier interest, `student` reads declared age. A person
//! carries the tag when the score reaches the tag's threshold. Thresholds were set on simulated
//! shops so that precision is at least 0.8 (see MODELS.md); every tag maps to IAB Audience
//! Taxonomy 1.1 ids for OpenRTB `user.data` (segtax 4).

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
        threshold: 0.30,
    },
    TagSpec {
        name: "pet_owner",
        group: TagGroup::Lifestyles,
        iab_audience: &["541"],
        products: &["Animals & Pet Supplies"],
        pages: &["Pets"],
        threshold: 0.30,
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
        threshold: 0.30,
    },
    TagSpec {
        name: "sports",
        group: TagGroup::Lifestyles,
        iab_audience: &["607"],
        products: &["Sporting Goods"],
        pages: &["Sports", "Healthy Living>Fitness and Exercise"],
        threshold: 0.30,
    },
    TagSpec {
        name: "tech",
        group: TagGroup::Lifestyles,
        iab_audience: &["687", "703"],
        products: &["Electronics", "Cameras & Optics"],
        pages: &["Technology & Computing", "Video Gaming"],
        threshold: 0.30,
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
            "Home & Garden",
        ],
        threshold: 0.30,
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
        threshold: 0.30,
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
        threshold: 0.20,
    },
    TagSpec {
        name: "recently_moved",
        group: TagGroup::LifeEvents,
        iab_audience: &["591", "1407"],
        products: &["Furniture"],
        pages: &[
            "Real Estate",
            "Home & Garden>Interior Decorating",
            "Home & Garden>Home Improvement",
        ],
        threshold: 0.20,
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
        threshold: 0.20,
    },
];

/// Number of tags.
pub const TAG_COUNT: usize = TAGS.len();

/// Weight of page reads against product interest.
const PAGE_WEIGHT: f32 = 1.0;
/// Evidence smoothing: a person with little activity scores low.
const SMOOTHING: f32 = 2.0;

/// The index of a tag by name.
pub fn tag_index(name: &str) -> Option<usize> {
    TAGS.iter().position(|t| t.name == name)
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
        EventKind::ProductViewed => 1.0,
        EventKind::ProductListViewed | EventKind::ProductsSearched => 0.5,
        EventKind::ProductAdded => 2.0,
        EventKind::OrderCompleted => 3.0,
        _ => 0.0,
    }
}

/// One person's tag scores.
fn person_scores(p: &Profile, masks: &SetMasks, today: u32) -> [f32; TAG_COUNT] {
    let mut tag_w = [0f32; TAG_COUNT];
    let mut tag_pages = [0f32; TAG_COUNT];
    let (mut all_w, mut pages, mut high) = (0f32, 0f32, 0f32);
    for &packed in &p.entries {
        let e = Entry::unpack(packed);
        let kind = e.kind();
        let id = e.propset as usize;
        if e.propset == 0 || e.propset == LINES_MARKER || id >= masks.product.len() {
            continue;
        }
        let c = e.count as f32;
        if kind == EventKind::PublisherPageViewed {
            pages += c;
            let m = masks.page[id];
            for (i, tp) in tag_pages.iter_mut().enumerate() {
                if m & (1 << i) != 0 {
                    *tp += c;
                }
            }
            continue;
        }
        let w = product_weight(kind) * c;
        if w == 0.0 {
            continue;
        }
        all_w += w;
        if masks.high_tier[id] {
            high += w;
        }
        let m = masks.product[id];
        for (i, tw) in tag_w.iter_mut().enumerate() {
            if m & (1 << i) != 0 {
                *tw += w;
            }
        }
    }
    let denom = all_w + PAGE_WEIGHT * pages + SMOOTHING;
    let mut out = [0f32; TAG_COUNT];
    for i in 0..TAG_COUNT {
        out[i] = (tag_w[i] + PAGE_WEIGHT * tag_pages[i]) / denom;
    }
    if let Some(lux) = tag_index("luxury_buyer") {
        out[lux] = (tag_w[lux] + 0.5 * high + PAGE_WEIGHT * tag_pages[lux]) / denom;
    }
    if let Some(st) = tag_index("student")
        && let Some(age) = p.demo.age_on(today)
    {
        out[st] *= if age <= 26 {
            1.3
        } else if age >= 31 {
            0.3
        } else {
            1.0
        };
    }
    for o in &mut out {
        *o = o.clamp(0.0, 1.0);
    }
    out
}

/// Tag scores of every person (indexed by person id; merged-away ids score 0).
pub fn scores(
    store: &ProfileStore,
    taxonomy: Option<&ProductTaxonomy>,
    today: u32,
) -> Vec<[f32; TAG_COUNT]> {
    let masks = set_masks(store, taxonomy);
    store
        .profiles
        .par_iter()
        .with_min_len(256)
        .map(|p| person_scores(p, &masks, today))
        .collect()
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
