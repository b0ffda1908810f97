//! UTC calendar dates, as the contract's `days` speaks of them: `YYYY-MM-DD`, one a day,
//! today being the UTC date of the clock.
//!
//! Dates are counted in days since 1970-01-01 and turned into a year, month and day by
//! the workspace's one calendar (the `calendar` crate, which the service shares).
//!
//! ```
//! use e2e::date::Date;
//!
//! let date: Date = "2024-02-28".parse().unwrap();
//! assert_eq!(date.add_days(1).to_string(), "2024-02-29");
//! assert_eq!(date.add_days(2).to_string(), "2024-03-01");
//! assert!("2026-02-30".parse::<Date>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// A UTC calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01.
    days: i64,
}

/// Not a real `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a YYYY-MM-DD date")]
pub struct NotADate(pub String);

impl Date {
    /// Today's UTC date by this machine's clock. A clock before 1970 reads as 1970-01-01.
    pub fn today() -> Self {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        Self::from_days(i64::try_from(seconds / SECONDS_PER_DAY).unwrap_or(i64::MAX))
    }

    /// The date `days` after 1970-01-01 (before it, when negative).
    pub fn from_days(days: i64) -> Self {
        Self { days }
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.days
    }

    /// The date `days` later (earlier, when negative).
    #[must_use]
    pub fn add_days(self, days: i64) -> Self {
        Self {
            days: self.days.saturating_add(days),
        }
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Self) -> i64 {
        later.days - self.days
    }

    /// Year, month (1-12) and day (1-31).
    pub fn ymd(self) -> (i64, u32, u32) {
        calendar::civil_from_days(self.days)
    }

    /// The date of a year, month and day, if it exists.
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Option<Self> {
        calendar::days_from_civil(year, month, day).map(Self::from_days)
    }
}

/// Exactly `YYYY-MM-DD`: four, two and two digits, and a date that exists.
impl FromStr for Date {
    type Err = NotADate;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        calendar::parse(text)
            .map(Self::from_days)
            .ok_or_else(|| NotADate(text.to_owned()))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&calendar::format(self.days))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_the_calendars() {
        let date: Date = "2000-02-29".parse().unwrap();
        assert_eq!(date.days(), 11_016);
        assert_eq!(date.ymd(), (2000, 2, 29));
        assert_eq!(Date::from_ymd(2000, 2, 29), Some(date));
        assert_eq!(date.add_days(1).to_string(), "2000-03-01");
        assert!("2026-02-29".parse::<Date>().is_err());
    }

    #[test]
    fn today_is_after_the_code_was_written() {
        assert!(Date::today() >= "2026-01-01".parse().unwrap());
    }
}
