//! Outputs of trained models (lookalike and prospecting scores, inferred behavioral tags),
//! stored beside the advertiser's other files and made visible to both evaluators.
//!
//! The models themselves live in `audex-models`; the engine only stores what they produced,
//! like a contact list: `DIR/models/scores-<name>.bin` holds one model's scores per person,
//! `DIR/models/tags.bin` the inferred tags' members. When a context is built, every
//! `model "<name>" top … score >= …` predicate becomes membership of a materialized list
//! computed from the stored scores, and every inferred tag not defined by a rule becomes a
//! `tag` backed by its member list — so the set-at-a-time and per-person evaluators agree
//! without knowing about models. A model without stored scores still reports
//! `ModelUnavailable`.

use std::path::{Path, PathBuf};

use audex_index::Context;
use audex_profile::PersonId;
use audex_rules::{InList, ModelScore, Predicate, Rule, TopSpec};
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::EngineError;
use crate::audiences::Definitions;
use crate::fsutil::write_atomic;

/// One model's scores, in [0, 1], for the people it scored.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ModelScores {
    /// Model name, e.g. `lookalike:aud_3` or `prospecting`.
    pub model: String,
    /// When it was trained (Unix ms).
    pub trained_ms: i64,
    /// Scored people, ascending.
    pub people: Vec<PersonId>,
    /// Their scores, aligned with `people`.
    pub scores: Vec<f32>,
}

impl ModelScores {
    /// The people a `model` predicate with `top` and `min_score` selects: the best-ranked
    /// (ties by lower person id) among those at or above `min_score`.
    pub fn select(&self, top: Option<TopSpec>, min_score: Option<f32>) -> RoaringBitmap {
        let mut v: Vec<(PersonId, f32)> = self
            .people
            .iter()
            .copied()
            .zip(self.scores.iter().copied())
            .collect();
        let k = match top {
            None => v.len(),
            Some(TopSpec::Count(n)) => usize::try_from(n).unwrap_or(usize::MAX),
            Some(TopSpec::Fraction(f)) => (f.clamp(0.0, 1.0) * v.len() as f64).round() as usize,
        };
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.iter()
            .take(k)
            .filter(|(_, s)| min_score.is_none_or(|m| *s >= m))
            .map(|(p, _)| *p)
            .collect()
    }
}

/// Inferred behavioral tags: name → members.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InferredTags {
    /// When they were inferred (Unix ms).
    pub inferred_ms: i64,
    /// Tags and their members.
    pub tags: Vec<(String, RoaringBitmap)>,
}

/// Every stored model output of one advertiser.
#[derive(Debug, Default)]
pub struct ModelStore {
    /// Scores by model name.
    pub scores: FxHashMap<String, ModelScores>,
    /// Inferred tags.
    pub tags: InferredTags,
    /// Selections already computed (by list key): the real-time path rebuilds contexts often.
    selected: std::sync::Mutex<FxHashMap<String, RoaringBitmap>>,
}

fn file_name(model: &str) -> String {
    let safe: String = model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '~'
            }
        })
        .collect();
    format!("scores-{safe}.bin")
}

fn models_dir(dir: &Path) -> PathBuf {
    dir.join("models")
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Snapshot {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl ModelStore {
    /// Loads every stored output under an advertiser directory (empty when none).
    pub fn load(dir: &Path) -> Result<ModelStore, EngineError> {
        let mdir = models_dir(dir);
        let mut store = ModelStore::default();
        let entries = match std::fs::read_dir(&mdir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(store),
            Err(e) => return Err(EngineError::io(&mdir, e)),
        };
        for entry in entries {
            let path = entry.map_err(|e| EngineError::io(&mdir, e))?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.starts_with("scores-") && name.ends_with(".bin") {
                let bytes = std::fs::read(&path).map_err(|e| EngineError::io(&path, e))?;
                let s: ModelScores = postcard::from_bytes(&bytes).map_err(|e| corrupt(&path, e))?;
                store.scores.insert(s.model.clone(), s);
            } else if name == "tags.bin" {
                let bytes = std::fs::read(&path).map_err(|e| EngineError::io(&path, e))?;
                store.tags = postcard::from_bytes(&bytes).map_err(|e| corrupt(&path, e))?;
            }
        }
        Ok(store)
    }

    /// Stores one model's scores (replacing earlier ones of the same model).
    pub fn save_scores(dir: &Path, scores: &ModelScores) -> Result<(), EngineError> {
        let mdir = models_dir(dir);
        std::fs::create_dir_all(&mdir).map_err(|e| EngineError::io(&mdir, e))?;
        let path = mdir.join(file_name(&scores.model));
        let bytes = postcard::to_allocvec(scores).map_err(|e| corrupt(&path, e))?;
        write_atomic(&path, &bytes)
    }

    /// Stores the inferred tags (replacing earlier ones).
    pub fn save_tags(dir: &Path, tags: &InferredTags) -> Result<(), EngineError> {
        let mdir = models_dir(dir);
        std::fs::create_dir_all(&mdir).map_err(|e| EngineError::io(&mdir, e))?;
        let path = mdir.join("tags.bin");
        let bytes = postcard::to_allocvec(tags).map_err(|e| corrupt(&path, e))?;
        write_atomic(&path, &bytes)
    }

    /// The stored scores of `model`; `lookalike:<name>` also finds scores stored under the
    /// seed audience's id and the other way round.
    pub fn find(&self, model: &str, defs: &Definitions) -> Option<&ModelScores> {
        if let Some(s) = self.scores.get(model) {
            return Some(s);
        }
        let seed = model.strip_prefix("lookalike:")?;
        let a = defs.audience(seed)?;
        self.scores
            .get(&format!("lookalike:{}", a.id))
            .or_else(|| self.scores.get(&format!("lookalike:{}", a.name())))
    }

    /// Makes stored outputs visible to a context: inferred tags (unless a rule defines the
    /// same name) and materialized `model` predicates in saved audiences and tags.
    pub fn attach(&self, ctx: &mut Context<'_>, defs: &Definitions) {
        if self.is_empty() {
            return;
        }
        for (name, members) in &self.tags.tags {
            if ctx.tags.contains_key(name) {
                continue;
            }
            let list = format!("\u{1}tag:{name}");
            ctx.lists.insert(list.clone(), members.clone());
            ctx.tags
                .insert(name.clone(), Rule::Pred(Predicate::InList(InList { list })));
        }
        let mut lists = std::mem::take(&mut ctx.lists);
        for rule in ctx.audiences.values_mut().chain(ctx.tags.values_mut()) {
            *rule = self.rewrite(rule, defs, &mut lists);
        }
        ctx.lists = lists;
    }

    /// `rule` with every `model` predicate whose scores are stored replaced by membership of
    /// a materialized list (added to `lists`).
    pub fn rewrite(
        &self,
        rule: &Rule,
        defs: &Definitions,
        lists: &mut FxHashMap<String, RoaringBitmap>,
    ) -> Rule {
        match rule {
            Rule::And(v) => Rule::And(v.iter().map(|r| self.rewrite(r, defs, lists)).collect()),
            Rule::Or(v) => Rule::Or(v.iter().map(|r| self.rewrite(r, defs, lists)).collect()),
            Rule::Not(r) => Rule::Not(Box::new(self.rewrite(r, defs, lists))),
            Rule::Pred(Predicate::ModelScore(m)) => match self.find(&m.model, defs) {
                Some(scores) => {
                    let list = list_key(m);
                    if !lists.contains_key(&list) {
                        let members = match self.selected.lock() {
                            Ok(mut cache) => cache
                                .entry(list.clone())
                                .or_insert_with(|| scores.select(m.top, m.min_score))
                                .clone(),
                            Err(_) => scores.select(m.top, m.min_score),
                        };
                        lists.insert(list.clone(), members);
                    }
                    Rule::Pred(Predicate::InList(InList { list }))
                }
                None => rule.clone(),
            },
            Rule::Pred(_) => rule.clone(),
        }
    }

    /// Whether anything is stored.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty() && self.tags.tags.is_empty()
    }
}

/// The materialized list's key: unprintable prefix so it never clashes with a contact list.
fn list_key(m: &ModelScore) -> String {
    format!(
        "\u{1}model:{}|{:?}|{:?}",
        m.model,
        m.top,
        m.min_score.map(f32::to_bits)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores() -> ModelScores {
        ModelScores {
            model: "prospecting".into(),
            trained_ms: 0,
            people: vec![1, 2, 3, 4],
            scores: vec![0.9, 0.2, 0.9, 0.6],
        }
    }

    #[test]
    fn selection_ranks_with_ties_by_lower_id() {
        let s = scores();
        let ids = |b: RoaringBitmap| b.iter().collect::<Vec<_>>();
        assert_eq!(ids(s.select(Some(TopSpec::Count(1)), None)), vec![1]);
        assert_eq!(
            ids(s.select(Some(TopSpec::Fraction(0.5)), None)),
            vec![1, 3]
        );
        assert_eq!(ids(s.select(None, Some(0.5))), vec![1, 3, 4]);
        assert_eq!(
            ids(s.select(Some(TopSpec::Count(3)), Some(0.7))),
            vec![1, 3]
        );
    }

    #[test]
    fn stores_round_trip_and_rewrite_model_predicates() {
        let dir = std::env::temp_dir().join(format!("audex-models-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        ModelStore::save_scores(&dir, &scores()).unwrap_or_default();
        let tags = InferredTags {
            inferred_ms: 1,
            tags: vec![("foodie".into(), [2u32, 4].into_iter().collect())],
        };
        ModelStore::save_tags(&dir, &tags).unwrap_or_default();
        let store = ModelStore::load(&dir).unwrap_or_default();
        assert_eq!(store.scores.get("prospecting"), Some(&scores()));
        assert_eq!(store.tags.tags.len(), 1);
        let rule =
            audex_rules::parse("model \"prospecting\" score >= 0.5").unwrap_or(Rule::And(vec![]));
        let mut lists = FxHashMap::default();
        let r = store.rewrite(&rule, &Definitions::default(), &mut lists);
        assert!(matches!(r, Rule::Pred(Predicate::InList(_))));
        assert_eq!(lists.values().next().map(|b| b.len()), Some(3));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
