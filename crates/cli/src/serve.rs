//! `audex serve`: the HTTP server, optionally on a freshly simulated demo shop.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use audex_engine::import::{ImportOptions, import_path};
use audex_engine::{DEFAULT_ADVERTISER, Engine};
use clap::Args;

use crate::Cli;
use crate::commands::{SimArgs, bar, open_engine, sim};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Start on a simulated shop with example audiences of every kind (generated on first run).
    #[arg(long)]
    pub demo: bool,
    /// People in the demo shop.
    #[arg(long, default_value_t = 20_000)]
    pub demo_people: u64,
    /// How often model-backed audiences are refreshed while serving — lookalike and
    /// prospecting retrained, behavioral tags inferred again, memberships re-evaluated (what
    /// `audex model refresh` does): `90s`, `30m`, `24h`, `7d`; `0` never.
    #[arg(long, env = "AUDEX_MODEL_REFRESH", default_value = "24h", value_parser = parse_period)]
    pub model_refresh: Duration,
    /// Behind a reverse proxy: take the collector's client address (the `context.ip` given to
    /// events that carry none, for IP geolocation) from the first `X-Forwarded-For` entry
    /// instead of the TCP peer. Only when the proxy sets that header, since clients can too.
    #[arg(long)]
    pub trust_forwarded_for: bool,
}

/// A period: a whole number with a unit (`s`, `m`, `h`, `d`; seconds without one).
pub fn parse_period(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: give a whole number and a unit, e.g. 30m or 24h"))?;
    let seconds = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (use s, m, h or d)"
            ));
        }
    };
    n.checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?}: too long"))
}

/// Example audiences of every kind, for the demo shop.
const DEMO_AUDIENCES: &str = include_str!("demo_audiences.json");

/// Generates, imports and defines the demo shop unless the default advertiser has data.
fn prepare_demo(cli: &Cli, engine: &Engine, people: u64) -> Result<()> {
    let adv = engine.advertiser(DEFAULT_ADVERTISER)?;
    if adv.state()?.events == 0 {
        let out = cli.data.join("demo-input");
        if !out.join("events.ndjson").exists() {
            sim(
                cli,
                &SimArgs {
                    people,
                    days: 120,
                    seed: 42,
                    out: out.clone(),
                    end_date: None,
                },
            )?;
        }
        let f = std::fs::File::open(out.join("catalog.tsv"))?;
        let feed = audex_model::catalog::parse_feed(std::io::BufReader::new(f), engine.taxonomy())?;
        adv.upsert_products(feed.products)?;
        let events = out.join("events.ndjson");
        let pb = bar(std::fs::metadata(&events)?.len(), "import");
        let report = import_path(
            &adv,
            Path::new(&events),
            &ImportOptions::default(),
            &mut |p| pb.set_position(p.bytes),
        )?;
        pb.finish_and_clear();
        eprintln!("demo: imported {} events", report.accepted);
        adv.compact()?;
        adv.snapshot()?;
    }
    if adv.definitions()?.audiences.is_empty() {
        if adv
            .definitions()?
            .tags
            .iter()
            .all(|(n, _)| n != "big_spender")
        {
            adv.set_tag("big_spender", "buying_power in (very_high)")?;
        }
        let defs: serde_json::Value =
            serde_json::from_str(DEMO_AUDIENCES).context("demo audiences")?;
        for d in defs.as_array().into_iter().flatten() {
            let def = audex_rules::AudienceDef::from_json(&d.to_string())
                .map_err(|e| anyhow::anyhow!("demo audience {}: {e}", d["name"]))?;
            adv.create_audience(def)?;
        }
    }
    Ok(())
}

/// Runs the server until Ctrl-C / SIGTERM.
pub fn serve(cli: &Cli, args: &ServeArgs) -> Result<i32> {
    let engine = Arc::new(open_engine(cli)?);
    if args.demo {
        prepare_demo(cli, &engine, args.demo_people)?;
        let creds = engine.rotate_secret(DEFAULT_ADVERTISER)?;
        eprintln!("demo advertiser {:?}", creds.name);
        eprintln!("  write key      {}", creds.write_key);
        eprintln!("  client id      {}", creds.client_id);
        eprintln!("  client secret  {}", creds.client_secret);
    }
    for a in engine.advertisers()? {
        let adv = engine.advertiser(&a.id)?;
        adv.refresh_memberships(audex_engine::now_ms(), "time")?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let shutdown = async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(t) => t,
                        Err(_) => {
                            let _ = ctrl_c.await;
                            return;
                        }
                    };
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
            eprintln!("shutting down: finishing requests, writing snapshots");
        };
        let options = audex_server::ServeOptions {
            model_refresh_every: (!args.model_refresh.is_zero()).then_some(args.model_refresh),
            trust_forwarded_for: args.trust_forwarded_for,
            ..audex_server::ServeOptions::default()
        };
        let refresh = match options.model_refresh_every {
            Some(d) => format!("model-backed audiences refreshed every {}", humane(d)),
            None => "scheduled model refresh off".to_string(),
        };
        audex_server::serve_with(engine.clone(), args.addr, options, shutdown, |addr| {
            eprintln!("audex listening on http://{addr} ({refresh}); console at http://{addr}/");
        })
        .await
    })?;
    Ok(0)
}

/// A period as the largest whole unit (`24h`, `90m`, `45s`).
fn humane(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s > 0 && s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s > 0 && s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s > 0 && s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_with_units() {
        assert_eq!(parse_period("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_period("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_period("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_period("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_period("0"), Ok(Duration::ZERO));
        assert_eq!(parse_period("15"), Ok(Duration::from_secs(15)));
        assert!(parse_period("h").is_err());
        assert!(parse_period("3w").is_err());
        assert!(parse_period("-1h").is_err());
        assert_eq!(humane(Duration::from_secs(86_400)), "1d");
        assert_eq!(humane(Duration::from_secs(5400)), "90m");
    }
}
