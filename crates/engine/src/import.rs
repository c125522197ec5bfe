//! Bulk import: Segment NDJSON (plain or gzip) and flat CSV event files, streamed in chunks
//! through the same validate → dedupe → log → apply pipeline as live events.
//!
//! Reading and validating chunk N+1 overlaps with storing and applying chunk N.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};

use audex_model::catalog::{DelimitedReader, Delimiter, RecordError};

use crate::advertiser::{Advertiser, Rejections};
use crate::ingest::{InputLine, Parsed, Rejection, parse_lines};
use crate::{EngineError, now_ms};

/// Import tuning.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Lines per chunk (one log append, one fsync per chunk).
    pub chunk_lines: usize,
    /// Commit as soon as the input has no more data ready (for streamed stdin), instead of
    /// waiting for a full chunk.
    pub flush_when_idle: bool,
    /// Receive time stamped on the events (default: now).
    pub received_at_ms: Option<i64>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            chunk_lines: 16_384,
            flush_when_idle: false,
            received_at_ms: None,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub lines: u64,
    pub bytes: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: Rejections,
    pub seconds: f64,
}

impl ImportReport {
    fn add(&mut self, other: ImportReport) {
        self.lines += other.lines;
        self.bytes += other.bytes;
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.rejected.total += other.rejected.total;
        for r in other.rejected.kept {
            if self.rejected.kept.len() < Rejections::CAP {
                self.rejected.kept.push(r);
            }
        }
        self.seconds += other.seconds;
    }
}

/// Progress of an import, reported after each chunk is durable.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Input bytes consumed so far (compressed bytes for gzip input).
    pub bytes: u64,
    /// Lines consumed and durably handled (accepted, duplicate or rejected).
    pub lines: u64,
    pub accepted: u64,
}

/// Input format of an event file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    /// Guesses from the file name: `.csv`/`.csv.gz` is CSV, anything else NDJSON.
    pub fn from_path(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".csv") || name.ends_with(".csv.gz") {
            Format::Csv
        } else {
            Format::Ndjson
        }
    }
}

/// Counts bytes read through it (for progress on compressed input).
struct Counting<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens a file (or `-` for stdin), transparently gunzipping, and imports it.
pub fn import_path(
    adv: &Advertiser,
    path: &Path,
    options: &ImportOptions,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, EngineError> {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let raw: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?)
    };
    let mut buffered = BufReader::with_capacity(
        1 << 20,
        Counting {
            inner: raw,
            count: count.clone(),
        },
    );
    let is_gzip = {
        let head = buffered.fill_buf().map_err(|e| EngineError::io(path, e))?;
        head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b
    };
    let reader: Box<dyn BufRead + Send> = if is_gzip {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(buffered),
        ))
    } else {
        Box::new(buffered)
    };
    let name = path.to_string_lossy().to_string();
    let format = Format::from_path(path);
    import_reader(adv, reader, &name, format, options, &mut |mut p| {
        p.bytes = count.load(std::sync::atomic::Ordering::Relaxed);
        on_progress(p)
    })
}

/// Where chunks come from: NDJSON lines, or CSV records turned into JSON.
enum Source<'a> {
    Lines(Box<dyn BufRead + Send + 'a>),
    Csv {
        reader: DelimitedReader<Box<dyn BufRead + Send + 'a>>,
        header: Option<Vec<String>>,
    },
}

/// Reads input in chunks of lines (NDJSON) or records (CSV, turned into JSON).
struct ChunkReader<'a> {
    input: Source<'a>,
    source: String,
    chunk_lines: usize,
    flush_when_idle: bool,
    line_no: u64,
    bytes: u64,
}

impl ChunkReader<'_> {
    /// The next line and its 1-based number, or `None` at the end of the input.
    fn next_line(&mut self) -> Result<Option<InputLine>, EngineError> {
        let io_err = |source: &str, e| EngineError::io(Path::new(source), e);
        match &mut self.input {
            Source::Lines(reader) => {
                let mut buf = Vec::new();
                let n = reader
                    .read_until(b'\n', &mut buf)
                    .map_err(|e| io_err(&self.source, e))?;
                if n == 0 {
                    return Ok(None);
                }
                self.bytes += n as u64;
                self.line_no += 1;
                Ok(Some(InputLine {
                    line: self.line_no,
                    bytes: buf,
                }))
            }
            Source::Csv { reader, header } => loop {
                let record = match reader.next_record() {
                    Ok(Some(r)) => r,
                    Ok(None) => return Ok(None),
                    Err(RecordError::Io(e)) => return Err(io_err(&self.source, e)),
                    Err(RecordError::UnterminatedQuote { line }) => {
                        // Reported as a rejected line, like any other malformed input.
                        return Ok(Some(InputLine {
                            line: line as u64,
                            bytes: b"unterminated quoted CSV field".to_vec(),
                        }));
                    }
                };
                self.bytes += record
                    .fields
                    .iter()
                    .map(|f| f.len() as u64 + 1)
                    .sum::<u64>();
                match header {
                    None => *header = Some(record.fields),
                    Some(h) => {
                        return Ok(Some(InputLine {
                            line: record.line as u64,
                            bytes: csv_row_to_json(h, &record.fields),
                        }));
                    }
                }
            },
        }
    }

    fn input_idle(&mut self) -> bool {
        match &mut self.input {
            Source::Lines(r) => r.fill_buf().map(|b| b.is_empty()).unwrap_or(true),
            Source::Csv { .. } => false,
        }
    }

    fn next_chunk(&mut self) -> Result<Vec<InputLine>, EngineError> {
        let mut chunk = Vec::with_capacity(self.chunk_lines.min(1 << 16));
        while let Some(line) = self.next_line()? {
            if !line.bytes.iter().all(u8::is_ascii_whitespace) {
                chunk.push(line);
            }
            if chunk.len() >= self.chunk_lines
                || (self.flush_when_idle && !chunk.is_empty() && self.input_idle())
            {
                break;
            }
        }
        Ok(chunk)
    }
}

/// Imports events from a reader.
pub fn import_reader(
    adv: &Advertiser,
    reader: Box<dyn BufRead + Send + '_>,
    source: &str,
    format: Format,
    options: &ImportOptions,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, EngineError> {
    let start = Instant::now();
    let mut report = ImportReport::default();
    let received = || options.received_at_ms.unwrap_or_else(now_ms);
    let input = match format {
        Format::Ndjson => Source::Lines(reader),
        Format::Csv => Source::Csv {
            reader: DelimitedReader::new(reader, Some(Delimiter::Comma)),
            header: None,
        },
    };
    let mut chunks = ChunkReader {
        input,
        source: source.to_string(),
        chunk_lines: options.chunk_lines.max(1),
        flush_when_idle: options.flush_when_idle,
        line_no: 0,
        bytes: 0,
    };
    let mut current = chunks.next_chunk()?;
    let mut parsed = parse_lines(&current, received(), adv.enrichment());
    while !current.is_empty() {
        let lines_in_chunk = current.len() as u64;
        // Read and validate the next chunk while this one is stored and applied.
        let (next, stored) = rayon::join(
            || -> Result<_, EngineError> {
                let next = chunks.next_chunk()?;
                let p = parse_lines(&next, received(), adv.enrichment());
                Ok((next, p))
            },
            || store_chunk(adv, std::mem::take(&mut parsed)),
        );
        let chunk_report = stored?;
        report.lines += lines_in_chunk;
        report.add(chunk_report);
        on_progress(Progress {
            bytes: chunks.bytes,
            lines: report.lines,
            accepted: report.accepted,
        });
        (current, parsed) = next?;
    }
    report.bytes = chunks.bytes;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Stores one validated chunk; returns its counts.
fn store_chunk(
    adv: &Advertiser,
    parsed: Vec<Result<Parsed, Rejection>>,
) -> Result<ImportReport, EngineError> {
    let mut report = ImportReport::default();
    let mut ok = Vec::with_capacity(parsed.len());
    for p in parsed {
        match p {
            Ok(p) => ok.push(p),
            Err(r) => report.rejected.push(r),
        }
    }
    let outcome = adv.ingest(ok)?;
    report.accepted = outcome.accepted;
    report.duplicates = outcome.duplicates;
    Ok(report)
}

/// Turns a CSV row into Segment JSON: dotted headers nest (`properties.price`), numeric-looking
/// values under `properties.`/`traits.`/`context.` become numbers, empty cells are omitted.
fn csv_row_to_json(header: &[String], fields: &[String]) -> Vec<u8> {
    let mut root = Map::new();
    for (h, v) in header.iter().zip(fields) {
        if v.is_empty() {
            continue;
        }
        let path: Vec<&str> = h.trim().split('.').collect();
        let nested = path.len() > 1;
        let value = if nested {
            match v.parse::<f64>() {
                Ok(f)
                    if f.is_finite()
                        && !v.starts_with('+')
                        && !(v.starts_with('0') && v.len() > 1 && !v.starts_with("0.")) =>
                {
                    serde_json::Number::from_f64(f).map_or(Value::String(v.clone()), Value::Number)
                }
                _ => match v.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => Value::String(v.clone()),
                },
            }
        } else {
            Value::String(v.clone())
        };
        let mut cur = &mut root;
        for (i, key) in path.iter().enumerate() {
            if i + 1 == path.len() {
                cur.insert((*key).to_string(), value.clone());
            } else {
                let entry = cur
                    .entry((*key).to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                match entry {
                    Value::Object(m) => cur = m,
                    _ => break,
                }
            }
        }
    }
    serde_json::to_vec(&Value::Object(root)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(s: &str) -> Vec<String> {
        let mut r = DelimitedReader::new(s.as_bytes(), Some(Delimiter::Comma));
        r.next_record()
            .ok()
            .flatten()
            .map(|r| r.fields)
            .unwrap_or_default()
    }

    #[test]
    fn csv_rows_nest_and_type() {
        let header = fields("type,event,userId,properties.price,properties.sku,context.ip\n");
        let row = fields("track,\"Order, Completed\",u1,12.5,007,1.2.3.4\n");
        let v: Value =
            serde_json::from_slice(&csv_row_to_json(&header, &row)).unwrap_or(Value::Null);
        assert_eq!(v["event"], "Order, Completed");
        assert_eq!(v["properties"]["price"], 12.5);
        assert_eq!(v["properties"]["sku"], "007", "leading zeros stay text");
        assert_eq!(v["context"]["ip"], "1.2.3.4");
    }
}
