//! Audex people: identity resolution and per-person profiles, derived from the event log.
//!
//! [`ProfileStore::apply`] folds one validated event into the store: it resolves the event's
//! identifiers to a person (merging people when an `identify`/`alias` links them), then updates
//! that person's aggregates. Everything here is derived state: rebuilding it by applying the log
//! again in order gives the same store, and [`ProfileStore::to_snapshot`] saves it so restarts
//! need not replay the whole log.

pub mod dict;
pub mod entry;
pub mod identity;
pub mod profile;
pub mod propset;

use audex_model::EventKind;
use audex_model::catalog::Catalog;
use audex_model::event::{CallType, Event, IdKind, Identifier, ProductRef};
use audex_model::season::Season;
use audex_model::taxonomy::ProductTaxonomy;
use audex_model::time::day_of_ms;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use dict::Dictionary;
pub use entry::Entry;
pub use identity::{IdentityGraph, PersonId, Resolution};
pub use profile::{AdStat, Demo, Location, Move, Place, Profile, RETENTION_DAYS, moved};
pub use propset::{LINES_MARKER, PropSet, PropSets, Scalar, keys};

use crate::entry::{CUSTOM_NAME_BASE, MAX_NAMES, add_to};

/// Errors of the profile store.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("snapshot is corrupt or from an incompatible version: {0}")]
    Snapshot(#[from] postcard::Error),
    #[error("event timestamp {0} ms is outside the supported range (1970..2149)")]
    Timestamp(i64),
}

/// Reference data that enriches events: an event's category, brand and price come from the
/// event, else from the catalog; categories resolve through the Google Product Taxonomy.
#[derive(Clone, Copy, Default)]
pub struct Reference<'a> {
    pub catalog: Option<&'a Catalog>,
    pub taxonomy: Option<&'a ProductTaxonomy>,
}

/// Traits never copied into profiles: contacts are hashed into identifiers instead, and
/// names and addresses are not needed by any audience.
const PRIVATE_TRAITS: [&str; 12] = [
    "email",
    "phone",
    "name",
    "firstName",
    "lastName",
    "first_name",
    "last_name",
    "address",
    "birthday",
    "email_sha256",
    "phone_sha256",
    "password",
];

/// What applying one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub person: PersonId,
    /// People merged into `person` by this event.
    pub merged: Vec<PersonId>,
    pub created: bool,
}

/// Identity, profiles and dictionaries of one advertiser.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProfileStore {
    pub identity: IdentityGraph,
    /// Indexed by person id; merged-away ids hold an empty profile.
    pub profiles: Vec<Profile>,
    pub propsets: PropSets,
    /// Custom event names; entry name id = 16 + index.
    pub event_names: Dictionary,
    /// The advertiser's fixed offset from UTC: a day is a calendar day at this offset.
    #[serde(default)]
    pub utc_offset_ms: i64,
}

impl ProfileStore {
    /// Folds one validated event into the store.
    pub fn apply(
        &mut self,
        event: &Event,
        reference: Reference<'_>,
    ) -> Result<Applied, ProfileError> {
        let (day, r) = self.resolve_event(event)?;
        if self.profiles.len() < self.identity.len() {
            self.profiles
                .resize_with(self.identity.len(), Profile::default);
        }
        for &m in &r.merged {
            let other = std::mem::take(&mut self.profiles[m as usize]);
            self.profiles[r.person as usize].absorb(other);
        }
        let person = r.person;
        self.record(person, event, day, reference);
        Ok(Applied {
            person,
            merged: r.merged,
            created: r.created,
        })
    }

    /// The identity half of [`ProfileStore::apply`]: checks the event's day and resolves its
    /// identifiers (creating and merging people) without touching profiles. Log compaction
    /// replays it alone to learn whose each event is.
    pub fn resolve_event(&mut self, event: &Event) -> Result<(u32, Resolution), ProfileError> {
        let day = day_of_ms(event.timestamp_ms + self.utc_offset_ms)
            .filter(|d| *d <= 0xFFFF)
            .ok_or(ProfileError::Timestamp(event.timestamp_ms))?;
        let ids = ordered_identifiers(event);
        let mut r = self.identity.resolve_all(&ids, false);
        if let Some(prev) = &event.previous_id {
            // alias: previousId (an earlier userId or an anonymousId) is the same person.
            let as_user = Identifier::new(IdKind::UserId, prev.clone());
            let as_anon = Identifier::new(IdKind::AnonymousId, prev.clone());
            match self
                .identity
                .resolve(&as_user)
                .or_else(|| self.identity.resolve(&as_anon))
            {
                Some(p) if p != r.person => {
                    self.identity.merge(p, r.person);
                    r.merged.push(p);
                }
                Some(_) => {}
                None => self.identity.attach_new(as_anon, r.person),
            }
        }
        Ok((day, r))
    }

    /// Deletes a person on request (privacy): their identifiers and profile are dropped and
    /// their id is never live again. Returns the deleted id, `None` if already deleted.
    pub fn delete_person(&mut self, p: PersonId) -> Option<PersonId> {
        let root = self.identity.delete(p)?;
        if let Some(profile) = self.profiles.get_mut(root as usize) {
            *profile = Profile::default();
        }
        Some(root)
    }

    /// Allocates an id deleted from the start (see [`IdentityGraph::reserve_deleted`]).
    pub fn reserve_deleted(&mut self) -> PersonId {
        let p = self.identity.reserve_deleted();
        if self.profiles.len() < self.identity.len() {
            self.profiles
                .resize_with(self.identity.len(), Profile::default);
        }
        p
    }

    fn record(&mut self, person: PersonId, event: &Event, day: u32, reference: Reference<'_>) {
        let ch = event.channel;
        let kind = event.kind;
        let mut new_entries: Vec<(u32, bool, u32)> = Vec::new(); // (name, line, propset)
        match kind {
            EventKind::Identify | EventKind::Alias => new_entries.push((kind as u32, false, 0)),
            EventKind::Visit => new_entries.push((EventKind::Visit as u32, false, 0)),
            EventKind::AdImpression | EventKind::AdClicked => {
                let mut set = PropSet::default();
                if let Some(ad) = &event.ad {
                    if let Some(c) = &ad.campaign_id {
                        let v = self.propsets.value(c);
                        set.campaign = Some(v);
                        set.pairs.push((keys::CAMPAIGN_ID, Scalar::Str(v)));
                    }
                    if let Some(c) = &ad.creative_id {
                        let v = self.propsets.value(c);
                        set.pairs.push((keys::CREATIVE_ID, Scalar::Str(v)));
                    }
                }
                let id = self.propsets.intern(set);
                new_entries.push((kind as u32, false, id));
            }
            EventKind::PublisherPageViewed => {
                if event.page_categories.is_empty() {
                    new_entries.push((kind as u32, false, 0));
                }
                for (i, c) in event.page_categories.iter().enumerate() {
                    let v = self.propsets.value(c);
                    let set = PropSet {
                        pairs: vec![(keys::PAGE_CATEGORY, Scalar::Str(v))],
                        page_category: Some(v),
                        ..Default::default()
                    };
                    let id = self.propsets.intern(set);
                    new_entries.push((kind as u32, i > 0, id));
                }
            }
            EventKind::Custom => {
                let name = event.name.as_deref().unwrap_or_default();
                let name_id = if self.event_names.len() as u32 + CUSTOM_NAME_BASE < MAX_NAMES {
                    CUSTOM_NAME_BASE + self.event_names.intern(name)
                } else {
                    // Name table full: counted as an anonymous custom event.
                    EventKind::Custom as u32
                };
                let set = self.custom_propset(&event.properties);
                let id = self.propsets.intern(set);
                new_entries.push((name_id, false, id));
            }
            _ => {
                // Commerce: one product → the event entry carries it; several → an event entry
                // plus one line entry per product.
                let from_list = event
                    .properties
                    .get("products")
                    .is_some_and(Value::is_array);
                if from_list {
                    new_entries.push((kind as u32, false, propset::LINES_MARKER));
                    for p in &event.products {
                        let set = self.product_propset(p, reference);
                        let id = self.propsets.intern(set);
                        new_entries.push((kind as u32, true, id));
                    }
                } else {
                    let id = match event.products.first() {
                        Some(p) => {
                            let set = self.product_propset(p, reference);
                            self.propsets.intern(set)
                        }
                        None => 0,
                    };
                    new_entries.push((kind as u32, false, id));
                }
            }
        }

        let values = &mut self.propsets;
        let profile = &mut self.profiles[person as usize];
        for (name, line, propset) in new_entries {
            let e = Entry {
                day,
                name,
                channel: ch,
                line,
                propset,
                count: 0,
            };
            add_to(&mut profile.entries, e.pack() >> 8, 1);
        }
        if profile.events == 0 {
            profile.first_seen_ms = event.timestamp_ms;
        } else {
            profile.first_seen_ms = profile.first_seen_ms.min(event.timestamp_ms);
        }
        profile.last_seen_ms = profile.last_seen_ms.max(event.timestamp_ms);
        profile.events += 1;
        match kind {
            EventKind::OrderCompleted => {
                profile.orders += 1;
                let amount = event.revenue.unwrap_or(0.0);
                profile.spend += amount;
                let i = profile.revenue.partition_point(|r| r.0 <= day);
                profile.revenue.insert(i, (day, amount));
            }
            EventKind::OrderRefunded => {
                let amount = event.revenue.unwrap_or(0.0);
                profile.spend = (profile.spend - amount).max(0.0);
                let i = profile.revenue.partition_point(|r| r.0 <= day);
                profile.revenue.insert(i, (day, -amount));
            }
            EventKind::AdImpression | EventKind::AdClicked => {
                if let Some(ad) = &event.ad {
                    let campaign = values.value(ad.campaign_id.as_deref().unwrap_or(""));
                    let idx = match profile.ads.iter().position(|a| a.campaign == campaign) {
                        Some(i) => i,
                        None => {
                            profile.ads.push(AdStat {
                                campaign,
                                ..Default::default()
                            });
                            profile.ads.len() - 1
                        }
                    };
                    let a = &mut profile.ads[idx];
                    a.cost += ad.cost.unwrap_or(0.0);
                    if kind == EventKind::AdImpression {
                        a.impressions += 1;
                        a.last_impression_ms = a.last_impression_ms.max(event.timestamp_ms);
                    } else {
                        a.clicks += 1;
                        a.last_click_ms = a.last_click_ms.max(event.timestamp_ms);
                    }
                }
            }
            _ => {}
        }
        if is_shopping(kind) {
            for (season, year) in Season::containing(day) {
                let mark = (((year - 1970).clamp(0, 0xFFF) as u16) << 4) | season as u16;
                if let Err(i) = profile.seasons.binary_search(&mark) {
                    profile.seasons.insert(i, mark);
                }
            }
        }
        if let Some((lat, lon)) = event.location {
            let new = Location {
                lat: lat as f32,
                lon: lon as f32,
                ms: event.timestamp_ms,
                from_ip: event.location_from_ip,
            };
            if profile.location.is_none_or(|l| l.replaced_by(&new)) {
                profile.location = Some(new);
            }
            if !event.location_from_ip {
                profile::add_place(&mut profile.places, new.lat, new.lon, day);
            }
        }
        if let Some(code) = event.country
            && profile
                .country
                .is_none_or(|(_, ms)| ms <= event.timestamp_ms)
        {
            profile.country = Some((code, event.timestamp_ms));
        }
        if let Some(d) = &event.demographics {
            // A newer declaration overwrites the fields it gives; an older one only fills
            // fields nothing newer has set.
            let newer = profile.demo.updated_ms <= event.timestamp_ms;
            let demo = &mut profile.demo;
            if let Some(g) = d.gender.filter(|_| newer || demo.gender == 0) {
                demo.gender = g as u8;
            }
            if let Some(b) = d.birthday.filter(|_| newer || demo.birthday.is_none()) {
                demo.birthday = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                    .and_then(|epoch| i32::try_from((b - epoch).num_days()).ok());
            }
            if let Some(a) = d.age.filter(|_| newer || demo.age.is_none()) {
                demo.age = Some((a.min(255) as u8, day));
            }
            if let Some(i) = d.income.filter(|_| newer || demo.income == 0) {
                demo.income = i as u8;
            }
            if newer {
                demo.updated_ms = event.timestamp_ms;
            }
        }
        if event.call == CallType::Identify && !event.traits.is_empty() {
            for (k, v) in &event.traits {
                if PRIVATE_TRAITS.contains(&k.as_str()) {
                    continue;
                }
                let val = match v {
                    Value::String(s) => Scalar::Str(values.value(s)),
                    Value::Number(n) => match n.as_f64() {
                        Some(f) => Scalar::Num(f),
                        None => continue,
                    },
                    Value::Bool(b) => Scalar::Bool(*b),
                    _ => continue,
                };
                let key = values.keys.intern(k);
                match profile.traits.binary_search_by_key(&key, |t| t.0) {
                    Ok(i) => profile.traits[i].1 = val,
                    Err(i) => profile.traits.insert(i, (key, val)),
                }
            }
        }
        profile.prune(day);
    }

    fn product_propset(&mut self, p: &ProductRef, reference: Reference<'_>) -> PropSet {
        let catalog_product = p
            .product_id
            .as_deref()
            .and_then(|id| reference.catalog.and_then(|c| c.get(id)));
        let category = p
            .category
            .as_deref()
            .and_then(|c| {
                reference
                    .taxonomy
                    .and_then(|t| t.resolve(c).or_else(|| t.by_name(c)))
            })
            .or_else(|| catalog_product.and_then(|cp| cp.category));
        let brand = p
            .brand
            .clone()
            .or_else(|| catalog_product.and_then(|cp| cp.brand.clone()));
        let price = p.price.or_else(|| catalog_product.and_then(|cp| cp.price));
        let tier = match (reference.catalog, price) {
            (Some(c), Some(pr)) => Some(match category {
                Some(cat) => c.price_tier(cat, pr),
                None => c.overall_price_tier(pr),
            }),
            _ => None,
        };
        let mut set = PropSet::default();
        if let Some(id) = &p.product_id {
            let v = self.propsets.value(id);
            set.product = Some(v);
            set.pairs.push((keys::PRODUCT_ID, Scalar::Str(v)));
        }
        if let Some(sku) = &p.sku {
            let v = self.propsets.value(sku);
            set.pairs.push((keys::SKU, Scalar::Str(v)));
        }
        match (category, &p.category) {
            (Some(c), _) => {
                set.category = Some(c);
                set.pairs.push((keys::CATEGORY, Scalar::Num(f64::from(c))));
            }
            (None, Some(text)) => {
                let v = self.propsets.value(text);
                set.pairs.push((keys::CATEGORY, Scalar::Str(v)));
            }
            (None, None) => {}
        }
        if let Some(b) = brand {
            let v = self.propsets.value(&b);
            set.brand = Some(v);
            set.pairs.push((keys::BRAND, Scalar::Str(v)));
        }
        if let Some(pr) = price {
            set.price = Some(pr);
            set.pairs.push((keys::PRICE, Scalar::Num(pr)));
        }
        if let Some(t) = tier {
            let v = self.propsets.value(t.as_str());
            set.tier = Some(t);
            set.pairs.push((keys::PRICE_TIER, Scalar::Str(v)));
        }
        set
    }

    fn custom_propset(&mut self, props: &serde_json::Map<String, Value>) -> PropSet {
        let mut set = PropSet::default();
        let mut scalars: Vec<(&String, &Value)> = props
            .iter()
            .filter(|(_, v)| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)))
            .collect();
        scalars.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in scalars.into_iter().take(propset::MAX_KEYS) {
            let key = self.propsets.keys.intern(propset::truncate(k));
            let value = match v {
                Value::String(s) => Scalar::Str(self.propsets.value(s)),
                Value::Number(n) => match n.as_f64() {
                    Some(f) => Scalar::Num(f),
                    None => continue,
                },
                Value::Bool(b) => Scalar::Bool(*b),
                _ => continue,
            };
            set.pairs.push((key, value));
        }
        set
    }

    /// The day (at the advertiser's UTC offset) of a Unix time in milliseconds.
    pub fn day_of(&self, ms: i64) -> u32 {
        day_of_ms(ms + self.utc_offset_ms).unwrap_or(0)
    }

    /// The live person an identifier belongs to.
    pub fn person(&self, id: &Identifier) -> Option<PersonId> {
        self.identity.resolve(id)
    }

    /// The profile of a person id (following merges).
    pub fn profile(&self, p: PersonId) -> Option<&Profile> {
        self.profiles.get(self.identity.find(p) as usize)
    }

    /// Number of live people.
    pub fn people(&self) -> usize {
        self.identity.people()
    }

    /// Serialises the whole store (postcard).
    pub fn to_snapshot(&self) -> Result<Vec<u8>, ProfileError> {
        Ok(postcard::to_allocvec(self)?)
    }

    /// Restores a store saved by [`ProfileStore::to_snapshot`], rebuilding its indexes.
    pub fn from_snapshot(bytes: &[u8]) -> Result<ProfileStore, ProfileError> {
        let mut s: ProfileStore = postcard::from_bytes(bytes)?;
        s.rebuild_indexes();
        Ok(s)
    }

    /// Rebuilds the lookup indexes that snapshots do not store.
    pub fn rebuild_indexes(&mut self) {
        self.identity.rebuild_index();
        self.propsets.rebuild_index();
        self.event_names.rebuild_index();
    }

    /// Releases spare vector capacity (after a bulk import).
    pub fn compact(&mut self) {
        for p in &mut self.profiles {
            p.entries.shrink_to_fit();
            p.ads.shrink_to_fit();
            p.seasons.shrink_to_fit();
            p.traits.shrink_to_fit();
            p.revenue.shrink_to_fit();
        }
        self.profiles.shrink_to_fit();
    }

    /// Approximate heap bytes of profiles, identity and dictionaries.
    pub fn heap_bytes(&self) -> HeapBytes {
        HeapBytes {
            profiles: self.profiles.capacity() * std::mem::size_of::<Profile>()
                + self.profiles.iter().map(Profile::heap_bytes).sum::<usize>(),
            identity: self.identity.heap_bytes(),
            dictionaries: self.propsets.heap_bytes() + self.event_names.heap_bytes(),
        }
    }
}

/// Memory held by a [`ProfileStore`], by part.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct HeapBytes {
    pub profiles: usize,
    pub identity: usize,
    pub dictionaries: usize,
}

impl HeapBytes {
    pub fn total(&self) -> usize {
        self.profiles + self.identity + self.dictionaries
    }
}

/// Kinds that count as shopping activity for seasons.
fn is_shopping(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Visit
            | EventKind::ProductViewed
            | EventKind::ProductListViewed
            | EventKind::ProductsSearched
            | EventKind::ProductAdded
            | EventKind::CartViewed
            | EventKind::CheckoutStarted
            | EventKind::OrderCompleted
    )
}

/// The event's identifiers in resolution precedence: userId, hashed contacts, device id,
/// anonymousId.
fn ordered_identifiers(event: &Event) -> Vec<Identifier> {
    let rank = |k: IdKind| match k {
        IdKind::UserId => 0,
        IdKind::EmailSha256 => 2,
        IdKind::PhoneSha256 => 3,
        IdKind::DeviceId => 4,
        IdKind::AnonymousId => 5,
    };
    let mut ids = event.identifiers.clone();
    ids.sort_by_key(|i| rank(i.kind));
    ids
}
