//! Days: the unit of every window. A [`Day`] is a count of days since 1970-01-01 in UTC.

/// Days since the Unix epoch (UTC).
pub type Day = u32;

/// Milliseconds in a day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// The UTC day of a Unix timestamp in milliseconds; `None` before 1970.
pub fn day_of_ms(ms: i64) -> Option<Day> {
    if ms < 0 {
        return None;
    }
    u32::try_from(ms / MS_PER_DAY).ok()
}
