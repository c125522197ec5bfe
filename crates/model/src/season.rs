//! Shopping seasons and their dates per year (calendar days, inclusive, in the advertiser's time:
//! UTC unless the advertiser was created with a UTC offset).
//!
//! | season | dates |
//! |---|---|
//! | `valentines_day` | Feb 7 – Feb 14 |
//! | `halloween` | Oct 24 – Oct 31 |
//! | `singles_day` | Nov 11 (11.11) |
//! | `black_friday` | the Friday after US Thanksgiving (4th Thursday of November) through the Sunday after |
//! | `cyber_monday` | the Monday after Black Friday |
//! | `christmas` | Dec 1 – Dec 24 |
//! | `world_cup` | the FIFA World Cup's dates in the years it is held (2018, 2022, 2026) |
//!
//! A person is *active in a season* when they visited, viewed, carted or bought on one of its days.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::time::Day;

/// A named shopping season.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Season {
    ValentinesDay = 0,
    Halloween = 1,
    SinglesDay = 2,
    BlackFriday = 3,
    CyberMonday = 4,
    Christmas = 5,
    WorldCup = 6,
}

impl Season {
    /// Every season.
    pub const ALL: [Season; 7] = [
        Season::ValentinesDay,
        Season::Halloween,
        Season::SinglesDay,
        Season::BlackFriday,
        Season::CyberMonday,
        Season::Christmas,
        Season::WorldCup,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Season::ValentinesDay => "valentines_day",
            Season::Halloween => "halloween",
            Season::SinglesDay => "singles_day",
            Season::BlackFriday => "black_friday",
            Season::CyberMonday => "cyber_monday",
            Season::Christmas => "christmas",
            Season::WorldCup => "world_cup",
        }
    }

    /// Inverse of [`Season::as_str`]; also accepts `11.11` and `double_11` for Singles' Day.
    pub fn parse(s: &str) -> Option<Season> {
        let k = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        match k.as_str() {
            "11.11" | "double_11" | "singles_day" => Some(Season::SinglesDay),
            _ => Season::ALL.into_iter().find(|x| x.as_str() == k),
        }
    }

    /// The inclusive date range of this season in `year`, if it happens that year.
    pub fn dates(self, year: i32) -> Option<(NaiveDate, NaiveDate)> {
        let d = |m, day| NaiveDate::from_ymd_opt(year, m, day);
        match self {
            Season::ValentinesDay => Some((d(2, 7)?, d(2, 14)?)),
            Season::Halloween => Some((d(10, 24)?, d(10, 31)?)),
            Season::SinglesDay => Some((d(11, 11)?, d(11, 11)?)),
            Season::BlackFriday => {
                let friday = thanksgiving(year)?.succ_opt()?;
                Some((friday, friday + chrono::Days::new(2)))
            }
            Season::CyberMonday => {
                let monday = thanksgiving(year)? + chrono::Days::new(4);
                Some((monday, monday))
            }
            Season::Christmas => Some((d(12, 1)?, d(12, 24)?)),
            Season::WorldCup => match year {
                2018 => Some((d(6, 14)?, d(7, 15)?)),
                2022 => Some((d(11, 20)?, d(12, 18)?)),
                2026 => Some((d(6, 11)?, d(7, 19)?)),
                _ => None,
            },
        }
    }

    /// The inclusive [`Day`] range of this season in `year`.
    pub fn days(self, year: i32) -> Option<(Day, Day)> {
        let (a, b) = self.dates(year)?;
        Some((date_to_day(a)?, date_to_day(b)?))
    }

    /// Every (season, year) whose dates contain `day`.
    pub fn containing(day: Day) -> impl Iterator<Item = (Season, i32)> {
        let year = day_to_date(day).map(|d| d.year()).unwrap_or(1970);
        Season::ALL.into_iter().filter_map(move |s| {
            let (a, b) = s.days(year)?;
            (a <= day && day <= b).then_some((s, year))
        })
    }
}

/// US Thanksgiving: the fourth Thursday of November.
fn thanksgiving(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Thu, 4)
}

/// The [`Day`] of a calendar date.
pub fn date_to_day(d: NaiveDate) -> Option<Day> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    u32::try_from((d - epoch).num_days()).ok()
}

/// The calendar date of a [`Day`].
pub fn day_to_date(day: Day) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_days(chrono::Days::new(u64::from(day)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_friday_and_cyber_monday_follow_thanksgiving() {
        let bf = Season::BlackFriday.dates(2025);
        assert_eq!(bf.map(|x| x.0), NaiveDate::from_ymd_opt(2025, 11, 28));
        assert_eq!(
            Season::CyberMonday.dates(2025).map(|x| x.0),
            NaiveDate::from_ymd_opt(2025, 12, 1)
        );
        assert_eq!(
            Season::BlackFriday.dates(2026).map(|x| x.0),
            NaiveDate::from_ymd_opt(2026, 11, 27)
        );
    }

    #[test]
    fn containing_finds_overlaps() {
        let day = NaiveDate::from_ymd_opt(2025, 12, 1).and_then(date_to_day);
        let found: Vec<_> = day
            .map(|d| Season::containing(d).collect())
            .unwrap_or_default();
        assert_eq!(
            found,
            vec![(Season::CyberMonday, 2025), (Season::Christmas, 2025)]
        );
        assert_eq!(Season::parse("11.11"), Some(Season::SinglesDay));
        assert!(Season::WorldCup.dates(2025).is_none());
    }
}
