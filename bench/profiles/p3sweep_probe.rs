//! P3 sweep probe (bench/profiles/p3-sweep.txt): lookup latency in process while membership
//! refreshes run. One thread calls `Advertiser::audiences_of` for random people in a tight loop;
//! another runs `refresh_memberships(now, "time")` ROUNDS times, 300 ms apart. Reports lookups
//! during refreshes and outside them, the longest lookup per refresh, and the refresh durations.
//! A one-off program, not a workspace member. To run it, put it in a scratch package:
//!
//!   [package] name = "sweepprobe", edition = "2024"
//!   [dependencies] audex-engine = { path = "<repo>/crates/engine" }
//!
//! `cargo build --release`, then, on a copy of a data directory with saved audiences
//! (refreshes write history.ndjson and membership.bin):
//!   RAYON_NUM_THREADS=1 sweepprobe <data dir> <taxonomy file> 30
//! (one rayon worker: the refresh and the lookup thread each have a core of the two).
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use audex_engine::{Engine, EngineOptions, now_ms};

fn pct(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[((v.len() as f64 * p / 100.0).ceil() as usize).clamp(1, v.len()) - 1]
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let engine = Engine::open(
        std::path::Path::new(&a[1]),
        EngineOptions { taxonomy: Some(a[2].clone().into()) },
    )
    .unwrap();
    let rounds: usize = a[3].parse().unwrap();
    let adv = engine.advertiser("default").unwrap();
    let t = Instant::now();
    let r = adv.refresh_memberships(now_ms(), "time").unwrap();
    println!("first refresh {:?} {:?}", t.elapsed(), r);
    let n = adv.state().unwrap().profiles.profiles.len() as u32;
    let stop = Arc::new(AtomicBool::new(false));
    let windows: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    let start = Instant::now();
    let look = {
        let (adv, stop) = (adv.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut x = 0x2545_f491_4f6c_dd1du64;
            let mut out = Vec::with_capacity(1 << 22);
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let p = (x % n as u64) as u32;
                let t = Instant::now();
                let _ = adv.audiences_of(p).unwrap();
                out.push((t, t.elapsed().as_nanos() as u64));
            }
            out
        })
    };
    let mut durs = Vec::new();
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..rounds {
        let t0 = Instant::now();
        adv.refresh_memberships(now_ms(), "time").unwrap();
        let t1 = Instant::now();
        durs.push((t1 - t0).as_micros() as u64);
        windows.lock().unwrap().push((t0, t1));
        std::thread::sleep(Duration::from_millis(300));
    }
    stop.store(true, Ordering::Relaxed);
    let samples = look.join().unwrap();
    let w = windows.lock().unwrap().clone();
    let (mut during, mut outside) = (Vec::new(), Vec::new());
    let mut worst = vec![0u64; w.len()];
    for (t, ns) in samples {
        if t < start + Duration::from_millis(400) {
            continue;
        }
        if let Some(i) = w.iter().position(|&(a, b)| t >= a && t <= b) {
            worst[i] = worst[i].max(ns);
            during.push(ns);
        } else {
            outside.push(ns);
        }
    }
    for (name, v) in [("during refreshes", &mut during), ("outside", &mut outside)] {
        let over1 = v.iter().filter(|&&x| x > 1_000_000).count();
        let nn = v.len();
        println!(
            "{name}: {nn} lookups, p50 {} us, p99 {} us, p99.9 {} us, max {} us, over 1 ms {over1}",
            pct(v, 50.0) / 1000,
            pct(v, 99.0) / 1000,
            pct(v, 99.9) / 1000,
            v.last().copied().unwrap_or(0) / 1000,
        );
    }
    worst.sort_unstable();
    println!(
        "longest lookup per refresh: median {} us, max {} us",
        worst[worst.len() / 2] / 1000,
        worst.last().unwrap() / 1000
    );
    durs.sort_unstable();
    println!(
        "refreshes: {} runs, median {} ms, max {} ms",
        durs.len(),
        durs[durs.len() / 2] / 1000,
        durs.last().unwrap() / 1000
    );
}
