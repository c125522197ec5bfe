//! The hand-written recursive-descent parser of the text form (grammar in the crate docs).
//!
//! Errors carry the line and column of the offending token and the list of what the parser would
//! have accepted there: every alternative tried since the last consumed token is collected, so
//! the list is exact rather than guessed. Validation runs after parsing; its errors are placed
//! on the token that produced the offending field.

use std::str::FromStr;

use audex_model::{Channel, EventKind};
use serde_json::{Number, Value};
use thiserror::Error;

use crate::ast::{
    AdExposure, AgeRange, BrandInterest, BuyingPower, CategoryInterest, CountCmp, CountOp,
    CountryIn, Event, EventRef, GenderIn, GeoPoint, GeoRadius, InAudience, InList, IncomeIn,
    ModelScore, NoEventAfter, PageCategory, Predicate, PriceRange, PropFilter, PropOp, Rule,
    SeasonActive, Tag, TopSpec, Window,
};
use crate::lexer::{Tok, Token, lex};
use crate::vocab::{Vocab, join_or};

/// A text-form rule that does not parse or does not validate.
///
/// Display: `2:17: expected a window like "30d" or "0..14d", found "days"`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    /// Line of the offending token, 1-based.
    pub line: usize,
    /// Column of the offending token, 1-based, counted in characters.
    pub column: usize,
    /// What would have been accepted there (keywords in double quotes, descriptions bare);
    /// empty when the text parsed but a value is invalid.
    pub expected: Vec<String>,
    /// The offending token's source text; empty at end of input.
    pub found: String,
    /// The whole explanation (what [`Display`](std::fmt::Display) prints after the position).
    pub message: String,
}

/// Parses a rule from its text form and validates it.
pub fn parse(src: &str) -> Result<Rule, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        expected: Vec::new(),
        depth: 0,
    };
    let node = p.or_expr()?;
    if p.tok().tok != Tok::Eof {
        p.expect("end of input");
        return Err(p.fail());
    }
    if let Err(e) = node.rule.validate() {
        let idx = locate(&node.spans, &e.path).unwrap_or(0);
        let t = &p.toks[idx];
        return Err(ParseError {
            line: t.line,
            column: t.col,
            expected: Vec::new(),
            found: t.text.clone(),
            message: e.message,
        });
    }
    Ok(node.rule)
}

impl FromStr for Rule {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Rule, ParseError> {
        parse(s)
    }
}

impl Rule {
    /// Parses the text form (same as [`parse`]).
    pub fn parse(src: &str) -> Result<Rule, ParseError> {
        parse(src)
    }
}

/// Reads a window written as in the text form (`30d`, `0..14d`, `7d..`); no validation.
pub(crate) fn parse_window_str(s: &str) -> Option<Window> {
    let toks = lex(s).ok()?;
    let mut p = Parser {
        toks,
        pos: 0,
        expected: Vec::new(),
        depth: 0,
    };
    let (w, _) = p.window(&mut Vec::new(), "").ok()?;
    (p.tok().tok == Tok::Eof).then_some(w)
}

/// Words with a fixed role. A bare name (tag, list, campaign, ...) may not be one of them:
/// quote it instead (`tag "in"`).
pub(crate) const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "no",
    "event",
    "activity",
    "purchase",
    "category",
    "brand",
    "price",
    "buying_power",
    "gender",
    "age",
    "income",
    "near",
    "country",
    "in_list",
    "season",
    "ads",
    "page_category",
    "in_audience",
    "attribute",
    "model",
    "tag",
    "where",
    "count",
    "within",
    "in",
    "on",
    "for",
    "score",
    "top",
    "after",
    "campaign",
    "impressions",
    "clicked",
    "converted",
    "contains",
    "exists",
    "true",
    "false",
    "null",
];

/// Predicates written `word in (...)`: inside `where`, `and word in (` starts one of these, not
/// another filter (quote the key to filter on a property of that name).
pub(crate) const IN_WORDS: &[&str] = &[
    "price",
    "buying_power",
    "gender",
    "income",
    "country",
    "page_category",
];

/// The predicate keywords, for "did you mean" suggestions.
const PREDICATE_WORDS: &[&str] = &[
    "event",
    "activity",
    "purchase",
    "category",
    "brand",
    "price",
    "buying_power",
    "gender",
    "age",
    "income",
    "near",
    "country",
    "in_list",
    "season",
    "ads",
    "page_category",
    "in_audience",
    "attribute",
    "model",
    "tag",
];

/// A word naming events in the text form: a built-in kind, `activity` or `purchase`.
pub(crate) fn event_word(word: &str) -> Option<EventRef> {
    match word {
        "activity" => Some(EventRef::Activity),
        "purchase" => Some(EventRef::Kind(EventKind::OrderCompleted)),
        _ => EventKind::parse(word)
            .filter(|k| *k != EventKind::Custom)
            .map(EventRef::Kind),
    }
}

/// True when `word` (any case) is a keyword or names events, so a bare name must be quoted.
pub(crate) fn is_reserved(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    KEYWORDS.contains(&w.as_str())
}

const WINDOW_DESC: &str = "a window like \"30d\" or \"0..14d\"";
const DAYS_DESC: &str = "a number of days like \"30d\"";
const COUNT_DESC: &str = "a count like \">= 3\"";
const RULE_DESCS: [&str; 2] = [
    "an event like purchase or event \"Name\"",
    "a predicate like category, gender or near",
];
const MAX_DEPTH: usize = 100;

/// JSON pointers (relative to the node) of fields, mapped to the token that wrote them.
type Spans = Vec<(String, usize)>;

struct Node {
    rule: Rule,
    spans: Spans,
}

/// The token index recorded for the longest span path that is `path` or a parent of it.
fn locate(spans: &Spans, path: &str) -> Option<usize> {
    spans
        .iter()
        .filter(|(s, _)| {
            s.is_empty()
                || path == s
                || (path.starts_with(s.as_str()) && path[s.len()..].starts_with('/'))
        })
        .max_by_key(|(s, _)| s.len())
        .map(|(_, i)| *i)
}

fn prefixed(spans: Spans, prefix: &str) -> impl Iterator<Item = (String, usize)> + '_ {
    spans
        .into_iter()
        .map(move |(p, i)| (format!("{prefix}{p}"), i))
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest predicate keyword or event name to a misspelt word, if close enough.
fn suggest(word: &str) -> Option<String> {
    let w = word.to_ascii_lowercase();
    let events = EventKind::ALL
        .iter()
        .filter(|k| **k != EventKind::Custom)
        .map(|k| k.as_str());
    PREDICATE_WORDS
        .iter()
        .copied()
        .chain(events)
        .map(|c| (levenshtein(&w, c), c))
        .filter(|(d, c)| *d > 0 && *d <= 2 && *d * 3 <= c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

fn is_integer_text(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A JSON number from literal text: integers stay integers (like JSON), the rest is `f64`
/// parsed with correct rounding.
fn json_number(text: &str) -> Option<Number> {
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(u) = text.parse::<u64>() {
            return Some(Number::from(u));
        }
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::from(i));
        }
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

/// `"5"` → `"0.05"`: moves the decimal point two places left, exactly, on the digits.
pub(crate) fn percent_to_fraction(p: &str) -> String {
    let (int, frac) = p.split_once('.').unwrap_or((p, ""));
    let int = int.trim_start_matches('0');
    let mut digits = String::new();
    let padded = format!("{int:0>2}");
    let (head, tail) = padded.split_at(padded.len() - 2);
    digits.push_str(if head.is_empty() { "0" } else { head });
    digits.push('.');
    digits.push_str(tail);
    digits.push_str(frac);
    digits
}

/// `"0.05"` → `"5"`: moves the decimal point two places right, exactly, on the digits.
pub(crate) fn fraction_to_percent(f: &str) -> String {
    let (int, frac) = f.split_once('.').unwrap_or((f, ""));
    let frac = format!("{frac:0<2}");
    let (moved, rest) = frac.split_at(2);
    let int = format!("{int}{moved}");
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let rest = rest.trim_end_matches('0');
    if rest.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{rest}")
    }
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Alternatives tried at the current token, for the error message.
    expected: Vec<String>,
    depth: usize,
}

type PResult<T> = Result<T, ParseError>;

impl Parser {
    fn tok(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn ahead(&self, n: usize) -> &Token {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)]
    }

    /// Consumes the current token; returns its index.
    fn bump(&mut self) -> usize {
        let i = self.pos;
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        self.expected.clear();
        i
    }

    fn expect(&mut self, what: impl Into<String>) {
        let w = what.into();
        if !self.expected.contains(&w) {
            self.expected.push(w);
        }
    }

    fn eat_kw(&mut self, kw: &str) -> Option<usize> {
        if self.tok().is_kw(kw) {
            Some(self.bump())
        } else {
            self.expect(format!("\"{kw}\""));
            None
        }
    }

    fn eat_punct(&mut self, p: &str) -> Option<usize> {
        if self.tok().tok == Tok::Punct(match_punct(p)) {
            Some(self.bump())
        } else {
            self.expect(format!("\"{p}\""));
            None
        }
    }

    fn need_kw(&mut self, kw: &str) -> PResult<usize> {
        self.eat_kw(kw).ok_or_else(|| self.fail())
    }

    fn need_punct(&mut self, p: &str) -> PResult<usize> {
        self.eat_punct(p).ok_or_else(|| self.fail())
    }

    /// An error at the current token listing what was expected.
    fn fail(&self) -> ParseError {
        let t = self.tok();
        let found = if t.tok == Tok::Eof {
            "end of input".to_string()
        } else if matches!(t.tok, Tok::Str(_)) {
            t.text.clone()
        } else {
            format!("\"{}\"", t.text)
        };
        let mut message = if self.expected.is_empty() {
            format!("unexpected {found}")
        } else {
            format!("expected {}, found {found}", join_or(&self.expected))
        };
        if let Some(w) = t.word() {
            if self
                .expected
                .iter()
                .any(|e| RULE_DESCS.contains(&e.as_str()))
                && let Some(s) = suggest(&w)
            {
                message.push_str(&format!(" (did you mean \"{s}\"?)"));
            } else if is_reserved(&w) && self.expected.iter().any(|e| e.contains("quoted")) {
                message.push_str(&format!(
                    " (\"{w}\" is a keyword: quote it to use it as a name)"
                ));
            }
        }
        ParseError {
            line: t.line,
            column: t.col,
            expected: self.expected.clone(),
            found: t.text.clone(),
            message,
        }
    }

    /// Fails at the current token, expecting only `what`.
    fn fail_expecting<T>(&mut self, what: &str) -> PResult<T> {
        self.expected.clear();
        self.expect(what);
        Err(self.fail())
    }

    /// An error with a custom message at token `idx`.
    fn error_at(&self, idx: usize, message: String) -> ParseError {
        let t = &self.toks[idx];
        ParseError {
            line: t.line,
            column: t.col,
            expected: Vec::new(),
            found: t.text.clone(),
            message,
        }
    }

    // ---- boolean structure -------------------------------------------------------------

    fn or_expr(&mut self) -> PResult<Node> {
        self.chain("or", Parser::and_expr, Rule::Or)
    }

    fn and_expr(&mut self) -> PResult<Node> {
        self.chain("and", Parser::unary, Rule::And)
    }

    fn chain(
        &mut self,
        op: &str,
        operand: fn(&mut Parser) -> PResult<Node>,
        build: fn(Vec<Rule>) -> Rule,
    ) -> PResult<Node> {
        let start = self.pos;
        let first = operand(self)?;
        if !self.tok().is_kw(op) {
            self.expect(format!("\"{op}\""));
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_kw(op).is_some() {
            items.push(operand(self)?);
        }
        let mut spans = vec![(String::new(), start)];
        let mut rules = Vec::with_capacity(items.len());
        for (i, n) in items.into_iter().enumerate() {
            spans.extend(prefixed(n.spans, &format!("/{op}/{i}")));
            rules.push(n.rule);
        }
        Ok(Node {
            rule: build(rules),
            spans,
        })
    }

    fn unary(&mut self) -> PResult<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                self.pos,
                format!("rule nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        let out = self.unary_inner();
        self.depth -= 1;
        out
    }

    fn unary_inner(&mut self) -> PResult<Node> {
        let start = self.pos;
        if self.eat_kw("not").is_some() {
            let inner = self.unary()?;
            let mut spans = vec![(String::new(), start)];
            spans.extend(prefixed(inner.spans, "/not"));
            return Ok(Node {
                rule: Rule::not(inner.rule),
                spans,
            });
        }
        if self.eat_kw("no").is_some() {
            return self.no_rule(start);
        }
        if self.eat_punct("(").is_some() {
            let inner = self.or_expr()?;
            self.need_punct(")")?;
            return Ok(inner);
        }
        self.predicate()
    }

    /// After `no`: `no X after A, B ...` (NoEventAfter) or `no X ...` (= `not X ...`).
    fn no_rule(&mut self, start: usize) -> PResult<Node> {
        let (event, ev_idx) = self.event_ref()?;
        if self.eat_kw("after").is_some() {
            let mut spans: Spans = vec![(String::new(), start), ("/event".into(), ev_idx)];
            let mut after = Vec::new();
            loop {
                let (r, i) = self.event_ref()?;
                spans.push((format!("/after/{}", after.len()), i));
                after.push(r);
                if self.eat_punct(",").is_none() {
                    break;
                }
            }
            let mut within = None;
            let mut channel = None;
            loop {
                if within.is_none() && (self.tok().is_kw("within") || self.tok().is_kw("in")) {
                    self.bump();
                    within = Some(self.window(&mut spans, "/within")?.0);
                    continue;
                }
                if channel.is_none() && self.tok().is_kw("on") {
                    self.bump();
                    channel = Some(self.channel(&mut spans)?);
                    continue;
                }
                if within.is_none() {
                    self.expect("\"within\"");
                }
                if channel.is_none() {
                    self.expect("\"on\"");
                }
                break;
            }
            let rule = Rule::from(NoEventAfter {
                event,
                after,
                within: within.unwrap_or_default(),
                channel: channel.flatten(),
            });
            return Ok(Node { rule, spans });
        }
        self.expect("\"after\"");
        let mut spans: Spans = vec![(String::new(), start), ("/not/event".into(), ev_idx)];
        let mut ev = Event::new(event);
        let mut inner = vec![(String::new(), ev_idx)];
        self.event_clauses(&mut ev, &mut inner)?;
        spans.extend(prefixed(inner, "/not"));
        Ok(Node {
            rule: Rule::not(Rule::from(ev)),
            spans,
        })
    }

    // ---- predicates ----------------------------------------------------------------------

    fn predicate(&mut self) -> PResult<Node> {
        let start = self.pos;
        let mut spans: Spans = vec![(String::new(), start)];
        let Some(word) = self.tok().word() else {
            for d in RULE_DESCS {
                self.expect(d);
            }
            return Err(self.fail());
        };
        let pred: Predicate = match word.as_str() {
            "category" => {
                self.bump();
                let (category, i) = self.integer::<u32>("a Google Product Taxonomy id")?;
                spans.push(("/category".into(), i));
                let (min_score, within_days) = self.interest_clauses(&mut spans)?;
                CategoryInterest {
                    category,
                    min_score,
                    within_days,
                }
                .into()
            }
            "brand" => {
                self.bump();
                let (brand, i) = self.name("a brand")?;
                spans.push(("/brand".into(), i));
                let (min_score, within_days) = self.interest_clauses(&mut spans)?;
                BrandInterest {
                    brand,
                    min_score,
                    within_days,
                }
                .into()
            }
            "price" => {
                self.bump();
                let ranges = self.vocab_list(&mut spans, "/ranges")?;
                let mut category = None;
                if self.eat_kw("for").is_some() {
                    self.need_kw("category")?;
                    let (c, i) = self.integer::<u32>("a Google Product Taxonomy id")?;
                    spans.push(("/category".into(), i));
                    category = Some(c);
                }
                PriceRange { ranges, category }.into()
            }
            "buying_power" => {
                self.bump();
                BuyingPower {
                    levels: self.vocab_list(&mut spans, "/levels")?,
                }
                .into()
            }
            "gender" => {
                self.bump();
                GenderIn {
                    values: self.vocab_list(&mut spans, "/values")?,
                }
                .into()
            }
            "income" => {
                self.bump();
                IncomeIn {
                    bands: self.vocab_list(&mut spans, "/bands")?,
                }
                .into()
            }
            "age" => {
                self.bump();
                self.age(&mut spans)?.into()
            }
            "near" => {
                self.bump();
                self.near(&mut spans)?.into()
            }
            "country" => {
                self.bump();
                CountryIn {
                    codes: self.name_list(&mut spans, "/codes", "a country code like FR")?,
                }
                .into()
            }
            "in_list" => {
                self.bump();
                let (list, i) = self.name("a contact list id")?;
                spans.push(("/list".into(), i));
                InList { list }.into()
            }
            "in_audience" => {
                self.bump();
                let (audience, i) = self.name("an audience id")?;
                spans.push(("/audience".into(), i));
                InAudience { audience }.into()
            }
            "tag" => {
                self.bump();
                let (name, i) = self.name("a tag name")?;
                spans.push(("/name".into(), i));
                Tag { name }.into()
            }
            "season" => {
                self.bump();
                let (name, i) = self.vocab_word()?;
                spans.push(("/name".into(), i));
                let mut year = None;
                if let Tok::Num { num, unit } = &self.tok().tok
                    && unit.is_empty()
                {
                    let num = num.clone();
                    let idx = self.bump();
                    let y = num
                        .parse::<i32>()
                        .map_err(|_| self.error_at(idx, format!("\"{num}\" is not a year")))?;
                    spans.push(("/year".into(), idx));
                    year = Some(y);
                } else {
                    self.expect("a year like 2025");
                }
                SeasonActive { name, year }.into()
            }
            "ads" => {
                self.bump();
                self.ads(&mut spans)?.into()
            }
            "page_category" => {
                self.bump();
                let categories =
                    self.name_list(&mut spans, "/categories", "an IAB category id like \"596\"")?;
                let mut within = Window::ALL;
                if self.eat_kw("within").is_some() {
                    within = self.window(&mut spans, "/within")?.0;
                }
                PageCategory { categories, within }.into()
            }
            "attribute" => {
                self.bump();
                Predicate::Attribute(self.filter(&mut spans, "")?)
            }
            "model" => {
                self.bump();
                self.model(&mut spans)?.into()
            }
            w if w == "event" || event_word(w).is_some() => {
                let (event, i) = self.event_ref()?;
                spans.push(("/event".into(), i));
                let mut ev = Event::new(event);
                self.event_clauses(&mut ev, &mut spans)?;
                ev.into()
            }
            _ => {
                for d in RULE_DESCS {
                    self.expect(d);
                }
                return Err(self.fail());
            }
        };
        Ok(Node {
            rule: Rule::Pred(pred),
            spans,
        })
    }

    /// `event "Name"`, `event order_completed`, or a bare event word.
    fn event_ref(&mut self) -> PResult<(EventRef, usize)> {
        if self.tok().is_kw("event") {
            self.bump();
            let t = self.tok().clone();
            if let Tok::Str(s) = t.tok {
                return Ok((EventRef::Custom(s), self.bump()));
            }
            if let Some(r) = t.word().and_then(|w| event_word(&w)) {
                return Ok((r, self.bump()));
            }
            return self.fail_expecting("a quoted event name like \"Wishlist Added\"");
        }
        if let Some(r) = self.tok().word().and_then(|w| event_word(&w)) {
            return Ok((r, self.bump()));
        }
        self.expect(RULE_DESCS[0]);
        Err(self.fail())
    }

    /// `where`, count, `within`/`in` and `on` clauses, in any order, each at most once.
    fn event_clauses(&mut self, ev: &mut Event, spans: &mut Spans) -> PResult<()> {
        let (mut seen_where, mut seen_count, mut seen_within, mut seen_on) =
            (false, false, false, false);
        loop {
            let t = self.tok().clone();
            let dup = (seen_where && t.is_kw("where"))
                || (seen_count && (t.is_kw("count") || count_op(&t).is_some()))
                || (seen_within && (t.is_kw("within") || t.is_kw("in")))
                || (seen_on && t.is_kw("on"));
            if dup {
                return Err(self.error_at(
                    self.pos,
                    format!("this event already has a \"{}\" clause", t.text),
                ));
            }
            if !seen_where && self.eat_kw("where").is_some() {
                seen_where = true;
                loop {
                    let i = ev.filters.len();
                    let f = self.filter(spans, &format!("/where/{i}"))?;
                    ev.filters.push(f);
                    if self.tok().is_kw("and") && self.filter_continues() {
                        self.bump();
                        continue;
                    }
                    break;
                }
                continue;
            }
            if !seen_count {
                let has_kw = t.is_kw("count");
                if has_kw {
                    self.bump();
                }
                if let Some(op) = count_op(self.tok()) {
                    let op_idx = self.bump();
                    let (value, vi) = self.integer::<u32>("a count")?;
                    spans.push(("/count".into(), op_idx));
                    spans.push(("/count/value".into(), vi));
                    ev.count = CountCmp { op, value };
                    seen_count = true;
                    continue;
                }
                if has_kw {
                    return self.fail_expecting("a comparison like \">= 3\"");
                }
                self.expect(COUNT_DESC);
            }
            if !seen_within {
                if self.tok().is_kw("within") || self.tok().is_kw("in") {
                    self.bump();
                    ev.within = self.window(spans, "/within")?.0;
                    seen_within = true;
                    continue;
                }
                self.expect("\"within\"");
                self.expect("\"in\"");
            }
            if !seen_on && self.eat_kw("on").is_some() {
                ev.channel = self.channel(spans)?;
                seen_on = true;
                continue;
            }
            return Ok(());
        }
    }

    /// After a filter, on `and`: does a further filter follow (rather than another rule)?
    /// Yes when the next two tokens are a key and a filter operator, unless they also start a
    /// predicate: an event word (`and product_viewed >= 3`), a structural keyword, or one of
    /// [`IN_WORDS`] followed by `in` (`and price in (high)`).
    fn filter_continues(&self) -> bool {
        let (k, op) = (self.ahead(1), self.ahead(2));
        let op_in = op.is_kw("in");
        let is_op = op_in
            || op.is_kw("contains")
            || op.is_kw("exists")
            || matches!(op.tok, Tok::Punct("=" | "!=" | ">" | ">=" | "<" | "<="));
        if !is_op {
            return false;
        }
        match &k.tok {
            Tok::Str(_) => true,
            Tok::Ident => {
                let w = k.text.to_ascii_lowercase();
                !(matches!(w.as_str(), "and" | "or" | "not" | "no")
                    || w == "event"
                    || event_word(&w).is_some()
                    || (op_in && IN_WORDS.contains(&w.as_str())))
            }
            _ => false,
        }
    }

    /// `key op value`; spans under `base`.
    fn filter(&mut self, spans: &mut Spans, base: &str) -> PResult<PropFilter> {
        let t = self.tok().clone();
        let key = match t.tok {
            Tok::Str(s) => s,
            Tok::Ident => t.text.clone(),
            _ => return self.fail_expecting("a property name"),
        };
        let key_idx = self.bump();
        spans.push((base.to_string(), key_idx));
        spans.push((format!("{base}/key"), key_idx));
        let t = self.tok().clone();
        let op = match &t.tok {
            Tok::Punct(p) => match *p {
                "=" => Some(PropOp::Eq),
                "!=" => Some(PropOp::Ne),
                ">" => Some(PropOp::Gt),
                ">=" => Some(PropOp::Ge),
                "<" => Some(PropOp::Lt),
                "<=" => Some(PropOp::Le),
                _ => None,
            },
            Tok::Ident if t.is_kw("in") => Some(PropOp::In),
            Tok::Ident if t.is_kw("contains") => Some(PropOp::Contains),
            Tok::Ident if t.is_kw("exists") => Some(PropOp::Exists),
            _ => None,
        };
        let Some(op) = op else {
            return self
                .fail_expecting("an operator (=, !=, >, >=, <, <=, in, contains or exists)");
        };
        let op_idx = self.bump();
        spans.push((format!("{base}/op"), op_idx));
        let value = match op {
            PropOp::Exists => Value::Null,
            PropOp::In => {
                let open = self.need_punct("(")?;
                spans.push((format!("{base}/value"), open));
                let mut items = Vec::new();
                loop {
                    let (v, i) = self.literal()?;
                    spans.push((format!("{base}/value/{}", items.len()), i));
                    items.push(v);
                    if self.eat_punct(",").is_none() {
                        break;
                    }
                }
                self.need_punct(")")?;
                Value::Array(items)
            }
            _ => {
                let (v, i) = self.literal()?;
                spans.push((format!("{base}/value"), i));
                v
            }
        };
        Ok(PropFilter { key, op, value })
    }

    /// A string, a number, `true`, `false` or `null`.
    fn literal(&mut self) -> PResult<(Value, usize)> {
        let t = self.tok().clone();
        let v = match &t.tok {
            Tok::Str(s) => Value::String(s.clone()),
            Tok::Num { num, unit } if unit.is_empty() => match json_number(num) {
                Some(n) => Value::Number(n),
                None => {
                    return Err(self.error_at(self.pos, format!("number {num} is out of range")));
                }
            },
            Tok::Ident if t.is_kw("true") => Value::Bool(true),
            Tok::Ident if t.is_kw("false") => Value::Bool(false),
            Tok::Ident if t.is_kw("null") => Value::Null,
            _ => return self.fail_expecting("a value (a string, a number, true, false or null)"),
        };
        Ok((v, self.bump()))
    }

    /// A non-negative integer without unit.
    fn integer<T: FromStr>(&mut self, what: &str) -> PResult<(T, usize)> {
        if let Tok::Num { num, unit } = &self.tok().tok
            && unit.is_empty()
            && is_integer_text(num)
        {
            let num = num.clone();
            return match num.parse::<T>() {
                Ok(v) => Ok((v, self.bump())),
                Err(_) => Err(self.error_at(self.pos, format!("{num} is too large for {what}"))),
            };
        }
        self.fail_expecting(what)
    }

    /// A number (integer or decimal, maybe negative) without unit.
    fn float<T: FromStr>(&mut self, what: &str) -> PResult<(T, usize)> {
        if let Tok::Num { num, unit } = &self.tok().tok
            && unit.is_empty()
            && let Ok(v) = num.parse::<T>()
        {
            return Ok((v, self.bump()));
        }
        self.fail_expecting(what)
    }

    /// A window: `30d`, `A..Bd`, `Ad..Bd`, `A..`, `Ad..`.
    fn window(&mut self, spans: &mut Spans, base: &str) -> PResult<(Window, usize)> {
        let start = self.pos;
        let first = match &self.tok().tok {
            Tok::Num { num, unit }
                if is_integer_text(num) && (unit.is_empty() || unit.eq_ignore_ascii_case("d")) =>
            {
                Some((num.clone(), !unit.is_empty()))
            }
            _ => None,
        };
        let Some((a, has_d)) = first else {
            return self.fail_expecting(WINDOW_DESC);
        };
        let a: u32 = a
            .parse()
            .map_err(|_| self.error_at(start, format!("{a} days is too large")))?;
        self.bump();
        spans.push((base.to_string(), start));
        spans.push((format!("{base}/min_days"), start));
        if self.eat_punct("..").is_none() {
            if has_d {
                spans.push((format!("{base}/max_days"), start));
                return Ok((Window::last(a), start));
            }
            return self.fail_expecting(WINDOW_DESC);
        }
        if let Tok::Num { num, unit } = &self.tok().tok {
            if is_integer_text(num) && unit.eq_ignore_ascii_case("d") {
                let b: u32 = num
                    .parse()
                    .map_err(|_| self.error_at(self.pos, format!("{num} days is too large")))?;
                let bi = self.bump();
                spans.push((format!("{base}/max_days"), bi));
                return Ok((Window::between(a, b), start));
            }
            return self.fail_expecting("a window end like \"14d\"");
        }
        self.expect("a window end like \"14d\"");
        Ok((
            Window {
                min_days: a,
                max_days: None,
            },
            start,
        ))
    }

    /// `web`, `app` or `any` after `on`.
    fn channel(&mut self, spans: &mut Spans) -> PResult<Option<Channel>> {
        let t = self.tok().clone();
        if t.is_kw("any") {
            self.bump();
            return Ok(None);
        }
        if let Some(c) = t.word().and_then(|w| Channel::from_name(&w)) {
            let i = self.bump();
            spans.push(("/channel".into(), i));
            return Ok(Some(c));
        }
        for c in ["\"web\"", "\"app\"", "\"any\""] {
            self.expect(c);
        }
        Err(self.fail())
    }

    /// A bare word (not a keyword) or a quoted string.
    fn name(&mut self, what: &str) -> PResult<(String, usize)> {
        let t = self.tok().clone();
        match &t.tok {
            Tok::Str(s) => Ok((s.clone(), self.bump())),
            Tok::Ident if !is_reserved(&t.text) => Ok((t.text.clone(), self.bump())),
            _ => self.fail_expecting(&format!("{what} (a word or a quoted string)")),
        }
    }

    /// `( name, name, .. )`.
    fn name_list(&mut self, spans: &mut Spans, base: &str, what: &str) -> PResult<Vec<String>> {
        self.need_kw("in")?;
        let open = self.need_punct("(")?;
        spans.push((base.to_string(), open));
        let mut out = Vec::new();
        loop {
            let (n, i) = self.name(what)?;
            spans.push((format!("{base}/{}", out.len()), i));
            out.push(n);
            if self.eat_punct(",").is_none() {
                break;
            }
        }
        self.need_punct(")")?;
        Ok(out)
    }

    /// One vocabulary word.
    fn vocab_word<T: Vocab>(&mut self) -> PResult<(T, usize)> {
        let t = self.tok().clone();
        if let Some(v) = t.word().and_then(|w| T::from_name(&w)) {
            return Ok((v, self.bump()));
        }
        let names: Vec<String> = T::all().iter().map(|v| v.name().to_string()).collect();
        self.fail_expecting(&format!("a {} ({})", T::WHAT, join_or(&names)))
    }

    /// `in ( word, word, .. )` over a vocabulary.
    fn vocab_list<T: Vocab>(&mut self, spans: &mut Spans, base: &str) -> PResult<Vec<T>> {
        self.need_kw("in")?;
        let open = self.need_punct("(")?;
        spans.push((base.to_string(), open));
        let mut out = Vec::new();
        loop {
            let (v, i) = self.vocab_word::<T>()?;
            spans.push((format!("{base}/{}", out.len()), i));
            out.push(v);
            if self.eat_punct(",").is_none() {
                break;
            }
        }
        self.need_punct(")")?;
        Ok(out)
    }

    /// `score >= X` and `within Nd`, any order, each at most once.
    fn interest_clauses(&mut self, spans: &mut Spans) -> PResult<(Option<f32>, Option<u32>)> {
        let (mut score, mut within) = (None, None);
        loop {
            if score.is_none() && self.eat_kw("score").is_some() {
                self.need_punct(">=")?;
                let (s, i) = self.float::<f32>("a score between 0 and 1")?;
                spans.push(("/min_score".into(), i));
                score = Some(s);
                continue;
            }
            if within.is_none() && self.eat_kw("within").is_some() {
                within = Some(self.days(spans, "/within_days")?);
                continue;
            }
            return Ok((score, within));
        }
    }

    /// `Nd`.
    fn days(&mut self, spans: &mut Spans, path: &str) -> PResult<u32> {
        if let Tok::Num { num, unit } = &self.tok().tok
            && is_integer_text(num)
            && unit.eq_ignore_ascii_case("d")
        {
            let num = num.clone();
            let d = num
                .parse::<u32>()
                .map_err(|_| self.error_at(self.pos, format!("{num} days is too large")))?;
            let i = self.bump();
            spans.push((path.to_string(), i));
            return Ok(d);
        }
        self.fail_expecting(DAYS_DESC)
    }

    /// `age A..B`, `age A..`, `age ..B`, `age A`.
    fn age(&mut self, spans: &mut Spans) -> PResult<AgeRange> {
        if self.eat_punct("..").is_some() {
            let (max, i) = self.integer::<u32>("an age")?;
            spans.push(("/max".into(), i));
            return Ok(AgeRange {
                min: None,
                max: Some(max),
            });
        }
        let (min, i) = match self.integer::<u32>("an age") {
            Ok(v) => v,
            Err(_) => return self.fail_expecting("an age range like 25..44"),
        };
        spans.push(("/min".into(), i));
        if self.eat_punct("..").is_none() {
            spans.push(("/max".into(), i));
            return Ok(AgeRange {
                min: Some(min),
                max: Some(min),
            });
        }
        if let Tok::Num { .. } = self.tok().tok {
            let (max, j) = self.integer::<u32>("an age")?;
            spans.push(("/max".into(), j));
            return Ok(AgeRange {
                min: Some(min),
                max: Some(max),
            });
        }
        self.expect("an age");
        Ok(AgeRange {
            min: Some(min),
            max: None,
        })
    }

    /// `near (lat, lon), ... within Rkm`.
    fn near(&mut self, spans: &mut Spans) -> PResult<GeoRadius> {
        let mut points = Vec::new();
        loop {
            let base = format!("/points/{}", points.len());
            let open = self.need_punct("(")?;
            spans.push((base.clone(), open));
            let (lat, li) = self.float::<f64>("a latitude")?;
            spans.push((format!("{base}/lat"), li));
            self.need_punct(",")?;
            let (lon, oi) = self.float::<f64>("a longitude")?;
            spans.push((format!("{base}/lon"), oi));
            self.need_punct(")")?;
            points.push(GeoPoint { lat, lon });
            if self.eat_punct(",").is_none() {
                break;
            }
        }
        self.need_kw("within")?;
        if let Tok::Num { num, unit } = &self.tok().tok
            && unit.eq_ignore_ascii_case("km")
            && let Ok(r) = num.parse::<f64>()
        {
            let i = self.bump();
            spans.push(("/radius_km".into(), i));
            return Ok(GeoRadius {
                points,
                radius_km: r,
            });
        }
        self.fail_expecting("a radius like \"10km\"")
    }

    /// `ads` clauses, any order, each at most once.
    fn ads(&mut self, spans: &mut Spans) -> PResult<AdExposure> {
        let mut a = AdExposure {
            campaign: None,
            min_impressions: 1,
            clicked: None,
            not_converted_since: false,
            within: Window::ALL,
        };
        let (mut seen_imp, mut seen_within) = (false, false);
        loop {
            if a.campaign.is_none() && self.eat_kw("campaign").is_some() {
                let (c, i) = self.name("a campaign id")?;
                spans.push(("/campaign".into(), i));
                a.campaign = Some(c);
                continue;
            }
            if !seen_imp && self.eat_kw("impressions").is_some() {
                self.need_punct(">=")?;
                let (n, i) = self.integer::<u32>("a number of impressions")?;
                spans.push(("/min_impressions".into(), i));
                a.min_impressions = n;
                seen_imp = true;
                continue;
            }
            if a.clicked.is_none() {
                if let Some(i) = self.eat_kw("clicked") {
                    spans.push(("/clicked".into(), i));
                    a.clicked = Some(true);
                    continue;
                }
                if self.tok().is_kw("not") && self.ahead(1).is_kw("clicked") {
                    let i = self.bump();
                    self.bump();
                    spans.push(("/clicked".into(), i));
                    a.clicked = Some(false);
                    continue;
                }
                self.expect("\"not clicked\"");
            }
            if !a.not_converted_since {
                if self.tok().is_kw("not") && self.ahead(1).is_kw("converted") {
                    let i = self.bump();
                    self.bump();
                    spans.push(("/not_converted_since".into(), i));
                    a.not_converted_since = true;
                    continue;
                }
                self.expect("\"not converted\"");
            }
            if !seen_within && self.eat_kw("within").is_some() {
                a.within = self.window(spans, "/within")?.0;
                seen_within = true;
                continue;
            }
            return Ok(a);
        }
    }

    /// `model NAME` then `top N` / `top P%` and `score >= X`, any order, each at most once.
    fn model(&mut self, spans: &mut Spans) -> PResult<ModelScore> {
        let (model, i) = self.name("a model name")?;
        spans.push(("/model".into(), i));
        let mut m = ModelScore {
            model,
            top: None,
            min_score: None,
        };
        loop {
            if m.top.is_none() && self.eat_kw("top").is_some() {
                let t = self.tok().clone();
                let top = match &t.tok {
                    Tok::Num { num, unit } if unit.is_empty() && is_integer_text(num) => {
                        num.parse::<u64>().ok().map(TopSpec::Count)
                    }
                    Tok::Num { num, unit } if unit == "%" && !num.starts_with('-') => {
                        if num.contains(['e', 'E']) {
                            None
                        } else {
                            percent_to_fraction(num)
                                .parse::<f64>()
                                .ok()
                                .map(TopSpec::Fraction)
                        }
                    }
                    _ => None,
                };
                let Some(top) = top else {
                    return self.fail_expecting("a count like 1000 or a share like 5%");
                };
                let ti = self.bump();
                spans.push(("/top".into(), ti));
                m.top = Some(top);
                continue;
            }
            if m.min_score.is_none() && self.eat_kw("score").is_some() {
                self.need_punct(">=")?;
                let (s, si) = self.float::<f32>("a score between 0 and 1")?;
                spans.push(("/min_score".into(), si));
                m.min_score = Some(s);
                continue;
            }
            return Ok(m);
        }
    }
}

fn match_punct(p: &str) -> &'static str {
    match p {
        "(" => "(",
        ")" => ")",
        "," => ",",
        ".." => "..",
        "=" => "=",
        "!=" => "!=",
        ">" => ">",
        ">=" => ">=",
        "<" => "<",
        "<=" => "<=",
        _ => "",
    }
}

fn count_op(t: &Token) -> Option<CountOp> {
    match t.tok {
        Tok::Punct(p) => CountOp::ALL.into_iter().find(|o| o.symbol() == p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_shifts_are_exact() {
        for (p, f) in [
            ("5", "0.05"),
            ("100", "1.00"),
            ("0.5", "0.005"),
            ("12.34", "0.1234"),
            ("007", "0.07"),
        ] {
            assert_eq!(percent_to_fraction(p), f);
        }
        for (f, p) in [
            ("0.05", "5"),
            ("1", "100"),
            ("0.005", "0.5"),
            ("0.1234", "12.34"),
            ("0.0000001", "0.00001"),
        ] {
            assert_eq!(fraction_to_percent(f), p);
        }
    }

    #[test]
    fn window_strings() {
        assert_eq!(parse_window_str("30d"), Some(Window::last(30)));
        assert_eq!(parse_window_str("0..14d"), Some(Window::between(0, 14)));
        assert_eq!(parse_window_str("7d..14d"), Some(Window::between(7, 14)));
        assert_eq!(
            parse_window_str("7d.."),
            Some(Window {
                min_days: 7,
                max_days: None
            })
        );
        assert_eq!(parse_window_str("30"), None);
        assert_eq!(parse_window_str("30d x"), None);
    }

    #[test]
    fn locate_prefers_longest_parent() {
        let spans: Spans = vec![
            (String::new(), 0),
            ("/and/1".into(), 3),
            ("/and/1/radius_km".into(), 9),
        ];
        assert_eq!(locate(&spans, "/and/1/radius_km"), Some(9));
        assert_eq!(locate(&spans, "/and/1/points/0/lat"), Some(3));
        assert_eq!(locate(&spans, "/and/10"), Some(0));
    }
}
