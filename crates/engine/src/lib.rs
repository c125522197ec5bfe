//! The Audex engine: one data directory holding many advertisers, each with its event log and
//! the state derived from it, and the ingest pipeline that feeds them.
//!
//! Layout of a data directory:
//! ```text
//! DATA/LOCK                          held while a process uses the directory
//! DATA/advertisers.json              registry: names, ids, keys (secrets hashed)
//! DATA/google-product-taxonomy.txt   optional: the taxonomy used to resolve categories
//! DATA/advertisers/<id>/log/         the event log (source of truth)
//! DATA/advertisers/<id>/snapshot.bin derived state at a log position
//! DATA/advertisers/<id>/catalog.bin  the product catalog
//! ```

pub mod advertiser;
pub mod audiences;
pub mod erase;
mod fsutil;
pub mod import;
pub mod ingest;
pub mod models;
pub mod queue;
pub mod registry;
pub mod reports;
pub mod snapshot;
pub mod view;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use audex_model::taxonomy::ProductTaxonomy;

pub use advertiser::{
    Advertiser, IngestOutcome, ListAmendment, ListReport, OpenReport, RefreshReport, State,
};
pub use registry::{AdvertiserRecord, Credentials};

/// The advertiser every verb uses when none is named.
pub const DEFAULT_ADVERTISER: &str = "default";

/// Errors of the engine. Messages name the file or advertiser involved.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] audex_store::StoreError),
    #[error("data directory {} is in use by another Audex process (lock on {}/LOCK)", path.display(), path.display())]
    Locked { path: PathBuf },
    #[error("advertiser registry {}: {message}", path.display())]
    Registry { path: PathBuf, message: String },
    #[error("snapshot {}: {message}", path.display())]
    Snapshot { path: PathBuf, message: String },
    #[error("no advertiser named {0:?}; create it with `audex advertiser create {0}`")]
    UnknownAdvertiser(String),
    #[error("an advertiser named {0:?} already exists")]
    AdvertiserExists(String),
    #[error("invalid advertiser name {0:?}: use 1-64 letters, digits, '-', '_', '.' or spaces")]
    InvalidName(String),
    #[error("taxonomy {}: {message}", path.display())]
    Taxonomy { path: PathBuf, message: String },
    #[error("catalog: {0}")]
    Catalog(String),
    #[error("GeoIP databases: {0}")]
    GeoIp(String),
    #[error("contextual models: {0}")]
    Contextual(String),
    #[error("advertiser {0:?} is in use; retry when its requests have finished")]
    Busy(String),
    #[error("internal lock poisoned by an earlier panic")]
    Poisoned,
    #[error("{0}")]
    Invalid(String),
    #[error("no audience {0:?}")]
    UnknownAudience(String),
    #[error("no contact list {0:?}")]
    UnknownList(String),
    #[error(transparent)]
    Eval(#[from] audex_index::EvalError),
}

impl EngineError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Options for opening a data directory.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Google Product Taxonomy file (`ID - A > B > C` lines). When `None`, the engine uses
    /// `DATA/google-product-taxonomy.txt` if present; without a taxonomy, categories are kept
    /// as text and subtree matching is unavailable.
    pub taxonomy: Option<PathBuf>,
}

/// An open data directory.
pub struct Engine {
    dir: PathBuf,
    _lock: File,
    registry: Mutex<registry::Registry>,
    open: Mutex<HashMap<String, Arc<Advertiser>>>,
    taxonomy: Option<Arc<ProductTaxonomy>>,
    /// Page classifiers: the shipped one and those trained and installed here.
    /// Page classifiers (the shipped one and those trained and installed here) and GeoIP
    /// databases installed here.
    enrichment: Arc<ingest::Enrichment>,
}

impl Engine {
    /// Opens (creating if needed) a data directory and takes its lock.
    pub fn open(dir: &Path, options: EngineOptions) -> Result<Engine, EngineError> {
        std::fs::create_dir_all(dir.join("advertisers")).map_err(|e| EngineError::io(dir, e))?;
        let lock_path = dir.join("LOCK");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| EngineError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(EngineError::Locked {
                    path: dir.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(EngineError::io(&lock_path, e)),
        }
        let taxonomy_path = options
            .taxonomy
            .clone()
            .or_else(|| Some(dir.join("google-product-taxonomy.txt")).filter(|p| p.exists()));
        let taxonomy = match taxonomy_path {
            Some(p) => Some(Arc::new(load_taxonomy(&p)?)),
            None => None,
        };
        let registry = registry::Registry::load(dir)?;
        let contextual = audex_contextual::Classifiers::load(dir)
            .map_err(|e| EngineError::Contextual(e.to_string()))?;
        let geoip = audex_geoip::GeoIp::load(dir).map_err(|e| EngineError::GeoIp(e.to_string()))?;
        Ok(Engine {
            dir: dir.to_path_buf(),
            _lock: lock,
            registry: Mutex::new(registry),
            open: Mutex::new(HashMap::new()),
            taxonomy,
            enrichment: Arc::new(ingest::Enrichment {
                contextual: Arc::new(contextual),
                geoip: Arc::new(geoip),
            }),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The product taxonomy in use.
    pub fn taxonomy(&self) -> Option<&ProductTaxonomy> {
        self.taxonomy.as_deref()
    }

    /// Registers a new advertiser and returns its credentials (shown once). Its days begin at
    /// `utc_offset_minutes` from UTC (fixed; windows and seasons count days at that offset).
    pub fn create_advertiser(
        &self,
        name: &str,
        utc_offset_minutes: i32,
    ) -> Result<Credentials, EngineError> {
        if !(-14 * 60..=14 * 60).contains(&utc_offset_minutes) {
            return Err(EngineError::Invalid(format!(
                "UTC offset of {utc_offset_minutes} minutes is outside -14:00..+14:00"
            )));
        }
        let mut reg = self.registry.lock().map_err(|_| EngineError::Poisoned)?;
        let creds = reg.create(name, now_ms(), utc_offset_minutes)?;
        reg.save(&self.dir)?;
        Ok(creds)
    }

    /// Issues a new admin client secret for an advertiser (the old one stops working) and
    /// returns its credentials.
    pub fn rotate_secret(&self, name_or_id: &str) -> Result<Credentials, EngineError> {
        let mut reg = self.registry.lock().map_err(|_| EngineError::Poisoned)?;
        let creds = reg.rotate_secret(name_or_id)?;
        reg.save(&self.dir)?;
        Ok(creds)
    }

    /// Every registered advertiser.
    pub fn advertisers(&self) -> Result<Vec<AdvertiserRecord>, EngineError> {
        Ok(self
            .registry
            .lock()
            .map_err(|_| EngineError::Poisoned)?
            .advertisers
            .clone())
    }

    /// Opens an advertiser by name or id (loading its snapshot and replaying its log tail on
    /// first use). The advertiser named `default` is created on first use.
    pub fn advertiser(&self, name_or_id: &str) -> Result<Arc<Advertiser>, EngineError> {
        let record = {
            let mut reg = self.registry.lock().map_err(|_| EngineError::Poisoned)?;
            match reg.find(name_or_id) {
                Some(r) => r.clone(),
                None if name_or_id == DEFAULT_ADVERTISER => {
                    reg.create(DEFAULT_ADVERTISER, now_ms(), 0)?;
                    reg.save(&self.dir)?;
                    reg.find(DEFAULT_ADVERTISER)
                        .cloned()
                        .ok_or_else(|| EngineError::UnknownAdvertiser(name_or_id.into()))?
                }
                None => return Err(EngineError::UnknownAdvertiser(name_or_id.to_string())),
            }
        };
        let mut open = self.open.lock().map_err(|_| EngineError::Poisoned)?;
        if let Some(a) = open.get(&record.id) {
            return Ok(a.clone());
        }
        let dir = self.dir.join("advertisers").join(&record.id);
        let id = record.id.clone();
        let adv = Arc::new(Advertiser::open(
            &dir,
            record,
            self.taxonomy.clone(),
            self.enrichment.clone(),
        )?);
        open.insert(id, adv.clone());
        Ok(adv)
    }

    /// Finds the advertiser whose write key this is.
    pub fn advertiser_by_write_key(
        &self,
        key: &str,
    ) -> Result<Option<Arc<Advertiser>>, EngineError> {
        let id = {
            let reg = self.registry.lock().map_err(|_| EngineError::Poisoned)?;
            reg.advertisers
                .iter()
                .find(|a| a.write_key == key)
                .map(|a| a.id.clone())
        };
        id.map(|id| self.advertiser(&id)).transpose()
    }

    /// Finds the advertiser whose admin credentials these are (the secret is checked against
    /// its stored SHA-256).
    pub fn advertiser_by_client(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Option<Arc<Advertiser>>, EngineError> {
        let id = {
            let reg = self.registry.lock().map_err(|_| EngineError::Poisoned)?;
            let hash = registry::hash_secret(client_secret);
            reg.advertisers
                .iter()
                .find(|a| {
                    a.client_id == client_id && constant_time_eq(&a.client_secret_sha256, &hash)
                })
                .map(|a| a.id.clone())
        };
        id.map(|id| self.advertiser(&id)).transpose()
    }

    /// Every open advertiser.
    pub fn open_advertisers(&self) -> Result<Vec<Arc<Advertiser>>, EngineError> {
        Ok(self
            .open
            .lock()
            .map_err(|_| EngineError::Poisoned)?
            .values()
            .cloned()
            .collect())
    }

    /// Erases deleted people's events from an advertiser's log (see [`erase`]): rewrites the
    /// log without them and rebuilds the derived state from it. The advertiser is closed for
    /// the rewrite; it fails with [`EngineError::Busy`] while another holder (a request) has
    /// it open. `None`: nothing to erase. `progress` gets records written and the total.
    pub fn erase_deleted(
        &self,
        name_or_id: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Option<erase::EraseReport>, EngineError> {
        let adv = self.advertiser(name_or_id)?;
        let id = adv.record.id.clone();
        let offset = i64::from(adv.record.utc_offset_minutes) * 60_000;
        if adv.state()?.unerased_deletions == 0 {
            return Ok(None);
        }
        adv.snapshot()?;
        let mut open = self.open.lock().map_err(|_| EngineError::Poisoned)?;
        // Ours and the map's: anyone else still reading it would keep the old log open.
        if Arc::strong_count(&adv) > 2 {
            return Err(EngineError::Busy(adv.record.name.clone()));
        }
        open.remove(&id);
        drop(adv);
        let dir = self.dir.join("advertisers").join(&id);
        let report = erase::compact(&dir, offset, progress)?;
        drop(open);
        self.advertiser(&id)?;
        Ok(report)
    }

    /// Snapshots every open advertiser.
    pub fn snapshot_all(&self) -> Result<(), EngineError> {
        let open: Vec<Arc<Advertiser>> = self
            .open
            .lock()
            .map_err(|_| EngineError::Poisoned)?
            .values()
            .cloned()
            .collect();
        for a in open {
            a.snapshot()?;
        }
        Ok(())
    }
}

/// Compares two strings in time independent of where they differ (for secrets).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Loads a Google Product Taxonomy file.
pub fn load_taxonomy(path: &Path) -> Result<ProductTaxonomy, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
    ProductTaxonomy::parse(&text).map_err(|e| EngineError::Taxonomy {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Wall-clock time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
