//! `audex bench eval`: how fast audiences evaluate on this data — per definition, the
//! set-at-a-time time (median of several runs), the per-person match time, and, with `--probe`,
//! the time from an ingested event to the membership change it causes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use audex_engine::ingest::{InputLine, parse_one};
use audex_rules::Rule;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::Cli;
use crate::commands::{AdvertiserArg, open_engine, parse_now, write_stdout};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Time audience definitions on the advertiser's data.
    Eval(EvalArgs),
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub adv: AdvertiserArg,
    /// JSON file: `{"name": definition, …}` where a definition is rule text, rule JSON or a
    /// typed kind (`{"retargeting": {…}}`).
    #[arg(long)]
    pub defs: PathBuf,
    #[arg(long)]
    pub now: Option<String>,
    /// Set-at-a-time runs per definition (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// People sampled for the per-person time.
    #[arg(long, default_value_t = 20_000)]
    pub sample: u32,
    /// Also measure event → membership latency: saves the definitions as audiences named
    /// `bench-…` and appends probe events (`Bench Probe`) to the log. Use on a copy of the data.
    #[arg(long)]
    pub probe: bool,
    #[arg(long)]
    pub json: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(0.0)
}

/// Runs a bench verb.
pub fn bench(cli: &Cli, command: &BenchCommand) -> Result<i32> {
    let BenchCommand::Eval(args) = command;
    let now = parse_now(args.now.as_deref())?;
    let text = std::fs::read_to_string(&args.defs)
        .with_context(|| format!("reading {}", args.defs.display()))?;
    let defs: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .with_context(|| format!("{} must be a JSON object", args.defs.display()))?;
    let engine = open_engine(cli)?;
    let t = Instant::now();
    let adv = engine.advertiser(&args.adv.advertiser)?;
    let open_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let people = adv.with_context(|ctx, index| Ok((ctx.store.people(), index.live.len())))?;
    let index_s = t.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    let mut compiled: Vec<(String, Rule)> = Vec::new();
    for (name, def) in &defs {
        let (rule_text, json_text) = match def {
            serde_json::Value::String(s) => (Some(s.as_str()), None),
            other => (None, Some(other.to_string())),
        };
        let d =
            audex_engine::audiences::definition_from(name, rule_text, json_text.as_deref(), None)
                .with_context(|| format!("definition {name:?}"))?;
        let rule = d.compile()?;
        let mut times = Vec::with_capacity(args.runs);
        let mut size = 0;
        let cpu_start = process_cpu_ms();
        for _ in 0..args.runs.max(1) {
            let t = Instant::now();
            size = adv.evaluate(&rule, now)?.len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let cpu_ms = match (cpu_start, process_cpu_ms()) {
            (Some(a), Some(b)) => Some((b - a) / args.runs.max(1) as f64),
            _ => None,
        };
        // Per person: a spread sample of person ids.
        let per_person_ns = adv.with_context(|ctx, _| {
            let n = ctx.store.profiles.len() as u32;
            let step = (n / args.sample.max(1)).max(1);
            let t = Instant::now();
            let mut checked = 0u64;
            let mut p = 0;
            while p < n {
                let _ = audex_index::matches(ctx, p, &rule, now)?;
                checked += 1;
                p += step;
            }
            Ok(t.elapsed().as_secs_f64() * 1e9 / checked.max(1) as f64)
        })?;
        rows.push(json!({"name": name, "kind": d.kind.key(), "size": size,
            "set_ms_median": median(times.clone()), "set_ms_min": times.iter().copied().fold(f64::INFINITY, f64::min),
            "per_person_ns": per_person_ns, "cpu_ms": cpu_ms, "rule": rule.to_text()}));
        compiled.push((name.clone(), rule));
    }
    let probe = if args.probe {
        Some(probe_latency(&adv)?)
    } else {
        None
    };
    let report = json!({"people": people.0, "indexed": people.1, "open_s": open_s, "index_build_s": index_s,
        "definitions": rows, "event_to_membership": probe});
    if args.json {
        write_stdout(&report.to_string())?;
    } else {
        let mut out = format!(
            "{} people; open {:.2}s; index build {:.2}s\n{:<28} {:>12} {:>10} {:>10} {:>10} {:>12}\n",
            people.0,
            open_s,
            index_s,
            "definition",
            "size",
            "set ms",
            "min ms",
            "cpu ms",
            "person ns"
        );
        for r in report["definitions"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "{:<28} {:>12} {:>10.2} {:>10.2} {:>10.1} {:>12.0}\n",
                r["name"].as_str().unwrap_or(""),
                r["size"],
                r["set_ms_median"].as_f64().unwrap_or(0.0),
                r["set_ms_min"].as_f64().unwrap_or(0.0),
                r["cpu_ms"].as_f64().unwrap_or(f64::NAN),
                r["per_person_ns"].as_f64().unwrap_or(0.0)
            ));
        }
        if let Some(p) = &report["event_to_membership"].as_object() {
            out.push_str(&format!(
                "event → membership change: p50 {:.2} ms, p99 {:.2} ms over {} probes ({} audiences kept current)\n",
                p["p50_ms"].as_f64().unwrap_or(0.0),
                p["p99_ms"].as_f64().unwrap_or(0.0),
                p["probes"],
                p["audiences"]
            ));
        }
        write_stdout(out.trim_end())?;
    }
    Ok(0)
}

/// Saves a probe audience, then ingests one `Bench Probe` event at a time for different people
/// and times each ingest call until the person's entry is recorded (durable append, apply,
/// index and membership update of every saved audience).
fn probe_latency(adv: &audex_engine::Advertiser) -> Result<serde_json::Value> {
    let name = "bench-probe";
    if adv.definitions()?.audience(name).is_none() {
        let def = audex_engine::audiences::definition_from(
            name,
            Some("event \"Bench Probe\" within 1d"),
            None,
            None,
        )?;
        adv.create_audience(def)?;
    }
    let now = audex_engine::now_ms();
    adv.refresh_memberships(now, "definition")?;
    let audiences = adv.definitions()?.audiences.len();
    let people: Vec<String> = {
        let state = adv.state()?;
        let n = state.profiles.profiles.len() as u32;
        // Identified people, spread over the id space; the probe event names them by userId.
        (0..2000u32)
            .map(|i| i.wrapping_mul(2_654_435_761) % n.max(1))
            .filter_map(|p| {
                state
                    .profiles
                    .identity
                    .ids_of(p)
                    .iter()
                    .find(|i| i.kind == audex_model::event::IdKind::UserId)
                    .map(|i| i.value.clone())
            })
            .take(200)
            .collect()
    };
    let mut times = Vec::new();
    for (i, who) in people.iter().enumerate() {
        let ts = chrono::DateTime::from_timestamp_millis(audex_engine::now_ms())
            .map(|d| d.to_rfc3339())
            .unwrap_or_default();
        let line = json!({"type": "track", "event": "Bench Probe", "userId": who,
            "messageId": format!("bench-probe-{}-{i}", audex_engine::now_ms()), "timestamp": ts});
        let parsed: Vec<_> = parse_one(
            &InputLine {
                line: 0,
                bytes: line.to_string().into_bytes(),
            },
            audex_engine::now_ms(),
            adv.enrichment(),
        )
        .into_iter()
        .filter_map(Result::ok)
        .collect();
        let t = Instant::now();
        adv.ingest(parsed)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let entered = adv
        .history(Some(name))?
        .iter()
        .filter(|t| t.entered && t.cause == "event")
        .count();
    Ok(
        json!({"probes": times.len(), "entered_by_event": entered, "audiences": audiences,
        "p50_ms": percentile(times.clone(), 0.5), "p99_ms": percentile(times, 0.99)}),
    )
}

/// CPU time of this process (all threads, user + system) in ms, from `/proc/self/stat`
/// (Linux; clock ticks of 10 ms, so average it over several runs). `None` elsewhere.
fn process_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10.0)
}
