//! Behaviour of the event log: round trips, positions, recovery, corruption, concurrency.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use audex_store::{
    EventLog, FRAME_TARGET_BYTES, LogConfig, LogPosition, MAX_RECORD_BYTES, Record, StoreError,
};

fn tmp() -> tempfile::TempDir {
    // Under target/: a real disk, so fsync and group commit behave as in production.
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        ..LogConfig::default()
    }
}

/// A JSON-like payload whose content identifies `n` and whose size varies with it.
fn rec(n: u64) -> Record {
    let pad = "x".repeat((n as usize * 37) % 300);
    Record {
        received_at_ms: 1_700_000_000_000 + n as i64,
        payload: format!(r#"{{"type":"track","n":{n},"pad":"{pad}"}}"#).into_bytes(),
    }
}

fn batch(from: u64, len: u64) -> Vec<Record> {
    (from..from + len).map(rec).collect()
}

fn read_all(log: &EventLog, from: LogPosition) -> Vec<Record> {
    log.read_from(from).unwrap().map(|r| r.unwrap().1).collect()
}

fn seg_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("{n:08}.log"))
}

#[test]
fn round_trip_across_several_segments() {
    let dir = tmp();
    let (log, report) = EventLog::open(dir.path(), small_segments()).unwrap();
    assert_eq!(report.records, 0);
    let mut expected = Vec::new();
    let mut last = LogPosition::default();
    for i in 0..150u64 {
        let b = batch(i * 7, 1 + i % 7);
        let pos = log.append(&b).unwrap();
        assert!(pos > last, "positions must grow: {pos} after {last}");
        assert_eq!(pos, log.end());
        last = pos;
        expected.extend(b);
    }
    let stats = log.stats();
    assert!(stats.segments >= 4, "expected rolls, got {stats:?}");
    assert_eq!(stats.records_appended, expected.len() as u64);
    assert_eq!(stats.records, expected.len() as u64);
    assert_eq!(stats.appends, 150);
    let on_disk: u64 = (0..stats.segments)
        .map(|s| fs::metadata(seg_path(dir.path(), s)).unwrap().len())
        .sum();
    assert_eq!(stats.bytes_on_disk, on_disk);
    assert_eq!(read_all(&log, LogPosition::default()), expected);
    drop(log);

    let (log, report) = EventLog::open(dir.path(), small_segments()).unwrap();
    assert_eq!(report.records, expected.len() as u64);
    assert_eq!(report.segments, stats.segments);
    assert_eq!(report.frames, stats.frames);
    assert_eq!(report.truncated_bytes, 0);
    assert_eq!(report.end, last);
    assert_eq!(read_all(&log, LogPosition::default()), expected);
}

#[test]
fn read_from_middle_positions_and_frame_checkpoints() {
    let dir = tmp();
    let (log, _) = EventLog::open(dir.path(), small_segments()).unwrap();
    let mut ends = vec![LogPosition::default()];
    let mut batches = Vec::new();
    for i in 0..60u64 {
        let b = batch(i * 5, 5);
        ends.push(log.append(&b).unwrap());
        batches.push(b);
    }
    // Reading from the end of append k yields exactly the batches after it, even when that
    // position is the end of a sealed segment.
    for (k, &pos) in ends.iter().enumerate() {
        let want: Vec<Record> = batches[k..].concat();
        assert_eq!(read_all(&log, pos), want, "from {pos} (after append {k})");
    }

    // Frame-by-frame reading: each frame's `next` is a checkpoint to resume from.
    let mut reader = log.read_from(LogPosition::default()).unwrap();
    let mut seen = Vec::new();
    let mut checkpoints = Vec::new();
    while let Some(frame) = reader.next_frame() {
        let (at, next, records) = frame.unwrap();
        assert!(at < next);
        seen.extend(records);
        checkpoints.push((next, seen.len()));
    }
    assert_eq!(seen, batches.concat());
    for (next, consumed) in checkpoints {
        assert_eq!(read_all(&log, next), seen[consumed..], "resume at {next}");
    }

    // The iterator reports each record's frame position, which is a valid resume point too.
    let (pos, first) = log.read_from(ends[10]).unwrap().next().unwrap().unwrap();
    assert_eq!(first, batches[10][0]);
    assert_eq!(read_all(&log, pos)[0], batches[10][0]);

    // Bad positions.
    let end = log.end();
    let past = LogPosition {
        segment: end.segment,
        offset: end.offset + 1,
    };
    assert!(matches!(
        log.read_from(past),
        Err(StoreError::InvalidPosition { .. })
    ));
    let mid_frame = LogPosition {
        segment: 0,
        offset: 5,
    };
    let err = log.read_from(mid_frame).err().unwrap();
    assert!(
        matches!(err, StoreError::InvalidPosition { .. }),
        "mid-frame position: {err}"
    );
    let near_end = LogPosition {
        segment: end.segment,
        offset: end.offset - 3,
    };
    assert!(matches!(
        log.read_from(near_end),
        Err(StoreError::InvalidPosition { .. })
    ));
    assert!(read_all(&log, end).is_empty());
}

#[test]
fn empty_log_opens_reads_and_reopens() {
    let dir = tmp();
    let path = dir.path().join("nested/data/log");
    let (log, report) = EventLog::open(&path, LogConfig::default()).unwrap();
    assert_eq!(report.segments, 1);
    assert_eq!(report.frames, 0);
    assert_eq!(report.records, 0);
    assert_eq!(report.truncated_at, None);
    assert_eq!(report.end, LogPosition::default());
    assert!(seg_path(&path, 0).exists());
    assert!(read_all(&log, LogPosition::default()).is_empty());
    let fsyncs = log.stats().fsyncs;
    assert_eq!(log.append(&[]).unwrap(), LogPosition::default());
    assert_eq!(log.stats().fsyncs, fsyncs, "an empty append must not write");
    drop(log);
    let (log, report) = EventLog::open(&path, LogConfig::default()).unwrap();
    assert_eq!(report.segments, 1);
    assert_eq!(report.end, LogPosition::default());
    assert!(read_all(&log, LogPosition::default()).is_empty());
}

#[test]
fn huge_records_round_trip_and_big_batches_split() {
    let dir = tmp();
    let (log, _) = EventLog::open(dir.path(), LogConfig::default()).unwrap();
    let huge = Record {
        received_at_ms: -5,
        payload: (0..FRAME_TARGET_BYTES * 2 + 17)
            .map(|i| (i * 7 % 256) as u8)
            .collect(),
    };
    let small = rec(1);
    let first = vec![small.clone(), huge.clone(), small.clone()];
    log.append(&first).unwrap();
    // A huge record gets a frame of its own.
    assert_eq!(log.stats().frames, 3);

    // Ten 1 MiB records cannot share one 4 MiB frame.
    let big: Vec<Record> = (0..10)
        .map(|i| Record {
            received_at_ms: i,
            payload: vec![b'a' + i as u8; 1 << 20],
        })
        .collect();
    log.append(&big).unwrap();
    let frames_for_big = log.stats().frames - 3;
    assert!(
        (3..=4).contains(&frames_for_big),
        "10 MiB in frames of at most 4 MiB: {frames_for_big} frames"
    );

    let mut reader = log.read_from(LogPosition::default()).unwrap();
    let mut frame_sizes = Vec::new();
    let mut all = Vec::new();
    while let Some(f) = reader.next_frame() {
        let (_, _, records) = f.unwrap();
        frame_sizes.push(records.len());
        all.extend(records);
    }
    assert_eq!(frame_sizes[..3], [1, 1, 1]);
    assert_eq!(all, [first, big].concat());

    let too_big = Record {
        received_at_ms: 0,
        payload: vec![0; MAX_RECORD_BYTES + 1],
    };
    assert!(matches!(
        log.append(&[too_big]),
        Err(StoreError::RecordTooLarge { .. })
    ));
}

/// Builds a log of `appends` single-frame appends; returns the expected records per append
/// and the end position after each.
fn build_log(dir: &Path, appends: u64) -> (Vec<Vec<Record>>, Vec<LogPosition>) {
    let (log, _) = EventLog::open(dir, LogConfig::default()).unwrap();
    let mut batches = Vec::new();
    let mut ends = vec![LogPosition::default()];
    for i in 0..appends {
        let b = batch(i * 3, 3);
        ends.push(log.append(&b).unwrap());
        batches.push(b);
    }
    (batches, ends)
}

fn assert_recovers_to(
    dir: &Path,
    want: &[Record],
    want_end: LogPosition,
    torn: u64,
    context: &str,
) {
    let (log, report) = EventLog::open(dir, LogConfig::default())
        .unwrap_or_else(|e| panic!("{context}: reopen failed: {e}"));
    assert_eq!(report.truncated_bytes, torn, "{context}");
    let want_at = (torn > 0).then_some(want_end);
    assert_eq!(report.truncated_at, want_at, "{context}");
    assert_eq!(report.end, want_end, "{context}");
    assert_eq!(report.records, want.len() as u64, "{context}");
    assert_eq!(read_all(&log, LogPosition::default()), want, "{context}");
}

#[test]
fn torn_tail_at_every_offset_of_the_last_frame_is_cut_off() {
    let dir = tmp();
    let (batches, ends) = build_log(dir.path(), 4);
    let seg = seg_path(dir.path(), 0);
    let full = fs::read(&seg).unwrap();
    let last_start = ends[3];
    let before: Vec<Record> = batches[..3].concat();
    assert_eq!(full.len() as u64, ends[4].offset);

    for cut in last_start.offset as usize..full.len() {
        fs::write(&seg, &full[..cut]).unwrap();
        let torn = cut as u64 - last_start.offset;
        let context = format!("cut at {cut}");
        assert_recovers_to(dir.path(), &before, last_start, torn, &context);
        assert_eq!(fs::metadata(&seg).unwrap().len(), last_start.offset);
        // A second open finds a clean log.
        assert_recovers_to(dir.path(), &before, last_start, 0, &context);
    }

    // Appending after a recovery works and lands right after the surviving frames.
    let (log, _) = EventLog::open(dir.path(), LogConfig::default()).unwrap();
    let more = batch(1000, 4);
    let end = log.append(&more).unwrap();
    assert!(end > last_start);
    assert_eq!(
        read_all(&log, LogPosition::default()),
        [before, more].concat()
    );
}

#[test]
fn garbage_or_a_damaged_last_frame_at_the_end_is_a_torn_tail() {
    let dir = tmp();
    let (batches, ends) = build_log(dir.path(), 5);
    let seg = seg_path(dir.path(), 0);
    let full = fs::read(&seg).unwrap();
    let all: Vec<Record> = batches.concat();
    let end = ends[5];

    let mut header_then_junk = b"AXF1".to_vec();
    header_then_junk.extend_from_slice(&[7u8; 40]);
    let second_frame = full[ends[1].offset as usize..ends[2].offset as usize].to_vec();
    let tails: Vec<(&str, Vec<u8>)> = vec![
        ("zeros", vec![0u8; 4096]),
        ("one byte", vec![0xff]),
        ("magic and junk", header_then_junk),
        (
            "partial copy of a frame",
            second_frame[..second_frame.len() - 1].to_vec(),
        ),
        (
            "pseudo-random",
            (0..999u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
    ];
    for (name, tail) in tails {
        fs::write(&seg, [&full[..], &tail[..]].concat()).unwrap();
        assert_recovers_to(dir.path(), &all, end, tail.len() as u64, name);
        assert_eq!(fs::read(&seg).unwrap(), full, "{name}");
    }

    // A bit flip inside the last frame, with nothing valid after it, is a torn write too.
    let last_start = ends[4].offset as usize;
    for at in [last_start, last_start + 10, last_start + 30, full.len() - 1] {
        let mut bad = full.clone();
        bad[at] ^= 0x40;
        fs::write(&seg, &bad).unwrap();
        let torn = (full.len() - last_start) as u64;
        let context = format!("flip at {at}");
        assert_recovers_to(dir.path(), &batches[..4].concat(), ends[4], torn, &context);
    }
}

#[test]
fn a_bad_frame_followed_by_valid_data_is_corruption() {
    let dir = tmp();
    let (_, ends) = build_log(dir.path(), 5);
    let seg = seg_path(dir.path(), 0);
    let full = fs::read(&seg).unwrap();
    let victim = ends[2].offset as usize; // start of the third frame
    let victim_len = ends[3].offset as usize - victim;
    // Magic, a header field, the header CRC, the body, the body CRC.
    for delta in [0, 5, 17, 25, victim_len - 1] {
        let mut bad = full.clone();
        bad[victim + delta] ^= 0x01;
        fs::write(&seg, &bad).unwrap();
        let err = EventLog::open(dir.path(), LogConfig::default())
            .err()
            .unwrap_or_else(|| panic!("flip at +{delta} was not detected"));
        match &err {
            StoreError::Corrupt {
                segment, offset, ..
            } => {
                assert_eq!((*segment, *offset), (0, victim as u64), "{err}");
            }
            other => panic!("expected Corrupt, got {other}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("00000000.log"), "{msg}");
        assert!(msg.contains(&format!("offset {victim}")), "{msg}");
        // Nothing was cut off: the data stays for an operator to inspect.
        assert_eq!(fs::read(&seg).unwrap(), bad);
    }
}

#[test]
fn damage_in_a_sealed_segment_is_corruption_even_at_its_end() {
    let dir = tmp();
    let (log, _) = EventLog::open(dir.path(), small_segments()).unwrap();
    for i in 0..200 {
        log.append(&batch(i * 4, 4)).unwrap();
    }
    assert!(log.stats().segments >= 3);
    drop(log);
    let seg1 = seg_path(dir.path(), 1);
    let good = fs::read(&seg1).unwrap();

    // Torn end of a non-last segment.
    fs::write(&seg1, &good[..good.len() - 3]).unwrap();
    let err = EventLog::open(dir.path(), small_segments()).err().unwrap();
    assert!(
        matches!(err, StoreError::Corrupt { segment: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("00000001.log"), "{err}");

    // Missing segment in the middle.
    fs::write(&seg1, &good).unwrap();
    EventLog::open(dir.path(), small_segments()).unwrap();
    fs::remove_file(&seg1).unwrap();
    let err = EventLog::open(dir.path(), small_segments()).err().unwrap();
    assert!(
        matches!(err, StoreError::Corrupt { segment: 1, .. }),
        "{err}"
    );
}

#[test]
fn concurrent_appends_are_group_committed_and_all_present_once() {
    const THREADS: u64 = 8;
    const APPENDS: u64 = 100;
    const PER: u64 = 10;
    let dir = tmp();
    let (log, _) = EventLog::open(dir.path(), LogConfig::default()).unwrap();
    let log = Arc::new(log);
    let fsyncs_before = log.stats().fsyncs;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut last = LogPosition::default();
                for a in 0..APPENDS {
                    let first = (t * APPENDS + a) * PER;
                    let pos = log.append(&batch(first, PER)).unwrap();
                    assert!(pos > last);
                    assert!(pos <= log.end(), "acknowledged past the durable end");
                    last = pos;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let stats = log.stats();
    let calls = THREADS * APPENDS;
    assert_eq!(stats.appends, calls);
    assert_eq!(stats.records_appended, calls * PER);
    let fsyncs = stats.fsyncs - fsyncs_before;
    eprintln!("{fsyncs} fsyncs for {calls} concurrent appends");
    assert_eq!(fsyncs, stats.group_commits);
    assert!(
        fsyncs < calls,
        "group commit should batch: {fsyncs} fsyncs for {calls} appends"
    );

    let mut seen = HashSet::new();
    let mut last_per_thread = vec![None::<u64>; THREADS as usize];
    for item in log.read_from(LogPosition::default()).unwrap() {
        let (_, r) = item.unwrap();
        let n = (r.received_at_ms - 1_700_000_000_000) as u64;
        assert_eq!(r, rec(n));
        assert!(seen.insert(n), "record {n} stored twice");
        // Each thread's records appear in the order it appended them.
        let t = (n / PER / APPENDS) as usize;
        if let Some(prev) = last_per_thread[t] {
            assert!(n > prev, "thread {t}: {n} after {prev}");
        }
        last_per_thread[t] = Some(n);
    }
    assert_eq!(seen.len() as u64, calls * PER);
}

#[test]
fn handles_are_shareable_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<EventLog>();
    send::<audex_store::LogReader>();
    send_sync::<StoreError>();
}

#[test]
fn a_log_can_be_open_only_once() {
    let dir = tmp();
    let (log, _) = EventLog::open(dir.path(), LogConfig::default()).unwrap();
    let err = EventLog::open(dir.path(), LogConfig::default())
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    drop(log);
    EventLog::open(dir.path(), LogConfig::default()).unwrap();
}

#[test]
fn invalid_config_is_rejected() {
    let dir = tmp();
    let bad = LogConfig {
        segment_bytes: 0,
        ..LogConfig::default()
    };
    assert!(matches!(
        EventLog::open(dir.path(), bad),
        Err(StoreError::InvalidConfig(_))
    ));
    let bad = LogConfig {
        zstd_level: 99,
        ..LogConfig::default()
    };
    assert!(matches!(
        EventLog::open(dir.path(), bad),
        Err(StoreError::InvalidConfig(_))
    ));
}
