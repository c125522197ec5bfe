//! The shipped classifier: IAB Content Taxonomy 3.1 categories from a page's words, built at
//! first use from shippable material only: the taxonomy's own names and paths (CC BY 3.0, IAB
//! Tech Lab) and hand-written tier-1 keyword seeds (`data/seeds.tsv`). No labelled corpus.
//!
//! Two naive Bayes models: one over tier-1 categories (each one's document is its seeds, its
//! name and every name in its subtree), one over all categories (own name, ancestors' names);
//! the first picks the tier-1, the second the deepest category under it whose own name occurs.

use std::sync::OnceLock;

use audex_model::taxonomy::ContentTaxonomy;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::ContextualError;
use crate::linear::{Example, LinearModel, NbOptions, argmax, softmax, train_naive_bayes};
use crate::text::{FeatureBuilder, Features, Page, url_words, words};

/// Tier-1 categories that are not topics and never predicted: Sensitive Topics (a
/// brand-safety axis) and Genres (a media-format axis).
pub const EXCLUDED_ROOTS: [&str; 2] = ["v9i3On", "SPSHQ5"];

/// Naive Bayes options of the shipped classifier (chosen on the AG News training part).
pub const SHIPPED_OPTIONS: NbOptions = NbOptions {
    alpha: 0.05,
    uniform_prior: true,
    equalize: true,
};

/// Weight of a seed word in its tier-1 document, against 1 for a subtree name (chosen on the
/// AG News training part).
pub const SHIPPED_SEED_WEIGHT: f32 = 10.0;

/// The embedded keyword seeds.
pub const SEEDS_TSV: &str = include_str!("../data/seeds.tsv");

/// One predicted category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// IAB Content Taxonomy 3.1 unique id.
    pub id: String,
    /// The category's name.
    pub name: String,
    /// 1 for a tier-1 category, 2 for its children, …
    pub tier: usize,
    /// Probability of the category's tier-1 (the tier-1's own probability for deeper ones).
    pub score: f32,
}

/// The shipped content classifier (see the module documentation).
pub struct ContentClassifier {
    tier1: LinearModel,
    full: LinearModel,
    taxonomy: &'static ContentTaxonomy,
    /// Own-name words per category index of `full`.
    own_words: Vec<Vec<String>>,
    full_index: FxHashMap<String, usize>,
}

fn seed_words(seed: &str) -> Vec<String> {
    words(&seed.replace('_', " "))
}

/// Parses `seeds.tsv`: `id<TAB>words` lines, `#` comments.
fn parse_seeds(text: &str) -> Result<FxHashMap<String, Vec<String>>, ContextualError> {
    let mut out = FxHashMap::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (id, ws) = line.split_once('\t').ok_or(ContextualError::Seeds {
            line: i + 1,
            message: "expected `id<TAB>words`".into(),
        })?;
        out.insert(
            id.trim().to_string(),
            ws.split_whitespace().map(str::to_string).collect(),
        );
    }
    Ok(out)
}

impl ContentClassifier {
    /// The classifier built from the embedded taxonomy and seeds (once per process).
    pub fn shipped() -> Result<&'static ContentClassifier, ContextualError> {
        static CELL: OnceLock<Result<ContentClassifier, ContextualError>> = OnceLock::new();
        CELL.get_or_init(|| ContentClassifier::build(ContentTaxonomy::iab_3_1(), SEEDS_TSV))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Builds the classifier from a taxonomy and a seeds text (`id<TAB>words` lines).
    pub fn build(
        taxonomy: &'static ContentTaxonomy,
        seeds: &str,
    ) -> Result<ContentClassifier, ContextualError> {
        Self::build_with(taxonomy, seeds, SHIPPED_OPTIONS, SHIPPED_SEED_WEIGHT)
    }

    /// [`ContentClassifier::build`] with explicit naive Bayes options and seed weight.
    pub fn build_with(
        taxonomy: &'static ContentTaxonomy,
        seeds: &str,
        options: NbOptions,
        seed_weight: f32,
    ) -> Result<ContentClassifier, ContextualError> {
        let seeds = parse_seeds(seeds)?;
        for id in seeds.keys() {
            if taxonomy.get(id).is_none() {
                return Err(ContextualError::Seeds {
                    line: 0,
                    message: format!("seed category {id} is not in the taxonomy"),
                });
            }
        }
        let excluded = |id: &str| EXCLUDED_ROOTS.iter().any(|r| taxonomy.is_descendant(id, r));
        let roots: Vec<&str> = taxonomy.roots().filter(|r| !excluded(r)).collect();
        let root_pos: FxHashMap<&str, usize> =
            roots.iter().enumerate().map(|(i, r)| (*r, i)).collect();

        // Tier-1 documents.
        let mut t1_docs: Vec<FeatureBuilder> =
            roots.iter().map(|_| FeatureBuilder::new()).collect();
        let mut full_classes = Vec::new();
        let mut full_examples = Vec::new();
        let mut own_words = Vec::new();
        for c in taxonomy.iter() {
            if excluded(&c.id) {
                continue;
            }
            let name = words(&c.name);
            let Some(root) = taxonomy.ancestors(&c.id).last() else {
                continue;
            };
            let Some(&rp) = root_pos.get(root) else {
                continue;
            };
            let depth = taxonomy.ancestors(&c.id).count();
            t1_docs[rp].words(&name, if depth == 1 { 3.0 } else { 1.0 });

            let mut fb = FeatureBuilder::new();
            fb.words(&name, 3.0);
            for a in taxonomy.ancestors(&c.id).skip(1) {
                if let Some(n) = taxonomy.name(a) {
                    fb.words(&words(n), 1.0);
                }
            }
            full_examples.push(Example {
                features: fb.build(),
                label: full_classes.len(),
            });
            full_classes.push(c.id.clone());
            own_words.push(name);
        }
        for (id, ws) in &seeds {
            if let Some(&rp) = root_pos.get(id.as_str()) {
                for w in ws {
                    t1_docs[rp].words(&seed_words(w), seed_weight);
                }
            }
        }
        let t1_examples: Vec<Example> = t1_docs
            .into_iter()
            .enumerate()
            .map(|(label, fb)| Example {
                features: fb.build(),
                label,
            })
            .collect();
        let tier1 = train_naive_bayes(
            &t1_examples,
            roots.iter().map(|r| r.to_string()).collect(),
            options,
        );
        let full = train_naive_bayes(&full_examples, full_classes.clone(), options);
        let full_index = full_classes
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect();
        Ok(ContentClassifier {
            tier1,
            full,
            taxonomy,
            own_words,
            full_index,
        })
    }

    /// Tier-1 probabilities of a page, best first; empty when no word of the page is known.
    pub fn tier1(&self, page: &Page) -> Vec<Scored> {
        self.tier1_of(&page.features())
    }

    fn tier1_of(&self, x: &Features) -> Vec<Scored> {
        let (mut s, known) = self.tier1.scores(x);
        if known == 0.0 {
            return Vec::new();
        }
        softmax(&mut s);
        let mut out: Vec<Scored> = self
            .tier1
            .classes
            .iter()
            .zip(s)
            .map(|(id, p)| Scored {
                id: id.clone(),
                name: self.taxonomy.name(id).unwrap_or_default().to_string(),
                tier: 1,
                score: p,
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out
    }

    /// The page's categories: its tier-1, then the path down to the deepest category under
    /// it whose own name occurs in the page (if any). Empty when nothing is known of the page.
    pub fn classify(&self, page: &Page) -> Vec<Scored> {
        let x = page.features();
        let Some(top) = self.tier1_of(&x).into_iter().next() else {
            return Vec::new();
        };
        let mut present: FxHashSet<String> = words(&page.title).into_iter().collect();
        present.extend(words(&page.text));
        present.extend(url_words(&page.url));
        let (scores, _) = self.full.scores(&x);
        let mut best: Option<(usize, f32)> = None;
        for (i, id) in self.full.classes.iter().enumerate() {
            if id == &top.id || !self.taxonomy.is_descendant(id, &top.id) {
                continue;
            }
            let own = &self.own_words[i];
            if own.is_empty() || !own.iter().all(|w| present.contains(w)) {
                continue;
            }
            if best.is_none_or(|(_, s)| scores[i] > s) {
                best = Some((i, scores[i]));
            }
        }
        let mut out = vec![top.clone()];
        if let Some((i, _)) = best {
            let deep = &self.full.classes[i];
            let mut chain: Vec<&str> = self.taxonomy.ancestors(deep).collect();
            chain.reverse();
            for (depth, id) in chain.into_iter().enumerate().skip(1) {
                out.push(Scored {
                    id: id.to_string(),
                    name: self.taxonomy.name(id).unwrap_or_default().to_string(),
                    tier: depth + 1,
                    score: top.score,
                });
            }
        }
        out
    }

    /// The best category among `candidates` (ids, or groups of ids summed), by tier-1
    /// probability mass: for closed-label evaluation. `None` without evidence.
    pub fn best_group(&self, page: &Page, groups: &[&[&str]]) -> Option<usize> {
        let t1 = self.tier1(page);
        if t1.is_empty() {
            return None;
        }
        let mass: Vec<f32> = groups
            .iter()
            .map(|g| {
                t1.iter()
                    .filter(|s| g.contains(&s.id.as_str()))
                    .map(|s| s.score)
                    .sum()
            })
            .collect();
        Some(argmax(&mass))
    }

    /// Number of categories the classifier can output.
    pub fn categories(&self) -> usize {
        self.full_index.len()
    }

    /// Number of stored weights (tier-1 model, full model).
    pub fn weights(&self) -> (usize, usize) {
        (self.tier1.weight_count(), self.full.weight_count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(title: &str) -> Page {
        Page {
            title: title.into(),
            ..Default::default()
        }
    }

    #[test]
    fn shipped_classifier_builds_and_classifies_obvious_pages() {
        let c = ContentClassifier::shipped().unwrap();
        assert!(c.categories() > 600);
        let top = |t: &str| c.classify(&page(t)).first().map(|s| s.id.clone());
        assert_eq!(
            top("Yankees beat Red Sox in extra innings").as_deref(),
            Some("483")
        );
        assert_eq!(
            top("Quarterly earnings beat forecasts, shares rise").as_deref(),
            Some("52")
        );
        assert_eq!(
            top("New smartphone chip from Intel speeds up laptops").as_deref(),
            Some("596")
        );
        assert!(c.classify(&page("zzzq xxyq")).is_empty());
        let deep = c.classify(&Page {
            url: "https://example.com/sports/basketball/123".into(),
            title: "Finals preview".into(),
            text: String::new(),
        });
        assert_eq!(deep[0].id, "483");
        assert!(deep.iter().any(|s| s.name == "Basketball"), "{deep:?}");
    }
}
