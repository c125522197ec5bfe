//! Appends 1M ~300-byte Segment-like events in batches of 1000 and prints the rate, then
//! the same with 4 concurrent appenders (group commit), then a full read-back.
//!
//! `cargo run --release -p audex-store --example log_throughput [DIR]`
//! (DIR defaults to a temporary directory under the current one, so it is on a real disk).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use audex_store::{EventLog, LogConfig, LogPosition, Record};

const RECORDS: usize = 1_000_000;
const BATCH: usize = 1000;

fn event(i: usize) -> Record {
    let events = ["Product Viewed", "Product Added", "Order Completed", "Page"];
    let payload = format!(
        concat!(
            r#"{{"type":"track","event":"{}","messageId":"msg-{:012}","anonymousId":"anon-{:08x}","#,
            r#""timestamp":"2026-03-{:02}T{:02}:{:02}:{:02}Z","properties":{{"product_id":"P{:06}","#,
            r#""category":"Apparel & Accessories > Shoes","price":{}.{:02},"currency":"EUR"}},"#,
            r#""context":{{"ip":"10.{}.{}.{}","userAgent":"Mozilla/5.0"}}}}"#
        ),
        events[i % 4],
        i,
        (i * 2_654_435_761) % 1_000_003,
        1 + i % 28,
        i % 24,
        i % 60,
        (i / 7) % 60,
        (i * 31) % 20_000,
        (i * 7) % 500,
        i % 100,
        i % 256,
        (i / 256) % 256,
        (i / 65_536) % 256,
    );
    Record {
        received_at_ms: 1_770_000_000_000 + i as i64,
        payload: payload.into_bytes(),
    }
}

fn report(what: &str, secs: f64, records: usize, bytes: usize, log: &EventLog) {
    let stats = log.stats();
    println!(
        "{what}: {:.0} records/s, {:.1} MB/s of payload, {:.2}s; {} fsyncs, {:.1} MB on disk",
        records as f64 / secs,
        bytes as f64 / secs / 1e6,
        secs,
        stats.fsyncs,
        stats.bytes_on_disk as f64 / 1e6,
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp;
    let base: PathBuf = match std::env::args_os().nth(1) {
        Some(d) => d.into(),
        None => {
            tmp = tempfile::tempdir_in(".")?;
            tmp.path().to_path_buf()
        }
    };
    let batches: Vec<Vec<Record>> = (0..RECORDS / BATCH)
        .map(|b| (b * BATCH..(b + 1) * BATCH).map(event).collect())
        .collect();
    let bytes: usize = batches.iter().flatten().map(|r| r.payload.len()).sum();
    println!(
        "{RECORDS} records, {:.0} bytes average payload, batches of {BATCH}",
        bytes as f64 / RECORDS as f64
    );

    let (log, _) = EventLog::open(&base.join("one-writer"), LogConfig::default())?;
    let start = Instant::now();
    for b in &batches {
        log.append(b)?;
    }
    report(
        "1 appender ",
        start.elapsed().as_secs_f64(),
        RECORDS,
        bytes,
        &log,
    );

    let start = Instant::now();
    let mut n = 0;
    let mut read_bytes = 0;
    for item in log.read_from(LogPosition::default())? {
        let (_, r) = item?;
        n += 1;
        read_bytes += r.payload.len();
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(n, RECORDS);
    println!(
        "read back  : {:.0} records/s, {:.1} MB/s of payload",
        n as f64 / secs,
        read_bytes as f64 / secs / 1e6
    );
    drop(log);

    let (log, _) = EventLog::open(&base.join("four-writers"), LogConfig::default())?;
    let log = Arc::new(log);
    let batches = Arc::new(batches);
    let start = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = Arc::clone(&log);
            let batches = Arc::clone(&batches);
            std::thread::spawn(move || -> Result<(), audex_store::StoreError> {
                for b in batches.iter().skip(t).step_by(4) {
                    log.append(b)?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "appender thread panicked")??;
    }
    report(
        "4 appenders",
        start.elapsed().as_secs_f64(),
        RECORDS,
        bytes,
        &log,
    );
    Ok(())
}
