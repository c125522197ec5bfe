//! The verbs of the `audex` command.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use audex_engine::import::{ImportOptions, ImportReport, import_path};
use audex_engine::{DEFAULT_ADVERTISER, Engine, EngineOptions};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::{Cli, Command};

/// Where the Google Product Taxonomy is looked for when `--taxonomy` is not given.
const TAXONOMY_CANDIDATES: [&str; 2] = [
    "google-product-taxonomy.txt",
    "../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt",
];

#[derive(Args)]
pub struct SimArgs {
    /// Number of people to simulate.
    #[arg(long, default_value_t = 10_000)]
    pub people: u64,
    /// Days of activity, ending yesterday.
    #[arg(long, default_value_t = 120)]
    pub days: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory (events.ndjson, catalog.tsv, truth.ndjson).
    #[arg(long)]
    pub out: PathBuf,
    /// Last simulated day (YYYY-MM-DD); default 2026-11-28 so runs are reproducible.
    #[arg(long)]
    pub end_date: Option<chrono::NaiveDate>,
}

#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 20_000)]
    pub people: u64,
    #[arg(long, default_value_t = 120)]
    pub days: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Args)]
pub struct AdvertiserArg {
    /// Advertiser name or id.
    #[arg(long, default_value = DEFAULT_ADVERTISER)]
    pub advertiser: String,
}

#[derive(Subcommand)]
pub enum AdvertiserCommand {
    /// Register an advertiser and print its keys (the secret is shown only once).
    Create {
        name: String,
        #[arg(long)]
        json: bool,
        /// Fixed offset from UTC at which the advertiser's days begin, like `+09:00` or `-05:00`.
        #[arg(long, default_value = "+00:00", allow_hyphen_values = true)]
        utc_offset: String,
    },
    /// List advertisers.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Issue a new admin client secret (the old one stops working) and print the keys: how to
    /// get credentials for the `default` advertiser, or replace a lost secret.
    RotateSecret {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Import a product feed file.
    Import {
        #[command(flatten)]
        adv: AdvertiserArg,
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum TaxonomyCommand {
    /// Validate a taxonomy file and copy it to DATA/google-product-taxonomy.txt.
    Import { file: PathBuf },
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub adv: AdvertiserArg,
    /// Files to import; `-` for standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Exit 0 even when some events were rejected.
    #[arg(long)]
    pub allow_rejects: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print `acked N` on stdout each time the first N lines are durable (for streaming).
    #[arg(long)]
    pub ack: bool,
    /// Lines per durable chunk.
    #[arg(long, default_value_t = 16_384)]
    pub chunk_lines: usize,
    /// Skip writing a snapshot at the end.
    #[arg(long)]
    pub no_snapshot: bool,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub adv: AdvertiserArg,
    /// The Parquet file to write (replaced if it exists).
    pub file: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum PeopleCommand {
    /// Print one person's profile. IDENTIFIER is a userId, anonymousId, device id, email,
    /// SHA-256 of an email or phone, or `kind:value` (e.g. `anonymous_id:abc`).
    Show {
        #[command(flatten)]
        adv: AdvertiserArg,
        identifier: String,
        #[arg(long)]
        json: bool,
        /// Evaluate windows as of this time (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
    /// Delete people on request (privacy): each leaves every audience and export at once, and
    /// a later event with one of their identifiers starts a new person. Their events stay in
    /// the log until it is erased (`--erase` here, or `audex people erase`).
    Delete {
        #[command(flatten)]
        adv: AdvertiserArg,
        /// Identifiers as `people show` takes them; one person each.
        #[arg(required = true)]
        identifiers: Vec<String>,
        /// Also rewrite the log without the deleted people's events.
        #[arg(long)]
        erase: bool,
        #[arg(long)]
        json: bool,
    },
    /// Rewrite the event log without the events of people deleted so far, so nothing of theirs
    /// stays on disk; every other person keeps their id, audiences and history.
    Erase {
        #[command(flatten)]
        adv: AdvertiserArg,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub adv: AdvertiserArg,
    #[arg(long)]
    pub json: bool,
}

fn find_taxonomy(cli_taxonomy: &Option<PathBuf>, data: &Path) -> Option<PathBuf> {
    if let Some(t) = cli_taxonomy {
        return Some(t.clone());
    }
    if data.join("google-product-taxonomy.txt").exists() {
        return None; // the engine picks it up itself
    }
    TAXONOMY_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Prints an advertiser's keys (the secret is shown only this once).
fn print_credentials(c: &audex_engine::Credentials, json: bool) {
    if json {
        println!(
            "{}",
            json!({"advertiser_id": c.advertiser_id, "name": c.name, "write_key": c.write_key,
                   "client_id": c.client_id, "client_secret": c.client_secret})
        );
    } else {
        println!("advertiser     {} (id {})", c.name, c.advertiser_id);
        println!("write key      {}", c.write_key);
        println!("client id      {}", c.client_id);
        println!(
            "client secret  {}   (shown once; store it now)",
            c.client_secret
        );
    }
}

pub fn open_engine(cli: &Cli) -> Result<Engine> {
    let taxonomy = find_taxonomy(&cli.taxonomy, &cli.data);
    let engine = Engine::open(
        &cli.data,
        EngineOptions {
            taxonomy: taxonomy.clone(),
        },
    )
    .with_context(|| format!("opening data directory {}", cli.data.display()))?;
    // The taxonomy resolves category ids at every evaluation: keep a copy in the data
    // directory (as `audex taxonomy import` does), so later runs from any working directory
    // read categories the same way instead of silently losing subtree matching.
    let kept = cli.data.join("google-product-taxonomy.txt");
    if let Some(found) = taxonomy
        && !kept.exists()
    {
        match std::fs::copy(&found, &kept) {
            Ok(_) => eprintln!(
                "taxonomy {} copied to {} (used from now on)",
                found.display(),
                kept.display()
            ),
            Err(e) => eprintln!(
                "warning: could not copy the taxonomy to {}: {e}",
                kept.display()
            ),
        }
    }
    Ok(engine)
}

pub fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{percent:>3}}% {{msg}} [{{elapsed_precise}} / eta {{eta}}]"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(250));
    pb
}

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match &cli.command {
        Command::Sim(args) => sim(&cli, args).map(|_| 0),
        Command::Demo(args) => demo(&cli, args),
        Command::Advertiser { command } => advertiser(&cli, command),
        Command::Catalog { command } => match command {
            CatalogCommand::Import { adv, file, json } => {
                catalog_import(&cli, &adv.advertiser, file, *json)
            }
        },
        Command::Import(args) => import(&cli, args),
        Command::Export(args) => export(&cli, args),
        Command::People { command } => match command {
            PeopleCommand::Show {
                adv,
                identifier,
                json,
                now,
            } => people_show(&cli, &adv.advertiser, identifier, *json, now.as_deref()),
            PeopleCommand::Delete {
                adv,
                identifiers,
                erase,
                json,
            } => people_delete(&cli, &adv.advertiser, identifiers, *erase, *json),
            PeopleCommand::Erase { adv, json } => {
                let engine = open_engine(&cli)?;
                people_erase(&engine, &adv.advertiser, *json)
            }
        },
        Command::Taxonomy { command } => match command {
            TaxonomyCommand::Import { file } => {
                let t = audex_engine::load_taxonomy(file)?;
                std::fs::create_dir_all(&cli.data)?;
                let dest = cli.data.join("google-product-taxonomy.txt");
                std::fs::copy(file, &dest)
                    .with_context(|| format!("copying to {}", dest.display()))?;
                println!("{} categories → {}", t.len(), dest.display());
                Ok(0)
            }
        },
        Command::Audience { command } => crate::audience::audience(&cli, command),
        Command::List { command } => crate::audience::list(&cli, command),
        Command::Tag { command } => crate::audience::tag(&cli, command),
        Command::Model { command } => crate::model::run(&cli, command),
        Command::Geoip { command } => crate::geoip::run(&cli, command),
        Command::Bench { command } => crate::bench::bench(&cli, command),
        Command::Serve(args) => crate::serve::serve(&cli, args),
        Command::Stats(args) => stats(&cli, &args.adv.advertiser, args.json),
        Command::Snapshot(adv) => {
            let engine = open_engine(&cli)?;
            let a = engine.advertiser(&adv.advertiser)?;
            let t = Instant::now();
            let bytes = a.snapshot()?;
            println!(
                "snapshot of {:?}: {:.1} MB in {:.2}s",
                a.record.name,
                bytes as f64 / 1e6,
                t.elapsed().as_secs_f64()
            );
            Ok(0)
        }
    }
}

pub fn sim(cli: &Cli, args: &SimArgs) -> Result<audex_sim::SimSummary> {
    let taxonomy_path = find_taxonomy(&cli.taxonomy, &cli.data)
        .or_else(|| Some(cli.data.join("google-product-taxonomy.txt")).filter(|p| p.exists()))
        .context("the simulator needs the Google Product Taxonomy: pass --taxonomy FILE (taxonomy-with-ids.en-US.txt from Google Merchant Center) or run `audex taxonomy import FILE`")?;
    let mut config = audex_sim::SimConfig::new(args.people, args.out.clone(), taxonomy_path);
    config.days = args.days;
    config.seed = args.seed;
    if let Some(d) = args.end_date {
        config.end_date = d;
    }
    let pb = bar(args.people, "sim   ");
    let start = Instant::now();
    let summary = audex_sim::run(&config, &|done| pb.set_position(done))?;
    pb.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "sim: {} people, {} events, {} products → {} ({:.1} MB) in {:.1}s ({:.0} events/s)",
        summary.people,
        summary.events,
        summary.products,
        args.out.display(),
        summary.bytes_written as f64 / 1e6,
        secs,
        summary.events as f64 / secs.max(1e-9)
    );
    Ok(summary)
}

fn advertiser(cli: &Cli, command: &AdvertiserCommand) -> Result<i32> {
    let engine = open_engine(cli)?;
    match command {
        AdvertiserCommand::Create {
            name,
            json,
            utc_offset,
        } => print_credentials(
            &engine.create_advertiser(name, parse_offset(utc_offset)?)?,
            *json,
        ),
        AdvertiserCommand::RotateSecret { name, json } => {
            // Opening makes sure `default` exists (it is created on first use).
            engine.advertiser(name)?;
            print_credentials(&engine.rotate_secret(name)?, *json);
        }
        AdvertiserCommand::List { json } => {
            let list = engine.advertisers()?;
            if *json {
                let v: Vec<_> = list
                    .iter()
                    .map(|a| json!({"advertiser_id": a.id, "name": a.name, "write_key": a.write_key, "client_id": a.client_id}))
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                for a in list {
                    println!("{}\t{}\t{}", a.id, a.name, a.write_key);
                }
            }
        }
    }
    Ok(0)
}

/// Parses `+HH:MM` / `-HH:MM` (or `Z`) into minutes.
fn parse_offset(s: &str) -> Result<i32> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("z") || t == "UTC" {
        return Ok(0);
    }
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => bail!("--utc-offset {s:?}: expected +HH:MM or -HH:MM"),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (
        h.parse()
            .with_context(|| format!("--utc-offset {s:?}: bad hours"))?,
        m.parse()
            .with_context(|| format!("--utc-offset {s:?}: bad minutes"))?,
    );
    if !(0..60).contains(&m) {
        bail!("--utc-offset {s:?}: minutes must be 0..59");
    }
    Ok(sign * (h * 60 + m))
}

fn catalog_import(cli: &Cli, advertiser: &str, file: &Path, as_json: bool) -> Result<i32> {
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(advertiser)?;
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let parsed = audex_model::catalog::parse_feed(std::io::BufReader::new(f), engine.taxonomy())
        .with_context(|| format!("reading product feed {}", file.display()))?;
    let rejected = parsed.rejected.len();
    let n = adv.upsert_products(parsed.products)?;
    if as_json {
        println!(
            "{}",
            json!({"products": n, "rejected": parsed.rejected.iter().map(|r| json!({"line": r.line, "column": r.column, "message": r.message})).collect::<Vec<_>>()})
        );
    } else {
        println!("catalog: {n} products imported, {rejected} rows rejected");
        for r in parsed.rejected.iter().take(20) {
            eprintln!(
                "  {}:{}: {}{}",
                file.display(),
                r.line,
                r.column
                    .as_deref()
                    .map(|c| format!("{c}: "))
                    .unwrap_or_default(),
                r.message
            );
        }
    }
    Ok(0)
}

/// Whether `path` names a Parquet file (by its extension).
fn is_parquet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

#[cfg(not(feature = "parquet"))]
const NO_PARQUET: &str = "this audex was built without Parquet support: build it with \
     `cargo build --release -p audex-cli --features parquet`";

#[cfg(feature = "parquet")]
fn import_parquet(
    adv: &audex_engine::Advertiser,
    file: &Path,
    options: &ImportOptions,
    on_progress: &mut dyn FnMut(audex_engine::import::Progress),
) -> Result<ImportReport> {
    let lines = audex_parquet::JsonLines::open(file)?;
    Ok(audex_engine::import::import_reader(
        adv,
        Box::new(lines),
        &file.display().to_string(),
        audex_engine::import::Format::Ndjson,
        options,
        on_progress,
    )?)
}

#[cfg(not(feature = "parquet"))]
fn import_parquet(
    _adv: &audex_engine::Advertiser,
    _file: &Path,
    _options: &ImportOptions,
    _on_progress: &mut dyn FnMut(audex_engine::import::Progress),
) -> Result<ImportReport> {
    bail!(NO_PARQUET)
}

#[cfg(feature = "parquet")]
fn export(cli: &Cli, args: &ExportArgs) -> Result<i32> {
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(&args.adv.advertiser)?;
    let total = adv.log_stats().records;
    let pb = bar(total, "export");
    let t = Instant::now();
    let records = adv.export_records()?;
    let report = audex_parquet::export_events(records, &args.file, &mut |rows| {
        pb.set_position(rows);
    })
    .with_context(|| format!("exporting to {}", args.file.display()))?;
    pb.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    if args.json {
        println!(
            "{}",
            json!({"file": args.file, "rows": report.rows, "skipped": report.skipped,
                   "bytes": report.bytes, "seconds": secs})
        );
    } else {
        println!(
            "{}: {} events ({} no longer valid, left out), {:.1} MB in {:.1}s",
            args.file.display(),
            report.rows,
            report.skipped,
            report.bytes as f64 / 1e6,
            secs
        );
    }
    Ok(0)
}

#[cfg(not(feature = "parquet"))]
fn export(_cli: &Cli, _args: &ExportArgs) -> Result<i32> {
    bail!(NO_PARQUET)
}

fn import(cli: &Cli, args: &ImportArgs) -> Result<i32> {
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(&args.adv.advertiser)?;
    let mut total = ImportReport::default();
    let start = Instant::now();
    for file in &args.files {
        let stdin = file == Path::new("-");
        let len = if stdin {
            0
        } else {
            std::fs::metadata(file)
                .with_context(|| format!("reading {}", file.display()))?
                .len()
        };
        let show_bar = !stdin && !args.ack;
        let pb = if show_bar {
            bar(len, "import")
        } else {
            ProgressBar::hidden()
        };
        let options = ImportOptions {
            chunk_lines: args.chunk_lines,
            flush_when_idle: stdin,
            received_at_ms: None,
        };
        let ack = args.ack;
        let t = Instant::now();
        let parquet = is_parquet(file);
        if parquet {
            // Progress is in events (the file's bytes are compressed columns).
            pb.set_length(0);
            pb.set_style(
                ProgressStyle::with_template("import {spinner} {msg} [{elapsed_precise}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
        }
        let mut on_progress = |p: audex_engine::import::Progress| {
            if ack {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "acked {}", p.lines);
                let _ = out.flush();
            }
            if !parquet {
                pb.set_position(p.bytes);
            }
            pb.set_message(format!(
                "{} events, {:.0}/s",
                p.accepted,
                p.accepted as f64 / t.elapsed().as_secs_f64().max(1e-9)
            ));
        };
        let report = if parquet {
            import_parquet(&adv, file, &options, &mut on_progress)
        } else {
            import_path(&adv, file, &options, &mut on_progress).map_err(anyhow::Error::from)
        }
        .with_context(|| format!("importing {}", file.display()))?;
        pb.finish_and_clear();
        if !args.json {
            print_import(file, &report);
        }
        for r in &report.rejected.kept {
            if total.rejected.kept.len() < 1000 {
                total.rejected.kept.push(r.clone());
            }
        }
        total.lines += report.lines;
        total.bytes += report.bytes;
        total.accepted += report.accepted;
        total.duplicates += report.duplicates;
        total.rejected.total += report.rejected.total;
    }
    total.seconds = start.elapsed().as_secs_f64();
    adv.compact()?;
    if !adv.definitions()?.audiences.is_empty() {
        adv.refresh_memberships(audex_engine::now_ms(), "event")?;
    }
    if !args.no_snapshot {
        adv.snapshot()?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&total)?);
    }
    if total.rejected.total > 0 && !args.allow_rejects {
        eprintln!(
            "{} events rejected; nothing else was lost. Fix them or pass --allow-rejects.",
            total.rejected.total
        );
        return Ok(1);
    }
    Ok(0)
}

fn print_import(file: &Path, r: &ImportReport) {
    println!(
        "{}: {} lines, {} accepted, {} duplicates, {} rejected in {:.1}s ({:.0} events/s, {:.1} MB/s)",
        file.display(),
        r.lines,
        r.accepted,
        r.duplicates,
        r.rejected.total,
        r.seconds,
        r.accepted as f64 / r.seconds.max(1e-9),
        r.bytes as f64 / 1e6 / r.seconds.max(1e-9)
    );
    for rej in r.rejected.kept.iter().take(20) {
        let batch = if rej.index > 0 {
            format!(" (batch item {})", rej.index)
        } else {
            String::new()
        };
        eprintln!(
            "  {}:{}{}: {}: {}",
            file.display(),
            rej.line,
            batch,
            rej.field,
            rej.message
        );
    }
    if r.rejected.total > 20 {
        eprintln!("  … and {} more", r.rejected.total - 20);
    }
}

pub fn parse_now(now: Option<&str>) -> Result<i64> {
    match now {
        None => Ok(audex_engine::now_ms()),
        Some(s) => Ok(chrono::DateTime::parse_from_rfc3339(s)
            .with_context(|| format!("--now {s:?} is not an RFC 3339 time"))?
            .timestamp_millis()),
    }
}

fn people_show(
    cli: &Cli,
    advertiser: &str,
    identifier: &str,
    as_json: bool,
    now: Option<&str>,
) -> Result<i32> {
    let now_ms = parse_now(now)?;
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(advertiser)?;
    let state = adv.state()?;
    let person = audex_engine::view::find_person(&state.profiles, identifier);
    let Some(person) = person else {
        eprintln!(
            "no person with identifier {identifier:?} in advertiser {:?}",
            adv.record.name
        );
        return Ok(1);
    };
    let Some(view) = audex_engine::view::profile_json(&state.profiles, person, now_ms) else {
        bail!("person {person} has no profile");
    };
    let text = if as_json {
        serde_json::to_string(&view)?
    } else {
        render_profile(&view, engine.taxonomy())
    };
    write_stdout(&text)?;
    Ok(0)
}

fn people_delete(
    cli: &Cli,
    advertiser: &str,
    identifiers: &[String],
    erase: bool,
    as_json: bool,
) -> Result<i32> {
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(advertiser)?;
    let mut missing = 0;
    let mut rows = Vec::new();
    for (identifier, deleted) in identifiers.iter().zip(adv.delete_people(identifiers)?) {
        match deleted {
            Some(d) => {
                if !as_json {
                    println!(
                        "deleted {identifier}: person {}, {} identifiers, left {} audiences",
                        d.person,
                        d.identifiers,
                        d.audiences_left.len()
                    );
                }
                rows.push(json!({"identifier": identifier, "deleted": d}));
            }
            None => {
                missing += 1;
                eprintln!("no person with identifier {identifier:?}");
                rows.push(json!({"identifier": identifier, "deleted": null}));
            }
        }
    }
    adv.persist_deletions()?;
    drop(adv);
    let code = if missing > 0 { 1 } else { 0 };
    if erase {
        let report = erase_log(&engine, advertiser)?;
        if as_json {
            println!("{}", json!({"people": rows, "erased": report}));
        } else {
            print_erase(report.as_ref());
        }
    } else if as_json {
        println!("{}", json!({"people": rows}));
    }
    Ok(code)
}

fn erase_log(
    engine: &audex_engine::Engine,
    advertiser: &str,
) -> Result<Option<audex_engine::erase::EraseReport>> {
    let pb = bar(0, "erase");
    let report = engine.erase_deleted(advertiser, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })?;
    pb.finish_and_clear();
    Ok(report)
}

fn print_erase(report: Option<&audex_engine::erase::EraseReport>) {
    match report {
        None => println!("nothing to erase: no deleted person's events are in the log"),
        Some(r) => println!(
            "erased {} events of {} deleted people ({} kept events rewritten); log {} → {} records, {:.1} → {:.1} MB",
            r.events_erased,
            r.people,
            r.events_rewritten,
            r.records_before,
            r.records_after,
            r.bytes_before as f64 / 1e6,
            r.bytes_after as f64 / 1e6
        ),
    }
}

fn people_erase(engine: &audex_engine::Engine, advertiser: &str, as_json: bool) -> Result<i32> {
    let report = erase_log(engine, advertiser)?;
    if as_json {
        println!("{}", json!({"erased": report}));
    } else {
        print_erase(report.as_ref());
    }
    Ok(0)
}

/// Writes to stdout; a closed pipe (`audex … | head`) ends quietly instead of panicking.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => Ok(other?),
    }
}

/// A person's profile as a few readable lines.
fn render_profile(
    v: &serde_json::Value,
    taxonomy: Option<&audex_model::taxonomy::ProductTaxonomy>,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let str_of = |x: &serde_json::Value| {
        x.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| x.to_string())
    };
    let _ = writeln!(s, "person {}", v["person"]);
    for id in v["identifiers"].as_array().into_iter().flatten() {
        let _ = writeln!(s, "  {:<13} {}", str_of(&id["type"]), str_of(&id["value"]));
    }
    let _ = writeln!(
        s,
        "seen {} → {}, {} events, {} orders, spend {}",
        str_of(&v["first_seen"]),
        str_of(&v["last_seen"]),
        v["events"],
        v["orders"],
        v["spend"]
    );
    let _ = writeln!(
        s,
        "activity            web 7d/30d/90d/540d     app 7d/30d/90d/540d"
    );
    if let Some(act) = v["activity_7_30_90_540_days"].as_object() {
        for (kind, c) in act {
            let fmt = |ch: &str| {
                c[ch]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| format!("{x:>4}"))
                            .collect::<Vec<_>>()
                            .join("")
                    })
                    .unwrap_or_default()
            };
            let _ = writeln!(s, "  {:<22}{}    {}", kind, fmt("web"), fmt("app"));
        }
    }
    let cats: Vec<String> = v["top_categories"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let id = c["id"].as_u64().unwrap_or(0) as u32;
            let name = taxonomy
                .and_then(|t| t.get(id))
                .map(|c| c.path.clone())
                .unwrap_or_else(|| id.to_string());
            format!("{name} ({})", c["count"])
        })
        .collect();
    if !cats.is_empty() {
        let _ = writeln!(s, "categories  {}", cats.join("; "));
    }
    let brands: Vec<String> = v["top_brands"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| format!("{} ({})", str_of(&b["brand"]), b["count"]))
        .collect();
    if !brands.is_empty() {
        let _ = writeln!(s, "brands      {}", brands.join(", "));
    }
    let products: Vec<String> = v["recent_products"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{} {} {}",
                str_of(&p["date"]),
                str_of(&p["event"]),
                str_of(&p["product_id"])
            )
        })
        .collect();
    if !products.is_empty() {
        let _ = writeln!(s, "recent products\n  {}", products.join("\n  "));
    }
    let d = &v["demographics"];
    let _ = writeln!(
        s,
        "demographics gender {}, age {}, income {}",
        str_of(&d["gender"]),
        str_of(&d["age"]),
        str_of(&d["income"])
    );
    if !v["location"].is_null() {
        let _ = writeln!(
            s,
            "location    {}, {} ({}, from the {})",
            v["location"]["lat"],
            v["location"]["lon"],
            str_of(&v["location"]["at"]),
            str_of(&v["location"]["source"])
        );
    }
    if let Some(c) = v["country"].as_str() {
        let _ = writeln!(s, "country     {c}");
    }
    for a in v["ads"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "ads         campaign {}: {} impressions, {} clicks, cost {}",
            str_of(&a["campaign_id"]),
            a["impressions"],
            a["clicks"],
            a["cost"]
        );
    }
    let seasons: Vec<String> = v["seasons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| format!("{} {}", str_of(&x["season"]), x["year"]))
        .collect();
    if !seasons.is_empty() {
        let _ = writeln!(s, "seasons     {}", seasons.join(", "));
    }
    if let Some(t) = v["traits"].as_object().filter(|t| !t.is_empty()) {
        let pairs: Vec<String> = t
            .iter()
            .map(|(k, x)| format!("{k}={}", str_of(x)))
            .collect();
        let _ = writeln!(s, "traits      {}", pairs.join(", "));
    }
    s.trim_end().to_string()
}

fn stats(cli: &Cli, advertiser: &str, as_json: bool) -> Result<i32> {
    let engine = open_engine(cli)?;
    let t = Instant::now();
    let adv = engine.advertiser(advertiser)?;
    let open_secs = t.elapsed().as_secs_f64();
    let state = adv.state()?;
    let people = state.profiles.people();
    let heap = state.profiles.heap_bytes();
    let log = adv.log_stats();
    let per_person = |b: usize| {
        if people > 0 {
            b as f64 / people as f64
        } else {
            0.0
        }
    };
    let v = json!({
        "advertiser": adv.record.name,
        "people": people,
        "person_ids": state.profiles.identity.len(),
        "events": state.events,
        "products": adv.catalog()?.len(),
        "log_bytes": log.bytes_on_disk,
        "log_records": log.records,
        "profile_bytes_per_person": per_person(heap.profiles),
        "identity_bytes_per_person": per_person(heap.identity),
        "dictionary_bytes": heap.dictionaries,
        "dedup_entries": state.seen.len(),
        "open_seconds": open_secs,
        "open": adv.open_report,
    });
    if as_json {
        println!("{v}");
    } else {
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(0)
}

fn demo(cli: &Cli, args: &DemoArgs) -> Result<i32> {
    let out = cli.data.join("demo-input");
    let summary = sim(
        cli,
        &SimArgs {
            people: args.people,
            days: args.days,
            seed: args.seed,
            out: out.clone(),
            end_date: None,
        },
    )?;
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(DEFAULT_ADVERTISER)?;
    let f = std::fs::File::open(out.join("catalog.tsv"))?;
    let feed = audex_model::catalog::parse_feed(std::io::BufReader::new(f), engine.taxonomy())?;
    let products = adv.upsert_products(feed.products)?;
    let events = out.join("events.ndjson");
    let len = std::fs::metadata(&events)?.len();
    let pb = bar(len, "import");
    let report = import_path(&adv, &events, &ImportOptions::default(), &mut |p| {
        pb.set_position(p.bytes)
    })?;
    pb.finish_and_clear();
    adv.compact()?;
    adv.snapshot()?;
    print_import(&events, &report);
    let state = adv.state()?;
    let heap = state.profiles.heap_bytes();
    let people = state.profiles.people().max(1);
    println!(
        "demo shop: {} simulated people, {} products, {} events stored; {} people after identity resolution ({:.0} profile bytes/person)",
        summary.people,
        products,
        state.events,
        state.profiles.people(),
        heap.profiles as f64 / people as f64
    );
    println!(
        "try: audex people show --data {} <userId or anonymousId from {}>",
        cli.data.display(),
        out.join("truth.ndjson").display()
    );
    Ok(0)
}
