//! The pretty-printer: a rule back to its canonical one-line text form.
//!
//! For every valid rule `r`, `parse(&r.to_text()) == Ok(r.normalized())` (one-operand groups
//! print as their operand); parentheses appear only where precedence or nesting needs them.

use std::fmt::{self, Write};

use serde_json::Value;

use crate::ast::{
    AdExposure, Event, EventRef, Predicate, PropFilter, PropOp, Rule, TopSpec, Window,
};
use crate::parser::{IN_WORDS, event_word, fraction_to_percent, is_reserved};
use crate::vocab::{Vocab, name_of};

impl Rule {
    /// The canonical text form (see the grammar in the crate docs).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        rule(self, Ctx::Top, &mut out);
        out
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl Predicate {
    /// The text form of this predicate alone.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        predicate(self, &mut out);
        out
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    AndArg,
    OrArg,
    NotArg,
}

fn rule(r: &Rule, ctx: Ctx, out: &mut String) {
    match r {
        Rule::And(v) | Rule::Or(v) if v.len() == 1 => rule(&v[0], ctx, out),
        Rule::And(v) => group(
            v,
            " and ",
            Ctx::AndArg,
            matches!(ctx, Ctx::AndArg | Ctx::NotArg),
            out,
        ),
        Rule::Or(v) => group(v, " or ", Ctx::OrArg, ctx != Ctx::Top, out),
        Rule::Not(inner) => match inner.as_ref() {
            Rule::Pred(Predicate::Event(e)) => {
                out.push_str("no ");
                event(e, out);
            }
            other => {
                out.push_str("not ");
                rule(other, Ctx::NotArg, out);
            }
        },
        Rule::Pred(p) => predicate(p, out),
    }
}

fn group(v: &[Rule], sep: &str, ctx: Ctx, paren: bool, out: &mut String) {
    if paren {
        out.push('(');
    }
    for (i, r) in v.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        rule(r, ctx, out);
    }
    if paren {
        out.push(')');
    }
}

/// A string literal with escapes.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_plain(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A name: bare when it reads back as the same word, else quoted.
fn name(s: &str) -> String {
    if is_plain(s) && !is_reserved(s) {
        s.to_string()
    } else {
        quote(s)
    }
}

/// A filter key: bare unless, after `and`, it would read as the start of another rule.
fn filter_key(key: &str, op: PropOp) -> String {
    let w = key.to_ascii_lowercase();
    let clash = matches!(w.as_str(), "and" | "or" | "not" | "no" | "event")
        || event_word(&w).is_some()
        || (op == PropOp::In && IN_WORDS.contains(&w.as_str()));
    if is_plain(key) && !clash {
        key.to_string()
    } else {
        quote(key)
    }
}

fn literal(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(&quote(s)),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
        other => out.push_str(&other.to_string()),
    }
}

fn filter(f: &PropFilter, key: String, out: &mut String) {
    out.push_str(&key);
    out.push(' ');
    out.push_str(f.op.symbol());
    match (f.op, &f.value) {
        (PropOp::Exists, _) => {}
        (PropOp::In, Value::Array(items)) => {
            out.push_str(" (");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                literal(v, out);
            }
            out.push(')');
        }
        (_, v) => {
            out.push(' ');
            literal(v, out);
        }
    }
}

/// `30d`, `7..30d`, `7d..`.
pub(crate) fn window(w: &Window) -> String {
    match w.max_days {
        Some(b) if w.min_days == 0 => format!("{b}d"),
        Some(b) => format!("{}..{b}d", w.min_days),
        None => format!("{}d..", w.min_days),
    }
}

fn event_ref(r: &EventRef) -> String {
    match r {
        EventRef::Kind(k) => k.as_str().to_string(),
        EventRef::Activity => "activity".to_string(),
        EventRef::Custom(n) => format!("event {}", quote(n)),
    }
}

fn event(e: &Event, out: &mut String) {
    out.push_str(&event_ref(&e.event));
    for (i, f) in e.filters.iter().enumerate() {
        out.push_str(if i == 0 { " where " } else { " and " });
        filter(f, filter_key(&f.key, f.op), out);
    }
    if !e.count.is_default() {
        if !e.filters.is_empty() {
            out.push_str(" count");
        }
        let _ = write!(out, " {} {}", e.count.op.symbol(), e.count.value);
    }
    if !e.within.is_all() {
        let _ = write!(out, " within {}", window(&e.within));
    }
    if let Some(c) = e.channel {
        let _ = write!(out, " on {}", name_of(c));
    }
}

fn list<T: Vocab>(kw: &str, v: &[T], out: &mut String) {
    let names: Vec<&str> = v.iter().map(|x| x.name()).collect();
    let _ = write!(out, "{kw} in ({})", names.join(", "));
}

fn names(kw: &str, v: &[String], out: &mut String) {
    let items: Vec<String> = v.iter().map(|s| name(s)).collect();
    let _ = write!(out, "{kw} in ({})", items.join(", "));
}

fn interest(min_score: Option<f32>, within_days: Option<u32>, out: &mut String) {
    if let Some(s) = min_score {
        let _ = write!(out, " score >= {s}");
    }
    if let Some(d) = within_days {
        let _ = write!(out, " within {d}d");
    }
}

fn ads(a: &AdExposure, out: &mut String) {
    out.push_str("ads");
    if let Some(c) = &a.campaign {
        let _ = write!(out, " campaign {}", name(c));
    }
    if a.min_impressions != 1 {
        let _ = write!(out, " impressions >= {}", a.min_impressions);
    }
    match a.clicked {
        Some(true) => out.push_str(" clicked"),
        Some(false) => out.push_str(" not clicked"),
        None => {}
    }
    if a.not_converted_since {
        out.push_str(" not converted");
    }
    if !a.within.is_all() {
        let _ = write!(out, " within {}", window(&a.within));
    }
}

fn predicate(p: &Predicate, out: &mut String) {
    match p {
        Predicate::Event(e) => event(e, out),
        Predicate::NoEventAfter(n) => {
            let anchors: Vec<String> = n.after.iter().map(event_ref).collect();
            let _ = write!(
                out,
                "no {} after {}",
                event_ref(&n.event),
                anchors.join(", ")
            );
            if !n.within.is_all() {
                let _ = write!(out, " within {}", window(&n.within));
            }
            if let Some(c) = n.channel {
                let _ = write!(out, " on {}", name_of(c));
            }
        }
        Predicate::CategoryInterest(c) => {
            let _ = write!(out, "category {}", c.category);
            interest(c.min_score, c.within_days, out);
        }
        Predicate::BrandInterest(b) => {
            let _ = write!(out, "brand {}", name(&b.brand));
            interest(b.min_score, b.within_days, out);
        }
        Predicate::PriceRange(p) => {
            list("price", &p.ranges, out);
            if let Some(c) = p.category {
                let _ = write!(out, " for category {c}");
            }
        }
        Predicate::BuyingPower(b) => list("buying_power", &b.levels, out),
        Predicate::Gender(g) => list("gender", &g.values, out),
        Predicate::Income(i) => list("income", &i.bands, out),
        Predicate::Age(a) => {
            let _ = match (a.min, a.max) {
                (Some(lo), Some(hi)) => write!(out, "age {lo}..{hi}"),
                (Some(lo), None) => write!(out, "age {lo}.."),
                (None, Some(hi)) => write!(out, "age ..{hi}"),
                (None, None) => write!(out, "age .."),
            };
        }
        Predicate::GeoRadius(g) => {
            let pts: Vec<String> = g
                .points
                .iter()
                .map(|p| format!("({}, {})", p.lat, p.lon))
                .collect();
            let _ = write!(out, "near {} within {}km", pts.join(", "), g.radius_km);
        }
        Predicate::Country(c) => names("country", &c.codes, out),
        Predicate::InList(l) => {
            let _ = write!(out, "in_list {}", name(&l.list));
        }
        Predicate::Season(s) => {
            let _ = write!(out, "season {}", name_of(s.name));
            if let Some(y) = s.year {
                let _ = write!(out, " {y}");
            }
        }
        Predicate::AdExposure(a) => ads(a, out),
        Predicate::PageCategory(p) => {
            names("page_category", &p.categories, out);
            if !p.within.is_all() {
                let _ = write!(out, " within {}", window(&p.within));
            }
        }
        Predicate::InAudience(a) => {
            let _ = write!(out, "in_audience {}", name(&a.audience));
        }
        Predicate::Attribute(f) => {
            out.push_str("attribute ");
            let key = if is_plain(&f.key) {
                f.key.clone()
            } else {
                quote(&f.key)
            };
            filter(f, key, out);
        }
        Predicate::ModelScore(m) => {
            let _ = write!(out, "model {}", name(&m.model));
            match m.top {
                Some(TopSpec::Count(n)) => {
                    let _ = write!(out, " top {n}");
                }
                Some(TopSpec::Fraction(f)) => {
                    let _ = write!(out, " top {}%", fraction_to_percent(&f.to_string()));
                }
                None => {}
            }
            if let Some(s) = m.min_score {
                let _ = write!(out, " score >= {s}");
            }
        }
        Predicate::Tag(t) => {
            let _ = write!(out, "tag {}", name(&t.name));
        }
    }
}
