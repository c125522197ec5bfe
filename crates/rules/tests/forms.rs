//! Each predicate's text and JSON form, precedence, the `where … and` rule, and JSON errors.

use audex_rules::*;
use serde_json::json;

/// `text` parses to `rule`, `rule` prints as `text`, and the same for the JSON form.
fn check(text: &str, json: serde_json::Value, rule: Rule) {
    let parsed = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(parsed, rule, "parsing {text}");
    assert_eq!(rule.to_text(), text, "printing");
    assert_eq!(rule.to_json(), json, "to_json of {text}");
    assert_eq!(
        Rule::from_json(&json.to_string()),
        Ok(rule),
        "from_json of {json}"
    );
}

fn p(src: &str) -> Rule {
    parse(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn ev(k: EventKind) -> Event {
    Event::new(k)
}

#[test]
fn event_builtin_with_window() {
    check(
        "order_completed within 30d",
        json!({"type": "event", "event": "order_completed", "within": {"max_days": 30}}),
        ev(EventKind::OrderCompleted)
            .within(Window::last(30))
            .into(),
    );
}

#[test]
fn event_custom_with_filters_count_window_channel() {
    check(
        r#"event "Wishlist Added" where price > 100 and brand = "Acme" count >= 2 within 60d on web"#,
        json!({"type": "event", "event": {"custom": "Wishlist Added"}, "channel": "web",
               "within": {"max_days": 60}, "count": {"op": ">=", "value": 2},
               "where": [{"key": "price", "op": ">", "value": 100},
                         {"key": "brand", "op": "=", "value": "Acme"}]}),
        Event::new(EventRef::custom("Wishlist Added"))
            .filter(PropFilter::new("price", PropOp::Gt, 100))
            .filter(PropFilter::new("brand", PropOp::Eq, "Acme"))
            .count(CountCmp::at_least(2))
            .within(Window::last(60))
            .on(Some(Channel::Web))
            .into(),
    );
}

#[test]
fn event_count_shorthand_and_range_window() {
    check(
        "product_viewed >= 3 within 7..30d",
        json!({"type": "event", "event": "product_viewed", "within": {"min_days": 7, "max_days": 30},
               "count": {"op": ">=", "value": 3}}),
        ev(EventKind::ProductViewed)
            .count(CountCmp::at_least(3))
            .within(Window::between(7, 30))
            .into(),
    );
    assert_eq!(
        p("product_viewed count >= 3 within 7d..30d"),
        p("product_viewed >= 3 within 7..30d")
    );
}

#[test]
fn event_activity_open_window_and_filter_ops() {
    check(
        "activity within 7d.. on app",
        json!({"type": "event", "event": "activity", "channel": "app", "within": {"min_days": 7}}),
        Event::new(EventRef::Activity)
            .within(Window {
                min_days: 7,
                max_days: None,
            })
            .on(Some(Channel::App))
            .into(),
    );
    check(
        r#"product_added where coupon exists and sku in ("a", 2, true) and name contains "x" and qty <= 2.5 count < 3"#,
        json!({"type": "event", "event": "product_added", "count": {"op": "<", "value": 3},
               "where": [{"key": "coupon", "op": "exists"},
                         {"key": "sku", "op": "in", "value": ["a", 2, true]},
                         {"key": "name", "op": "contains", "value": "x"},
                         {"key": "qty", "op": "<=", "value": 2.5}]}),
        ev(EventKind::ProductAdded)
            .filter(PropFilter {
                key: "coupon".into(),
                op: PropOp::Exists,
                value: serde_json::Value::Null,
            })
            .filter(PropFilter::new("sku", PropOp::In, json!(["a", 2, true])))
            .filter(PropFilter::new("name", PropOp::Contains, "x"))
            .filter(PropFilter::new("qty", PropOp::Le, 2.5))
            .count(CountCmp {
                op: CountOp::Lt,
                value: 3,
            })
            .into(),
    );
}

#[test]
fn not_event_sugar() {
    let r = Rule::not(
        ev(EventKind::OrderCompleted)
            .within(Window::last(30))
            .into(),
    );
    check(
        "no order_completed within 30d",
        json!({"not": {"type": "event", "event": "order_completed", "within": {"max_days": 30}}}),
        r.clone(),
    );
    assert_eq!(p("no order_completed in 30d"), r);
    assert_eq!(p("not purchase within 30d"), r);
    assert_eq!(p("NO Purchase IN 30D"), r);
}

#[test]
fn no_event_after() {
    check(
        "no order_completed after product_added, checkout_started within 7d on web",
        json!({"type": "no_event_after", "event": "order_completed",
               "after": ["product_added", "checkout_started"], "within": {"max_days": 7}, "channel": "web"}),
        NoEventAfter {
            event: EventRef::Kind(EventKind::OrderCompleted),
            after: vec![
                EventRef::Kind(EventKind::ProductAdded),
                EventRef::Kind(EventKind::CheckoutStarted),
            ],
            within: Window::last(7),
            channel: Some(Channel::Web),
        }
        .into(),
    );
    assert_eq!(
        p("no purchase after product_added on web in 7d"),
        p("no order_completed after product_added within 7d on web")
    );
}

#[test]
fn category_and_brand_interest() {
    check(
        "category 536 score >= 0.2 within 30d",
        json!({"type": "category_interest", "category": 536, "min_score": 0.2, "within_days": 30}),
        CategoryInterest {
            category: 536,
            min_score: Some(0.2),
            within_days: Some(30),
        }
        .into(),
    );
    check(
        "category 1",
        json!({"type": "category_interest", "category": 1}),
        CategoryInterest {
            category: 1,
            min_score: None,
            within_days: None,
        }
        .into(),
    );
    check(
        r#"brand "Acme Co" score >= 0.1 within 90d"#,
        json!({"type": "brand_interest", "brand": "Acme Co", "min_score": 0.1, "within_days": 90}),
        BrandInterest {
            brand: "Acme Co".into(),
            min_score: Some(0.1),
            within_days: Some(90),
        }
        .into(),
    );
    check(
        "brand acme",
        json!({"type": "brand_interest", "brand": "acme"}),
        BrandInterest {
            brand: "acme".into(),
            min_score: None,
            within_days: None,
        }
        .into(),
    );
}

#[test]
fn price_buying_power_gender_income() {
    check(
        "price in (medium, high) for category 536",
        json!({"type": "price_range", "ranges": ["medium", "high"], "category": 536}),
        PriceRange {
            ranges: vec![PriceBand::Medium, PriceBand::High],
            category: Some(536),
        }
        .into(),
    );
    check(
        "buying_power in (high, very_high)",
        json!({"type": "buying_power", "levels": ["high", "very_high"]}),
        BuyingPower {
            levels: vec![BuyingPowerLevel::High, BuyingPowerLevel::VeryHigh],
        }
        .into(),
    );
    check(
        "gender in (female, unknown)",
        json!({"type": "gender", "values": ["female", "unknown"]}),
        GenderIn {
            values: vec![Gender::Female, Gender::Unknown],
        }
        .into(),
    );
    check(
        "income in (high, very_high)",
        json!({"type": "income", "bands": ["high", "very_high"]}),
        IncomeIn {
            bands: vec![IncomeBand::High, IncomeBand::VeryHigh],
        }
        .into(),
    );
    // Criteo spellings are read too.
    assert_eq!(
        Rule::from_json(r#"{"type": "buying_power", "levels": ["VeryHigh"]}"#),
        Ok(BuyingPower {
            levels: vec![BuyingPowerLevel::VeryHigh]
        }
        .into())
    );
}

#[test]
fn age_forms() {
    check(
        "age 25..44",
        json!({"type": "age", "min": 25, "max": 44}),
        AgeRange {
            min: Some(25),
            max: Some(44),
        }
        .into(),
    );
    check(
        "age 18..",
        json!({"type": "age", "min": 18}),
        AgeRange {
            min: Some(18),
            max: None,
        }
        .into(),
    );
    check(
        "age ..30",
        json!({"type": "age", "max": 30}),
        AgeRange {
            min: None,
            max: Some(30),
        }
        .into(),
    );
    assert_eq!(
        p("age 30"),
        AgeRange {
            min: Some(30),
            max: Some(30)
        }
        .into()
    );
}

#[test]
fn geo_radius_and_country() {
    check(
        "near (48.8566, 2.3522), (51.5074, -0.1278) within 10km",
        json!({"type": "geo_radius", "points": [{"lat": 48.8566, "lon": 2.3522}, {"lat": 51.5074, "lon": -0.1278}],
               "radius_km": 10.0}),
        GeoRadius {
            points: vec![
                GeoPoint {
                    lat: 48.8566,
                    lon: 2.3522,
                },
                GeoPoint {
                    lat: 51.5074,
                    lon: -0.1278,
                },
            ],
            radius_km: 10.0,
        }
        .into(),
    );
    check(
        r#"country in (FR, "IN", "NO")"#,
        json!({"type": "country", "codes": ["FR", "IN", "NO"]}),
        CountryIn {
            codes: vec!["FR".into(), "IN".into(), "NO".into()],
        }
        .into(),
    );
    let paris = GeoPoint {
        lat: 48.8566,
        lon: 2.3522,
    };
    let london = GeoPoint {
        lat: 51.5074,
        lon: -0.1278,
    };
    let d = paris.distance_km(&london);
    assert!((d - 343.6).abs() < 1.0, "{d}");
}

#[test]
fn lists_audiences_tags() {
    check(
        r#"in_list "vip-2026""#,
        json!({"type": "in_list", "list": "vip-2026"}),
        InList {
            list: "vip-2026".into(),
        }
        .into(),
    );
    check(
        r#"in_audience "cart-abandoners""#,
        json!({"type": "in_audience", "audience": "cart-abandoners"}),
        InAudience {
            audience: "cart-abandoners".into(),
        }
        .into(),
    );
    check(
        "tag foodie",
        json!({"type": "tag", "name": "foodie"}),
        Tag {
            name: "foodie".into(),
        }
        .into(),
    );
    check(
        r#"tag "not""#,
        json!({"type": "tag", "name": "not"}),
        Tag { name: "not".into() }.into(),
    );
    check(
        "tag visit",
        json!({"type": "tag", "name": "visit"}),
        Tag {
            name: "visit".into(),
        }
        .into(),
    );
    check(
        r#"tag "in""#,
        json!({"type": "tag", "name": "in"}),
        Tag { name: "in".into() }.into(),
    );
}

#[test]
fn season() {
    check(
        "season black_friday 2025",
        json!({"type": "season", "name": "black_friday", "year": 2025}),
        SeasonActive {
            name: Season::BlackFriday,
            year: Some(2025),
        }
        .into(),
    );
    check(
        "season christmas",
        json!({"type": "season", "name": "christmas"}),
        SeasonActive {
            name: Season::Christmas,
            year: None,
        }
        .into(),
    );
}

#[test]
fn ad_exposure() {
    check(
        "ads campaign c1 impressions >= 3 not clicked not converted within 30d",
        json!({"type": "ad_exposure", "campaign": "c1", "min_impressions": 3, "clicked": false,
               "not_converted_since": true, "within": {"max_days": 30}}),
        AdExposure {
            campaign: Some("c1".into()),
            min_impressions: 3,
            clicked: Some(false),
            not_converted_since: true,
            within: Window::last(30),
        }
        .into(),
    );
    check(
        "ads clicked",
        json!({"type": "ad_exposure", "clicked": true}),
        AdExposure {
            campaign: None,
            min_impressions: 1,
            clicked: Some(true),
            not_converted_since: false,
            within: Window::ALL,
        }
        .into(),
    );
    // Clauses in any order.
    assert_eq!(
        p(r#"ads within 30d not converted not clicked impressions >= 3 campaign "c1""#),
        p("ads campaign c1 impressions >= 3 not clicked not converted within 30d")
    );
}

#[test]
fn page_category() {
    check(
        r#"page_category in ("IAB-483", "596") within 30d"#,
        json!({"type": "page_category", "categories": ["IAB-483", "596"], "within": {"max_days": 30}}),
        PageCategory {
            categories: vec!["IAB-483".into(), "596".into()],
            within: Window::last(30),
        }
        .into(),
    );
}

#[test]
fn attribute() {
    check(
        r#"attribute plan = "gold""#,
        json!({"type": "attribute", "key": "plan", "op": "=", "value": "gold"}),
        Predicate::Attribute(PropFilter::new("plan", PropOp::Eq, "gold")).into(),
    );
    check(
        "attribute vip exists",
        json!({"type": "attribute", "key": "vip", "op": "exists"}),
        Predicate::Attribute(PropFilter {
            key: "vip".into(),
            op: PropOp::Exists,
            value: serde_json::Value::Null,
        })
        .into(),
    );
    check(
        r#"attribute "loyalty tier" != null"#,
        json!({"type": "attribute", "key": "loyalty tier", "op": "!="}),
        Predicate::Attribute(PropFilter {
            key: "loyalty tier".into(),
            op: PropOp::Ne,
            value: serde_json::Value::Null,
        })
        .into(),
    );
}

#[test]
fn model_score() {
    check(
        r#"model "lookalike:vip" top 5% score >= 0.3"#,
        json!({"type": "model_score", "model": "lookalike:vip", "top": {"fraction": 0.05}, "min_score": 0.3}),
        ModelScore {
            model: "lookalike:vip".into(),
            top: Some(TopSpec::Fraction(0.05)),
            min_score: Some(0.3),
        }
        .into(),
    );
    check(
        "model prospecting top 1000",
        json!({"type": "model_score", "model": "prospecting", "top": {"count": 1000}}),
        ModelScore {
            model: "prospecting".into(),
            top: Some(TopSpec::Count(1000)),
            min_score: None,
        }
        .into(),
    );
    assert_eq!(
        p("model m top 12.5%"),
        ModelScore {
            model: "m".into(),
            top: Some(TopSpec::Fraction(0.125)),
            min_score: None
        }
        .into()
    );
}

#[test]
fn brief_examples_parse_and_round_trip() {
    for src in [
        "purchase within 30d and not product_added within 7d on app",
        "(visit within 0..14d on web or product_viewed >= 3 within 30d) and category 536 and price in (high)",
        r#"event "Wishlist Added" where price > 100 and brand = "Acme" count >= 2 within 60d"#,
        "gender in (female) and age 25..44 and income in (high, very_high)",
        "near (48.8566, 2.3522), (51.5074, -0.1278) within 10km",
        r#"in_list "vip-2026" or season black_friday 2025 or ads campaign "c1" impressions >= 3 not clicked"#,
        r#"page_category in ("IAB-483", "596") within 30d and in_audience "cart-abandoners" and tag foodie"#,
        "no order_completed in 30d",
        "no order_completed after product_added, checkout_started within 7d on web",
        r#"model "lookalike:vip" top 5% and not in_audience vip"#,
    ] {
        let r = p(src);
        assert_eq!(p(&r.to_text()), r, "{src} -> {}", r.to_text());
        assert_eq!(Rule::from_json(&r.to_json_string()), Ok(r.clone()));
    }
    let r = p(
        r#"in_list "vip-2026" or season black_friday 2025 or ads campaign "c1" impressions >= 3 not clicked"#,
    );
    let Rule::Or(items) = &r else { panic!("{r:?}") };
    assert_eq!(items.len(), 3);
}

#[test]
fn keywords_ignore_case_and_lines() {
    assert_eq!(
        p("PURCHASE Within 30D\n  AND Gender IN (Female)\n  OR tag X"),
        p("purchase within 30d and gender in (female) or tag X")
    );
    // Names keep their case.
    assert_eq!(
        p("tag Foodie"),
        Tag {
            name: "Foodie".into()
        }
        .into()
    );
}

#[test]
fn precedence_not_and_or() {
    let a = || Rule::from(ev(EventKind::Visit));
    let b = || Rule::from(Tag { name: "b".into() });
    let c = || Rule::from(Tag { name: "c".into() });
    assert_eq!(
        p("visit or tag b and tag c"),
        Rule::Or(vec![a(), Rule::And(vec![b(), c()])])
    );
    assert_eq!(
        p("visit and tag b or tag c"),
        Rule::Or(vec![Rule::And(vec![a(), b()]), c()])
    );
    assert_eq!(
        p("not visit and tag b"),
        Rule::And(vec![Rule::not(a()), b()])
    );
    assert_eq!(
        p("not (visit and tag b)"),
        Rule::not(Rule::And(vec![a(), b()]))
    );
    assert_eq!(
        p("(visit or tag b) and tag c"),
        Rule::And(vec![Rule::Or(vec![a(), b()]), c()])
    );
    assert_eq!(
        p("visit and (tag b and tag c)"),
        Rule::And(vec![a(), Rule::And(vec![b(), c()])])
    );
    assert_eq!(p("not not visit"), Rule::not(Rule::not(a())));
    assert_eq!(p("visit or tag b or tag c"), Rule::Or(vec![a(), b(), c()]));
    assert_eq!(p("((visit))"), a());
    // The printer adds exactly the parentheses that keep the structure.
    assert_eq!(
        Rule::Or(vec![Rule::And(vec![a(), b()]), c()]).to_text(),
        "visit and tag b or tag c"
    );
    assert_eq!(
        Rule::And(vec![Rule::Or(vec![a(), b()]), c()]).to_text(),
        "(visit or tag b) and tag c"
    );
    assert_eq!(
        Rule::And(vec![a(), Rule::And(vec![b(), c()])]).to_text(),
        "visit and (tag b and tag c)"
    );
    assert_eq!(
        Rule::not(Rule::Or(vec![a(), b()])).to_text(),
        "not (visit or tag b)"
    );
    assert_eq!(Rule::not(Rule::not(a())).to_text(), "not no visit");
    assert_eq!(Rule::And(vec![a()]).to_text(), "visit");
}

#[test]
fn where_and_continues_only_with_filters() {
    let one = |r: &Rule| match r {
        Rule::Pred(Predicate::Event(e)) => e.filters.len(),
        other => panic!("not an event: {other:?}"),
    };
    assert_eq!(one(&p(r#"purchase where price > 1 and brand = "x""#)), 2);
    assert_eq!(
        one(&p(r#"purchase where price > 1 and "price" in (1, 2)"#)),
        2
    );
    assert_eq!(
        one(&p(
            "purchase where a = 1 and b exists and c contains 2 and d in (1)"
        )),
        4
    );
    assert_eq!(one(&p("purchase where a = 1 and count > 3")), 2);
    for (src, n) in [
        ("purchase where price > 1 and category 5", 1),
        ("purchase where price > 1 and price in (high)", 1),
        ("purchase where a = 1 and product_viewed >= 3", 1),
        ("purchase where a = 1 and gender in (female)", 1),
        ("purchase where a = 1 and tag x", 1),
        (r#"purchase where a = 1 and brand "x""#, 1),
        ("purchase where a = 1 and not visit", 1),
        ("purchase where a = 1 and attribute b = 2", 1),
    ] {
        let Rule::And(items) = p(src) else {
            panic!("{src}")
        };
        assert_eq!(one(&items[0]), n, "{src}");
    }
    let Rule::Or(items) = p("purchase where a = 1 and b exists or visit") else {
        panic!()
    };
    assert_eq!(one(&items[0]), 2);
    // Keys that would read as a rule are quoted by the printer.
    let e: Rule = ev(EventKind::Visit)
        .filter(PropFilter::new("price", PropOp::In, json!([1])))
        .filter(PropFilter::new("visit", PropOp::Eq, 1))
        .filter(PropFilter::new("odd key", PropOp::Eq, 1))
        .into();
    assert_eq!(
        e.to_text(),
        r#"visit where "price" in (1) and "visit" = 1 and "odd key" = 1"#
    );
}

#[test]
fn strings_escape_and_unescape() {
    let t: Rule = Tag {
        name: "a \"b\" \\ c\nd\u{1}é".into(),
    }
    .into();
    assert_eq!(t.to_text(), r#"tag "a \"b\" \\ c\nd\u{1}é""#);
    let custom: Rule = Event::new(EventRef::custom("tab\there")).into();
    assert_eq!(p(&custom.to_text()), custom);
    assert_eq!(
        p(r#"event "caf\u{e9}""#),
        Event::new(EventRef::custom("café")).into()
    );
}

#[test]
fn numbers_in_filters_keep_their_json_type() {
    let r = p("visit where a = 1 and b = 1.0 and c = -2 and d = 1e20 and e = 18446744073709551615");
    let Rule::Pred(Predicate::Event(e)) = &r else {
        panic!()
    };
    let vals: Vec<String> = e.filters.iter().map(|f| f.value.to_string()).collect();
    assert_eq!(vals, ["1", "1.0", "-2", "1e+20", "18446744073709551615"]);
    assert_eq!(p(&r.to_text()), r);
}

#[test]
fn json_accepts_friendly_spellings() {
    let a = Rule::from_json(
        r#"{"type": "event", "event": "Order Completed", "within": "0..14d", "channel": "any"}"#,
    );
    assert_eq!(
        a,
        Ok(ev(EventKind::OrderCompleted)
            .within(Window::between(0, 14))
            .into())
    );
    let b = Rule::from_json(
        r#"{"within": "7d..", "event": "purchase", "type": "event", "channel": "App"}"#,
    );
    assert_eq!(
        b,
        Ok(ev(EventKind::OrderCompleted)
            .within(Window {
                min_days: 7,
                max_days: None
            })
            .on(Some(Channel::App))
            .into())
    );
}

#[test]
fn json_errors_name_the_field() {
    let err = |s: &str| Rule::from_json(s).unwrap_err().to_string();
    assert_eq!(
        err(
            r#"{"and": [{"type": "tag", "name": "x"}, {"type": "geo_radius", "points": [{"lat": 1, "lon": 2}], "radius_km": 0}]}"#
        ),
        "/and/1/radius_km: radius 0 km must be > 0 and at most 20000"
    );
    assert_eq!(
        err(
            r#"{"or": [{"type": "geo_radius", "points": [{"lat": 91, "lon": 2}], "radius_km": 3}]}"#
        ),
        "/or/0/points/0/lat: latitude 91 is outside [-90, 90]"
    );
    assert_eq!(
        err(
            r#"{"not": {"type": "geo_radius", "points": [{"lat": "x", "lon": 2}], "radius_km": 3}}"#
        ),
        "/not/points/0/lat: invalid type: string \"x\", expected f64"
    );
    assert_eq!(
        err(r#"{"type": "geo_radius", "points": [], "radius": 3}"#),
        "/radius: unknown field `radius`, expected `points` or `radius_km`"
    );
    assert_eq!(
        err(r#"{"type": "gender", "values": ["female", "fmale"]}"#),
        "/values/1: unknown gender \"fmale\", expected female, male, other or unknown"
    );
    assert_eq!(
        err(r#"{"type": "event", "event": "order_complete"}"#),
        "/event: unknown event \"order_complete\": built-in events are visit, product_viewed, product_list_viewed, products_searched, product_added, product_removed, cart_viewed, checkout_started, order_completed, order_refunded, ad_impression, ad_clicked, publisher_page_viewed, identify, alias, activity; write {\"custom\": \"order_complete\"} for a custom event"
    );
    assert_eq!(
        err(r#"{"type": "event", "event": {"custom": "Order Completed"}}"#),
        "/event/custom: \"Order Completed\" is the built-in event order_completed; use that name"
    );
    assert_eq!(
        err(r#"{"type": "event", "event": "visit", "within": {"min_days": 10, "max_days": 3}}"#),
        "/within/max_days: the window ends (3 days ago) before it starts (10 days ago)"
    );
    assert_eq!(
        err(r#"{"and": [{"type": "geo"}]}"#)
            .split(", expected")
            .next(),
        Some("/and/0/type: unknown predicate type \"geo\"")
    );
    assert_eq!(
        err(r#"{"and": []}"#),
        "/and: an \"and\" needs at least one rule"
    );
    assert_eq!(
        err(r#"{"and": [], "or": []}"#),
        "/or: a \"and\" rule object has no other fields"
    );
    assert_eq!(err(r#"{"name": "x"}"#).split(':').next(), Some("/"));
    assert_eq!(err("[1]").split(':').next(), Some("/"));
    assert_eq!(
        err(
            r#"{"type": "event", "event": "visit", "where": [{"key": "p", "op": ">", "value": true}]}"#
        ),
        "/where/0/value: \">\" compares with a number or a string"
    );
    assert_eq!(
        err(r#"{"type": "event", "event": "visit", "within": "30 days"}"#),
        "/within: expected a window like \"30d\", \"0..14d\" or \"7d..\", found \"30 days\""
    );
    // Malformed JSON: line and column.
    let e = Rule::from_json("{\"and\": [\n  {\"type\": \"tag\" \"name\": 1}]}").unwrap_err();
    assert!(
        matches!(
            e,
            JsonError::Syntax {
                line: 2,
                column: 18,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn crate_doc_json_example_parses() {
    let r = Rule::from_json(
        r#"{"and": [
          {"type": "event", "event": "order_completed", "within": {"max_days": 30}},
          {"not": {"type": "event", "event": "product_added", "within": "7d", "channel": "app"}},
          {"type": "geo_radius", "points": [{"lat": 48.8566, "lon": 2.3522}], "radius_km": 10}
        ]}"#,
    );
    assert_eq!(
        r.map(|r| r.to_text()),
        Ok("order_completed within 30d and no product_added within 7d on app and near (48.8566, 2.3522) within 10km".to_string())
    );
}
