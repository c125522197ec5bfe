//! Product interactions read from profiles: the recommender's only input.

use audex_model::EventKind;
use audex_model::catalog::{Catalog, Product};
use audex_profile::{Entry, PersonId, ProfileStore};
use rustc_hash::FxHashMap;

/// What a person did with a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `Product Viewed`.
    View,
    /// `Product Added` (to a cart).
    Cart,
    /// A line of `Order Completed`.
    Purchase,
}

/// One (day, product, action) aggregate of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interaction {
    /// Catalog index of the product.
    pub item: u32,
    /// What they did.
    pub action: Action,
    /// The advertiser's day number (days since 1970-01-01, local).
    pub day: u32,
    /// How many times that day.
    pub count: u32,
}

fn action_of(kind: EventKind) -> Option<Action> {
    match kind {
        EventKind::ProductViewed => Some(Action::View),
        EventKind::ProductAdded => Some(Action::Cart),
        EventKind::OrderCompleted => Some(Action::Purchase),
        _ => None,
    }
}

/// A person's product interactions (products outside the catalog are skipped), oldest first.
pub fn history_of(store: &ProfileStore, catalog: &Catalog, person: PersonId) -> Vec<Interaction> {
    let person = store.identity.find(person);
    let Some(p) = store.profiles.get(person as usize) else {
        return Vec::new();
    };
    let mut cache: FxHashMap<u32, Option<u32>> = FxHashMap::default();
    let mut out = Vec::new();
    for &v in &p.entries {
        let e = Entry::unpack(v);
        let Some(action) = action_of(e.kind()) else {
            continue;
        };
        let Some(product) = store.propsets.get(e.propset).product else {
            continue;
        };
        let item = *cache.entry(product).or_insert_with(|| {
            store
                .propsets
                .values
                .name(product)
                .and_then(|id| catalog.index_of(id))
        });
        if let Some(item) = item {
            out.push(Interaction {
                item,
                action,
                day: e.day,
                count: e.count.max(1),
            });
        }
    }
    out.sort_by_key(|i| (i.day, i.action, i.item));
    out
}

/// Every person's history (people merged into another are skipped), with their ids.
pub fn histories(store: &ProfileStore, catalog: &Catalog) -> Vec<(PersonId, Vec<Interaction>)> {
    (0..store.profiles.len() as PersonId)
        .filter(|&p| store.identity.is_root(p))
        .map(|p| (p, history_of(store, catalog, p)))
        .filter(|(_, h)| !h.is_empty())
        .collect()
}

/// A category key per catalog product: its Google Product Taxonomy id, else a hash of its
/// `product_type` path, else none.
pub fn item_categories(catalog: &Catalog) -> Vec<Option<u32>> {
    let mut out = vec![None; catalog.len()];
    for (i, p) in catalog.iter().enumerate() {
        out[i] = category_key(p);
    }
    out
}

fn category_key(p: &Product) -> Option<u32> {
    if let Some(c) = p.category {
        return Some(c);
    }
    let t = p.product_type.as_deref()?.trim();
    if t.is_empty() {
        return None;
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in t.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    Some(h | 0x8000_0000)
}
