//! How the report writes numbers, durations and times; shared with the CSV so both read the
//! same.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// Written for a value that is missing or not a number.
pub const MISSING: &str = "–";

/// A percentage with up to three decimals: `99.95 %`, `100 %`, `97.123 %`.
///
/// A value just under 100 is never rounded up to `100 %` (an SLA reader takes that for
/// "no errors at all"): 99.9996 is written `99.999 %`.
pub fn percent(value: f64) -> String {
    if !value.is_finite() {
        return MISSING.to_owned();
    }
    let mut text = decimals(value, 3);
    if value < 100.0 && text == "100" {
        text = "99.999".to_owned();
    }
    format!("{text} %")
}

/// A length of time in its two largest units: `45 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return MISSING.to_owned();
    }
    // Saturates for absurdly large values, which is fine for display.
    let total = seconds.round() as u64;
    let units = [
        (total / 86_400, "d"),
        (total / 3600 % 24, "h"),
        (total / 60 % 60, "min"),
        (total % 60, "s"),
    ];
    let first = units.iter().position(|&(count, _)| count > 0).unwrap_or(3);
    let (large, large_unit) = units[first];
    match units.get(first + 1) {
        Some(&(small, small_unit)) if small > 0 => {
            format!("{large} {large_unit} {small} {small_unit}")
        }
        _ => format!("{large} {large_unit}"),
    }
}

/// A count of events or minutes, grouped by thousands, with one decimal when it has one:
/// `12,345`, `0.4`.
pub fn amount(value: f64) -> String {
    if !value.is_finite() {
        return MISSING.to_owned();
    }
    let text = decimals(value, 1);
    let (sign, digits) = text.split_at(usize::from(text.starts_with('-')));
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let grouped = group_thousands(whole);
    match fraction {
        "" => format!("{sign}{grouped}"),
        _ => format!("{sign}{grouped}.{fraction}"),
    }
}

/// Whole minutes: `1,440 min`.
pub fn minutes(value: i64) -> String {
    format!("{} min", amount(value as f64))
}

/// An instant as read in the report's time zone: `2026-11-03 14:05`.
pub fn local_time(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

/// `value` with at most `places` decimals, trailing zeros dropped, never `-0`.
fn decimals(value: f64, places: usize) -> String {
    let text = format!("{value:.places$}");
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if trimmed == "-0" {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn group_thousands(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_have_up_to_three_decimals() {
        assert_eq!(percent(99.95), "99.95 %");
        assert_eq!(percent(100.0), "100 %");
        assert_eq!(percent(97.12345), "97.123 %");
        assert_eq!(percent(0.0), "0 %");
        assert_eq!(percent(-0.0001), "0 %");
        assert_eq!(percent(1234.5), "1234.5 %");
    }

    #[test]
    fn a_percentage_just_under_100_is_not_written_as_100() {
        assert_eq!(percent(99.9996), "99.999 %");
    }

    #[test]
    fn a_missing_percentage_is_a_dash() {
        assert_eq!(percent(f64::NAN), MISSING);
        assert_eq!(percent(f64::INFINITY), MISSING);
    }

    #[test]
    fn durations_use_their_two_largest_units() {
        assert_eq!(duration(0.0), "0 s");
        assert_eq!(duration(45.4), "45 s");
        assert_eq!(duration(720.0), "12 min");
        assert_eq!(duration(725.0), "12 min 5 s");
        assert_eq!(duration(3.0 * 3600.0 + 20.0 * 60.0 + 9.0), "3 h 20 min");
        assert_eq!(duration(2.0 * 86_400.0 + 4.0 * 3600.0), "2 d 4 h");
        assert_eq!(duration(-1.0), MISSING);
        assert_eq!(duration(f64::NAN), MISSING);
    }

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(amount(12_345.0), "12,345");
        assert_eq!(amount(1_234_567.25), "1,234,567.2");
        assert_eq!(amount(0.44), "0.4");
        assert_eq!(amount(-1500.0), "-1,500");
        assert_eq!(amount(999.0), "999");
        assert_eq!(minutes(1440), "1,440 min");
    }
}
