//! Behavioral inference: lifestyle and life-stage tags from what people browse, buy and read.
//!
//! Evidence is read from the profiles once ([`evidence`]):
//! * product days — days with a product viewed, listed, carted or bought (a session views
//!   several products of one department, so its events are not independent draws, but days
//!   nearly are) — and, per tag, how many touched the tag's Google Product Taxonomy subtrees;
//! * publisher page reads, one by one (each page of a visit is about whatever the reader picked
//!   next), and per tag how many fell in the tag's IAB Content Taxonomy subtrees;
//! * a vocabulary shared by every tag: product category groups (the first two levels of the
//!   Google path) counted in product days, page groups (the first two IAB tiers) counted in
//!   reads, and ad campaigns counted in impressions ([`VocabChannel`]);
//! * single-product views in the low and in the high price tier of their category;
//! * declared gender, income band and age band, and whether device locations show a home move
//!   (a new place first seen after the old one was last seen, at least 3 km away).
//!
//! Per tag, a two-component mixture is fitted by EM on everyone — unsupervised, no truth is
//! read. The tag's own subtrees (its anchors) and the declared values decide which component is
//! the tag's; the last M-step also estimates, from the anchors' posteriors, how often each
//! vocabulary channel and price tier shows up with and without the tag. That happens once:
//! refitting them in further rounds lets them pull the component towards whatever cluster they
//! share (the high tier towards the well-off, furniture towards home lovers). A person's score
//! is the posterior of the tag's component given the anchors, the price tiers and, at half
//! weight (they are many and not independent), the vocabulary — so buying kitchenware leans
//! `foodie` and seeing the pet-supplies campaign leans `pet_owner` without anyone listing those
//! links.
//!
//! Some lifestyles shop the same departments (luxury buyers and sports fans buy clothes,
//! luxury and fashion buyers make-up). For the tags marked [`TagSpec::explain`] a second stage
//! reads a person's days in the tag's subtrees against what their other tags explain: a
//! weighted least-squares fit, among people unlikely to carry the tag, of the share of such
//! days on every other tag's anchors-only posterior gives a per-person share that is added to
//! both components' product share, and the tag's mixture is refitted with it. A luxury buyer's
//! clothes then say less about `fashion`, and a foodie's (whose groceries leave less room for
//! clothes) more.
//!
//! A person carries the tag when the score reaches the tag's threshold. Thresholds were
//! calibrated on a simulated shop (seed 7, 100,000 people; not the seed MODELS.md reports) as
//! the lowest posterior with precision ≥ 0.82, plus 0.02 so that a crowd of people with the same
//! weak evidence just below it cannot tip the tag, rounded up. Every tag maps to IAB Audience
//! Taxonomy 1.1 ids for OpenRTB `user.data` (segtax 4).

use audex_model::EventKind;
use audex_model::catalog::PriceTier;
use audex_model::taxonomy::{AudienceTaxonomy, ContentTaxonomy, ProductTaxonomy};
use audex_profile::{Entry, LINES_MARKER, PersonId, Profile, ProfileStore};
use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::Serialize;

use crate::truth::TruthPerson;
use crate::{ReadProgress, metrics};

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
    /// Subtrees of `pages` that do not signal it (read as much by people without the tag).
    pub except_pages: &'static [&'static str],
    /// Whether the tag also learns from the vocabulary channels (every product group, page
    /// group and campaign outside its own subtrees), not only from its own subtrees.
    pub vocabulary: bool,
    /// Whether a home move seen in device locations ([`home_state`]) is evidence (life events
    /// about moving only: for the other tags it is noise that cost home 0.003 of recall).
    pub home_moves: bool,
    /// Whether the share of product days in the tag's subtrees is read against what the other
    /// tags explain ([`explained_shares`]): for tags whose departments other lifestyles also
    /// shop (clothes for luxury buyers and sports fans, make-up for luxury and fashion buyers).
    /// Chosen on the calibration shop, where it raised best recall at precision 0.8 for these
    /// four and cost the others 0.001–0.019; recently_moved gained too, but on a small shop its
    /// precision fell to what it is without the home-move signal.
    pub explain: bool,
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
        except_pages: &[],
        vocabulary: true,
        home_moves: false,
        explain: false,
        threshold: 0.24,
    },
    TagSpec {
        name: "pet_owner",
        group: TagGroup::Lifestyles,
        iab_audience: &["541"],
        products: &["Animals & Pet Supplies"],
        pages: &["Pets"],
        except_pages: &[],
        vocabulary: true,
        home_moves: false,
        explain: false,
        threshold: 0.19,
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
        except_pages: &[],
        vocabulary: true,
        home_moves: false,
        explain: true,
        threshold: 0.55,
    },
    TagSpec {
        name: "sports",
        group: TagGroup::Lifestyles,
        iab_audience: &["607"],
        products: &["Sporting Goods"],
        pages: &["Sports", "Healthy Living>Fitness and Exercise"],
        except_pages: &[],
        vocabulary: true,
        home_moves: false,
        explain: false,
        threshold: 0.23,
    },
    TagSpec {
        name: "tech",
        group: TagGroup::Lifestyles,
        iab_audience: &["687", "703"],
        products: &["Electronics", "Cameras & Optics"],
        pages: &["Technology & Computing", "Video Gaming"],
        except_pages: &[],
        vocabulary: true,
        home_moves: false,
        explain: false,
        threshold: 0.22,
    },
    TagSpec {
        name: "beauty",
        group: TagGroup::Lifestyles,
        iab_audience: &["677"],
        products: &["Health & Beauty > Personal Care"],
        pages: &["Style & Fashion>Beauty", "Style & Fashion>Personal Care"],
        except_pages: &[],
        vocabulary: true,
        home_moves: false,
        explain: true,
        threshold: 0.29,
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
        pages: &["Home & Garden"],
        // Interior decorating and home improvement are read by movers as much as by home
        // lovers.
        except_pages: &[
            "Home & Garden>Interior Decorating",
            "Home & Garden>Home Improvement",
        ],
        vocabulary: true,
        home_moves: false,
        explain: true,
        threshold: 0.25,
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
        ],
        except_pages: &[],
        vocabulary: true,
        home_moves: false,
        explain: true,
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
        except_pages: &[],
        vocabulary: true,
        home_moves: false,
        explain: false,
        threshold: 0.53,
    },
    TagSpec {
        name: "recently_moved",
        group: TagGroup::LifeEvents,
        iab_audience: &["591", "1407"],
        products: &["Furniture"],
        // Interior decorating and home improvement pages are read by home lovers as much as
        // by movers: neither tag's anchors count them.
        pages: &["Real Estate"],
        // Furniture buyers are home lovers as often as movers: what the anchors' posteriors
        // teach about the vocabulary is the home lover's (decor, linens, kitchen), and it pulls
        // home lovers in (measured: recall at precision 0.8 falls from 0.33 to 0.26).
        except_pages: &[],
        vocabulary: false,
        home_moves: true,
        explain: false,
        threshold: 0.84,
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
        except_pages: &[],
        vocabulary: true,
        home_moves: false,
        explain: false,
        threshold: 0.76,
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

/// Where one interned property set sends its evidence.
#[derive(Debug, Clone, Copy)]
struct SetInfo {
    /// Vocabulary channel of a product's category group, else [`NO_CHANNEL`].
    product: u32,
    /// Vocabulary channel of a page category's group, else [`NO_CHANNEL`].
    page: u32,
    /// Vocabulary channel of an ad campaign, else [`NO_CHANNEL`].
    campaign: u32,
    /// Tags whose Google Product Taxonomy subtrees hold the product.
    product_tags: u16,
    /// Tags whose IAB Content Taxonomy subtrees hold the page category.
    page_tags: u16,
    /// Price tier of the product (0 unknown, 1 low, 2 medium, 3 high).
    tier: u8,
}

const NO_CHANNEL: u32 = u32::MAX;

impl Default for SetInfo {
    fn default() -> Self {
        SetInfo {
            product: NO_CHANNEL,
            page: NO_CHANNEL,
            campaign: NO_CHANNEL,
            product_tags: 0,
            page_tags: 0,
            tier: 0,
        }
    }
}

/// The trials a vocabulary channel is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Family {
    /// Days with a product viewed, listed, carted or bought.
    ProductDays = 0,
    /// Publisher page reads.
    Pages = 1,
    /// Ad impressions.
    Ads = 2,
}

const FAMILIES: usize = 3;

/// One evidence channel shared by every tag: a product category group (the first two levels
/// of its Google Product Taxonomy path), a page category group (the first two tiers of its IAB
/// Content Taxonomy path) or an ad campaign. Groups are split by which tags' subtrees they
/// fall in, so a tag's own subtrees are always a union of whole channels.
#[derive(Debug, Clone, Serialize)]
pub struct VocabChannel {
    /// What is counted against what.
    pub family: Family,
    /// The group's path or the campaign id.
    pub name: String,
    /// Tags whose own subtrees cover the channel (bit = tag index).
    pub tags: u16,
}

/// Most channels kept per family (the most observed ones), and the fewest observations a
/// channel needs to be kept.
const MAX_CHANNELS: usize = 256;
const MIN_CHANNEL_COUNT: u64 = 20;

fn group_path(path: &str, sep: &str, depth: usize) -> String {
    path.split(sep).take(depth).collect::<Vec<_>>().join(sep)
}

/// Interns channels while the property sets are walked.
#[derive(Default)]
struct ChannelInterner {
    ids: rustc_hash::FxHashMap<(Family, String, u16), u32>,
    channels: Vec<VocabChannel>,
}

impl ChannelInterner {
    fn id(&mut self, family: Family, name: String, tags: u16) -> u32 {
        let next = self.channels.len() as u32;
        *self
            .ids
            .entry((family, name.clone(), tags))
            .or_insert_with(|| {
                self.channels.push(VocabChannel { family, name, tags });
                next
            })
    }
}

/// Where each property set sends its evidence, for up to `at_most` of the sets `store` holds
/// beyond those already in `infos` (ids 0 and 1 are reserved and send none).
fn catch_up_infos(
    store: &ProfileStore,
    taxonomy: Option<&ProductTaxonomy>,
    infos: &mut Vec<SetInfo>,
    interner: &mut ChannelInterner,
    at_most: usize,
) {
    let n = store
        .propsets
        .len()
        .min(infos.len().saturating_add(at_most));
    while infos.len() < n.min(2) {
        infos.push(SetInfo::default());
    }
    for id in infos.len() as u32..n as u32 {
        let set = store.propsets.get(id);
        let mut info = SetInfo::default();
        if let (Some(c), Some(t)) = (set.category, taxonomy)
            && let Some(cat) = t.get(c)
        {
            let path = &cat.path;
            for (i, tag) in TAGS.iter().enumerate() {
                if path_matches(path, tag.products, " > ") {
                    info.product_tags |= 1 << i;
                }
            }
            info.product = interner.id(
                Family::ProductDays,
                group_path(path, " > ", 2),
                info.product_tags,
            );
        }
        info.tier = match set.tier {
            Some(PriceTier::Low) => 1,
            Some(PriceTier::Medium) => 2,
            Some(PriceTier::High) => 3,
            None => 0,
        };
        if let Some(pc) = set.page_category
            && let Some(path) = store.propsets.values.name(pc).and_then(content_path)
        {
            for (i, tag) in TAGS.iter().enumerate() {
                if path_matches(&path, tag.pages, ">")
                    && !path_matches(&path, tag.except_pages, ">")
                {
                    info.page_tags |= 1 << i;
                }
            }
            info.page = interner.id(Family::Pages, group_path(&path, ">", 2), info.page_tags);
        }
        if let Some(c) = set.campaign
            && let Some(name) = store.propsets.values.name(c)
        {
            info.campaign = interner.id(Family::Ads, name.to_string(), 0);
        }
        infos.push(info);
    }
}

/// Declared gender, income band and age band (0 = unknown; 1..=4).
fn age_band(age: u32) -> u8 {
    match age {
        0..=26 => 1,
        27..=34 => 2,
        35..=49 => 3,
        _ => 4,
    }
}

/// How long after a move a person counts as having moved recently (the six months that
/// new-mover lists cover).
const RECENT_MOVE_DAYS: u32 = 180;

/// Categorical values per person besides the counts: declared gender, income band and age
/// band, and the home seen in device locations ([`home_state`]).
const DECLARED: usize = 4;

/// What device locations say about a person's home: 0 nothing (no fixes on two days), 1 one
/// home, 2 moved within [`RECENT_MOVE_DAYS`], 3 moved before that.
fn home_state(places: &[audex_profile::Place], today: u32) -> u8 {
    match audex_profile::moved(places) {
        Some(m) if today.saturating_sub(m.day) <= RECENT_MOVE_DAYS => 2,
        Some(_) => 3,
        None if places.iter().map(|p| u32::from(p.days)).sum::<u32>() >= 2 => 1,
        None => 0,
    }
}

/// How far back a product day counts as recent in [`Evidence::dense_row`].
const RECENT_DAYS: u32 = 30;

/// One person's evidence (counts saturate at `u16::MAX`).
#[derive(Debug, Clone, Copy, Default)]
struct Person {
    /// Trials per [`Family`]: product days, page reads, ad impressions.
    totals: [u16; FAMILIES],
    /// Single-product views with a known price tier, and how many were low and high.
    views: u16,
    low: u16,
    high: u16,
    /// Product days touching each tag's product subtrees.
    tag_days: [u16; TAG_COUNT],
    /// Those of the last [`RECENT_DAYS`] days (read only by [`Evidence::dense_row`]: the
    /// mixture does not weigh recency).
    recent_days: [u16; TAG_COUNT],
    /// Page reads in each tag's content subtrees.
    tag_pages: [u16; TAG_COUNT],
    /// Declared gender, income band, age band and home state (0 = unknown).
    demo: [u8; DECLARED],
    /// This person's vocabulary channel counts: `Evidence::counts[start..start + len]`.
    start: u32,
    len: u32,
}

impl Person {
    fn has_evidence(&self) -> bool {
        self.totals.iter().any(|t| *t > 0)
    }
}

/// Everyone's evidence, read from the profiles once; fitting and scoring need nothing else,
/// so a caller can let go of the profiles before the (longer) fit.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    people: Vec<Person>,
    counts: Vec<(u32, u16)>,
    /// The shared channels (product groups, page groups, campaigns).
    pub channels: Vec<VocabChannel>,
}

fn bump(v: &mut u16, n: u32) {
    *v = v.saturating_add(u16::try_from(n).unwrap_or(u16::MAX));
}

fn add_count(counts: &mut Vec<(u32, u16)>, channel: u32, n: u32) {
    if channel == NO_CHANNEL {
        return;
    }
    match counts.iter_mut().find(|(c, _)| *c == channel) {
        Some((_, v)) => bump(v, n),
        None => counts.push((channel, u16::try_from(n).unwrap_or(u16::MAX))),
    }
}

fn is_product_kind(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::ProductViewed
            | EventKind::ProductListViewed
            | EventKind::ProductAdded
            | EventKind::OrderCompleted
    )
}

/// Product evidence is counted in active days (a session views several products of one
/// department, so its events are not independent draws, but days nearly are); page reads and
/// ad impressions one by one (each page of a visit is about whatever the reader picked next).
fn person_evidence(p: &Profile, infos: &[SetInfo], today: u32) -> (Person, Vec<(u32, u16)>) {
    let mut person = Person {
        demo: [
            p.demo.gender.min(4),
            p.demo.income.min(4),
            p.demo.age_on(today).map_or(0, age_band),
            home_state(&p.places, today),
        ],
        ..Person::default()
    };
    let mut counts: Vec<(u32, u16)> = Vec::new();
    let mut day = u32::MAX;
    let mut day_tags = 0u16;
    let mut day_product = false;
    let mut day_groups: Vec<u32> = Vec::new();
    let flush = |person: &mut Person,
                 counts: &mut Vec<(u32, u16)>,
                 product: bool,
                 tags: u16,
                 groups: &mut Vec<u32>,
                 day: u32| {
        if product {
            bump(&mut person.totals[Family::ProductDays as usize], 1);
            let recent = day.saturating_add(RECENT_DAYS) > today;
            for i in 0..TAG_COUNT {
                if tags & (1 << i) != 0 {
                    bump(&mut person.tag_days[i], 1);
                    if recent {
                        bump(&mut person.recent_days[i], 1);
                    }
                }
            }
            for &g in groups.iter() {
                add_count(counts, g, 1);
            }
        }
        groups.clear();
    };
    for &packed in &p.entries {
        let e = Entry::unpack(packed);
        let id = e.propset as usize;
        if e.propset == 0 || e.propset == LINES_MARKER || id >= infos.len() {
            continue;
        }
        if e.day != day {
            flush(
                &mut person,
                &mut counts,
                day_product,
                day_tags,
                &mut day_groups,
                day,
            );
            (day_product, day_tags) = (false, 0);
            day = e.day;
        }
        let info = &infos[id];
        let kind = e.kind();
        match kind {
            // The first category of a page is its own; further ones (lines) are its parents.
            EventKind::PublisherPageViewed if !e.line && info.page != NO_CHANNEL => {
                bump(&mut person.totals[Family::Pages as usize], e.count);
                for (i, t) in person.tag_pages.iter_mut().enumerate() {
                    if info.page_tags & (1 << i) != 0 {
                        bump(t, e.count);
                    }
                }
                add_count(&mut counts, info.page, e.count);
            }
            EventKind::AdImpression if info.campaign != NO_CHANNEL => {
                bump(&mut person.totals[Family::Ads as usize], e.count);
                add_count(&mut counts, info.campaign, e.count);
            }
            k if is_product_kind(k) && info.product != NO_CHANNEL => {
                day_product = true;
                day_tags |= info.product_tags;
                if !day_groups.contains(&info.product) {
                    day_groups.push(info.product);
                }
                if k == EventKind::ProductViewed && !e.line && info.tier != 0 {
                    bump(&mut person.views, e.count);
                    match info.tier {
                        1 => bump(&mut person.low, e.count),
                        3 => bump(&mut person.high, e.count),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    flush(
        &mut person,
        &mut counts,
        day_product,
        day_tags,
        &mut day_groups,
        day,
    );
    counts.sort_unstable();
    (person, counts)
}

impl Evidence {
    /// Names of the columns of [`Evidence::dense_row`].
    pub fn column_names(&self) -> Vec<String> {
        let mut names: Vec<String> = [
            "product_days",
            "page_reads",
            "ad_impressions",
            "views",
            "views_low_tier",
            "views_high_tier",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for what in ["days", "recent_days", "pages"] {
            names.extend(TAGS.iter().map(|t| format!("{}_{what}", t.name)));
        }
        for (what, values) in [("gender", 5), ("income", 5), ("age_band", 5), ("home", 5)] {
            names.extend((0..values).map(|v| format!("{what}={v}")));
        }
        names.extend(
            self.channels
                .iter()
                .map(|c| format!("{:?}:{}", c.family, c.name)),
        );
        names
    }

    /// Person `p`'s evidence as one dense row of counts (zeros for a person without any), the
    /// numbers the mixture reads plus recent product days: for a supervised model trained on
    /// truth outside (bench/models/behavioral_ceiling.py), to bound what this evidence allows.
    pub fn dense_row(&self, p: PersonId, out: &mut Vec<f32>) {
        let start = out.len();
        let width = 6 + 3 * TAG_COUNT + 5 * DECLARED + self.channels.len();
        out.resize(start + width, 0.0);
        let Some(person) = self.people.get(p as usize) else {
            return;
        };
        let row = &mut out[start..];
        let tiers = [person.views, person.low, person.high];
        let head = person.totals.iter().chain(&tiers);
        let tags = person
            .tag_days
            .iter()
            .chain(&person.recent_days)
            .chain(&person.tag_pages);
        for (cell, v) in row.iter_mut().zip(head.chain(tags)) {
            *cell = f32::from(*v);
        }
        for (k, v) in person.demo.iter().enumerate() {
            row[6 + 3 * TAG_COUNT + 5 * k + usize::from((*v).min(4))] = 1.0;
        }
        let counts = &self.counts[person.start as usize..(person.start + person.len) as usize];
        for &(ch, n) in counts {
            row[6 + 3 * TAG_COUNT + 5 * DECLARED + ch as usize] = f32::from(n);
        }
    }
}

/// Reads everyone's evidence from the profiles (the only step that needs them).
pub fn evidence(store: &ProfileStore, taxonomy: Option<&ProductTaxonomy>, today: u32) -> Evidence {
    let mut reader = EvidenceReader::new(today);
    reader.read(store, taxonomy, usize::MAX);
    reader.finish()
}

/// One person's evidence and vocabulary channel counts, as read.
type PersonEvidence = (Person, Vec<(u32, u16)>);

/// Reads everyone's evidence a slice of people at a time, so a caller can hold the profiles'
/// lock for one slice only and let ingest in between. Each person's evidence is their profile
/// when their slice was read; property sets added in between are caught up on at the next
/// slice.
#[derive(Default)]
pub struct EvidenceReader {
    today: u32,
    infos: Vec<SetInfo>,
    interner: ChannelInterner,
    /// Everyone's evidence, a slice per read (one growing vector would copy all of it under
    /// the lock now and then).
    slices: Vec<Vec<PersonEvidence>>,
    rows: usize,
}

impl EvidenceReader {
    /// Nobody read yet; ages are taken on `today`.
    pub fn new(today: u32) -> Self {
        EvidenceReader {
            today,
            ..EvidenceReader::default()
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
        let known = self.infos.len();
        catch_up_infos(
            store,
            taxonomy,
            &mut self.infos,
            &mut self.interner,
            at_most,
        );
        let sets = self.infos.len() - known;
        let start = self.rows();
        let end = store.profiles.len().min(start.saturating_add(at_most));
        let slice = match store.profiles.get(start..end) {
            Some(slice) if self.infos.len() == store.propsets.len() => slice,
            _ => return ReadProgress { sets, people: 0 },
        };
        let (infos, today) = (&self.infos, self.today);
        let read: Vec<PersonEvidence> = slice
            .par_iter()
            .with_min_len(256)
            .map(|p| person_evidence(p, infos, today))
            .collect();
        self.slices.push(read);
        self.rows = end;
        ReadProgress {
            sets,
            people: end - start,
        }
    }

    /// Keeps the channels seen often enough, the most seen first, at most [`MAX_CHANNELS`] a
    /// family, and packs everyone's counts.
    pub fn finish(self) -> Evidence {
        let channels = self.interner.channels;
        let slices = self.slices;
        let mut seen = vec![0u64; channels.len()];
        for (_, c) in slices.iter().flatten() {
            for &(ch, n) in c {
                seen[ch as usize] += u64::from(n);
            }
        }
        let mut order: Vec<u32> = (0..channels.len() as u32)
            .filter(|&c| seen[c as usize] >= MIN_CHANNEL_COUNT)
            .collect();
        order.sort_by(|a, b| seen[*b as usize].cmp(&seen[*a as usize]).then(a.cmp(b)));
        let mut per_family = [0usize; FAMILIES];
        let mut remap = vec![NO_CHANNEL; channels.len()];
        let mut kept = Vec::new();
        for c in order {
            let ch = &channels[c as usize];
            let f = ch.family as usize;
            if per_family[f] < MAX_CHANNELS {
                per_family[f] += 1;
                remap[c as usize] = kept.len() as u32;
                kept.push(ch.clone());
            }
        }
        let mut people = Vec::with_capacity(self.rows);
        let mut counts = Vec::new();
        for (mut p, c) in slices.into_iter().flatten() {
            p.start = counts.len() as u32;
            counts.extend(
                c.into_iter().filter_map(|(ch, n)| {
                    Some((remap[ch as usize], n)).filter(|x| x.0 != NO_CHANNEL)
                }),
            );
            p.len = counts.len() as u32 - p.start;
            people.push(p);
        }
        Evidence {
            people,
            counts,
            channels: kept,
        }
    }
}

/// One binomial evidence channel of a tag's two-component mixture: the chance a trial (a
/// product day, a page read, an ad impression, a product view) falls in the channel for people
/// with the tag (`p1`) and without (`p0`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Channel {
    /// Share for people with the tag.
    pub p1: f64,
    /// Share for people without it.
    pub p0: f64,
}

impl Channel {
    const NEUTRAL: Channel = Channel { p1: 0.5, p0: 0.5 };

    #[inline]
    fn llr(&self, k: f64, n: f64) -> f64 {
        k * self.hit() + (n - k) * self.miss()
    }

    /// Log-likelihood ratio of one trial in the channel.
    fn hit(&self) -> f64 {
        (self.p1 / self.p0).ln()
    }

    /// Log-likelihood ratio of one trial elsewhere.
    fn miss(&self) -> f64 {
        ((1.0 - self.p1) / (1.0 - self.p0)).ln()
    }
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

/// A fitted tag model.
#[derive(Debug, Clone, Serialize)]
pub struct TagModel {
    /// Share of people with the tag.
    pub prior: f64,
    /// Product days in the tag's own product subtrees (the anchor).
    pub products: Channel,
    /// Page reads in the tag's own content subtrees (the anchor).
    pub pages: Channel,
    /// Product views in the low and in the high price tier.
    pub tiers: [Channel; 2],
    /// Declared gender, income band, age band and home state: share of each value (index 1..=4) among
    /// people with and without the tag who declared one.
    pub demo: [Categorical; DECLARED],
    /// Every vocabulary channel outside the tag's own subtrees (neutral for those inside).
    pub others: Vec<Channel>,
    /// Tags with [`TagSpec::explain`]: per tag, how much its anchors-only posterior adds to
    /// the share of product days in this tag's subtrees (0 at this tag's own index; empty
    /// otherwise).
    pub explained_by: Vec<f64>,
}

/// A tag model prepared for scoring: per-family "no hit" terms summed once.
struct Scorer<'a> {
    model: &'a TagModel,
    tag: usize,
    logit_prior: f64,
    /// Per channel: hit − miss, weighted (0 for the tag's own and neutral channels).
    delta: Vec<f64>,
    /// Per family: Σ miss over its channels, weighted.
    base: [f64; FAMILIES],
    /// Whether the vocabulary channels count at all.
    vocabulary: bool,
    demo: [[f64; 5]; DECLARED],
    /// Per person (index in `Evidence::people`): the share of the tag's product days that
    /// other tags explain (added to both components' product share), when fitted.
    offsets: Option<&'a [f32]>,
}

impl<'a> Scorer<'a> {
    fn new(model: &'a TagModel, tag: usize, channels: &[VocabChannel], weight: f64) -> Self {
        let mut delta = vec![0.0; channels.len()];
        let mut base = [0.0; FAMILIES];
        for ((c, ch), d) in channels.iter().zip(&model.others).zip(&mut delta) {
            if c.tags & (1 << tag) != 0 {
                continue;
            }
            *d = weight * (ch.hit() - ch.miss());
            base[c.family as usize] += weight * ch.miss();
        }
        let mut demo = [[0.0; 5]; DECLARED];
        let used = if TAGS[tag].home_moves {
            DECLARED
        } else {
            DECLARED - 1
        };
        for (d, m) in demo.iter_mut().zip(&model.demo).take(used) {
            for ((x, p1), p0) in d.iter_mut().zip(&m.p1).zip(&m.p0).skip(1) {
                *x = (p1 / p0).ln();
            }
        }
        Scorer {
            model,
            tag,
            logit_prior: (model.prior / (1.0 - model.prior)).ln(),
            delta,
            base,
            vocabulary: weight != 0.0,
            demo,
            offsets: None,
        }
    }

    fn with_offsets(mut self, offsets: Option<&'a [f32]>) -> Self {
        self.offsets = offsets;
        self
    }

    /// The share of the tag's product days that other tags explain for person `idx`.
    fn offset(&self, idx: usize) -> f64 {
        self.offsets.map_or(0.0, |o| f64::from(o[idx]))
    }

    fn posterior(&self, ev: &Evidence, p: &Person, idx: usize) -> f64 {
        let m = self.model;
        let i = self.tag;
        let days = f64::from(p.totals[Family::ProductDays as usize]);
        let pages = f64::from(p.totals[Family::Pages as usize]);
        let views = f64::from(p.views);
        let o = self.offset(idx);
        let products = if o == 0.0 {
            m.products
        } else {
            Channel {
                p1: (m.products.p1 + o).clamp(2e-4, 0.99),
                p0: (m.products.p0 + o).clamp(1e-4, 0.98),
            }
        };
        let mut z = self.logit_prior
            + products.llr(f64::from(p.tag_days[i]), days)
            + m.pages.llr(f64::from(p.tag_pages[i]), pages)
            + m.tiers[0].llr(f64::from(p.low), views)
            + m.tiers[1].llr(f64::from(p.high), views);
        if self.vocabulary {
            for (f, b) in self.base.iter().enumerate() {
                z += f64::from(p.totals[f]) * b;
            }
            let start = p.start as usize;
            for &(c, n) in &ev.counts[start..start + p.len as usize] {
                z += f64::from(n) * self.delta[c as usize];
            }
        }
        for (d, &v) in self.demo.iter().zip(&p.demo) {
            z += d[usize::from(v)];
        }
        1.0 / (1.0 + (-z).exp())
    }
}

/// EM iterations on the anchors.
const ANCHOR_ITERATIONS: usize = 40;
/// Weight of the vocabulary channels against the anchors: they are many and not independent
/// of each other (a weight of 1 would count correlated evidence as if it were independent).
const VOCABULARY_WEIGHT: f64 = 0.5;
/// Pseudo-trials pulling a vocabulary channel's shares towards its overall rate.
const SMOOTHING_TRIALS: f64 = 20.0;

/// Expected counts of one E-step.
struct Acc {
    /// Σ g, Σ 1 over people with evidence.
    prior: [f64; 2],
    /// Anchors (products, pages) and tiers (low, high): Σ g·k, Σ g·n, Σ (1−g)·k, Σ (1−g)·n.
    fixed: [[f64; 4]; 4],
    /// Per family: Σ g·n, Σ (1−g)·n.
    family: [[f64; 2]; FAMILIES],
    /// Per channel: Σ g·k, Σ (1−g)·k.
    channels: Vec<[f64; 2]>,
    /// Per declared field and value: Σ g, Σ (1−g).
    demo: [[[f64; 2]; 5]; DECLARED],
}

impl Acc {
    fn new(channels: usize) -> Acc {
        Acc {
            prior: [0.0; 2],
            fixed: [[0.0; 4]; 4],
            family: [[0.0; 2]; FAMILIES],
            channels: vec![[0.0; 2]; channels],
            demo: [[[0.0; 2]; 5]; DECLARED],
        }
    }

    fn add(&mut self, ev: &Evidence, p: &Person, i: usize, g: f64, offset: f64) {
        let h = 1.0 - g;
        self.prior[0] += g;
        self.prior[1] += 1.0;
        let views = f64::from(p.views);
        let obs = [
            (p.tag_days[i], p.totals[Family::ProductDays as usize]),
            (p.tag_pages[i], p.totals[Family::Pages as usize]),
        ];
        for (j, (a, (k, n))) in self.fixed.iter_mut().zip(obs).enumerate() {
            let (mut k, n) = (f64::from(k), f64::from(n));
            if j == 0 {
                // The base shares: what other tags explain is taken out.
                k = (k - offset * n).max(0.0);
            }
            a[0] += g * k;
            a[1] += g * n;
            a[2] += h * k;
            a[3] += h * n;
        }
        for (a, k) in self.fixed[2..].iter_mut().zip([p.low, p.high]) {
            let k = f64::from(k);
            a[0] += g * k;
            a[1] += g * views;
            a[2] += h * k;
            a[3] += h * views;
        }
        for (a, &n) in self.family.iter_mut().zip(&p.totals) {
            a[0] += g * f64::from(n);
            a[1] += h * f64::from(n);
        }
        if !self.channels.is_empty() {
            let start = p.start as usize;
            for &(c, n) in &ev.counts[start..start + p.len as usize] {
                let a = &mut self.channels[c as usize];
                a[0] += g * f64::from(n);
                a[1] += h * f64::from(n);
            }
        }
        for (a, &v) in self.demo.iter_mut().zip(&p.demo) {
            if v != 0 {
                a[usize::from(v)][0] += g;
                a[usize::from(v)][1] += h;
            }
        }
    }

    fn merge(mut self, o: Acc) -> Acc {
        let add = |a: &mut [f64], b: &[f64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.prior, &o.prior);
        for (a, b) in self.fixed.iter_mut().zip(&o.fixed) {
            add(a, b);
        }
        for (a, b) in self.family.iter_mut().zip(&o.family) {
            add(a, b);
        }
        for (a, b) in self.channels.iter_mut().zip(&o.channels) {
            add(a, b);
        }
        for (a, b) in self.demo.iter_mut().zip(&o.demo) {
            for (x, y) in a.iter_mut().zip(b) {
                add(x, y);
            }
        }
        self
    }
}

/// One E-step; `vocabulary` also gathers the vocabulary channels' expected counts.
fn e_step(ev: &Evidence, scorer: &Scorer<'_>, vocabulary: bool) -> Acc {
    let n = if vocabulary { ev.channels.len() } else { 0 };
    ev.people
        .par_iter()
        .enumerate()
        .with_min_len(4096)
        .filter(|(_, p)| p.has_evidence())
        .fold(
            || Acc::new(n),
            |mut a, (idx, p)| {
                let g = scorer.posterior(ev, p, idx);
                a.add(ev, p, scorer.tag, g, scorer.offset(idx));
                a
            },
        )
        .reduce(|| Acc::new(n), Acc::merge)
}

fn share(k: f64, n: f64) -> f64 {
    if n > 0.0 { k / n } else { 0.0 }
}

/// The M-step: new shares from expected counts. Anchors keep the tag's component the one with
/// the higher share of the tag's own subtrees; `full` also refits the vocabulary channels.
fn m_step(m: &mut TagModel, acc: &Acc, ev: &Evidence, i: usize, tiers: bool, vocabulary: bool) {
    if acc.prior[1] == 0.0 {
        return;
    }
    m.prior = (acc.prior[0] / acc.prior[1]).clamp(1e-3, 0.9);
    let binomial = |a: &[f64; 4], old: Channel, anchor: bool| {
        if a[1] <= 0.0 || a[3] <= 0.0 {
            return old;
        }
        let p0 = share(a[2], a[3]).clamp(1e-4, 0.98);
        let p1 = share(a[0], a[1]);
        Channel {
            p1: if anchor {
                p1.clamp(p0 + 1e-4, 0.99)
            } else {
                p1.clamp(1e-4, 0.99)
            },
            p0,
        }
    };
    m.products = binomial(&acc.fixed[0], m.products, true);
    m.pages = binomial(&acc.fixed[1], m.pages, true);
    if tiers {
        m.tiers[0] = binomial(&acc.fixed[2], m.tiers[0], false);
        m.tiers[1] = binomial(&acc.fixed[3], m.tiers[1], false);
    }
    if vocabulary {
        for ((c, a), ch) in ev.channels.iter().zip(&acc.channels).zip(&mut m.others) {
            if c.tags & (1 << i) != 0 {
                continue;
            }
            let f = acc.family[c.family as usize];
            let rate = share(a[0] + a[1], f[0] + f[1]);
            let s = SMOOTHING_TRIALS;
            *ch = Channel {
                p1: ((a[0] + s * rate) / (f[0] + s)).clamp(1e-5, 0.999),
                p0: ((a[1] + s * rate) / (f[1] + s)).clamp(1e-5, 0.999),
            };
        }
    }
    for (d, a) in m.demo.iter_mut().zip(&acc.demo) {
        // One pseudo-count per value keeps unseen values finite.
        let n1: f64 = (1..5).map(|v| a[v][0] + 1.0).sum();
        let n0: f64 = (1..5).map(|v| a[v][1] + 1.0).sum();
        for ((p1, p0), a) in d.p1.iter_mut().zip(&mut d.p0).zip(a).skip(1) {
            *p1 = (a[0] + 1.0) / n1;
            *p0 = (a[1] + 1.0) / n0;
        }
    }
}

/// Fits one tag's mixture by EM on everyone's evidence (unsupervised: no truth is read).
fn fit(ev: &Evidence, i: usize) -> TagModel {
    fit_with(ev, i, None)
}

/// [`fit`] with per-person product-share offsets (see [`explained_shares`]).
fn fit_with(ev: &Evidence, i: usize, offsets: Option<&[f32]>) -> TagModel {
    let totals = ev.people.iter().fold([0f64; 4], |mut a, p| {
        a[0] += f64::from(p.tag_days[i]);
        a[1] += f64::from(p.totals[Family::ProductDays as usize]);
        a[2] += f64::from(p.tag_pages[i]);
        a[3] += f64::from(p.totals[Family::Pages as usize]);
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
        products: init(totals[0], totals[1]),
        pages: init(totals[2], totals[3]),
        tiers: [Channel::NEUTRAL; 2],
        demo: [Categorical::default(); DECLARED],
        others: vec![Channel::NEUTRAL; ev.channels.len()],
        explained_by: Vec::new(),
    };
    // EM on the anchors and declared demographics: the tag's own subtrees decide which
    // component is the tag's. The last M-step also estimates the price tiers and the
    // vocabulary channels from the anchors' posteriors, once: refitting them in further rounds
    // would let them pull the component towards whatever cluster they share (the high price
    // tier towards the well-off, furniture towards home lovers) and away from the tag.
    for it in 0..ANCHOR_ITERATIONS {
        let last = it + 1 == ANCHOR_ITERATIONS;
        let vocabulary = last && TAGS[i].vocabulary;
        let acc = e_step(
            ev,
            &Scorer::new(&m, i, &ev.channels, 0.0).with_offsets(offsets),
            vocabulary,
        );
        m_step(&mut m, &acc, ev, i, last, vocabulary);
    }
    m
}

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
    fit_and_score(&evidence(store, taxonomy, today))
}

/// Fits every tag's model on the evidence and scores every person.
pub fn fit_and_score(ev: &Evidence) -> Inference {
    let mut models: Vec<TagModel> = (0..TAG_COUNT).map(|i| fit(ev, i)).collect();
    // Second stage for the tags that need it: refit against the product-day shares that the
    // other tags' anchors-only posteriors explain.
    let mut offsets: Vec<Option<Vec<f32>>> = vec![None; TAG_COUNT];
    if TAGS.iter().any(|t| t.explain) {
        let anchors: Vec<[f32; TAG_COUNT]> = {
            let scorers: Vec<Scorer<'_>> = models
                .iter()
                .enumerate()
                .map(|(i, m)| Scorer::new(m, i, &ev.channels, 0.0))
                .collect();
            score_all(ev, &scorers)
        };
        for (i, t) in TAGS.iter().enumerate() {
            if t.explain {
                let (o, beta) = explained_shares(ev, i, &anchors);
                models[i] = fit_with(ev, i, Some(&o));
                models[i].explained_by = beta;
                offsets[i] = Some(o);
            }
        }
    }
    let scorers: Vec<Scorer<'_>> = models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let w = if TAGS[i].vocabulary {
                VOCABULARY_WEIGHT
            } else {
                0.0
            };
            Scorer::new(m, i, &ev.channels, w).with_offsets(offsets[i].as_deref())
        })
        .collect();
    let scores = score_all(ev, &scorers);
    Inference { models, scores }
}

fn score_all(ev: &Evidence, scorers: &[Scorer<'_>]) -> Vec<[f32; TAG_COUNT]> {
    ev.people
        .par_iter()
        .enumerate()
        .with_min_len(1024)
        .map(|(idx, p)| {
            let mut out = [0f32; TAG_COUNT];
            if p.has_evidence() {
                for (o, s) in out.iter_mut().zip(scorers) {
                    *o = s.posterior(ev, p, idx) as f32;
                }
            }
            out
        })
        .collect()
}

/// Per person, the share of tag `i`'s product days that the other tags explain, and the
/// coefficients: a weighted least-squares fit, among people unlikely to carry `i` (weight
/// (1 − q_i) · product days), of the share of days in `i`'s subtrees on the other tags'
/// anchors-only posteriors. Other lifestyles shop some of the same departments (luxury buyers
/// and sports fans buy clothes, home lovers furniture), so without this their days read as
/// evidence of `i`; a negative coefficient is a lifestyle whose own shopping leaves less room
/// for `i`'s departments, so the same days say more.
fn explained_shares(ev: &Evidence, i: usize, q: &[[f32; TAG_COUNT]]) -> (Vec<f32>, Vec<f64>) {
    const K: usize = TAG_COUNT; // slot i is the intercept
    type Normal = ([[f64; K]; K], [f64; K]);
    let zero = || -> Normal { ([[0f64; K]; K], [0f64; K]) };
    let (xtx, xty) = ev
        .people
        .par_iter()
        .zip(q)
        .with_min_len(4096)
        .fold(zero, |(mut a, mut b), (p, q)| {
            let n = f64::from(p.totals[Family::ProductDays as usize]);
            if n > 0.0 {
                let w = (1.0 - f64::from(q[i])) * n;
                let y = f64::from(p.tag_days[i]) / n;
                let mut x = [0f64; K];
                for (k, xk) in x.iter_mut().enumerate() {
                    *xk = if k == i { 1.0 } else { f64::from(q[k]) };
                }
                for r in 0..K {
                    b[r] += w * x[r] * y;
                    for c in 0..K {
                        a[r][c] += w * x[r] * x[c];
                    }
                }
            }
            (a, b)
        })
        .reduce(zero, |(mut a, mut b), (a2, b2)| {
            for r in 0..K {
                b[r] += b2[r];
                for c in 0..K {
                    a[r][c] += a2[r][c];
                }
            }
            (a, b)
        });
    let Some(mut beta) = solve(xtx, xty) else {
        return (vec![0.0; ev.people.len()], Vec::new());
    };
    beta[i] = 0.0; // the intercept is the base share, fitted by EM
    let offsets = q
        .iter()
        .map(|q| (0..K).map(|k| beta[k] * f64::from(q[k])).sum::<f64>() as f32)
        .collect();
    (offsets, beta.to_vec())
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting (`None` when singular).
fn solve<const K: usize>(mut a: [[f64; K]; K], mut b: [f64; K]) -> Option<[f64; K]> {
    for c in 0..K {
        let piv = (c..K).max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs()))?;
        if a[piv][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, piv);
        b.swap(c, piv);
        let pivot_row = a[c];
        let pivot_b = b[c];
        for (r, (row, br)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
            if r != c {
                let f = row[c] / pivot_row[c];
                for (x, p) in row.iter_mut().zip(&pivot_row).skip(c) {
                    *x -= f * p;
                }
                *br -= f * pivot_b;
            }
        }
    }
    Some(std::array::from_fn(|k| b[k] / a[k][k]))
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

/// Who left evidence of one tag, against truth: what bounds any scorer of this evidence.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TagEvidence {
    /// Truth carriers with a product day or page read in the tag's own subtrees.
    pub carriers_own: u64,
    /// Truth carriers with any product day, page read or ad impression.
    pub carriers_any: u64,
    /// People without the tag who have a product day or page read in its own subtrees.
    pub others_own: u64,
}

/// Per tag (in [`TAGS`] order), who left evidence of it (see [`TagEvidence`]). A carrier
/// without evidence in the tag's own subtrees can only be found through correlated evidence,
/// which at precision 0.8 finds few: `carriers_own` over the carriers is about the recall the
/// tag can reach, and `others_own` against `carriers_own` says how hard precision is.
pub fn evidence_against_truth(
    ev: &Evidence,
    truth: &[(PersonId, TruthPerson)],
) -> Vec<TagEvidence> {
    (0..TAG_COUNT)
        .map(|i| {
            let mut e = TagEvidence::default();
            for (p, t) in truth {
                let Some(p) = ev.people.get(*p as usize) else {
                    continue;
                };
                let own = p.tag_days[i] > 0 || p.tag_pages[i] > 0;
                if t.has_tag(TAGS[i].name) {
                    e.carriers_own += u64::from(own);
                    e.carriers_any += u64::from(p.has_evidence());
                } else {
                    e.others_own += u64::from(own);
                }
            }
            e
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
    /// The lowest threshold with precision ≥ 0.8, and the recall there.
    pub best_threshold: Option<(f32, f64)>,
    /// The threshold the calibration rule picks on this shop: the lowest with precision ≥
    /// [`CALIBRATION_PRECISION`], plus [`CALIBRATION_MARGIN`], rounded up to hundredths. The
    /// shipped [`TagSpec::threshold`]s are this, read on the calibration shop (seed 7).
    pub calibrated_threshold: Option<f32>,
}

/// Precision the calibration rule aims at (above the 0.8 goal, for the margin of another shop).
pub const CALIBRATION_PRECISION: f64 = 0.82;
/// Added to the calibration threshold, so that a crowd of people with the same weak evidence
/// just below it cannot tip the tag.
pub const CALIBRATION_MARGIN: f32 = 0.02;

/// Over `(score, carries)` sorted by descending score: the lowest positive score at which
/// precision is at least `floor`, and the recall there (ties are taken together).
fn lowest_threshold_at(labelled: &[(f32, bool)], actual: u64, floor: f64) -> Option<(f32, f64)> {
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
        if tp as f64 >= floor * n as f64 && actual > 0 {
            best = Some((s, tp as f64 / actual as f64));
        }
    }
    best
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
            labelled.sort_by(|a, b| b.0.total_cmp(&a.0));
            let calibrated_threshold =
                lowest_threshold_at(&labelled, actual, CALIBRATION_PRECISION).map(|(t, _)| {
                    ((t + CALIBRATION_MARGIN) * 100.0 - 1e-4).ceil().min(100.0) / 100.0
                });
            TagQuality {
                tag: tag.name,
                predicted,
                actual,
                precision,
                recall,
                best_threshold: lowest_threshold_at(&labelled, actual, 0.8),
                calibrated_threshold,
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

    fn shop(people: usize) -> (ProfileStore, ProductTaxonomy) {
        let taxonomy = ProductTaxonomy::parse(
            "1 - Animals & Pet Supplies\n2 - Animals & Pet Supplies > Pet Supplies\n\
             3 - Home & Garden\n4 - Home & Garden > Kitchen & Dining\n",
        )
        .unwrap_or_else(|e| panic!("taxonomy: {e}"));
        let mut store = ProfileStore::default();
        let reference = audex_profile::Reference {
            catalog: None,
            taxonomy: Some(&taxonomy),
        };
        let mut n = 0;
        for who in 0..people {
            let mut event = |day: u32, body: &str| {
                n += 1;
                let line = format!(
                    r#"{{"type":"track","anonymousId":"a{who}","messageId":"m{n}","timestamp":"2026-01-{day:02}T10:00:00Z",{body}}}"#
                );
                let e = audex_model::event::parse_event_json(line.as_bytes(), i64::MAX / 4)
                    .unwrap_or_else(|e| panic!("{line}: {e}"));
                let _ = store.apply(&e, reference);
            };
            let pets = r#""event":"Product Viewed","properties":{"product_id":"p1","category":"Animals & Pet Supplies > Pet Supplies"}"#;
            let kitchen = r#""event":"Product Viewed","properties":{"product_id":"k1","category":"Home & Garden > Kitchen & Dining"}"#;
            let page = r#""event":"Publisher Page Viewed","properties":{"url":"https://p.example/x","categories":["423","422"]}"#;
            // Day 1: two pet product views and two pet pages; day 2: a kitchen product.
            event(1, pets);
            event(1, pets);
            event(1, page);
            event(1, page);
            event(2, kitchen);
        }
        (store, taxonomy)
    }

    #[test]
    fn evidence_counts_product_days_and_page_reads() {
        let (store, taxonomy) = shop(MIN_CHANNEL_COUNT as usize);
        let ev = evidence(&store, Some(&taxonomy), 20_000);
        let pet = tag_index("pet_owner").unwrap_or(0);
        assert_eq!(ev.people.len(), MIN_CHANNEL_COUNT as usize);
        for p in &ev.people {
            // Two views on one day are one product day; each page read counts (its parent
            // category, sent beside it, does not).
            assert_eq!(p.totals, [2, 2, 0]);
            assert_eq!((p.tag_days[pet], p.tag_pages[pet]), (1, 2));
            assert!(p.tag_days.iter().sum::<u16>() == 1 && p.tag_pages.iter().sum::<u16>() == 2);
        }
        let names: Vec<(&str, Family, bool)> = ev
            .channels
            .iter()
            .map(|c| (c.name.as_str(), c.family, c.tags & (1 << pet) != 0))
            .collect();
        assert!(names.contains(&(
            "Home & Garden > Kitchen & Dining",
            Family::ProductDays,
            false
        )));
        assert!(names.contains(&(
            "Animals & Pet Supplies > Pet Supplies",
            Family::ProductDays,
            true
        )));
        assert!(names.contains(&("Pets>Birds", Family::Pages, true)));
        // The dense row holds the same counts, under their names; a product day counts as
        // recent within RECENT_DAYS of today (2026-01-01 is day 20,454).
        let names = ev.column_names();
        let value = |ev: &Evidence, column: &str| {
            let mut row = Vec::new();
            ev.dense_row(0, &mut row);
            assert_eq!(row.len(), names.len());
            names
                .iter()
                .position(|n| n == column)
                .map(|i| row[i])
                .unwrap_or_else(|| panic!("no column {column}"))
        };
        assert_eq!(value(&ev, "product_days"), 2.0);
        assert_eq!(value(&ev, "pet_owner_days"), 1.0);
        assert_eq!(value(&ev, "pet_owner_pages"), 2.0);
        assert_eq!(
            value(&ev, "ProductDays:Animals & Pet Supplies > Pet Supplies"),
            1.0
        );
        assert_eq!(value(&ev, "gender=0"), 1.0);
        let soon = evidence(&store, Some(&taxonomy), 20_454 + 10);
        assert_eq!(value(&soon, "pet_owner_recent_days"), 1.0);
        let later = evidence(&store, Some(&taxonomy), 20_454 + 100);
        assert_eq!(value(&later, "pet_owner_recent_days"), 0.0);
        assert_eq!(value(&later, "pet_owner_days"), 1.0);
        let mut unknown = Vec::new();
        ev.dense_row(u32::MAX, &mut unknown);
        assert!(unknown.len() == names.len() && unknown.iter().all(|v| *v == 0.0));
        // Below the support floor, a channel is left out.
        let (small, taxonomy) = shop(2);
        assert!(
            evidence(&small, Some(&taxonomy), 20_000)
                .channels
                .is_empty()
        );
    }

    /// People with the tag show its anchor on two of three days and a kitchen group on half
    /// their days; a tenth of the others show the kitchen group every day. Learned from the
    /// anchors' posteriors, a kitchen day weighs for the tag.
    #[test]
    fn vocabulary_channels_are_learned_from_the_anchors() {
        let tag = tag_index("foodie").unwrap_or(0);
        let channels = vec![VocabChannel {
            family: Family::ProductDays,
            name: "Home & Garden > Kitchen & Dining".into(),
            tags: 0,
        }];
        let mut ev = Evidence {
            channels,
            ..Evidence::default()
        };
        let mut add = |days: u16, anchor: u16, kitchen: u16| {
            let mut p = Person {
                start: ev.counts.len() as u32,
                ..Person::default()
            };
            p.totals[Family::ProductDays as usize] = days;
            p.tag_days[tag] = anchor;
            if kitchen > 0 {
                ev.counts.push((0, kitchen));
                p.len = 1;
            }
            ev.people.push(p);
        };
        for k in 0..3000u16 {
            if k % 10 < 3 {
                add(6, 4, 3);
            } else {
                add(6, 0, u16::from(k % 10 == 3) * 6);
            }
        }
        add(1, 0, 1);
        add(1, 0, 0);
        let inf = fit_and_score(&ev);
        let m = &inf.models[tag];
        assert!(m.others[0].p1 > 2.0 * m.others[0].p0, "{:?}", m.others[0]);
        assert!((m.prior - 0.3).abs() < 0.05, "prior {}", m.prior);
        let n = inf.scores.len();
        let (with, without) = (inf.scores[n - 2][tag], inf.scores[n - 1][tag]);
        assert!(with > 2.0 * without, "{with} vs {without}");
    }

    #[test]
    fn content_paths_resolve() {
        let p = content_path("1").unwrap_or_default();
        assert!(!p.is_empty());
    }
}
