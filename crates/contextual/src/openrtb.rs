//! Categories an OpenRTB 2.x bid request already carries: `site.cat` / `app.cat` and
//! `site.content.cat` / `app.content.cat`, with `cattax` telling the taxonomy (AdCOM: 1 =
//! Content 1.0, 2 = 2.0, 5 = 2.1, 6 = 2.2, 7 = 3.0, 9 = 3.1). Content 1.0 codes (`IAB1-1`) are
//! mapped to 3.1 ids through the IAB Tech Lab mapping; 2.x/3.0 ids are kept when 3.1 has them.

use std::sync::OnceLock;

use audex_model::taxonomy::ContentTaxonomy;
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::Value;

use crate::classifier::{ContentClassifier, Scored};
use crate::text::Page;

/// Content 1.0 code → Content 3.1 id (derived from IAB Tech Lab's 1.0→2.0 mapping, CC BY 3.0).
const IAB1_TO_3_1: &str = include_str!("../data/iab1_to_3_1.tsv");

fn iab1_map() -> &'static FxHashMap<String, String> {
    static CELL: OnceLock<FxHashMap<String, String>> = OnceLock::new();
    CELL.get_or_init(|| {
        IAB1_TO_3_1
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(a, b)| (a.trim().to_ascii_uppercase(), b.trim().to_string()))
            .collect()
    })
}

/// Where a page's categories came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CategorySource {
    /// `site.content.cat` / `app.content.cat` of the request.
    Content,
    /// `site.cat` / `app.cat` of the request.
    Site,
    /// The shipped classifier, from the page's URL, title and keywords.
    Classified,
    /// Nothing known.
    None,
}

/// A page's IAB Content Taxonomy 3.1 ids and their source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageCategories {
    /// Content Taxonomy 3.1 unique ids, most specific source first, no duplicates.
    pub ids: Vec<String>,
    /// Where they came from.
    pub source: CategorySource,
}

/// OpenRTB `cat` values under `cattax` as Content 3.1 ids: Content 1.0 codes (`cattax` 1, or
/// any `IAB…` code when `cattax` is absent) are mapped; other ids are kept when Content 3.1
/// has them. Unknown values are dropped. Order kept, duplicates removed.
pub fn normalize_cat(cat: &[String], cattax: Option<u32>) -> Vec<String> {
    let tax = ContentTaxonomy::iab_3_1();
    let mut out: Vec<String> = Vec::new();
    for c in cat {
        let c = c.trim();
        let is_v1 = cattax == Some(1)
            || (cattax.is_none() && c.len() > 3 && c[..3].eq_ignore_ascii_case("IAB"));
        let id = if is_v1 {
            iab1_map().get(&c.to_ascii_uppercase()).cloned()
        } else if matches!(cattax, None | Some(2 | 5 | 6 | 7 | 9)) {
            tax.get(c).map(|x| x.id.clone())
        } else {
            None
        };
        if let Some(id) = id
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

/// A page's categories: `content.cat` when it yields any, else `site.cat`, else the
/// classifier's on `page`. This is the function the OpenRTB endpoint should call.
pub fn page_categories(
    content_cat: &[String],
    content_cattax: Option<u32>,
    site_cat: &[String],
    site_cattax: Option<u32>,
    page: &Page,
) -> PageCategories {
    page_categories_with(
        content_cat,
        content_cattax,
        site_cat,
        site_cattax,
        page,
        |p| {
            ContentClassifier::shipped()
                .map(|c| c.classify(p))
                .unwrap_or_default()
        },
    )
}

/// [`page_categories`] with another classifier (a deployment's trained one, see
/// [`crate::Classifiers`]).
pub fn page_categories_with(
    content_cat: &[String],
    content_cattax: Option<u32>,
    site_cat: &[String],
    site_cattax: Option<u32>,
    page: &Page,
    classify: impl FnOnce(&Page) -> Vec<Scored>,
) -> PageCategories {
    let content = normalize_cat(content_cat, content_cattax);
    if !content.is_empty() {
        return PageCategories {
            ids: content,
            source: CategorySource::Content,
        };
    }
    let site = normalize_cat(site_cat, site_cattax);
    if !site.is_empty() {
        return PageCategories {
            ids: site,
            source: CategorySource::Site,
        };
    }
    let ids: Vec<String> = classify(page).into_iter().map(|s| s.id).collect();
    let source = if ids.is_empty() {
        CategorySource::None
    } else {
        CategorySource::Classified
    };
    PageCategories { ids, source }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn cattax(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// [`page_categories`] read straight from an OpenRTB 2.x BidRequest JSON: `site` (or `app`)
/// `.cat`/`.cattax`, `.content.cat`/`.content.cattax`, and for classification `site.page`,
/// `content.title`, `content.keywords`, `site.keywords`, `site.name`/`app.name`.
/// OpenRTB's default `cattax` (1) applies when `cattax` is absent but codes look like 1.0's.
pub fn from_bid_request(request: &Value) -> PageCategories {
    from_bid_request_with(request, |p| {
        ContentClassifier::shipped()
            .map(|c| c.classify(p))
            .unwrap_or_default()
    })
}

/// [`from_bid_request`] with another classifier (a deployment's trained one, see
/// [`crate::Classifiers`]).
pub fn from_bid_request_with(
    request: &Value,
    classify: impl FnOnce(&Page) -> Vec<Scored>,
) -> PageCategories {
    let src = request
        .get("site")
        .or_else(|| request.get("app"))
        .unwrap_or(&Value::Null);
    let content = src.get("content").unwrap_or(&Value::Null);
    let s = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut text = s(content, "keywords");
    for extra in [s(src, "keywords"), s(src, "name")] {
        if !extra.is_empty() {
            text.push(' ');
            text.push_str(&extra);
        }
    }
    let page = Page {
        url: s(src, "page"),
        title: s(content, "title"),
        text,
    };
    page_categories_with(
        &strings(content.get("cat")),
        cattax(content.get("cattax")),
        &strings(src.get("cat")),
        cattax(src.get("cattax")),
        &page,
        classify,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cat_lists_are_normalised() {
        assert_eq!(
            normalize_cat(&v(&["IAB1-1", "IAB17"]), None),
            v(&["42", "483"])
        );
        assert_eq!(normalize_cat(&v(&["483", "nope"]), Some(7)), v(&["483"]));
        assert_eq!(normalize_cat(&v(&["483"]), Some(3)), Vec::<String>::new());
    }

    #[test]
    fn content_beats_site_beats_classifier() {
        let r = json!({"site": {"cat": ["IAB17"], "content": {"cat": ["596"], "cattax": 9}}});
        assert_eq!(from_bid_request(&r).source, CategorySource::Content);
        assert_eq!(from_bid_request(&r).ids, v(&["596"]));
        let r = json!({"site": {"cat": ["IAB17"], "page": "https://x.com/tech/laptops"}});
        assert_eq!(from_bid_request(&r).ids, v(&["483"]));
        let r = json!({"site": {"page": "https://x.com/sports/soccer/world-cup-final"}});
        let p = from_bid_request(&r);
        assert_eq!(p.source, CategorySource::Classified);
        assert_eq!(p.ids[0], "483");
        assert_eq!(from_bid_request(&json!({})).source, CategorySource::None);
    }
}
