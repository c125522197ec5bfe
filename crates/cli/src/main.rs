//! `audex`: the command-line interface (DESIGN.md's command-line contract).

mod audience;
mod bench;
mod commands;
mod geoip;
mod model;
mod model_extra;
mod serve;

/// mimalloc: ingest allocates many small JSON values on several threads; glibc's malloc spent a
/// third of import time in its own locks (perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Audex: a self-hostable audience engine on your own first-party data.
#[derive(Parser)]
#[command(name = "audex", version, about)]
pub struct Cli {
    /// Data directory.
    #[arg(
        long,
        global = true,
        env = "AUDEX_DATA",
        default_value = "./audex-data"
    )]
    pub data: PathBuf,
    /// Google Product Taxonomy file (`ID - A > B > C` lines) used to resolve categories.
    #[arg(long, global = true, env = "AUDEX_TAXONOMY")]
    pub taxonomy: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Generate a simulated shop: events, catalog and hidden ground truth.
    Sim(commands::SimArgs),
    /// Generate a demo shop, import it, and print a summary.
    Demo(commands::DemoArgs),
    /// Manage advertisers (tenants).
    Advertiser {
        #[command(subcommand)]
        command: commands::AdvertiserCommand,
    },
    /// Import a product feed (Google Merchant Center columns, CSV or TSV).
    Catalog {
        #[command(subcommand)]
        command: commands::CatalogCommand,
    },
    /// Import events: Segment NDJSON (plain or .gz), CSV, or Parquet with a `json` column (as
    /// `audex export` writes; needs the `parquet` feature); `-` reads standard input.
    Import(commands::ImportArgs),
    /// Export an advertiser's events to Parquet: typed columns plus each event's exact JSON, for
    /// DuckDB, Spark or pandas, and for `audex import` elsewhere (needs the `parquet` feature).
    Export(commands::ExportArgs),
    /// Inspect people.
    People {
        #[command(subcommand)]
        command: commands::PeopleCommand,
    },
    /// Copy a Google Product Taxonomy file into the data directory.
    Taxonomy {
        #[command(subcommand)]
        command: commands::TaxonomyCommand,
    },
    /// Summary of an advertiser's data: events, people, log, memory.
    Stats(commands::StatsArgs),
    /// Write a snapshot of derived state so the next start replays only newer events.
    Snapshot(commands::AdvertiserArg),
    /// Define audiences and read their members, sizes, overlaps and history.
    Audience {
        #[command(subcommand)]
        command: audience::AudienceCommand,
    },
    /// Contact lists (emails, phones), matched to people by SHA-256 of normalised values.
    List {
        #[command(subcommand)]
        command: audience::ListCommand,
    },
    /// Serve the HTTP API (collector, lookups, audiences, metrics).
    Serve(serve::ServeArgs),
    /// Measure evaluation speed on this data.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Behavioral tags defined by rules.
    Tag {
        #[command(subcommand)]
        command: audience::TagCommand,
    },
    /// Models: lookalike, prospecting, behavioral tags, contextual classification,
    /// recommendations.
    Model {
        #[command(subcommand)]
        command: model::ModelCommand,
    },
    /// IP geolocation: install and inspect MaxMind DB files.
    Geoip {
        #[command(subcommand)]
        command: geoip::GeoipCommand,
    },
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AUDEX_LOG")
                // The server's scheduled work (model refresh) reports at info.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,audex_server=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
