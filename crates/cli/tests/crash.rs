//! Crash test: a child `audex import - --ack` ingests a stream of events and is killed with
//! SIGKILL at random points, 20 times. Every event whose acknowledgement reached us must be in
//! the log after restart, and no event may be stored twice (each round re-sends everything,
//! so idempotency on `messageId` is exercised across crashes too).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use audex_engine::{Engine, EngineOptions};
use rand::{Rng, SeedableRng};

/// Round r sends events 0..(r + 1) * PER_ROUND: the already-stored ones again (duplicates)
/// and new ones, so every round has unacknowledged events in flight when the kill lands.
const PER_ROUND: usize = 400;
const ROUNDS: usize = 20;

fn event_line(i: usize) -> String {
    format!(
        r#"{{"type":"track","event":"Product Viewed","anonymousId":"a{}","messageId":"crash-{i}","timestamp":"2026-11-20T10:00:00.000Z","properties":{{"product_id":"p{}","price":{}.5,"filler":"{}"}}}}"#,
        i % 97,
        i % 13,
        i % 50,
        "x".repeat(200 + i % 300)
    )
}

#[test]
fn acknowledged_events_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut acked_prefix = 0usize; // events 0..acked_prefix were acknowledged at least once
    let mut kills = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_audex"))
            .args(["--data"])
            .arg(&data)
            .args([
                "import",
                "-",
                "--ack",
                "--no-snapshot",
                "--allow-rejects",
                "--chunk-lines",
                "64",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn audex");
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let acked = Arc::new(AtomicU64::new(0));
        let acked_reader = acked.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("acked ")
                    && let Ok(n) = n.trim().parse::<u64>()
                {
                    acked_reader.fetch_max(n, Ordering::SeqCst);
                }
            }
        });
        let piece: usize = rng.random_range(20..200);
        let events = (round + 1) * PER_ROUND;
        // The writer keeps stdin open after its last event until the kill, so the child never
        // ends by itself: every round ends in a SIGKILL, mid-stream or while idle.
        let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let killed_writer = killed.clone();
        let writer = std::thread::spawn(move || {
            let mut i = 0;
            while i < events {
                let mut buf = String::new();
                for j in i..(i + piece).min(events) {
                    buf.push_str(&event_line(j));
                    buf.push('\n');
                }
                if stdin.write_all(buf.as_bytes()).is_err() {
                    return; // child killed
                }
                let _ = stdin.flush();
                i += piece;
                std::thread::sleep(Duration::from_millis(2));
            }
            while !killed_writer.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let delay = rng.random_range(30..500);
        std::thread::sleep(Duration::from_millis(delay));
        let finished = matches!(child.try_wait(), Ok(Some(_)));
        if !finished {
            child.kill().expect("SIGKILL"); // std sends SIGKILL on unix
            kills += 1;
        }
        killed.store(true, Ordering::SeqCst);
        let _ = child.wait();
        let _ = writer.join();
        let _ = reader.join();
        let n = acked.load(Ordering::SeqCst) as usize;
        acked_prefix = acked_prefix.max(n);
        eprintln!("round {round}: killed after {delay} ms, {n} acknowledged");
    }
    assert_eq!(kills, ROUNDS, "every round must end in a kill");
    assert!(acked_prefix > 0, "some events must have been acknowledged");

    // Restart and check the log and the derived state.
    let engine = Engine::open(&data, EngineOptions::default()).unwrap();
    let adv = engine.advertiser("default").unwrap();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for r in adv.read_log().unwrap() {
        let (_, rec) = r.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&rec.payload).unwrap();
        *seen
            .entry(v["messageId"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for i in 0..acked_prefix {
        assert_eq!(
            seen.get(&format!("crash-{i}")),
            Some(&1),
            "acknowledged event {i} missing or doubled"
        );
    }
    assert!(seen.values().all(|&c| c == 1), "an event was stored twice");
    assert_eq!(adv.state().unwrap().events, seen.len() as u64);
}
