//! Parsing and validating incoming events in parallel, before the sequential log-and-apply step.

use std::sync::Arc;

use audex_contextual::Classifiers;
use audex_geoip::GeoIp;
use audex_model::event::{Event, ValidationError, parse_event, split_batch};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

/// One line (or request body) of input, numbered for error messages.
#[derive(Debug, Clone)]
pub struct InputLine {
    /// 1-based line number in its file (0 when not from a file).
    pub line: u64,
    pub bytes: Vec<u8>,
}

/// A validated event with the exact JSON that will be stored.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub line: u64,
    /// Position of the event within its line's batch envelope (0 for a single event).
    pub index: usize,
    pub event: Event,
    pub raw: Vec<u8>,
}

/// A refused event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub line: u64,
    /// Position within the line's batch envelope (0 for a single event).
    pub index: usize,
    pub field: String,
    pub message: String,
}

impl Rejection {
    fn new(line: u64, index: usize, e: ValidationError) -> Self {
        Rejection {
            line,
            index,
            field: e.field,
            message: e.message,
        }
    }
}

/// Validates every line in parallel; the output keeps input order.
pub fn parse_lines(
    lines: &[InputLine],
    received_at_ms: i64,
    enrichment: &Enrichment,
) -> Vec<Result<Parsed, Rejection>> {
    lines
        .par_iter()
        .with_min_len(256)
        .flat_map_iter(|l| parse_one(l, received_at_ms, enrichment))
        .collect()
}

/// Validates one line: a single event, or a `{"batch": [...]}` envelope of several.
pub fn parse_one(
    l: &InputLine,
    received_at_ms: i64,
    enrichment: &Enrichment,
) -> Vec<Result<Parsed, Rejection>> {
    parse_one_from(l, received_at_ms, enrichment, None)
}

/// [`parse_one`] for a request from `client_ip`: events without `context.ip` get it, as
/// Segment's servers add it to what analytics.js sends, so web visitors can be located. It
/// becomes part of the stored JSON (replay must see the same event).
pub fn parse_one_from(
    l: &InputLine,
    received_at_ms: i64,
    enrichment: &Enrichment,
    client_ip: Option<std::net::IpAddr>,
) -> Vec<Result<Parsed, Rejection>> {
    let text = trim_ascii(&l.bytes);
    if text.len() > audex_model::event::MAX_EVENT_BYTES * 16 {
        return vec![Err(Rejection::new(
            l.line,
            0,
            ValidationError {
                field: "/".into(),
                message: format!("line is {} bytes; the limit is 512 KB", text.len()),
            },
        ))];
    }
    let value: Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => {
            return vec![Err(Rejection {
                line: l.line,
                index: 0,
                field: "/".into(),
                message: format!("invalid JSON at column {}: {e}", e.column()),
            })];
        }
    };
    let is_batch = value.get("batch").is_some();
    let items = match split_batch(value) {
        Ok(items) => items,
        Err(e) => return vec![Err(Rejection::new(l.line, 0, e))],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, mut item)| {
            let added_ip = client_ip.is_some_and(|ip| add_client_ip(&mut item, ip));
            let raw = if is_batch || added_ip {
                serde_json::to_vec(&item).unwrap_or_default()
            } else {
                text.to_vec()
            };
            if crate::erase::Control::parse(&raw).is_some() {
                // The log's own records (privacy deletions) start this way; an event must not.
                return Err(Rejection::new(
                    l.line,
                    index,
                    ValidationError {
                        field: "/type".into(),
                        message: "types beginning with \"audex.\" are reserved".into(),
                    },
                ));
            }
            if raw.len() > audex_model::event::MAX_EVENT_BYTES {
                return Err(Rejection::new(
                    l.line,
                    index,
                    ValidationError {
                        field: "/".into(),
                        message: format!("event is {} bytes; the limit is 32 KB", raw.len()),
                    },
                ));
            }
            parse_event(item, received_at_ms)
                .map(|mut event| {
                    enrich(&mut event, enrichment);
                    event
                })
                .map(|event| Parsed {
                    line: l.line,
                    index,
                    event,
                    raw,
                })
                .map_err(|e| Rejection::new(l.line, index, e))
        })
        .collect()
}

/// What a data directory derives events' missing fields with: its page classifiers and its
/// GeoIP databases, each as installed at the time an event was received.
#[derive(Debug, Default, Clone)]
pub struct Enrichment {
    pub contextual: Arc<Classifiers>,
    pub geoip: Arc<GeoIp>,
}

/// Derived fields filled before an event is applied (on ingest and on replay, so both agree,
/// because each uses the model or database in use when the event was received); the stored
/// JSON is never changed.
/// * A `Publisher Page Viewed` event without categories gets those of the contextual
///   classifier (a deployment's trained one, else the shipped one), from its URL, title and
///   description.
/// * An event with `context.ip` but no `context.location` is located from its IP when a GeoIP
///   database is installed (coordinates only when MaxMind's accuracy radius is at most
///   [`audex_geoip::MAX_ACCURACY_KM`]), and gets the IP's country when it declares none.
pub fn enrich(event: &mut Event, enrichment: &Enrichment) {
    enrichment.contextual.fill_page_categories(event);
    if event.location.is_none()
        && let Some(ip) = event.ip
        && let Some(place) = enrichment.geoip.locate_at(event.received_at_ms, ip)
    {
        if let Some(loc) = place.location {
            event.location = Some(loc);
            event.location_from_ip = true;
        }
        if event.country.is_none() {
            event.country = place.country_code();
        }
    }
}

/// Sets `context.ip` of an event object that has none; returns whether it did.
fn add_client_ip(item: &mut Value, ip: std::net::IpAddr) -> bool {
    let Some(obj) = item.as_object_mut() else {
        return false;
    };
    let context = obj
        .entry("context")
        .or_insert_with(|| Value::Object(Default::default()));
    match context.as_object_mut() {
        Some(c) if !c.contains_key("ip") => {
            c.insert("ip".into(), Value::String(ip.to_string()));
            true
        }
        _ => false,
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}
