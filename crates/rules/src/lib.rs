//! # audex-rules: the audience rule language
//!
//! Every Audex audience compiles to one [`Rule`]: predicates over a person's profile (events seen
//! in a window of days on a channel, counts, category and brand interest, price band, buying
//! power, demographics, geo radius, country, list membership, season, ad exposure, publisher page
//! categories, other audiences, declared traits, model scores, tags) joined by `and`, `or`,
//! `not`. A rule has a JSON form (API) and a short text form (CLI, console); both parse to the
//! same AST and are validated by [`Rule::validate`]. The typed audience kinds of the console and
//! the Criteo-style API live in [`kinds`] and compile to rules.
//!
//! This crate defines what rules *mean* (each predicate's doc comment is its definition); the
//! evaluators — per person and set at a time — live in other crates and must agree with it.
//! Time is never read here: windows are counted in whole UTC days back from the `now` the
//! evaluator is given (0 = today), so membership moves with time.
//!
//! ```
//! use audex_rules::{parse, Rule};
//!
//! let rule = parse("purchase within 30d and not product_added within 7d on app")?;
//! assert_eq!(rule.to_text(), "order_completed within 30d and no product_added within 7d on app");
//! let json = rule.to_json_string();
//! assert_eq!(Rule::from_json(&json)?, rule);
//!
//! let err = parse("visit within\n  30 days").unwrap_err();
//! assert_eq!(err.to_string(), r#"2:6: expected a window like "30d" or "0..14d", found "days""#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## JSON form
//!
//! `{"and": [rule, ..]}`, `{"or": [rule, ..]}`, `{"not": rule}`, or a predicate object with a
//! `"type"` (its snake_case name, see [`Predicate`]) and the fields of its struct, snake_case,
//! defaults omitted:
//!
//! ```json
//! {"and": [
//!   {"type": "event", "event": "order_completed", "within": {"max_days": 30}},
//!   {"not": {"type": "event", "event": "product_added", "within": "7d", "channel": "app"}},
//!   {"type": "geo_radius", "points": [{"lat": 48.8566, "lon": 2.3522}], "radius_km": 10}
//! ]}
//! ```
//!
//! Events are built-in names (`"order_completed"`, also `"Order Completed"`), `"activity"`, or
//! `{"custom": "Wishlist Added"}`; windows are `{"min_days", "max_days"}` or a string like
//! `"0..14d"`. [`Rule::from_json`] reports errors with a JSON pointer to the field:
//! `/and/2/radius_km: radius 0 km must be > 0 and at most 20000`. Unknown fields are rejected.
//!
//! ## Text form
//!
//! ```text
//! purchase within 30d and not product_added within 7d on app
//! (visit within 0..14d on web or product_viewed >= 3 within 30d) and category 536 and price in (high)
//! event "Wishlist Added" where price > 100 and brand = "Acme" count >= 2 within 60d
//! gender in (female) and age 25..44 and income in (high, very_high)
//! near (48.8566, 2.3522), (51.5074, -0.1278) within 10km
//! in_list "vip-2026" or season black_friday 2025 or ads campaign "c1" impressions >= 3 not clicked
//! page_category in ("IAB-483", "596") within 30d and in_audience "cart-abandoners" and tag foodie
//! no order_completed in 30d
//! no order_completed after product_added, checkout_started within 7d on web
//! model "lookalike:vip" top 5% and not in_audience vip
//! ```
//!
//! ### Grammar
//!
//! Keywords, enum values and units (`d`, `km`) ignore ASCII case; whitespace (including
//! newlines) separates tokens. Precedence,
//! tightest first: `not`/`no`, `and`, `or`; parentheses group. `{ x }` is zero or more, `[ x ]`
//! optional. The clauses after an event, `ads`, `category`, `brand`, `model` and `no … after`
//! may come in any order, each at most once.
//!
//! ```text
//! rule            = or_expr EOF ;
//! or_expr         = and_expr { "or" and_expr } ;
//! and_expr        = unary { "and" unary } ;
//! unary           = "not" unary
//!                 | "no" event_ref "after" event_ref { "," event_ref }
//!                        { window_clause | channel_clause }          (* NoEventAfter *)
//!                 | "no" event_ref { event_clause }                  (* = not <event> *)
//!                 | "(" or_expr ")"
//!                 | predicate ;
//!
//! predicate       = event
//!                 | "category" INTEGER { interest_clause }
//!                 | "brand" name { interest_clause }
//!                 | "price" "in" "(" price_band { "," price_band } ")" [ "for" "category" INTEGER ]
//!                 | "buying_power" "in" "(" level { "," level } ")"
//!                 | "gender" "in" "(" gender { "," gender } ")"
//!                 | "income" "in" "(" level { "," level } ")"
//!                 | "age" age_range
//!                 | "near" point { "," point } "within" KM
//!                 | "country" "in" "(" name { "," name } ")"
//!                 | "in_list" name
//!                 | "season" season [ INTEGER ]
//!                 | "ads" { ads_clause }
//!                 | "page_category" "in" "(" name { "," name } ")" [ "within" window ]
//!                 | "in_audience" name
//!                 | "attribute" filter
//!                 | "model" name { model_clause }
//!                 | "tag" name ;
//!
//! event           = event_ref { event_clause } ;
//! event_ref       = EVENT_WORD | "event" ( STRING | EVENT_WORD ) ;
//! event_clause    = "where" filter { "and" filter }                  (* see below *)
//!                 | [ "count" ] count_op INTEGER
//!                 | window_clause
//!                 | channel_clause ;
//! window_clause   = ( "within" | "in" ) window ;
//! channel_clause  = "on" ( "web" | "app" | "any" ) ;
//! count_op        = ">=" | ">" | "=" | "<=" | "<" | "!=" ;
//! filter          = key ( cmp_op literal
//!                       | "in" "(" literal { "," literal } ")"
//!                       | "contains" literal
//!                       | "exists" ) ;
//! key             = WORD | STRING ;
//! cmp_op          = "=" | "!=" | ">" | ">=" | "<" | "<=" ;
//! literal         = STRING | NUMBER | "true" | "false" | "null" ;
//! window          = DAYS                                  (* 30d: today back to 30 days ago *)
//!                 | ( INTEGER | DAYS ) ".." DAYS          (* 7..30d: 7 to 30 days ago *)
//!                 | ( INTEGER | DAYS ) ".." ;             (* 7d..: 7 days ago and before *)
//! interest_clause = "score" ">=" NUMBER | "within" DAYS ;
//! age_range       = INTEGER ".." INTEGER | INTEGER ".." | ".." INTEGER | INTEGER ;
//! point           = "(" NUMBER "," NUMBER ")" ;          (* (latitude, longitude) *)
//! ads_clause      = "campaign" name | "impressions" ">=" INTEGER | "clicked"
//!                 | "not" "clicked" | "not" "converted" | "within" window ;
//! model_clause    = "top" ( INTEGER | PERCENT ) | "score" ">=" NUMBER ;
//! name            = WORD | STRING ;                       (* a WORD that is a keyword must be quoted *)
//!
//! EVENT_WORD      = "activity" | "purchase" (* = order_completed *) | "visit" | "product_viewed"
//!                 | "product_list_viewed" | "products_searched" | "product_added"
//!                 | "product_removed" | "cart_viewed" | "checkout_started" | "order_completed"
//!                 | "order_refunded" | "ad_impression" | "ad_clicked" | "publisher_page_viewed"
//!                 | "identify" | "alias" ;
//! price_band      = "low" | "medium" | "high" ;
//! level           = "low" | "medium" | "high" | "very_high" ;
//! gender          = "female" | "male" | "other" | "unknown" ;
//! season          = "valentines_day" | "halloween" | "singles_day" | "black_friday"
//!                 | "cyber_monday" | "christmas" | "world_cup" ;
//!
//! WORD            = ( "A"…"Z" | "a"…"z" | "_" ) { "A"…"Z" | "a"…"z" | "0"…"9" | "_" } ;
//! STRING          = '"' { any char but '"' and '\' | escape } '"' ;
//! escape          = '\"' | '\\' | '\n' | '\r' | '\t' | '\u{' HEX { HEX } '}' ;
//! NUMBER          = [ "-" ] DIGITS [ "." DIGITS ] [ ( "e" | "E" ) [ "+" | "-" ] DIGITS ] ;
//! INTEGER         = DIGITS ;
//! DAYS            = DIGITS "d" ;   KM = NUMBER "km" ;   PERCENT = NUMBER "%" ;   (* unit glued on *)
//! ```
//!
//! Keywords: `and or not no event activity purchase category brand price buying_power gender age
//! income near country in_list season ads page_category in_audience attribute model tag where
//! count within in on for score top after campaign impressions clicked converted contains exists
//! true false null`. A name (tag, list, campaign, country, …) that is one of them is quoted:
//! `tag "new"`, `country in ("IN", "NO")`.
//!
//! **`and` inside `where`.** After a filter, `and KEY OP` continues the filter list when `OP` is
//! a filter operator (`= != > >= < <= in contains exists`), unless `KEY OP` also starts a rule:
//! `KEY` is `and`/`or`/`not`/`no`/`event` or an `EVENT_WORD` (`and product_viewed >= 3`), or
//! `KEY` is one of `price buying_power gender income country page_category` and `OP` is `in`
//! (`and price in (high)`). Quote the key to filter on such a property: `where "price" in (10, 20)`.
//! A `where` clause ends at `count`, a count operator, `within`, `in`, `on`, `or`, `)` or the end.
//!
//! **Sugar.** `no X …` is `not X …` for an event; `purchase` is `order_completed`; `in 30d`
//! is `within 30d` after an event. The printer ([`Rule::to_text`]) writes the canonical form;
//! `parse(r.to_text()) == r.normalized()` for every valid rule.
//!
//! ### Errors
//!
//! [`ParseError`] gives the line and column (1-based, in characters) of the offending token,
//! the list of what would have been accepted there, and the token found:
//!
//! ```text
//! purchase within 30d days
//!   1:21: expected "..", "where", a count like ">= 3", "on", "and", "or" or end of input, found "days"
//! purchse within 30d
//!   1:1: expected "not", "no", "(", an event like purchase or event "Name" or a predicate like category, gender or near, found "purchse" (did you mean "purchase"?)
//! purchase where price > 100 and gender in (female, robot)
//!   1:51: expected a gender (female, male, other or unknown), found "robot"
//! tag new or tag in
//!   1:16: expected a tag name (a word or a quoted string), found "in" ("in" is a keyword: quote it to use it as a name)
//! near (91, 2.35) within 5km
//!   1:7: latitude 91 is outside [-90, 90]
//! ```
//!
//! Validation errors found after parsing are placed on the token that wrote the field.
//!
//! ## Typed kinds
//!
//! [`AudienceKind`] (retargeting, cart abandoners, in-market, location, demographic, seasonality,
//! events, seen ads, contact list, behavioural, contextual, lookalike, prospecting, …) with
//! [`AudienceKind::compile`]; [`AudienceDef`] adds a name, description and [`FunnelStage`]. The
//! [`kinds`] module docs define each kind exactly.

#![warn(missing_docs)]

mod ast;
mod json;
pub mod kinds;
mod lexer;
mod parser;
mod print;
mod validate;
mod vocab;

pub use ast::{
    ACTIVITY_KINDS, AdExposure, AgeRange, BrandInterest, BuyingPower, BuyingPowerLevel,
    CategoryInterest, CountCmp, CountOp, CountryIn, EARTH_RADIUS_KM, Event, EventRef, GenderIn,
    GeoPoint, GeoRadius, InAudience, InList, IncomeIn, MAX_DAYS, ModelScore, NoEventAfter,
    PageCategory, Predicate, PriceBand, PriceRange, PropFilter, PropOp, Rule, SeasonActive, Tag,
    TopSpec, Window,
};
pub use audex_model::event::{Gender, IncomeBand};
pub use audex_model::season::Season;
pub use audex_model::{Channel, EventKind};
pub use json::{JsonError, from_json_str, from_json_value};
pub use kinds::{AudienceDef, AudienceKind, FunnelStage, PointOfInterest, UsersType, VisitorsType};
pub use parser::{ParseError, parse};
pub use validate::{MAX_AGE, MAX_RADIUS_KM, ValidationError};
