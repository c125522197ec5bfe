//! `audex model contextual …` and `audex model recommend …`: the contextual classifier and
//! retargeting recommendations from the command line, with their quality measurements.
//!
//! Hook: [`ModelExtraCommand`] is meant to be flattened into `audex model`'s subcommands
//! (`#[command(flatten)] Extra(model_extra::ModelExtraCommand)`) and run with [`run`].

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use audex_contextual::eval::{self as ceval, Learner};
use audex_contextual::{Classifiers, ContentClassifier, LabeledPage, Page, TrainedClassifier};
use audex_recommend::{Options, Recommender, histories, history_of, item_categories};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::Cli;
use crate::commands::{AdvertiserArg, open_engine, parse_now, write_stdout};

/// Contextual and recommendation model verbs.
#[derive(Subcommand)]
pub enum ModelExtraCommand {
    /// Contextual classification of pages into IAB Content Taxonomy 3.1 categories.
    Contextual {
        #[command(subcommand)]
        command: ContextualCommand,
    },
    /// Retargeting recommendations: top-N products per person.
    Recommend {
        #[command(subcommand)]
        command: RecommendCommand,
    },
}

/// `audex model contextual …`.
#[derive(Subcommand)]
pub enum ContextualCommand {
    /// Classify one page (with the classifier this data directory installed last, else the
    /// shipped one).
    Classify(ClassifyArgs),
    /// Train a classifier on your own labelled pages and install it in the data directory:
    /// from then on, pages received without categories (ingest, replay) are classified with
    /// it. NDJSON lines `{"url", "title", "text", "category": "<Content 3.1 id>"}`, plain or
    /// .gz. Every fifth page is held out first to report accuracy beside the shipped
    /// classifier's; the installed model is then trained on all of them.
    Train {
        /// The labelled pages.
        #[arg(long)]
        corpus: PathBuf,
        /// Measure only; install nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Accuracy on a labelled corpus in AG News's CSV layout (plain or .gz): the shipped
    /// classifier, and naive Bayes / softmax regression trained on its fixed training part.
    Eval {
        /// The corpus (`"class","title","description"`, classes 1-4).
        #[arg(long)]
        corpus: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Accuracy (tier-1) on an `audex sim` directory's publisher pages, their categories hidden.
    SimEval {
        /// Directory written by `audex sim`.
        #[arg(long)]
        sim: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A page to classify.
#[derive(Args)]
pub struct ClassifyArgs {
    /// The page's URL.
    #[arg(long, default_value = "")]
    url: String,
    /// The page's title.
    #[arg(long, default_value = "")]
    title: String,
    /// Body text or description.
    #[arg(long, default_value = "")]
    text: String,
    /// Use the shipped classifier even if a trained one is installed.
    #[arg(long)]
    shipped: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `audex model recommend …`.
#[derive(Subcommand)]
pub enum RecommendCommand {
    /// Recommended products for one person.
    Show {
        #[command(flatten)]
        adv: AdvertiserArg,
        /// Any identifier of the person.
        identifier: String,
        /// How many products.
        #[arg(short, long, default_value_t = 5)]
        n: usize,
        /// Evaluate as of this RFC 3339 time (default: now).
        #[arg(long)]
        now: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Hit-rate@N on each buyer's held-out last purchase, beside a popularity baseline, on an
    /// `audex sim` directory (built in memory; nothing is written).
    Eval {
        /// Directory written by `audex sim`.
        #[arg(long)]
        sim: PathBuf,
        /// N of hit-rate@N.
        #[arg(short, long, default_value_t = 5)]
        n: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a contextual or recommendation verb; returns the exit code.
pub fn run(cli: &Cli, command: &ModelExtraCommand) -> Result<i32> {
    match command {
        ModelExtraCommand::Contextual { command } => match command {
            ContextualCommand::Classify(a) => classify(cli, a),
            ContextualCommand::Train {
                corpus,
                dry_run,
                json,
            } => contextual_train(cli, corpus, *dry_run, *json),
            ContextualCommand::Eval { corpus, json } => contextual_eval(corpus, *json),
            ContextualCommand::SimEval { sim, json } => contextual_sim_eval(sim, *json),
        },
        ModelExtraCommand::Recommend { command } => match command {
            RecommendCommand::Show {
                adv,
                identifier,
                n,
                now,
                json,
            } => recommend_show(cli, &adv.advertiser, identifier, *n, now.as_deref(), *json),
            RecommendCommand::Eval { sim, n, json } => recommend_eval(cli, sim, *n, *json),
        },
    }
}

fn classifier() -> Result<&'static ContentClassifier> {
    ContentClassifier::shipped().map_err(|e| anyhow::anyhow!("contextual model: {e}"))
}

fn classify(cli: &Cli, a: &ClassifyArgs) -> Result<i32> {
    let page = Page {
        url: a.url.clone(),
        title: a.title.clone(),
        text: a.text.clone(),
    };
    if page.url.is_empty() && page.title.is_empty() && page.text.is_empty() {
        bail!("give at least one of --url, --title, --text");
    }
    let installed = Classifiers::load(&cli.data).map_err(|e| anyhow::anyhow!("{e}"))?;
    let cats = if a.shipped {
        classifier()?.classify(&page)
    } else {
        installed.classify_at(i64::MAX, &page)
    };
    if a.json {
        write_stdout(&serde_json::to_string(&json!({"categories": cats}))?)?;
    } else if cats.is_empty() {
        write_stdout("no category: no known word on the page")?;
    } else {
        for c in &cats {
            write_stdout(&format!(
                "{:<8} tier {}  {:.3}  {}",
                c.id, c.tier, c.score, c.name
            ))?;
        }
    }
    Ok(if cats.is_empty() { 1 } else { 0 })
}

/// Share of `pages` whose label a classifier's categories (a path from tier-1 down) name
/// exactly, and whose label's tier-1 they start with.
fn path_accuracy(
    pages: &[&LabeledPage],
    classify: impl Fn(&Page) -> Vec<audex_contextual::Scored>,
) -> (f64, f64) {
    let taxonomy = audex_model::taxonomy::ContentTaxonomy::iab_3_1();
    let (exact, tier1) = pages
        .iter()
        .map(|p| {
            let cats = classify(&p.page);
            let exact = cats.last().is_some_and(|c| c.id == p.category);
            let root = taxonomy.ancestors(&p.category).last();
            let tier1 = cats.first().is_some_and(|c| Some(c.id.as_str()) == root);
            (u64::from(exact), u64::from(tier1))
        })
        .fold((0u64, 0u64), |a, b| (a.0 + b.0, a.1 + b.1));
    let n = pages.len().max(1) as f64;
    (exact as f64 / n, tier1 as f64 / n)
}

fn contextual_train(cli: &Cli, corpus: &Path, dry_run: bool, json: bool) -> Result<i32> {
    let pages = audex_contextual::trained::read_corpus(open_maybe_gz(corpus)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", corpus.display()))?;
    // Take the data directory's lock first: a running server would not see the new model
    // and would classify differently from a later replay.
    let engine = if dry_run {
        None
    } else {
        Some(open_engine(cli)?)
    };
    let pb = indicatif::ProgressBar::new_spinner();
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    pb.set_message(format!(
        "training on {} pages (held out: every fifth)",
        pages.len()
    ));
    let (train, test): (Vec<&LabeledPage>, Vec<&LabeledPage>) = {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, p) in pages.iter().enumerate() {
            if i % 5 == 4 { b.push(p) } else { a.push(p) }
        }
        (a, b)
    };
    let t = Instant::now();
    let held =
        TrainedClassifier::train(train.iter().copied()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let train_ms = t.elapsed().as_secs_f64() * 1e3;
    pb.set_message("measuring on the held-out pages");
    let trained_acc = path_accuracy(&test, |p| held.classify(p));
    let shipped = classifier()?;
    let shipped_acc = path_accuracy(&test, |p| shipped.classify(p));
    let mut installed = Value::Null;
    if let Some(engine) = &engine {
        pb.set_message("training on every page and installing");
        let all = TrainedClassifier::train(&pages).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (path, model) = Classifiers::install(engine.dir(), all, audex_engine::now_ms())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        installed = json!({"path": path.display().to_string(), "installed_ms": model.installed_ms,
                           "trained_on": model.trained_on});
    }
    pb.finish_and_clear();
    let categories = held.categories().len();
    let v = json!({
        "pages": pages.len(), "train": train.len(), "held_out": test.len(),
        "categories": categories, "train_ms": train_ms,
        "trained": {"category": trained_acc.0, "tier1": trained_acc.1},
        "shipped": {"category": shipped_acc.0, "tier1": shipped_acc.1},
        "installed": installed,
    });
    if json {
        write_stdout(&v.to_string())?;
    } else {
        write_stdout(&format!(
            "{} pages, {categories} categories; held out {}: trained classifier {:.1} % exact category, {:.1} % tier-1; shipped {:.1} % / {:.1} %",
            pages.len(),
            test.len(),
            100.0 * trained_acc.0,
            100.0 * trained_acc.1,
            100.0 * shipped_acc.0,
            100.0 * shipped_acc.1
        ))?;
        match v["installed"]["path"].as_str() {
            Some(path) => write_stdout(&format!(
                "installed {path}: pages received from now on without categories are classified with it"
            ))?,
            None => write_stdout("dry run: nothing installed")?,
        }
    }
    Ok(0)
}

fn open_maybe_gz(path: &Path) -> Result<Box<dyn BufRead>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::GzDecoder::new(f)))
    } else {
        Box::new(BufReader::new(f))
    })
}

fn contextual_eval(corpus: &Path, as_json: bool) -> Result<i32> {
    let docs = ceval::read_ag_news(open_maybe_gz(corpus)?)?;
    let (train, test) = ceval::split(&docs);
    let pb = crate::commands::bar(3, "contextual eval");
    let t = Instant::now();
    let c = classifier()?;
    let (open, closed) = ceval::shipped_accuracy(c, &test);
    let shipped_s = t.elapsed().as_secs_f64();
    pb.inc(1);
    let mut learned = Vec::new();
    for learner in [Learner::NaiveBayes, Learner::Logistic] {
        pb.set_message(format!("{learner:?}"));
        let t = Instant::now();
        let m = ceval::train(learner, &train);
        let train_s = t.elapsed().as_secs_f64();
        let a = ceval::model_accuracy(&m, learner, &test);
        learned.push(
            json!({"learner": learner, "accuracy": a.accuracy, "per_class": a.per_class,
                            "train_seconds": train_s}),
        );
        pb.inc(1);
    }
    pb.finish_and_clear();
    let out = json!({
        "n_train": train.len(), "n_test": test.len(),
        "classes": ceval::AG_TO_IAB.iter().map(|(n, ids)| json!({"class": n, "iab": ids})).collect::<Vec<_>>(),
        "shipped": {"open": open, "closed": closed, "seconds": shipped_s,
                    "categories": c.categories()},
        "learned": learned,
    });
    if as_json {
        write_stdout(&serde_json::to_string(&out)?)?;
    } else {
        write_stdout(&format!(
            "{} test documents ({} for training)\nshipped (no corpus training): open {:.3}  closed {:.3}",
            test.len(),
            train.len(),
            open.accuracy,
            closed.accuracy
        ))?;
        for l in &learned {
            write_stdout(&format!(
                "{}: {:.3}",
                l["learner"].as_str().unwrap_or_default(),
                l["accuracy"].as_f64().unwrap_or_default()
            ))?;
        }
    }
    Ok(0)
}

fn contextual_sim_eval(sim: &Path, as_json: bool) -> Result<i32> {
    let c = classifier()?;
    let tax = audex_model::taxonomy::ContentTaxonomy::iab_3_1();
    let events = sim.join("events.ndjson");
    let (mut n, mut right, mut deep_right, mut none) = (0u64, 0u64, 0u64, 0u64);
    for line in open_maybe_gz(&events)?.lines() {
        let line = line?;
        if !line.contains("\"Publisher Page Viewed\"") {
            continue;
        }
        let v: Value = serde_json::from_str(&line)?;
        let p = &v["properties"];
        let Some(label) = p["categories"][0].as_str() else {
            continue;
        };
        let Some(root) = tax.ancestors(label).last() else {
            continue;
        };
        let page = Page {
            url: p["url"].as_str().unwrap_or_default().into(),
            title: p["title"].as_str().unwrap_or_default().into(),
            text: String::new(),
        };
        n += 1;
        let got = c.classify(&page);
        match got.first() {
            None => none += 1,
            Some(top) if top.id == root => {
                right += 1;
                if got.iter().any(|s| s.id == label) {
                    deep_right += 1;
                }
            }
            Some(_) => {}
        }
    }
    let d = n.max(1) as f64;
    let out = json!({"pages": n, "tier1_accuracy": right as f64 / d,
                     "exact_category_found": deep_right as f64 / d, "no_evidence": none});
    if as_json {
        write_stdout(&serde_json::to_string(&out)?)?;
    } else {
        write_stdout(&format!(
            "{n} publisher pages: tier-1 accuracy {:.3}, labelled category found {:.3}",
            right as f64 / d,
            deep_right as f64 / d
        ))?;
    }
    Ok(0)
}

fn recommend_show(
    cli: &Cli,
    advertiser: &str,
    identifier: &str,
    n: usize,
    now: Option<&str>,
    as_json: bool,
) -> Result<i32> {
    let now_ms = parse_now(now)?;
    let engine = open_engine(cli)?;
    let adv = engine.advertiser(advertiser)?;
    let state = adv.state()?;
    let catalog = adv.catalog()?;
    let Some(person) = audex_engine::view::find_person(&state.profiles, identifier) else {
        eprintln!("no person with identifier {identifier:?}");
        return Ok(1);
    };
    let pb = crate::commands::bar(1, "fitting recommender");
    let hs: Vec<_> = histories(&state.profiles, &catalog)
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    let model = Recommender::fit(&hs, item_categories(&catalog), Options::default());
    pb.finish_and_clear();
    let today = state.profiles.day_of(now_ms);
    let recs = model.recommend(&history_of(&state.profiles, &catalog, person), today, n);
    let rows: Vec<Value> = recs
        .iter()
        .filter_map(|r| {
            let p = catalog.by_index(r.item)?;
            Some(json!({"product_id": p.id, "title": p.title, "score": r.score, "reasons": r.reasons}))
        })
        .collect();
    if as_json {
        write_stdout(&serde_json::to_string(
            &json!({"person": person, "recommendations": rows}),
        )?)?;
    } else {
        for r in &rows {
            write_stdout(&format!(
                "{:<12} {:>7.3}  {:<40}  {}",
                r["product_id"].as_str().unwrap_or_default(),
                r["score"].as_f64().unwrap_or_default(),
                r["title"].as_str().unwrap_or_default(),
                r["reasons"]
            ))?;
        }
    }
    Ok(0)
}

fn recommend_eval(cli: &Cli, sim: &Path, n: usize, as_json: bool) -> Result<i32> {
    let taxonomy = match &cli.taxonomy {
        Some(p) => Some(audex_engine::load_taxonomy(p)?),
        None => None,
    };
    let pb = crate::commands::bar(2, "recommend eval");
    pb.set_message("building profiles");
    let t = Instant::now();
    let (store, catalog) = audex_recommend::eval::load_sim(sim, taxonomy.as_ref())?;
    let load_s = t.elapsed().as_secs_f64();
    pb.inc(1);
    pb.set_message("fitting and scoring");
    let t = Instant::now();
    let r = audex_recommend::eval::evaluate(&store, &catalog, Options::default(), n);
    let eval_s = t.elapsed().as_secs_f64();
    pb.finish_and_clear();
    if as_json {
        let mut v = serde_json::to_value(&r)?;
        v["load_seconds"] = json!(load_s);
        v["fit_and_score_seconds"] = json!(eval_s);
        v["products"] = json!(catalog.len());
        v["ablations"] = json!(
            audex_recommend::eval::ablations(&store, &catalog, n)
                .into_iter()
                .map(|(name, hit)| json!({"variant": name, "hit_rate": hit}))
                .collect::<Vec<_>>()
        );
        write_stdout(&serde_json::to_string(&v)?)?;
    } else {
        write_stdout(&format!(
            "{} held-out buyers: hit-rate@{n} {:.3} (popularity {:.3}; bought product seen before {:.3})",
            r.cases, r.model, r.popularity, r.seen_before
        ))?;
    }
    Ok(0)
}
