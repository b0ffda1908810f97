//! UTC calendar days, and the clock the service reads them from.
//!
//! A day is a count of days since 1970-01-01; the civil-date conversion is Howard
//! Hinnant's `days_from_civil` / `civil_from_days`, exact over the proleptic
//! Gregorian calendar. Small enough that a date crate would not earn its place.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: u64 = 86_400;

/// One UTC calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i32);

impl Day {
    /// The days since 1970-01-01 (negative before it).
    pub fn from_days_since_epoch(days: i32) -> Self {
        Self(days)
    }

    pub fn days_since_epoch(self) -> i32 {
        self.0
    }

    /// The UTC day `time` falls on.
    pub fn of(time: SystemTime) -> Self {
        let days = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => (after.as_secs() / SECONDS_PER_DAY) as i64,
            Err(before) => -(before.duration().as_secs().div_ceil(SECONDS_PER_DAY) as i64),
        };
        Self(days.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
    }

    /// The first second of this day, in seconds since the epoch (for TTLs).
    pub fn start_epoch_seconds(self) -> i64 {
        i64::from(self.0) * SECONDS_PER_DAY as i64
    }

    /// `n` days later (earlier for negative `n`).
    pub fn plus(self, n: i32) -> Self {
        Self(self.0.saturating_add(n))
    }

    /// Days from `self` to `later` (negative if `later` is earlier).
    pub fn until(self, later: Day) -> i64 {
        i64::from(later.0) - i64::from(self.0)
    }

    /// Parses `YYYY-MM-DD`: four digits, two, two, a real date.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = text.get(range)?;
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        Some(Self(days_from_civil(year as i32, month, day)))
    }

    /// Year, month (1-12) and day of month (1-31).
    pub fn civil(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.civil();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400) as u32;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era as i32 - 719_468
}

fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

/// Where the service reads the time. Tests substitute a clock they move.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    fn now(&self) -> SystemTime;

    /// Today, in UTC.
    fn today(&self) -> Day {
        Day::of(self.now())
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until moved (tests: day boundaries, expiry).
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::Mutex<Duration>);

impl ManualClock {
    /// A clock showing `seconds` since the epoch.
    pub fn at(seconds: u64) -> Self {
        Self(std::sync::Mutex::new(Duration::from_secs(seconds)))
    }

    /// A clock at `hour`:00 UTC on `date` (`YYYY-MM-DD`); `None` if the date is not one.
    pub fn on(date: &str, hour: u64) -> Option<Self> {
        let day = Day::parse(date)?;
        u64::try_from(day.start_epoch_seconds())
            .ok()
            .map(|start| Self::at(start + hour * 3600))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH
            + *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_invalid_ones_are_refused() {
        assert_eq!(Day::parse("1970-01-01"), Some(Day(0)));
        assert_eq!(Day::parse("2026-12-02").unwrap().to_string(), "2026-12-02");
        assert_eq!(Day::parse("2000-02-29").unwrap().to_string(), "2000-02-29");
        for bad in [
            "2026-02-29",
            "1900-02-29",
            "2026-02-30",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026-1-05",
            "26-01-05",
            "2026/01/05",
            "",
            "2026-01-05T",
            "+026-01-05",
            "2026-01-0a",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad:?}");
        }
        // Every year from 0000 to 9999, the ones four digits can write.
        for days in (-719_528..2_932_897).step_by(97) {
            let day = Day(days);
            assert_eq!(Day::parse(&day.to_string()), Some(day), "{day}");
        }
    }

    #[test]
    fn the_day_of_a_time_is_its_utc_date() {
        let day = |secs| Day::of(UNIX_EPOCH + Duration::from_secs(secs)).to_string();
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(86_399), "1970-01-01");
        assert_eq!(day(86_400), "1970-01-02");
        assert_eq!(day(1_796_169_600), "2026-12-02");
        assert_eq!(
            Day::of(UNIX_EPOCH - Duration::from_secs(1)).to_string(),
            "1969-12-31"
        );
    }
}
