//! Per-person aggregates: the compact history entries plus the few lifetime values that no
//! window needs (spend, declared demographics, last location, ad totals, seasons, traits).

use serde::{Deserialize, Serialize};

use crate::entry::{entry_day, merge_entries};

/// How many days of history entries a profile keeps (Google's longest membership duration).
pub const RETENTION_DAYS: u32 = 540;

/// Declared demographics with the time they were declared (the newest declaration wins).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Demo {
    /// `audex_model::event::Gender` discriminant (0 unknown).
    pub gender: u8,
    /// Birthday as days since 1970-01-01 (negative before), when declared.
    pub birthday: Option<i32>,
    /// Declared age and the day it was declared (age moves with time).
    pub age: Option<(u8, u32)>,
    /// `audex_model::event::IncomeBand` discriminant (0 unknown).
    pub income: u8,
    pub updated_ms: i64,
}

impl Demo {
    /// Age in whole years on `day`, from the birthday or the declared age.
    pub fn age_on(&self, day: u32) -> Option<u32> {
        if let Some(b) = self.birthday {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
            let bd = epoch.checked_add_signed(chrono::TimeDelta::days(i64::from(b)))?;
            return audex_model::season::day_to_date(day)?.years_since(bd);
        }
        let (age, at) = self.age?;
        Some(u32::from(age) + day.saturating_sub(at) / 365)
    }
}

/// Last known location.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub lat: f32,
    pub lon: f32,
    pub ms: i64,
    /// Derived from the IP address (city-level at best) rather than given by the device.
    pub from_ip: bool,
}

/// How long a device-given location outranks newer IP-derived ones (a phone's GPS fix says more
/// about where someone is than the city of the network their laptop used since).
pub const DEVICE_LOCATION_PRIORITY_MS: i64 = 30 * 86_400_000;

impl Location {
    /// Whether `new` should replace `self` as the person's location: it is newer, and it is
    /// not an IP-derived guess made while a device fix is still fresh.
    pub fn replaced_by(&self, new: &Location) -> bool {
        new.ms >= self.ms
            && (!new.from_ip || self.from_ip || new.ms - self.ms > DEVICE_LOCATION_PRIORITY_MS)
    }
}

/// A place a person's device reported being at: fixes within [`PLACE_RADIUS_KM`] of each other
/// are one place.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub lat: f32,
    pub lon: f32,
    pub first_day: u32,
    pub last_day: u32,
    /// Distinct days seen there (counted when fixes arrive in time order, as they nearly do).
    pub days: u16,
}

/// Fixes this close to a place (km) are that place: a phone at home reports within ~100 m,
/// and GPS drift or a walk round the block stays well inside.
pub const PLACE_RADIUS_KM: f64 = 2.0;
/// Places kept per person (the most visited; ties go to the most recent).
pub const MAX_PLACES: usize = 4;
/// A person who moved: from a place last seen before the new one was first seen, at least
/// [`MOVE_MIN_KM`] away, and never seen at since.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Move {
    /// The first day at the new place.
    pub day: u32,
    pub km: f64,
}
/// A move is at least this far (km); nearer places are the same neighbourhood.
pub const MOVE_MIN_KM: f64 = 3.0;

impl Place {
    fn km_to(&self, lat: f32, lon: f32) -> f64 {
        audex_model::geo::haversine_km(
            f64::from(self.lat),
            f64::from(self.lon),
            f64::from(lat),
            f64::from(lon),
        )
    }
}

/// Adds a device fix on `day` to `places`.
pub fn add_place(places: &mut Vec<Place>, lat: f32, lon: f32, day: u32) {
    merge_place(
        places,
        Place {
            lat,
            lon,
            first_day: day,
            last_day: day,
            days: 1,
        },
    );
}

/// Folds `new` into the place within [`PLACE_RADIUS_KM`] of it, or adds it (keeping the
/// [`MAX_PLACES`] most visited).
pub fn merge_place(places: &mut Vec<Place>, new: Place) {
    let near = places
        .iter_mut()
        .filter(|p| p.km_to(new.lat, new.lon) <= PLACE_RADIUS_KM)
        .min_by(|a, b| {
            a.km_to(new.lat, new.lon)
                .total_cmp(&b.km_to(new.lat, new.lon))
        });
    if let Some(p) = near {
        let single = new.first_day == new.last_day && new.days == 1;
        // A fix on a day already inside the place's span is counted only at its ends (the
        // span, not a day set, is what is kept).
        if !single || new.last_day > p.last_day || new.first_day < p.first_day {
            p.days = p.days.saturating_add(new.days);
        }
        p.first_day = p.first_day.min(new.first_day);
        p.last_day = p.last_day.max(new.last_day);
        return;
    }
    places.push(new);
    if places.len() > MAX_PLACES
        && let Some(i) = (0..places.len()).min_by_key(|&i| (places[i].days, places[i].last_day))
    {
        places.remove(i);
    }
}

/// Whether the places tell a move: the newest place (last seen most recently) was first seen
/// after an older place — the most visited of those — was last seen, at least
/// [`MOVE_MIN_KM`] away. A trip elsewhere followed by a return home is no move (home is seen
/// again after it); a commute is none either (the two places interleave).
pub fn moved(places: &[Place]) -> Option<Move> {
    let newest = places.iter().max_by_key(|p| (p.last_day, p.first_day))?;
    let before = places
        .iter()
        .filter(|p| p.last_day < newest.first_day)
        .max_by_key(|p| (p.days, p.last_day))?;
    let km = newest.km_to(before.lat, before.lon);
    (km >= MOVE_MIN_KM).then_some(Move {
        day: newest.first_day,
        km,
    })
}

/// Ad exposure to one campaign.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AdStat {
    /// Interned campaign id (property value dictionary).
    pub campaign: u32,
    pub impressions: u32,
    pub clicks: u32,
    /// Sum of `cost` over impressions and clicks.
    pub cost: f64,
    pub last_impression_ms: i64,
    pub last_click_ms: i64,
}

/// Everything Audex keeps about one person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Packed history entries, sorted (see [`crate::entry`]).
    pub entries: Vec<u64>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// Events applied (all kinds).
    pub events: u32,
    /// Revenue of completed orders minus refunds (never below 0).
    pub spend: f64,
    pub orders: u32,
    pub demo: Demo,
    pub location: Option<Location>,
    /// Places the person's devices reported (device fixes only: an IP-derived location is a
    /// city at best, too coarse to tell a move within it).
    pub places: Vec<Place>,
    /// Newest declared country (ISO 3166-1 alpha-2) and when it was declared.
    pub country: Option<([u8; 2], i64)>,
    /// Order revenue (positive) and refunds (negative) by day, sorted by day: buying power
    /// looks at a window of it.
    pub revenue: Vec<(u32, f64)>,
    pub ads: Vec<AdStat>,
    /// Seasons active in, as `(year - 1970) << 4 | season`, sorted.
    pub seasons: Vec<u16>,
    /// Declared non-identifying scalar traits: (key id in the property key dictionary, value),
    /// sorted by key; the newest declaration of a key wins.
    pub traits: Vec<(u32, crate::Scalar)>,
}

impl Profile {
    /// Net revenue (orders minus refunds) on days `lo..=hi`.
    pub fn revenue_between(&self, lo: u32, hi: u32) -> f64 {
        self.revenue
            .iter()
            .filter(|(d, _)| (lo..=hi).contains(d))
            .map(|(_, a)| a)
            .sum()
    }

    /// Drops history entries older than [`RETENTION_DAYS`] before `today`.
    pub fn prune(&mut self, today: u32) {
        let cutoff = today.saturating_sub(RETENTION_DAYS);
        if self.revenue.first().is_some_and(|r| r.0 < cutoff) {
            self.revenue.retain(|r| r.0 >= cutoff);
        }
        self.places.retain(|p| p.last_day >= cutoff);
        if self.entries.first().is_some_and(|e| entry_day(*e) < cutoff) {
            let keep = self.entries.partition_point(|e| entry_day(*e) < cutoff);
            self.entries.drain(..keep);
        }
    }

    /// Folds `other` (a person merged into this one) into `self`, losing nothing.
    pub fn absorb(&mut self, other: Profile) {
        self.entries = merge_entries(&self.entries, &other.entries);
        if self.events == 0 {
            self.first_seen_ms = other.first_seen_ms;
        } else if other.events > 0 {
            self.first_seen_ms = self.first_seen_ms.min(other.first_seen_ms);
        }
        self.last_seen_ms = self.last_seen_ms.max(other.last_seen_ms);
        self.events += other.events;
        self.spend += other.spend;
        self.orders += other.orders;
        if other.demo.updated_ms > self.demo.updated_ms {
            let mut d = other.demo;
            // Fields the newer declaration lacks keep the older values.
            if d.gender == 0 {
                d.gender = self.demo.gender;
            }
            if d.birthday.is_none() {
                d.birthday = self.demo.birthday;
            }
            if d.age.is_none() {
                d.age = self.demo.age;
            }
            if d.income == 0 {
                d.income = self.demo.income;
            }
            self.demo = d;
        } else {
            let d = &mut self.demo;
            if d.gender == 0 {
                d.gender = other.demo.gender;
            }
            if d.birthday.is_none() {
                d.birthday = other.demo.birthday;
            }
            if d.age.is_none() {
                d.age = other.demo.age;
            }
            if d.income == 0 {
                d.income = other.demo.income;
            }
        }
        self.country = match (self.country, other.country) {
            (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
            (a, b) => a.or(b),
        };
        self.revenue.extend(other.revenue);
        self.revenue.sort_by_key(|r| r.0);
        self.location = match (self.location, other.location) {
            (Some(a), Some(b)) => {
                // As if both had been applied in time order.
                let (older, newer) = if b.ms > a.ms { (a, b) } else { (b, a) };
                Some(if older.replaced_by(&newer) {
                    newer
                } else {
                    older
                })
            }
            (a, b) => a.or(b),
        };
        for p in other.places {
            merge_place(&mut self.places, p);
        }
        for ad in other.ads {
            match self.ads.iter_mut().find(|a| a.campaign == ad.campaign) {
                Some(a) => {
                    a.impressions += ad.impressions;
                    a.clicks += ad.clicks;
                    a.cost += ad.cost;
                    a.last_impression_ms = a.last_impression_ms.max(ad.last_impression_ms);
                    a.last_click_ms = a.last_click_ms.max(ad.last_click_ms);
                }
                None => self.ads.push(ad),
            }
        }
        for s in other.seasons {
            if let Err(i) = self.seasons.binary_search(&s) {
                self.seasons.insert(i, s);
            }
        }
        for (k, v) in other.traits {
            if let Err(i) = self.traits.binary_search_by_key(&k, |t| t.0) {
                self.traits.insert(i, (k, v));
            }
        }
    }

    /// Approximate heap bytes held by this profile (its vectors' capacity).
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * 8
            + self.ads.capacity() * std::mem::size_of::<AdStat>()
            + self.seasons.capacity() * 2
            + self.revenue.capacity() * 16
            + self.traits.capacity() * std::mem::size_of::<(u32, crate::Scalar)>()
            + self.places.capacity() * std::mem::size_of::<Place>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn at(ms: i64, from_ip: bool) -> Location {
        Location {
            lat: ms as f32,
            lon: 0.0,
            ms,
            from_ip,
        }
    }

    #[test]
    fn device_fixes_outrank_newer_ip_guesses_for_thirty_days() {
        let gps = at(0, false);
        assert!(!gps.replaced_by(&at(DAY, true)), "IP a day later");
        assert!(gps.replaced_by(&at(31 * DAY, true)), "IP a month later");
        assert!(gps.replaced_by(&at(DAY, false)), "a newer fix");
        assert!(!gps.replaced_by(&at(-DAY, false)), "an older fix");
        assert!(at(0, true).replaced_by(&at(DAY, true)));
        assert!(at(0, true).replaced_by(&at(DAY, false)));
    }

    /// `km` east of (48.85, 2.35).
    fn east(km: f64) -> (f32, f32) {
        (
            48.85,
            (2.35 + km / (111.32 * 48.85f64.to_radians().cos())) as f32,
        )
    }

    fn fixes(places: &mut Vec<Place>, km: f64, days: std::ops::Range<u32>) {
        let (lat, lon) = east(km);
        for d in days {
            add_place(places, lat, lon, d);
        }
    }

    #[test]
    fn a_new_home_after_the_old_one_is_a_move_and_trips_and_commutes_are_not() {
        let mut p = Vec::new();
        fixes(&mut p, 0.0, 0..10);
        fixes(&mut p, 0.3, 10..12); // same place, a few hundred metres off
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].days, 12);
        assert_eq!(moved(&p), None, "one place");
        // A weekend 50 km away, then home again: a trip.
        let mut trip = p.clone();
        fixes(&mut trip, 50.0, 12..14);
        fixes(&mut trip, 0.0, 14..16);
        assert_eq!(moved(&trip), None);
        // Home and office on alternate days: a commute.
        let mut commute = p.clone();
        for d in 12..20 {
            fixes(&mut commute, if d % 2 == 0 { 8.0 } else { 0.0 }, d..d + 1);
        }
        assert_eq!(moved(&commute), None);
        // From day 20 on, 6 km away and never back: a move on day 20.
        fixes(&mut p, 6.0, 20..25);
        let m = moved(&p);
        assert_eq!(m.map(|m| m.day), Some(20));
        assert!(m.is_some_and(|m| (m.km - 6.0).abs() < 0.1), "{m:?}");
        // A move across the street is no move.
        let mut near = Vec::new();
        fixes(&mut near, 0.0, 0..5);
        fixes(&mut near, 2.5, 5..9);
        assert_eq!(near.len(), 2);
        assert_eq!(moved(&near), None);
    }

    #[test]
    fn places_keep_the_most_visited_and_merge_with_people() {
        let mut p = Vec::new();
        for (k, km) in [0.0, 10.0, 20.0, 30.0, 40.0].iter().enumerate() {
            fixes(&mut p, *km, (k as u32 * 10)..(k as u32 * 10 + 5 - k as u32));
        }
        assert_eq!(p.len(), MAX_PLACES);
        assert!(
            p.iter().all(|x| x.days >= 2),
            "the one-day place went: {p:?}"
        );
        let mut a = Profile::default();
        fixes(&mut a.places, 0.0, 0..5);
        let mut b = Profile::default();
        fixes(&mut b.places, 0.1, 8..10);
        fixes(&mut b.places, 9.0, 20..23);
        a.absorb(b);
        assert_eq!(a.places.len(), 2);
        assert_eq!((a.places[0].first_day, a.places[0].last_day), (0, 9));
        assert_eq!(a.places[0].days, 7);
        assert_eq!(moved(&a.places).map(|m| m.day), Some(20));
        a.prune(9 + RETENTION_DAYS + 1);
        assert_eq!(
            a.places.len(),
            1,
            "the place last seen before retention is forgotten"
        );
    }

    #[test]
    fn merging_people_keeps_the_location_applying_in_time_order_would() {
        let cases = [
            (at(0, false), at(DAY, true), at(0, false)),
            (at(0, false), at(31 * DAY, true), at(31 * DAY, true)),
            (at(DAY, true), at(0, false), at(0, false)),
            (at(0, true), at(DAY, false), at(DAY, false)),
            (at(DAY, false), at(0, false), at(DAY, false)),
        ];
        for (mine, theirs, want) in cases {
            let mut a = Profile {
                location: Some(mine),
                ..Profile::default()
            };
            a.absorb(Profile {
                location: Some(theirs),
                ..Profile::default()
            });
            assert_eq!(a.location, Some(want), "{mine:?} + {theirs:?}");
        }
    }
}
