//! One advertiser's state: its event log (the truth), and the profiles, dedup set and catalog
//! derived from it.
//!
//! Ingest order for a batch: validate (in parallel, by the caller) → drop duplicates by
//! `messageId` → append the new events to the log (fsync'd) → apply them to the profiles.
//! Only after the append returns is a batch acknowledged; if the process dies before the
//! profiles are updated, reopening replays the log from the last snapshot position.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use audex_model::catalog::Catalog;
use audex_model::event::parse_event_json;
use audex_model::taxonomy::ProductTaxonomy;
use audex_profile::{ProfileStore, Reference};
use audex_store::{EventLog, LogConfig, LogPosition, Record, RecoveryReport};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use audex_index::Index;
use audex_model::event::IdKind;
use audex_profile::PersonId;
use audex_rules::{AudienceDef, Rule};
use roaring::RoaringBitmap;

use crate::EngineError;
use crate::audiences::{self, ContactList, Definitions, Memberships, SavedAudience};
use crate::ingest::{Enrichment, Parsed, Rejection};
use crate::registry::AdvertiserRecord;
use crate::snapshot;
use audex_contextual::Classifiers;

#[cfg(test)]
#[path = "refresh_tests.rs"]
mod refresh_tests;

/// Events replayed at open beyond which a fresh snapshot is written right away.
pub const REPLAY_SNAPSHOT_THRESHOLD: u64 = 200_000;

/// How long a membership refresh evaluates audiences before it lets waiting ingest batches in
/// (it holds the ingest lock while evaluating; see [`Advertiser::refresh_memberships`]).
pub const REFRESH_SLICE: Duration = Duration::from_millis(20);

/// The derived state of one advertiser.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub profiles: ProfileStore,
    /// 64-bit digests of every accepted `messageId` (idempotency).
    #[serde(with = "dedup_serde")]
    pub seen: FxHashSet<u64>,
    /// Log position up to which this state has applied events.
    #[serde(skip)]
    pub applied_to: LogPosition,
    /// Events applied in all.
    pub events: u64,
    /// People deleted whose events are still in the log (erasing the log clears it).
    pub unerased_deletions: u64,
}

mod dedup_serde {
    use rustc_hash::FxHashSet;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(set: &FxHashSet<u64>, s: S) -> Result<S::Ok, S::Error> {
        let mut v: Vec<u64> = set.iter().copied().collect();
        v.sort_unstable();
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FxHashSet<u64>, D::Error> {
        let v = Vec::<u64>::deserialize(d)?;
        Ok(v.into_iter().collect())
    }
}

/// The digest used for `messageId` deduplication: the first 8 bytes of SHA-256.
pub fn message_digest(message_id: &str) -> u64 {
    let h = Sha256::digest(message_id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    u64::from_le_bytes(b)
}

/// What one ingest call did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestOutcome {
    pub accepted: u64,
    pub duplicates: u64,
    /// Log position after this call's events (durable).
    #[serde(skip)]
    pub durable_to: LogPosition,
}

/// How opening an advertiser went: recovery and replay figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpenReport {
    pub snapshot_loaded: bool,
    pub snapshot_ms: u64,
    pub replayed_events: u64,
    pub replay_skipped: u64,
    pub replay_ms: u64,
    pub log_truncated_bytes: u64,
    pub log_records: u64,
}

/// An open advertiser.
pub struct Advertiser {
    pub record: AdvertiserRecord,
    dir: PathBuf,
    log: EventLog,
    state: RwLock<State>,
    catalog: RwLock<Catalog>,
    taxonomy: Option<std::sync::Arc<ProductTaxonomy>>,
    /// Page classifiers and GeoIP databases of the data directory (ingest and replay derive
    /// missing page categories and locations with them).
    enrichment: std::sync::Arc<Enrichment>,
    /// Serialises dedup → append → apply so that log order is apply order.
    ingest_lock: Mutex<()>,
    pub open_report: OpenReport,
    defs: RwLock<Definitions>,
    /// Bitmap indexes, built on first evaluation and kept current by ingest.
    index: RwLock<Option<Index>>,
    /// Saved audiences' membership, once evaluated; updated per person by ingest. Lookups read
    /// it; writers hold the write lock only to apply a few changes or swap in a refresh's result.
    memberships: RwLock<Option<Memberships>>,
    /// Serialises membership refreshes with each other and with changes of what they evaluate
    /// (definitions, model outputs), so one refresh sees one set of definitions throughout.
    refresh_lock: Mutex<()>,
    /// While a refresh runs: the people whose membership the streaming path (ingest) has
    /// re-evaluated since it began. The refresh keeps their streamed membership (computed from
    /// their newest events) instead of its own evaluation, which may predate those events.
    /// Read and written under `ingest_lock`.
    refreshing: Mutex<Option<RoaringBitmap>>,
    /// Stored model outputs (scores, inferred tags), loaded on first use.
    models: RwLock<Option<std::sync::Arc<crate::models::ModelStore>>>,
    /// People were deleted since `snapshot.bin` and `membership.bin` were last written: they
    /// still hold them until [`Advertiser::persist_deletions`].
    deletions_unsaved: std::sync::atomic::AtomicBool,
    /// Test builds only: called at the points of a refresh where it holds no lock.
    #[cfg(any(test, feature = "test-hooks"))]
    refresh_hooks: Mutex<Option<RefreshHooks>>,
}

/// The points of a membership refresh at which it holds no lock but its own: between
/// evaluation slices, after evaluating, and after the swap, before `membership.bin` is written.
/// Test builds can run a callback there (`Advertiser::set_refresh_hooks`, feature `test-hooks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshPhase {
    /// One slice evaluated; `done` audiences so far, of `total`.
    Sliced { done: usize, total: usize },
    /// Every audience evaluated; reconciliation and swap next.
    Evaluated,
    /// The new membership is in place and the history appended; `membership.bin` next.
    Swapped,
}

/// Test builds only: a refresh's slice length and a callback at each [`RefreshPhase`].
#[cfg(any(test, feature = "test-hooks"))]
#[derive(Clone)]
pub struct RefreshHooks {
    pub slice: Duration,
    pub on_phase: std::sync::Arc<dyn Fn(RefreshPhase) + Send + Sync>,
}

impl Advertiser {
    pub(crate) fn open(
        dir: &Path,
        record: AdvertiserRecord,
        taxonomy: Option<std::sync::Arc<ProductTaxonomy>>,
        enrichment: std::sync::Arc<Enrichment>,
    ) -> Result<Advertiser, EngineError> {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        crate::erase::recover(dir)?;
        let (log, recovery): (EventLog, RecoveryReport) =
            EventLog::open(&dir.join("log"), LogConfig::default())?;
        if recovery.truncated_bytes > 0 {
            tracing::warn!(
                advertiser = %record.name,
                bytes = recovery.truncated_bytes,
                at = ?recovery.truncated_at,
                "event log had a torn tail (a write interrupted by a crash, never acknowledged); truncated it"
            );
        }
        let catalog = snapshot::load_catalog(&dir.join("catalog.bin"))?.unwrap_or_default();
        let defs = Definitions::load(&dir.join("definitions.json"))?;
        let mut report = OpenReport {
            log_truncated_bytes: recovery.truncated_bytes,
            log_records: recovery.records,
            ..Default::default()
        };
        let t = Instant::now();
        let utc_offset_ms = i64::from(record.utc_offset_minutes) * 60_000;
        let state = match snapshot::load_state(&dir.join("snapshot.bin"))? {
            Some((state, pos))
                if pos <= recovery.end && state.profiles.utc_offset_ms == utc_offset_ms =>
            {
                report.snapshot_loaded = true;
                State {
                    applied_to: pos,
                    ..state
                }
            }
            Some(_) => {
                tracing::warn!(advertiser = %record.name, "snapshot is ahead of the log; rebuilding from the log");
                State::default()
            }
            None => State::default(),
        };
        let mut state = state;
        if !report.snapshot_loaded {
            state.profiles.utc_offset_ms = utc_offset_ms;
        }
        report.snapshot_ms = t.elapsed().as_millis() as u64;
        let adv = Advertiser {
            record,
            dir: dir.to_path_buf(),
            log,
            state: RwLock::new(state),
            catalog: RwLock::new(catalog),
            taxonomy,
            enrichment,
            ingest_lock: Mutex::new(()),
            open_report: report,
            defs: RwLock::new(defs),
            index: RwLock::new(None),
            memberships: RwLock::new(None),
            refresh_lock: Mutex::new(()),
            refreshing: Mutex::new(None),
            models: RwLock::new(None),
            deletions_unsaved: std::sync::atomic::AtomicBool::new(false),
            #[cfg(any(test, feature = "test-hooks"))]
            refresh_hooks: Mutex::new(None),
        };
        let t = Instant::now();
        let (replayed, skipped) = adv.replay()?;
        let mut adv = adv;
        adv.open_report.replayed_events = replayed;
        adv.open_report.replay_skipped = skipped;
        adv.open_report.replay_ms = t.elapsed().as_millis() as u64;
        if replayed >= REPLAY_SNAPSHOT_THRESHOLD {
            // A long replay (no snapshot, an outdated one, or many events since): save its
            // result so the next start does not repeat it.
            adv.snapshot()?;
        }
        Ok(adv)
    }

    /// Applies log records past the state's position (after a restart).
    fn replay(&self) -> Result<(u64, u64), EngineError> {
        let mut state = self.state.write().map_err(|_| EngineError::Poisoned)?;
        let catalog = self.catalog.read().map_err(|_| EngineError::Poisoned)?;
        let reference = Reference {
            catalog: Some(&catalog),
            taxonomy: self.taxonomy.as_deref(),
        };
        let mut reader = self.log.read_from(state.applied_to)?;
        let (mut replayed, mut skipped) = (0u64, 0u64);
        while let Some(frame) = reader.next_frame() {
            let (_, next, records) = frame?;
            for r in records {
                match crate::erase::Control::parse(&r.payload) {
                    Some(Ok(control)) => {
                        if control.apply(&mut state.profiles).is_some() {
                            state.unerased_deletions += 1;
                        }
                        continue;
                    }
                    Some(Err(e)) => {
                        skipped += 1;
                        tracing::warn!(error = %e, "log control record unreadable; skipped");
                        continue;
                    }
                    None => {}
                }
                match parse_event_json(&r.payload, r.received_at_ms) {
                    Ok(mut event) => {
                        crate::ingest::enrich(&mut event, &self.enrichment);
                        state.seen.insert(message_digest(&event.message_id));
                        match state.profiles.apply(&event, reference) {
                            Ok(_) => {
                                state.events += 1;
                                replayed += 1;
                            }
                            Err(e) => {
                                skipped += 1;
                                tracing::warn!(error = %e, "log record not applicable on replay");
                            }
                        }
                    }
                    Err(e) => {
                        skipped += 1;
                        tracing::warn!(error = %e, "log record no longer validates; kept in the log, skipped");
                    }
                }
            }
            state.applied_to = next;
        }
        Ok((replayed, skipped))
    }

    /// Stores and applies validated events: duplicates (by `messageId`, against everything
    /// accepted before and within the batch) are dropped, the rest appended durably, then
    /// applied. Returns once the accepted events are fsync'd.
    pub fn ingest(&self, events: Vec<Parsed>) -> Result<IngestOutcome, EngineError> {
        let mut outcomes = self.ingest_batches(vec![events])?;
        Ok(outcomes.pop().unwrap_or_default())
    }

    /// Stores several callers' batches with one log append (one fsync): group commit across
    /// requests. Deduplication runs in batch order, so a `messageId` sent twice is accepted
    /// once, for the first batch. Returns one outcome per batch.
    pub fn ingest_batches(
        &self,
        batches: Vec<Vec<Parsed>>,
    ) -> Result<Vec<IngestOutcome>, EngineError> {
        let _guard = self.ingest_lock.lock().map_err(|_| EngineError::Poisoned)?;
        let mut fresh = Vec::with_capacity(batches.iter().map(Vec::len).sum());
        let mut digests = Vec::with_capacity(fresh.capacity());
        let mut outcomes: Vec<IngestOutcome> = Vec::with_capacity(batches.len());
        {
            let state = self.state.read().map_err(|_| EngineError::Poisoned)?;
            let mut batch_seen = FxHashSet::default();
            for events in batches {
                let mut outcome = IngestOutcome::default();
                for p in events {
                    let d = message_digest(&p.event.message_id);
                    if state.seen.contains(&d) || !batch_seen.insert(d) {
                        outcome.duplicates += 1;
                    } else {
                        outcome.accepted += 1;
                        digests.push(d);
                        fresh.push(p);
                    }
                }
                outcomes.push(outcome);
            }
        }
        if fresh.is_empty() {
            let end = self.log.end();
            for o in &mut outcomes {
                o.durable_to = end;
            }
            return Ok(outcomes);
        }
        let records: Vec<Record> = fresh
            .iter()
            .map(|p| Record {
                received_at_ms: p.event.received_at_ms,
                payload: p.raw.clone(),
            })
            .collect();
        let durable_to = self.log.append(&records)?;
        drop(records);
        let catalog = self.catalog.read().map_err(|_| EngineError::Poisoned)?;
        let reference = Reference {
            catalog: Some(&catalog),
            taxonomy: self.taxonomy.as_deref(),
        };
        let mut state = self.state.write().map_err(|_| EngineError::Poisoned)?;
        let mut touched: Vec<PersonId> = Vec::new();
        for (p, d) in fresh.iter().zip(digests) {
            state.seen.insert(d);
            match state.profiles.apply(&p.event, reference) {
                Ok(applied) => {
                    state.events += 1;
                    touched.push(applied.person);
                    touched.extend(applied.merged);
                }
                Err(e) => tracing::warn!(error = %e, line = p.line, "event stored but not applied"),
            }
        }
        state.applied_to = durable_to;
        drop(catalog);
        let state = RwLockWriteGuard::downgrade(state);
        touched.sort_unstable();
        touched.dedup();
        self.after_apply(&state, &touched, "event")?;
        for o in &mut outcomes {
            o.durable_to = durable_to;
        }
        Ok(outcomes)
    }

    /// Keeps the index and the saved audiences' membership current for the people an ingest
    /// touched: the real-time path (no full recompute). Runs under `ingest_lock`, so it is the
    /// only writer of the memberships besides a refresh's swap (also under `ingest_lock`): it
    /// evaluates under the read lock, which lookups share, and holds the write lock only to
    /// apply the changes.
    fn after_apply(
        &self,
        state: &State,
        touched: &[PersonId],
        cause: &str,
    ) -> Result<Vec<audiences::Transition>, EngineError> {
        {
            let mut index = self.index.write().map_err(|_| EngineError::Poisoned)?;
            let Some(index) = index.as_mut() else {
                return Ok(Vec::new());
            };
            for &p in touched {
                index.update_person(&state.profiles, p);
                let root = state.profiles.identity.find(p);
                if root != p {
                    index.update_person(&state.profiles, root);
                }
            }
        }
        if self
            .memberships
            .read()
            .map_err(|_| EngineError::Poisoned)?
            .is_none()
        {
            return Ok(Vec::new());
        }
        let defs = self.defs.read().map_err(|_| EngineError::Poisoned)?;
        let mut ctx = audiences::context(&state.profiles, self.taxonomy.as_deref(), &defs)?;
        self.model_store()?.attach(&mut ctx, &defs);
        let now = crate::now_ms();
        let mut transitions = Vec::new();
        // Audiences without a bitmap yet (never refreshed): they get an empty one.
        let mut missing = Vec::new();
        {
            let guard = self.memberships.read().map_err(|_| EngineError::Poisoned)?;
            let Some(m) = guard.as_ref() else {
                return Ok(Vec::new());
            };
            for a in &defs.audiences {
                let Some(rule) = ctx.audiences.get(&a.id) else {
                    continue;
                };
                let members = m.by_audience.get(&a.id);
                if members.is_none() {
                    missing.push(a.id.clone());
                }
                for &p in touched {
                    let now_in = match audex_index::matches(&ctx, p, rule, now) {
                        Ok(m) => m,
                        // Model without scores yet: not tracked (see `audiences::evaluate_all`).
                        Err(audex_index::EvalError::ModelUnavailable(_)) => break,
                        Err(e) => return Err(e.into()),
                    };
                    let was_in = members.is_some_and(|b| b.contains(p));
                    if now_in != was_in {
                        transitions.push(audiences::Transition {
                            audience: a.id.clone(),
                            person: p,
                            entered: now_in,
                            at_ms: now,
                            cause: cause.into(),
                        });
                    }
                }
            }
        }
        if !transitions.is_empty() || !missing.is_empty() {
            let mut guard = self
                .memberships
                .write()
                .map_err(|_| EngineError::Poisoned)?;
            if let Some(m) = guard.as_mut() {
                for id in missing {
                    m.by_audience.entry(id).or_default();
                }
                for t in &transitions {
                    let members = m.by_audience.entry(t.audience.clone()).or_default();
                    if t.entered {
                        members.insert(t.person);
                    } else {
                        members.remove(t.person);
                    }
                }
            }
        }
        if let Some(during) = self
            .refreshing
            .lock()
            .map_err(|_| EngineError::Poisoned)?
            .as_mut()
        {
            during.extend(touched.iter().copied());
        }
        audiences::append_history(&self.dir.join("history.ndjson"), &transitions)?;
        Ok(transitions)
    }

    /// Read access to the definitions (audiences, lists, tags).
    pub fn definitions(&self) -> Result<RwLockReadGuard<'_, Definitions>, EngineError> {
        self.defs.read().map_err(|_| EngineError::Poisoned)
    }

    fn update_definitions<T>(
        &self,
        f: impl FnOnce(&mut Definitions) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        // Not while a membership refresh runs: it must see one set of definitions.
        let _refresh = self
            .refresh_lock
            .lock()
            .map_err(|_| EngineError::Poisoned)?;
        let mut defs = self.defs.write().map_err(|_| EngineError::Poisoned)?;
        let mut copy = defs.clone();
        let out = f(&mut copy)?;
        // Every saved audience and tag must still compile, refer only to what exists, and be
        // free of reference cycles.
        audiences::check_references(&copy)?;
        copy.save(&self.dir.join("definitions.json"))?;
        *defs = copy;
        Ok(out)
    }

    /// Saves a new audience; names are unique per advertiser.
    pub fn create_audience(&self, def: AudienceDef) -> Result<SavedAudience, EngineError> {
        let now = crate::now_ms();
        let saved = self.update_definitions(|d| {
            if d.audience(&def.name).is_some() {
                return Err(EngineError::Invalid(format!(
                    "an audience named {:?} already exists",
                    def.name
                )));
            }
            let a = SavedAudience {
                id: d.new_id("aud_"),
                definition: def,
                created_ms: now,
                updated_ms: now,
            };
            d.audiences.push(a.clone());
            Ok(a)
        })?;
        Ok(saved)
    }

    /// Replaces an audience's definition (keeping its id).
    pub fn update_audience(
        &self,
        id_or_name: &str,
        def: AudienceDef,
    ) -> Result<SavedAudience, EngineError> {
        self.update_definitions(|d| {
            let id = d
                .audience(id_or_name)
                .map(|a| a.id.clone())
                .ok_or_else(|| EngineError::UnknownAudience(id_or_name.to_string()))?;
            if d.audiences
                .iter()
                .any(|a| a.name() == def.name && a.id != id)
            {
                return Err(EngineError::Invalid(format!(
                    "an audience named {:?} already exists",
                    def.name
                )));
            }
            let a = d
                .audiences
                .iter_mut()
                .find(|a| a.id == id)
                .ok_or_else(|| EngineError::UnknownAudience(id_or_name.to_string()))?;
            a.definition = def;
            a.updated_ms = crate::now_ms();
            Ok(a.clone())
        })
    }

    /// Deletes an audience (refused while another audience refers to it).
    pub fn delete_audience(&self, id_or_name: &str) -> Result<SavedAudience, EngineError> {
        self.update_definitions(|d| {
            let pos = d
                .audiences
                .iter()
                .position(|a| a.id == id_or_name)
                .or_else(|| d.audiences.iter().position(|a| a.name() == id_or_name))
                .ok_or_else(|| EngineError::UnknownAudience(id_or_name.to_string()))?;
            Ok(d.audiences.remove(pos))
        })
    }

    /// Defines (or redefines) a behavioral tag by a rule.
    pub fn set_tag(&self, name: &str, rule_text: &str) -> Result<(), EngineError> {
        audex_rules::parse(rule_text).map_err(|e| EngineError::Invalid(format!("rule: {e}")))?;
        self.update_definitions(|d| {
            d.tags.retain(|(n, _)| n != name);
            d.tags.push((name.to_string(), rule_text.to_string()));
            Ok(())
        })
    }

    /// Uploads (replaces) a contact list from lines of emails, E.164 phones or SHA-256 hashes.
    pub fn import_list(&self, name: &str, lines: &[String]) -> Result<ListReport, EngineError> {
        let mut hashes: Vec<String> = Vec::with_capacity(lines.len());
        let mut invalid = 0u64;
        for l in lines.iter().filter(|l| !l.trim().is_empty()) {
            match audiences::contact_hash(l) {
                Some(h) => hashes.push(h),
                None => invalid += 1,
            }
        }
        hashes.sort_unstable();
        hashes.dedup();
        let uploaded = lines.iter().filter(|l| !l.trim().is_empty()).count() as u64;
        let list = self.update_definitions(|d| {
            let id = match d.lists.iter().find(|l| l.name == name) {
                Some(l) => l.id.clone(),
                None => d.new_id("list_"),
            };
            d.lists.retain(|l| l.name != name);
            let list = ContactList {
                id,
                name: name.to_string(),
                hashes,
                uploaded,
                invalid,
                updated_ms: crate::now_ms(),
            };
            d.lists.push(list.clone());
            Ok(list)
        })?;
        self.list_report(&list)
    }

    fn list_report(&self, list: &ContactList) -> Result<ListReport, EngineError> {
        let state = self.state()?;
        let matched = audiences::list_members(&state.profiles, list).len();
        let valid = list.hashes.len() as u64;
        Ok(ListReport {
            id: list.id.clone(),
            uploaded: list.uploaded,
            invalid: list.invalid,
            distinct: valid,
            matched_people: matched,
            match_rate: if valid > 0 {
                matched as f64 / valid as f64
            } else {
                0.0
            },
        })
    }

    /// A contact list by id or name.
    pub fn list(&self, id_or_name: &str) -> Result<ContactList, EngineError> {
        let defs = self.definitions()?;
        defs.lists
            .iter()
            .find(|l| l.id == id_or_name)
            .or_else(|| defs.lists.iter().find(|l| l.name == id_or_name))
            .cloned()
            .ok_or_else(|| EngineError::UnknownList(id_or_name.to_string()))
    }

    /// The identifiers on a list and how many people they match now.
    pub fn list_stats(&self, id_or_name: &str) -> Result<ListReport, EngineError> {
        let list = self.list(id_or_name)?;
        self.list_report(&list)
    }

    /// Creates an empty contact list (names are unique per advertiser); fill it with
    /// [`Advertiser::amend_list`].
    pub fn create_list(&self, name: &str) -> Result<ContactList, EngineError> {
        if name.trim().is_empty() {
            return Err(EngineError::Invalid(
                "a contact list name must not be empty".into(),
            ));
        }
        self.update_definitions(|d| {
            if d.lists.iter().any(|l| l.name == name) {
                return Err(EngineError::Invalid(format!(
                    "a contact list named {name:?} already exists"
                )));
            }
            let list = ContactList {
                id: d.new_id("list_"),
                name: name.to_string(),
                updated_ms: crate::now_ms(),
                ..ContactList::default()
            };
            d.lists.push(list.clone());
            Ok(list)
        })
    }

    /// Adds (`add = true`) or removes identifiers on a list: emails, E.164 phones or SHA-256
    /// hashes, normalised as in an upload. Lines that are none of these are counted, not kept.
    pub fn amend_list(
        &self,
        id_or_name: &str,
        add: bool,
        lines: &[String],
    ) -> Result<ListAmendment, EngineError> {
        let mut valid: Vec<String> = Vec::with_capacity(lines.len());
        let mut invalid: Vec<String> = Vec::new();
        for l in lines {
            match audiences::contact_hash(l) {
                Some(h) => valid.push(h),
                None => invalid.push(l.clone()),
            }
        }
        let n_valid = valid.len() as u64;
        let n_invalid = invalid.len() as u64;
        self.update_definitions(|d| {
            let list = d
                .lists
                .iter_mut()
                .find(|l| l.id == id_or_name)
                .ok_or_else(|| EngineError::UnknownList(id_or_name.to_string()))?;
            if add {
                list.hashes.extend(valid);
                list.hashes.sort_unstable();
                list.hashes.dedup();
                list.uploaded += n_valid + n_invalid;
                list.invalid += n_invalid;
            } else {
                let gone: rustc_hash::FxHashSet<String> = valid.into_iter().collect();
                list.hashes.retain(|h| !gone.contains(h));
            }
            list.updated_ms = crate::now_ms();
            Ok(())
        })?;
        invalid.truncate(ListAmendment::SAMPLE);
        Ok(ListAmendment {
            valid: n_valid,
            invalid: n_invalid,
            sample_invalid: invalid,
        })
    }

    /// Removes every identifier from a list, keeping the list (and what refers to it).
    pub fn clear_list(&self, id_or_name: &str) -> Result<ContactList, EngineError> {
        self.update_definitions(|d| {
            let list = d
                .lists
                .iter_mut()
                .find(|l| l.id == id_or_name)
                .ok_or_else(|| EngineError::UnknownList(id_or_name.to_string()))?;
            list.hashes.clear();
            list.uploaded = 0;
            list.invalid = 0;
            list.updated_ms = crate::now_ms();
            Ok(list.clone())
        })
    }

    /// Deletes a list (refused while an audience refers to it).
    pub fn delete_list(&self, id_or_name: &str) -> Result<ContactList, EngineError> {
        self.update_definitions(|d| {
            let pos = d
                .lists
                .iter()
                .position(|l| l.id == id_or_name)
                .ok_or_else(|| EngineError::UnknownList(id_or_name.to_string()))?;
            Ok(d.lists.remove(pos))
        })
    }

    /// Runs `f` with an evaluation context and the (lazily built) index.
    pub fn with_context<T>(
        &self,
        f: impl FnOnce(&audex_index::Context<'_>, &Index) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        self.with_rule_context(None, |ctx, index, _| f(ctx, index))
    }

    /// Stored model outputs (lookalike and prospecting scores, inferred tags).
    pub fn model_store(&self) -> Result<std::sync::Arc<crate::models::ModelStore>, EngineError> {
        if let Some(m) = self
            .models
            .read()
            .map_err(|_| EngineError::Poisoned)?
            .as_ref()
        {
            return Ok(m.clone());
        }
        let loaded = std::sync::Arc::new(crate::models::ModelStore::load(&self.dir)?);
        *self.models.write().map_err(|_| EngineError::Poisoned)? = Some(loaded.clone());
        Ok(loaded)
    }

    /// Stores a model's scores; audiences using the model see them from now on.
    pub fn save_model_scores(
        &self,
        scores: &crate::models::ModelScores,
    ) -> Result<(), EngineError> {
        let _refresh = self
            .refresh_lock
            .lock()
            .map_err(|_| EngineError::Poisoned)?;
        crate::models::ModelStore::save_scores(&self.dir, scores)?;
        *self.models.write().map_err(|_| EngineError::Poisoned)? = None;
        Ok(())
    }

    /// Stores inferred behavioral tags; `tag` predicates see them from now on.
    pub fn save_inferred_tags(
        &self,
        tags: &crate::models::InferredTags,
    ) -> Result<(), EngineError> {
        let _refresh = self
            .refresh_lock
            .lock()
            .map_err(|_| EngineError::Poisoned)?;
        crate::models::ModelStore::save_tags(&self.dir, tags)?;
        *self.models.write().map_err(|_| EngineError::Poisoned)? = None;
        Ok(())
    }

    /// Like [`Advertiser::with_context`], also handing `f` the given rule with its `model`
    /// predicates materialized from stored scores.
    pub fn with_rule_context<T>(
        &self,
        rule: Option<&Rule>,
        f: impl FnOnce(&audex_index::Context<'_>, &Index, Option<&Rule>) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let state = self.state()?;
        {
            let mut index = self.index.write().map_err(|_| EngineError::Poisoned)?;
            if index.is_none() {
                *index = Some(Index::build(&state.profiles));
            }
        }
        let index = self.index.read().map_err(|_| EngineError::Poisoned)?;
        let defs = self.definitions()?;
        let mut ctx = audiences::context(&state.profiles, self.taxonomy.as_deref(), &defs)?;
        let models = self.model_store()?;
        models.attach(&mut ctx, &defs);
        let rewritten = rule.map(|r| models.rewrite(r, &defs, &mut ctx.lists));
        let empty = Index::default();
        f(&ctx, index.as_ref().unwrap_or(&empty), rewritten.as_ref())
    }

    /// Members of a rule at `now_ms`, set at a time.
    pub fn evaluate(&self, rule: &Rule, now_ms: i64) -> Result<RoaringBitmap, EngineError> {
        self.with_rule_context(Some(rule), |ctx, index, r| {
            Ok(audex_index::evaluate(
                ctx,
                index,
                r.unwrap_or(rule),
                now_ms,
            )?)
        })
    }

    /// Members of a rule at `now_ms`, person by person (the streaming evaluator; for checks).
    pub fn evaluate_per_person(
        &self,
        rule: &Rule,
        now_ms: i64,
    ) -> Result<RoaringBitmap, EngineError> {
        self.with_rule_context(Some(rule), |ctx, _, r| {
            let rule = r.unwrap_or(rule);
            let mut out = RoaringBitmap::new();
            for p in 0..ctx.store.profiles.len() as PersonId {
                if audex_index::matches(ctx, p, rule, now_ms)? {
                    out.insert(p);
                }
            }
            Ok(out)
        })
    }

    /// A person's primary identifier: their userId, else their smallest anonymousId, else any.
    pub fn primary_id(store: &audex_profile::ProfileStore, person: PersonId) -> String {
        let ids = store.identity.ids_of(store.identity.find(person));
        ids.iter()
            .find(|i| i.kind == IdKind::UserId)
            .or_else(|| {
                ids.iter()
                    .filter(|i| i.kind == IdKind::AnonymousId)
                    .min_by(|a, b| a.value.cmp(&b.value))
            })
            .or_else(|| ids.first())
            .map(|i| i.value.clone())
            .unwrap_or_else(|| format!("person:{person}"))
    }

    /// Re-evaluates every saved audience at `now_ms` and records who entered and left since the
    /// last evaluation (`cause`: why — "time" for a sweep, "event" after a bulk import).
    ///
    /// Lookups never wait for it, and ingest waits at most one evaluation slice:
    ///
    /// 1. It starts recording the people ingest re-evaluates from now on (`refreshing`), under
    ///    `ingest_lock`, so every batch is either wholly applied before (index, memberships) or
    ///    has its people recorded.
    /// 2. It evaluates the audiences in slices of about [`REFRESH_SLICE`], each under
    ///    `ingest_lock` and the state's read lock (the index and profiles do not move during a
    ///    slice; ingest waits on `ingest_lock`, not as a queued writer of the state lock, so
    ///    lookups' reads of the state are not held up behind it), letting waiting batches in
    ///    between slices. The memberships are not locked.
    /// 3. Under `ingest_lock` (no batch in flight) it takes the people recorded since step 1:
    ///    their profiles changed during the evaluation, and the streaming path has already
    ///    re-evaluated them against their newest events, so their membership stays as streamed
    ///    (and their transitions as recorded, cause `event`); everyone else's profile did not
    ///    change since step 1, so the evaluation is exact for them. It diffs against the current
    ///    memberships under their read lock (lookups proceed), appends the history (fsync'd),
    ///    serialises the result and swaps it in under the write lock: a move, O(1).
    /// 4. With no lock but `refresh_lock`, it writes `membership.bin` (temp file, fsync,
    ///    rename), and drops the old membership.
    ///
    /// Definitions and model outputs do not change during a refresh (their writers take
    /// `refresh_lock`), so the streamed membership of the recorded people and the evaluation
    /// use the same definitions.
    pub fn refresh_memberships(
        &self,
        now_ms: i64,
        cause: &str,
    ) -> Result<RefreshReport, EngineError> {
        let _refresh = self
            .refresh_lock
            .lock()
            .map_err(|_| EngineError::Poisoned)?;
        let path = self.dir.join("membership.bin");
        if self
            .memberships
            .read()
            .map_err(|_| EngineError::Poisoned)?
            .is_none()
        {
            let loaded = snapshot::load_memberships(&path)?.unwrap_or_default();
            let mut guard = self
                .memberships
                .write()
                .map_err(|_| EngineError::Poisoned)?;
            if guard.is_none() {
                *guard = Some(loaded);
            }
        }
        // 1. Record the people ingest re-evaluates from here on; note which audiences had a
        // membership before (the others' entries are caused by their definition).
        let tracked = {
            let _ingest = self.ingest_lock.lock().map_err(|_| EngineError::Poisoned)?;
            *self.refreshing.lock().map_err(|_| EngineError::Poisoned)? =
                Some(RoaringBitmap::new());
            let guard = self.memberships.read().map_err(|_| EngineError::Poisoned)?;
            guard
                .as_ref()
                .map(|m| {
                    m.by_audience
                        .keys()
                        .cloned()
                        .collect::<rustc_hash::FxHashSet<_>>()
                })
                .unwrap_or_default()
        };
        let stop_recording = StopRecording(&self.refreshing);
        // 2. Evaluate, slice by slice.
        let new = self.evaluate_in_slices(now_ms)?;
        self.refresh_hook(|| RefreshPhase::Evaluated);
        // 3. Reconcile with what ingest did meanwhile, record, swap.
        let (report, bytes, old) = {
            let _ingest = self.ingest_lock.lock().map_err(|_| EngineError::Poisoned)?;
            let during = self
                .refreshing
                .lock()
                .map_err(|_| EngineError::Poisoned)?
                .take()
                .unwrap_or_default();
            drop(stop_recording);
            let mut new = new;
            let mut transitions = Vec::new();
            {
                let guard = self.memberships.read().map_err(|_| EngineError::Poisoned)?;
                let empty = Memberships::default();
                let current = guard.as_ref().unwrap_or(&empty);
                let no_one = RoaringBitmap::new();
                for (id, members) in new.iter_mut() {
                    let before = current.by_audience.get(id);
                    if let Some(before) = before
                        && !during.is_empty()
                    {
                        *members -= &during;
                        *members |= before & &during;
                    }
                    let why = if tracked.contains(id) {
                        cause
                    } else {
                        "definition"
                    };
                    transitions.extend(audiences::diff(
                        id,
                        before.unwrap_or(&no_one),
                        members,
                        now_ms,
                        why,
                    ));
                }
            }
            audiences::append_history(&self.dir.join("history.ndjson"), &transitions)?;
            let new = Memberships {
                evaluated_ms: now_ms,
                by_audience: new,
            };
            let bytes = snapshot::encode_memberships(&path, &new)?;
            let report = RefreshReport {
                audiences: new.by_audience.len(),
                entered: transitions.iter().filter(|t| t.entered).count() as u64,
                left: transitions.iter().filter(|t| !t.entered).count() as u64,
            };
            let old = self
                .memberships
                .write()
                .map_err(|_| EngineError::Poisoned)?
                .replace(new);
            (report, bytes, old)
        };
        drop(old);
        self.refresh_hook(|| RefreshPhase::Swapped);
        // 4. Persist, holding no lock that lookups or ingest take.
        crate::fsutil::write_atomic(&path, &bytes)?;
        Ok(report)
    }

    /// Evaluates every saved audience at `now_ms` in slices of about [`REFRESH_SLICE`], each
    /// under `ingest_lock` and the state's read lock.
    fn evaluate_in_slices(
        &self,
        now_ms: i64,
    ) -> Result<rustc_hash::FxHashMap<String, RoaringBitmap>, EngineError> {
        let ids: Vec<String> = self
            .definitions()?
            .audiences
            .iter()
            .map(|a| a.id.clone())
            .collect();
        let slice = self.refresh_slice();
        let mut out = rustc_hash::FxHashMap::default();
        let mut next = 0;
        while next < ids.len() {
            {
                let _ingest = self.ingest_lock.lock().map_err(|_| EngineError::Poisoned)?;
                self.with_context(|ctx, index| {
                    let started = Instant::now();
                    while next < ids.len() {
                        let id = &ids[next];
                        next += 1;
                        let rule = ctx.audiences.get(id).ok_or_else(|| {
                            EngineError::Invalid(format!("audience {id:?} did not compile"))
                        })?;
                        if let Some(members) = audiences::evaluate_one(ctx, index, rule, now_ms)? {
                            out.insert(id.clone(), members);
                        }
                        if started.elapsed() >= slice {
                            break;
                        }
                    }
                    Ok(())
                })?;
            }
            self.refresh_hook(|| RefreshPhase::Sliced {
                done: next,
                total: ids.len(),
            });
            if next < ids.len() {
                // A mutex is not fair: without a pause this thread would take `ingest_lock`
                // again before a woken ingest batch gets to it.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Ok(out)
    }

    #[cfg(any(test, feature = "test-hooks"))]
    fn refresh_slice(&self) -> Duration {
        self.refresh_hooks
            .lock()
            .ok()
            .and_then(|h| h.as_ref().map(|h| h.slice))
            .unwrap_or(REFRESH_SLICE)
    }

    #[cfg(not(any(test, feature = "test-hooks")))]
    fn refresh_slice(&self) -> Duration {
        REFRESH_SLICE
    }

    #[cfg(any(test, feature = "test-hooks"))]
    fn refresh_hook(&self, phase: impl FnOnce() -> RefreshPhase) {
        let hooks = self.refresh_hooks.lock().ok().and_then(|h| h.clone());
        if let Some(h) = hooks {
            (h.on_phase)(phase());
        }
    }

    #[cfg(not(any(test, feature = "test-hooks")))]
    fn refresh_hook(&self, _phase: impl FnOnce() -> RefreshPhase) {}

    /// Test builds only: sets (or clears) the refresh's slice length and phase callback.
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn set_refresh_hooks(&self, hooks: Option<RefreshHooks>) {
        if let Ok(mut h) = self.refresh_hooks.lock() {
            *h = hooks;
        }
    }

    /// Evaluates the saved audiences if they never were (loading `membership.bin` first).
    fn ensure_memberships(&self) -> Result<(), EngineError> {
        let loaded = self
            .memberships
            .read()
            .map_err(|_| EngineError::Poisoned)?
            .is_some();
        if !loaded {
            self.refresh_memberships(crate::now_ms(), "definition")?;
        }
        Ok(())
    }

    /// The saved audiences a person is in now (as of the last evaluation, kept current by
    /// ingest and sweeps); evaluates them first if they never were.
    pub fn audiences_of(&self, person: PersonId) -> Result<Vec<SavedAudience>, EngineError> {
        self.ensure_memberships()?;
        let root = self.state()?.profiles.identity.find(person);
        let m = self.memberships.read().map_err(|_| EngineError::Poisoned)?;
        let defs = self.definitions()?;
        Ok(match m.as_ref() {
            Some(m) => defs
                .audiences
                .iter()
                .filter(|a| m.by_audience.get(&a.id).is_some_and(|b| b.contains(root)))
                .cloned()
                .collect(),
            None => Vec::new(),
        })
    }

    /// Current sizes of the saved audiences (as last evaluated); empty before any evaluation.
    pub fn membership_sizes(&self) -> Result<Vec<(String, u64)>, EngineError> {
        let m = self.memberships.read().map_err(|_| EngineError::Poisoned)?;
        let mut out: Vec<(String, u64)> = m
            .as_ref()
            .map(|m| {
                m.by_audience
                    .iter()
                    .map(|(k, v)| (k.clone(), v.len()))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        Ok(out)
    }

    /// Entries and exits recorded for an audience (all audiences when `None`).
    pub fn history(
        &self,
        audience: Option<&str>,
    ) -> Result<Vec<audiences::Transition>, EngineError> {
        let id = match audience {
            Some(a) => Some(
                self.definitions()?
                    .audience(a)
                    .map(|x| x.id.clone())
                    .ok_or_else(|| EngineError::UnknownAudience(a.to_string()))?,
            ),
            None => None,
        };
        audiences::read_history(&self.dir.join("history.ndjson"), id.as_deref())
    }

    /// The campaign report of a saved audience's members at `now_ms`
    /// ([`crate::reports::campaign_report`]).
    pub fn audience_report(
        &self,
        id_or_name: &str,
        now_ms: i64,
    ) -> Result<(SavedAudience, crate::reports::CampaignReport), EngineError> {
        let audience = self
            .definitions()?
            .audience(id_or_name)
            .cloned()
            .ok_or_else(|| EngineError::UnknownAudience(id_or_name.to_string()))?;
        let rule = audience
            .definition
            .compile()
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let members = self.evaluate(&rule, now_ms)?;
        let state = self.state()?;
        Ok((
            audience,
            crate::reports::campaign_report(&state.profiles, &members),
        ))
    }

    /// Read access to the derived state.
    pub fn state(&self) -> Result<RwLockReadGuard<'_, State>, EngineError> {
        self.state.read().map_err(|_| EngineError::Poisoned)
    }

    /// Read access to the catalog.
    pub fn catalog(&self) -> Result<RwLockReadGuard<'_, Catalog>, EngineError> {
        self.catalog.read().map_err(|_| EngineError::Poisoned)
    }

    /// The product taxonomy in use, if one is configured.
    pub fn taxonomy(&self) -> Option<&ProductTaxonomy> {
        self.taxonomy.as_deref()
    }

    /// The data directory's page classifiers (what ingest and OpenRTB enrichment classify with).
    pub fn contextual(&self) -> &Classifiers {
        &self.enrichment.contextual
    }

    /// The page classifiers and GeoIP databases events are enriched with.
    pub fn enrichment(&self) -> &Enrichment {
        &self.enrichment
    }

    /// Replaces or extends the catalog with `products` and stores it durably.
    pub fn upsert_products(
        &self,
        products: Vec<audex_model::catalog::Product>,
    ) -> Result<usize, EngineError> {
        let mut catalog = self.catalog.write().map_err(|_| EngineError::Poisoned)?;
        let n = products.len();
        for p in products {
            catalog.upsert(p);
        }
        match self.taxonomy.as_deref() {
            Some(t) => catalog.rebuild_tiers(t),
            None => catalog.rebuild_tiers_flat(),
        }
        snapshot::save_catalog(&self.dir.join("catalog.bin"), &catalog)?;
        Ok(n)
    }

    /// Releases spare memory held by profiles (after a bulk import).
    pub fn compact(&self) -> Result<(), EngineError> {
        self.state
            .write()
            .map_err(|_| EngineError::Poisoned)?
            .profiles
            .compact();
        Ok(())
    }

    /// Writes a snapshot of the derived state at its log position, so the next open replays
    /// only what came after. Returns the snapshot's size in bytes.
    pub fn snapshot(&self) -> Result<u64, EngineError> {
        let _guard = self.ingest_lock.lock().map_err(|_| EngineError::Poisoned)?;
        let state = self.state.read().map_err(|_| EngineError::Poisoned)?;
        snapshot::save_state(&self.dir.join("snapshot.bin"), &state, state.applied_to)
    }

    /// Log statistics.
    pub fn log_stats(&self) -> audex_store::LogStats {
        self.log.stats()
    }

    /// The directory holding this advertiser's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads every stored record from the start of the log (for export and checks).
    pub fn read_log(&self) -> Result<audex_store::LogReader, EngineError> {
        Ok(self.log.read_from(LogPosition::default())?)
    }

    /// Deletes a person on request (privacy); see [`Advertiser::delete_people`].
    pub fn delete_person(&self, identifier: &str) -> Result<Option<DeletedPerson>, EngineError> {
        Ok(self
            .delete_people(&[identifier.to_owned()])?
            .pop()
            .flatten())
    }

    /// Deletes people on request (privacy): any of their identifiers in (see
    /// [`view::identifier_candidates`](crate::view::identifier_candidates)), one per person.
    /// The `delete` records are made durable first (one fsync for all); then their identifiers
    /// stop resolving, their profiles are dropped, they leave every audience (history cause
    /// `deleted`) and every export; the snapshot and saved membership are rewritten without
    /// them by [`Advertiser::persist_deletions`]. Their events stay in the log until it is compacted
    /// ([`Engine::erase_deleted`](crate::Engine::erase_deleted)). Per identifier: `None` when
    /// nobody has it (or an earlier identifier of the call was the same person's).
    pub fn delete_people(
        &self,
        identifiers: &[String],
    ) -> Result<Vec<Option<DeletedPerson>>, EngineError> {
        // Evaluate the saved audiences first if they never were, so the exits are recorded.
        self.ensure_memberships()?;
        let deleted = {
            let _guard = self.ingest_lock.lock().map_err(|_| EngineError::Poisoned)?;
            let mut found: Vec<Option<(crate::erase::Control, PersonId)>> = Vec::new();
            {
                let state = self.state.read().map_err(|_| EngineError::Poisoned)?;
                let mut seen = rustc_hash::FxHashSet::default();
                for identifier in identifiers {
                    found.push(
                        crate::view::identifier_candidates(identifier)
                            .into_iter()
                            .find_map(|id| state.profiles.person(&id).map(|p| (id, p)))
                            .filter(|(_, p)| seen.insert(*p))
                            .map(|(id, p)| (crate::erase::Control::DeletePerson(id), p)),
                    );
                }
            }
            let records: Vec<Record> = found
                .iter()
                .flatten()
                .map(|(control, _)| Record {
                    received_at_ms: crate::now_ms(),
                    payload: control.to_payload(),
                })
                .collect();
            if records.is_empty() {
                return Ok(found.into_iter().map(|_| None).collect());
            }
            let durable_to = self.log.append(&records)?;
            let mut state = self.state.write().map_err(|_| EngineError::Poisoned)?;
            let mut out: Vec<Option<DeletedPerson>> = Vec::with_capacity(found.len());
            for f in &found {
                out.push(match f {
                    Some((control, person)) => {
                        let identifiers = state.profiles.identity.ids_of(*person).len();
                        let entries = state
                            .profiles
                            .profile(*person)
                            .map_or(0, |p| p.entries.len());
                        if control.apply(&mut state.profiles).is_some() {
                            state.unerased_deletions += 1;
                        }
                        Some(DeletedPerson {
                            person: *person,
                            identifiers,
                            history_entries: entries,
                            audiences_left: Vec::new(),
                        })
                    }
                    None => None,
                });
            }
            state.applied_to = durable_to;
            let state = RwLockWriteGuard::downgrade(state);
            let people: Vec<PersonId> = out.iter().flatten().map(|d| d.person).collect();
            let at: rustc_hash::FxHashMap<PersonId, usize> = out
                .iter()
                .enumerate()
                .filter_map(|(i, d)| d.as_ref().map(|d| (d.person, i)))
                .collect();
            for t in self.after_apply(&state, &people, "deleted")? {
                if let Some(Some(d)) = at.get(&t.person).map(|&i| &mut out[i])
                    && !t.entered
                {
                    d.audiences_left.push(t.audience);
                }
            }
            out
        };
        self.deletions_unsaved
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(deleted)
    }

    /// Rewrites `snapshot.bin` and `membership.bin` if people were deleted since they were
    /// written, so nothing of theirs stays in derived files either (the log keeps their events
    /// until [`Engine::erase_deleted`](crate::Engine::erase_deleted)). Batched because a
    /// snapshot holds ingest for its duration (about a second per 100,000 people): the CLI
    /// calls it after a deletion, the server's membership sweep every minute. Returns whether
    /// it wrote.
    pub fn persist_deletions(&self) -> Result<bool, EngineError> {
        if !self
            .deletions_unsaved
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(false);
        }
        let written = self.write_deletions();
        if written.is_err() {
            self.deletions_unsaved
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        written.map(|_| true)
    }

    fn write_deletions(&self) -> Result<(), EngineError> {
        self.snapshot()?;
        let _refresh = self
            .refresh_lock
            .lock()
            .map_err(|_| EngineError::Poisoned)?;
        let path = self.dir.join("membership.bin");
        let bytes = match self
            .memberships
            .read()
            .map_err(|_| EngineError::Poisoned)?
            .as_ref()
        {
            Some(m) => Some(snapshot::encode_memberships(&path, m)?),
            None => None,
        };
        if let Some(bytes) = bytes {
            crate::fsutil::write_atomic(&path, &bytes)?;
        }
        Ok(())
    }

    /// The log's records as an export should see them: without control records and without
    /// the events of people deleted but not yet erased.
    pub fn export_records(
        &self,
    ) -> Result<impl Iterator<Item = Result<Record, EngineError>> + use<>, EngineError> {
        let erased = if self.state()?.unerased_deletions > 0 {
            let records = self
                .read_log()?
                .map(|r| r.map(|(_, rec)| rec).map_err(EngineError::from));
            crate::erase::plan(records, self.state()?.profiles.utc_offset_ms)?.drop
        } else {
            RoaringBitmap::new()
        };
        Ok(self
            .read_log()?
            .enumerate()
            .filter_map(move |(i, r)| match r {
                Err(e) => Some(Err(e.into())),
                Ok((_, rec)) => (!erased.contains(i as u32)
                    && crate::erase::Control::parse(&rec.payload).is_none())
                .then_some(Ok(rec)),
            }))
    }
}

/// What deleting a person did.
#[derive(Debug, Clone, Serialize)]
pub struct DeletedPerson {
    /// Their internal id (never live again).
    pub person: PersonId,
    /// Identifiers that no longer resolve.
    pub identifiers: usize,
    /// Profile history entries dropped.
    pub history_entries: usize,
    /// Saved audiences they were a member of and left.
    pub audiences_left: Vec<String>,
}

/// What a contact-list upload matched.
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    pub id: String,
    /// Non-empty lines uploaded.
    pub uploaded: u64,
    /// Lines that were neither an email, an E.164 phone nor a SHA-256 hash.
    pub invalid: u64,
    /// Distinct hashed identifiers kept.
    pub distinct: u64,
    /// People found with one of them.
    pub matched_people: u64,
    /// `matched_people / distinct`.
    pub match_rate: f64,
}

/// What adding or removing identifiers on a contact list did.
#[derive(Debug, Clone, Serialize)]
pub struct ListAmendment {
    /// Identifiers that normalised to a hash (added or removed).
    pub valid: u64,
    /// Identifiers that were neither an email, an E.164 phone nor a SHA-256 hash.
    pub invalid: u64,
    /// A few of the invalid ones, as sent.
    pub sample_invalid: Vec<String>,
}

impl ListAmendment {
    /// How many invalid identifiers are echoed back.
    pub const SAMPLE: usize = 10;
}

/// Stops recording the people ingest re-evaluates when a refresh ends early (an error).
struct StopRecording<'a>(&'a Mutex<Option<RoaringBitmap>>);

impl Drop for StopRecording<'_> {
    fn drop(&mut self) {
        if let Ok(mut r) = self.0.lock() {
            *r = None;
        }
    }
}

/// What a membership refresh recorded.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshReport {
    pub audiences: usize,
    pub entered: u64,
    pub left: u64,
}

/// Collects rejections up to a cap, counting the rest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rejections {
    pub total: u64,
    pub kept: Vec<Rejection>,
}

impl Rejections {
    /// How many rejections are kept with their details.
    pub const CAP: usize = 1000;

    pub fn push(&mut self, r: Rejection) {
        self.total += 1;
        if self.kept.len() < Self::CAP {
            self.kept.push(r);
        }
    }
}
