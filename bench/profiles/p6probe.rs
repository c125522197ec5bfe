//! P6 probe (bench/profiles/p6-memory.txt): where the loaded state's bytes go, by part.
//! A one-off program, not a workspace member. To run it, put it in a scratch package:
//!
//!   [package] name = "p6probe", edition = "2024"
//!   [dependencies] audex-engine / audex-profile / audex-index = { path = "<repo>/crates/…" }
//!                  mimalloc = { version = "0.1.52", default-features = false }
//!
//! copy <repo>/Cargo.lock beside it, `cargo build --release`, then
//!   MIMALLOC_PURGE_DELAY=0 p6probe <data dir> <taxonomy file>
//! The dedup set's bytes are computed from hashbrown's layout (buckets = next power of two of
//! capacity × 8/7; 8 bytes per bucket + 1 control byte).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use audex_engine::{Engine, EngineOptions};
use std::path::PathBuf;

fn rss_kb() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let get = |k: &str| s.lines().find(|l| l.starts_with(k)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0);
    (get("VmRSS:"), get("VmHWM:"))
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("data dir"));
    let tax = std::env::args().nth(2).map(PathBuf::from);
    let engine = Engine::open(&dir, EngineOptions { taxonomy: tax }).expect("open");
    let adv = engine.advertiser("default").expect("advertiser");
    let (rss0, hwm0) = rss_kb();
    let st = adv.state().unwrap();
    let ps = &st.profiles;
    let people = ps.people() as f64;
    let n = ps.profiles.len();
    let sz = std::mem::size_of::<audex_profile::profile::Profile>();
    let (mut ent, mut ent_cap, mut rev, mut ads, mut seas, mut traits, mut nonempty) = (0usize, 0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
    for p in &ps.profiles {
        ent += p.entries.len();
        ent_cap += p.entries.capacity();
        rev += p.revenue.capacity() * 16;
        ads += p.ads.capacity() * std::mem::size_of::<audex_profile::profile::AdStat>();
        seas += p.seasons.capacity() * 2;
        traits += p.traits.capacity() * std::mem::size_of::<(u32, audex_profile::Scalar)>();
        if p.events > 0 { nonempty += 1; }
    }
    let heap = ps.heap_bytes();
    let seen_len = st.seen.len();
    let seen_cap = st.seen.capacity();
    // hashbrown: buckets = next_pow2(cap * 8 / 7); bytes = buckets * (8 + 1) + group width
    let buckets = ((seen_cap as f64 * 8.0 / 7.0).ceil() as usize).next_power_of_two();
    let seen_bytes = buckets * 9 + 16;
    let idx_bytes = adv.with_context(|_, index| Ok(index.heap_bytes())).unwrap();
    let (rss1, hwm1) = rss_kb();
    let pp = |b: usize| b as f64 / people;
    println!("people {} profiles_vec_len {} nonempty {} events {}", people, n, nonempty, st.events);
    println!("size_of::<Profile>() {} B -> {:.1} B/person (vec len {} x size)", sz, pp(n * sz), n);
    println!("entries: {} entries ({:.1}/person), capacity {} -> {:.1} B/person (8 B each)", ent, ent as f64 / people, ent_cap, pp(ent_cap * 8));
    println!("revenue {:.1} B/person, ads {:.1}, seasons {:.1}, traits {:.1} (size_of AdStat {}, trait {})", pp(rev), pp(ads), pp(seas), pp(traits), std::mem::size_of::<audex_profile::profile::AdStat>(), std::mem::size_of::<(u32, audex_profile::Scalar)>());
    println!("heap_bytes(): profiles {:.1} B/person, identity {:.1}, dictionaries {:.1} ({} propsets)", pp(heap.profiles), pp(heap.identity), pp(heap.dictionaries), ps.propsets.len());
    println!("identity person ids {}", ps.identity.len());
    println!("dedup set: {} entries, capacity {}, ~{} buckets -> {:.1} MB = {:.1} B/person", seen_len, seen_cap, buckets, seen_bytes as f64 / 1e6, pp(seen_bytes));
    println!("bitmap index heap_bytes {:.1} MB = {:.1} B/person", idx_bytes as f64 / 1e6, pp(idx_bytes));
    println!("RSS after open {} KB (HWM {}), after index {} KB (HWM {}) -> {:.1} / {:.1} B/person", rss0, hwm0, rss1, hwm1, pp(rss0 as usize * 1024), pp(rss1 as usize * 1024));
    let acc = heap.total() + seen_bytes;
    println!("accounted (profiles+identity+dicts+dedup) {:.1} B/person of RSS-after-open {:.1}", pp(acc), pp(rss0 as usize * 1024));
}
