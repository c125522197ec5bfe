//! IAB Tech Lab Content Taxonomy 3.1 (CC BY 3.0, attribution: IAB Tech Lab), embedded, and the
//! mapping from simulated interests to its categories for publisher page views.

/// The embedded taxonomy file (2-line header, CRLF line endings).
const CONTENT_TAXONOMY_3_1: &str = include_str!("../data/content_taxonomy_3.1.tsv");

/// `cattax` value written beside `categories` on `Publisher Page Viewed` events. The ids used are
/// exactly those shared by Content Taxonomy 3.0 and 3.1 (3.1 only added id 700 and renamed a few
/// labels), so the AdCOM value for Content Taxonomy 3.0 (7) holds for them.
pub const CATTAX: u32 = 7;

/// One IAB content category.
#[derive(Debug, Clone)]
pub(crate) struct IabCategory {
    pub id: &'static str,
    pub parent: &'static str,
    pub name: &'static str,
    /// URL-friendly form of the name.
    pub slug: String,
}

/// What a publisher page can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topic {
    Foodie = 0,
    PetOwner,
    Luxury,
    Sports,
    Tech,
    Beauty,
    Home,
    Fashion,
    NewParent,
    RecentlyMoved,
    Student,
    General,
}

pub(crate) const TOPIC_COUNT: usize = 12;

/// Taxonomy subtrees (paths of tier names joined by `>`) per topic, in [`Topic`] order.
const TOPIC_PATHS: [&[&str]; TOPIC_COUNT] = [
    &["Food & Drink"],
    &["Pets"],
    &[
        "Style & Fashion>High Fashion",
        "Style & Fashion>Designer Clothing",
        "Automotive>Auto Type>Luxury Cars",
        "Travel>Travel Type>Spas",
        "Travel>Travel Type>Cruises",
    ],
    &["Sports", "Healthy Living>Fitness and Exercise"],
    &["Technology & Computing", "Video Gaming"],
    &["Style & Fashion>Beauty", "Style & Fashion>Personal Care"],
    &["Home & Garden"],
    &[
        "Style & Fashion>Women's Fashion",
        "Style & Fashion>Men's Fashion",
        "Style & Fashion>Fashion Trends",
        "Style & Fashion>Street Style",
        "Pop Culture>Celebrity Style",
    ],
    &[
        "Family and Relationships>Parenting>Parenting Babies and Toddlers",
        "Personal Celebrations & Life Events>Baby Shower",
        "Personal Celebrations & Life Events>Birth",
        "Education>Early Childhood Education",
    ],
    &[
        "Real Estate",
        "Home & Garden>Interior Decorating",
        "Home & Garden>Home Improvement",
    ],
    &[
        "Education>College Education",
        "Education>Homework and Study",
        "Careers",
        "Personal Finance>Frugal Living",
    ],
    &[
        "Entertainment>Movies",
        "Entertainment>Music",
        "Entertainment>Television",
        "Pop Culture",
        "Business and Finance>Economy",
        "Travel>Travel Locations",
        "Science",
    ],
];

/// Publisher domains per topic, in [`Topic`] order.
pub(crate) const TOPIC_DOMAINS: [&[&str]; TOPIC_COUNT] = [
    &[
        "www.forkandflame.example",
        "tastebudsdaily.example",
        "www.pantrynotes.example",
    ],
    &["www.pawsandwhiskers.example", "petdigest.example"],
    &["www.gildedlife.example", "luxe-report.example"],
    &[
        "www.finalwhistle.example",
        "runnersjournal.example",
        "www.scoreline.example",
    ],
    &[
        "www.bytebeat.example",
        "gadgetlab.example",
        "www.circuitwire.example",
    ],
    &["www.glowguide.example", "beautydesk.example"],
    &["www.nestandbloom.example", "homeideas.example"],
    &["www.runwaydaily.example", "stylecircuit.example"],
    &["www.tinysteps.example", "parentlounge.example"],
    &["www.movingday.example", "homefinder.example"],
    &["www.campuslife.example", "studyhall.example"],
    &[
        "www.morningledger.example",
        "www.popfeed.example",
        "worldwire.example",
    ],
];

const TITLE_TEMPLATES: [(&str, &str); 8] = [
    ("", ": what to know this week"),
    ("10 ideas for ", ""),
    ("The beginner's guide to ", ""),
    ("", " — the experts answer your questions"),
    ("Why everyone is talking about ", ""),
    ("", ": our picks of the month"),
    ("How we tested: ", ""),
    ("", " on a budget"),
];

/// Topic-to-category mapping built from the embedded taxonomy.
pub(crate) struct Iab {
    pub categories: Vec<IabCategory>,
    /// Indices into `categories` per topic.
    pub topics: Vec<Vec<u32>>,
    /// Entries of `TOPIC_PATHS` that matched nothing (empty unless the embedded file changed).
    pub missing: Vec<&'static str>,
}

/// Lowercases and replaces every run of non-alphanumeric characters by one `-`.
pub(crate) fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

impl Iab {
    /// Parses the embedded taxonomy.
    pub(crate) fn load() -> Iab {
        let mut categories = Vec::new();
        let mut paths = Vec::new();
        let mut sensitive = Vec::new();
        for line in CONTENT_TAXONOMY_3_1.lines().skip(2) {
            let cols: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
            if cols.len() < 7 || cols[0].is_empty() {
                continue;
            }
            let path: Vec<&str> = cols[3..7]
                .iter()
                .copied()
                .filter(|t| !t.is_empty())
                .collect();
            categories.push(IabCategory {
                id: cols[0],
                parent: cols[1],
                name: cols[2],
                slug: slugify(cols[2]),
            });
            paths.push(path.join(">"));
            // Sensitive-category data (SCD) and the one id new in 3.1 are never emitted.
            sensitive.push(cols.get(7).is_some_and(|e| e.contains("SCD")) || cols[0] == "700");
        }
        let mut topics = Vec::with_capacity(TOPIC_COUNT);
        let mut missing = Vec::new();
        for prefixes in TOPIC_PATHS {
            let mut ids = Vec::new();
            for prefix in prefixes {
                let before = ids.len();
                for (i, p) in paths.iter().enumerate() {
                    let under = p == prefix
                        || (p.starts_with(prefix) && p.as_bytes().get(prefix.len()) == Some(&b'>'));
                    if under && !sensitive[i] && !ids.contains(&(i as u32)) {
                        ids.push(i as u32);
                    }
                }
                if ids.len() == before {
                    missing.push(*prefix);
                }
            }
            topics.push(ids);
        }
        Iab {
            categories,
            topics,
            missing,
        }
    }

    /// Appends a publisher page title for category `cat` and article number `article`.
    pub(crate) fn title(&self, cat: u32, article: u32) -> String {
        let (pre, post) = TITLE_TEMPLATES[article as usize % TITLE_TEMPLATES.len()];
        let name = self.categories[cat as usize].name;
        format!("{pre}{name}{post}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_resolves_to_shared_3_0_ids() {
        let iab = Iab::load();
        assert!(iab.categories.len() > 600);
        assert!(iab.missing.is_empty(), "unresolved: {:?}", iab.missing);
        let v30 = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/iab-taxonomies/content_taxonomy_3.0.tsv"
        ))
        .ok();
        for (t, prefixes) in TOPIC_PATHS.iter().enumerate() {
            assert!(
                iab.topics[t].len() >= prefixes.len(),
                "topic {t} resolved to too few categories"
            );
            for &c in &iab.topics[t] {
                let id = iab.categories[c as usize].id;
                if let Some(v30) = &v30 {
                    assert!(
                        v30.lines().any(|l| l.split('\t').next() == Some(id)),
                        "{id} not in Content Taxonomy 3.0"
                    );
                }
            }
        }
        assert_eq!(slugify("Food & Drink"), "food-drink");
    }
}
