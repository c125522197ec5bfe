//! Sequential reading of the durable part of the log.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::format::{self, Decoder, FrameHeader, HEADER_LEN, TRAILER_LEN};
use crate::{LogPosition, Record, StoreError, segment_file_name};

const READ_BUFFER: usize = 64 << 10;

/// One frame from [`LogReader::next_frame`]: its position, the position after it, and its
/// records.
pub type Frame = (LogPosition, LogPosition, Vec<Record>);

/// Iterates records from a frame boundary up to the log's end at the time it was created.
///
/// Yields each record with the position of the frame holding it; use
/// [`LogReader::next_frame`] instead to get whole frames and the position after each, which
/// is what a consumer should checkpoint. Every frame is checksum-verified as it is read.
/// After an error the reader yields nothing more.
pub struct LogReader {
    dir: PathBuf,
    /// Position of the next frame to load.
    pos: LogPosition,
    /// The log's end when the reader was created; nothing at or past it is read.
    end: LogPosition,
    /// Open handle on `pos.segment`, positioned at `pos.offset`.
    file: Option<BufReader<File>>,
    /// How far `pos.segment` may be read.
    seg_limit: u64,
    compressed: Vec<u8>,
    body: Vec<u8>,
    decoder: Option<Decoder>,
    /// Position of the frame whose records are in `body`, and the position after it.
    frame: LogPosition,
    frame_end: LogPosition,
    /// Records of the current frame not yet handed out, and where the next one starts.
    remaining: u32,
    cursor: usize,
    failed: bool,
}

impl LogReader {
    pub(crate) fn new(
        dir: &Path,
        from: LogPosition,
        end: LogPosition,
    ) -> Result<LogReader, StoreError> {
        let mut reader = LogReader {
            dir: dir.to_path_buf(),
            pos: from,
            end,
            file: None,
            seg_limit: 0,
            compressed: Vec::new(),
            body: Vec::new(),
            decoder: None,
            frame: from,
            frame_end: from,
            remaining: 0,
            cursor: 0,
            failed: false,
        };
        if from > end {
            return Err(StoreError::InvalidPosition {
                position: from,
                reason: format!("past the end of the log ({end})"),
            });
        }
        if from < end {
            reader.open_segment().map_err(|e| match e {
                StoreError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                    StoreError::InvalidPosition {
                        position: from,
                        reason: "no such segment".into(),
                    }
                }
                e => e,
            })?;
            if from.offset > reader.seg_limit {
                return Err(StoreError::InvalidPosition {
                    position: from,
                    reason: format!("past the end of segment ({} bytes)", reader.seg_limit),
                });
            }
            if from.offset < reader.seg_limit {
                if reader.seg_limit - from.offset < HEADER_LEN as u64 {
                    return Err(StoreError::InvalidPosition {
                        position: from,
                        reason: "not a frame boundary: too close to the end".into(),
                    });
                }
                reader.check_boundary()?;
            }
        }
        Ok(reader)
    }

    /// The log's end when this reader was created: iteration stops there.
    pub fn end(&self) -> LogPosition {
        self.end
    }

    /// Returns the next whole frame: its position, the position after it (a safe checkpoint
    /// once its records are processed), and its records. If some of the frame's records were
    /// already taken through the [`Iterator`], only the rest are returned.
    pub fn next_frame(&mut self) -> Option<Result<Frame, StoreError>> {
        if self.remaining == 0
            && let Err(e) = self.load_frame()?
        {
            return Some(Err(e));
        }
        let mut records = Vec::with_capacity(self.remaining as usize);
        for _ in 0..self.remaining {
            records.push(format::read_record(&self.body, &mut self.cursor));
        }
        self.remaining = 0;
        Some(Ok((self.frame, self.frame_end, records)))
    }

    fn segment_path(&self, segment: u32) -> PathBuf {
        self.dir.join(segment_file_name(segment))
    }

    fn io_err(&self, op: &'static str, offset: Option<u64>, source: io::Error) -> StoreError {
        StoreError::Io {
            op,
            path: self.segment_path(self.pos.segment),
            offset,
            source,
        }
    }

    fn corrupt(&self, reason: String) -> StoreError {
        StoreError::Corrupt {
            segment: self.pos.segment,
            offset: self.pos.offset,
            path: self.segment_path(self.pos.segment),
            reason,
        }
    }

    /// Opens `pos.segment` and positions it at `pos.offset` (if within the segment).
    fn open_segment(&mut self) -> Result<(), StoreError> {
        let path = self.segment_path(self.pos.segment);
        let mut file = File::open(&path).map_err(|e| self.io_err("opening", None, e))?;
        let len = file
            .metadata()
            .map_err(|e| self.io_err("reading metadata of", None, e))?
            .len();
        // Sealed segments are read whole; the end segment only up to the durable end.
        self.seg_limit = if self.pos.segment == self.end.segment {
            self.end.offset.min(len)
        } else {
            len
        };
        if self.pos.offset > 0 && self.pos.offset <= self.seg_limit {
            file.seek(SeekFrom::Start(self.pos.offset))
                .map_err(|e| self.io_err("seeking in", Some(self.pos.offset), e))?;
        }
        self.file = Some(BufReader::with_capacity(READ_BUFFER, file));
        Ok(())
    }

    /// Checks that a frame header starts at `pos`, then rewinds to it.
    fn check_boundary(&mut self) -> Result<(), StoreError> {
        let pos = self.pos;
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let mut h = [0u8; HEADER_LEN];
        let read = file
            .read_exact(&mut h)
            .and_then(|()| file.seek(SeekFrom::Start(pos.offset)).map(drop));
        if let Err(e) = read {
            return Err(self.io_err("reading", Some(pos.offset), e));
        }
        format::parse_header(&h).map_err(|reason| StoreError::InvalidPosition {
            position: pos,
            reason: format!("not a frame boundary: {reason}"),
        })?;
        Ok(())
    }

    /// Loads the next frame into `body`. `None` at the end.
    fn load_frame(&mut self) -> Option<Result<(), StoreError>> {
        if self.failed {
            return None;
        }
        let r = self.try_load_frame();
        if let Some(Err(_)) = r {
            self.failed = true;
        }
        r
    }

    fn try_load_frame(&mut self) -> Option<Result<(), StoreError>> {
        loop {
            if self.pos >= self.end {
                return None;
            }
            if self.file.is_none()
                && let Err(e) = self.open_segment()
            {
                return Some(Err(e));
            }
            if self.pos.offset >= self.seg_limit {
                // End of a sealed segment: continue at the start of the next one.
                self.pos = LogPosition {
                    segment: self.pos.segment + 1,
                    offset: 0,
                };
                self.file = None;
                continue;
            }
            return Some(self.read_frame());
        }
    }

    fn read_frame(&mut self) -> Result<(), StoreError> {
        let pos = self.pos;
        let Some(file) = self.file.as_mut() else {
            return Err(self.corrupt("segment not open".into()));
        };
        let available = self.seg_limit - pos.offset;
        if available < (HEADER_LEN + TRAILER_LEN) as u64 {
            return Err(self.corrupt(format!("only {available} bytes left, too few for a frame")));
        }
        let mut h = [0u8; HEADER_LEN];
        if let Err(e) = file.read_exact(&mut h) {
            return Err(self.io_err("reading", Some(pos.offset), e));
        }
        let header: FrameHeader = format::parse_header(&h).map_err(|r| self.corrupt(r))?;
        let frame_len = header.frame_len();
        if frame_len > available {
            return Err(self.corrupt(format!(
                "frame of {frame_len} bytes runs past the readable end ({available} bytes left)"
            )));
        }
        let rest = header.compressed_len as usize + TRAILER_LEN;
        self.compressed.resize(rest, 0);
        let Some(file) = self.file.as_mut() else {
            return Err(self.corrupt("segment not open".into()));
        };
        if let Err(e) = file.read_exact(&mut self.compressed) {
            return Err(self.io_err("reading", Some(pos.offset), e));
        }
        format::check_body_crc(&self.compressed).map_err(|r| self.corrupt(r))?;
        if self.decoder.is_none() {
            let d = Decoder::new().map_err(|e| self.io_err("creating a decoder for", None, e))?;
            self.decoder = Some(d);
        }
        if let Some(decoder) = self.decoder.as_mut() {
            let compressed = &self.compressed[..rest - TRAILER_LEN];
            if let Err(r) = decoder.decode(&header, compressed, &mut self.body) {
                return Err(self.corrupt(r));
            }
        }
        self.frame = pos;
        self.pos.offset += frame_len;
        self.frame_end = self.pos;
        self.remaining = header.count;
        self.cursor = 0;
        Ok(())
    }
}

impl Iterator for LogReader {
    type Item = Result<(LogPosition, Record), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0
            && let Err(e) = self.load_frame()?
        {
            return Some(Err(e));
        }
        self.remaining -= 1;
        let record = format::read_record(&self.body, &mut self.cursor);
        Some(Ok((self.frame, record)))
    }
}
