//! When each `CPython` minor version reaches (or reached) its end of life, in one table.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// The oldest minor version the buildpack builds. Older ones fail with an end-of-life error;
/// this one and newer build, with a warning once their end of life has passed.
pub(crate) const OLDEST_SUPPORTED: (u16, u16) = (3, 10);

/// `(major, minor, end of life)`, from the `CPython` release schedules (PEP 373, 596, 619, 664,
/// 693, 719, 745). Future dates are the planned ones.
const END_OF_LIFE: [(u16, u16, YearMonth); 18] = [
    (2, 6, YearMonth::new(2013, 10)),
    (2, 7, YearMonth::new(2020, 1)),
    (3, 0, YearMonth::new(2009, 6)),
    (3, 1, YearMonth::new(2012, 4)),
    (3, 2, YearMonth::new(2016, 2)),
    (3, 3, YearMonth::new(2017, 9)),
    (3, 4, YearMonth::new(2019, 3)),
    (3, 5, YearMonth::new(2020, 9)),
    (3, 6, YearMonth::new(2021, 12)),
    (3, 7, YearMonth::new(2023, 6)),
    (3, 8, YearMonth::new(2024, 10)),
    (3, 9, YearMonth::new(2025, 10)),
    (3, 10, YearMonth::new(2026, 10)),
    (3, 11, YearMonth::new(2027, 10)),
    (3, 12, YearMonth::new(2028, 10)),
    (3, 13, YearMonth::new(2029, 10)),
    (3, 14, YearMonth::new(2030, 10)),
    (3, 15, YearMonth::new(2031, 10)),
];

/// The month a minor version reaches its end of life, if known.
pub(crate) fn end_of_life(major: u16, minor: u16) -> Option<YearMonth> {
    END_OF_LIFE
        .iter()
        .find(|(eol_major, eol_minor, _)| (*eol_major, *eol_minor) == (major, minor))
        .map(|(_, _, month)| *month)
}

/// Whether the buildpack still builds this minor version.
pub(crate) fn is_supported(major: u16, minor: u16) -> bool {
    (major, minor) >= OLDEST_SUPPORTED
}

/// A calendar month, precise enough for end-of-life dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct YearMonth {
    pub(crate) year: u16,
    /// 1 (January) to 12 (December).
    pub(crate) month: u8,
}

impl YearMonth {
    pub(crate) const fn new(year: u16, month: u8) -> Self {
        Self { year, month }
    }

    /// The current month (UTC) from the system clock.
    pub(crate) fn now() -> Self {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |duration| duration.as_secs());
        Self::from_days_since_epoch(seconds / 86_400)
    }

    /// Converts a day count since 1970-01-01 to its month, with the proleptic Gregorian calendar
    /// (Howard Hinnant's `civil_from_days`, days counted in 400-year eras from 0000-03-01).
    fn from_days_since_epoch(days: u64) -> Self {
        let days = days + 719_468;
        let era = days / 146_097;
        let day_of_era = days % 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = year_of_era + era * 400 + u64::from(month <= 2);
        Self {
            year: u16::try_from(year).unwrap_or(u16::MAX),
            month: u8::try_from(month).unwrap_or(12),
        }
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let name = MONTHS
            .get(usize::from(self.month).wrapping_sub(1))
            .unwrap_or(&"?");
        write!(f, "{name} {}", self.year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_end_of_life_dates() {
        assert_eq!(end_of_life(2, 7), Some(YearMonth::new(2020, 1)));
        assert_eq!(end_of_life(3, 10).unwrap().to_string(), "October 2026");
        assert_eq!(end_of_life(3, 99), None);
        assert!(!is_supported(3, 9) && !is_supported(2, 7));
        assert!(is_supported(3, 10) && is_supported(4, 0));
    }

    #[test]
    fn table_is_sorted_and_unique() {
        let keys: Vec<_> = END_OF_LIFE.iter().map(|(a, b, _)| (*a, *b)).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn converts_days_to_months() {
        assert_eq!(YearMonth::from_days_since_epoch(0), YearMonth::new(1970, 1));
        // 2026-11-21 and 2024-02-29 (a leap day), 2000-12-31.
        assert_eq!(
            YearMonth::from_days_since_epoch(20_778),
            YearMonth::new(2026, 11)
        );
        assert_eq!(
            YearMonth::from_days_since_epoch(19_782),
            YearMonth::new(2024, 2)
        );
        assert_eq!(
            YearMonth::from_days_since_epoch(11_322),
            YearMonth::new(2000, 12)
        );
        assert!(YearMonth::now() >= YearMonth::new(2026, 11));
    }
}
