//! The two evaluators must agree on every person: random events × random rules × random `now`.

use audex_model::event::parse_event;
use audex_model::taxonomy::ProductTaxonomy;
use audex_profile::{ProfileStore, Reference};
use audex_rules::{
    AdExposure, AgeRange, BrandInterest, BuyingPower, BuyingPowerLevel, CategoryInterest, Channel,
    CountCmp, CountOp, Event, EventKind, EventRef, GenderIn, GeoPoint, GeoRadius, IncomeIn,
    NoEventAfter, PageCategory, Predicate, PropFilter, PropOp, Rule, Season, SeasonActive, Window,
};
use proptest::prelude::*;
use serde_json::json;

use crate::{Context, Index, evaluate, matches};

/// 2025-11-01T00:00:00Z
const BASE_MS: i64 = 1_761_955_200_000;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone)]
struct Ev {
    who: u8,
    kind: u8,
    day: u8,
    app: bool,
    price: u8,
    brand: u8,
    cat: u8,
    link: u8,
}

fn event_json(i: usize, e: &Ev) -> serde_json::Value {
    let ts = BASE_MS + i64::from(e.day) * DAY_MS + (i as i64 % 1000) * 1000;
    let when = chrono::DateTime::from_timestamp_millis(ts)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default();
    let anon = format!("a{}", e.who % 12);
    let brand = ["Acme", "Bolt", "acme "][usize::from(e.brand % 3)];
    let category = ["1", "2", "3"][usize::from(e.cat % 3)];
    let color = ["red", "blue"][usize::from(e.brand % 2)];
    let campaign = ["c1", "c2"][usize::from(e.brand % 2)];
    let page = ["IAB-1", "IAB-2"][usize::from(e.cat % 2)];
    let gender = ["female", "male"][usize::from(e.brand % 2)];
    let tier = ["gold", "silver"][usize::from(e.cat % 2)];
    let mut v = match e.kind % 10 {
        0 => json!({"type": if e.app {"screen"} else {"page"}}),
        1 => {
            json!({"type":"track","event":"Product Viewed","properties":{"product_id": format!("p{}", e.price % 7),"price": e.price,"brand": brand,"category": category}})
        }
        2 => {
            json!({"type":"track","event":"Product Added","properties":{"product_id":"p1","price": e.price, "brand":"Bolt"}})
        }
        3 => {
            json!({"type":"track","event":"Order Completed","properties":{"revenue": e.price,"products":[{"product_id":"p1","price": e.price,"brand":"Acme","category":"2"},{"product_id":"p2","price": 5,"brand":"Bolt"}]}})
        }
        4 => json!({"type":"track","event":"Wish","properties":{"price": e.price, "color": color}}),
        5 => {
            json!({"type":"track","event":"Ad Impression","properties":{"campaign_id": campaign,"cost":0.01}})
        }
        6 => json!({"type":"track","event":"Ad Clicked","properties":{"campaign_id":"c1"}}),
        7 => {
            json!({"type":"track","event":"Publisher Page Viewed","properties":{"categories":[page, "IAB-3"]}})
        }
        8 => json!({"type":"identify","userId": format!("u{}", e.link % 5),
                    "traits":{"gender": gender,"age": 20 + e.price % 40,"income": u32::from(e.price) * 1000, "tier": tier},
                    "context":{"location":{"latitude": 48.0 + f64::from(e.price % 10) / 10.0,"longitude": 2.0}}}),
        _ => {
            json!({"type":"alias","userId": format!("u{}", e.link % 5),"previousId": format!("a{}", e.price % 12)})
        }
    };
    v["anonymousId"] = json!(anon);
    v["messageId"] = json!(format!("m{i}"));
    v["timestamp"] = json!(when);
    if e.app && !e.kind.is_multiple_of(10) {
        v["context"] = json!({"app": {"name": "shop"}});
    }
    v
}

fn build(events: &[Ev]) -> ProfileStore {
    let tax = taxonomy();
    let mut store = ProfileStore::default();
    for (i, e) in events.iter().enumerate() {
        if let Ok(ev) = parse_event(event_json(i, e), BASE_MS + 400 * DAY_MS) {
            let _ = store.apply(&ev, reference(&tax));
        }
    }
    store
}

/// Ingest resolves the events' categories with the test taxonomy (the evaluators get it or
/// not: without it a category matches only itself).
fn reference(tax: &ProductTaxonomy) -> Reference<'_> {
    Reference {
        catalog: None,
        taxonomy: Some(tax),
    }
}

/// A taxonomy over the test events' categories (ids): "2" lies under the top-level "1", and
/// "3" is top-level, so category interest exercises the exact (top-level) and the bounded (deeper)
/// use of the share columns.
fn taxonomy() -> ProductTaxonomy {
    ProductTaxonomy::parse("1 - Home\n2 - Home > Kitchen\n3 - Toys\n")
        .unwrap_or_else(|e| panic!("test taxonomy: {e}"))
}

fn window() -> impl Strategy<Value = Window> {
    (0u32..40, proptest::option::of(0u32..60)).prop_map(|(a, b)| Window {
        min_days: a.min(b.unwrap_or(a)),
        max_days: b.map(|b| b.max(a)),
    })
}

fn event_ref() -> impl Strategy<Value = EventRef> {
    prop_oneof![
        Just(EventRef::Kind(EventKind::Visit)),
        Just(EventRef::Kind(EventKind::ProductViewed)),
        Just(EventRef::Kind(EventKind::ProductAdded)),
        Just(EventRef::Kind(EventKind::OrderCompleted)),
        Just(EventRef::Activity),
        Just(EventRef::Custom("Wish".into())),
        Just(EventRef::Custom("Never".into())),
    ]
}

fn filter() -> impl Strategy<Value = PropFilter> {
    prop_oneof![
        (0u8..60).prop_map(|p| PropFilter::new("price", PropOp::Gt, p)),
        (0u8..60).prop_map(|p| PropFilter::new("price", PropOp::Le, p)),
        Just(PropFilter::new("brand", PropOp::Eq, "Acme")),
        Just(PropFilter::new("brand", PropOp::Ne, "Bolt")),
        Just(PropFilter::new(
            "color",
            PropOp::In,
            json!(["red", "green"])
        )),
        Just(PropFilter::new(
            "color",
            PropOp::Exists,
            serde_json::Value::Null
        )),
        Just(PropFilter::new("category", PropOp::Eq, 2)),
    ]
}

fn predicate() -> impl Strategy<Value = Predicate> {
    let ops = prop_oneof![
        Just(CountOp::Ge),
        Just(CountOp::Gt),
        Just(CountOp::Eq),
        Just(CountOp::Le),
        Just(CountOp::Lt),
        Just(CountOp::Ne)
    ];
    prop_oneof![
        (
            event_ref(),
            proptest::option::of(prop_oneof![Just(Channel::Web), Just(Channel::App)]),
            window(),
            ops,
            0u32..4,
            proptest::collection::vec(filter(), 0..3)
        )
            .prop_map(
                |(event, channel, within, op, value, filters)| Predicate::Event(Event {
                    event,
                    channel,
                    within,
                    count: CountCmp { op, value },
                    filters,
                })
            ),
        (
            window(),
            proptest::option::of(prop_oneof![Just(Channel::Web), Just(Channel::App)])
        )
            .prop_map(|(within, channel)| Predicate::NoEventAfter(NoEventAfter {
                event: EventRef::Kind(EventKind::OrderCompleted),
                after: vec![
                    EventRef::Kind(EventKind::ProductAdded),
                    EventRef::Kind(EventKind::ProductViewed)
                ],
                within,
                channel,
            })),
        (
            1u32..4,
            proptest::option::of(0.0f32..1.0),
            proptest::option::of(1u32..60)
        )
            .prop_map(
                |(category, min_score, within_days)| Predicate::CategoryInterest(
                    CategoryInterest {
                        category,
                        min_score,
                        within_days
                    }
                )
            ),
        (
            proptest::option::of(0.0f32..1.0),
            proptest::option::of(1u32..60)
        )
            .prop_map(
                |(min_score, within_days)| Predicate::BrandInterest(BrandInterest {
                    brand: "ACME".into(),
                    min_score,
                    within_days
                })
            ),
        proptest::sample::subsequence(
            vec![
                BuyingPowerLevel::Low,
                BuyingPowerLevel::Medium,
                BuyingPowerLevel::High,
                BuyingPowerLevel::VeryHigh
            ],
            1..3
        )
        .prop_map(|levels| Predicate::BuyingPower(BuyingPower { levels })),
        proptest::sample::subsequence(
            vec![
                audex_rules::Gender::Female,
                audex_rules::Gender::Male,
                audex_rules::Gender::Unknown
            ],
            1..3
        )
        .prop_map(|values| Predicate::Gender(GenderIn { values })),
        (
            proptest::option::of(15u32..50),
            proptest::option::of(30u32..70)
        )
            .prop_map(|(min, max)| Predicate::Age(AgeRange { min, max })),
        proptest::sample::subsequence(
            vec![
                audex_rules::IncomeBand::Low,
                audex_rules::IncomeBand::Medium,
                audex_rules::IncomeBand::High
            ],
            1..3
        )
        .prop_map(|bands| Predicate::Income(IncomeIn { bands })),
        (1.0f64..80.0).prop_map(|radius_km| Predicate::GeoRadius(GeoRadius {
            points: vec![GeoPoint {
                lat: 48.3,
                lon: 2.0
            }],
            radius_km
        })),
        proptest::option::of(prop_oneof![Just(2025), Just(2026)]).prop_map(|year| {
            Predicate::Season(SeasonActive {
                name: Season::BlackFriday,
                year,
            })
        }),
        (
            proptest::option::of(prop_oneof![Just("c1".to_string()), Just("c2".to_string())]),
            1u32..3,
            proptest::option::of(any::<bool>()),
            any::<bool>(),
            window()
        )
            .prop_map(
                |(campaign, min_impressions, clicked, not_converted_since, within)| {
                    Predicate::AdExposure(AdExposure {
                        campaign,
                        min_impressions,
                        clicked,
                        not_converted_since,
                        within,
                    })
                }
            ),
        window().prop_map(|within| Predicate::PageCategory(PageCategory {
            categories: vec!["IAB-1".into(), "IAB-3".into()],
            within
        })),
        Just(Predicate::Attribute(PropFilter::new(
            "tier",
            PropOp::Eq,
            "gold"
        ))),
        Just(Predicate::Attribute(PropFilter::new("age", PropOp::Gt, 30))),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    predicate()
        .prop_map(Rule::Pred)
        .prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 1..4).prop_map(Rule::And),
                proptest::collection::vec(inner.clone(), 1..4).prop_map(Rule::Or),
                inner.prop_map(|r| Rule::Not(Box::new(r))),
            ]
        })
}

fn ev() -> impl Strategy<Value = Ev> {
    (
        any::<u8>(),
        any::<u8>(),
        0u8..40,
        any::<bool>(),
        0u8..60,
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(who, kind, day, app, price, brand, cat, link)| Ev {
            who,
            kind,
            day,
            app,
            price,
            brand,
            cat,
            link,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn set_and_person_evaluators_agree(
        events in proptest::collection::vec(ev(), 0..40),
        rule in rule(),
        now_day in 0i64..75,
        taxed in any::<bool>(),
    ) {
        let store = build(&events);
        let index = Index::build(&store);
        let tax = taxonomy();
        let ctx = Context::new(&store, taxed.then_some(&tax));
        let now = BASE_MS + now_day * DAY_MS + 43_200_000;
        let set = evaluate(&ctx, &index, &rule, now).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for person in 0..store.profiles.len() as u32 {
            let one = matches(&ctx, person, &rule, now).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(one, set.contains(person), "person {} rule {}", person, rule);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// The real-time path: an index built on the first events and evaluated once (so its
    /// per-day columns are cached), then kept current person by person as the rest arrive,
    /// answers like the per-person evaluator over the whole store.
    #[test]
    fn an_index_kept_current_event_by_event_agrees(
        events in proptest::collection::vec(ev(), 0..40),
        split in 0usize..40,
        rule in rule(),
        now_day in 0i64..75,
        taxed in any::<bool>(),
    ) {
        let split = split.min(events.len());
        let taxonomy = taxonomy();
        let tax = taxed.then_some(&taxonomy);
        let mut store = build(&events[..split]);
        let mut index = Index::build(&store);
        let now = BASE_MS + now_day * DAY_MS + 43_200_000;
        {
            let ctx = Context::new(&store, tax);
            let _ = evaluate(&ctx, &index, &rule, now);
        }
        for (i, e) in events.iter().enumerate().skip(split) {
            if let Ok(ev) = parse_event(event_json(i, e), BASE_MS + 400 * DAY_MS)
                && let Ok(applied) = store.apply(&ev, reference(&taxonomy))
            {
                for p in applied.merged.iter().chain([&applied.person]) {
                    index.update_person(&store, *p);
                }
            }
        }
        let ctx = Context::new(&store, tax);
        let set = evaluate(&ctx, &index, &rule, now).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for person in 0..store.profiles.len() as u32 {
            let one = matches(&ctx, person, &rule, now).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(one, set.contains(person), "person {} rule {}", person, rule);
        }
    }
}

#[test]
fn a_thirty_day_window_ages_people_out_without_new_events() {
    let events: Vec<Ev> = vec![Ev {
        who: 1,
        kind: 0,
        day: 10,
        app: false,
        price: 0,
        brand: 0,
        cat: 0,
        link: 0,
    }];
    let store = build(&events);
    let index = Index::build(&store);
    let ctx = Context::new(&store, None);
    let rule: Rule = "visit within 30d".parse().unwrap_or(Rule::And(vec![]));
    let at = |d: i64| BASE_MS + d * DAY_MS + 1000;
    assert_eq!(
        evaluate(&ctx, &index, &rule, at(40)).map(|b| b.len()),
        Ok(1),
        "day 40 is 30 days later: in"
    );
    assert_eq!(
        evaluate(&ctx, &index, &rule, at(41)).map(|b| b.len()),
        Ok(0),
        "day 41: aged out"
    );
    assert_eq!(
        evaluate(&ctx, &index, &rule, at(9)).map(|b| b.len()),
        Ok(0),
        "before the event: out"
    );
}
