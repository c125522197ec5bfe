//! The simulator's hidden truth (`truth.ndjson`) joined to people, for measurement only: no
//! model reads it to decide anything.

use std::path::Path;

use audex_model::event::{IdKind, Identifier};
use audex_profile::{PersonId, ProfileStore};
use serde::Deserialize;

use crate::ModelError;

/// One simulated person's truth, as far as the models are measured against it.
#[derive(Debug, Clone, Deserialize)]
pub struct TruthPerson {
    /// The simulator's person index.
    pub person: u64,
    /// The `userId`, when the person signed up.
    pub user_id: Option<String>,
    /// Device `anonymousId`s that sent events.
    #[serde(default)]
    pub anonymous_ids: Vec<String>,
    /// Contact e-mail (CRM subset only).
    #[serde(default)]
    pub email: Option<String>,
    /// Lifestyle tags (`foodie`, `pet_owner`, …).
    #[serde(default)]
    pub lifestyles: Vec<String>,
    /// `none`, `new_parent`, `recently_moved` or `student`.
    pub life_stage: String,
    /// Behaviour persona (`bouncer`, `loyal_buyer`, `deal_hunter`, …).
    #[serde(default)]
    pub persona: String,
    /// Seasons the person shops in.
    #[serde(default)]
    pub seasons: Vec<String>,
    /// Whether the person ordered in the simulated period.
    #[serde(default)]
    pub buyer: bool,
}

impl TruthPerson {
    /// Whether the truth carries behavioural tag `tag` (a lifestyle or the life stage).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.life_stage == tag || self.lifestyles.iter().any(|l| l == tag)
    }
}

/// Truth lines joined to the store's people: `(person id, truth)` for everyone the store knows.
pub fn join(store: &ProfileStore, people: Vec<TruthPerson>) -> Vec<(PersonId, TruthPerson)> {
    people
        .into_iter()
        .filter_map(|t| {
            let by_user = t
                .user_id
                .as_ref()
                .and_then(|u| store.person(&Identifier::new(IdKind::UserId, u.clone())));
            let p = by_user.or_else(|| {
                t.anonymous_ids
                    .iter()
                    .find_map(|a| store.person(&Identifier::new(IdKind::AnonymousId, a.clone())))
            })?;
            Some((store.identity.find(p), t))
        })
        .collect()
}

/// Parses `truth.ndjson` text.
pub fn parse(text: &str, path: &str) -> Result<Vec<TruthPerson>, ModelError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| ModelError::Truth {
                path: path.to_string(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Reads `truth.ndjson`.
pub fn read(path: &Path) -> Result<Vec<TruthPerson>, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_bad_lines() {
        let ok = r#"{"person":1,"user_id":null,"anonymous_ids":["a"],"lifestyles":["foodie"],"life_stage":"student","persona":"browser","buyer":false}"#;
        let v = parse(ok, "t").unwrap_or_default();
        assert_eq!(v.len(), 1);
        assert!(v[0].has_tag("foodie") && v[0].has_tag("student") && !v[0].has_tag("tech"));
        let err = parse("{\n", "t").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("line 1")));
    }
}
