//! Bulk history as Parquet (DESIGN "Storage"): an advertiser's events go out as one Parquet file
//! that an existing engine (DuckDB, Spark, pandas) reads as it is, and come back in.
//!
//! One row per stored event, in log order, zstd-compressed row groups of [`ROWS_PER_GROUP`]:
//! typed columns to query (`message_id`, `type`, `event`, `user_id`, `anonymous_id`,
//! `timestamp`, `received_at`, `channel`, `product_ids`, `category`, `brand`, `price`,
//! `revenue`, `currency`, `campaign_id`, `cost`) and `json`, the event exactly as Audex stored
//! it. Import reads `json` only, so a round trip gives back the same events byte for byte (and
//! `messageId` deduplication makes importing twice a no-op).

use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, ListBuilder, RecordBatch, StringArray, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use audex_model::event::{CallType, Event, parse_event_json};
use audex_store::Record;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// Rows per row group (and per in-memory batch while writing).
pub const ROWS_PER_GROUP: usize = 65_536;

/// Errors of writing and reading Parquet files.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
    #[error("reading the event log: {0}")]
    Log(String),
}

fn io(path: &Path, e: impl std::fmt::Display) -> ParquetError {
    ParquetError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn format(path: &Path, e: impl std::fmt::Display) -> ParquetError {
    ParquetError::Format {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The columns of an export.
pub fn schema() -> Arc<Schema> {
    let ts = || DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let s = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let f = |name: &str| Field::new(name, DataType::Float64, true);
    Arc::new(Schema::new(vec![
        s("message_id", false),
        s("type", false),
        s("event", true),
        s("user_id", true),
        s("anonymous_id", true),
        Field::new("timestamp", ts(), false),
        Field::new("received_at", ts(), false),
        s("channel", false),
        Field::new(
            "product_ids",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
        s("category", true),
        s("brand", true),
        f("price"),
        f("revenue"),
        s("currency", true),
        s("campaign_id", true),
        f("cost"),
        s("json", false),
    ]))
}

fn call_name(c: CallType) -> &'static str {
    match c {
        CallType::Track => "track",
        CallType::Page => "page",
        CallType::Screen => "screen",
        CallType::Identify => "identify",
        CallType::Alias => "alias",
        CallType::Group => "group",
    }
}

/// Column builders of one batch.
struct Batch {
    message_id: StringBuilder,
    call: StringBuilder,
    event: StringBuilder,
    user_id: StringBuilder,
    anonymous_id: StringBuilder,
    timestamp: TimestampMillisecondBuilder,
    received_at: TimestampMillisecondBuilder,
    channel: StringBuilder,
    product_ids: ListBuilder<StringBuilder>,
    category: StringBuilder,
    brand: StringBuilder,
    price: Float64Builder,
    revenue: Float64Builder,
    currency: StringBuilder,
    campaign_id: StringBuilder,
    cost: Float64Builder,
    json: StringBuilder,
    rows: usize,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            message_id: StringBuilder::new(),
            call: StringBuilder::new(),
            event: StringBuilder::new(),
            user_id: StringBuilder::new(),
            anonymous_id: StringBuilder::new(),
            timestamp: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            received_at: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            channel: StringBuilder::new(),
            product_ids: ListBuilder::new(StringBuilder::new()),
            category: StringBuilder::new(),
            brand: StringBuilder::new(),
            price: Float64Builder::new(),
            revenue: Float64Builder::new(),
            currency: StringBuilder::new(),
            campaign_id: StringBuilder::new(),
            cost: Float64Builder::new(),
            json: StringBuilder::new(),
            rows: 0,
        }
    }

    fn push(&mut self, e: &Event, json: &str) {
        self.message_id.append_value(&e.message_id);
        self.call.append_value(call_name(e.call));
        self.event.append_option(e.name.as_deref());
        self.user_id.append_option(e.user_id.as_deref());
        self.anonymous_id.append_option(e.anonymous_id.as_deref());
        self.timestamp.append_value(e.timestamp_ms);
        self.received_at.append_value(e.received_at_ms);
        self.channel.append_value(e.channel.as_str());
        if e.products.is_empty() {
            self.product_ids.append_null();
        } else {
            for p in &e.products {
                self.product_ids
                    .values()
                    .append_option(p.product_id.as_deref());
            }
            self.product_ids.append(true);
        }
        let first = e.products.first();
        self.category
            .append_option(first.and_then(|p| p.category.as_deref()));
        self.brand
            .append_option(first.and_then(|p| p.brand.as_deref()));
        self.price.append_option(first.and_then(|p| p.price));
        self.revenue.append_option(e.revenue);
        self.currency.append_option(
            e.currency
                .as_deref()
                .or(e.ad.as_ref().and_then(|a| a.currency.as_deref())),
        );
        self.campaign_id
            .append_option(e.ad.as_ref().and_then(|a| a.campaign_id.as_deref()));
        self.cost.append_option(e.ad.as_ref().and_then(|a| a.cost));
        self.json.append_value(json);
        self.rows += 1;
    }

    fn finish(&mut self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.message_id.finish()),
            Arc::new(self.call.finish()),
            Arc::new(self.event.finish()),
            Arc::new(self.user_id.finish()),
            Arc::new(self.anonymous_id.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.received_at.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.product_ids.finish()),
            Arc::new(self.category.finish()),
            Arc::new(self.brand.finish()),
            Arc::new(self.price.finish()),
            Arc::new(self.revenue.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.campaign_id.finish()),
            Arc::new(self.cost.finish()),
            Arc::new(self.json.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(schema(), columns)
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    pub rows: u64,
    /// Stored events that no longer validate (a rule tightened since): kept out of the file.
    pub skipped: u64,
    pub bytes: u64,
}

/// Writes `records` (an advertiser's log, in order) to `out` as Parquet; `on_progress` gets the
/// rows written so far at each row group. Written to `out` directly: a failed export leaves a
/// partial file, which the error names.
pub fn export_events<E: std::fmt::Display>(
    records: impl Iterator<Item = Result<Record, E>>,
    out: &Path,
    on_progress: &mut dyn FnMut(u64),
) -> Result<ExportReport, ParquetError> {
    let file = std::fs::File::create(out).map_err(|e| io(out, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
        .set_created_by(format!("audex {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, schema(), Some(props)).map_err(|e| format(out, e))?;
    let mut batch = Batch::new();
    let mut report = ExportReport::default();
    for r in records {
        let r = r.map_err(|e| ParquetError::Log(e.to_string()))?;
        let Ok(json) = std::str::from_utf8(&r.payload) else {
            report.skipped += 1;
            continue;
        };
        let Ok(event) = parse_event_json(json.as_bytes(), r.received_at_ms) else {
            report.skipped += 1;
            continue;
        };
        batch.push(&event, json);
        report.rows += 1;
        if batch.rows == ROWS_PER_GROUP {
            let b = batch.finish().map_err(|e| format(out, e))?;
            writer.write(&b).map_err(|e| format(out, e))?;
            on_progress(report.rows);
        }
    }
    if batch.rows > 0 {
        let b = batch.finish().map_err(|e| format(out, e))?;
        writer.write(&b).map_err(|e| format(out, e))?;
    }
    let file = writer.into_inner().map_err(|e| format(out, e))?;
    file.sync_all().map_err(|e| io(out, e))?;
    on_progress(report.rows);
    report.bytes = std::fs::metadata(out).map_err(|e| io(out, e))?.len();
    Ok(report)
}

/// The `json` column of a Parquet file as NDJSON, one event per line, read a row group at a
/// time: what `audex import` feeds its usual pipeline (validation, dedup, log, apply).
pub struct JsonLines {
    batches: ParquetRecordBatchReader,
    column: usize,
    path: String,
    buf: Vec<u8>,
    at: usize,
}

impl JsonLines {
    /// Opens `path`; it must have a UTF-8 `json` column.
    pub fn open(path: &Path) -> Result<JsonLines, ParquetError> {
        let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| format(path, e))?;
        let column = builder
            .schema()
            .fields()
            .iter()
            .position(|f| f.name() == "json" && matches!(f.data_type(), DataType::Utf8))
            .ok_or_else(|| {
                format(
                    path,
                    "no `json` column of strings (one Segment event per row, as `audex export` writes)",
                )
            })?;
        let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), [column]);
        let batches = builder
            .with_projection(mask)
            .with_batch_size(8_192)
            .build()
            .map_err(|e| format(path, e))?;
        Ok(JsonLines {
            batches,
            column: 0,
            path: path.display().to_string(),
            buf: Vec::new(),
            at: 0,
        })
    }

    /// Loads the next batch into the buffer; false at the end.
    fn refill(&mut self) -> std::io::Result<bool> {
        let Some(batch) = self.batches.next() else {
            return Ok(false);
        };
        let batch = batch.map_err(|e| std::io::Error::other(format!("{}: {e}", self.path)))?;
        let json = batch
            .column(self.column)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| {
                std::io::Error::other(format!("{}: `json` is not strings", self.path))
            })?;
        self.buf.clear();
        self.at = 0;
        for v in json.iter() {
            // A null row becomes an empty line, which import reports as a line it cannot read.
            let v = v.unwrap_or("");
            self.buf.extend_from_slice(v.replace('\n', " ").as_bytes());
            self.buf.push(b'\n');
        }
        Ok(true)
    }
}

impl Read for JsonLines {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for JsonLines {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.at >= self.buf.len() {
            if !self.refill()? {
                return Ok(&[]);
            }
        }
        Ok(&self.buf[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Float64Array, TimestampMillisecondArray};

    fn record(received: i64, v: serde_json::Value) -> Result<Record, String> {
        Ok(Record {
            received_at_ms: received,
            payload: v.to_string().into_bytes(),
        })
    }

    #[test]
    fn export_has_typed_columns_and_import_reads_back_the_exact_json() -> Result<(), ParquetError> {
        let dir = tempfile::tempdir().map_err(|e| io(Path::new("tmp"), e))?;
        let out = dir.path().join("events.parquet");
        let ts = "2026-11-20T10:00:00.000Z";
        let received = 1_795_000_000_000;
        let records = vec![
            record(
                received,
                serde_json::json!({"type": "track", "event": "Product Viewed", "messageId": "m1",
                "userId": "u1", "timestamp": ts, "properties": {"product_id": "p1", "price": 9.5, "brand": "Acme"}}),
            ),
            record(
                received,
                serde_json::json!({"type": "track", "event": "Ad Impression", "messageId": "m2",
                "anonymousId": "a1", "timestamp": ts, "context": {"app": {"name": "shop"}},
                "properties": {"campaign_id": "c1", "creative_id": "x", "cost": 0.004}}),
            ),
            // A stored line that no longer validates is left out, not fatal.
            record(
                received,
                serde_json::json!({"type": "track", "messageId": "m3"}),
            ),
            record(
                received,
                serde_json::json!({"type": "identify", "userId": "u1", "messageId": "m4",
                "timestamp": ts, "traits": {"gender": "female"}}),
            ),
        ];
        let wanted: Vec<String> = records
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|r| String::from_utf8_lossy(&r.payload).into_owned())
            .filter(|j| !j.contains("\"m3\""))
            .collect();
        let mut progress = Vec::new();
        let report = export_events(records.into_iter(), &out, &mut |n| progress.push(n))?;
        assert_eq!((report.rows, report.skipped), (3, 1));
        assert_eq!(progress.last(), Some(&3));
        assert!(report.bytes > 0);

        let file = std::fs::File::open(&out).map_err(|e| io(&out, e))?;
        let mut reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| format(&out, e))?;
        let batch = reader
            .next()
            .ok_or_else(|| format(&out, "no batch"))?
            .map_err(|e| format(&out, e))?;
        assert_eq!(batch.schema(), schema());
        assert_eq!(batch.num_rows(), 3);
        let col = |name: &str| {
            batch
                .column(batch.schema().index_of(name).unwrap_or(0))
                .clone()
        };
        let price = col("price");
        let price = price.as_any().downcast_ref::<Float64Array>();
        assert_eq!(price.map(|p| p.value(0)), Some(9.5));
        assert!(price.is_some_and(|p| p.is_null(1)));
        let cost = col("cost");
        assert_eq!(
            cost.as_any()
                .downcast_ref::<Float64Array>()
                .map(|c| c.value(1)),
            Some(0.004)
        );
        let channel = col("channel");
        let channel = channel.as_any().downcast_ref::<StringArray>();
        assert_eq!(
            channel.map(|c| (c.value(0), c.value(1))),
            Some(("web", "app"))
        );
        let tstamp = col("timestamp");
        let tstamp = tstamp.as_any().downcast_ref::<TimestampMillisecondArray>();
        assert_eq!(tstamp.map(|t| t.value(0)), Some(1_795_168_800_000));

        let mut text = String::new();
        JsonLines::open(&out)?
            .read_to_string(&mut text)
            .map_err(|e| io(&out, e))?;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, wanted.iter().map(String::as_str).collect::<Vec<_>>());
        Ok(())
    }

    #[test]
    fn files_that_are_not_event_exports_are_named_errors() -> Result<(), ParquetError> {
        let dir = tempfile::tempdir().map_err(|e| io(Path::new("tmp"), e))?;
        let text = dir.path().join("events.parquet");
        std::fs::write(&text, "not parquet").map_err(|e| io(&text, e))?;
        let e = JsonLines::open(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("events.parquet"), "{e}");
        // A Parquet file without a `json` column.
        let other = dir.path().join("other.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]));
        let file = std::fs::File::create(&other).map_err(|e| io(&other, e))?;
        let mut w =
            ArrowWriter::try_new(file, schema.clone(), None).map_err(|e| format(&other, e))?;
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Float64Array::from(vec![1.0]))])
            .map_err(|e| format(&other, e))?;
        w.write(&batch).map_err(|e| format(&other, e))?;
        w.close().map_err(|e| format(&other, e))?;
        let e = JsonLines::open(&other)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("no `json` column"), "{e}");
        Ok(())
    }
}
