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
