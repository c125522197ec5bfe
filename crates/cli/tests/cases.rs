//! Audience behaviour cases as data: every folder in `tests/cases/` (repo root) holds an
//! `events.ndjson` and a `case.json` whose `expected` member list was computed by hand from the
//! rule language's documented meaning (`crates/rules/src/ast.rs`, `kinds.rs`). This test runs
//! each case through the real `audex` binary — a fresh data directory, the case's setup
//! (advertiser time zone, contact lists, tags, saved audiences, catalog), the import, then
//! `audience members` with both evaluators — and reports every disagreement at the end.
//!
//! `case.json`:
//! ```json
//! { "description": "one line",
//!   "now": "2026-11-29T12:00:00Z",
//!   "rule": "text form",                  // or "rule_json": {..}, or "kind": {..} (typed kind)
//!   "expected": ["u1", "anon-7"],
//!   "setup": { "utc_offset": "+09:00", "lists": {"vip": ["a@b.com"]},
//!              "tags": {"foodie": "rule text"}, "audiences": {"buyers": "rule text" | {json}},
//!              "catalog": "feed.tsv" } }
//! ```
//! Set `AUDEX_CASES=substring` to run only the cases whose folder name contains it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// The folder must hold at least this many cases.
const MIN_CASES: usize = 60;

/// Name of the advertiser created for cases that set a UTC offset.
const CASE_ADVERTISER: &str = "case-shop";

const EVALUATORS: [&str; 2] = ["set", "person"];

fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// What a case asks for.
#[derive(Debug)]
enum RuleSpec {
    /// `--rule TEXT`.
    Text(String),
    /// `rule_json` or `kind`: written to a file and passed with `--file`.
    File(Value),
}

#[derive(Debug, Default)]
struct Setup {
    utc_offset: Option<String>,
    lists: Vec<(String, Vec<String>)>,
    tags: Vec<(String, String)>,
    audiences: Vec<(String, RuleSpec)>,
    catalog: Option<PathBuf>,
}

#[derive(Debug)]
struct Case {
    name: String,
    dir: PathBuf,
    description: String,
    now: String,
    rule: RuleSpec,
    expected: Vec<String>,
    setup: Setup,
}

impl Case {
    fn rule_display(&self) -> String {
        match &self.rule {
            RuleSpec::Text(t) => t.clone(),
            RuleSpec::File(v) => v.to_string(),
        }
    }
}

fn is_rfc3339(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn is_utc_offset(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b':'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
}

fn string_map(v: &Value, what: &str) -> Result<Vec<(String, String)>, String> {
    let Value::Object(m) = v else {
        return Err(format!("setup.{what} must be an object"));
    };
    m.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(format!("setup.{what}.{k} must be a string")),
        })
        .collect()
}

/// Parses and checks one case folder: valid JSON, known keys, a parseable `now`, one rule,
/// and an `events.ndjson` of JSON objects with unique `messageId`s and RFC 3339 timestamps.
fn load_case(dir: &Path) -> Result<Case, String> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(dir.join("case.json"))
        .map_err(|e| format!("reading case.json: {e}"))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("case.json is not valid JSON: {e}"))?;
    let Value::Object(obj) = &v else {
        return Err("case.json must be an object".into());
    };
    const KEYS: [&str; 7] = [
        "description",
        "now",
        "rule",
        "rule_json",
        "kind",
        "expected",
        "setup",
    ];
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("case.json has an unknown key {k:?}"));
    }
    let description = match obj.get("description") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err("case.json needs a non-empty \"description\"".into()),
    };
    let now = match obj.get("now") {
        Some(Value::String(s)) if is_rfc3339(s) => s.clone(),
        _ => return Err("case.json needs \"now\" as an RFC 3339 time".into()),
    };
    let mut rules = Vec::new();
    if let Some(r) = obj.get("rule") {
        match r {
            Value::String(s) if !s.trim().is_empty() => rules.push(RuleSpec::Text(s.clone())),
            _ => return Err("\"rule\" must be a non-empty string".into()),
        }
    }
    for key in ["rule_json", "kind"] {
        if let Some(r) = obj.get(key) {
            match r {
                Value::Object(_) => rules.push(RuleSpec::File(r.clone())),
                _ => return Err(format!("\"{key}\" must be a JSON object")),
            }
        }
    }
    if rules.len() != 1 {
        return Err("case.json needs exactly one of \"rule\", \"rule_json\", \"kind\"".into());
    }
    let rule = rules.remove(0);
    let expected: Vec<String> = match obj.get("expected") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                _ => Err("\"expected\" must hold non-empty strings".to_string()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("case.json needs \"expected\" (an array of ids)".into()),
    };
    let unique: BTreeSet<&String> = expected.iter().collect();
    if unique.len() != expected.len() {
        return Err("\"expected\" lists an id twice".into());
    }
    let mut expected = expected;
    expected.sort();

    let mut setup = Setup::default();
    if let Some(s) = obj.get("setup") {
        let Value::Object(s) = s else {
            return Err("\"setup\" must be an object".into());
        };
        for (k, v) in s {
            match k.as_str() {
                "utc_offset" => match v {
                    Value::String(o) if is_utc_offset(o) => setup.utc_offset = Some(o.clone()),
                    _ => return Err("setup.utc_offset must look like \"+09:00\"".into()),
                },
                "lists" => {
                    let Value::Object(m) = v else {
                        return Err("setup.lists must be an object".into());
                    };
                    for (list, entries) in m {
                        let Value::Array(items) = entries else {
                            return Err(format!("setup.lists.{list} must be an array"));
                        };
                        let mut lines = Vec::new();
                        for i in items {
                            match i {
                                Value::String(s) => lines.push(s.clone()),
                                _ => return Err(format!("setup.lists.{list} must hold strings")),
                            }
                        }
                        setup.lists.push((list.clone(), lines));
                    }
                }
                "tags" => setup.tags = string_map(v, "tags")?,
                "audiences" => {
                    let Value::Object(m) = v else {
                        return Err("setup.audiences must be an object".into());
                    };
                    for (a, r) in m {
                        let spec = match r {
                            Value::String(t) => RuleSpec::Text(t.clone()),
                            Value::Object(_) => RuleSpec::File(r.clone()),
                            _ => {
                                return Err(format!(
                                    "setup.audiences.{a} must be rule text or a JSON object"
                                ));
                            }
                        };
                        setup.audiences.push((a.clone(), spec));
                    }
                }
                "catalog" => match v {
                    Value::String(f) => {
                        let p = dir.join(f);
                        if !p.is_file() {
                            return Err(format!("setup.catalog: {} does not exist", p.display()));
                        }
                        setup.catalog = Some(p);
                    }
                    _ => return Err("setup.catalog must be a file name".into()),
                },
                other => return Err(format!("setup has an unknown key {other:?}")),
            }
        }
    }

    let events = std::fs::read_to_string(dir.join("events.ndjson"))
        .map_err(|e| format!("reading events.ndjson: {e}"))?;
    let mut ids = BTreeSet::new();
    for (i, line) in events.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let ev: Value = serde_json::from_str(line)
            .map_err(|e| format!("events.ndjson:{n}: not valid JSON: {e}"))?;
        let Value::Object(ev) = ev else {
            return Err(format!("events.ndjson:{n}: not a JSON object"));
        };
        match ev.get("type") {
            Some(Value::String(_)) => {}
            _ => return Err(format!("events.ndjson:{n}: no \"type\"")),
        }
        match ev.get("messageId") {
            Some(Value::String(m)) if !m.is_empty() => {
                if !ids.insert(m.clone()) {
                    return Err(format!("events.ndjson:{n}: messageId {m:?} is used twice"));
                }
            }
            _ => return Err(format!("events.ndjson:{n}: no \"messageId\"")),
        }
        match ev.get("timestamp") {
            Some(Value::String(t)) if is_rfc3339(t) => {}
            _ => return Err(format!("events.ndjson:{n}: no RFC 3339 \"timestamp\"")),
        }
    }
    Ok(Case {
        name,
        dir: dir.to_path_buf(),
        description,
        now,
        rule,
        expected,
        setup,
    })
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn audex(data: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_audex"))
        .current_dir(repo_root())
        .env_remove("AUDEX_DATA")
        .env("AUDEX_LOG", "warn")
        .arg("--data")
        .arg(data)
        .args(args)
        .output();
    match out {
        Ok(o) => Run {
            ok: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Err(e) => Run {
            ok: false,
            stdout: String::new(),
            stderr: format!("could not start audex: {e}"),
        },
    }
}

fn indent(s: &str) -> String {
    let s = s.trim_end();
    if s.is_empty() {
        return "      (empty)".into();
    }
    s.lines()
        .take(30)
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn failed_step(what: &str, args: &[&str], r: &Run) -> String {
    format!(
        "  {what} failed: audex {}\n    stdout:\n{}\n    stderr:\n{}",
        args.join(" "),
        indent(&r.stdout),
        indent(&r.stderr)
    )
}

/// The number of rejected events in `import`'s summary line (`…, 2 rejected in 0.1s …`).
fn rejected_count(stdout: &str) -> Option<u64> {
    stdout
        .split(", ")
        .find_map(|part| part.split_once(" rejected").map(|(n, _)| n.trim()))
        .and_then(|n| n.parse().ok())
}

/// Builds `[verb.., --advertiser A, rest..]`.
fn with_adv<'a>(verb: &[&'a str], adv: Option<&'a str>, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = verb.to_vec();
    if let Some(a) = adv {
        v.extend(["--advertiser", a]);
    }
    v.extend_from_slice(rest);
    v
}

fn write_json(dir: &Path, name: &str, v: &Value) -> Result<String, String> {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap_or_default())
        .map_err(|e| format!("writing {}: {e}", p.display()))?;
    Ok(p.to_string_lossy().into_owned())
}

/// Runs one case; returns the report lines of what went wrong (empty = passed).
fn run_case(case: &Case) -> Vec<String> {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => return vec![format!("  tempdir: {e}")],
    };
    let data = tmp.path().join("data");
    let data = data.as_path();
    let files = tmp.path();
    let adv = case.setup.utc_offset.as_ref().map(|_| CASE_ADVERTISER);

    // Advertiser with its UTC offset.
    if let Some(offset) = &case.setup.utc_offset {
        let args = [
            "advertiser",
            "create",
            CASE_ADVERTISER,
            "--utc-offset",
            offset,
        ];
        let r = audex(data, &args);
        if !r.ok {
            return vec![failed_step("advertiser create", &args, &r)];
        }
    }
    // Catalog before events: events are enriched from it as they are applied.
    if let Some(feed) = &case.setup.catalog {
        let feed = feed.to_string_lossy().into_owned();
        let args = with_adv(&["catalog", "import"], adv, &[&feed]);
        let r = audex(data, &args);
        if !r.ok {
            return vec![failed_step("catalog import", &args, &r)];
        }
    }
    // Contact lists.
    for (i, (list, entries)) in case.setup.lists.iter().enumerate() {
        let p = files.join(format!("list-{i}.txt"));
        if let Err(e) = std::fs::write(&p, entries.join("\n") + "\n") {
            return vec![format!("  writing list file: {e}")];
        }
        let p = p.to_string_lossy().into_owned();
        let args = with_adv(&["list", "import"], adv, &[list, &p]);
        let r = audex(data, &args);
        if !r.ok {
            return vec![failed_step("list import", &args, &r)];
        }
    }
    // Events.
    let events = case
        .dir
        .join("events.ndjson")
        .to_string_lossy()
        .into_owned();
    let args = with_adv(
        &["import"],
        adv,
        &[&events, "--allow-rejects", "--no-snapshot"],
    );
    let r = audex(data, &args);
    if !r.ok {
        return vec![failed_step("import", &args, &r)];
    }
    if let Some(n) = rejected_count(&r.stdout).filter(|n| *n > 0) {
        return vec![format!(
            "  import rejected {n} event(s) (every case event must be valid):\n{}",
            indent(&r.stderr)
        )];
    }
    // Tags, then saved audiences (an audience may name another: retry until none progresses).
    for (tag, rule) in &case.setup.tags {
        let args = with_adv(&["tag", "create"], adv, &[tag, "--rule", rule]);
        let r = audex(data, &args);
        if !r.ok {
            return vec![failed_step("tag create", &args, &r)];
        }
    }
    let mut pending: Vec<usize> = (0..case.setup.audiences.len()).collect();
    while !pending.is_empty() {
        let mut left = Vec::new();
        let mut last_error = String::new();
        for &i in &pending {
            let (name, spec) = &case.setup.audiences[i];
            let file;
            let args = match spec {
                RuleSpec::Text(t) => {
                    with_adv(&["audience", "create"], adv, &["--name", name, "--rule", t])
                }
                RuleSpec::File(v) => {
                    file = match write_json(files, &format!("audience-{i}.json"), v) {
                        Ok(f) => f,
                        Err(e) => return vec![format!("  {e}")],
                    };
                    with_adv(
                        &["audience", "create"],
                        adv,
                        &["--name", name, "--file", &file],
                    )
                }
            };
            let r = audex(data, &args);
            if !r.ok {
                last_error = failed_step("audience create", &args, &r);
                left.push(i);
            }
        }
        if left.len() == pending.len() {
            return vec![last_error];
        }
        pending = left;
    }

    // Members, with both evaluators.
    let rule_file = match &case.rule {
        RuleSpec::Text(_) => None,
        RuleSpec::File(v) => match write_json(files, "rule.json", v) {
            Ok(f) => Some(f),
            Err(e) => return vec![format!("  {e}")],
        },
    };
    let mut report = Vec::new();
    for ev in EVALUATORS {
        let rule_args: [&str; 2] = match (&case.rule, &rule_file) {
            (RuleSpec::Text(t), _) => ["--rule", t],
            (RuleSpec::File(_), Some(f)) => ["--file", f],
            (RuleSpec::File(_), None) => unreachable!("rule file written above"),
        };
        let mut rest: Vec<&str> = rule_args.to_vec();
        rest.extend(["--now", &case.now, "--format", "ids", "--evaluator", ev]);
        let args = with_adv(&["audience", "members"], adv, &rest);
        let r = audex(data, &args);
        if !r.ok {
            report.push(failed_step(
                &format!("members (--evaluator {ev})"),
                &args,
                &r,
            ));
            continue;
        }
        let got: Vec<String> = r
            .stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if got == case.expected {
            continue;
        }
        let mut sorted = got.clone();
        sorted.sort();
        let exp: BTreeSet<&String> = case.expected.iter().collect();
        let gotset: BTreeSet<&String> = got.iter().collect();
        let missing: Vec<&&String> = exp.difference(&gotset).collect();
        let unexpected: Vec<&&String> = gotset.difference(&exp).collect();
        let mut line = format!(
            "  evaluator {ev}: expected {:?}\n    {:>width$} got      {:?}",
            case.expected,
            "",
            got,
            width = ev.len() + 10
        );
        if sorted == case.expected {
            line.push_str("\n    (same members, but not printed in sorted order)");
        } else {
            line.push_str(&format!(
                "\n    missing {missing:?}, unexpected {unexpected:?}"
            ));
        }
        if !r.stderr.trim().is_empty() {
            line.push_str(&format!("\n    stderr:\n{}", indent(&r.stderr)));
        }
        report.push(line);
    }
    report
}

#[test]
fn audience_cases() {
    let root = repo_root().join("tests/cases");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= MIN_CASES,
        "tests/cases holds {} cases; at least {MIN_CASES} are required",
        dirs.len()
    );

    // Check every case file first, so a malformed case is reported as such.
    let mut invalid = Vec::new();
    let mut cases = Vec::new();
    for d in &dirs {
        match load_case(d) {
            Ok(c) => cases.push(c),
            Err(e) => invalid.push(format!(
                "{}: invalid case: {e}",
                d.file_name().unwrap_or_default().to_string_lossy()
            )),
        }
    }
    if let Ok(filter) = std::env::var("AUDEX_CASES") {
        cases.retain(|c| c.name.contains(&filter));
    }

    let results: Mutex<BTreeMap<usize, Vec<String>>> = Mutex::new(BTreeMap::new());
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(4)
        .clamp(1, 8);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    let report = run_case(case);
                    if !report.is_empty() {
                        results
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(i, report);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());

    let mut out = String::new();
    for e in &invalid {
        out.push_str(e);
        out.push('\n');
    }
    for (i, report) in &results {
        let c = &cases[*i];
        out.push_str(&format!(
            "\n{}: {}\n  now {}  rule: {}\n{}\n",
            c.name,
            c.description,
            c.now,
            c.rule_display(),
            report.join("\n")
        ));
    }
    if !invalid.is_empty() || !results.is_empty() {
        panic!(
            "{} of {} cases failed, {} invalid:\n{out}",
            results.len(),
            cases.len(),
            invalid.len()
        );
    }
    eprintln!("{} audience cases passed", cases.len());
}
