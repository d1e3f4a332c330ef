//! The periods a report is asked for: this month so far, last month, last quarter, or
//! chosen days — as calendar days, which the page turns into instants in the report's time
//! zone.

use chrono::{Datelike, Months, NaiveDate, TimeDelta};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    ThisMonth,
    LastMonth,
    LastQuarter,
    Custom,
}

impl Period {
    /// The choices: the period, its form in addresses, its label.
    pub const ALL: [(Period, &'static str, &'static str); 4] = [
        (Period::ThisMonth, "this-month", "This month"),
        (Period::LastMonth, "last-month", "Last month"),
        (Period::LastQuarter, "last-quarter", "Last quarter"),
        (Period::Custom, "custom", "Custom dates"),
    ];

    pub fn param(self) -> &'static str {
        Period::ALL
            .iter()
            .find(|(p, _, _)| *p == self)
            .map_or("this-month", |(_, param, _)| param)
    }

    pub fn parse(text: &str) -> Option<Period> {
        Period::ALL
            .iter()
            .find(|(_, param, _)| *param == text)
            .map(|(p, _, _)| *p)
    }
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

/// The days a preset covers as of `today`: its first day, and the day after its last (`None`:
/// up to now). `Custom` has no preset days: see [`custom_days`].
pub fn preset_days(period: Period, today: NaiveDate) -> (NaiveDate, Option<NaiveDate>) {
    let month = first_of_month(today);
    match period {
        Period::ThisMonth | Period::Custom => (month, None),
        Period::LastMonth => (month - Months::new(1), Some(month)),
        Period::LastQuarter => {
            let quarter = month - Months::new(month.month0() % 3);
            (quarter - Months::new(3), Some(quarter))
        }
    }
}

/// Chosen days, both included, as `YYYY-MM-DD` (what date inputs hold): the first day and the
/// day after the last, or what is wrong with them (by field).
pub fn custom_days(
    from: &str,
    to: &str,
) -> Result<(NaiveDate, NaiveDate), (&'static str, &'static str)> {
    let read = |text: &str| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
    let first = read(from).ok_or(("from", "pick the first day"))?;
    let last = read(to).ok_or(("to", "pick the last day"))?;
    if last < first {
        return Err(("to", "the last day cannot come before the first"));
    }
    Ok((first, last + TimeDelta::days(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn presets_cover_whole_calendar_months_and_quarters() {
        let today = day(2026, 11, 22);
        assert_eq!(
            preset_days(Period::ThisMonth, today),
            (day(2026, 11, 1), None)
        );
        assert_eq!(
            preset_days(Period::LastMonth, today),
            (day(2026, 10, 1), Some(day(2026, 11, 1)))
        );
        assert_eq!(
            preset_days(Period::LastQuarter, today),
            (day(2026, 7, 1), Some(day(2026, 10, 1)))
        );
        // Across a year's turn.
        let january = day(2027, 1, 5);
        assert_eq!(
            preset_days(Period::LastMonth, january),
            (day(2026, 12, 1), Some(day(2027, 1, 1)))
        );
        assert_eq!(
            preset_days(Period::LastQuarter, january),
            (day(2026, 10, 1), Some(day(2027, 1, 1)))
        );
        assert_eq!(
            preset_days(Period::LastQuarter, day(2026, 3, 31)),
            (day(2025, 10, 1), Some(day(2026, 1, 1)))
        );
    }

    #[test]
    fn chosen_days_include_the_last_one() {
        assert_eq!(
            custom_days("2026-11-01", "2026-11-30"),
            Ok((day(2026, 11, 1), day(2026, 12, 1)))
        );
        assert_eq!(
            custom_days("2026-11-03", "2026-11-03"),
            Ok((day(2026, 11, 3), day(2026, 11, 4)))
        );
        assert_eq!(custom_days("", "2026-11-03").unwrap_err().0, "from");
        assert_eq!(custom_days("2026-11-03", "2026-11-01").unwrap_err().0, "to");
    }

    #[test]
    fn periods_travel_in_addresses() {
        for (period, param, _) in Period::ALL {
            assert_eq!(Period::parse(param), Some(period));
            assert_eq!(period.param(), param);
        }
        assert_eq!(Period::parse("soon"), None);
    }
}
