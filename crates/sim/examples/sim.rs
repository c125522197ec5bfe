//! Runs the simulator and reports throughput.
//!
//! ```text
//! cargo run --release -p audex-sim --example sim -- --people 100000 --out /tmp/sim \
//!     [--days 120] [--seed 42] [--products N] [--taxonomy PATH] [--sink null]
//! ```
//!
//! `--sink null` generates everything but discards the bytes, to measure generation alone.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), Box<dyn std::error::Error>> {
    let mut people: u64 = 10_000;
    let mut out: Option<PathBuf> = None;
    let mut days = audex_sim::DEFAULT_DAYS;
    let mut seed = audex_sim::DEFAULT_SEED;
    let mut products = 0u32;
    let mut null_sink = false;
    let mut taxonomy = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt"
    ));
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--people" => people = value()?.parse()?,
            "--out" => out = Some(value()?.into()),
            "--days" => days = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            "--products" => products = value()?.parse()?,
            "--taxonomy" => taxonomy = value()?.into(),
            "--sink" => null_sink = value()? == "null",
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    let mut config = audex_sim::SimConfig::new(people, out, taxonomy);
    config.days = days;
    config.seed = seed;
    if products > 0 {
        config.products = products;
    }
    let start = Instant::now();
    let summary = if null_sink {
        let (mut c, mut e, mut t) = (std::io::sink(), std::io::sink(), std::io::sink());
        let sinks = audex_sim::Sinks {
            catalog: &mut c,
            events: &mut e,
            truth: &mut t,
        };
        audex_sim::run_to_writers(&config, &|_done| {}, sinks)?
    } else {
        audex_sim::run(&config, &|_done| {})?
    };
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} people, {} events, {} products, {:.1} MB in {:.2} s: {:.0} events/s, {:.0} MB/s, {:.1} events/person",
        summary.people,
        summary.events,
        summary.products,
        summary.bytes_written as f64 / 1e6,
        secs,
        summary.events as f64 / secs,
        summary.bytes_written as f64 / 1e6 / secs,
        summary.events as f64 / summary.people.max(1) as f64,
    );
    println!("event mix per 1000 people:");
    for (name, n) in &summary.event_counts {
        println!(
            "  {:<24} {:>10.0}",
            name,
            *n as f64 * 1000.0 / summary.people.max(1) as f64
        );
    }
    Ok(())
}
