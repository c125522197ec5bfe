//! The durable, append-only event log that is Audex's source of truth.
//!
//! Every accepted event is stored as a [`Record`]: the time the server received it and the
//! event's raw JSON bytes exactly as accepted. Profiles, indexes and snapshots are derived
//! from this log and can always be rebuilt by replaying it with [`EventLog::read_from`].
//!
//! # Guarantees
//!
//! - [`EventLog::append`] returns only after the records are `fsync`'d: an acknowledged
//!   record survives a process crash or power loss.
//! - Concurrent appenders are *group-committed*: while one thread's `write` + `fsync` is in
//!   flight, the others queue their (already compressed) frames, and the next leader writes
//!   all queued frames with one `writev` and one `fsync`.
//! - Every frame is checksummed (CRC-32 of its header and of its body). [`EventLog::open`]
//!   verifies the whole log: a torn frame at the very end of the last segment (a crash
//!   mid-write) is cut off and reported in [`RecoveryReport`]; any other bad frame is
//!   reported as [`StoreError::Corrupt`] naming the file and offset. Acknowledged data is
//!   never dropped silently.
//! - One process at a time: `open` takes an exclusive lock on `DIR/LOCK`.
//!
//! # Write path
//!
//! An appender encodes and compresses its records into frames in its own thread (encoders
//! and buffers are pooled), then queues them. The group-commit leader appends the whole queue
//! to the current segment through the single `O_APPEND` file handle with `writev`, calls
//! `fdatasync` (which also persists the grown file size), publishes the new end and wakes the
//! group. Creating the log directory fsyncs its parent; creating a segment fsyncs the log
//! directory. If a write or fsync fails, the log refuses further appends
//! ([`StoreError::Poisoned`]) because the state of the file is unknown; reopening repairs it.
//!
//! # On-disk format
//!
//! A log is a directory:
//!
//! ```text
//! DIR/LOCK            empty; flock'd while a process has the log open
//! DIR/00000000.log    segment 0
//! DIR/00000001.log    segment 1
//! ...                 segment numbers are contiguous, 8 decimal digits
//! ```
//!
//! A segment is a plain concatenation of frames, with no file header. The writer rolls to a
//! new segment when the current one has reached [`LogConfig::segment_bytes`] before a group
//! commit, so a segment may exceed that size by at most one group's bytes. A new segment is
//! created empty and the directory is `fsync`'d before any frame is written to it.
//!
//! A [`LogPosition`] `(segment, offset)` names a frame boundary: the byte offset of a frame
//! in segment file `segment`. The position at the end of a sealed segment is equivalent to
//! `(segment + 1, 0)`.
//!
//! ## Frame
//!
//! All integers are little-endian.
//!
//! ```text
//! offset  size  field
//! 0       4     magic            b"AXF1"
//! 4       4     record_count     u32, >= 1
//! 8       4     body_len         u32, length of the uncompressed body
//! 12      4     compressed_len   u32, length of the compressed body (C below)
//! 16      4     header_crc       u32, CRC-32 (IEEE, crc32fast) of bytes 0..16
//! 20      C     compressed body  one zstd frame; decompresses to exactly body_len bytes
//! 20+C    4     body_crc         u32, CRC-32 of the C compressed bytes
//! ```
//!
//! A frame is therefore `24 + compressed_len` bytes long.
//!
//! ## Body
//!
//! The uncompressed body is `record_count` records back to back, with nothing before,
//! between or after them:
//!
//! ```text
//! offset  size  field
//! 0       8     received_at_ms   i64, milliseconds since the Unix epoch
//! 8       4     payload_len      u32
//! 12      P     payload          payload_len bytes: the event's JSON exactly as accepted
//! ```
//!
//! An append splits its records into frames of at most [`FRAME_TARGET_BYTES`] of body; a
//! single record bigger than that gets a frame of its own. A payload may be at most
//! [`MAX_RECORD_BYTES`] long.
//!
//! # Known limit of recovery
//!
//! Recovery treats a bad frame in the last segment as a torn tail only when no valid frame
//! follows it. A crash can in principle persist the pages of one un-acknowledged group write
//! out of order (a hole of zeros followed by a later, intact frame of the same write); such a
//! log is reported as `Corrupt` rather than repaired, so that an operator decides instead of
//! the log guessing.

mod format;
mod log;
mod reader;

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use format::{FRAME_TARGET_BYTES, MAX_RECORD_BYTES};
pub use log::EventLog;
pub use reader::{Frame, LogReader};

/// Tuning for an [`EventLog`]; the defaults suit production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// Roll to a new segment file once the current one has reached this many bytes.
    pub segment_bytes: u64,
    /// zstd compression level for frame bodies (1 is fast and already shrinks JSON ~4x).
    pub zstd_level: i32,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 256 << 20,
            zstd_level: 1,
        }
    }
}

/// A position in the log: a segment number and the byte offset of a frame boundary in it.
///
/// Positions are totally ordered in log order; callers checkpoint them (e.g. via
/// [`LogPosition::to_u128`]) and later resume with [`EventLog::read_from`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LogPosition {
    /// Segment number: the file `DIR/{segment:08}.log`.
    pub segment: u32,
    /// Byte offset of a frame boundary within that segment.
    pub offset: u64,
}

impl LogPosition {
    /// Packs the position into one integer that sorts the same way as the position.
    pub fn to_u128(self) -> u128 {
        (u128::from(self.segment) << 64) | u128::from(self.offset)
    }

    /// Inverse of [`LogPosition::to_u128`] (bits above the segment's 32 are ignored).
    pub fn from_u128(v: u128) -> Self {
        LogPosition {
            segment: (v >> 64) as u32,
            offset: v as u64,
        }
    }
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.segment, self.offset)
    }
}

/// One stored event: when the server received it, and the event's raw JSON bytes exactly as
/// accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Server receive time, milliseconds since the Unix epoch.
    pub received_at_ms: i64,
    /// The event's JSON bytes, unmodified.
    pub payload: Vec<u8>,
}

/// What [`EventLog::open`] found and repaired.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    /// Number of segment files in the log after recovery.
    pub segments: u32,
    /// Valid frames found.
    pub frames: u64,
    /// Records in those frames.
    pub records: u64,
    /// Bytes cut off the end of the last segment (a torn write); 0 for a clean log.
    pub truncated_bytes: u64,
    /// Where the torn tail began, if one was cut off.
    pub truncated_at: Option<LogPosition>,
    /// Position after the last valid frame: where the next append goes.
    pub end: LogPosition,
}

/// Counters describing the log; cheap to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogStats {
    /// Total size of all segment files.
    pub bytes_on_disk: u64,
    /// Number of segment files.
    pub segments: u32,
    /// Frames in the log (found at open plus appended since).
    pub frames: u64,
    /// Records in the log (found at open plus appended since).
    pub records: u64,
    /// Records appended since open.
    pub records_appended: u64,
    /// Non-empty `append` calls completed since open.
    pub appends: u64,
    /// Group commits (one write + one fsync each) since open.
    pub group_commits: u64,
    /// `fsync` calls since open: one per group commit plus one per directory sync.
    pub fsyncs: u64,
}

/// Errors from the event log. Messages name the file and, where known, the byte offset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An operating-system I/O call failed.
    #[error("{op} {}{}: {source}", path.display(), at_offset(*offset))]
    Io {
        /// What was being done, e.g. "writing".
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// Byte offset in that file, where it matters.
        offset: Option<u64>,
        /// The underlying error.
        source: io::Error,
    },
    /// The log holds a bad frame that is not a torn tail; it must not be silently dropped.
    #[error("corrupt event log: {} at offset {offset}: {reason}", path.display())]
    Corrupt {
        /// Segment number of the bad frame.
        segment: u32,
        /// Byte offset of the bad frame in its segment.
        offset: u64,
        /// The segment file.
        path: PathBuf,
        /// What check failed.
        reason: String,
    },
    /// A position passed to [`EventLog::read_from`] is past the end or not a frame boundary.
    #[error("invalid log position {position}: {reason}")]
    InvalidPosition {
        /// The position asked for.
        position: LogPosition,
        /// Why it is not usable.
        reason: String,
    },
    /// A record's payload is larger than [`MAX_RECORD_BYTES`].
    #[error("record payload of {len} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge {
        /// The payload's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Another process (or another `EventLog` in this one) has the log open.
    #[error("event log {} is already open elsewhere (lock on {}/LOCK is held)", path.display(), path.display())]
    Locked {
        /// The log directory.
        path: PathBuf,
    },
    /// An earlier write or fsync failed, so what is on disk is unknown; reopen to recover.
    #[error("event log no longer accepts appends after an earlier failure ({reason}); reopen it")]
    Poisoned {
        /// The earlier failure.
        reason: String,
    },
    /// The [`LogConfig`] cannot be used.
    #[error("invalid log config: {0}")]
    InvalidConfig(String),
}

fn at_offset(offset: Option<u64>) -> String {
    match offset {
        Some(o) => format!(" at offset {o}"),
        None => String::new(),
    }
}

/// Name of segment file `n` inside the log directory.
pub(crate) fn segment_file_name(n: u32) -> String {
    format!("{n:08}.log")
}

/// Parses a segment file name back into its number.
pub(crate) fn parse_segment_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_packs_and_orders() {
        let a = LogPosition {
            segment: 1,
            offset: u64::MAX,
        };
        let b = LogPosition {
            segment: 2,
            offset: 0,
        };
        assert!(a < b);
        assert!(a.to_u128() < b.to_u128());
        assert_eq!(LogPosition::from_u128(a.to_u128()), a);
        assert_eq!(LogPosition::from_u128(b.to_u128()), b);
    }

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(segment_file_name(7), "00000007.log");
        assert_eq!(parse_segment_file_name("00000007.log"), Some(7));
        assert_eq!(parse_segment_file_name("0000007.log"), None);
        assert_eq!(parse_segment_file_name("00000007.log.tmp"), None);
        assert_eq!(parse_segment_file_name("0000000x.log"), None);
    }
}
