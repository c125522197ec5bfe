//! Snapshot files: the derived state at a log position, so restarts replay only the tail.
//!
//! Layout (little endian): magic `AXSNAP01` (8 bytes), format version u32, log position u128,
//! payload length u64, CRC-32 of the payload u32, then the payload (postcard). A snapshot that
//! fails its checks is ignored with a warning and the state is rebuilt from the log, which is
//! always possible because the log is the source of truth.

use std::path::Path;

use audex_model::catalog::Catalog;
use audex_store::LogPosition;

use crate::EngineError;
use crate::advertiser::State;
use crate::fsutil::write_atomic;

const MAGIC: &[u8; 8] = b"AXSNAP01";
const CATALOG_MAGIC: &[u8; 8] = b"AXCATL01";
/// Version of the state snapshot layout (bump when `State` changes: older snapshots are then
/// ignored and the state rebuilt from the log).
const VERSION: u32 = 6;
/// Version of the catalog and membership files (their only copy: bump only with a migration).
const FILE_VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 16 + 8 + 4;

fn encode(magic: &[u8; 8], pos: LogPosition, payload: &[u8]) -> Vec<u8> {
    let version = if magic == MAGIC {
        VERSION
    } else {
        FILE_VERSION
    };
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&pos.to_u128().to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn decode<'a>(magic: &[u8; 8], bytes: &'a [u8]) -> Option<(LogPosition, &'a [u8])> {
    if bytes.len() < HEADER || &bytes[..8] != magic {
        return None;
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
    if version
        != if magic == MAGIC {
            VERSION
        } else {
            FILE_VERSION
        }
    {
        return None;
    }
    let pos = LogPosition::from_u128(u128::from_le_bytes(bytes[12..28].try_into().ok()?));
    let len = u64::from_le_bytes(bytes[28..36].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes[36..40].try_into().ok()?);
    let payload = bytes.get(HEADER..HEADER.checked_add(len)?)?;
    (crc32fast::hash(payload) == crc).then_some((pos, payload))
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, EngineError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EngineError::io(path, e)),
    }
}

/// Saves `state` as of log position `pos`; returns the file size.
pub fn save_state(path: &Path, state: &State, pos: LogPosition) -> Result<u64, EngineError> {
    let payload = postcard::to_allocvec(state).map_err(|e| EngineError::Snapshot {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let bytes = encode(MAGIC, pos, &payload);
    write_atomic(path, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Loads a snapshot, or `None` when there is none or it is unusable (then the log is replayed).
pub fn load_state(path: &Path) -> Result<Option<(State, LogPosition)>, EngineError> {
    let Some(bytes) = read_optional(path)? else {
        return Ok(None);
    };
    let Some((pos, payload)) = decode(MAGIC, &bytes) else {
        tracing::warn!(path = %path.display(), "snapshot fails its checks; rebuilding from the log");
        return Ok(None);
    };
    match postcard::from_bytes::<State>(payload) {
        Ok(mut state) => {
            state.profiles.rebuild_indexes();
            Ok(Some((state, pos)))
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "snapshot unreadable; rebuilding from the log");
            Ok(None)
        }
    }
}

/// Saves the catalog (it is not in the event log, so this file is its only copy).
pub fn save_catalog(path: &Path, catalog: &Catalog) -> Result<(), EngineError> {
    let payload = postcard::to_allocvec(catalog).map_err(|e| EngineError::Snapshot {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(
        path,
        &encode(CATALOG_MAGIC, LogPosition::default(), &payload),
    )
}

/// Loads the catalog; a damaged catalog file is an error, since it has no other copy.
pub fn load_catalog(path: &Path) -> Result<Option<Catalog>, EngineError> {
    let Some(bytes) = read_optional(path)? else {
        return Ok(None);
    };
    let (_, payload) = decode(CATALOG_MAGIC, &bytes).ok_or_else(|| EngineError::Snapshot {
        path: path.to_path_buf(),
        message: "catalog file is damaged or from an incompatible Audex version; delete it and \
                  re-import the product feed"
            .into(),
    })?;
    let catalog: Catalog = postcard::from_bytes(payload).map_err(|e| EngineError::Snapshot {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(Some(catalog))
}

const MEMBERSHIP_MAGIC: &[u8; 8] = b"AXMEMB01";

/// Saves saved audiences' membership (bitmaps in the portable Roaring format).
pub fn save_memberships(path: &Path, m: &crate::audiences::Memberships) -> Result<(), EngineError> {
    write_atomic(path, &encode_memberships(path, m)?)
}

/// The bytes [`save_memberships`] writes (`path` only names the file in errors).
pub fn encode_memberships(
    path: &Path,
    m: &crate::audiences::Memberships,
) -> Result<Vec<u8>, EngineError> {
    let mut entries: Vec<(String, Vec<u8>)> = Vec::with_capacity(m.by_audience.len());
    for (id, bitmap) in &m.by_audience {
        let mut bytes = Vec::with_capacity(bitmap.serialized_size());
        bitmap
            .serialize_into(&mut bytes)
            .map_err(|e| EngineError::io(path, e))?;
        entries.push((id.clone(), bytes));
    }
    entries.sort();
    let payload =
        postcard::to_allocvec(&(m.evaluated_ms, entries)).map_err(|e| EngineError::Snapshot {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(encode(MEMBERSHIP_MAGIC, LogPosition::default(), &payload))
}

/// Loads saved audiences' membership; `None` when absent or unusable (it is re-evaluated).
pub fn load_memberships(path: &Path) -> Result<Option<crate::audiences::Memberships>, EngineError> {
    let Some(bytes) = read_optional(path)? else {
        return Ok(None);
    };
    let Some((_, payload)) = decode(MEMBERSHIP_MAGIC, &bytes) else {
        return Ok(None);
    };
    let Ok((evaluated_ms, entries)) =
        postcard::from_bytes::<(i64, Vec<(String, Vec<u8>)>)>(payload)
    else {
        return Ok(None);
    };
    let mut m = crate::audiences::Memberships {
        evaluated_ms,
        ..Default::default()
    };
    for (id, b) in entries {
        match roaring::RoaringBitmap::deserialize_from(&b[..]) {
            Ok(bitmap) => {
                m.by_audience.insert(id, bitmap);
            }
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(m))
}
