//! Property tests: every valid rule survives the text form and the JSON form.

mod common;

use audex_rules::{Rule, parse};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// `parse(to_text(r)) == r` (one-operand groups print as their operand, hence `normalized`).
    #[test]
    fn text_round_trip(r in common::rule()) {
        prop_assert_eq!(r.validate(), Ok(()));
        let text = r.to_text();
        let back = parse(&text);
        prop_assert_eq!(back, Ok(r.normalized()), "text: {}", text);
    }

    /// JSON text → rule → JSON text is the identity on rules (and serde agrees with `from_json`).
    #[test]
    fn json_round_trip(r in common::rule()) {
        let json = r.to_json_string();
        prop_assert_eq!(Rule::from_json(&json), Ok(r.clone()), "json: {}", json);
        let via_serde: Rule = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(via_serde, r);
    }
}

/// Words and punctuation of the language, for token-soup inputs.
const SOUP: &[&str] = &[
    "purchase",
    "visit",
    "activity",
    "and",
    "or",
    "not",
    "no",
    "(",
    ")",
    "where",
    "price",
    ">",
    "1",
    "=",
    "\"x\"",
    "in",
    "(high)",
    "count",
    ">=",
    "3",
    "within",
    "30d",
    "0..14d",
    "7d..",
    "on",
    "web",
    "tag",
    "a",
    "after",
    "product_added",
    ",",
    "gender",
    "(female)",
    "category",
    "536",
    "score",
    "0.5",
    "ads",
    "clicked",
    "campaign",
    "model",
    "top",
    "5%",
    "near",
    "(1, 2)",
    "10km",
    "age",
    "25..44",
    "..",
    "event",
    "exists",
    "contains",
    "brand",
    "\"Acme\"",
    "attribute",
    "season",
    "black_friday",
    "2025",
    "page_category",
    "(\"1\")",
    "country",
    "(FR)",
    "in_list",
    "in_audience",
    "income",
    "buying_power",
    "(low)",
    "for",
    "impressions",
    "converted",
    "-1",
    "1e5",
    "\"\\n\"",
    "\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any input either fails with a position inside the text or parses to a rule whose printed
    /// form parses back to it.
    #[test]
    fn token_soup_parses_or_fails_cleanly(words in proptest::collection::vec(prop::sample::select(SOUP), 0..14)) {
        let src = words.join(" ");
        match parse(&src) {
            Ok(r) => {
                let text = r.to_text();
                prop_assert_eq!(parse(&text), Ok(r.normalized()), "src: {} text: {}", src, text);
            }
            Err(e) => {
                prop_assert!(e.line >= 1 && e.line <= src.lines().count().max(1) + 1, "{}", e);
                prop_assert!(e.column >= 1, "{}", e);
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    /// Arbitrary text never panics the lexer or the parser.
    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,40}") {
        let _ = parse(&src);
    }
}
