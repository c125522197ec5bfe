//! The simulated period, its calendar and the shopping seasons inside it.

use chrono::{Datelike, NaiveDate, Weekday};

/// Civil date `(year, month, day)` of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (y as i32, m, d)
}

/// Days since 1970-01-01 of a date.
pub(crate) fn epoch_day(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - 719_163
}

/// A seasonal shopping habit a person may have (ground truth `seasons[]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Season {
    BlackFriday = 0,
    CyberMonday = 1,
    SinglesDay = 2,
    Halloween = 3,
    Christmas = 4,
}

impl Season {
    pub(crate) const ALL: [Season; 5] = [
        Season::BlackFriday,
        Season::CyberMonday,
        Season::SinglesDay,
        Season::Halloween,
        Season::Christmas,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Season::BlackFriday => "black_friday",
            Season::CyberMonday => "cyber_monday",
            Season::SinglesDay => "singles_day",
            Season::Halloween => "halloween",
            Season::Christmas => "christmas",
        }
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Black Friday of a year: the day after the fourth Thursday of November (US Thanksgiving).
pub(crate) fn black_friday(year: i32) -> Option<NaiveDate> {
    let thanksgiving = NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Thu, 4)?;
    thanksgiving.succ_opt()
}

/// Per-day factors of one season: (how much more likely a session is that day, how much more
/// likely a session ends in an order). 1.0 outside the season.
fn season_factors(season: Season, date: NaiveDate) -> (f64, f64) {
    let (m, d) = (date.month(), date.day());
    match season {
        Season::BlackFriday => {
            let Some(bf) = black_friday(date.year()) else {
                return (1.0, 1.0);
            };
            match (date - bf).num_days() {
                0 => (6.0, 3.5),
                -1 => (2.0, 1.5),
                1 => (3.5, 2.5),
                2 => (2.5, 2.0),
                -7..=-2 => (1.5, 1.3),
                _ => (1.0, 1.0),
            }
        }
        Season::CyberMonday => {
            let Some(bf) = black_friday(date.year()) else {
                return (1.0, 1.0);
            };
            match (date - bf).num_days() {
                3 => (6.0, 3.5),
                4 => (1.8, 1.5),
                _ => (1.0, 1.0),
            }
        }
        Season::SinglesDay => match (m, d) {
            (11, 11) => (6.0, 3.5),
            (11, 10) | (11, 12) => (1.8, 1.5),
            (11, 1..=9) => (1.2, 1.1),
            _ => (1.0, 1.0),
        },
        Season::Halloween => match (m, d) {
            (10, 31) => (2.5, 1.6),
            (10, 18..=30) => (1.6, 1.3),
            _ => (1.0, 1.0),
        },
        Season::Christmas => match (m, d) {
            (12, 1..=24) => {
                let ramp = f64::from(d) / 24.0;
                (1.5 + 1.5 * ramp, 1.4 + 0.9 * ramp)
            }
            (12, 26..=31) => (1.3, 1.2),
            _ => (1.0, 1.0),
        },
    }
}

/// Number of season masks (`2^5`), times two for the deal-hunter variant.
const TABLES: usize = 64;

/// The simulated period: `days` days ending with `end` (inclusive), plus precomputed per-day
/// tables for every combination of seasonal habits.
pub(crate) struct Calendar {
    /// Number of days.
    pub days: u32,
    /// Epoch day of the first simulated day.
    pub first_epoch_day: i64,
    /// Cumulative session weights, `TABLES × days`.
    cumulative: Vec<f64>,
    /// Order-intent multipliers, `TABLES × days`.
    intent: Vec<f32>,
    /// Day index of Dec 1–24 (Christmas ramp), for department shifts.
    christmas: Vec<bool>,
    /// Per day, the seasons whose promotion window (for seasonal ad campaigns) covers it.
    windows: Vec<u8>,
}

impl Calendar {
    pub(crate) fn new(end: NaiveDate, days: u32) -> Calendar {
        let first = end - chrono::Duration::days(i64::from(days) - 1);
        let n = days as usize;
        let mut cumulative = vec![0.0; TABLES * n];
        let mut intent = vec![1.0f32; TABLES * n];
        let mut christmas = vec![false; n];
        let dates: Vec<NaiveDate> = (0..days)
            .map(|i| first + chrono::Duration::days(i64::from(i)))
            .collect();
        let mut windows = vec![0u8; n];
        for (i, date) in dates.iter().enumerate() {
            christmas[i] = date.month() == 12 && date.day() <= 24;
            let mut mask = 0;
            if let Some(bf) = black_friday(date.year())
                && (-7..=3).contains(&(*date - bf).num_days())
            {
                mask |= Season::BlackFriday.bit() | Season::CyberMonday.bit();
            }
            match (date.month(), date.day()) {
                (11, 1..=11) => mask |= Season::SinglesDay.bit(),
                (10, 18..=31) => mask |= Season::Halloween.bit(),
                (12, 1..=24) => mask |= Season::Christmas.bit(),
                _ => {}
            }
            windows[i] = mask;
        }
        for table in 0..TABLES {
            let mask = (table & 31) as u8;
            let deal = table >= 32;
            let mut acc = 0.0;
            for (i, &date) in dates.iter().enumerate() {
                let weekday = match date.weekday() {
                    Weekday::Sat | Weekday::Sun => 1.15,
                    Weekday::Mon => 1.05,
                    _ => 1.0,
                };
                let mut w: f64 = 1.0;
                let mut g: f64 = 1.0;
                for s in Season::ALL {
                    if mask & s.bit() != 0 {
                        let (ws, gs) = season_factors(s, date);
                        w *= ws;
                        g = g.max(gs);
                    }
                }
                if deal {
                    // Deal hunters concentrate on the sales and buy little otherwise.
                    w = 0.35 * w * w;
                    g = if g > 1.05 { g * 1.8 } else { 0.4 };
                }
                acc += weekday * w;
                cumulative[table * n + i] = acc;
                intent[table * n + i] = g as f32;
            }
        }
        Calendar {
            days,
            first_epoch_day: epoch_day(first),
            cumulative,
            intent,
            christmas,
            windows,
        }
    }

    fn table(mask: u8, deal: bool) -> usize {
        (mask & 31) as usize + if deal { 32 } else { 0 }
    }

    /// Samples a day index for a person with seasonal habits `mask`, `u` uniform in [0, 1).
    pub(crate) fn sample_day(&self, mask: u8, deal: bool, u: f64) -> u32 {
        let n = self.days as usize;
        let t = Self::table(mask, deal);
        let row = &self.cumulative[t * n..(t + 1) * n];
        let total = row[n - 1];
        let target = u * total;
        let i = row.partition_point(|&c| c <= target);
        i.min(n - 1) as u32
    }

    /// Multiplier on the chance that a session on `day` ends in an order.
    pub(crate) fn intent(&self, mask: u8, deal: bool, day: u32) -> f64 {
        let n = self.days as usize;
        f64::from(self.intent[Self::table(mask, deal) * n + day as usize])
    }

    /// True on Dec 1–24.
    pub(crate) fn is_christmas_ramp(&self, day: u32) -> bool {
        self.christmas[day as usize]
    }

    /// Seasons whose promotion window covers `day`.
    pub(crate) fn windows(&self, day: u32) -> u8 {
        self.windows[day as usize]
    }

    /// Milliseconds since the epoch of midnight UTC starting day `day`.
    pub(crate) fn day_start_ms(&self, day: u32) -> i64 {
        (self.first_epoch_day + i64::from(day)) * 86_400_000
    }

    /// Milliseconds since the epoch of the end of the period (exclusive).
    pub(crate) fn end_ms(&self) -> i64 {
        self.day_start_ms(self.days)
    }

    /// The date of day index `day` (may lie outside the period for negative or large values).
    pub(crate) fn date(&self, day: i64) -> (i32, u32, u32) {
        civil_from_days(self.first_epoch_day + day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for d in [-1000i64, 0, 1, 59, 365, 10_000, 20_000, 20_785] {
            let (y, m, dd) = civil_from_days(d);
            let date = NaiveDate::from_ymd_opt(y, m, dd).unwrap();
            assert_eq!(epoch_day(date), d);
        }
    }

    #[test]
    fn black_friday_dates() {
        assert_eq!(black_friday(2026), NaiveDate::from_ymd_opt(2026, 11, 27));
        assert_eq!(black_friday(2025), NaiveDate::from_ymd_opt(2025, 11, 28));
        assert_eq!(black_friday(2024), NaiveDate::from_ymd_opt(2024, 11, 29));
    }

    #[test]
    fn sampling_prefers_black_friday() {
        let end = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let cal = Calendar::new(end, 120);
        let bf_index = 118; // 2026-11-27
        assert_eq!(cal.date(bf_index), (2026, 11, 27));
        let mut hits = [0u32; 120];
        for k in 0..100_000 {
            let u = (k as f64 + 0.5) / 100_000.0;
            hits[cal.sample_day(Season::BlackFriday.bit(), false, u) as usize] += 1;
        }
        assert!(hits[118] > 4 * hits[100]);
        assert!(cal.intent(Season::BlackFriday.bit(), false, 118) > 3.0);
        assert!((cal.intent(0, false, 118) - 1.0).abs() < 1e-9);
    }
}
