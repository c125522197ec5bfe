//! Text-form errors: line, column, what was expected, what was found.

use audex_rules::{ParseError, parse};

const RULE_START: [&str; 5] = [
    "\"not\"",
    "\"no\"",
    "\"(\"",
    "an event like purchase or event \"Name\"",
    "a predicate like category, gender or near",
];
const WINDOW: &str = "a window like \"30d\" or \"0..14d\"";
const AFTER_EVENT: [&str; 7] = [
    "\"where\"",
    "a count like \">= 3\"",
    "\"within\"",
    "\"in\"",
    "\"on\"",
    "\"and\"",
    "\"or\"",
];

fn err(src: &str) -> ParseError {
    match parse(src) {
        Ok(r) => panic!("{src:?} parsed as {r:?}"),
        Err(e) => e,
    }
}

/// Asserts position, the exact expected list and the found text; returns the error.
fn at(src: &str, line: usize, column: usize, expected: &[&str], found: &str) -> ParseError {
    let e = err(src);
    assert_eq!((e.line, e.column), (line, column), "{src:?}: {e}");
    assert_eq!(e.expected, expected, "{src:?}: {e}");
    assert_eq!(e.found, found, "{src:?}: {e}");
    e
}

/// Asserts position and that the message contains `needle` (errors without an expected list).
fn msg(src: &str, line: usize, column: usize, needle: &str) -> ParseError {
    let e = err(src);
    assert_eq!((e.line, e.column), (line, column), "{src:?}: {e}");
    assert!(e.message.contains(needle), "{src:?}: {e}");
    e
}

#[test]
fn e01_empty_input() {
    let e = at("", 1, 1, &RULE_START, "");
    assert!(e.message.ends_with("found end of input"), "{e}");
}

#[test]
fn e02_window_missing_at_end() {
    at("purchase within", 1, 16, &[WINDOW], "");
}

#[test]
fn e03_window_in_words_on_second_line() {
    let e = at("visit within\n  30 days", 2, 6, &[WINDOW], "days");
    assert_eq!(
        e.to_string(),
        r#"2:6: expected a window like "30d" or "0..14d", found "days""#
    );
}

#[test]
fn e04_misspelt_event_suggests() {
    let e = at("purchse within 30d", 1, 1, &RULE_START, "purchse");
    assert!(e.message.ends_with("(did you mean \"purchase\"?)"), "{e}");
}

#[test]
fn e05_dangling_and() {
    at("purchase within 30d and", 1, 24, &RULE_START, "");
}

#[test]
fn e06_unclosed_parenthesis() {
    let mut expected = AFTER_EVENT.to_vec();
    expected.push("\")\"");
    at("(purchase or visit", 1, 19, &expected, "");
}

#[test]
fn e07_duplicate_clause() {
    msg(
        "purchase within 30d within 7d",
        1,
        21,
        "already has a \"within\" clause",
    );
}

#[test]
fn e08_unit_glued_wrong() {
    at("purchase within 30days", 1, 17, &[WINDOW], "30days");
}

#[test]
fn e09_window_ends_before_it_starts() {
    let e = msg(
        "purchase within 30..7d",
        1,
        21,
        "ends (7 days ago) before it starts (30 days ago)",
    );
    assert!(e.expected.is_empty());
    assert_eq!(e.found, "7d");
}

#[test]
fn e10_window_beyond_history() {
    msg(
        "purchase within 600d",
        1,
        17,
        "beyond the 540 days of history",
    );
}

#[test]
fn e11_latitude_out_of_range() {
    let e = msg(
        "near (91, 0) within 5km",
        1,
        7,
        "latitude 91 is outside [-90, 90]",
    );
    assert_eq!(e.found, "91");
}

#[test]
fn e12_radius_zero() {
    msg(
        "near (1, 2) within 0km",
        1,
        20,
        "must be > 0 and at most 20000",
    );
}

#[test]
fn e13_radius_without_unit() {
    at(
        "near (1, 2) within 5",
        1,
        20,
        &["a radius like \"10km\""],
        "5",
    );
}

#[test]
fn e14_unknown_gender() {
    at(
        "gender in (femal)",
        1,
        12,
        &["a gender (female, male, other or unknown)"],
        "femal",
    );
}

#[test]
fn e15_list_without_in() {
    at("gender (female)", 1, 8, &["\"in\""], "(");
}

#[test]
fn e16_age_reversed() {
    msg(
        "age 50..20",
        1,
        9,
        "the maximum age 20 is below the minimum 50",
    );
}

#[test]
fn e17_keyword_as_name() {
    let e = at(
        "tag within",
        1,
        5,
        &["a tag name (a word or a quoted string)"],
        "within",
    );
    assert!(e.message.contains("quote it"), "{e}");
}

#[test]
fn e18_custom_event_needs_quotes() {
    at(
        "event Wishlist",
        1,
        7,
        &["a quoted event name like \"Wishlist Added\""],
        "Wishlist",
    );
}

#[test]
fn e19_custom_name_of_a_builtin_event() {
    msg(
        r#"visit and event "Order Completed""#,
        1,
        17,
        "\"Order Completed\" is the built-in event order_completed",
    );
}

#[test]
fn e20_filter_missing_value() {
    at(
        "purchase where price >",
        1,
        23,
        &["a value (a string, a number, true, false or null)"],
        "",
    );
}

#[test]
fn e21_unexpected_character() {
    let e = msg(
        "purchase where price ~ 3",
        1,
        22,
        "unexpected character \"~\"",
    );
    assert_eq!(e.found, "~");
}

#[test]
fn e22_empty_in_list() {
    at(
        "purchase where price in ()",
        1,
        26,
        &["a value (a string, a number, true, false or null)"],
        ")",
    );
}

#[test]
fn e23_comparison_needs_number_or_string() {
    let e = msg(
        "purchase where price > true",
        1,
        24,
        "\">\" compares with a number or a string",
    );
    assert_eq!(e.found, "true");
}

#[test]
fn e24_unterminated_string() {
    msg("tag \"abc", 1, 5, "unterminated string");
}

#[test]
fn e25_unknown_escape() {
    let e = msg(r#"tag "a\qb""#, 1, 7, "unknown escape");
    assert_eq!(e.found, "\\q");
}

#[test]
fn e26_year_out_of_range() {
    msg(
        "season black_friday 1900",
        1,
        21,
        "year 1900 is outside 1970..2100",
    );
}

#[test]
fn e27_season_not_held_that_year() {
    msg(
        "season world_cup 2025",
        1,
        18,
        "world_cup does not take place in 2025",
    );
}

#[test]
fn e28_model_needs_a_cut() {
    msg("model m", 1, 1, "needs \"top\" or \"min_score\"");
}

#[test]
fn e29_model_top_form() {
    at(
        "model m top 5.5",
        1,
        13,
        &["a count like 1000 or a share like 5%"],
        "5.5",
    );
}

#[test]
fn e30_impressions_need_at_least() {
    at("ads impressions > 3", 1, 17, &["\">=\""], ">");
}

#[test]
fn e31_country_code_case() {
    msg(
        "country in (fr)",
        1,
        13,
        "not an ISO 3166-1 alpha-2 code in upper case",
    );
}

#[test]
fn e32_unknown_channel() {
    at(
        "purchase on mars",
        1,
        13,
        &["\"web\"", "\"app\"", "\"any\""],
        "mars",
    );
}

#[test]
fn e33_count_without_operator() {
    at(
        "purchase count 3",
        1,
        16,
        &["a comparison like \">= 3\""],
        "3",
    );
}

#[test]
fn e34_no_after_needs_anchor() {
    at(
        "no visit after",
        1,
        15,
        &["an event like purchase or event \"Name\""],
        "",
    );
}

#[test]
fn e35_price_for_needs_category() {
    at("price in (high) for 536", 1, 21, &["\"category\""], "536");
}

#[test]
fn e36_nesting_too_deep() {
    let src = format!("{}visit{}", "(".repeat(300), ")".repeat(300));
    let e = err(&src);
    assert!(e.message.contains("nested more than"), "{e}");
    assert_eq!(e.line, 1);
}

#[test]
fn e37_stray_closing_parenthesis() {
    let mut expected = AFTER_EVENT.to_vec();
    expected.push("end of input");
    at("purchase )", 1, 10, &expected, ")");
}

#[test]
fn e38_score_out_of_range() {
    msg(
        "category 536 score >= 1.5",
        1,
        23,
        "score 1.5 is outside [0, 1]",
    );
}

#[test]
fn e39_category_needs_an_id() {
    at(
        "category abc",
        1,
        10,
        &["a Google Product Taxonomy id"],
        "abc",
    );
}

#[test]
fn e40_count_too_large() {
    msg("purchase >= 99999999999", 1, 13, "too large for a count");
}

#[test]
fn e41_multi_line_position() {
    at(
        "purchase within 30d\nand\ngender in (female,\n  mal)",
        4,
        3,
        &["a gender (female, male, other or unknown)"],
        "mal",
    );
}

#[test]
fn e42_after_complete_predicate() {
    at(
        "tag foodie within 3d",
        1,
        12,
        &["\"and\"", "\"or\"", "end of input"],
        "within",
    );
}

#[test]
fn e43_display_format() {
    let e = err("visit and\n  gender in (female, robot)");
    assert_eq!(
        e.to_string(),
        "2:22: expected a gender (female, male, other or unknown), found \"robot\""
    );
}
