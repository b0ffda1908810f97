//! UTC calendar dates, as the contract's `days` speaks of them: `YYYY-MM-DD`, one a day,
//! today being the UTC date of the clock.
//!
//! Dates are counted in days since 1970-01-01 and turned into a year, month and day with
//! the proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`). That is all the
//! checker needs of a date library, so it keeps these few lines instead of a dependency.
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
        // civil_from_days: eras of 400 years, each 146097 days, starting 0000-03-01.
        let z = self.days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        // Both are small and positive by construction.
        (
            year,
            u32::try_from(month).unwrap_or(1),
            u32::try_from(day).unwrap_or(1),
        )
    }

    /// The date of a year, month and day, if it exists.
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // days_from_civil, the inverse of `ymd`.
        let year = if month <= 2 { year - 1 } else { year };
        let era = year.div_euclid(400);
        let year_of_era = year.rem_euclid(400);
        let shifted_month = i64::from(if month > 2 { month - 3 } else { month + 9 });
        let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        Some(Self {
            days: era * 146_097 + day_of_era - 719_468,
        })
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Exactly `YYYY-MM-DD`: four, two and two digits, and a date that exists.
impl FromStr for Date {
    type Err = NotADate;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let not_a_date = || NotADate(text.to_owned());
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, byte)| i == 4 || i == 7 || byte.is_ascii_digit());
        if !shape_ok {
            return Err(not_a_date());
        }
        let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().ok();
        let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10))
        else {
            return Err(not_a_date());
        };
        Self::from_ymd(i64::from(year), month, day).ok_or_else(not_a_date)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn known_dates_match_their_day_numbers() {
        for (text, days) in [
            ("1970-01-01", 0),
            ("1970-01-02", 1),
            ("1969-12-31", -1),
            ("2000-02-29", 11_016),
            ("2000-03-01", 11_017),
            ("2024-12-31", 20_088),
            ("2026-01-01", 20_454),
        ] {
            let date: Date = text.parse().unwrap();
            assert_eq!(date.days(), days, "{text}");
            assert_eq!(Date::from_days(days).to_string(), text);
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        // 1900 (not a leap year), 2000 (a leap year) and 2100 are all in here.
        let start: Date = "1900-01-01".parse().unwrap();
        let mut previous = start.add_days(-1);
        for offset in 0..(400 * 366) {
            let date = start.add_days(offset);
            let text = date.to_string();
            assert_eq!(text.parse::<Date>().unwrap(), date, "{text}");
            assert!(previous < date);
            assert_eq!(previous.days_until(date), 1);
            previous = date;
        }
    }

    #[test]
    fn only_real_dates_in_the_exact_shape_parse() {
        for bad in [
            "2026-02-30",
            "2026-02-29",
            "2100-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-01-00",
            "2026-1-5",
            "2026-01-5",
            "26-01-05",
            "2026/01/05",
            "2026-01-05 ",
            "+202-01-05",
            "2026-0a-05",
            "",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad:?} parsed");
        }
        for good in ["2024-02-29", "2000-02-29", "2026-12-31", "0001-01-01"] {
            assert_eq!(good.parse::<Date>().unwrap().to_string(), good);
        }
    }

    #[test]
    fn today_is_after_the_code_was_written() {
        assert!(Date::today() >= "2026-01-01".parse().unwrap());
    }
}
