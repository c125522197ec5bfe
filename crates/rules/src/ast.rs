//! The rule AST: boolean combinators over a closed set of predicates.
//!
//! Every type here is plain data. Its JSON form is defined in [`crate::json`], its text form in
//! [`crate::parser`] / [`crate::print`], and the constraints a value must meet in
//! [`crate::validate`]. Each predicate's doc comment is its meaning: the evaluators (per person and
//! set at a time) implement exactly that text, with `now` passed in.
//!
//! **Days.** All time in rules is counted in whole UTC days ([`audex_model::time::Day`]). "`k` days
//! ago" means the day `now_day - k`; today is 0 days ago.

use audex_model::event::{Gender, IncomeBand};
use audex_model::season::Season;
use audex_model::{Channel, EventKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many days of history a rule can look back: profiles keep 540 days (Google's longest
/// membership duration), so an open window ends there.
pub const MAX_DAYS: u32 = 540;

/// An audience rule: predicates joined by `and`, `or`, `not`.
///
/// JSON: `{"and": [..]}`, `{"or": [..]}`, `{"not": {..}}`, or a predicate object with a `"type"`.
/// Text: see the grammar in the crate docs.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Matches when every operand matches (needs at least one operand).
    And(Vec<Rule>),
    /// Matches when at least one operand matches (needs at least one operand).
    Or(Vec<Rule>),
    /// Matches when the operand does not. "Has not done X" is `Not(Event X)` (text: `no X`).
    Not(Box<Rule>),
    /// One predicate over a person's profile.
    Pred(Predicate),
}

impl Rule {
    /// `And` of `rules`; a single rule is returned as is, so compiled rules stay small.
    pub fn all(mut rules: Vec<Rule>) -> Rule {
        if rules.len() == 1 {
            rules.remove(0)
        } else {
            Rule::And(rules)
        }
    }

    /// `Or` of `rules`; a single rule is returned as is.
    pub fn any(mut rules: Vec<Rule>) -> Rule {
        if rules.len() == 1 {
            rules.remove(0)
        } else {
            Rule::Or(rules)
        }
    }

    /// `Not(rule)`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(rule: Rule) -> Rule {
        Rule::Not(Box::new(rule))
    }

    /// The same rule with every one-operand `and`/`or` replaced by its operand (recursively).
    /// Meaning is unchanged; this is the form the text printer round-trips exactly.
    pub fn normalized(&self) -> Rule {
        match self {
            Rule::And(v) if v.len() == 1 => v[0].normalized(),
            Rule::Or(v) if v.len() == 1 => v[0].normalized(),
            Rule::And(v) => Rule::And(v.iter().map(Rule::normalized).collect()),
            Rule::Or(v) => Rule::Or(v.iter().map(Rule::normalized).collect()),
            Rule::Not(r) => Rule::not(r.normalized()),
            Rule::Pred(p) => Rule::Pred(p.clone()),
        }
    }

    /// Every predicate in the rule, depth first, left to right (for indexing and explain).
    pub fn predicates(&self) -> Vec<&Predicate> {
        let mut out = Vec::new();
        self.collect_predicates(&mut out);
        out
    }

    fn collect_predicates<'a>(&'a self, out: &mut Vec<&'a Predicate>) {
        match self {
            Rule::And(v) | Rule::Or(v) => v.iter().for_each(|r| r.collect_predicates(out)),
            Rule::Not(r) => r.collect_predicates(out),
            Rule::Pred(p) => out.push(p),
        }
    }
}

impl From<Predicate> for Rule {
    fn from(p: Predicate) -> Rule {
        Rule::Pred(p)
    }
}

/// One test on a person. The JSON `"type"` of each variant is its snake_case name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Predicate {
    /// The person did an event, some number of times, inside a window of days, on a channel.
    Event(Event),
    /// The person did an anchor event and has not done `event` since (e.g. cart abandonment).
    NoEventAfter(NoEventAfter),
    /// The person's interest in a Google Product Taxonomy category subtree.
    CategoryInterest(CategoryInterest),
    /// The person's interest in a brand.
    BrandInterest(BrandInterest),
    /// The price band of the products the person engages with.
    PriceRange(PriceRange),
    /// The person's spend relative to the advertiser's other buyers.
    BuyingPower(BuyingPower),
    /// Declared gender.
    Gender(GenderIn),
    /// Age in whole years on `now`, from the declared birthday or age.
    Age(AgeRange),
    /// Declared household income band.
    Income(IncomeIn),
    /// Last known location within a radius of one of several points.
    GeoRadius(GeoRadius),
    /// Last known location in one of several countries.
    Country(CountryIn),
    /// Membership in an uploaded contact list.
    InList(InList),
    /// Shopping activity during a named season.
    Season(SeasonActive),
    /// Exposure to the advertiser's ads (impressions, clicks, conversion after them).
    AdExposure(AdExposure),
    /// Reading publisher pages of IAB content categories.
    PageCategory(PageCategory),
    /// Membership in another audience of the same advertiser.
    InAudience(InAudience),
    /// A declared trait (`identify` traits) compared with a value.
    Attribute(PropFilter),
    /// Rank or score under a trained model (lookalike, prospecting).
    ModelScore(ModelScore),
    /// A behavioural tag, inferred by a model or assigned by a tagging rule.
    Tag(Tag),
}

macro_rules! into_predicate {
    ($($ty:ident => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for Predicate {
            fn from(p: $ty) -> Predicate {
                Predicate::$variant(p)
            }
        }
        impl From<$ty> for Rule {
            fn from(p: $ty) -> Rule {
                Rule::Pred(Predicate::$variant(p))
            }
        })*
    };
}

into_predicate!(
    Event => Event,
    NoEventAfter => NoEventAfter,
    CategoryInterest => CategoryInterest,
    BrandInterest => BrandInterest,
    PriceRange => PriceRange,
    BuyingPower => BuyingPower,
    GenderIn => Gender,
    AgeRange => Age,
    IncomeIn => Income,
    GeoRadius => GeoRadius,
    CountryIn => Country,
    InList => InList,
    SeasonActive => Season,
    AdExposure => AdExposure,
    PageCategory => PageCategory,
    InAudience => InAudience,
    ModelScore => ModelScore,
    Tag => Tag,
);

impl Predicate {
    /// The JSON `"type"` name of this predicate.
    pub fn type_name(&self) -> &'static str {
        match self {
            Predicate::Event(_) => "event",
            Predicate::NoEventAfter(_) => "no_event_after",
            Predicate::CategoryInterest(_) => "category_interest",
            Predicate::BrandInterest(_) => "brand_interest",
            Predicate::PriceRange(_) => "price_range",
            Predicate::BuyingPower(_) => "buying_power",
            Predicate::Gender(_) => "gender",
            Predicate::Age(_) => "age",
            Predicate::Income(_) => "income",
            Predicate::GeoRadius(_) => "geo_radius",
            Predicate::Country(_) => "country",
            Predicate::InList(_) => "in_list",
            Predicate::Season(_) => "season",
            Predicate::AdExposure(_) => "ad_exposure",
            Predicate::PageCategory(_) => "page_category",
            Predicate::InAudience(_) => "in_audience",
            Predicate::Attribute(_) => "attribute",
            Predicate::ModelScore(_) => "model_score",
            Predicate::Tag(_) => "tag",
        }
    }

    /// Every predicate `"type"` name, in declaration order.
    pub const TYPE_NAMES: [&'static str; 19] = [
        "event",
        "no_event_after",
        "category_interest",
        "brand_interest",
        "price_range",
        "buying_power",
        "gender",
        "age",
        "income",
        "geo_radius",
        "country",
        "in_list",
        "season",
        "ad_exposure",
        "page_category",
        "in_audience",
        "attribute",
        "model_score",
        "tag",
    ];
}

/// Which events an event predicate counts.
///
/// JSON: a built-in name (`"order_completed"`, also the Segment spelling `"Order Completed"`),
/// `"activity"`, or `{"custom": "Wishlist Added"}`. Text: `order_completed`, `purchase`,
/// `activity`, `event "Wishlist Added"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventRef {
    /// One built-in kind (never [`EventKind::Custom`]: use [`EventRef::Custom`]).
    Kind(EventKind),
    /// Any first-party site or app activity: every kind in [`ACTIVITY_KINDS`]. This is what
    /// "visit" means in retargeting ("days since last visit").
    Activity,
    /// A custom `track` event, by its exact (case-sensitive) name.
    Custom(String),
}

/// The kinds [`EventRef::Activity`] stands for: a page or screen on the advertiser's own site
/// or app, and every e-commerce step there (browse, search, cart, checkout, order). Not ad
/// impressions or clicks (they happen elsewhere), publisher pages, refunds (often server-side),
/// `identify` or `alias`.
pub const ACTIVITY_KINDS: [EventKind; 9] = [
    EventKind::Visit,
    EventKind::ProductViewed,
    EventKind::ProductListViewed,
    EventKind::ProductsSearched,
    EventKind::ProductAdded,
    EventKind::ProductRemoved,
    EventKind::CartViewed,
    EventKind::CheckoutStarted,
    EventKind::OrderCompleted,
];

impl EventRef {
    /// The built-in kind `k`.
    pub fn kind(k: EventKind) -> EventRef {
        EventRef::Kind(k)
    }

    /// A custom event by name.
    pub fn custom(name: impl Into<String>) -> EventRef {
        EventRef::Custom(name.into())
    }

    /// Whether an event of kind `kind` (and, for custom events, name `name`) is counted.
    pub fn matches(&self, kind: EventKind, name: Option<&str>) -> bool {
        match self {
            EventRef::Kind(k) => *k == kind && kind != EventKind::Custom,
            EventRef::Activity => ACTIVITY_KINDS.contains(&kind),
            EventRef::Custom(n) => kind == EventKind::Custom && name == Some(n.as_str()),
        }
    }

    /// Resolves a loose event name: a built-in snake_case name, `purchase` (= order_completed),
    /// `activity`, or a Segment spec name (`Order Completed`). `None` for anything else.
    pub fn builtin_from_name(name: &str) -> Option<EventRef> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "activity" => return Some(EventRef::Activity),
            "purchase" => return Some(EventRef::Kind(EventKind::OrderCompleted)),
            "custom" => return None,
            _ => {}
        }
        if let Some(k) = EventKind::parse(&lower).filter(|k| *k != EventKind::Custom) {
            return Some(EventRef::Kind(k));
        }
        match EventKind::from_track_name(name) {
            EventKind::Custom => None,
            k => Some(EventRef::Kind(k)),
        }
    }

    /// A name from the typed kinds' API: built-in if [`EventRef::builtin_from_name`] knows it,
    /// else a custom event of that exact name.
    pub fn from_name(name: &str) -> EventRef {
        EventRef::builtin_from_name(name).unwrap_or_else(|| EventRef::Custom(name.to_string()))
    }
}

impl From<EventKind> for EventRef {
    fn from(k: EventKind) -> EventRef {
        EventRef::Kind(k)
    }
}

/// A window of days before `now`, inclusive at both ends: an event on day `d` is inside when
/// `min_days <= now_day - d <= max_days`. `max_days: None` reaches back to [`MAX_DAYS`].
///
/// JSON: `{"min_days": 0, "max_days": 30}` (both optional) or the text forms `"30d"`,
/// `"0..14d"`, `"7d.."`. Text: `30d` (0 to 30 days ago), `7..30d`, `7d..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Window {
    /// The most recent day counted, in days ago (0 = today).
    pub min_days: u32,
    /// The oldest day counted, in days ago; `None` = as far back as history goes.
    pub max_days: Option<u32>,
}

impl Window {
    /// All of history (the default).
    pub const ALL: Window = Window {
        min_days: 0,
        max_days: None,
    };

    /// The last `days` days: from today back to `days` days ago (`30d`).
    pub fn last(days: u32) -> Window {
        Window {
            min_days: 0,
            max_days: Some(days),
        }
    }

    /// From `min_days` to `max_days` days ago, inclusive (`7..30d`).
    pub fn between(min_days: u32, max_days: u32) -> Window {
        Window {
            min_days,
            max_days: Some(max_days),
        }
    }

    /// The effective oldest day, in days ago: `max_days`, or [`MAX_DAYS`] when open.
    pub fn max_days_or_limit(&self) -> u32 {
        self.max_days.unwrap_or(MAX_DAYS)
    }

    /// Whether an event `age_days` days old (`now_day - day`) falls inside.
    pub fn contains_age(&self, age_days: u32) -> bool {
        self.min_days <= age_days && age_days <= self.max_days_or_limit()
    }

    /// True for [`Window::ALL`].
    pub fn is_all(&self) -> bool {
        *self == Window::ALL
    }
}

/// Comparison operator for event counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CountOp {
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `=`
    #[serde(rename = "=")]
    Eq,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
}

impl CountOp {
    /// Every operator.
    pub const ALL: [CountOp; 6] = [
        CountOp::Ge,
        CountOp::Gt,
        CountOp::Eq,
        CountOp::Le,
        CountOp::Lt,
        CountOp::Ne,
    ];

    /// The operator's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CountOp::Ge => ">=",
            CountOp::Gt => ">",
            CountOp::Eq => "=",
            CountOp::Le => "<=",
            CountOp::Lt => "<",
            CountOp::Ne => "!=",
        }
    }

    /// `lhs op rhs`.
    pub fn apply(self, lhs: u64, rhs: u64) -> bool {
        match self {
            CountOp::Ge => lhs >= rhs,
            CountOp::Gt => lhs > rhs,
            CountOp::Eq => lhs == rhs,
            CountOp::Le => lhs <= rhs,
            CountOp::Lt => lhs < rhs,
            CountOp::Ne => lhs != rhs,
        }
    }
}

/// How many matching events an event predicate needs: `count op value`. Default `>= 1`.
///
/// A count that zero satisfies (`< 3`, `= 0`, `<= 2`, `!= 1`) also matches people who never did
/// the event at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountCmp {
    /// The comparison.
    pub op: CountOp,
    /// The right-hand side.
    pub value: u32,
}

impl Default for CountCmp {
    fn default() -> Self {
        CountCmp {
            op: CountOp::Ge,
            value: 1,
        }
    }
}

impl CountCmp {
    /// `>= n`.
    pub fn at_least(n: u32) -> CountCmp {
        CountCmp {
            op: CountOp::Ge,
            value: n,
        }
    }

    /// Whether `count` satisfies the comparison.
    pub fn matches(&self, count: u64) -> bool {
        self.op.apply(count, u64::from(self.value))
    }

    /// True for the default `>= 1`.
    pub fn is_default(&self) -> bool {
        *self == CountCmp::default()
    }
}

/// Operator of a property or trait comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PropOp {
    /// Equal: same JSON type and value (numbers compare numerically).
    #[serde(rename = "=")]
    Eq,
    /// Not equal; a missing property counts as not equal.
    #[serde(rename = "!=")]
    Ne,
    /// Greater than (numbers numerically, strings by bytes); false when missing or of another type.
    #[serde(rename = ">")]
    Gt,
    /// Greater than or equal.
    #[serde(rename = ">=")]
    Ge,
    /// Less than.
    #[serde(rename = "<")]
    Lt,
    /// Less than or equal.
    #[serde(rename = "<=")]
    Le,
    /// Equal to one of the listed values.
    #[serde(rename = "in")]
    In,
    /// A string property containing the value as a substring (case-sensitive), or an array
    /// property containing the value as an element.
    #[serde(rename = "contains")]
    Contains,
    /// The property is present and not null; takes no value.
    #[serde(rename = "exists")]
    Exists,
}

impl PropOp {
    /// Every operator.
    pub const ALL: [PropOp; 9] = [
        PropOp::Eq,
        PropOp::Ne,
        PropOp::Gt,
        PropOp::Ge,
        PropOp::Lt,
        PropOp::Le,
        PropOp::In,
        PropOp::Contains,
        PropOp::Exists,
    ];

    /// The operator as written in both forms.
    pub fn symbol(self) -> &'static str {
        match self {
            PropOp::Eq => "=",
            PropOp::Ne => "!=",
            PropOp::Gt => ">",
            PropOp::Ge => ">=",
            PropOp::Lt => "<",
            PropOp::Le => "<=",
            PropOp::In => "in",
            PropOp::Contains => "contains",
            PropOp::Exists => "exists",
        }
    }
}

/// A comparison of one event property (in `where`) or one declared trait (in `attribute`).
///
/// `value` is a JSON scalar (string, number, boolean; `null` only with `=`/`!=`), a non-empty
/// array of scalars for `in`, and `null` (omitted) for `exists`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropFilter {
    /// Property or trait name, exact (e.g. `price`, `brand`, `category` for product events).
    pub key: String,
    /// The comparison.
    pub op: PropOp,
    /// The right-hand side.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

impl PropFilter {
    /// `key op value`.
    pub fn new(key: impl Into<String>, op: PropOp, value: impl Into<Value>) -> PropFilter {
        PropFilter {
            key: key.into(),
            op,
            value: value.into(),
        }
    }
}

/// The person did `event` at least/at most/exactly `count` times on days inside `within`, on
/// `channel` (any channel when `None`), counting only events that pass every `filters` entry.
/// With filters, an event that lists products (`products[]`, e.g. an order) is judged product
/// by product: each of its products that passes every filter counts once (so `order_completed
/// where category = 536 count >= 2` means two products of that category bought). Filters see a
/// product's `product_id`, `sku`, `category` (Google id), `brand`, `price` and `price_tier`;
/// custom events' filters see their scalar properties.
///
/// JSON: `{"type":"event","event":"order_completed","within":{"max_days":30},"count":{"op":">=","value":2},"channel":"web","where":[..]}`;
/// everything but `event` is optional. Text: `order_completed where price > 100 count >= 2 within 30d on web`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Which events count.
    pub event: EventRef,
    /// Channel filter; `None` = web and app.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::vocab::channel_opt"
    )]
    pub channel: Option<Channel>,
    /// Days the events must fall on. Default: all history.
    #[serde(default, skip_serializing_if = "Window::is_all")]
    pub within: Window,
    /// How many events are needed. Default `>= 1`.
    #[serde(default, skip_serializing_if = "CountCmp::is_default")]
    pub count: CountCmp,
    /// Property filters every counted event passes (all of them). JSON key `where`.
    #[serde(default, rename = "where", skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<PropFilter>,
}

impl Event {
    /// `event` at least once, ever, on any channel.
    pub fn new(event: impl Into<EventRef>) -> Event {
        Event {
            event: event.into(),
            channel: None,
            within: Window::ALL,
            count: CountCmp::default(),
            filters: Vec::new(),
        }
    }

    /// Sets the window.
    pub fn within(mut self, w: Window) -> Event {
        self.within = w;
        self
    }

    /// Sets the channel filter.
    pub fn on(mut self, channel: Option<Channel>) -> Event {
        self.channel = channel;
        self
    }

    /// Sets the count comparison.
    pub fn count(mut self, c: CountCmp) -> Event {
        self.count = c;
        self
    }

    /// Adds a property filter.
    pub fn filter(mut self, f: PropFilter) -> Event {
        self.filters.push(f);
        self
    }
}

/// "Did an anchor, then not `event`": let `d` be the most recent day on which the person did one
/// of the `after` events on `channel` (any channel when `None`) with `d` inside `within`; matches
/// when such a day exists and the person did `event` (on any channel) on no day from `d` to today.
///
/// Day granularity: an `event` on the same day as the last anchor counts as after it (an add to
/// cart and a purchase on the same day is not an abandonment). Text:
/// `no order_completed after product_added, checkout_started within 7d on web`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoEventAfter {
    /// The event that must not have happened since the anchor (e.g. `order_completed`).
    pub event: EventRef,
    /// The anchor events (e.g. `product_added`, `checkout_started`); at least one.
    pub after: Vec<EventRef>,
    /// Days the last anchor must fall on. Default: all history.
    #[serde(default, skip_serializing_if = "Window::is_all")]
    pub within: Window,
    /// Channel filter for the anchors; `None` = web and app.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::vocab::channel_opt"
    )]
    pub channel: Option<Channel>,
}

/// Interest in the Google Product Taxonomy category `category` and everything under it.
///
/// The score is the share, in [0, 1], of the person's product events (`product_viewed`,
/// `product_added`, `order_completed` lines) during the last `within_days` days (default: all
/// history, [`MAX_DAYS`]) whose product's category is `category` or a descendant of it. Matches
/// when the score is `>= min_score` (compared at six decimals, so a share of exactly 0.3 passes
/// `score >= 0.3`; a person with no product events in the window has no score and does not
/// match), or, without `min_score`, when it is above 0 (at least one such event).
/// Text: `category 536 score >= 0.2 within 30d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryInterest {
    /// Google Product Taxonomy id (≥ 1).
    pub category: u32,
    /// Minimum interest score in [0, 1]; `None` = any interest.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::vocab::short_f32"
    )]
    pub min_score: Option<f32>,
    /// Look-back in days (1..=540); `None` = all history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_days: Option<u32>,
}

/// Interest in a brand: as [`CategoryInterest`], counting product events whose `brand` equals
/// `brand` ignoring ASCII case and surrounding spaces. Text: `brand "Acme" score >= 0.1 within 90d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandInterest {
    /// Brand name as it appears in the catalog / events.
    pub brand: String,
    /// Minimum interest score in [0, 1]; `None` = any interest.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::vocab::short_f32"
    )]
    pub min_score: Option<f32>,
    /// Look-back in days (1..=540); `None` = all history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_days: Option<u32>,
}

/// A product price band: where a price falls among the catalog prices of its category
/// (terciles: the cheapest third is `low`, the dearest third `high`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PriceBand {
    /// Bottom third of the category's prices.
    Low,
    /// Middle third.
    Medium,
    /// Top third.
    High,
}

/// The person's price band is one of `ranges`: the median of the bands of the products they
/// viewed, added or bought in the last 90 days (each product's band within its own category,
/// ordered low < medium < high; the lower median for an even count) — only products in the
/// Google category subtree `category` when it is set. No such product: no band, no match.
/// Text: `price in (medium, high) for category 536`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceRange {
    /// Accepted bands (at least one).
    #[serde(with = "crate::vocab::vec")]
    pub ranges: Vec<PriceBand>,
    /// Restrict to this Google Product Taxonomy subtree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<u32>,
}

/// Buying power: the quartile of the person's spend (completed orders minus refunds on days 0 to
/// 365 days before `now`) among the advertiser's buyers (people whose spend in that window is
/// above 0). With the buyers' spends sorted, `q1`, `q2`, `q3` are the values at ranks ⌊n/4⌋, ⌊n/2⌋,
/// ⌊3n/4⌋: below `q1` is low, below `q2` medium, below `q3` high, else very high. Non-buyers in
/// the window have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BuyingPowerLevel {
    /// Bottom quartile.
    Low,
    /// Second quartile.
    Medium,
    /// Third quartile.
    High,
    /// Top quartile.
    VeryHigh,
}

/// The person's buying power level is one of `levels`. Text: `buying_power in (high, very_high)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuyingPower {
    /// Accepted levels (at least one).
    #[serde(with = "crate::vocab::vec")]
    pub levels: Vec<BuyingPowerLevel>,
}

/// The person's declared gender is one of `values`; `unknown` matches people who declared none.
/// Text: `gender in (female, unknown)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenderIn {
    /// Accepted genders (at least one).
    #[serde(with = "crate::vocab::vec")]
    pub values: Vec<Gender>,
}

/// The person's age on `now` (whole years, from the declared birthday, else the declared age
/// advanced by the years since it was declared) is within `min..=max`. No age: no match.
/// Text: `age 25..44`, `age 18..`, `age ..30`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeRange {
    /// Youngest accepted age, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// Oldest accepted age, inclusive (≤ 150).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

/// The person's declared income band is one of `bands`. Text: `income in (high, very_high)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeIn {
    /// Accepted bands (at least one).
    #[serde(with = "crate::vocab::vec")]
    pub bands: Vec<IncomeBand>,
}

/// A point on Earth, in decimal degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    /// Latitude in [-90, 90].
    pub lat: f64,
    /// Longitude in [-180, 180].
    pub lon: f64,
}

/// Mean Earth radius (IUGG) used by every distance in rules.
pub use audex_model::geo::EARTH_RADIUS_KM;

impl GeoPoint {
    /// Great-circle (haversine) distance in km: the one distance both evaluators use.
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        audex_model::geo::haversine_km(self.lat, self.lon, other.lat, other.lon)
    }
}

/// The person's last known location (the newest event carrying `context.location`, else its IP
/// resolved through MaxMind when configured) is at most `radius_km` from one of `points`.
/// No known location: no match. Text: `near (48.8566, 2.3522), (51.5074, -0.1278) within 10km`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoRadius {
    /// Centres (at least one).
    pub points: Vec<GeoPoint>,
    /// Radius in km, in (0, 20000].
    pub radius_km: f64,
}

/// The person's newest declared country — `context.location.country` or
/// `traits.address.country` given as an ISO 3166-1 alpha-2 code, the one with the latest event
/// timestamp winning — is one of `codes` (case-insensitive). Text: `country in (FR, DE)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryIn {
    /// Accepted countries (at least one), like `"FR"`.
    pub codes: Vec<String>,
}

/// One of the person's identifiers is in the advertiser's contact list `list` (by id or name),
/// as uploaded (normalised and hashed). Text: `in_list "vip-2026"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InList {
    /// Contact list id or name.
    pub list: String,
}

/// The person was active during season `name` — visited, viewed, carted or bought on one of its
/// days ([`Season::dates`] in `audex_model` fixes the dates). With `year`, that year's
/// occurrence; without, the most recent occurrence that started on or before `now`.
/// Text: `season black_friday 2025`, `season christmas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeasonActive {
    /// Which season.
    #[serde(with = "crate::vocab::one")]
    pub name: Season,
    /// Which year's occurrence; `None` = the latest one started by `now`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
}

/// Exposure to the advertiser's ads: at least `min_impressions` `ad_impression` events (of
/// `campaign` when set, matched on `campaign_id`) on days inside `within`; with `clicked:
/// Some(true)` also at least one `ad_clicked` of the same scope in `within`, with `Some(false)`
/// none; with `not_converted_since`, no `order_completed` on or after the day of the last
/// counted impression. Text: `ads campaign "c1" impressions >= 3 not clicked not converted within 30d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdExposure {
    /// Campaign id; `None` = any campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// Minimum number of impressions (≥ 1, default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub min_impressions: u32,
    /// Clicked (`true`), did not click (`false`), or either (`None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicked: Option<bool>,
    /// No order since the last counted impression.
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_converted_since: bool,
    /// Days the impressions and clicks must fall on. Default: all history.
    #[serde(default, skip_serializing_if = "Window::is_all")]
    pub within: Window,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The person read a publisher page (`publisher_page_viewed`) tagged with one of the IAB Content
/// Taxonomy ids `categories` (exact id match) on a day inside `within`.
/// Text: `page_category in ("IAB-483", "596") within 30d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageCategory {
    /// IAB Content Taxonomy ids (at least one).
    pub categories: Vec<String>,
    /// Days the page views must fall on. Default: all history.
    #[serde(default, skip_serializing_if = "Window::is_all")]
    pub within: Window,
}

/// The person is, at `now`, a member of the advertiser's audience `audience` (by id or name).
/// Cycles between audiences are rejected when audiences are saved. Text: `in_audience "vip"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InAudience {
    /// Audience id or name.
    pub audience: String,
}

/// How many of the best-scored people a [`ModelScore`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TopSpec {
    /// The `n` highest-scored people (ties broken by lower person id). Text: `top 10000`.
    Count(u64),
    /// The highest-scored share in (0, 1] of the people the model scored. Text: `top 5%`.
    Fraction(f64),
}

/// The person's score under the trained model `model` (scores in [0, 1]) is at least
/// `min_score` and ranks within `top`; at least one of the two is set. People the model did not
/// score never match. Naming: `lookalike:<seed audience>`, `prospecting`.
/// Text: `model "lookalike:vip" top 5% score >= 0.3`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelScore {
    /// Model name.
    pub model: String,
    /// Rank cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<TopSpec>,
    /// Score cut, in [0, 1].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::vocab::short_f32"
    )]
    pub min_score: Option<f32>,
}

/// The person carries the behavioural tag `name` (exact, case-sensitive), inferred by a model
/// or set by a tagging rule. Text: `tag foodie`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    /// Tag name.
    pub name: String,
}
