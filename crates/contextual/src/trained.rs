//! Classifiers a deployment trains on its own labelled pages (`audex model contextual train`):
//! multinomial naive Bayes over the page's hashed words and bigrams — the learner MODELS.md
//! measured level with scikit-learn's TF-IDF baselines — labelled with IAB Content Taxonomy 3.1
//! ids of any tier.
//!
//! Trained models are installed, never replaced: `DATA/contextual/model-<installed_ms>.json`.
//! [`Classifiers::classify_at`] uses the newest model installed by the given moment, else the
//! shipped classifier, so that replaying the event log classifies every page the way it was
//! classified when it was received.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use audex_model::EventKind;
use audex_model::event::Event;
use audex_model::taxonomy::ContentTaxonomy;
use serde::{Deserialize, Serialize};

use crate::classifier::{ContentClassifier, EXCLUDED_ROOTS, Scored};
use crate::linear::{Example, LinearModel, NbOptions, argmax, softmax, train_naive_bayes};
use crate::text::Page;
use crate::{ContextualError, page_of};

/// One labelled page of a training corpus: an NDJSON line
/// `{"url": …, "title": …, "text": …, "category": "<Content 3.1 id>"}` (url, title and text
/// optional, at least one of them non-empty).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LabeledPage {
    /// The page.
    #[serde(flatten)]
    pub page: Page,
    /// Its IAB Content Taxonomy 3.1 category id.
    pub category: String,
}

/// Reads a corpus of [`LabeledPage`] lines (blank lines skipped). An error names the line and
/// column, and the field when a category is not a usable Content 3.1 id.
pub fn read_corpus(reader: impl BufRead) -> Result<Vec<LabeledPage>, ContextualError> {
    let taxonomy = ContentTaxonomy::iab_3_1();
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| ContextualError::Io(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = |column: usize, message: String| ContextualError::Corpus {
            line: i + 1,
            message: format!("column {column}: {message}"),
        };
        let page: LabeledPage =
            serde_json::from_str(&line).map_err(|e| at(e.column(), e.to_string()))?;
        if taxonomy.get(&page.category).is_none() {
            return Err(at(
                1,
                format!(
                    "field `category`: {:?} is not an IAB Content Taxonomy 3.1 id",
                    page.category
                ),
            ));
        }
        if EXCLUDED_ROOTS
            .iter()
            .any(|r| taxonomy.is_descendant(&page.category, r))
        {
            return Err(at(
                1,
                format!(
                    "field `category`: {} is under Sensitive Topics or Genres, which are not page topics",
                    page.category
                ),
            ));
        }
        if page.page.url.is_empty() && page.page.title.is_empty() && page.page.text.is_empty() {
            return Err(at(1, "the page has no `url`, `title` or `text`".into()));
        }
        out.push(page);
    }
    Ok(out)
}

/// A classifier trained on labelled pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainedClassifier {
    /// When it was installed (Unix ms); 0 before installation.
    pub installed_ms: i64,
    /// Pages it was trained on.
    pub trained_on: usize,
    model: LinearModel,
}

impl TrainedClassifier {
    /// Trains naive Bayes on `pages` (at least two distinct categories).
    pub fn train<'a>(
        pages: impl IntoIterator<Item = &'a LabeledPage>,
    ) -> Result<TrainedClassifier, ContextualError> {
        let pages: Vec<&LabeledPage> = pages.into_iter().collect();
        let mut classes: Vec<String> = pages.iter().map(|p| p.category.clone()).collect();
        classes.sort();
        classes.dedup();
        if classes.len() < 2 {
            return Err(ContextualError::Corpus {
                line: 0,
                message: format!(
                    "a corpus needs at least two categories; it has {}",
                    classes.len()
                ),
            });
        }
        let examples: Vec<Example> = pages
            .iter()
            .map(|p| Example {
                features: p.page.features(),
                label: classes.binary_search(&p.category).unwrap_or_default(),
            })
            .collect();
        Ok(TrainedClassifier {
            installed_ms: 0,
            trained_on: pages.len(),
            model: train_naive_bayes(&examples, classes, NbOptions::default()),
        })
    }

    /// The categories it can predict.
    pub fn categories(&self) -> &[String] {
        &self.model.classes
    }

    /// The page's categories: the predicted one's path from its tier-1 down to it, each scored
    /// with the prediction's probability. Empty when no word of the page is known.
    pub fn classify(&self, page: &Page) -> Vec<Scored> {
        let (mut s, known) = self.model.scores(&page.features());
        if known == 0.0 || s.is_empty() {
            return Vec::new();
        }
        softmax(&mut s);
        let best = argmax(&s);
        let Some(id) = self.model.classes.get(best) else {
            return Vec::new();
        };
        let taxonomy = ContentTaxonomy::iab_3_1();
        let mut chain: Vec<&str> = taxonomy.ancestors(id).collect();
        chain.reverse();
        chain
            .into_iter()
            .enumerate()
            .map(|(depth, c)| Scored {
                id: c.to_string(),
                name: taxonomy.name(c).unwrap_or_default().to_string(),
                tier: depth + 1,
                score: s[best],
            })
            .collect()
    }
}

/// The shipped classifier and the trained ones, oldest first (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Classifiers {
    trained: Vec<Arc<TrainedClassifier>>,
}

/// Where a data directory keeps its trained models.
pub fn models_dir(data: &Path) -> PathBuf {
    data.join("contextual")
}

/// The installed model files under `data` (`model-<installed_ms>.json`), oldest first.
fn model_files(data: &Path) -> Result<Vec<(i64, PathBuf)>, ContextualError> {
    let dir = models_dir(data);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ContextualError::Io(format!("{}: {e}", dir.display()))),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| ContextualError::Io(format!("{}: {e}", dir.display())))?
            .path();
        let installed = path.file_name().and_then(|n| n.to_str()).and_then(|n| {
            n.strip_prefix("model-")?
                .strip_suffix(".json")?
                .parse()
                .ok()
        });
        if let Some(ms) = installed {
            out.push((ms, path));
        }
    }
    out.sort();
    Ok(out)
}

impl Classifiers {
    /// Loads every model installed under `data` (none: only the shipped classifier).
    pub fn load(data: &Path) -> Result<Classifiers, ContextualError> {
        let mut trained = Vec::new();
        for (_, path) in model_files(data)? {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ContextualError::Io(format!("{}: {e}", path.display())))?;
            let model: TrainedClassifier = serde_json::from_str(&text)
                .map_err(|e| ContextualError::Io(format!("{}: {e}", path.display())))?;
            trained.push(Arc::new(model));
        }
        trained.sort_by_key(|m| m.installed_ms);
        Ok(Classifiers { trained })
    }

    /// Installs `model` under `data` as of `now_ms` (later than any installed one) and returns
    /// its file; written to a temporary file, synced, then renamed.
    pub fn install(
        data: &Path,
        mut model: TrainedClassifier,
        now_ms: i64,
    ) -> Result<(PathBuf, TrainedClassifier), ContextualError> {
        let after = model_files(data)?.last().map_or(i64::MIN, |(ms, _)| *ms);
        model.installed_ms = now_ms.max(after.saturating_add(1));
        let dir = models_dir(data);
        let io = |e: std::io::Error| ContextualError::Io(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(&dir).map_err(io)?;
        let path = dir.join(format!("model-{}.json", model.installed_ms));
        let tmp = dir.join(format!(".model-{}.json.tmp", model.installed_ms));
        let bytes = serde_json::to_vec(&model).map_err(|e| ContextualError::Io(e.to_string()))?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok((path, model))
    }

    /// The trained model in use at `ms`, if any.
    pub fn trained_at(&self, ms: i64) -> Option<&TrainedClassifier> {
        let n = self.trained.partition_point(|m| m.installed_ms <= ms);
        n.checked_sub(1).map(|i| self.trained[i].as_ref())
    }

    /// Every installed model, oldest first.
    pub fn installed(&self) -> impl Iterator<Item = &TrainedClassifier> {
        self.trained.iter().map(Arc::as_ref)
    }

    /// The page's categories with the classifier in use at `ms`.
    pub fn classify_at(&self, ms: i64, page: &Page) -> Vec<Scored> {
        match self.trained_at(ms) {
            Some(m) => m.classify(page),
            None => ContentClassifier::shipped()
                .map(|c| c.classify(page))
                .unwrap_or_default(),
        }
    }

    /// Ingest hook: a `Publisher Page Viewed` event without categories gets those of the
    /// classifier in use when the event was received. Returns whether it changed the event.
    pub fn fill_page_categories(&self, event: &mut Event) -> bool {
        if event.kind != EventKind::PublisherPageViewed || !event.page_categories.is_empty() {
            return false;
        }
        let page = page_of(event);
        if page.url.is_empty() && page.title.is_empty() && page.text.is_empty() {
            return false;
        }
        event.page_categories = self
            .classify_at(event.received_at_ms, &page)
            .into_iter()
            .map(|s| s.id)
            .collect();
        !event.page_categories.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<LabeledPage> {
        // Made-up pages: "Pets > Birds" (id 423 under Pets 422) against "Food & Drink" (210).
        let mut out = Vec::new();
        for k in 0..20 {
            out.push(LabeledPage {
                page: Page {
                    title: format!("Parrot cage tips {k}"),
                    text: "feathers seed perch budgie".into(),
                    url: String::new(),
                },
                category: "423".into(),
            });
            out.push(LabeledPage {
                page: Page {
                    title: format!("Sourdough starter {k}"),
                    text: "flour oven crust bake".into(),
                    url: String::new(),
                },
                category: "210".into(),
            });
        }
        out
    }

    #[test]
    fn trains_classifies_and_paths_from_tier_one() {
        let m = TrainedClassifier::train(&corpus()).expect("trains");
        assert_eq!(m.categories(), ["210", "423"]);
        let birds = m.classify(&Page {
            title: "Budgie perch".into(),
            ..Page::default()
        });
        let ids: Vec<&str> = birds.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["422", "423"]);
        assert_eq!((birds[0].tier, birds[1].tier), (1, 2));
        assert!(birds[0].score > 0.5);
        let bread = m.classify(&Page {
            text: "a crust from the oven".into(),
            ..Page::default()
        });
        assert_eq!(bread.first().map(|s| s.id.as_str()), Some("210"));
        assert!(
            m.classify(&Page {
                title: "zzzz qqqq".into(),
                ..Page::default()
            })
            .is_empty()
        );
        let one = &corpus()[..1];
        assert!(TrainedClassifier::train(one).is_err());
    }

    #[test]
    fn corpus_errors_name_line_column_and_field() {
        let good = "{\"title\":\"Parrots\",\"category\":\"423\"}\n\n";
        assert_eq!(read_corpus(good.as_bytes()).map(|c| c.len()), Ok(1));
        let err = |text: &str| read_corpus(text.as_bytes()).unwrap_err().to_string();
        let e =
            err("{\"title\":\"a\",\"category\":\"423\"}\n{\"title\": \"b\", \"category\": 7}\n");
        assert!(e.starts_with("corpus line 2: column"), "{e}");
        let e = err("{\"title\":\"a\",\"category\":\"nope\"}\n");
        assert!(e.contains("line 1") && e.contains("`category`"), "{e}");
        let e = err("{\"category\":\"423\"}\n");
        assert!(e.contains("no `url`, `title` or `text`"), "{e}");
    }

    #[test]
    fn the_model_of_a_moment_is_the_newest_installed_by_then() {
        let dir = std::env::temp_dir().join(format!("audex-ctx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            Classifiers::load(&dir)
                .expect("empty")
                .trained_at(i64::MAX)
                .is_none()
        );
        let m = TrainedClassifier::train(&corpus()).expect("trains");
        let (_, first) = Classifiers::install(&dir, m.clone(), 1_000).expect("installs");
        // A second install in the same millisecond still comes strictly later.
        let (_, second) = Classifiers::install(&dir, m, 1_000).expect("installs");
        assert_eq!((first.installed_ms, second.installed_ms), (1_000, 1_001));
        let c = Classifiers::load(&dir).expect("loads");
        std::fs::remove_dir_all(&dir).ok();
        assert!(c.trained_at(999).is_none());
        assert_eq!(c.trained_at(1_000).map(|m| m.installed_ms), Some(1_000));
        assert_eq!(c.trained_at(5_000).map(|m| m.installed_ms), Some(1_001));
        let page = Page {
            title: "Budgie perch".into(),
            ..Page::default()
        };
        // Before the first install, the shipped classifier answers (its own tier-1 choice).
        let shipped = ContentClassifier::shipped()
            .map(|s| s.classify(&page))
            .unwrap_or_default();
        assert_eq!(c.classify_at(999, &page), shipped);
        assert_eq!(
            c.classify_at(1_000, &page).last().map(|s| s.id.as_str()),
            Some("423")
        );
    }
}
