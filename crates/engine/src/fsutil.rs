//! Durable file helpers.

use std::io::Write;
use std::path::Path;

use crate::EngineError;

/// Writes `bytes` to `path` atomically and durably: temp file, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| EngineError::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| EngineError::io(&tmp, e))?;
    f.sync_all().map_err(|e| EngineError::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| EngineError::io(path, e))?;
    if let Some(dir) = path.parent() {
        let _ = sync_dir(dir);
    }
    Ok(())
}

/// Makes a directory's entries (creations, renames) durable.
pub fn sync_dir(dir: &Path) -> Result<(), EngineError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| EngineError::io(dir, e))
}
