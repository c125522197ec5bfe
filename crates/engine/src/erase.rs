//! Privacy deletion of a person.
//!
//! Deleting is two steps, as log-structured stores do it:
//! 1. **Delete** ([`Advertiser::delete_person`](crate::advertiser::Advertiser::delete_person)):
//!    a `delete` control record goes to the log (fsync'd) and is applied like an event, on
//!    ingest and on replay alike: the person's identifiers stop resolving, their profile is
//!    dropped, they leave every audience (history cause `deleted`) and every export. A later
//!    event with one of their identifiers starts a new person.
//! 2. **Erase** ([`compact`]): the log is rewritten without the deleted people's events, so
//!    nothing of theirs stays on disk. Every other person keeps their id (an erased person's
//!    first event becomes an `erased` placeholder that allocates the same id, deleted), so
//!    memberships, history and model outputs stay valid; the rewrite replays identity on the
//!    new log and refuses to swap it in unless every live person comes out the same.
//!
//! Control records are JSON objects whose `type` starts with `audex.`; the collector refuses
//! such types, so no Segment event is ever mistaken for one.

use std::path::{Path, PathBuf};

use audex_model::event::{IdKind, Identifier, parse_event_json};
use audex_profile::{PersonId, ProfileStore};
use audex_store::{EventLog, LogConfig, LogPosition, Record};
use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::EngineError;
use crate::fsutil::sync_dir;

const CONTROL_PREFIX: &[u8] = br#"{"type":"audex."#;
const DELETE_PERSON: &str = "audex.delete_person";
const ERASED_PERSON: &str = "audex.erased_person";

/// A control record of the log (not an event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Delete the person this identifier belonged to when the record was written.
    DeletePerson(Identifier),
    /// An erased person's id: allocated, deleted from the start.
    ErasedPerson,
}

#[derive(Serialize, Deserialize)]
struct ControlJson {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_value: Option<String>,
}

impl Control {
    /// The record's JSON bytes (`type` first, so [`Control::parse`] can tell it cheaply).
    pub fn to_payload(&self) -> Vec<u8> {
        let j = match self {
            Control::DeletePerson(id) => ControlJson {
                kind: DELETE_PERSON.into(),
                id_type: Some(id.kind.as_str().into()),
                id_value: Some(id.value.clone()),
            },
            Control::ErasedPerson => ControlJson {
                kind: ERASED_PERSON.into(),
                id_type: None,
                id_value: None,
            },
        };
        serde_json::to_vec(&j).unwrap_or_default()
    }

    /// `None` for an event; otherwise the control record, or why it is unreadable.
    pub fn parse(payload: &[u8]) -> Option<Result<Control, String>> {
        if !payload.starts_with(CONTROL_PREFIX) {
            return None;
        }
        let j: ControlJson = match serde_json::from_slice(payload) {
            Ok(j) => j,
            Err(e) => return Some(Err(format!("control record: {e}"))),
        };
        Some(match j.kind.as_str() {
            DELETE_PERSON => match (j.id_type.as_deref().and_then(IdKind::parse), j.id_value) {
                (Some(kind), Some(value)) => {
                    Ok(Control::DeletePerson(Identifier::new(kind, value)))
                }
                _ => Err("delete record without a valid identifier".into()),
            },
            ERASED_PERSON => Ok(Control::ErasedPerson),
            other => Err(format!("unknown control record {other:?}")),
        })
    }

    /// Applies the record to a store; returns the person deleted, if any.
    pub fn apply(&self, store: &mut ProfileStore) -> Option<PersonId> {
        match self {
            Control::DeletePerson(id) => {
                let p = store.person(id)?;
                store.delete_person(p)
            }
            Control::ErasedPerson => {
                store.reserve_deleted();
                None
            }
        }
    }
}

/// What to do with each record of a log to erase deleted people: found by replaying identity
/// over the whole log (a record's person is only known once every merge is applied).
#[derive(Debug, Default)]
pub struct ErasurePlan {
    /// Ordinals of records to leave out: deleted people's events and applied `delete` records.
    pub drop: RoaringBitmap,
    /// Dropped events that allocated a person id: each becomes an `erased` placeholder.
    pub placeholder: RoaringBitmap,
    /// Kept events that also carry an identifier of a deleted person (a shared device whose
    /// other user is kept): that identifier is removed from the stored event, since the
    /// original replay never attached it to the kept person.
    pub strip: Vec<Strip>,
    /// Records read.
    pub records: u64,
    /// Deleted people whose events are still in the log.
    pub people: u64,
}

/// Identifiers to remove from one kept event.
#[derive(Debug, Clone)]
pub struct Strip {
    /// The record's ordinal.
    pub record: u32,
    /// A deleted person's identifiers the event carries.
    pub ids: Vec<Identifier>,
    /// An anonymousId or userId the event's own person already had, to put in when removing
    /// would leave the event without one (Segment requires it; it changes no resolution).
    pub fallback: Option<Identifier>,
}

impl ErasurePlan {
    /// Whether the log holds anything to erase.
    pub fn is_empty(&self) -> bool {
        self.drop.is_empty() && self.strip.is_empty()
    }
}

const NOBODY: PersonId = PersonId::MAX;

/// A record read for identity: a control record, an event, or neither (unreadable now).
enum Item {
    Control(Control),
    Event(Box<audex_model::event::Event>),
    Unreadable,
}

fn classify(r: &Record) -> Item {
    match Control::parse(&r.payload) {
        Some(Ok(c)) => Item::Control(c),
        Some(Err(_)) => Item::Unreadable,
        None => match parse_event_json(&r.payload, r.received_at_ms) {
            Ok(e) => Item::Event(Box::new(e)),
            Err(_) => Item::Unreadable,
        },
    }
}

/// Records of a log in chunks, each parsed in parallel (parsing is most of a pass's time).
fn parsed_chunks(
    records: impl Iterator<Item = Result<Record, EngineError>>,
) -> impl Iterator<Item = Result<Vec<Item>, EngineError>> {
    let mut records = records.peekable();
    std::iter::from_fn(move || {
        records.peek()?;
        let chunk: Result<Vec<Record>, EngineError> = records.by_ref().take(16_384).collect();
        Some(chunk.map(|c| c.par_iter().map(classify).collect()))
    })
}

/// Replays identity over `records` (in log order) and decides what erasing drops.
pub fn plan(
    records: impl Iterator<Item = Result<Record, EngineError>>,
    utc_offset_ms: i64,
) -> Result<ErasurePlan, EngineError> {
    Ok(plan_checked(records, utc_offset_ms)?.0)
}

/// [`plan`], also returning the replay it made (the "before" side of the erasure check).
fn plan_checked(
    records: impl Iterator<Item = Result<Record, EngineError>>,
    utc_offset_ms: i64,
) -> Result<(ErasurePlan, Check), EngineError> {
    let mut check = Check::new(utc_offset_ms);
    let mut plan = ErasurePlan::default();
    // Per record: its person (NOBODY for control and unreadable records).
    let mut person_of: Vec<PersonId> = Vec::new();
    let mut deletes = RoaringBitmap::new();
    let mut created = RoaringBitmap::new();
    // Kept-event candidates: (ordinal, identifier, the person it resolved to then, fallback).
    let mut foreign: Vec<(u32, Identifier, PersonId, Option<Identifier>)> = Vec::new();
    let mut i = 0u32;
    for chunk in parsed_chunks(records) {
        for item in chunk? {
            plan.records += 1;
            let event = match item {
                Item::Control(c) => {
                    if matches!(c, Control::DeletePerson(_)) {
                        deletes.insert(i);
                    }
                    check.apply(&Item::Control(c));
                    person_of.push(NOBODY);
                    i += 1;
                    continue;
                }
                Item::Unreadable => {
                    person_of.push(NOBODY);
                    i += 1;
                    continue;
                }
                Item::Event(e) => e,
            };
            let before: Vec<(Identifier, PersonId)> = event
                .identifiers
                .iter()
                .filter_map(|id| check.store.person(id).map(|p| (id.clone(), p)))
                .collect();
            match check.event(&event) {
                Some(res) => {
                    if res.created {
                        created.insert(i);
                    }
                    let store = &check.store;
                    let root = store.identity.find(res.person);
                    let others: Vec<(Identifier, PersonId)> = before
                        .into_iter()
                        .filter(|(_, p)| store.identity.find(*p) != root)
                        .collect();
                    if !others.is_empty() {
                        let own = store.identity.ids_of(root);
                        let fallback = [IdKind::AnonymousId, IdKind::UserId]
                            .iter()
                            .find_map(|k| own.iter().find(|id| id.kind == *k))
                            .cloned();
                        for (id, p) in others {
                            foreign.push((i, id, p, fallback.clone()));
                        }
                    }
                    person_of.push(res.person);
                }
                None => person_of.push(NOBODY),
            }
            i += 1;
        }
    }
    let store = &check.store;
    let dead = |p: PersonId| p != NOBODY && store.identity.is_deleted(store.identity.find(p));
    let mut dead_roots = RoaringBitmap::new();
    for (i, &p) in person_of.iter().enumerate() {
        let i = i as u32;
        if dead(p) {
            plan.drop.insert(i);
            dead_roots.insert(store.identity.find(p));
            if created.contains(i) {
                plan.placeholder.insert(i);
            }
        }
    }
    plan.people = dead_roots.len();
    if !plan.drop.is_empty() {
        plan.drop |= &deletes;
    }
    for (i, id, p, fallback) in foreign {
        if !plan.drop.contains(i) && dead(p) {
            match plan.strip.last_mut() {
                Some(s) if s.record == i => s.ids.push(id),
                _ => plan.strip.push(Strip {
                    record: i,
                    ids: vec![id],
                    fallback,
                }),
            }
        }
    }
    Ok((plan, check))
}

/// Removes identifiers from a stored event's JSON (the fields they were read from).
fn strip_identifiers(payload: &[u8], strip: &Strip) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(payload).ok()?;
    let obj = v.as_object_mut()?;
    for id in &strip.ids {
        match id.kind {
            IdKind::UserId => {
                obj.remove("userId");
            }
            IdKind::AnonymousId => {
                obj.remove("anonymousId");
            }
            IdKind::DeviceId => {
                if let Some(Value::Object(d)) =
                    obj.get_mut("context").and_then(|c| c.get_mut("device"))
                {
                    d.remove("advertisingId");
                }
            }
            IdKind::EmailSha256 | IdKind::PhoneSha256 => {
                let keys: &[&str] = if id.kind == IdKind::EmailSha256 {
                    &["email", "email_sha256"]
                } else {
                    &["phone", "phone_sha256"]
                };
                let strip = |t: &mut serde_json::Map<String, Value>| {
                    for k in keys {
                        t.remove(*k);
                    }
                };
                if let Some(Value::Object(t)) = obj.get_mut("traits") {
                    strip(t);
                }
                if let Some(Value::Object(t)) =
                    obj.get_mut("context").and_then(|c| c.get_mut("traits"))
                {
                    strip(t);
                }
            }
        }
    }
    let named = |k: &str| {
        obj.get(k)
            .is_some_and(|x| x.as_str().is_some_and(|s| !s.is_empty()))
    };
    if !named("userId") && !named("anonymousId") {
        let f = strip.fallback.as_ref()?;
        let key = if f.kind == IdKind::UserId {
            "userId"
        } else {
            "anonymousId"
        };
        obj.insert(key.into(), Value::String(f.value.clone()));
    }
    serde_json::to_vec(&v).ok()
}

/// What [`compact`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EraseReport {
    /// Records in the log before.
    pub records_before: u64,
    /// Records in the log after (placeholders included).
    pub records_after: u64,
    /// Deleted people whose events were erased.
    pub people: u64,
    /// Events erased.
    pub events_erased: u64,
    /// Kept events from which a deleted person's identifier was removed.
    pub events_rewritten: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |e| EngineError::io(path, e)
}

/// Finishes or undoes a compaction interrupted by a crash; called before the log is opened.
/// `log.compact` alone is an unfinished rewrite (dropped); `log.old` beside `log` is a
/// finished one (the old log is removed); `log.old` without `log` was mid-swap (restored).
pub fn recover(adv_dir: &Path) -> Result<(), EngineError> {
    let (log, old, new) = paths(adv_dir);
    if old.exists() {
        if log.exists() {
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        } else {
            std::fs::rename(&old, &log).map_err(io(&old))?;
        }
        sync_dir(adv_dir)?;
    }
    if new.exists() {
        std::fs::remove_dir_all(&new).map_err(io(&new))?;
    }
    Ok(())
}

fn paths(adv_dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        adv_dir.join("log"),
        adv_dir.join("log.old"),
        adv_dir.join("log.compact"),
    )
}

fn read_all(
    log: &EventLog,
) -> Result<impl Iterator<Item = Result<Record, EngineError>>, EngineError> {
    Ok(log
        .read_from(LogPosition::default())?
        .map(|r| r.map(|(_, rec)| rec).map_err(EngineError::from)))
}

/// Rewrites the log of a closed advertiser (directory `adv_dir`) without its deleted people's
/// events, then swaps it in and removes the snapshot (the next open rebuilds from the new
/// log). Returns `None` when there is nothing to erase. `progress` gets records written.
pub fn compact(
    adv_dir: &Path,
    utc_offset_ms: i64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<EraseReport>, EngineError> {
    recover(adv_dir)?;
    let (log_dir, old_dir, new_dir) = paths(adv_dir);
    let (log, _) = EventLog::open(&log_dir, LogConfig::default())?;
    let (plan, check_before) = plan_checked(read_all(&log)?, utc_offset_ms)?;
    if plan.is_empty() {
        return Ok(None);
    }
    let total = plan.records;
    let mut report = EraseReport {
        records_before: total,
        people: plan.people,
        bytes_before: log.stats().bytes_on_disk,
        ..Default::default()
    };
    let (new_log, _) = EventLog::open(&new_dir, LogConfig::default())?;
    let mut check_after = Check::new(utc_offset_ms);
    let mut strip = plan.strip.iter().peekable();
    let mut batch: Vec<Record> = Vec::with_capacity(16_384);
    let flush = |batch: &mut Vec<Record>, after: &mut Check| -> Result<(), EngineError> {
        let items: Vec<Item> = batch.par_iter().map(classify).collect();
        for item in &items {
            after.apply(item);
        }
        new_log.append(batch)?;
        batch.clear();
        Ok(())
    };
    for (i, r) in read_all(&log)?.enumerate() {
        let r = r?;
        let i = i as u32;
        if plan.drop.contains(i) {
            if plan.placeholder.contains(i) {
                batch.push(Record {
                    received_at_ms: r.received_at_ms,
                    payload: Control::ErasedPerson.to_payload(),
                });
            }
            if Control::parse(&r.payload).is_none() {
                report.events_erased += 1;
            }
        } else if let Some(s) = strip.next_if(|s| s.record == i) {
            let payload = strip_identifiers(&r.payload, s)
                .ok_or_else(|| EngineError::Invalid(format!("record {i} cannot be rewritten")))?;
            report.events_rewritten += 1;
            batch.push(Record {
                received_at_ms: r.received_at_ms,
                payload,
            });
        } else {
            batch.push(r);
        }
        if batch.len() >= 16_384 {
            flush(&mut batch, &mut check_after)?;
        }
        progress(u64::from(i) + 1, total);
    }
    flush(&mut batch, &mut check_after)?;
    report.records_after = new_log.stats().records;
    report.bytes_after = new_log.stats().bytes_on_disk;
    drop(new_log);
    drop(log);
    if let Err(e) = same_people(&check_before, &check_after) {
        let _ = std::fs::remove_dir_all(&new_dir);
        return Err(e);
    }
    // Swap: the snapshot goes first (it holds deleted people's profiles no longer, but its
    // position is in the old log), then the directories; `recover` finishes any step a crash
    // interrupts.
    let snap = adv_dir.join("snapshot.bin");
    if snap.exists() {
        std::fs::remove_file(&snap).map_err(io(&snap))?;
    }
    sync_dir(&new_dir)?;
    std::fs::rename(&log_dir, &old_dir).map_err(io(&log_dir))?;
    std::fs::rename(&new_dir, &log_dir).map_err(io(&new_dir))?;
    sync_dir(adv_dir)?;
    std::fs::remove_dir_all(&old_dir).map_err(io(&old_dir))?;
    Ok(Some(report))
}

/// An identity-only replay that also counts the events each person id was given.
struct Check {
    store: ProfileStore,
    events: Vec<u32>,
}

impl Check {
    fn new(utc_offset_ms: i64) -> Check {
        Check {
            store: ProfileStore {
                utc_offset_ms,
                ..Default::default()
            },
            events: Vec::new(),
        }
    }

    /// Applies a record's identity effect (events and control records), as replay does.
    fn apply(&mut self, item: &Item) {
        match item {
            Item::Control(c) => {
                c.apply(&mut self.store);
            }
            Item::Event(e) => {
                self.event(e);
            }
            Item::Unreadable => {}
        }
    }

    /// Resolves an event's identifiers and counts it for its person.
    fn event(&mut self, e: &audex_model::event::Event) -> Option<audex_profile::Resolution> {
        let (_, res) = self.store.resolve_event(e).ok()?;
        let p = res.person as usize;
        if self.events.len() <= p {
            self.events.resize(p + 1, 0);
        }
        self.events[p] += 1;
        Some(res)
    }

    /// Events per live person (merged ids counted with their root).
    fn per_root(&self) -> Vec<u32> {
        let id = &self.store.identity;
        let mut out = vec![0u32; id.len()];
        for (p, &n) in self.events.iter().enumerate() {
            let root = id.find(p as PersonId);
            if id.is_root(root) {
                out[root as usize] += n;
            }
        }
        out
    }
}

/// Checks that two identity replays give every live person the same id, identifiers and
/// number of events.
fn same_people(before: &Check, after: &Check) -> Result<(), EngineError> {
    let (a, b) = (&before.store.identity, &after.store.identity);
    let mismatch = |what: String| {
        Err(EngineError::Invalid(format!(
            "erasure check failed, the log was left unchanged: {what}"
        )))
    };
    if a.len() != b.len() {
        return mismatch(format!("{} person ids before, {} after", a.len(), b.len()));
    }
    for p in 0..a.len() as PersonId {
        let (ra, rb) = (a.find(p), b.find(p));
        let live_a = a.is_root(ra);
        if live_a != b.is_root(rb) || (live_a && ra != rb) {
            return mismatch(format!("person id {p} resolves differently"));
        }
        if a.is_root(p) {
            let mut x: Vec<_> = a.ids_of(p).to_vec();
            let mut y: Vec<_> = b.ids_of(p).to_vec();
            x.sort_by(|i, j| (i.kind as u8, &i.value).cmp(&(j.kind as u8, &j.value)));
            y.sort_by(|i, j| (i.kind as u8, &i.value).cmp(&(j.kind as u8, &j.value)));
            if x != y {
                return mismatch(format!("person {p} has different identifiers"));
            }
        }
    }
    if before.per_root() != after.per_root() {
        return mismatch("a person has a different number of events".into());
    }
    Ok(())
}
