//! Audex models: what audiences need a trained model for, measured against the simulator's
//! hidden truth.
//!
//! * [`features`] — one hashed sparse vector per person from their profile (CSR matrix).
//! * [`lookalike`] — seed-centroid cosine ranking and positive-unlabeled logistic regression.
//! * [`prospecting`] — non-buyers scored by likeness to the advertiser's buyers.
//! * [`behavioral`] — lifestyle and life-stage tags inferred from behaviour, with IAB Audience
//!   Taxonomy 1.1 ids.
//! * [`refresh`] — retraining what an advertiser's saved audiences use, on demand or on a
//!   schedule.
//! * [`metrics`] — AUC, recall@k, precision/recall, used by tests and the quality report.
//! * [`truth`] — reading `truth.ndjson` and joining it to people, for measurement only.
//!
//! Everything here is deterministic for a given seed: the same profiles and configuration give
//! the same scores and the same members.

pub mod behavioral;
pub mod features;
pub mod logistic;
pub mod lookalike;
pub mod metrics;
pub mod prospecting;
pub mod refresh;
pub mod rng;
pub mod truth;

/// What one call of a slice-at-a-time reader ([`features::FeatureReader`],
/// [`behavioral::EvidenceReader`]) read: property sets caught up on first (at most the call's
/// budget), then, once none is left behind, people.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadProgress {
    /// Property sets read.
    pub sets: usize,
    /// People read.
    pub people: usize,
}

impl ReadProgress {
    /// Whether the call read nothing: every person and property set had been read.
    pub fn is_done(&self) -> bool {
        self.sets == 0 && self.people == 0
    }
}

/// Errors of model training and scoring.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The seed has too few people to learn from.
    #[error("the seed has {found} people with activity; at least {needed} are needed")]
    SeedTooSmall {
        /// People found.
        found: u64,
        /// People needed.
        needed: u64,
    },
    /// A parameter is out of range.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The advertiser's data could not be read or written.
    #[error(transparent)]
    Engine(#[from] audex_engine::EngineError),
    /// A truth file line did not parse.
    #[error("{path} line {line}: {message}")]
    Truth {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}
