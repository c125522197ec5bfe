//! Saved audiences, contact lists and behavioral tags of one advertiser, and their membership
//! over time.
//!
//! Definitions live in `definitions.json` (not derived from the log, so written durably on each
//! change). Membership of saved audiences is kept as bitmaps with the time they were last
//! evaluated; every entry and exit is appended to `history.ndjson` with its timestamp, whether
//! caused by new events ([`crate::Advertiser::ingest`] updates the people it touched) or by time
//! passing (a sweep, [`crate::Advertiser::refresh_memberships`]).

use std::io::Write;
use std::path::Path;

use audex_index::{Context, Index};
use audex_model::event::{IdKind, Identifier};
use audex_model::normalize::{is_sha256_hex, normalize_email, normalize_phone, sha256_hex};
use audex_profile::{PersonId, ProfileStore};
use audex_rules::{AudienceDef, AudienceKind, FunnelStage, Rule};
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::EngineError;
use crate::fsutil::write_atomic;

/// A saved audience.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedAudience {
    /// Stable id (`aud_…`).
    pub id: String,
    pub definition: AudienceDef,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl SavedAudience {
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    pub fn funnel_stage(&self) -> FunnelStage {
        self.definition.funnel_stage()
    }
}

/// An uploaded contact list: SHA-256 hex of normalised emails and phones.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ContactList {
    pub id: String,
    pub name: String,
    pub hashes: Vec<String>,
    /// Lines uploaded in all, and how many could not be normalised.
    pub uploaded: u64,
    pub invalid: u64,
    pub updated_ms: i64,
}

/// Everything of an advertiser that is defined rather than derived.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Definitions {
    pub audiences: Vec<SavedAudience>,
    pub lists: Vec<ContactList>,
    /// Behavioral tags defined by rules: name → rule text.
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub next_id: u64,
}

impl Definitions {
    pub(crate) fn load(path: &Path) -> Result<Definitions, EngineError> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| EngineError::Registry {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Definitions::default()),
            Err(e) => Err(EngineError::io(path, e)),
        }
    }

    pub(crate) fn save(&self, path: &Path) -> Result<(), EngineError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| EngineError::Registry {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        write_atomic(path, &bytes)
    }

    /// A saved audience by id or name.
    pub fn audience(&self, id_or_name: &str) -> Option<&SavedAudience> {
        self.audiences
            .iter()
            .find(|a| a.id == id_or_name)
            .or_else(|| self.audiences.iter().find(|a| a.name() == id_or_name))
    }

    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    /// Rules of saved audiences by id and by name (for `in_audience`).
    pub fn audience_rules(&self) -> Result<FxHashMap<String, Rule>, EngineError> {
        let mut out = FxHashMap::default();
        for a in &self.audiences {
            let rule = a
                .definition
                .compile()
                .map_err(|e| EngineError::Invalid(format!("audience {:?}: {e}", a.name())))?;
            out.insert(a.id.clone(), rule.clone());
            out.insert(a.name().to_string(), rule);
        }
        Ok(out)
    }

    /// Rules of tags by name.
    pub fn tag_rules(&self) -> Result<FxHashMap<String, Rule>, EngineError> {
        self.tags
            .iter()
            .map(|(name, text)| {
                audex_rules::parse(text)
                    .map(|r| (name.clone(), r))
                    .map_err(|e| EngineError::Invalid(format!("tag {name:?}: {e}")))
            })
            .collect()
    }
}

/// Checks that audiences and tags refer only to existing audiences and lists, without cycles.
pub fn check_references(defs: &Definitions) -> Result<(), EngineError> {
    use audex_rules::Predicate;
    let audiences = defs.audience_rules()?;
    let tags = defs.tag_rules()?;
    let lists: Vec<&str> = defs
        .lists
        .iter()
        .flat_map(|l| [l.id.as_str(), l.name.as_str()])
        .collect();
    // Depth-first walk; `path` holds the references being expanded.
    fn walk(
        name: &str,
        rule: &Rule,
        audiences: &FxHashMap<String, Rule>,
        tags: &FxHashMap<String, Rule>,
        lists: &[&str],
        path: &mut Vec<String>,
    ) -> Result<(), EngineError> {
        if path.iter().any(|p| p == name) {
            path.push(name.to_string());
            return Err(EngineError::Invalid(format!(
                "audiences or tags refer to each other in a cycle: {}",
                path.join(" → ")
            )));
        }
        path.push(name.to_string());
        for pred in rule.predicates() {
            match pred {
                Predicate::InAudience(a) => {
                    let target = audiences.get(&a.audience).ok_or_else(|| {
                        EngineError::Invalid(format!(
                            "{name:?} refers to unknown audience {:?}",
                            a.audience
                        ))
                    })?;
                    walk(
                        &format!("audience {}", a.audience),
                        target,
                        audiences,
                        tags,
                        lists,
                        path,
                    )?;
                }
                Predicate::Tag(t) => {
                    if let Some(target) = tags.get(&t.name) {
                        walk(
                            &format!("tag {}", t.name),
                            target,
                            audiences,
                            tags,
                            lists,
                            path,
                        )?;
                    }
                }
                Predicate::InList(l) if !lists.contains(&l.list.as_str()) => {
                    return Err(EngineError::Invalid(format!(
                        "{name:?} refers to unknown contact list {:?}",
                        l.list
                    )));
                }
                _ => {}
            }
        }
        path.pop();
        Ok(())
    }
    for a in &defs.audiences {
        if let Some(rule) = audiences.get(&a.id) {
            walk(
                &format!("audience {}", a.name()),
                rule,
                &audiences,
                &tags,
                &lists,
                &mut Vec::new(),
            )?;
        }
    }
    for (name, rule) in &tags {
        walk(
            &format!("tag {name}"),
            rule,
            &audiences,
            &tags,
            &lists,
            &mut Vec::new(),
        )?;
    }
    Ok(())
}

/// Normalises one uploaded contact line to a SHA-256 hex: an email, an E.164 phone, or a hash.
pub fn contact_hash(line: &str) -> Option<String> {
    let t = line.trim();
    if t.is_empty() {
        return None;
    }
    if t.len() == 64 && is_sha256_hex(&t.to_ascii_lowercase()) {
        return Some(t.to_ascii_lowercase());
    }
    if t.contains('@') {
        return normalize_email(t).map(|e| sha256_hex(&e));
    }
    normalize_phone(t, None).map(|p| sha256_hex(&p))
}

/// The people whose identifiers are on a contact list (roots).
pub fn list_members(store: &ProfileStore, list: &ContactList) -> RoaringBitmap {
    let mut out = RoaringBitmap::new();
    for h in &list.hashes {
        for kind in [IdKind::EmailSha256, IdKind::PhoneSha256] {
            if let Some(p) = store.person(&Identifier::new(kind, h.clone())) {
                out.insert(p);
            }
        }
    }
    out
}

/// Builds the evaluation context: lists resolved to people, saved audiences and tags as rules.
pub fn context<'a>(
    store: &'a ProfileStore,
    taxonomy: Option<&'a audex_model::taxonomy::ProductTaxonomy>,
    defs: &Definitions,
) -> Result<Context<'a>, EngineError> {
    let mut ctx = Context::new(store, taxonomy);
    for l in &defs.lists {
        let members = list_members(store, l);
        ctx.lists.insert(l.id.clone(), members.clone());
        ctx.lists.insert(l.name.clone(), members);
    }
    ctx.audiences = defs.audience_rules()?;
    ctx.tags = defs.tag_rules()?;
    Ok(ctx)
}

/// Parses an audience definition given as rule text, rule JSON, or a typed definition JSON.
pub fn definition_from(
    name: &str,
    rule_text: Option<&str>,
    json: Option<&str>,
    funnel_stage: Option<FunnelStage>,
) -> Result<AudienceDef, EngineError> {
    let kind = match (rule_text, json) {
        (Some(text), _) => {
            audex_rules::parse(text).map_err(|e| EngineError::Invalid(format!("rule: {e}")))?;
            AudienceKind::Text(text.to_string())
        }
        (None, Some(json)) => {
            if let Ok(def) = AudienceDef::from_json(json) {
                let mut def = def;
                if !name.is_empty() {
                    def.name = name.to_string();
                }
                if funnel_stage.is_some() {
                    def.funnel_stage = funnel_stage;
                }
                def.compile()
                    .map_err(|e| EngineError::Invalid(format!("definition: {e}")))?;
                return Ok(def);
            }
            if let Ok(kind) = audex_rules::from_json_str::<AudienceKind>(json) {
                // A bare typed kind, e.g. {"retargeting": {...}}.
                kind
            } else {
                match Rule::from_json(json) {
                    Ok(rule) => AudienceKind::Rule(rule),
                    Err(rule_err) => {
                        // Neither a typed definition nor a rule: report as a rule or as a kind,
                        // whichever the document looks like.
                        let as_kind: Result<AudienceKind, _> = audex_rules::from_json_str(json);
                        return Err(EngineError::Invalid(match as_kind {
                            Err(kind_err) if looks_like_kind(json) => {
                                format!("definition: {kind_err}")
                            }
                            _ => format!("rule: {rule_err}"),
                        }));
                    }
                }
            }
        }
        (None, None) => {
            return Err(EngineError::Invalid(
                "give the definition as --rule TEXT or --file JSON".into(),
            ));
        }
    };
    let def = AudienceDef {
        name: name.to_string(),
        description: None,
        funnel_stage,
        kind,
    };
    def.compile()
        .map_err(|e| EngineError::Invalid(format!("definition: {e}")))?;
    Ok(def)
}

fn looks_like_kind(json: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| {
            v.as_object()
                .map(|o| o.contains_key("kind") || o.len() == 1 && !o.contains_key("type"))
        })
        .unwrap_or(false)
}

/// Current membership of the saved audiences, as of `evaluated_ms`.
#[derive(Debug, Clone, Default)]
pub struct Memberships {
    pub evaluated_ms: i64,
    pub by_audience: FxHashMap<String, RoaringBitmap>,
}

/// One entry or exit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Transition {
    pub audience: String,
    pub person: PersonId,
    /// `true` = entered, `false` = left.
    pub entered: bool,
    pub at_ms: i64,
    /// What caused it: `event` (new events of this person), `time` (a sweep: windows aged),
    /// `definition` (first evaluation or a changed definition).
    pub cause: String,
}

/// One day of an audience's membership: entries, exits, and the size at the end of the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaySize {
    /// UTC date, `YYYY-MM-DD`.
    pub date: String,
    pub entered: u64,
    pub left: u64,
    pub size: u64,
}

/// Daily sizes from an audience's transitions (oldest first): the running count of entries
/// minus exits, which starts at 0 before the audience's first evaluation.
pub fn daily_sizes(transitions: &[Transition]) -> Vec<DaySize> {
    let mut out: Vec<DaySize> = Vec::new();
    let mut size: i64 = 0;
    for t in transitions {
        let date = chrono::DateTime::from_timestamp_millis(t.at_ms)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        if out.last().is_none_or(|d| d.date != date) {
            out.push(DaySize {
                date,
                entered: 0,
                left: 0,
                size: size.max(0) as u64,
            });
        }
        size += if t.entered { 1 } else { -1 };
        if let Some(d) = out.last_mut() {
            if t.entered {
                d.entered += 1;
            } else {
                d.left += 1;
            }
            d.size = size.max(0) as u64;
        }
    }
    out
}

/// Appends transitions to the history file.
pub fn append_history(path: &Path, transitions: &[Transition]) -> Result<(), EngineError> {
    if transitions.is_empty() {
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| EngineError::io(path, e))?;
    let mut buf = Vec::with_capacity(transitions.len() * 80);
    for t in transitions {
        serde_json::to_writer(&mut buf, t).map_err(|e| EngineError::Invalid(e.to_string()))?;
        buf.push(b'\n');
    }
    f.write_all(&buf).map_err(|e| EngineError::io(path, e))?;
    f.sync_data().map_err(|e| EngineError::io(path, e))?;
    Ok(())
}

/// Reads transitions of one audience (all when `audience` is `None`).
pub fn read_history(path: &Path, audience: Option<&str>) -> Result<Vec<Transition>, EngineError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(path, e)),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<Transition>(l).ok())
        .filter(|t| audience.is_none_or(|a| t.audience == a))
        .collect())
}

/// Diffs old and new membership into transitions.
pub fn diff(
    audience: &str,
    old: &RoaringBitmap,
    new: &RoaringBitmap,
    at_ms: i64,
    cause: &str,
) -> Vec<Transition> {
    let entered = new - old;
    let left = old - new;
    entered
        .iter()
        .map(|p| (p, true))
        .chain(left.iter().map(|p| (p, false)))
        .map(|(person, entered)| Transition {
            audience: audience.to_string(),
            person,
            entered,
            at_ms,
            cause: cause.to_string(),
        })
        .collect()
}

/// Evaluates every saved audience at `now_ms`.
pub fn evaluate_all(
    ctx: &Context<'_>,
    index: &Index,
    defs: &Definitions,
    now_ms: i64,
) -> Result<FxHashMap<String, RoaringBitmap>, EngineError> {
    let mut out = FxHashMap::default();
    for a in &defs.audiences {
        let rule = ctx.audiences.get(&a.id).ok_or_else(|| {
            EngineError::Invalid(format!("audience {:?} did not compile", a.name()))
        })?;
        if let Some(members) = evaluate_one(ctx, index, rule, now_ms)? {
            out.insert(a.id.clone(), members);
        }
    }
    Ok(out)
}

/// Evaluates one saved audience's rule at `now_ms`; `None` for a model-based audience whose
/// model has no scores yet: it has no members to track, and must not stop the others (or
/// ingest) from being evaluated.
pub fn evaluate_one(
    ctx: &Context<'_>,
    index: &Index,
    rule: &Rule,
    now_ms: i64,
) -> Result<Option<RoaringBitmap>, EngineError> {
    match audex_index::evaluate(ctx, index, rule, now_ms) {
        Ok(members) => Ok(Some(members)),
        Err(audex_index::EvalError::ModelUnavailable(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_sizes_run_entries_minus_exits() {
        let day = 86_400_000;
        let t = |person, entered, at_ms| Transition {
            audience: "aud_1".into(),
            person,
            entered,
            at_ms,
            cause: "event".into(),
        };
        let sizes = daily_sizes(&[
            t(1, true, 0),
            t(2, true, 10),
            t(3, true, day + 5),
            t(1, false, day + 6),
            t(2, false, 3 * day),
        ]);
        let got: Vec<(&str, u64, u64, u64)> = sizes
            .iter()
            .map(|d| (d.date.as_str(), d.entered, d.left, d.size))
            .collect();
        assert_eq!(
            got,
            [
                ("1970-01-01", 2, 0, 2),
                ("1970-01-02", 1, 1, 2),
                ("1970-01-04", 0, 1, 1)
            ]
        );
        assert!(daily_sizes(&[]).is_empty());
    }
}
