//! `audex geoip`: the MaxMind DB files events without a device location are located with.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use audex_geoip::{DbInfo, GeoIp};
use clap::Subcommand;
use serde_json::json;

use crate::Cli;
use crate::commands::open_engine;

#[derive(Subcommand)]
pub enum GeoipCommand {
    /// Validate a MaxMind DB (GeoIP2/GeoLite2 City or Country, .mmdb) and install a copy: events
    /// received from now on that carry `context.ip` but no `context.location` are located with
    /// it. Earlier events keep the database of their time, so a replay gives the same result.
    /// Takes the data directory's lock (stop `audex serve` first).
    Install {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The installed databases, oldest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Locate an address with the newest installed database.
    Lookup {
        ip: String,
        #[arg(long)]
        json: bool,
    },
}

fn info_json(i: &DbInfo) -> serde_json::Value {
    json!({
        "path": i.path,
        "installed_ms": i.installed_ms,
        "database_type": i.database_type,
        "build_epoch": i.build_epoch,
        "ip_version": i.ip_version,
        "node_count": i.node_count,
    })
}

fn info_line(i: &DbInfo) -> String {
    let built = chrono::DateTime::from_timestamp(i.build_epoch as i64, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "?".into());
    let installed = chrono::DateTime::from_timestamp_millis(i.installed_ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "?".into());
    format!(
        "{}  {} (built {built}, IPv{}, {} nodes), in use from {installed}",
        i.path.display(),
        i.database_type,
        i.ip_version,
        i.node_count
    )
}

pub fn run(cli: &Cli, command: &GeoipCommand) -> Result<i32> {
    match command {
        GeoipCommand::Install { file, json } => {
            // Holding the engine makes sure no running server ingests while the set changes.
            let engine = open_engine(cli)?;
            let db = GeoIp::install(engine.dir(), file, audex_engine::now_ms())?;
            if *json {
                println!("{}", info_json(db.info()));
            } else {
                println!("installed {}", info_line(db.info()));
            }
            Ok(0)
        }
        GeoipCommand::List { json } => {
            let geo = GeoIp::load(&cli.data)?;
            let infos: Vec<_> = geo.installed().map(|d| d.info().clone()).collect();
            if *json {
                let list: Vec<_> = infos.iter().map(info_json).collect();
                println!("{}", serde_json::Value::Array(list));
            } else if infos.is_empty() {
                println!(
                    "no GeoIP database installed: events are located only by context.location"
                );
            } else {
                for i in &infos {
                    println!("{}", info_line(i));
                }
            }
            Ok(0)
        }
        GeoipCommand::Lookup { ip, json } => {
            let addr: IpAddr = ip
                .trim()
                .parse()
                .with_context(|| format!("{ip:?} is not an IP address"))?;
            let geo = GeoIp::load(&cli.data)?;
            let db = geo
                .newest()
                .context("no GeoIP database installed (audex geoip install GeoLite2-City.mmdb)")?;
            let place = db.locate(addr)?;
            if *json {
                println!("{}", serde_json::to_value(&place)?);
            } else {
                match place {
                    None => println!("{addr}: not in {}", db.info().database_type),
                    Some(p) => {
                        let loc = match (p.location, p.raw_location) {
                            (Some((lat, lon)), _) => format!("{lat:.4}, {lon:.4}"),
                            (None, Some((lat, lon))) => format!(
                                "{lat:.4}, {lon:.4} too coarse to use (over {} km)",
                                audex_geoip::MAX_ACCURACY_KM
                            ),
                            (None, None) => "no coordinates".into(),
                        };
                        println!(
                            "{addr}: {}{} ({}), accuracy {} — network {}",
                            p.city
                                .as_deref()
                                .map(|c| format!("{c}, "))
                                .unwrap_or_default(),
                            p.country.as_deref().unwrap_or("?"),
                            loc,
                            p.accuracy_km.map_or("?".into(), |a| format!("{a} km")),
                            p.network
                        );
                    }
                }
            }
            Ok(0)
        }
    }
}
