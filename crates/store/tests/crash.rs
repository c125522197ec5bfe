//! Crash test: a child process appends from several threads and prints an `ack` line after
//! each append returns; the parent SIGKILLs it at random moments (and sometimes also cuts
//! the unacknowledged end of the log, as a power loss would), reopens the log and checks that
//! every acknowledged record is there exactly once.
//!
//! The child is this test binary itself, re-run with `AUDEX_STORE_CRASH_CHILD=<dir>` on the
//! ignored test `crash_child_writer`.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use audex_store::{EventLog, LogConfig, LogPosition, Record};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CHILD_ENV: &str = "AUDEX_STORE_CRASH_CHILD";
const BASE_ENV: &str = "AUDEX_STORE_CRASH_BASE";
const THREADS: u64 = 4;
const ROUNDS: u64 = 20;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 64 << 10,
        ..LogConfig::default()
    }
}

fn record(n: u64) -> Record {
    Record {
        received_at_ms: n as i64,
        payload: format!(r#"{{"event":"Product Viewed","n":{n}}}"#).into_bytes(),
    }
}

/// The child's writer loop. Does nothing unless started by the parent test.
#[test]
#[ignore = "child process of crash_kill_and_recover_keeps_every_acknowledged_record"]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let base: u64 = std::env::var(BASE_ENV).unwrap().parse().unwrap();
    let (log, _) = EventLog::open(Path::new(&dir), config()).unwrap();
    let log = Arc::new(log);
    println!("ready");
    let deadline = Instant::now() + Duration::from_secs(30);
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut next = base + t * 100_000_000;
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let len = 1 + (i * 7 + t) % 40;
                    let records: Vec<Record> = (next..next + len).map(record).collect();
                    let pos = log.append(&records).unwrap();
                    let mut out = std::io::stdout().lock();
                    let line =
                        format!("ack {next} {} {} {}\n", next + len, pos.segment, pos.offset);
                    if out
                        .write_all(line.as_bytes())
                        .and_then(|()| out.flush())
                        .is_err()
                    {
                        return; // parent is gone
                    }
                    next += len;
                    i += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

struct Ack {
    range: std::ops::Range<u64>,
    pos: LogPosition,
}

/// Runs one child until killed after `delay`; returns its acknowledgements.
fn run_child(dir: &Path, base: u64, delay: Duration) -> Vec<Ack> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "crash_child_writer",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .env(BASE_ENV, base.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "child exited before it was ready");
        if line.ends_with("ready\n") {
            break;
        }
    }
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();

    let mut acks = Vec::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        // A line without its newline was cut by the kill; it acknowledges nothing.
        let Some(body) = line.strip_suffix('\n').and_then(|l| l.strip_prefix("ack ")) else {
            continue;
        };
        let f: Vec<u64> = body.split(' ').map(|x| x.parse().unwrap()).collect();
        acks.push(Ack {
            range: f[0]..f[1],
            pos: LogPosition {
                segment: f[2] as u32,
                offset: f[3],
            },
        });
    }
    acks
}

fn last_segment(dir: &Path) -> (u32, PathBuf) {
    let n = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".log")?.parse::<u32>().ok()
        })
        .max()
        .unwrap();
    (n, dir.join(format!("{n:08}.log")))
}

/// Simulates losing unsynced data on power loss: cuts the last segment somewhere after
/// everything acknowledged, and sometimes leaves junk there.
fn tear_unacknowledged_tail(dir: &Path, acked_end: LogPosition, rng: &mut StdRng) {
    let (n, path) = last_segment(dir);
    let len = fs::metadata(&path).unwrap().len();
    let keep_from = if n == acked_end.segment {
        acked_end.offset
    } else {
        0
    };
    assert!(keep_from <= len, "acknowledged data beyond the file end");
    let cut = rng.random_range(keep_from..=len);
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(cut).unwrap();
    if rng.random_bool(0.5) {
        let junk: Vec<u8> = (0..rng.random_range(1..200))
            .map(|_| rng.random())
            .collect();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&junk).unwrap();
    }
}

#[test]
fn crash_kill_and_recover_keeps_every_acknowledged_record() {
    let seed = std::env::var("AUDEX_STORE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test seed: {seed} (AUDEX_STORE_CRASH_SEED to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut acked: Vec<std::ops::Range<u64>> = Vec::new();
    let mut acked_end = LogPosition::default();
    let mut rounds_with_acks = 0;
    let mut truncations = 0;

    for round in 0..ROUNDS {
        let delay = Duration::from_millis(rng.random_range(0..120));
        let acks = run_child(dir.path(), (round + 1) * 1_000_000_000, delay);
        if !acks.is_empty() {
            rounds_with_acks += 1;
        }
        for a in acks {
            acked_end = acked_end.max(a.pos);
            acked.push(a.range);
        }
        if round % 3 == 2 {
            tear_unacknowledged_tail(dir.path(), acked_end, &mut rng);
        }

        let (log, report) = EventLog::open(dir.path(), config())
            .unwrap_or_else(|e| panic!("round {round}: reopen failed (seed {seed}): {e}"));
        if report.truncated_bytes > 0 {
            truncations += 1;
        }
        assert!(
            report.end >= acked_end,
            "round {round}: {report:?} < {acked_end}"
        );
        let mut count: HashMap<u64, u32> = HashMap::new();
        for item in log.read_from(LogPosition::default()).unwrap() {
            let (_, r) = item.unwrap();
            let n = r.received_at_ms as u64;
            assert_eq!(r, record(n), "round {round}: record {n} damaged");
            let c = count.entry(n).or_default();
            *c += 1;
            assert_eq!(*c, 1, "round {round}: record {n} stored twice");
        }
        assert_eq!(count.len() as u64, report.records);
        for range in &acked {
            for n in range.clone() {
                assert!(
                    count.contains_key(&n),
                    "round {round}: acknowledged record {n} lost (seed {seed})"
                );
            }
        }
    }
    assert!(
        rounds_with_acks >= ROUNDS / 2,
        "the child acknowledged writes in only {rounds_with_acks} rounds"
    );
    eprintln!(
        "{} acknowledged records over {ROUNDS} kills; {truncations} recoveries cut a torn tail",
        acked.iter().map(|r| r.end - r.start).sum::<u64>()
    );

    let (_, first) = EventLog::open(dir.path(), config()).unwrap();
    assert_eq!(first.truncated_bytes, 0);
    let (log, second) = EventLog::open(dir.path(), config()).unwrap();
    assert_eq!(second, first);
    log.append(&[record(1)]).unwrap();
}
