//! Tokens and hashed features of a page: lower-cased words with light plural stripping,
//! adjacent-word bigrams, URL path tokens, all hashed into a fixed number of buckets.

use rustc_hash::{FxHashMap, FxHashSet};

/// Number of hash buckets (2^20): collisions are rare at the vocabularies seen here.
pub const BUCKETS: u32 = 1 << 20;

/// Words too common to say anything about a page's topic.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "new",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "own",
    "said",
    "same",
    "says",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yesterday",
    "today",
    "tomorrow",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "reuters",
    "ap",
    "afp",
    "quot",
    "lt",
    "gt",
    "amp",
    "nbsp",
    "http",
    "https",
    "www",
    "com",
    "html",
    "htm",
    "php",
    "asp",
    "aspx",
    "index",
    "article",
    "articles",
    "news",
    "story",
    "page",
    "us",
    "one",
    "two",
    "first",
    "last",
    "year",
    "years",
    "week",
    "day",
];

/// URL parts that carry no topic.
const URL_NOISE: &[&str] = &[
    "org", "net", "co", "uk", "de", "fr", "io", "m", "en", "id", "p",
];

fn is_stopword(w: &str) -> bool {
    static SET: std::sync::OnceLock<FxHashSet<&'static str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| STOPWORDS.iter().copied().collect())
        .contains(w)
}

/// Light stemming: plural endings only (`stories`→`story`, `games`→`game`), so seeds and
/// pages meet on the same form without an aggressive stemmer's damage.
pub fn stem(w: &str) -> String {
    let n = w.len();
    if n > 4 && w.ends_with("ies") {
        return format!("{}y", &w[..n - 3]);
    }
    if n > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
        && !w.ends_with("ous")
    {
        return w[..n - 1].to_string();
    }
    w.to_string()
}

/// The content words of `text`, lower-cased and stemmed, stopwords and pure numbers dropped.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in text.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
        let w = raw.trim_matches('\'').to_lowercase();
        let w = w.strip_suffix("'s").unwrap_or(&w);
        if w.chars().count() < 2 || w.chars().all(|c| c.is_ascii_digit()) || is_stopword(w) {
            continue;
        }
        out.push(stem(w));
    }
    out
}

/// The words of a URL's host and path (`https://x.com/sports/nba-finals/123` → `sports nba finals`).
pub fn url_words(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    words(rest)
        .into_iter()
        .filter(|w| !URL_NOISE.contains(&w.as_str()))
        .collect()
}

/// FNV-1a over the bytes, folded into [`BUCKETS`].
pub fn hash(s: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ((h ^ (h >> 32)) as u32) & (BUCKETS - 1)
}

/// Sparse feature vector: `(bucket, value)` pairs sorted by bucket.
pub type Features = Vec<(u32, f32)>;

/// Accumulates weighted term counts, then turns them into log-scaled features.
#[derive(Default)]
pub struct FeatureBuilder {
    counts: FxHashMap<u32, f32>,
}

impl FeatureBuilder {
    /// A new, empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one term with `weight`.
    pub fn term(&mut self, term: &str, weight: f32) {
        *self.counts.entry(hash(term)).or_insert(0.0) += weight;
    }

    /// Adds the words of `ws` and their adjacent bigrams with `weight`.
    pub fn words(&mut self, ws: &[String], weight: f32) {
        for w in ws {
            self.term(w, weight);
        }
        for pair in ws.windows(2) {
            self.term(&format!("{} {}", pair[0], pair[1]), weight);
        }
    }

    /// The features: `1 + ln(count)` per bucket (sublinear term frequency), sorted by bucket.
    pub fn build(self) -> Features {
        let mut f: Features = self
            .counts
            .into_iter()
            .filter(|(_, c)| *c > 0.0)
            .map(|(b, c)| (b, if c >= 1.0 { 1.0 + c.ln() } else { c }))
            .collect();
        f.sort_unstable_by_key(|(b, _)| *b);
        f
    }
}

/// What is known of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Page {
    /// The page's URL (host and path words are used).
    #[serde(default)]
    pub url: String,
    /// The page's title (weighted twice the body).
    #[serde(default)]
    pub title: String,
    /// Body text or description.
    #[serde(default)]
    pub text: String,
}

impl Page {
    /// The page's features: title words ×2, text words ×1, URL words ×1, with bigrams.
    pub fn features(&self) -> Features {
        let mut b = FeatureBuilder::new();
        b.words(&words(&self.title), 2.0);
        b.words(&words(&self.text), 1.0);
        b.words(&url_words(&self.url), 1.0);
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_urls() {
        assert_eq!(
            words("The Red Sox's games, 2004!"),
            vec!["red", "sox", "game"]
        );
        assert_eq!(
            url_words("https://www.example.com/sports/nba-finals/123?x=1"),
            vec!["example", "sport", "nba", "final"]
        );
        assert_eq!(stem("stories"), "story");
        assert_eq!(stem("business"), "business");
    }
}
