//! `audex-sim`: the deterministic shop simulator behind `audex sim`.
//!
//! [`run`] writes three files into [`SimConfig::out`]:
//!
//! * `events.ndjson` — Segment Spec events (`page`, `screen`, `track`, `identify`, `alias`), one
//!   JSON object per line, each person's events in chronological order;
//! * `catalog.tsv` — the product feed, Google Merchant Center columns
//!   `id title brand price product_type google_product_category`;
//! * `truth.ndjson` — one line per person with the hidden ground truth (persona, lifestyles,
//!   life stage, demographics, home location, web/app mix, seasonal habits, identifiers, orders).
//!
//! Output is a pure function of the configuration: every person draws from its own ChaCha8
//! stream keyed by `(seed, person index)`, people are generated in parallel in fixed-size chunks
//! and written in index order, so files are byte-identical whatever the thread count. Memory is
//! bounded by a small window of chunks in flight, so 10M people stream through in constant space.

#![warn(missing_docs)]

mod catalog;
mod iab;
mod out;
mod person;
mod rng;
mod sim;
mod taxonomy;
mod time;
mod world;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

use chrono::{Datelike as _, NaiveDate};
use rayon::prelude::*;

pub use iab::CATTAX;
pub use taxonomy::{GoogleCategory, parse_google_taxonomy, read_google_taxonomy};

/// Default number of simulated days.
pub const DEFAULT_DAYS: u32 = 120;
/// Default seed.
pub const DEFAULT_SEED: u64 = 42;
/// People per generation chunk: the unit of parallel work and of ordered writing.
pub const CHUNK_PEOPLE: u64 = 1024;

/// The default last simulated day, 2026-11-28 (the day after Black Friday 2026).
pub fn default_end_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or(NaiveDate::MIN)
}

/// The default catalog size for a population: `max(500, min(50_000, people / 20))`.
pub fn default_products(people: u64) -> u32 {
    (people / 20).clamp(500, 50_000) as u32
}

/// What to simulate and where to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Number of people.
    pub people: u64,
    /// Number of simulated days, ending with `end_date` (default [`DEFAULT_DAYS`]).
    pub days: u32,
    /// Seed; the same configuration always produces the same bytes (default [`DEFAULT_SEED`]).
    pub seed: u64,
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// Last simulated day (default [`default_end_date`]).
    pub end_date: NaiveDate,
    /// Google Product Taxonomy file (`ID - A > B > C` lines), read at run time.
    pub taxonomy_path: PathBuf,
    /// Number of products; `0` means [`default_products`]`(people)`.
    pub products: u32,
}

impl SimConfig {
    /// A configuration with defaults for everything but the population, output directory and
    /// taxonomy file.
    pub fn new(
        people: u64,
        out: impl Into<PathBuf>,
        taxonomy_path: impl Into<PathBuf>,
    ) -> SimConfig {
        SimConfig {
            people,
            days: DEFAULT_DAYS,
            seed: DEFAULT_SEED,
            out: out.into(),
            end_date: default_end_date(),
            taxonomy_path: taxonomy_path.into(),
            products: default_products(people),
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSummary {
    /// People simulated (lines in `truth.ndjson`).
    pub people: u64,
    /// Events written (lines in `events.ndjson`).
    pub events: u64,
    /// Products in `catalog.tsv`.
    pub products: u32,
    /// Bytes written over all three files.
    pub bytes_written: u64,
    /// Events per kind (`page`, `screen`, `identify`, `alias`, or the `track` event name), in a
    /// fixed order.
    pub event_counts: Vec<(&'static str, u64)>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The taxonomy file is malformed or lacks the categories the shop needs.
    #[error("{}:{line}: {message}", path.display())]
    Taxonomy {
        /// The taxonomy file.
        path: PathBuf,
        /// 1-based line number (0 when not tied to a line).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The configuration cannot be simulated.
    #[error("invalid simulation config: {0}")]
    InvalidConfig(String),
    /// The background writer stopped unexpectedly.
    #[error("{}: writer thread panicked", path.display())]
    WriterPanicked {
        /// The output directory.
        path: PathBuf,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Everything shared, read-only, by all chunks of a run.
pub(crate) struct World {
    pub seed: u64,
    pub end_date: NaiveDate,
    pub calendar: time::Calendar,
    pub catalog: catalog::Catalog,
    pub iab: iab::Iab,
    pub city_weights: Vec<f64>,
    /// Creative ids per campaign.
    pub creatives: Vec<Vec<String>>,
}

impl World {
    fn build(config: &SimConfig) -> Result<World, SimError> {
        if config.days == 0 {
            return Err(SimError::InvalidConfig("days must be at least 1".into()));
        }
        if config.days > 36_600 {
            return Err(SimError::InvalidConfig("days must be at most 36600".into()));
        }
        if !(1900..=9999).contains(&config.end_date.year()) {
            return Err(SimError::InvalidConfig(format!(
                "end date {} out of range",
                config.end_date
            )));
        }
        let taxonomy = read_google_taxonomy(&config.taxonomy_path)?;
        let products = if config.products == 0 {
            default_products(config.people)
        } else {
            config.products
        };
        let mut rng = rng::stream_rng(config.seed, u64::MAX);
        let catalog =
            catalog::Catalog::generate(&taxonomy, products, &mut rng, &config.taxonomy_path)?;
        let iab = iab::Iab::load();
        debug_assert!(
            iab.missing.is_empty(),
            "IAB paths not found: {:?}",
            iab.missing
        );
        let creatives = world::CAMPAIGNS
            .iter()
            .map(|c| {
                let short = c.id.trim_start_matches("cmp_");
                (1..=c.creatives)
                    .map(|k| format!("crv_{short}_{k}"))
                    .collect()
            })
            .collect();
        Ok(World {
            seed: config.seed,
            end_date: config.end_date,
            calendar: time::Calendar::new(config.end_date, config.days),
            catalog,
            iab,
            city_weights: world::CITIES.iter().map(|c| c.weight).collect(),
            creatives,
        })
    }
}

/// One chunk's output.
struct Chunk {
    events: Vec<u8>,
    truth: Vec<u8>,
    stats: sim::Stats,
}

/// Recycled output buffers: the writer hands emptied buffers back, so steady-state generation
/// neither reallocates nor page-faults fresh memory.
#[derive(Default)]
struct Pool {
    events: Mutex<Vec<Vec<u8>>>,
    truth: Mutex<Vec<Vec<u8>>>,
}

impl Pool {
    fn take(list: &Mutex<Vec<Vec<u8>>>, capacity: usize) -> Vec<u8> {
        let recycled = list.lock().ok().and_then(|mut l| l.pop());
        recycled.unwrap_or_else(|| Vec::with_capacity(capacity))
    }

    fn give(list: &Mutex<Vec<Vec<u8>>>, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut l) = list.lock() {
            l.push(buf);
        }
    }
}

fn generate_chunk(world: &World, pool: &Pool, first: u64, last: u64) -> Chunk {
    let n = (last - first) as usize;
    let mut chunk = Chunk {
        events: Pool::take(&pool.events, n * 24 * 1024),
        truth: Pool::take(&pool.truth, n * 640),
        stats: sim::Stats::default(),
    };
    for index in first..last {
        let mut rng = rng::stream_rng(world.seed, index);
        let person = person::Person::generate(index, world, &mut rng);
        let outcome = sim::simulate(
            &person,
            world,
            &mut rng,
            &mut chunk.events,
            &mut chunk.stats,
        );
        person.write_truth(
            world,
            outcome.orders,
            outcome.identified,
            outcome.used,
            &mut chunk.truth,
        );
    }
    chunk
}

/// Where the three outputs of a run go, for [`run_to_writers`].
pub struct Sinks<'a> {
    /// Receives `catalog.tsv`.
    pub catalog: &'a mut (dyn Write + Send),
    /// Receives `events.ndjson`.
    pub events: &'a mut (dyn Write + Send),
    /// Receives `truth.ndjson`.
    pub truth: &'a mut (dyn Write + Send),
}

/// Runs the simulation, writing `events.ndjson`, `catalog.tsv` and `truth.ndjson` into
/// `config.out` (created if missing). `progress` is called from the calling thread with the
/// number of people done so far, after each window of chunks. Files are written under temporary
/// names (`.NAME.partial`) and renamed when complete; on error the partial files are removed.
pub fn run(config: &SimConfig, progress: &(dyn Fn(u64) + Sync)) -> Result<SimSummary, SimError> {
    let dir = &config.out;
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let names = ["catalog.tsv", "events.ndjson", "truth.ndjson"];
    let partial: Vec<PathBuf> = names
        .iter()
        .map(|n| dir.join(format!(".{n}.partial")))
        .collect();
    let result = (|| {
        let open = |p: &PathBuf| {
            File::create(p)
                .map(|f| std::io::BufWriter::with_capacity(1 << 20, f))
                .map_err(io_err(p))
        };
        let mut catalog = open(&partial[0])?;
        let mut events = open(&partial[1])?;
        let mut truth = open(&partial[2])?;
        let summary = run_to_writers(
            config,
            progress,
            Sinks {
                catalog: &mut catalog,
                events: &mut events,
                truth: &mut truth,
            },
        )?;
        for (f, p) in [catalog, events, truth].into_iter().zip(&partial) {
            f.into_inner().map_err(|e| SimError::Io {
                path: p.clone(),
                source: e.into_error(),
            })?;
        }
        for (p, n) in partial.iter().zip(names) {
            let target = dir.join(n);
            std::fs::rename(p, &target).map_err(io_err(&target))?;
        }
        Ok(summary)
    })();
    if result.is_err() {
        for p in &partial {
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

/// The three files of a simulation, in memory (for tests and small in-process shops).
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    /// `catalog.tsv`.
    pub catalog: Vec<u8>,
    /// `events.ndjson`.
    pub events: Vec<u8>,
    /// `truth.ndjson`.
    pub truth: Vec<u8>,
}

/// Runs the simulation into memory: the same bytes [`run`] writes to files.
pub fn run_in_memory(config: &SimConfig) -> Result<InMemory, SimError> {
    let mut out = InMemory::default();
    run_to_writers(
        config,
        &|_| {},
        Sinks {
            catalog: &mut out.catalog,
            events: &mut out.events,
            truth: &mut out.truth,
        },
    )?;
    Ok(out)
}

/// Runs the simulation into arbitrary writers (stdout, a compressor, `io::sink()` for
/// benchmarks). Same output bytes as [`run`]; `config.out` only names the files in errors.
pub fn run_to_writers(
    config: &SimConfig,
    progress: &(dyn Fn(u64) + Sync),
    sinks: Sinks<'_>,
) -> Result<SimSummary, SimError> {
    let world = World::build(config)?;
    let sink_err = |name: &str| {
        let path = config.out.join(name);
        move |source| SimError::Io { path, source }
    };
    let mut tsv = Vec::with_capacity(world.catalog.products.len() * 160);
    world.catalog.write_tsv(&mut tsv);
    sinks
        .catalog
        .write_all(&tsv)
        .map_err(sink_err("catalog.tsv"))?;
    sinks.catalog.flush().map_err(sink_err("catalog.tsv"))?;
    let catalog_bytes = tsv.len() as u64;
    drop(tsv);

    let people = config.people;
    let chunks = people.div_ceil(CHUNK_PEOPLE);
    let window = (rayon::current_num_threads() as u64 * 2).max(2);
    let pool = Pool::default();
    let pool = &pool;
    let (tx, rx) = mpsc::sync_channel::<Vec<Chunk>>(1);
    let mut stats = sim::Stats::default();
    let (events, truth) = (sinks.events, sinks.truth);

    let written = std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<(u64, u64), SimError> {
            let (mut events_bytes, mut truth_bytes) = (0u64, 0u64);
            for batch in rx {
                for chunk in batch {
                    events
                        .write_all(&chunk.events)
                        .map_err(sink_err("events.ndjson"))?;
                    truth
                        .write_all(&chunk.truth)
                        .map_err(sink_err("truth.ndjson"))?;
                    events_bytes += chunk.events.len() as u64;
                    truth_bytes += chunk.truth.len() as u64;
                    Pool::give(&pool.events, chunk.events);
                    Pool::give(&pool.truth, chunk.truth);
                }
            }
            events.flush().map_err(sink_err("events.ndjson"))?;
            truth.flush().map_err(sink_err("truth.ndjson"))?;
            Ok((events_bytes, truth_bytes))
        });
        let mut start = 0u64;
        while start < chunks {
            let end = (start + window).min(chunks);
            let batch: Vec<Chunk> = (start..end)
                .into_par_iter()
                .map(|c| {
                    let first = c * CHUNK_PEOPLE;
                    generate_chunk(&world, pool, first, (first + CHUNK_PEOPLE).min(people))
                })
                .collect();
            for c in &batch {
                stats.add(&c.stats);
            }
            if tx.send(batch).is_err() {
                // The writer failed; its error is reported below.
                break;
            }
            progress((end * CHUNK_PEOPLE).min(people));
            start = end;
        }
        drop(tx);
        writer.join()
    });
    let (events_bytes, truth_bytes) = match written {
        Ok(result) => result?,
        Err(_) => {
            return Err(SimError::WriterPanicked {
                path: config.out.clone(),
            });
        }
    };
    Ok(SimSummary {
        people,
        events: stats.total(),
        products: world.catalog.products.len() as u32,
        bytes_written: events_bytes + truth_bytes + catalog_bytes,
        event_counts: stats.counts(),
    })
}
