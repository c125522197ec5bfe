//! `audex audience …`, `audex list …`, `audex tag …`: defining audiences and reading membership.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use audex_engine::Advertiser;
use audex_rules::{FunnelStage, Rule};
use clap::{Args, Subcommand, ValueEnum};
use roaring::RoaringBitmap;
use serde_json::json;

use crate::Cli;
use crate::commands::{AdvertiserArg, open_engine, parse_now, write_stdout};

/// A definition given inline, from a file, or by a saved audience's name.
#[derive(Args, Clone)]
pub struct DefinitionArgs {
    /// Saved audience id or name.
    pub audience: Option<String>,
    /// Rule in the text form, e.g. `order_completed within 30d and not visit within 7d`.
    #[arg(long, conflicts_with = "audience")]
    pub rule: Option<String>,
    /// JSON file: a rule in the JSON form, or a typed definition (`{"name":…, "kind": {"retargeting": {…}}}`).
    #[arg(long, conflicts_with_all = ["audience", "rule"])]
    pub file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Stage {
    Awareness,
    Consideration,
    Conversion,
}

impl From<Stage> for FunnelStage {
    fn from(s: Stage) -> FunnelStage {
        match s {
            Stage::Awareness => FunnelStage::Awareness,
            Stage::Consideration => FunnelStage::Consideration,
            Stage::Conversion => FunnelStage::Conversion,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum MemberFormat {
    /// person, primary_id, user_id, anonymous_ids, email_sha256 (CSV with header).
    Csv,
    /// One JSON object per member.
    Ndjson,
    /// Primary identifiers only, one per line, sorted.
    Ids,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Evaluator {
    /// Set at a time over bitmap indexes (the default).
    Set,
    /// Person by person (the streaming evaluator).
    Person,
}

#[derive(Subcommand)]
pub enum AudienceCommand {
    /// Save an audience.
    Create {
        #[command(flatten)]
        adv: AdvertiserArg,
        #[arg(long)]
        name: String,
        #[arg(long)]
        rule: Option<String>,
        #[arg(long, conflicts_with = "rule")]
        file: Option<PathBuf>,
        #[arg(long, value_enum)]
        funnel_stage: Option<Stage>,
        #[arg(long)]
        json: bool,
    },
    /// Replace a saved audience's definition.
    Update {
        #[command(flatten)]
        adv: AdvertiserArg,
        audience: String,
        #[arg(long)]
        rule: Option<String>,
        #[arg(long, conflicts_with = "rule")]
        file: Option<PathBuf>,
        #[arg(long, value_enum)]
        funnel_stage: Option<Stage>,
    },
    /// Delete a saved audience.
    Delete {
        #[command(flatten)]
        adv: AdvertiserArg,
        audience: String,
    },
    /// List saved audiences with their sizes now.
    List {
        #[command(flatten)]
        adv: AdvertiserArg,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        now: Option<String>,
    },
    /// Show one saved audience: definition, compiled rule, size.
    Show {
        #[command(flatten)]
        adv: AdvertiserArg,
        audience: String,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        now: Option<String>,
    },
    /// Exact size of a saved audience or an unsaved definition.
    Size {
        #[command(flatten)]
        adv: AdvertiserArg,
        #[command(flatten)]
        def: DefinitionArgs,
        #[arg(long)]
        now: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Export members (no row cap).
    Members {
        #[command(flatten)]
        adv: AdvertiserArg,
        #[command(flatten)]
        def: DefinitionArgs,
        #[arg(long)]
        now: Option<String>,
        #[arg(long, value_enum, default_value = "csv")]
        format: MemberFormat,
        #[arg(long, value_enum, default_value = "set")]
        evaluator: Evaluator,
    },
    /// Why a person is or is not a member.
    Explain {
        #[command(flatten)]
        adv: AdvertiserArg,
        #[command(flatten)]
        def: DefinitionArgs,
        /// The person: any identifier.
        #[arg(long)]
        person: String,
        #[arg(long)]
        now: Option<String>,
    },
    /// Overlap of two saved audiences.
    Overlap {
        #[command(flatten)]
        adv: AdvertiserArg,
        a: String,
        b: String,
        #[arg(long)]
        now: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Campaign report: each ad campaign's cost and results among the members (CPM, CTR, cost
    /// per qualified visit, cost per order, ROAS; orders credited by last touch within 30 days).
    Report {
        #[command(flatten)]
        adv: AdvertiserArg,
        audience: String,
        #[arg(long)]
        now: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Entries and exits over time (re-evaluates first, recording what aging changed).
    History {
        #[command(flatten)]
        adv: AdvertiserArg,
        audience: Option<String>,
        #[arg(long)]
        now: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Re-evaluate every saved audience now and record entries and exits caused by time.
    Sweep {
        #[command(flatten)]
        adv: AdvertiserArg,
        #[arg(long)]
        now: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ListCommand {
    /// Upload (replace) a contact list: one email, E.164 phone or SHA-256 hex per line.
    Import {
        #[command(flatten)]
        adv: AdvertiserArg,
        name: String,
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum TagCommand {
    /// Define a behavioral tag by a rule (usable as `tag NAME` in rules).
    Create {
        #[command(flatten)]
        adv: AdvertiserArg,
        name: String,
        #[arg(long)]
        rule: String,
    },
    /// List tags.
    List {
        #[command(flatten)]
        adv: AdvertiserArg,
    },
}

fn read_file(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The rule of a definition argument (saved audience, text, or JSON file).
fn resolve_rule(adv: &Advertiser, def: &DefinitionArgs) -> Result<Rule> {
    if let Some(text) = &def.rule {
        return audex_rules::parse(text).map_err(|e| anyhow::anyhow!("rule {e}"));
    }
    if let Some(path) = &def.file {
        let d = audex_engine::audiences::definition_from(
            "unsaved",
            None,
            Some(&read_file(path)?),
            None,
        )?;
        return Ok(d.compile()?);
    }
    let Some(name) = &def.audience else {
        bail!("name a saved audience, or give --rule TEXT or --file JSON");
    };
    let defs = adv.definitions()?;
    let a = defs
        .audience(name)
        .with_context(|| format!("no audience {name:?}"))?;
    Ok(a.definition.compile()?)
}

fn members_of(
    adv: &Advertiser,
    rule: &Rule,
    now: i64,
    evaluator: Evaluator,
) -> Result<RoaringBitmap> {
    Ok(match evaluator {
        Evaluator::Set => adv.evaluate(rule, now)?,
        Evaluator::Person => adv.evaluate_per_person(rule, now)?,
    })
}

/// Runs an audience verb.
pub fn audience(cli: &Cli, command: &AudienceCommand) -> Result<i32> {
    let engine = open_engine(cli)?;
    match command {
        AudienceCommand::Create {
            adv,
            name,
            rule,
            file,
            funnel_stage,
            json,
        } => {
            let a = engine.advertiser(&adv.advertiser)?;
            let text = file.as_ref().map(read_file).transpose()?;
            let def = audex_engine::audiences::definition_from(
                name,
                rule.as_deref(),
                text.as_deref(),
                funnel_stage.map(Into::into),
            )?;
            let saved = a.create_audience(def)?;
            let report = a.refresh_memberships(audex_engine::now_ms(), "definition")?;
            let size = a
                .evaluate(&saved.definition.compile()?, audex_engine::now_ms())?
                .len();
            if *json {
                write_stdout(&json!({"id": saved.id, "name": saved.name(), "size": size, "entered": report.entered}).to_string())?;
            } else {
                write_stdout(&format!(
                    "audience {} ({}) saved: {} members now",
                    saved.name(),
                    saved.id,
                    size
                ))?;
            }
        }
        AudienceCommand::Update {
            adv,
            audience,
            rule,
            file,
            funnel_stage,
        } => {
            let a = engine.advertiser(&adv.advertiser)?;
            let text = file.as_ref().map(read_file).transpose()?;
            let name = a
                .definitions()?
                .audience(audience)
                .map(|x| x.name().to_string())
                .with_context(|| format!("no audience {audience:?}"))?;
            let def = audex_engine::audiences::definition_from(
                &name,
                rule.as_deref(),
                text.as_deref(),
                funnel_stage.map(Into::into),
            )?;
            let saved = a.update_audience(audience, def)?;
            a.refresh_memberships(audex_engine::now_ms(), "definition")?;
            write_stdout(&format!("audience {} ({}) updated", saved.name(), saved.id))?;
        }
        AudienceCommand::Delete { adv, audience } => {
            let a = engine.advertiser(&adv.advertiser)?;
            let gone = a.delete_audience(audience)?;
            write_stdout(&format!("audience {} ({}) deleted", gone.name(), gone.id))?;
        }
        AudienceCommand::List { adv, json, now } => {
            let now = parse_now(now.as_deref())?;
            let a = engine.advertiser(&adv.advertiser)?;
            let defs = a.definitions()?.clone();
            let mut rows = Vec::new();
            for s in &defs.audiences {
                let size = a.evaluate(&s.definition.compile()?, now)?.len();
                rows.push(
                    json!({"id": s.id, "name": s.name(), "kind": s.definition.kind.key(),
                    "funnel_stage": s.funnel_stage(), "size": size}),
                );
            }
            if *json {
                write_stdout(&serde_json::Value::Array(rows).to_string())?;
            } else {
                let mut out = String::from("id\tname\tkind\tfunnel_stage\tsize");
                for r in rows {
                    out.push_str(&format!(
                        "\n{}\t{}\t{}\t{}\t{}",
                        r["id"].as_str().unwrap_or(""),
                        r["name"].as_str().unwrap_or(""),
                        r["kind"].as_str().unwrap_or(""),
                        r["funnel_stage"].as_str().unwrap_or(""),
                        r["size"]
                    ));
                }
                write_stdout(&out)?;
            }
        }
        AudienceCommand::Show {
            adv,
            audience,
            json,
            now,
        } => {
            let now = parse_now(now.as_deref())?;
            let a = engine.advertiser(&adv.advertiser)?;
            let s = a
                .definitions()?
                .audience(audience)
                .cloned()
                .with_context(|| format!("no audience {audience:?}"))?;
            let rule = s.definition.compile()?;
            let size = a.evaluate(&rule, now)?.len();
            let v = json!({"id": s.id, "name": s.name(), "funnel_stage": s.funnel_stage(),
                "definition": s.definition, "rule": rule.to_text(), "rule_json": rule.to_json(), "size": size});
            write_stdout(&if *json {
                v.to_string()
            } else {
                serde_json::to_string_pretty(&v)?
            })?;
        }
        AudienceCommand::Size {
            adv,
            def,
            now,
            json,
        } => {
            let now = parse_now(now.as_deref())?;
            let a = engine.advertiser(&adv.advertiser)?;
            let rule = resolve_rule(&a, def)?;
            let t = Instant::now();
            let size = a.evaluate(&rule, now)?.len();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let people = a.state()?.profiles.people();
            if *json {
                write_stdout(&json!({"size": size, "people": people, "ms": ms}).to_string())?;
            } else {
                write_stdout(&format!(
                    "{size} of {people} people ({:.1}%), evaluated in {ms:.1} ms",
                    100.0 * size as f64 / people.max(1) as f64
                ))?;
            }
        }
        AudienceCommand::Members {
            adv,
            def,
            now,
            format,
            evaluator,
        } => {
            let now = parse_now(now.as_deref())?;
            let a = engine.advertiser(&adv.advertiser)?;
            let rule = resolve_rule(&a, def)?;
            let members = members_of(&a, &rule, now, *evaluator)?;
            export(&a, &members, *format)?;
        }
        AudienceCommand::Explain {
            adv,
            def,
            person,
            now,
        } => {
            let now = parse_now(now.as_deref())?;
            let a = engine.advertiser(&adv.advertiser)?;
            let rule = resolve_rule(&a, def)?;
            let who = {
                let state = a.state()?;
                audex_engine::view::find_person(&state.profiles, person)
                    .with_context(|| format!("no person with identifier {person:?}"))?
            };
            let v = a.with_context(|ctx, _| Ok(audex_index::explain(ctx, who, &rule, now)?))?;
            write_stdout(&serde_json::to_string_pretty(&v)?)?;
        }
        AudienceCommand::Overlap {
            adv,
            a: x,
            b: y,
            now,
            json,
        } => {
            let now = parse_now(now.as_deref())?;
            let a = engine.advertiser(&adv.advertiser)?;
            let rule_of = |n: &str| -> Result<Rule> {
                let defs = a.definitions()?;
                Ok(defs
                    .audience(n)
                    .with_context(|| format!("no audience {n:?}"))?
                    .definition
                    .compile()?)
            };
            let (ra, rb) = (rule_of(x)?, rule_of(y)?);
            let (ma, mb) = (a.evaluate(&ra, now)?, a.evaluate(&rb, now)?);
            let both = (&ma & &mb).len();
            let union = (&ma | &mb).len();
            let jaccard = if union > 0 {
                both as f64 / union as f64
            } else {
                0.0
            };
            if *json {
                write_stdout(&json!({"a": ma.len(), "b": mb.len(), "both": both, "only_a": ma.len() - both, "only_b": mb.len() - both, "jaccard": jaccard}).to_string())?;
            } else {
                write_stdout(&format!(
                    "{x}: {}  {y}: {}  both: {both}  only {x}: {}  only {y}: {}  jaccard {jaccard:.3}",
                    ma.len(),
                    mb.len(),
                    ma.len() - both,
                    mb.len() - both
                ))?;
            }
        }
        AudienceCommand::History {
            adv,
            audience,
            now,
            json,
        } => {
            let now = parse_now(now.as_deref())?;
            let a = engine.advertiser(&adv.advertiser)?;
            a.refresh_memberships(now, "time")?;
            let history = a.history(audience.as_deref())?;
            let state = a.state()?;
            let mut out = String::new();
            for t in &history {
                let who = Advertiser::primary_id(&state.profiles, t.person);
                let at = chrono::DateTime::from_timestamp_millis(t.at_ms)
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_default();
                if *json {
                    out.push_str(&json!({"audience": t.audience, "person": who, "entered": t.entered, "at": at, "cause": t.cause}).to_string());
                } else {
                    out.push_str(&format!(
                        "{at}\t{}\t{}\t{who}\t{}",
                        t.audience,
                        if t.entered { "enter" } else { "exit" },
                        t.cause
                    ));
                }
                out.push('\n');
            }
            write_stdout(out.trim_end())?;
        }
        AudienceCommand::Report {
            adv,
            audience,
            now,
            json,
        } => {
            let now = parse_now(now.as_deref())?;
            let a = engine.advertiser(&adv.advertiser)?;
            let (aud, r) = a.audience_report(audience, now)?;
            if *json {
                write_stdout(
                    &json!({"id": aud.id, "name": aud.name(), "members": r.members,
                        "reached": r.total.reached, "attribution_days": audex_engine::reports::ATTRIBUTION_DAYS,
                        "campaigns": r.campaigns, "total": r.total})
                    .to_string(),
                )?;
            } else {
                let money = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.2}"));
                let mut out = format!(
                    "{} ({}): {} members, {} reached by ads\n{:<24} {:>8} {:>10} {:>7} {:>10} {:>8} {:>6} {:>7} {:>9} {:>10} {:>9} {:>6}\n",
                    aud.name(),
                    aud.id,
                    r.members,
                    r.total.reached,
                    "campaign",
                    "reached",
                    "impr.",
                    "clicks",
                    "cost",
                    "CPM",
                    "CTR %",
                    "q.visits",
                    "cost/q.v.",
                    "orders",
                    "cost/ord.",
                    "ROAS"
                );
                for c in r.campaigns.iter().chain([&r.total]) {
                    out.push_str(&format!(
                        "{:<24} {:>8} {:>10} {:>7} {:>10.2} {:>8} {:>6} {:>7} {:>9} {:>10} {:>9} {:>6}\n",
                        c.campaign_id,
                        c.reached,
                        c.impressions,
                        c.clicks,
                        c.cost,
                        money(c.cpm),
                        c.ctr.map_or("—".to_string(), |x| format!("{:.2}", x * 100.0)),
                        c.qualified_visits,
                        money(c.cost_per_qualified_visit),
                        c.orders,
                        money(c.cost_per_order),
                        money(c.roas),
                    ));
                }
                write_stdout(out.trim_end())?;
            }
        }
        AudienceCommand::Sweep { adv, now } => {
            let now = parse_now(now.as_deref())?;
            let a = engine.advertiser(&adv.advertiser)?;
            let r = a.refresh_memberships(now, "time")?;
            write_stdout(&format!(
                "{} audiences: {} entered, {} left",
                r.audiences, r.entered, r.left
            ))?;
        }
    }
    Ok(0)
}

/// Writes members in the chosen format, streaming (no row cap).
fn export(adv: &Advertiser, members: &RoaringBitmap, format: MemberFormat) -> Result<()> {
    let state = adv.state()?;
    let store = &state.profiles;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = (|| -> std::io::Result<()> {
        match format {
            MemberFormat::Ids => {
                let mut ids: Vec<String> = members
                    .iter()
                    .map(|p| Advertiser::primary_id(store, p))
                    .collect();
                ids.sort();
                for id in ids {
                    writeln!(out, "{id}")?;
                }
            }
            MemberFormat::Csv | MemberFormat::Ndjson => {
                if format == MemberFormat::Csv {
                    writeln!(out, "person,primary_id,user_id,anonymous_ids,email_sha256")?;
                }
                for p in members {
                    let ids = store.identity.ids_of(p);
                    let of = |k: audex_model::event::IdKind| -> Vec<&str> {
                        ids.iter()
                            .filter(|i| i.kind == k)
                            .map(|i| i.value.as_str())
                            .collect()
                    };
                    let primary = Advertiser::primary_id(store, p);
                    let user = of(audex_model::event::IdKind::UserId);
                    let anon = of(audex_model::event::IdKind::AnonymousId);
                    let email = of(audex_model::event::IdKind::EmailSha256);
                    if format == MemberFormat::Csv {
                        writeln!(
                            out,
                            "{p},{},{},{},{}",
                            csv(&primary),
                            csv(&user.join(" ")),
                            csv(&anon.join(" ")),
                            csv(&email.join(" "))
                        )?;
                    } else {
                        writeln!(
                            out,
                            "{}",
                            json!({"person": p, "primary_id": primary, "user_id": user, "anonymous_ids": anon, "email_sha256": email})
                        )?;
                    }
                }
            }
        }
        out.flush()
    })();
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Runs a list verb.
pub fn list(cli: &Cli, command: &ListCommand) -> Result<i32> {
    let engine = open_engine(cli)?;
    match command {
        ListCommand::Import {
            adv,
            name,
            file,
            json,
        } => {
            let a = engine.advertiser(&adv.advertiser)?;
            let lines: Vec<String> = read_file(file)?.lines().map(str::to_owned).collect();
            let r = a.import_list(name, &lines)?;
            if *json {
                write_stdout(&serde_json::to_string(&r)?)?;
            } else {
                write_stdout(&format!(
                    "list {name} ({}): {} lines, {} invalid, {} distinct identifiers, {} people matched (match rate {:.1}%)",
                    r.id,
                    r.uploaded,
                    r.invalid,
                    r.distinct,
                    r.matched_people,
                    100.0 * r.match_rate
                ))?;
            }
        }
    }
    Ok(0)
}

/// Runs a tag verb.
pub fn tag(cli: &Cli, command: &TagCommand) -> Result<i32> {
    let engine = open_engine(cli)?;
    match command {
        TagCommand::Create { adv, name, rule } => {
            engine.advertiser(&adv.advertiser)?.set_tag(name, rule)?;
            write_stdout(&format!("tag {name} defined"))?;
        }
        TagCommand::List { adv } => {
            let a = engine.advertiser(&adv.advertiser)?;
            let defs = a.definitions()?;
            let out: Vec<String> = defs.tags.iter().map(|(n, r)| format!("{n}\t{r}")).collect();
            write_stdout(&out.join("\n"))?;
        }
    }
    Ok(0)
}
