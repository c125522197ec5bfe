//! One advertiser's state: its event log (the truth), and the profiles, dedup set and catalog
//! derived from it.
//!
//! Ingest order for a batch: validate (in parallel, by the caller) → drop duplicates by
//! `messageId` → append the new events to the log (fsync'd) → apply them to the profiles.
//! Only after the append returns is a batch acknowledged; if the process dies before the
//! profiles are updated, reopening replays the log from the last snapshot position.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use std::time::Instant;

use audex_model::catalog::Catalog;
use audex_model::event::parse_event_json;
use audex_model::taxonomy::ProductTaxonomy;
use audex_profile::{ProfileStore, Reference};
use audex_store::{EventLog, LogConfig, LogPosition, Record, RecoveryReport};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ingest::{Parsed, Rejection};
use crate::registry::AdvertiserRecord;
use crate::snapshot;
use crate::EngineError;

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
    /// Serialises dedup → append → apply so that log order is apply order.
    ingest_lock: Mutex<()>,
    pub open_report: OpenReport,
}

impl Advertiser {
    pub(crate) fn open(
        dir: &Path,
        record: AdvertiserRecord,
        taxonomy: Option<std::sync::Arc<ProductTaxonomy>>,
    ) -> Result<Advertiser, EngineError> {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
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
        let mut report = OpenReport {
            log_truncated_bytes: recovery.truncated_bytes,
            log_records: recovery.records,
            ..Default::default()
        };
        let t = Instant::now();
        let state = match snapshot::load_state(&dir.join("snapshot.bin"))? {
            Some((state, pos)) if pos <= recovery.end => {
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
        report.snapshot_ms = t.elapsed().as_millis() as u64;
        let adv = Advertiser {
            record,
            dir: dir.to_path_buf(),
            log,
            state: RwLock::new(state),
            catalog: RwLock::new(catalog),
            taxonomy,
            ingest_lock: Mutex::new(()),
            open_report: report,
        };
        let t = Instant::now();
        let (replayed, skipped) = adv.replay()?;
        let mut adv = adv;
        adv.open_report.replayed_events = replayed;
        adv.open_report.replay_skipped = skipped;
        adv.open_report.replay_ms = t.elapsed().as_millis() as u64;
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
                match parse_event_json(&r.payload, r.received_at_ms) {
                    Ok(event) => {
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
        let _guard = self.ingest_lock.lock().map_err(|_| EngineError::Poisoned)?;
        let mut fresh = Vec::with_capacity(events.len());
        let mut digests = Vec::with_capacity(events.len());
        let mut duplicates = 0u64;
        {
            let state = self.state.read().map_err(|_| EngineError::Poisoned)?;
            let mut batch_seen = FxHashSet::default();
            for p in events {
                let d = message_digest(&p.event.message_id);
                if state.seen.contains(&d) || !batch_seen.insert(d) {
                    duplicates += 1;
                } else {
                    digests.push(d);
                    fresh.push(p);
                }
            }
        }
        if fresh.is_empty() {
            return Ok(IngestOutcome {
                accepted: 0,
                duplicates,
                durable_to: self.log.end(),
            });
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
        let accepted = fresh.len() as u64;
        for (p, d) in fresh.iter().zip(digests) {
            state.seen.insert(d);
            match state.profiles.apply(&p.event, reference) {
                Ok(_) => state.events += 1,
                Err(e) => tracing::warn!(error = %e, line = p.line, "event stored but not applied"),
            }
        }
        state.applied_to = durable_to;
        Ok(IngestOutcome {
            accepted,
            duplicates,
            durable_to,
        })
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
