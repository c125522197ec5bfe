//! The packed per-person history entry.
//!
//! A person's windowed history is a sorted `Vec<u64>` of entries, one per distinct
//! (day, event name, channel, line flag, property set), each with a saturating count:
//!
//! ```text
//!  63        48 47        33  32      31    30        8 7       0
//! [ day : 16  ][ name : 15 ][ channel ][ line ][ propset : 23 ][ count : 8 ]
//! ```
//! * `day` — UTC days since 1970-01-01 (valid to 2149).
//! * `name` — 0..16 are the built-in [`EventKind`]s; 16 + i is the i-th interned custom name.
//! * `line` — 0: the entry counts events; 1: it counts product lines of a multi-product event
//!   (`Order Completed` with `products[]`) or the extra categories of a publisher page.
//! * `propset` — interned property set (0 = none), see [`crate::PropSet`].
//! * `count` — saturates at 255 per (day, name, channel, line, propset).
//!
//! Sorting the raw u64 sorts by day first, so window scans are range scans.

use audex_model::{Channel, EventKind};

/// Maximum interned property sets; beyond it events are recorded without properties.
pub const MAX_PROPSETS: u32 = (1 << 23) - 1;
/// Maximum name ids (built-in kinds plus custom names).
pub const MAX_NAMES: u32 = (1 << 15) - 1;
/// First name id of custom events.
pub const CUSTOM_NAME_BASE: u32 = 16;

/// One unpacked entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entry {
    pub day: u32,
    pub name: u32,
    pub channel: Channel,
    pub line: bool,
    pub propset: u32,
    pub count: u32,
}

impl Entry {
    /// Packs into the u64 layout above (fields are masked to their widths).
    pub fn pack(&self) -> u64 {
        ((u64::from(self.day) & 0xFFFF) << 48)
            | ((u64::from(self.name) & 0x7FFF) << 33)
            | ((self.channel as u64) << 32)
            | (u64::from(self.line) << 31)
            | ((u64::from(self.propset) & 0x7F_FFFF) << 8)
            | u64::from(self.count.min(255))
    }

    /// Unpacks a u64 entry.
    pub fn unpack(v: u64) -> Entry {
        Entry {
            day: (v >> 48) as u32,
            name: ((v >> 33) & 0x7FFF) as u32,
            channel: if (v >> 32) & 1 == 1 {
                Channel::App
            } else {
                Channel::Web
            },
            line: (v >> 31) & 1 == 1,
            propset: ((v >> 8) & 0x7F_FFFF) as u32,
            count: (v & 0xFF) as u32,
        }
    }

    /// The built-in kind of this entry's name (custom names map to [`EventKind::Custom`]).
    pub fn kind(&self) -> EventKind {
        if self.name < CUSTOM_NAME_BASE {
            EventKind::ALL[self.name as usize]
        } else {
            EventKind::Custom
        }
    }
}

/// The day of a packed entry, without unpacking the rest.
#[inline]
pub fn entry_day(v: u64) -> u32 {
    (v >> 48) as u32
}

/// The key (everything but the count) of a packed entry.
#[inline]
pub fn entry_key(v: u64) -> u64 {
    v >> 8
}

/// The count of a packed entry.
#[inline]
pub fn entry_count(v: u64) -> u32 {
    (v & 0xFF) as u32
}

/// Adds `n` to the entry with `key` in a sorted entry list (inserting it when absent).
pub fn add_to(entries: &mut Vec<u64>, key: u64, n: u32) {
    // New events are mostly the latest day, so search from the end.
    match entries.binary_search_by(|e| entry_key(*e).cmp(&key)) {
        Ok(i) => {
            let c = (entry_count(entries[i]) + n).min(255);
            entries[i] = (entries[i] & !0xFF) | u64::from(c);
        }
        Err(i) => entries.insert(i, (key << 8) | u64::from(n.min(255))),
    }
}

/// Merges two sorted entry lists, summing counts of equal keys.
pub fn merge_entries(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (ka, kb) = (entry_key(a[i]), entry_key(b[j]));
        match ka.cmp(&kb) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let c = (entry_count(a[i]) + entry_count(b[j])).min(255);
                out.push((ka << 8) | u64::from(c));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pack_round_trips(day in 0u32..65536, name in 0u32..32768, app: bool, line: bool,
                            propset in 0u32..=MAX_PROPSETS, count in 0u32..256) {
            let e = Entry { day, name, channel: if app { Channel::App } else { Channel::Web }, line, propset, count };
            prop_assert_eq!(Entry::unpack(e.pack()), e);
            prop_assert_eq!(entry_day(e.pack()), day);
        }

        #[test]
        fn merge_equals_sequential_adds(a in proptest::collection::vec((0u64..50, 1u32..5), 0..40),
                                        b in proptest::collection::vec((0u64..50, 1u32..5), 0..40)) {
            let mut la = Vec::new();
            for (k, n) in &a { add_to(&mut la, *k, *n); }
            let mut lb = Vec::new();
            for (k, n) in &b { add_to(&mut lb, *k, *n); }
            let mut all = la.clone();
            for (k, n) in &b { add_to(&mut all, *k, *n); }
            prop_assert_eq!(merge_entries(&la, &lb), all);
        }
    }

    #[test]
    fn counts_saturate() {
        let mut v = Vec::new();
        add_to(&mut v, 7, 200);
        add_to(&mut v, 7, 200);
        assert_eq!(entry_count(v[0]), 255);
    }
}
