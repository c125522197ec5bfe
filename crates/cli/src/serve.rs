//! `audex serve`: the HTTP server, optionally on a freshly simulated demo shop.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

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
        audex_server::serve(engine.clone(), args.addr, shutdown, |addr| {
            eprintln!("audex listening on http://{addr}");
        })
        .await
    })?;
    Ok(0)
}
