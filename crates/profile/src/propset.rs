//! Interned property sets: the property values that rule filters read, shared by every entry
//! that carries the same values (a product's fields, a custom event's scalar properties).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::dict::Dictionary;

/// Longest string value kept in a property set; longer values are cut at a char boundary.
pub const MAX_VALUE_LEN: usize = 128;
/// Most properties kept per custom event (the first ones by key order).
pub const MAX_KEYS: usize = 16;

/// A property value: interned string, number or boolean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Scalar {
    Str(u32),
    Num(f64),
    Bool(bool),
}

impl Scalar {
    fn key_bits(&self) -> (u8, u64) {
        match *self {
            Scalar::Str(s) => (0, u64::from(s)),
            Scalar::Num(n) => (1, n.to_bits()),
            Scalar::Bool(b) => (2, u64::from(b)),
        }
    }
}

/// Relative price of a product within its category (see `audex_model::catalog::PriceTier`).
pub use audex_model::catalog::PriceTier;

/// One interned set of (key, value) pairs, sorted by key id, with the typed fields the
/// evaluators read most often cached beside.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PropSet {
    pub pairs: Vec<(u32, Scalar)>,
    /// Google Product Taxonomy id of the product's category.
    pub category: Option<u32>,
    /// Interned brand (value dictionary id).
    pub brand: Option<u32>,
    pub price: Option<f64>,
    pub tier: Option<PriceTier>,
    /// Interned product id (value dictionary id).
    pub product: Option<u32>,
    /// Interned campaign id (value dictionary id).
    pub campaign: Option<u32>,
    /// Interned IAB content category id (value dictionary id).
    pub page_category: Option<u32>,
}

/// Well-known property keys, interned first so their ids are fixed.
pub mod keys {
    pub const PRODUCT_ID: u32 = 0;
    pub const CATEGORY: u32 = 1;
    pub const BRAND: u32 = 2;
    pub const PRICE: u32 = 3;
    pub const PRICE_TIER: u32 = 4;
    pub const CAMPAIGN_ID: u32 = 5;
    pub const CREATIVE_ID: u32 = 6;
    pub const PAGE_CATEGORY: u32 = 7;
    pub const SKU: u32 = 8;
    pub(crate) const NAMES: [&str; 9] = [
        "product_id",
        "category",
        "brand",
        "price",
        "price_tier",
        "campaign_id",
        "creative_id",
        "page_category",
        "sku",
    ];
}

/// Property set of the event entry of an event that lists products (`products[]`): the
/// products themselves are line entries. Lets filters tell "no properties" (id 0) from
/// "properties are on the lines" (this id).
pub const LINES_MARKER: u32 = 1;

/// The table of property sets of one advertiser. Id 0 is the empty set; id 1 is
/// [`LINES_MARKER`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PropSets {
    sets: Vec<PropSet>,
    /// Property names.
    pub keys: Dictionary,
    /// String property values (also brands, product ids, campaign ids, page categories).
    pub values: Dictionary,
    #[serde(skip)]
    index: FxHashMap<Vec<(u32, u8, u64)>, u32>,
}

impl Default for PropSets {
    fn default() -> Self {
        let mut keys_dict = Dictionary::default();
        for k in keys::NAMES {
            keys_dict.intern(k);
        }
        let mut p = PropSets {
            sets: vec![PropSet::default(), PropSet::default()],
            keys: keys_dict,
            values: Dictionary::default(),
            index: FxHashMap::default(),
        };
        p.index.insert(Vec::new(), 0);
        p
    }
}

impl PropSets {
    /// Interns a set of pairs (any order); returns its id, or 0 when the table is full.
    pub fn intern(&mut self, mut set: PropSet) -> u32 {
        set.pairs.sort_by_key(|(k, _)| *k);
        set.pairs.dedup_by_key(|(k, _)| *k);
        let key: Vec<(u32, u8, u64)> = set
            .pairs
            .iter()
            .map(|(k, v)| {
                let (t, b) = v.key_bits();
                (*k, t, b)
            })
            .collect();
        if let Some(&id) = self.index.get(&key) {
            return id;
        }
        let id = self.sets.len() as u32;
        if id > crate::entry::MAX_PROPSETS {
            return 0;
        }
        self.sets.push(set);
        self.index.insert(key, id);
        id
    }

    /// The set with `id` (the empty set for unknown ids).
    pub fn get(&self, id: u32) -> &PropSet {
        self.sets.get(id as usize).unwrap_or(&self.sets[0])
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.len() <= 1
    }

    /// Interns a string value, cut to [`MAX_VALUE_LEN`].
    pub fn value(&mut self, s: &str) -> u32 {
        self.values.intern(truncate(s))
    }

    /// Rebuilds the lookup indexes after deserialisation.
    pub fn rebuild_index(&mut self) {
        self.keys.rebuild_index();
        self.values.rebuild_index();
        self.index = self
            .sets
            .iter()
            .enumerate()
            .filter(|(i, _)| *i as u32 != LINES_MARKER)
            .map(|(i, s)| {
                let key = s
                    .pairs
                    .iter()
                    .map(|(k, v)| {
                        let (t, b) = v.key_bits();
                        (*k, t, b)
                    })
                    .collect();
                (key, i as u32)
            })
            .collect();
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.sets
            .iter()
            .map(|s| std::mem::size_of::<PropSet>() + s.pairs.len() * 16 * 2 + 48)
            .sum::<usize>()
            + self.keys.heap_bytes()
            + self.values.heap_bytes()
    }
}

/// Cuts a string to at most [`MAX_VALUE_LEN`] bytes at a char boundary.
pub fn truncate(s: &str) -> &str {
    if s.len() <= MAX_VALUE_LEN {
        return s;
    }
    let mut end = MAX_VALUE_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_order_independent() {
        let mut p = PropSets::default();
        let a = p.value("x");
        let s1 = PropSet {
            pairs: vec![
                (keys::BRAND, Scalar::Str(a)),
                (keys::PRICE, Scalar::Num(2.0)),
            ],
            ..Default::default()
        };
        let s2 = PropSet {
            pairs: vec![
                (keys::PRICE, Scalar::Num(2.0)),
                (keys::BRAND, Scalar::Str(a)),
            ],
            ..Default::default()
        };
        let id1 = p.intern(s1);
        assert_eq!(p.intern(s2), id1);
        assert_ne!(id1, 0);
        assert_eq!(p.intern(PropSet::default()), 0);
        let mut copy: PropSets =
            postcard::from_bytes(&postcard::to_allocvec(&p).unwrap_or_default())
                .unwrap_or_default();
        copy.rebuild_index();
        assert_eq!(copy.len(), p.len());
        assert_eq!(copy.values.get("x"), Some(a));
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        let s = "é".repeat(100);
        let t = truncate(&s);
        assert!(t.len() <= MAX_VALUE_LEN);
        assert!(t.chars().all(|c| c == 'é'));
    }
}
