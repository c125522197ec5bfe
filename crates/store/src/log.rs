//! The writer side: open + recovery, group-committed appends.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, IoSlice, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::format::{self, Encoder, HEADER_LEN, MAGIC, MAX_RECORD_BYTES};
use crate::reader::LogReader;
use crate::{
    LogConfig, LogPosition, LogStats, Record, RecoveryReport, StoreError, parse_segment_file_name,
    segment_file_name,
};

/// Frame buffers and encoders kept for reuse are capped so a burst doesn't pin memory.
const MAX_POOLED: usize = 64;
const MAX_POOLED_BUF_BYTES: usize = 8 << 20;
/// Segment file names have 8 digits.
const MAX_SEGMENT: u32 = 99_999_999;

/// The durable, append-only event log. `Send + Sync`: share it with `Arc`.
///
/// See the crate docs for the guarantees and the on-disk format.
pub struct EventLog {
    dir: PathBuf,
    config: LogConfig,
    state: Mutex<State>,
    /// Signalled whenever a group commit finishes.
    committed: Condvar,
    /// Only the current group-commit leader touches this (so it is never contended).
    writer: Mutex<Writer>,
    pool: Mutex<Pool>,
    /// Holds the flock on `DIR/LOCK` for as long as the log is open.
    _lock: File,
}

/// Outcome of one group commit: where its first byte went, or why it failed.
type GroupResult = Result<LogPosition, Failure>;
type GroupSlot = Arc<OnceLock<GroupResult>>;

struct State {
    /// Encoded frames of the group being collected, one buffer per append call.
    pending: Vec<Vec<u8>>,
    pending_bytes: u64,
    pending_frames: u64,
    pending_records: u64,
    /// Result slot of the group being collected.
    group: GroupSlot,
    /// A leader is writing a group (with the state lock released).
    writing: bool,
    /// Position after the last durable frame.
    end: LogPosition,
    poisoned: Option<String>,
    stats: LogStats,
}

struct Writer {
    file: File,
    segment: u32,
    len: u64,
}

#[derive(Default)]
struct Pool {
    encoders: Vec<Encoder>,
    buffers: Vec<Vec<u8>>,
}

/// An I/O failure shared by every caller in a failed group.
#[derive(Debug, Clone)]
struct Failure {
    op: &'static str,
    path: PathBuf,
    offset: Option<u64>,
    kind: io::ErrorKind,
    message: String,
}

impl Failure {
    fn new(op: &'static str, path: PathBuf, offset: Option<u64>, e: &io::Error) -> Self {
        Failure {
            op,
            path,
            offset,
            kind: e.kind(),
            message: e.to_string(),
        }
    }

    fn to_error(&self) -> StoreError {
        StoreError::Io {
            op: self.op,
            path: self.path.clone(),
            offset: self.offset,
            source: io::Error::new(self.kind, self.message.clone()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of our locks cannot leave the data half-updated in a way
    // that matters more than the panic itself; keep serving rather than cascade.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn io_err(
    op: &'static str,
    path: &Path,
    offset: Option<u64>,
) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        op,
        path,
        offset,
        source,
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("syncing directory", dir, None))
}

impl EventLog {
    /// Opens (creating if needed) the log in `dir`, verifies every frame, cuts off a torn
    /// tail left by a crash, and reports what it found.
    pub fn open(dir: &Path, config: LogConfig) -> Result<(EventLog, RecoveryReport), StoreError> {
        if config.segment_bytes == 0 {
            return Err(StoreError::InvalidConfig(
                "segment_bytes must be > 0".into(),
            ));
        }
        let range = zstd::compression_level_range();
        if !range.contains(&config.zstd_level) {
            return Err(StoreError::InvalidConfig(format!(
                "zstd_level {} is outside {range:?}",
                config.zstd_level
            )));
        }

        let mut fsyncs = 0;
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(io_err("creating directory", dir, None))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
                fsyncs += 1;
            }
        }
        let lock_path = dir.join("LOCK");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("opening", &lock_path, None))?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: dir.to_path_buf(),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err("locking", &lock_path, None)(e)),
        }

        let segments = list_segments(dir)?;
        let mut report = RecoveryReport::default();
        let mut bytes_on_disk = 0u64;
        let mut scratch = Vec::new();
        let last_index = segments.len().checked_sub(1);
        for (i, &segment) in segments.iter().enumerate() {
            let is_last = Some(i) == last_index;
            let seg = recover_segment(dir, segment, is_last, &mut scratch)?;
            report.frames += seg.frames;
            report.records += seg.records;
            if seg.truncated_bytes > 0 {
                fsyncs += 1;
                report.truncated_bytes = seg.truncated_bytes;
                report.truncated_at = Some(LogPosition {
                    segment,
                    offset: seg.len,
                });
            }
            bytes_on_disk += seg.len;
            report.end = LogPosition {
                segment,
                offset: seg.len,
            };
        }

        let writer = match segments.last() {
            Some(&segment) => {
                let path = dir.join(segment_file_name(segment));
                let file = OpenOptions::new().append(true).open(&path).map_err(io_err(
                    "opening for append",
                    &path,
                    None,
                ))?;
                Writer {
                    file,
                    segment,
                    len: report.end.offset,
                }
            }
            None => {
                fsyncs += 1;
                let file = create_segment(dir, 0)?;
                report.end = LogPosition::default();
                Writer {
                    file,
                    segment: 0,
                    len: 0,
                }
            }
        };
        report.segments = segments.len().max(1) as u32;

        let stats = LogStats {
            bytes_on_disk,
            segments: report.segments,
            frames: report.frames,
            records: report.records,
            fsyncs,
            ..LogStats::default()
        };
        let log = EventLog {
            dir: dir.to_path_buf(),
            config,
            state: Mutex::new(State {
                pending: Vec::new(),
                pending_bytes: 0,
                pending_frames: 0,
                pending_records: 0,
                group: Arc::new(OnceLock::new()),
                writing: false,
                end: report.end,
                poisoned: None,
                stats,
            }),
            committed: Condvar::new(),
            writer: Mutex::new(writer),
            pool: Mutex::new(Pool::default()),
            _lock: lock_file,
        };
        Ok((log, report))
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `records` as one or more frames and returns once they are durable
    /// (`fsync`'d), with the position after the last frame written for this call.
    ///
    /// Concurrent callers are group-committed. An empty slice writes nothing and returns
    /// [`EventLog::end`]. After a write or fsync failure every later call fails with
    /// [`StoreError::Poisoned`]: the log must be reopened, which repairs the tail.
    pub fn append(&self, records: &[Record]) -> Result<LogPosition, StoreError> {
        if records.is_empty() {
            return Ok(self.end());
        }
        if let Some(r) = records.iter().find(|r| r.payload.len() > MAX_RECORD_BYTES) {
            return Err(StoreError::RecordTooLarge {
                len: r.payload.len(),
                max: MAX_RECORD_BYTES,
            });
        }
        if let Some(reason) = &lock(&self.state).poisoned {
            return Err(StoreError::Poisoned {
                reason: reason.clone(),
            });
        }

        // Compress outside any shared lock, so appenders compress in parallel.
        let (mut encoder, mut buf) = {
            let mut pool = lock(&self.pool);
            (pool.encoders.pop(), pool.buffers.pop().unwrap_or_default())
        };
        let encoder_ref = match encoder.as_mut() {
            Some(e) => e,
            None => encoder.insert(Encoder::new(self.config.zstd_level).map_err(io_err(
                "creating an encoder for",
                &self.dir,
                None,
            ))?),
        };
        let encoded = encoder_ref.encode(records, &mut buf);
        if let Some(e) = encoder {
            let mut pool = lock(&self.pool);
            if pool.encoders.len() < MAX_POOLED {
                pool.encoders.push(e);
            }
        }
        let encoded = encoded.map_err(io_err("compressing a frame for", &self.dir, None))?;

        let mut state = lock(&self.state);
        state.pending_bytes += buf.len() as u64;
        state.pending_frames += encoded.frames;
        state.pending_records += records.len() as u64;
        state.pending.push(buf);
        let my_end = state.pending_bytes;
        let slot = Arc::clone(&state.group);
        loop {
            if let Some(result) = slot.get() {
                return match result {
                    Ok(base) => Ok(LogPosition {
                        segment: base.segment,
                        offset: base.offset + my_end,
                    }),
                    Err(f) => Err(f.to_error()),
                };
            }
            if !state.writing {
                // Our group is still the one being collected (a taken group is always
                // resolved before `writing` is cleared): lead its commit.
                state = self.lead_group(state);
                continue;
            }
            state = self
                .committed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Takes the collecting group, writes and fsyncs it with the state lock released,
    /// publishes the result and wakes everyone.
    fn lead_group<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let mut bufs = std::mem::take(&mut state.pending);
        let bytes = std::mem::take(&mut state.pending_bytes);
        let frames = std::mem::take(&mut state.pending_frames);
        let records = std::mem::take(&mut state.pending_records);
        let appends = bufs.len() as u64;
        let slot = std::mem::replace(&mut state.group, Arc::new(OnceLock::new()));

        if let Some(reason) = &state.poisoned {
            let failure = Failure {
                op: "appending to",
                path: self.dir.clone(),
                offset: None,
                kind: io::ErrorKind::Other,
                message: format!("log poisoned by an earlier failure: {reason}"),
            };
            let _ = slot.set(Err(failure));
            self.committed.notify_all();
            return state;
        }

        state.writing = true;
        drop(state);
        let (result, fsyncs, rolled) = self.write_group(&bufs, bytes);
        let mut state = lock(&self.state);
        state.writing = false;
        state.stats.fsyncs += fsyncs;
        match &result {
            Ok(base) => {
                state.end = LogPosition {
                    segment: base.segment,
                    offset: base.offset + bytes,
                };
                let s = &mut state.stats;
                s.bytes_on_disk += bytes;
                s.segments += rolled;
                s.frames += frames;
                s.records += records;
                s.records_appended += records;
                s.appends += appends;
                s.group_commits += 1;
            }
            Err(f) => {
                state.poisoned = Some(f.to_error().to_string());
                state.stats.segments += rolled;
            }
        }
        let _ = slot.set(result);
        self.committed.notify_all();
        drop(state);

        let mut pool = lock(&self.pool);
        for mut b in bufs.drain(..) {
            if pool.buffers.len() < MAX_POOLED && b.capacity() <= MAX_POOLED_BUF_BYTES {
                b.clear();
                pool.buffers.push(b);
            }
        }
        drop(pool);
        lock(&self.state)
    }

    /// Writes one group (rolling the segment first if it is full) and fsyncs it.
    /// Returns the group's start position, the number of fsyncs and segments created.
    fn write_group(&self, bufs: &[Vec<u8>], bytes: u64) -> (GroupResult, u64, u32) {
        let mut w = lock(&self.writer);
        let mut fsyncs = 0;
        let mut rolled = 0;
        if w.len > 0 && w.len >= self.config.segment_bytes {
            let next = w.segment + 1;
            if next > MAX_SEGMENT {
                let f = Failure {
                    op: "rolling to a new segment in",
                    path: self.dir.clone(),
                    offset: None,
                    kind: io::ErrorKind::Other,
                    message: format!("segment numbers are exhausted (max {MAX_SEGMENT})"),
                };
                return (Err(f), fsyncs, rolled);
            }
            match create_segment(&self.dir, next) {
                Ok(file) => {
                    fsyncs += 1;
                    rolled += 1;
                    *w = Writer {
                        file,
                        segment: next,
                        len: 0,
                    };
                }
                Err(e) => {
                    let f = Failure {
                        op: "rolling to a new segment in",
                        path: self.dir.clone(),
                        offset: None,
                        kind: io::ErrorKind::Other,
                        message: e.to_string(),
                    };
                    return (Err(f), fsyncs, rolled);
                }
            }
        }
        let base = LogPosition {
            segment: w.segment,
            offset: w.len,
        };
        let path = || self.dir.join(segment_file_name(base.segment));
        if let Err(e) = write_all_vectored(&mut w.file, bufs) {
            return (
                Err(Failure::new("writing", path(), Some(base.offset), &e)),
                fsyncs,
                rolled,
            );
        }
        fsyncs += 1;
        if let Err(e) = w.file.sync_data() {
            return (
                Err(Failure::new("fsyncing", path(), Some(base.offset), &e)),
                fsyncs,
                rolled,
            );
        }
        w.len += bytes;
        (Ok(base), fsyncs, rolled)
    }

    /// Position after the last durable frame.
    pub fn end(&self) -> LogPosition {
        lock(&self.state).end
    }

    /// Reads records from the frame boundary `from` up to [`EventLog::end`] as of this call.
    ///
    /// Fails with [`StoreError::InvalidPosition`] if `from` is past the end or does not start
    /// a frame. `LogPosition::default()` reads a log from its beginning.
    pub fn read_from(&self, from: LogPosition) -> Result<LogReader, StoreError> {
        LogReader::new(&self.dir, from, self.end())
    }

    /// Counters: bytes on disk, frames, records, appends and fsyncs.
    pub fn stats(&self) -> LogStats {
        lock(&self.state).stats
    }
}

/// `write_all` for a list of buffers, using `writev` to issue as few syscalls as possible.
fn write_all_vectored(file: &mut File, bufs: &[Vec<u8>]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = bufs
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| IoSlice::new(b))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates empty segment `n` for appending and makes its directory entry durable.
fn create_segment(dir: &Path, n: u32) -> Result<File, StoreError> {
    let path = dir.join(segment_file_name(n));
    let file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .map_err(io_err("creating", &path, None))?;
    sync_dir(dir)?;
    Ok(file)
}

/// Segment numbers in `dir`, ascending; they must be contiguous.
fn list_segments(dir: &Path) -> Result<Vec<u32>, StoreError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("listing", dir, None))? {
        let entry = entry.map_err(io_err("listing", dir, None))?;
        if let Some(n) = entry.file_name().to_str().and_then(parse_segment_file_name) {
            segments.push(n);
        }
    }
    segments.sort_unstable();
    for pair in segments.windows(2) {
        if pair[1] != pair[0] + 1 {
            let missing = pair[0] + 1;
            return Err(StoreError::Corrupt {
                segment: missing,
                offset: 0,
                path: dir.join(segment_file_name(missing)),
                reason: format!(
                    "segment file is missing between {} and {}",
                    segment_file_name(pair[0]),
                    segment_file_name(pair[1])
                ),
            });
        }
    }
    Ok(segments)
}

struct SegmentScan {
    /// Valid length (after any truncation).
    len: u64,
    frames: u64,
    records: u64,
    truncated_bytes: u64,
}

/// How a segment's frame scan ended.
enum ScanEnd {
    Clean,
    /// A bad frame at `offset`. `next` is where the next frame would start if the bad frame's
    /// header is trustworthy (its checksum passed), so only its body is damaged.
    Bad {
        offset: u64,
        reason: String,
        next: Option<u64>,
    },
}

/// Verifies every frame of one segment; in the last segment, cuts off a torn tail.
fn recover_segment(
    dir: &Path,
    segment: u32,
    is_last: bool,
    scratch: &mut Vec<u8>,
) -> Result<SegmentScan, StoreError> {
    let path = dir.join(segment_file_name(segment));
    let file = File::open(&path).map_err(io_err("opening", &path, None))?;
    let file_len = file
        .metadata()
        .map_err(io_err("reading metadata of", &path, None))?
        .len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut scan = SegmentScan {
        len: 0,
        frames: 0,
        records: 0,
        truncated_bytes: 0,
    };
    let end = scan_frames(&mut reader, &path, file_len, &mut scan, scratch)?;
    let ScanEnd::Bad {
        offset,
        reason,
        next,
    } = end
    else {
        return Ok(scan);
    };
    let corrupt = |reason: String| StoreError::Corrupt {
        segment,
        offset,
        path: path.clone(),
        reason,
    };
    if !is_last {
        return Err(corrupt(format!(
            "{reason} (in a segment that is not the last)"
        )));
    }
    // In the last segment a bad frame is a torn write only if nothing valid follows it.
    let search_from = match next {
        Some(n) if n >= file_len => None,
        Some(n) => Some(n),
        None => Some(offset + 1),
    };
    if let Some(from) = search_from
        && let Some(found) = find_valid_frame(&mut reader, &path, from, file_len, scratch)?
    {
        return Err(corrupt(format!(
            "{reason}; a valid frame follows at offset {found}, so this is not a torn tail"
        )));
    }
    drop(reader);
    let file = OpenOptions::new().write(true).open(&path).map_err(io_err(
        "opening for truncation",
        &path,
        None,
    ))?;
    file.set_len(offset)
        .map_err(io_err("truncating", &path, Some(offset)))?;
    file.sync_all()
        .map_err(io_err("fsyncing", &path, Some(offset)))?;
    scan.truncated_bytes = file_len - offset;
    Ok(scan)
}

/// Reads frames from the start of a segment, verifying header and body checksums (bodies are
/// not decompressed: the CRC already proves they are the bytes that were written).
fn scan_frames(
    reader: &mut BufReader<File>,
    path: &Path,
    file_len: u64,
    scan: &mut SegmentScan,
    scratch: &mut Vec<u8>,
) -> Result<ScanEnd, StoreError> {
    let mut offset = 0u64;
    loop {
        let available = file_len - offset;
        if available == 0 {
            return Ok(ScanEnd::Clean);
        }
        let bad = |reason: String, next: Option<u64>| {
            Ok(ScanEnd::Bad {
                offset,
                reason,
                next,
            })
        };
        if available < HEADER_LEN as u64 {
            return bad(format!("incomplete frame header ({available} bytes)"), None);
        }
        let mut h = [0u8; HEADER_LEN];
        reader
            .read_exact(&mut h)
            .map_err(io_err("reading", path, Some(offset)))?;
        let header = match format::parse_header(&h) {
            Ok(header) => header,
            Err(reason) => return bad(reason, None),
        };
        let frame_len = header.frame_len();
        let next = offset + frame_len;
        if frame_len > available {
            return bad(
                format!("incomplete frame ({frame_len} bytes, {available} present)"),
                Some(next),
            );
        }
        scratch.resize(frame_len as usize - HEADER_LEN, 0);
        reader
            .read_exact(scratch)
            .map_err(io_err("reading", path, Some(offset)))?;
        if let Err(reason) = format::check_body_crc(scratch) {
            return bad(reason, Some(next));
        }
        scan.frames += 1;
        scan.records += u64::from(header.count);
        offset = next;
        scan.len = offset;
    }
}

/// Looks for a complete, checksum-valid frame starting anywhere in `from..file_len`.
fn find_valid_frame(
    reader: &mut BufReader<File>,
    path: &Path,
    from: u64,
    file_len: u64,
    scratch: &mut Vec<u8>,
) -> Result<Option<u64>, StoreError> {
    // Only reached on a damaged last segment, which is bounded by the segment size.
    reader
        .seek(SeekFrom::Start(from))
        .map_err(io_err("seeking in", path, Some(from)))?;
    scratch.clear();
    reader
        .read_to_end(scratch)
        .map_err(io_err("reading", path, Some(from)))?;
    debug_assert_eq!(scratch.len() as u64, file_len - from);
    let tail = &scratch[..];
    let mut at = 0;
    while let Some(i) = tail[at..].windows(MAGIC.len()).position(|w| w == MAGIC) {
        let candidate = at + i;
        if format::valid_frame_at(&tail[candidate..]) {
            return Ok(Some(from + candidate as u64));
        }
        at = candidate + 1;
    }
    Ok(None)
}
