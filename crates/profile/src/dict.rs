//! String interning: per-advertiser dictionaries that turn names and values into dense u32 ids.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// An append-only string ↔ id dictionary. Ids are dense from 0 in insertion order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dictionary {
    names: Vec<Box<str>>,
    #[serde(skip)]
    index: FxHashMap<Box<str>, u32>,
}

impl Dictionary {
    /// The id of `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.index.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        let boxed: Box<str> = s.into();
        self.names.push(boxed.clone());
        self.index.insert(boxed, id);
        id
    }

    /// The id of `s` if it was interned.
    pub fn get(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }

    /// The string of `id`.
    pub fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(|b| &**b)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Rebuilds the lookup index after deserialisation (the index is not stored).
    pub fn rebuild_index(&mut self) {
        self.index = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.names
            .iter()
            .map(|n| n.len() * 2 + 16 + 24)
            .sum::<usize>()
    }
}
