//! `audex model …`: lookalike, prospecting and behavioral models (train, store, measure), the
//! quality report and the feature export the scikit-learn comparison reads; contextual and
//! recommendation verbs come from [`crate::model_extra`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use audex_engine::Advertiser;
use audex_engine::models::{InferredTags, ModelScores};
use audex_model::taxonomy::ProductTaxonomy;
use audex_models::behavioral::{self, TAGS};
use audex_models::features::{self, FeatureConfig, Features};
use audex_models::lookalike::{self, LookalikeConfig, Method, Target};
use audex_models::prospecting::{self, ProspectingConfig, Selection};
use audex_models::refresh::{self, RefreshOptions};
use audex_models::truth;
use audex_profile::ProfileStore;
use audex_rules::UsersType;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use roaring::RoaringBitmap;
use serde_json::{Value, json};

use crate::Cli;
use crate::commands::{AdvertiserArg, bar, open_engine, parse_now, write_stdout};
use crate::model_extra::{self, ModelExtraCommand};

/// Model verbs.
#[derive(Subcommand)]
pub enum ModelCommand {
    /// Train a lookalike of a seed audience and store its scores (audiences of kind
    /// `lookalike` with this seed use them).
    Lookalike(LookalikeArgs),
    /// Score non-buyers by likeness to buyers and store the scores (audiences of kind
    /// `prospecting` use them).
    Prospecting(ProspectingArgs),
    /// Infer lifestyle and life-stage tags and store them (`tag NAME` predicates use them).
    Behavioral(BehavioralArgs),
    /// Retrain every model the saved audiences use (lookalike seeds, prospecting) and the
    /// behavioral tags, then re-evaluate memberships: on demand (`audex serve` also does it on
    /// a schedule, `--model-refresh`).
    Refresh(Common),
    /// Quality report on simulated data with its truth (JSON; bench/models/run.sh renders it).
    Report(ReportArgs),
    /// Export person features (NumPy CSR parts) for an outside comparison (scikit-learn).
    ExportFeatures(ReportArgs),
    #[command(flatten)]
    Extra(ModelExtraCommand),
}

/// Options shared by the training verbs.
#[derive(Args)]
pub struct Common {
    #[command(flatten)]
    adv: AdvertiserArg,
    /// Evaluation time (RFC 3339); default now.
    #[arg(long)]
    now: Option<String>,
    /// Random seed (negative sampling, shuffles).
    #[arg(long, default_value_t = 42)]
    rng_seed: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `audex model lookalike`.
#[derive(Args)]
pub struct LookalikeArgs {
    #[command(flatten)]
    common: Common,
    /// Seed audience (id or name).
    #[arg(long)]
    seed: String,
    /// How many people to keep.
    #[arg(long, conflicts_with = "ratio")]
    target_size: Option<u64>,
    /// Share of the eligible non-seed people to keep (default 0.05).
    #[arg(long)]
    ratio: Option<f64>,
    /// `logistic` (default, measured better) or `centroid`.
    #[arg(long, default_value = "logistic")]
    method: String,
    /// Also save a `lookalike` audience of this name over the seed.
    #[arg(long)]
    save_as: Option<String>,
    /// Write the members' person ids, one a line.
    #[arg(long)]
    members_out: Option<PathBuf>,
}

/// `audex model prospecting`.
#[derive(Args)]
pub struct ProspectingArgs {
    #[command(flatten)]
    common: Common,
    /// `prospects` (never active on the site or app) or `prospects-or-non-buyers`.
    #[arg(long, default_value = "prospects-or-non-buyers")]
    users_type: String,
    /// Fewest days since the last visit (non-buyers).
    #[arg(long)]
    days_since_last_visit_min: Option<u32>,
    /// Most days since the last visit (non-buyers).
    #[arg(long)]
    days_since_last_visit_max: Option<u32>,
    /// Keep the N best-scored.
    #[arg(long, conflicts_with = "threshold")]
    top: Option<u64>,
    /// Keep those scoring at least this (default 0.5).
    #[arg(long)]
    threshold: Option<f32>,
}

/// `audex model behavioral`.
#[derive(Args)]
pub struct BehavioralArgs {
    #[command(flatten)]
    common: Common,
    /// `truth.ndjson` of an `audex sim` run: also print precision and recall per tag.
    #[arg(long)]
    truth: Option<PathBuf>,
}

/// `audex model report` / `export-features`.
#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    common: Common,
    /// `truth.ndjson` of the `audex sim` run that was imported.
    #[arg(long)]
    truth: PathBuf,
    /// Seeds: people whose truth carries these tags (as a CRM list of them would).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "luxury_buyer,pet_owner,new_parent"
    )]
    seed_tags: Vec<String>,
    /// Target size as a share of the evaluated people.
    #[arg(long, default_value_t = 0.05)]
    ratio: f64,
    /// Directory for the exported split per seed tag: `<tag>.train_*.npy` and `<tag>.test_*.npy`
    /// (CSR parts: indptr, indices, values, labels) and `<tag>.meta.json`.
    #[arg(long)]
    export: Option<PathBuf>,
    /// Report only the behavioral tags (no features, lookalike or prospecting).
    #[arg(long, conflicts_with = "export")]
    behavioral_only: bool,
    /// With `--behavioral-only`: also write, for everyone in the truth file, the behavioral
    /// evidence (`evidence.npy`, people × columns, float32), the truth tags (`tags.npy`, people ×
    /// tags, uint8), Audex's scores (`scores.npy`, people × tags, float32) and `meta.json`
    /// (the names) to this directory, for a supervised model trained on truth outside
    /// (bench/models/behavioral_ceiling.py).
    #[arg(long, requires = "behavioral_only")]
    behavioral_export: Option<PathBuf>,
}

/// Runs a model verb.
pub fn run(cli: &Cli, command: &ModelCommand) -> Result<i32> {
    match command {
        ModelCommand::Lookalike(a) => lookalike_cmd(cli, a),
        ModelCommand::Prospecting(a) => prospecting_cmd(cli, a),
        ModelCommand::Behavioral(a) => behavioral_cmd(cli, a),
        ModelCommand::Refresh(c) => refresh_cmd(cli, c),
        ModelCommand::Report(a) => report_cmd(cli, a, false),
        ModelCommand::ExportFeatures(a) => {
            if a.export.is_none() {
                bail!("export-features needs --export DIR");
            }
            report_cmd(cli, a, true)
        }
        ModelCommand::Extra(e) => model_extra::run(cli, e),
    }
}

fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// The advertiser's day of `now_ms`.
fn today(store: &ProfileStore, now_ms: i64) -> u32 {
    audex_model::time::day_of_ms(now_ms + store.utc_offset_ms).unwrap_or(0)
}

fn extract(
    store: &ProfileStore,
    taxonomy: Option<&ProductTaxonomy>,
    config: &FeatureConfig,
) -> (Features, f64) {
    let pb = spinner("features");
    let t = Instant::now();
    let f = features::extract(store, taxonomy, config);
    pb.finish_and_clear();
    (f, t.elapsed().as_secs_f64() * 1e3)
}

fn iteration_bar(iterations: u32, what: &str) -> ProgressBar {
    bar(u64::from(iterations), what)
}

fn lookalike_cmd(cli: &Cli, a: &LookalikeArgs) -> Result<i32> {
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(&a.common.adv.advertiser)?;
    let now = parse_now(a.common.now.as_deref())?;
    let method = Method::parse(&a.method)
        .with_context(|| format!("--method {:?}: use logistic or centroid", a.method))?;
    let (seed_id, seed_rule) = {
        let defs = adv.definitions()?;
        let s = defs
            .audience(&a.seed)
            .with_context(|| format!("no audience {:?}", a.seed))?;
        (s.id.clone(), s.definition.compile()?)
    };
    let seed = adv.evaluate(&seed_rule, now)?;
    let target = match (a.target_size, a.ratio) {
        (Some(n), _) => Target::Size(n),
        (None, r) => Target::Ratio(r.unwrap_or(0.05)),
    };
    let config = LookalikeConfig {
        method,
        target,
        seed: a.common.rng_seed,
        ..LookalikeConfig::default()
    };
    let (result, features_ms) = {
        let state = adv.state()?;
        let store = &state.profiles;
        let (f, features_ms) = extract(
            store,
            adv.taxonomy(),
            &FeatureConfig::new(today(store, now)),
        );
        let pb = iteration_bar(config.logistic.max_iterations, "train ");
        let r = lookalike::run_observed(&f, &seed, &config, &|e| pb.set_position(u64::from(e)))?;
        pb.finish_and_clear();
        (r, features_ms)
    };
    let (people, scores): (Vec<u32>, Vec<f32>) = result.scores.iter().copied().unzip();
    let model = format!("lookalike:{seed_id}");
    adv.save_model_scores(&ModelScores {
        model: model.clone(),
        trained_ms: now,
        people,
        scores,
    })?;
    if let Some(name) = &a.save_as {
        let def = audex_rules::AudienceDef {
            name: name.clone(),
            description: Some(format!("lookalike of {} ({})", a.seed, method.as_str())),
            funnel_stage: None,
            kind: audex_rules::AudienceKind::Lookalike {
                seed_audience: seed_id.clone(),
                target_size: Some(result.members.len()),
            },
        };
        adv.create_audience(def)?;
    }
    if let Some(path) = &a.members_out {
        write_members(path, &result.members)?;
    }
    let v = json!({
        "model": model, "method": method.as_str(), "seed": seed.len(), "seed_used": result.seed_used,
        "scored": result.scores.len(), "members": result.members.len(),
        "features_ms": features_ms, "train_ms": result.train_ms, "score_ms": result.score_ms,
    });
    if a.common.json {
        write_stdout(&v.to_string())?;
    } else {
        write_stdout(&format!(
            "{model} ({}): seed {} ({} with activity), {} scored, {} kept; features {:.0} ms, train {:.0} ms, score {:.0} ms",
            method.as_str(),
            seed.len(),
            result.seed_used,
            result.scores.len(),
            result.members.len(),
            features_ms,
            result.train_ms,
            result.score_ms
        ))?;
    }
    Ok(0)
}

fn refresh_cmd(cli: &Cli, c: &Common) -> Result<i32> {
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(&c.adv.advertiser)?;
    let options = RefreshOptions {
        now_ms: parse_now(c.now.as_deref())?,
        rng_seed: c.rng_seed,
    };
    let pb = spinner("refresh");
    let r = refresh::refresh(&adv, &options, &|step| pb.set_message(step.to_string()));
    pb.finish_and_clear();
    let report = r?.lines();
    if c.json {
        write_stdout(&json!({"refreshed": report}).to_string())?;
    } else {
        for l in report {
            write_stdout(&l)?;
        }
    }
    Ok(0)
}

fn write_members(path: &Path, members: &RoaringBitmap) -> Result<()> {
    let mut out = Vec::with_capacity(members.len() as usize * 8);
    for p in members {
        writeln!(out, "{p}")?;
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

fn prospecting_cmd(cli: &Cli, a: &ProspectingArgs) -> Result<i32> {
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(&a.common.adv.advertiser)?;
    let now = parse_now(a.common.now.as_deref())?;
    let users_type = match a.users_type.replace('_', "-").to_ascii_lowercase().as_str() {
        "prospects" => UsersType::Prospects,
        "prospects-or-non-buyers" => UsersType::ProspectsOrNonBuyers,
        other => bail!("--users-type {other:?}: use prospects or prospects-or-non-buyers"),
    };
    let config = ProspectingConfig {
        users_type,
        days_since_last_visit_min: a.days_since_last_visit_min,
        days_since_last_visit_max: a.days_since_last_visit_max,
        selection: match (a.top, a.threshold) {
            (Some(n), _) => Selection::Top(n),
            (None, t) => {
                Selection::Threshold(t.unwrap_or(audex_rules::kinds::PROSPECTING_MIN_SCORE))
            }
        },
        seed: a.common.rng_seed,
        ..ProspectingConfig::default()
    };
    let (all, selected, features_ms) = {
        let state = adv.state()?;
        let store = &state.profiles;
        let day = today(store, now);
        let mut fc = FeatureConfig::new(day);
        fc.exclude_purchases = true;
        let (f, features_ms) = extract(store, adv.taxonomy(), &fc);
        fc.publisher_view = true;
        let (pf, _) = extract(store, adv.taxonomy(), &fc);
        let views = prospecting::Views {
            first_party: &f,
            publisher: Some(&pf),
        };
        // Stored scores cover every non-buyer: audiences apply their own usersType window.
        let everyone = ProspectingConfig {
            users_type: UsersType::ProspectsOrNonBuyers,
            days_since_last_visit_min: None,
            days_since_last_visit_max: None,
            ..config.clone()
        };
        let pb = iteration_bar(config.logistic.max_iterations, "train ");
        let all = prospecting::run(store, views, &everyone, day)?;
        pb.finish_and_clear();
        let eligible = prospecting::eligible(store, &config, day);
        let scores: Vec<(u32, f32)> = all
            .scores
            .iter()
            .copied()
            .filter(|(p, _)| eligible.contains(*p))
            .collect();
        let selected = prospecting::select(&scores, config.selection);
        (all, (scores.len(), selected), features_ms)
    };
    let (people, scores): (Vec<u32>, Vec<f32>) = all.scores.iter().copied().unzip();
    adv.save_model_scores(&ModelScores {
        model: "prospecting".into(),
        trained_ms: now,
        people,
        scores,
    })?;
    let v = json!({
        "model": "prospecting", "buyers": all.buyers, "scored": all.scores.len(),
        "eligible": selected.0, "selected": selected.1.len(),
        "features_ms": features_ms, "train_ms": all.train_ms, "score_ms": all.score_ms,
    });
    if a.common.json {
        write_stdout(&v.to_string())?;
    } else {
        write_stdout(&format!(
            "prospecting: trained on {} buyers, scored {} non-buyers; {} eligible, {} selected; features {:.0} ms, train {:.0} ms, score {:.0} ms",
            all.buyers,
            all.scores.len(),
            selected.0,
            selected.1.len(),
            features_ms,
            all.train_ms,
            all.score_ms
        ))?;
    }
    Ok(0)
}

fn behavioral_cmd(cli: &Cli, a: &BehavioralArgs) -> Result<i32> {
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(&a.common.adv.advertiser)?;
    let now = parse_now(a.common.now.as_deref())?;
    let (tags, quality) = {
        let state = adv.state()?;
        let store = &state.profiles;
        let pb = spinner("behavioral: fitting tag models");
        let scores = behavioral::scores(store, adv.taxonomy(), today(store, now));
        pb.finish_and_clear();
        let members = behavioral::infer(&scores);
        let quality = match &a.truth {
            Some(path) => {
                let t = truth::join(store, truth::read(path)?);
                Some(behavioral::measure(&scores, &t))
            }
            None => None,
        };
        (members, quality)
    };
    adv.save_inferred_tags(&InferredTags {
        inferred_ms: now,
        tags: TAGS
            .iter()
            .zip(&tags)
            .map(|(t, m)| (t.name.to_string(), m.clone()))
            .collect(),
    })?;
    let rows: Vec<Value> = TAGS
        .iter()
        .zip(&tags)
        .enumerate()
        .map(|(i, (t, m))| {
            let mut v = json!({"tag": t.name, "group": t.group, "iab_audience": t.iab_audience, "people": m.len()});
            if let Some(q) = quality.as_ref().and_then(|q| q.get(i)) {
                v["precision"] = json!(q.precision);
                v["recall"] = json!(q.recall);
            }
            v
        })
        .collect();
    if a.common.json {
        write_stdout(&Value::Array(rows).to_string())?;
    } else {
        for r in rows {
            let q = match (r["precision"].as_f64(), r["recall"].as_f64()) {
                (Some(p), Some(rc)) => format!("  precision {p:.3} recall {rc:.3}"),
                _ => String::new(),
            };
            write_stdout(&format!(
                "{:15} {:>8} people  IAB {}{q}",
                r["tag"].as_str().unwrap_or_default(),
                r["people"],
                r["iab_audience"]
            ))?;
        }
    }
    Ok(0)
}

fn quality_json(q: &lookalike::Quality) -> Value {
    json!({"auc": q.auc, "recall_at_k": q.recall_at_k, "precision_at_k": q.precision_at_k,
           "k": q.k, "train_ms": q.train_ms, "score_ms": q.score_ms,
           "iterations": q.iterations, "passes": q.passes, "gradient": q.gradient})
}

fn export_split(
    dir: &Path,
    tag: &str,
    f: &Features,
    split: &lookalike::Split,
    k: u64,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let train: Vec<(u32, u8)> = split
        .train_seed
        .iter()
        .map(|p| (p, 1))
        .chain(
            split
                .train_negatives
                .iter()
                .filter(|p| !split.train_seed.contains(*p))
                .map(|p| (p, 0)),
        )
        .collect();
    let test: Vec<(u32, u8)> = split
        .evaluated
        .iter()
        .map(|p| (p, u8::from(split.held_out.contains(p))))
        .collect();
    for (name, rows) in [("train", &train), ("test", &test)] {
        f.write_npy(rows, dir, &format!("{tag}.{name}"))
            .with_context(|| format!("writing {tag}.{name}_*.npy in {}", dir.display()))?;
    }
    let path = dir.join(format!("{tag}.meta.json"));
    std::fs::write(
        &path,
        json!({"tag": tag, "dim": f.dim, "k": k, "train_positives": split.train_seed.len(),
               "held_out": split.held_out.len(), "evaluated": split.evaluated.len()})
        .to_string(),
    )
    .with_context(|| format!("writing {}", path.display()))
}

fn report_cmd(cli: &Cli, a: &ReportArgs, export_only: bool) -> Result<i32> {
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(&a.common.adv.advertiser)?;
    let now = parse_now(a.common.now.as_deref())?;
    let v = report(&adv, a, now, export_only)?;
    write_stdout(&serde_json::to_string_pretty(&v)?)?;
    Ok(0)
}

/// Behavioral tags against truth: one JSON row per tag, and the fit and scoring time (ms).
fn behavioral_report(
    store: &ProfileStore,
    taxonomy: Option<&ProductTaxonomy>,
    day: u32,
    truth: &[(audex_profile::PersonId, truth::TruthPerson)],
    export: Option<&Path>,
) -> Result<(Vec<Value>, f64)> {
    let t = Instant::now();
    let evidence = behavioral::evidence(store, taxonomy, day);
    let scores = behavioral::fit_and_score(&evidence).scores;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    if let Some(dir) = export {
        export_behavioral(dir, &evidence, &scores, truth)?;
    }
    let evidence = behavioral::evidence_against_truth(&evidence, truth);
    let tags = behavioral::measure(&scores, truth)
        .into_iter()
        .zip(TAGS.iter())
        .zip(evidence)
        .map(|((q, t), e)| {
            json!({"tag": q.tag, "group": t.group, "iab_audience": behavioral::iab_names(t),
                   "threshold": t.threshold, "predicted": q.predicted, "actual": q.actual,
                   "precision": q.precision, "recall": q.recall,
                   "recall_at_precision_0_8": q.best_threshold.map(|b| b.1),
                   "threshold_at_precision_0_8": q.best_threshold.map(|b| b.0),
                   "calibrated_threshold": q.calibrated_threshold,
                   "evidence": e})
        })
        .collect();
    Ok((tags, ms))
}

/// Writes everyone's behavioral evidence and truth tags as NumPy matrices (see
/// `ReportArgs::behavioral_export`), rows in truth order.
fn export_behavioral(
    dir: &Path,
    evidence: &behavioral::Evidence,
    scores: &[[f32; behavioral::TAG_COUNT]],
    truth: &[(audex_profile::PersonId, truth::TruthPerson)],
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let columns = evidence.column_names();
    let mut x = Vec::with_capacity(truth.len() * columns.len());
    let mut y = Vec::with_capacity(truth.len() * TAGS.len());
    let mut s = Vec::with_capacity(truth.len() * TAGS.len());
    for (p, t) in truth {
        evidence.dense_row(*p, &mut x);
        y.extend(TAGS.iter().map(|tag| u8::from(t.has_tag(tag.name))));
        s.extend(scores.get(*p as usize).copied().unwrap_or_default());
    }
    let path = dir.join("evidence.npy");
    features::write_npy_matrix(&path, truth.len(), columns.len(), &x)
        .with_context(|| format!("writing {}", path.display()))?;
    let path = dir.join("tags.npy");
    features::write_npy_matrix(&path, truth.len(), TAGS.len(), &y)
        .with_context(|| format!("writing {}", path.display()))?;
    let path = dir.join("scores.npy");
    features::write_npy_matrix(&path, truth.len(), TAGS.len(), &s)
        .with_context(|| format!("writing {}", path.display()))?;
    let path = dir.join("meta.json");
    let tags: Vec<&str> = TAGS.iter().map(|t| t.name).collect();
    std::fs::write(
        &path,
        json!({"rows": truth.len(), "columns": columns, "tags": tags}).to_string(),
    )
    .with_context(|| format!("writing {}", path.display()))
}

fn report(adv: &Advertiser, a: &ReportArgs, now: i64, export_only: bool) -> Result<Value> {
    let state = adv.state()?;
    let store = &state.profiles;
    let taxonomy = adv.taxonomy();
    let day = today(store, now);
    let truth = truth::join(store, truth::read(&a.truth)?);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if a.behavioral_only {
        let pb = spinner("behavioral");
        let (tags, behavioral_ms) =
            behavioral_report(store, taxonomy, day, &truth, a.behavioral_export.as_deref())?;
        pb.finish_and_clear();
        return Ok(json!({
            "people": store.people(), "truth_people": truth.len(), "threads": threads,
            "behavioral": tags, "behavioral_ms": behavioral_ms,
        }));
    }
    let (f, features_ms) = extract(store, taxonomy, &FeatureConfig::new(day));
    let eligible = lookalike::eligible(&f);
    let mut seeds = Vec::new();
    let steps = a.seed_tags.len() as u64 * 2;
    let pb = bar(steps, "models");
    for tag in &a.seed_tags {
        let seed: RoaringBitmap = truth
            .iter()
            .filter(|(_, t)| t.has_tag(tag))
            .map(|(p, _)| *p)
            .collect();
        if seed.len() < 10 {
            bail!(
                "seed tag {tag:?} has {} people in the truth file",
                seed.len()
            );
        }
        let base = LookalikeConfig {
            target: Target::Ratio(a.ratio),
            seed: a.common.rng_seed,
            ..LookalikeConfig::default()
        };
        let split = lookalike::split(&f, &seed, 0.2, &base);
        let k = base.target.resolve(split.evaluated.len());
        if let Some(dir) = &a.export {
            export_split(dir, tag, &f, &split, k)?;
        }
        let mut row = json!({"tag": tag, "seed": seed.len(), "seed_with_features": (&seed & &eligible).len(),
            "train_positives": split.train_seed.len(), "train_negatives": split.train_negatives.len(),
            "held_out": split.held_out.len(), "evaluated": split.evaluated.len(), "k": k});
        if !export_only {
            for method in [Method::Centroid, Method::Logistic] {
                pb.set_message(format!("{tag} {}", method.as_str()));
                let config = LookalikeConfig {
                    method,
                    ..base.clone()
                };
                let q = lookalike::evaluate(&f, &split, &config)?;
                row[method.as_str()] = quality_json(&q);
                pb.inc(1);
            }
        }
        seeds.push(row);
    }
    pb.finish_and_clear();
    if export_only {
        return Ok(
            json!({"people": eligible.len(), "dim": f.dim, "features_ms": features_ms, "seeds": seeds}),
        );
    }
    let pb = spinner("behavioral");
    let (tags, behavioral_ms) = behavioral_report(store, taxonomy, day, &truth, None)?;
    pb.set_message("prospecting");
    let mut fc = FeatureConfig::new(day);
    fc.exclude_purchases = true;
    fc.as_of_day = Some(day.saturating_sub(30));
    let f1 = features::extract(store, taxonomy, &fc);
    fc.publisher_view = true;
    let pf = features::extract(store, taxonomy, &fc);
    let pq = prospecting::evaluate_time_split(
        store,
        prospecting::Views {
            first_party: &f1,
            publisher: Some(&pf),
        },
        &ProspectingConfig {
            seed: a.common.rng_seed,
            ..ProspectingConfig::default()
        },
        day,
        30,
    )?;
    pb.finish_and_clear();
    Ok(json!({
        "people": eligible.len(), "truth_people": truth.len(), "dim": f.dim,
        "features_ms": features_ms, "threads": threads,
        "lookalike": seeds, "behavioral": tags, "behavioral_ms": behavioral_ms,
        "prospecting": pq,
    }))
}
