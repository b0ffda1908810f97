//! The one calendar of the service and the e2e checker: a date is a number of days since
//! 1970-01-01 (negative before it), turned into a year, month and day by the proleptic
//! Gregorian calendar (Howard Hinnant's `days_from_civil` and `civil_from_days`, exact
//! for every `i64` day a year fits), and written `YYYY-MM-DD` as the contract's `days`
//! are. A crate of its own, with no dependency, so that the checker shares it without
//! depending on the service.
//!
//! ```
//! let leap = calendar::parse("2024-02-29").unwrap();
//! assert_eq!(calendar::format(leap + 1), "2024-03-01");
//! assert_eq!(calendar::parse("2026-02-29"), None);
//! ```

/// The year, month (1-12) and day of month (1-31) of `days` after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Eras of 400 years, each 146,097 days, starting 0000-03-01.
    let z = days.saturating_add(719_468);
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
    // 1 to 31 and 1 to 12 by construction.
    (year, day_of_month(month), day_of_month(day))
}

fn day_of_month(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(1)
}

/// The days after 1970-01-01 of a year, month and day, if that date exists.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = i64::from(if month > 2 { month - 3 } else { month + 9 });
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// 28 to 31.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Exactly `YYYY-MM-DD` (four, two and two digits) and a date that exists, as days
/// after 1970-01-01.
pub fn parse(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let shape = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, byte)| match i {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().ok();
    days_from_civil(i64::from(number(0..4)?), number(5..7)?, number(8..10)?)
}

/// `YYYY-MM-DD` (more digits for a year past 9999, a `-` before one before year 0).
pub fn format(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
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
            ("2026-12-02", 20_789),
        ] {
            assert_eq!(parse(text), Some(days), "{text}");
            assert_eq!(format(days), text);
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        // 1900 (not a leap year), 2000 (a leap year) and 2100 are all in here.
        let start = parse("1900-01-01").unwrap();
        for days in start..start + 400 * 366 {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), Some(days));
            assert_eq!(parse(&format(days)), Some(days), "{}", format(days));
        }
        // Every year four digits can write, from 0000 to 9999.
        for days in (-719_528..2_932_897).step_by(97) {
            assert_eq!(parse(&format(days)), Some(days), "{}", format(days));
        }
    }

    #[test]
    fn only_real_dates_in_the_exact_shape_parse() {
        for bad in [
            "2026-02-30",
            "2026-02-29",
            "2100-02-29",
            "1900-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-01-00",
            "2026-1-5",
            "2026-01-5",
            "2026-1-05",
            "26-01-05",
            "2026/01/05",
            "2026-01-05 ",
            "2026-01-05T",
            "+202-01-05",
            "+026-01-05",
            "2026-0a-05",
            "2026-01-0a",
            "２０２６-01-05",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad:?} parsed");
        }
        for good in [
            "2024-02-29",
            "2000-02-29",
            "2026-12-31",
            "0001-01-01",
            "0000-03-01",
        ] {
            assert_eq!(parse(good).map(format).as_deref(), Some(good));
        }
    }
}
