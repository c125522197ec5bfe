//! Audex contextual classification: what a publisher page is about, as IAB Content Taxonomy
//! 3.1 categories.
//!
//! - [`ContentClassifier::shipped`] classifies a [`Page`] (URL, title, text) with a model built
//!   from shippable material only (the taxonomy's names and hand-written seeds).
//! - [`openrtb`] prefers the categories an OpenRTB request already carries (`site.cat`,
//!   `site.content.cat`, `app.*`), mapping Content 1.0 codes, and classifies only without them.
//! - [`linear`] holds the sparse linear model and its two trainers (naive Bayes, softmax
//!   regression); [`eval`] measures them on a labelled corpus (tests and reports only).
//! - [`trained`]: a deployment's own classifier, trained on its labelled pages and installed
//!   in the data directory; [`Classifiers`] picks the one in use at a moment (shipped before
//!   the first install), and its `fill_page_categories` is the ingest hook.
//! - [`fill_page_categories`] is the ingest hook with the shipped classifier only.

pub mod classifier;
pub mod eval;
pub mod linear;
pub mod openrtb;
pub mod text;
pub mod trained;

use audex_model::EventKind;
use audex_model::event::Event;

pub use classifier::{ContentClassifier, Scored};
pub use openrtb::{
    CategorySource, PageCategories, from_bid_request, from_bid_request_with, normalize_cat,
    page_categories, page_categories_with,
};
pub use text::Page;
pub use trained::{Classifiers, LabeledPage, TrainedClassifier};

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContextualError {
    /// The keyword seeds do not parse or name unknown categories.
    #[error("seeds line {line}: {message}")]
    Seeds { line: usize, message: String },
    /// A labelled corpus does not parse.
    #[error("corpus line {line}: {message}")]
    Corpus { line: usize, message: String },
    /// Reading a corpus failed.
    #[error("reading the corpus: {0}")]
    Io(String),
}

/// The page a `Publisher Page Viewed` event describes (`properties.url`, `title`,
/// `description`/`text`/`keywords`).
pub fn page_of(event: &Event) -> Page {
    let s = |k: &str| {
        event
            .properties
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut text = s("description");
    for k in ["text", "keywords"] {
        let v = s(k);
        if !v.is_empty() {
            text.push(' ');
            text.push_str(&v);
        }
    }
    Page {
        url: s("url"),
        title: s("title"),
        text,
    }
}

/// Ingest hook: a `Publisher Page Viewed` event that carries no categories gets the shipped
/// classifier's (its tier-1 and deepest named category). Returns whether it changed the event.
/// Deterministic, so replaying the log gives the same profiles.
pub fn fill_page_categories(event: &mut Event) -> bool {
    if event.kind != EventKind::PublisherPageViewed || !event.page_categories.is_empty() {
        return false;
    }
    let Ok(c) = ContentClassifier::shipped() else {
        return false;
    };
    let page = page_of(event);
    if page.url.is_empty() && page.title.is_empty() && page.text.is_empty() {
        return false;
    }
    event.page_categories = c.classify(&page).into_iter().map(|s| s.id).collect();
    !event.page_categories.is_empty()
}
