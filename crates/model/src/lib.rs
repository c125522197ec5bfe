//! The Audex data model: Segment-spec events and their typed e-commerce view, products and
//! taxonomies, and identifier normalisation. Pure parsing and validation; no files, no network.

pub mod catalog;
pub mod event;
pub mod geo;
pub mod kind;
pub mod normalize;
pub mod season;
pub mod taxonomy;
pub mod time;

pub use kind::{Channel, EventKind};
