//! Identity resolution: identifiers → dense person ids, with union–find merges.
//!
//! Invariants:
//! * every identifier maps to exactly one person; `resolve` always returns a root;
//! * a root's identifier list holds every identifier that maps to it (merges move them);
//! * two people that each carry a different `userId` are never merged implicitly (merge
//!   protection, as Segment does); an `alias` call merges them explicitly.

use std::hash::{Hash, Hasher};

use audex_model::event::{IdKind, Identifier};
use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};

/// A person's dense id within one advertiser.
pub type PersonId = u32;

/// The identity graph of one advertiser.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdentityGraph {
    /// Union–find parent; `parent[p] == p` for roots.
    parent: Vec<PersonId>,
    /// Identifiers of each root (empty for merged-away ids).
    ids: Vec<Vec<Identifier>>,
    /// 64-bit hash of an identifier → person (maybe not a root). Rebuilt on load.
    #[serde(skip)]
    index: FxHashMap<u64, PersonId>,
    /// Identifiers whose hash collides with another's: exact map. Rebuilt on load.
    #[serde(skip)]
    exact: FxHashMap<Identifier, PersonId>,
    /// Roots deleted on request (privacy), sorted: no identifiers, not live, never reused.
    #[serde(default)]
    deleted: Vec<PersonId>,
}

/// What resolving an event's identifiers did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub person: PersonId,
    /// People merged into `person` by this event (their ids are no longer roots).
    pub merged: Vec<PersonId>,
    pub created: bool,
}

fn id_hash(id: &Identifier) -> u64 {
    let mut h = FxHasher::default();
    (id.kind as u8).hash(&mut h);
    id.value.hash(&mut h);
    h.finish()
}

impl IdentityGraph {
    /// Number of person ids ever allocated (merged-away ids included).
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Number of distinct live people (roots not deleted).
    pub fn people(&self) -> usize {
        self.parent
            .iter()
            .enumerate()
            .filter(|(i, p)| *i as u32 == **p)
            .count()
            - self.deleted.len()
    }

    /// Whether `p` is a live person (not merged into another, not deleted).
    pub fn is_root(&self, p: PersonId) -> bool {
        self.parent.get(p as usize) == Some(&p) && !self.is_deleted(p)
    }

    /// Whether `p` (a root) was deleted on request.
    pub fn is_deleted(&self, p: PersonId) -> bool {
        !self.deleted.is_empty() && self.deleted.binary_search(&p).is_ok()
    }

    /// Number of people deleted on request.
    pub fn deleted(&self) -> usize {
        self.deleted.len()
    }

    /// Deletes the person `p` belongs to: its identifiers stop resolving (a later event with
    /// one starts a new person) and its id is never live again. Returns the deleted root, or
    /// `None` when it was deleted already.
    pub fn delete(&mut self, p: PersonId) -> Option<PersonId> {
        let root = self.find(p);
        if root as usize >= self.parent.len() || self.is_deleted(root) {
            return None;
        }
        let ids = std::mem::take(&mut self.ids[root as usize]);
        for id in &ids {
            if self.exact.remove(id).is_none() {
                self.index.remove(&id_hash(id));
            }
        }
        if !self.exact.is_empty() {
            // A removed hash entry may have shadowed a colliding identifier kept in `exact`.
            self.rebuild_index();
        }
        if let Err(at) = self.deleted.binary_search(&root) {
            self.deleted.insert(at, root);
        }
        Some(root)
    }

    /// Allocates a person id that is deleted from the start: what an erased person's first
    /// event becomes in a compacted log, so every later id stays the same.
    pub fn reserve_deleted(&mut self) -> PersonId {
        let p = self.new_person();
        self.deleted.push(p); // the newest id: `deleted` stays sorted
        p
    }

    /// The root of `p` (follows merges).
    pub fn find(&self, mut p: PersonId) -> PersonId {
        while let Some(&q) = self.parent.get(p as usize) {
            if q == p {
                break;
            }
            p = q;
        }
        p
    }

    /// The person an identifier belongs to.
    pub fn resolve(&self, id: &Identifier) -> Option<PersonId> {
        let raw = match self.index.get(&id_hash(id)) {
            Some(&p) => {
                if self.ids_of(self.find(p)).contains(id) {
                    Some(p)
                } else {
                    self.exact.get(id).copied()
                }
            }
            None => None,
        }?;
        Some(self.find(raw))
    }

    /// The identifiers of a person (empty for a merged-away id).
    pub fn ids_of(&self, p: PersonId) -> &[Identifier] {
        self.ids.get(p as usize).map(Vec::as_slice).unwrap_or(&[])
    }

    fn has_other_user_id(&self, p: PersonId, user_id: Option<&str>) -> bool {
        self.ids_of(p)
            .iter()
            .any(|i| i.kind == IdKind::UserId && Some(i.value.as_str()) != user_id)
    }

    fn user_id_of(&self, p: PersonId) -> Option<&str> {
        self.ids_of(p)
            .iter()
            .find(|i| i.kind == IdKind::UserId)
            .map(|i| i.value.as_str())
    }

    fn new_person(&mut self) -> PersonId {
        let p = self.parent.len() as PersonId;
        self.parent.push(p);
        self.ids.push(Vec::new());
        p
    }

    fn attach(&mut self, id: Identifier, p: PersonId) {
        let h = id_hash(&id);
        match self.index.get(&h) {
            None => {
                self.index.insert(h, p);
            }
            Some(_) => {
                self.exact.insert(id.clone(), p);
            }
        }
        self.ids[p as usize].push(id);
    }

    /// Resolves the identifiers an event carries to one person, creating or merging people.
    ///
    /// The target is the person of the event's `userId` if known, else the first known person
    /// in the order given (callers pass userId first, then hashed contacts, device, anonymousId).
    /// Other known people are merged into the target unless both carry different userIds;
    /// `force` (an `alias` call) merges regardless. New identifiers attach to the target.
    pub fn resolve_all(&mut self, identifiers: &[Identifier], force: bool) -> Resolution {
        let mut found: Vec<(usize, PersonId)> = Vec::with_capacity(identifiers.len());
        for (i, id) in identifiers.iter().enumerate() {
            if let Some(p) = self.resolve(id) {
                found.push((i, p));
            }
        }
        let user_id = identifiers
            .iter()
            .find(|i| i.kind == IdKind::UserId)
            .map(|i| i.value.as_str());
        let target_of_user = identifiers
            .iter()
            .position(|i| i.kind == IdKind::UserId)
            .and_then(|pos| found.iter().find(|(i, _)| *i == pos).map(|(_, p)| *p));
        // Without a known userId, the target is the first known person that does not belong
        // to a different user (merge protection).
        let first_compatible = found
            .iter()
            .map(|(_, p)| *p)
            .find(|p| user_id.is_none() || !self.has_other_user_id(*p, user_id));
        let (target, created) = match target_of_user.or(first_compatible) {
            Some(p) => (p, false),
            None => (self.new_person(), true),
        };
        let mut merged = Vec::new();
        // The userId that will govern the merged person.
        let governing = user_id
            .map(str::to_owned)
            .or_else(|| self.user_id_of(target).map(str::to_owned));
        for &(_, p) in &found {
            let root = self.find(p);
            let target_root = self.find(target);
            if root == target_root {
                continue;
            }
            if !force && self.has_other_user_id(root, governing.as_deref()) && governing.is_some() {
                continue; // merge protection: two known users stay apart
            }
            self.union_into(root, target_root);
            merged.push(root);
        }
        let target = self.find(target);
        for (i, id) in identifiers.iter().enumerate() {
            if found.iter().any(|(j, _)| *j == i) {
                continue;
            }
            // The same identifier may appear twice in one event; attach once.
            if self.resolve(id).is_none() {
                self.attach(id.clone(), target);
            }
        }
        Resolution {
            person: target,
            merged,
            created,
        }
    }

    /// Merges person `from` into person `into` explicitly (an `alias`), whatever their userIds.
    pub fn merge(&mut self, from: PersonId, into: PersonId) {
        let (from, into) = (self.find(from), self.find(into));
        if from != into {
            self.union_into(from, into);
        }
    }

    /// Attaches an identifier to a person unless it already belongs to someone.
    pub fn attach_new(&mut self, id: Identifier, p: PersonId) {
        if self.resolve(&id).is_none() {
            let root = self.find(p);
            self.attach(id, root);
        }
    }

    /// Makes `from` (a root) part of `into` (a root), moving its identifiers and re-pointing
    /// their index entries at `into`, so an identifier always leads straight to a root.
    fn union_into(&mut self, from: PersonId, into: PersonId) {
        self.parent[from as usize] = into;
        let moved = std::mem::take(&mut self.ids[from as usize]);
        for id in &moved {
            if let Some(p) = self.exact.get_mut(id) {
                *p = into;
            } else if let Some(p) = self.index.get_mut(&id_hash(id)) {
                *p = into;
            }
        }
        self.ids[into as usize].extend(moved);
    }

    /// Rebuilds the lookup indexes after deserialisation.
    pub fn rebuild_index(&mut self) {
        self.index.clear();
        self.exact.clear();
        self.index.reserve(self.ids.iter().map(Vec::len).sum());
        for p in 0..self.ids.len() {
            let ids = std::mem::take(&mut self.ids[p]);
            for id in &ids {
                let h = id_hash(id);
                match self.index.entry(h) {
                    std::collections::hash_map::Entry::Occupied(_) => {
                        self.exact.insert(id.clone(), p as PersonId);
                    }
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(p as PersonId);
                    }
                }
            }
            self.ids[p] = ids;
        }
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.parent.len() * 4
            + self.ids.len() * 24
            + self
                .ids
                .iter()
                .flatten()
                .map(|i| i.value.len() + 32)
                .sum::<usize>()
            + self.index.capacity() * 13
            + self.exact.len() * 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(s: &str) -> Identifier {
        Identifier::new(IdKind::AnonymousId, s)
    }
    fn user(s: &str) -> Identifier {
        Identifier::new(IdKind::UserId, s)
    }

    #[test]
    fn identify_merges_anonymous_into_user() {
        let mut g = IdentityGraph::default();
        let a = g.resolve_all(&[anon("a1")], false).person;
        let b = g.resolve_all(&[anon("a2")], false).person;
        let u = g.resolve_all(&[user("u1"), anon("a1")], false);
        assert_eq!(u.person, a);
        let u2 = g.resolve_all(&[user("u1"), anon("a2")], false);
        assert_eq!(u2.merged, vec![b]);
        assert_eq!(g.resolve(&anon("a2")), Some(a));
        assert_eq!(g.resolve(&user("u1")), Some(a));
        assert_eq!(g.people(), 1);
        assert_eq!(g.ids_of(a).len(), 3);
    }

    #[test]
    fn two_users_sharing_a_device_are_not_merged() {
        let mut g = IdentityGraph::default();
        let p1 = g.resolve_all(&[user("u1"), anon("shared")], false).person;
        let r = g.resolve_all(&[user("u2"), anon("shared")], false);
        assert_ne!(r.person, p1);
        assert!(r.merged.is_empty());
        assert_eq!(g.resolve(&anon("shared")), Some(p1));
        // An explicit alias does merge.
        let r = g.resolve_all(&[user("u2"), user("u1")], true);
        assert_eq!(r.merged.len(), 1);
        assert_eq!(g.people(), 1);
    }

    #[test]
    fn chains_of_merges_resolve_to_one_root_after_reload() {
        let mut g = IdentityGraph::default();
        for i in 0..50 {
            g.resolve_all(&[anon(&format!("a{i}"))], false);
        }
        for i in 0..50 {
            g.resolve_all(&[user("u"), anon(&format!("a{i}"))], false);
        }
        assert_eq!(g.people(), 1);
        let bytes = postcard::to_allocvec(&g).unwrap_or_default();
        let mut back: IdentityGraph = postcard::from_bytes(&bytes).unwrap_or_default();
        back.rebuild_index();
        let root = back.resolve(&user("u"));
        assert!(root.is_some());
        for i in 0..50 {
            assert_eq!(back.resolve(&anon(&format!("a{i}"))), root);
        }
    }
}
