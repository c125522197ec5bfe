//! Proptest strategies over valid rules (shared by the round-trip tests).

#![allow(dead_code)]

use audex_rules::*;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Number, Value};

/// Names: plain words, keywords and event words (which must be quoted), odd strings.
pub fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
        prop::sample::select(vec![
            "and", "OR", "not", "no", "in", "within", "tag", "visit", "purchase", "true", "null",
            "count", "where", "price", "IN", "No",
        ])
        .prop_map(str::to_string),
        "[ -~]{1,12}",
        "\\PC{1,6}",
    ]
    .prop_filter("non-empty, no control chars", |s| {
        !s.trim().is_empty() && !s.chars().any(char::is_control)
    })
}

/// Any string, including quotes, backslashes, newlines and control characters.
pub fn any_string() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,10}", "\\PC{0,6}", "[\"\\\\\n\t\r\u{1}a]{0,6}"]
}

pub fn event_kind() -> impl Strategy<Value = EventKind> {
    prop::sample::select(
        EventKind::ALL
            .iter()
            .copied()
            .filter(|k| *k != EventKind::Custom)
            .collect::<Vec<_>>(),
    )
}

pub fn event_ref() -> impl Strategy<Value = EventRef> {
    prop_oneof![
        4 => event_kind().prop_map(EventRef::Kind),
        1 => Just(EventRef::Activity),
        2 => name()
            .prop_filter("not a built-in name", |n| EventRef::builtin_from_name(n).is_none())
            .prop_map(EventRef::Custom),
    ]
}

pub fn window() -> impl Strategy<Value = Window> {
    (0u32..=MAX_DAYS, prop::option::of(0u32..=MAX_DAYS)).prop_map(|(a, b)| match b {
        Some(b) => Window::between(a.min(b), a.max(b)),
        None => Window {
            min_days: a,
            max_days: None,
        },
    })
}

pub fn channel() -> impl Strategy<Value = Option<Channel>> {
    prop::option::of(prop::sample::select(vec![Channel::Web, Channel::App]))
}

pub fn count() -> impl Strategy<Value = CountCmp> {
    (prop::sample::select(CountOp::ALL.to_vec()), 0u32..1000)
        .prop_filter("count < 0 never matches", |(op, v)| {
            !(*op == CountOp::Lt && *v == 0)
        })
        .prop_map(|(op, value)| CountCmp { op, value })
}

/// Floats whose shortest decimal form every JSON reader parses back exactly.
pub fn nice_f64(lo: i64, hi: i64, scale: f64) -> impl Strategy<Value = f64> {
    (lo..=hi).prop_map(move |k| k as f64 / scale)
}

pub fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|i| Value::Number(Number::from(i))),
        any::<u64>().prop_map(|u| Value::Number(Number::from(u))),
        nice_f64(-10_000_000, 10_000_000, 100.0)
            .prop_map(|f| Value::Number(Number::from_f64(f).unwrap_or(Number::from(0)))),
        prop::sample::select(vec![1e20, -2.5e-7, 1e300, 0.1, 100.0])
            .prop_map(|f| Value::Number(Number::from_f64(f).unwrap_or(Number::from(0)))),
    ]
}

pub fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any_string().prop_map(Value::String),
        number(),
        any::<bool>().prop_map(Value::Bool),
    ]
}

pub fn prop_filter() -> impl Strategy<Value = PropFilter> {
    let key = prop_oneof![
        name(),
        prop::sample::select(vec![
            "price",
            "brand",
            "category",
            "gender",
            "product_viewed",
            "event",
            "exists",
            "in",
            "count",
            "within",
            "on",
            "country",
            "page_category",
        ])
        .prop_map(str::to_string),
        "[ -~]{1,8}",
    ];
    let op_value = prop_oneof![
        (
            prop::sample::select(vec![PropOp::Eq, PropOp::Ne]),
            prop_oneof![scalar(), Just(Value::Null)]
        ),
        (
            prop::sample::select(vec![PropOp::Gt, PropOp::Ge, PropOp::Lt, PropOp::Le]),
            prop_oneof![number(), any_string().prop_map(Value::String)]
        ),
        (Just(PropOp::In), vec(scalar(), 1..4).prop_map(Value::Array)),
        (Just(PropOp::Contains), scalar()),
        (Just(PropOp::Exists), Just(Value::Null)),
    ];
    (key, op_value).prop_map(|(key, (op, value))| PropFilter { key, op, value })
}

pub fn score() -> impl Strategy<Value = Option<f32>> {
    prop::option::of((0u32..=1000).prop_map(|k| k as f32 / 1000.0))
}

fn vocab<T: Clone + std::fmt::Debug + 'static>(all: Vec<T>) -> impl Strategy<Value = Vec<T>> {
    vec(prop::sample::select(all), 1..4)
}

pub fn predicate() -> impl Strategy<Value = Predicate> {
    prop_oneof![
        (
            event_ref(),
            channel(),
            window(),
            count(),
            vec(prop_filter(), 0..3)
        )
            .prop_map(|(event, channel, within, count, filters)| {
                Predicate::Event(Event {
                    event,
                    channel,
                    within,
                    count,
                    filters,
                })
            }),
        (event_ref(), vec(event_ref(), 1..3), window(), channel())
            .prop_filter("anchor differs from event", |(e, a, _, _)| !a.contains(e))
            .prop_map(|(event, after, within, channel)| {
                Predicate::NoEventAfter(NoEventAfter {
                    event,
                    after,
                    within,
                    channel,
                })
            }),
        (1u32..6000, score(), prop::option::of(1u32..=MAX_DAYS)).prop_map(
            |(category, min_score, within_days)| {
                Predicate::CategoryInterest(CategoryInterest {
                    category,
                    min_score,
                    within_days,
                })
            }
        ),
        (name(), score(), prop::option::of(1u32..=MAX_DAYS)).prop_map(
            |(brand, min_score, within_days)| {
                Predicate::BrandInterest(BrandInterest {
                    brand,
                    min_score,
                    within_days,
                })
            }
        ),
        (
            vocab(vec![PriceBand::Low, PriceBand::Medium, PriceBand::High]),
            prop::option::of(1u32..6000)
        )
            .prop_map(|(ranges, category)| Predicate::PriceRange(PriceRange { ranges, category })),
        vocab(vec![
            BuyingPowerLevel::Low,
            BuyingPowerLevel::Medium,
            BuyingPowerLevel::High,
            BuyingPowerLevel::VeryHigh
        ])
        .prop_map(|levels| Predicate::BuyingPower(BuyingPower { levels })),
        vocab(vec![
            Gender::Female,
            Gender::Male,
            Gender::Other,
            Gender::Unknown
        ])
        .prop_map(|values| Predicate::Gender(GenderIn { values })),
        (
            prop::option::of(0u32..=MAX_AGE),
            prop::option::of(0u32..=MAX_AGE)
        )
            .prop_filter("a bound", |(a, b)| a.is_some() || b.is_some())
            .prop_map(|(a, b)| {
                let (min, max) = match (a, b) {
                    (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                    other => other,
                };
                Predicate::Age(AgeRange { min, max })
            }),
        vocab(vec![
            IncomeBand::Low,
            IncomeBand::Medium,
            IncomeBand::High,
            IncomeBand::VeryHigh
        ])
        .prop_map(|bands| Predicate::Income(IncomeIn { bands })),
        (
            vec(
                (
                    nice_f64(-9_000_000, 9_000_000, 100_000.0),
                    nice_f64(-18_000_000, 18_000_000, 100_000.0)
                ),
                1..4
            ),
            nice_f64(1, 2_000_000, 100.0)
        )
            .prop_map(|(pts, radius_km)| {
                Predicate::GeoRadius(GeoRadius {
                    points: pts
                        .into_iter()
                        .map(|(lat, lon)| GeoPoint { lat, lon })
                        .collect(),
                    radius_km,
                })
            }),
        vec(
            prop_oneof![
                "[A-Z]{2}",
                prop::sample::select(vec!["IN", "NO", "OR", "ON"]).prop_map(str::to_string)
            ],
            1..4
        )
        .prop_map(|codes| Predicate::Country(CountryIn { codes })),
        name().prop_map(|list| Predicate::InList(InList { list })),
        (
            prop::sample::select(Season::ALL.to_vec()),
            prop::option::of(2015i32..2030)
        )
            .prop_map(|(name, year)| {
                let year = year.filter(|y| name.dates(*y).is_some());
                Predicate::Season(SeasonActive { name, year })
            }),
        (
            prop::option::of(name()),
            1u32..50,
            prop::option::of(any::<bool>()),
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
        (
            vec(
                prop_oneof![name(), "IAB[0-9]{1,3}(-[0-9]{1,2})?", "[0-9]{1,4}"],
                1..4
            ),
            window()
        )
            .prop_map(
                |(categories, within)| Predicate::PageCategory(PageCategory { categories, within })
            ),
        name().prop_map(|audience| Predicate::InAudience(InAudience { audience })),
        prop_filter().prop_map(Predicate::Attribute),
        (
            name(),
            prop::option::of(prop_oneof![
                (1u64..u64::MAX).prop_map(TopSpec::Count),
                (1u32..=10_000).prop_map(|k| TopSpec::Fraction(f64::from(k) / 10_000.0)),
                prop::sample::select(vec![1e-9, 0.3333333333333333, 1.0])
                    .prop_map(TopSpec::Fraction),
            ]),
            score()
        )
            .prop_filter("top or score", |(_, t, s)| t.is_some() || s.is_some())
            .prop_map(|(model, top, min_score)| Predicate::ModelScore(ModelScore {
                model,
                top,
                min_score
            })),
        name().prop_map(|name| Predicate::Tag(Tag { name })),
    ]
}

/// Valid rules of depth ≤ 4, including one-operand groups.
pub fn rule() -> impl Strategy<Value = Rule> {
    predicate()
        .prop_map(Rule::Pred)
        .prop_recursive(4, 48, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 1..4).prop_map(Rule::And),
                vec(inner.clone(), 1..4).prop_map(Rule::Or),
                inner.prop_map(Rule::not),
            ]
        })
}
