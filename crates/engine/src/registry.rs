//! The advertiser registry: `DATA/advertisers.json`, names, ids and API credentials.

use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::EngineError;

/// One advertiser (tenant) as the registry records it. Secrets are stored hashed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdvertiserRecord {
    /// Stable id, also the name of its directory under `DATA/advertisers/`.
    pub id: String,
    pub name: String,
    /// Collector key (Basic-auth user name for the Segment endpoints); can only write events.
    pub write_key: String,
    /// Admin client id (OAuth2 client credentials for the API).
    pub client_id: String,
    /// SHA-256 hex of the admin client secret.
    pub client_secret_sha256: String,
    pub created_ms: i64,
    /// Fixed offset from UTC, in minutes, at which this advertiser's days begin.
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

/// Credentials printed once at creation (the secret is not recoverable afterwards).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    pub advertiser_id: String,
    pub name: String,
    pub write_key: String,
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Registry {
    pub version: u32,
    pub advertisers: Vec<AdvertiserRecord>,
}

fn random_token(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// SHA-256 hex of a secret.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a name is acceptable for an advertiser: 1–64 chars of letters, digits, `-`, `_`, `.`, space.
pub fn valid_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
}

impl Registry {
    pub(crate) fn path(data: &Path) -> PathBuf {
        data.join("advertisers.json")
    }

    pub(crate) fn load(data: &Path) -> Result<Registry, EngineError> {
        let path = Self::path(data);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| EngineError::Registry {
                path: path.clone(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Registry {
                version: 1,
                advertisers: Vec::new(),
            }),
            Err(e) => Err(EngineError::io(&path, e)),
        }
    }

    pub(crate) fn save(&self, data: &Path) -> Result<(), EngineError> {
        let path = Self::path(data);
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| EngineError::Registry {
            path: path.clone(),
            message: e.to_string(),
        })?;
        crate::fsutil::write_atomic(&path, &bytes)
    }

    pub(crate) fn find(&self, name_or_id: &str) -> Option<&AdvertiserRecord> {
        self.advertisers
            .iter()
            .find(|a| a.id == name_or_id)
            .or_else(|| self.advertisers.iter().find(|a| a.name == name_or_id))
    }

    pub(crate) fn rotate_secret(&mut self, name_or_id: &str) -> Result<Credentials, EngineError> {
        let rec = self
            .advertisers
            .iter_mut()
            .find(|a| a.id == name_or_id || a.name == name_or_id)
            .ok_or_else(|| EngineError::UnknownAdvertiser(name_or_id.to_string()))?;
        let secret = random_token("cs_", 24);
        rec.client_secret_sha256 = hash_secret(&secret);
        Ok(Credentials {
            advertiser_id: rec.id.clone(),
            name: rec.name.clone(),
            write_key: rec.write_key.clone(),
            client_id: rec.client_id.clone(),
            client_secret: secret,
        })
    }

    pub(crate) fn create(
        &mut self,
        name: &str,
        now_ms: i64,
        utc_offset_minutes: i32,
    ) -> Result<Credentials, EngineError> {
        if !valid_name(name) {
            return Err(EngineError::InvalidName(name.to_string()));
        }
        if self.advertisers.iter().any(|a| a.name == name) {
            return Err(EngineError::AdvertiserExists(name.to_string()));
        }
        let id = if self.advertisers.iter().any(|a| a.id == name) || !id_safe(name) {
            random_token("adv_", 6)
        } else {
            name.to_string()
        };
        let creds = Credentials {
            advertiser_id: id.clone(),
            name: name.to_string(),
            write_key: random_token("wk_", 16),
            client_id: random_token("cid_", 8),
            client_secret: random_token("cs_", 24),
        };
        self.advertisers.push(AdvertiserRecord {
            id,
            name: name.to_string(),
            write_key: creds.write_key.clone(),
            client_id: creds.client_id.clone(),
            client_secret_sha256: hash_secret(&creds.client_secret),
            created_ms: now_ms,
            utc_offset_minutes,
        });
        Ok(creds)
    }
}

/// Whether a name can double as a directory name.
fn id_safe(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        && !name.starts_with('-')
}
