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
