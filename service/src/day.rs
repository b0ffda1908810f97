//! UTC calendar days, and the clock the service reads them from.
//!
//! A day is a count of days since 1970-01-01; dates are the workspace's one calendar
//! (the `calendar` crate, which the e2e checker shares).

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
        calendar::parse(text)
            .and_then(|days| i32::try_from(days).ok())
            .map(Self)
    }

    /// Year, month (1-12) and day of month (1-31).
    pub fn civil(self) -> (i32, u32, u32) {
        let (year, month, day) = calendar::civil_from_days(i64::from(self.0));
        // An i32 of days is within ±5.9 million years.
        (i32::try_from(year).unwrap_or(i32::MAX), month, day)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&calendar::format(i64::from(self.0)))
    }
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
    fn dates_are_the_calendars() {
        assert_eq!(Day::parse("1970-01-01"), Some(Day(0)));
        assert_eq!(Day::parse("2026-12-02").unwrap().to_string(), "2026-12-02");
        assert_eq!(Day::parse("2026-02-29"), None);
        assert_eq!(Day::parse("2026-1-05"), None);
        assert_eq!(Day(20_789).civil(), (2026, 12, 2));
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
