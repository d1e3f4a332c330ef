//! Values with units, as dashboard panels show them: scaled to a readable size (`1.2 MB/s`,
//! `1.5 min`, `42.1%`), on axis ticks and in numbers alike. Units are spelt as Grafana spells
//! them (`percentunit`, `decbytes`, `Bps`, `dtdurations`…), since imported dashboards use them.

use vigil_shared::prometheus::format_value;

/// How a value is shown: divided by `divisor`, then followed by `suffix`.
#[derive(Clone, Debug, PartialEq)]
struct Scale {
    divisor: f64,
    suffix: String,
}

/// `(divisor, suffix)` steps of a unit, smallest first; a value takes the largest step not
/// above it.
type Ladder = &'static [(f64, &'static str)];

const COUNT: Ladder = &[(1.0, ""), (1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T")];
const IEC_BYTES: Ladder = &[
    (1.0, " B"),
    (1024.0, " KiB"),
    (1_048_576.0, " MiB"),
    (1_073_741_824.0, " GiB"),
    (1_099_511_627_776.0, " TiB"),
    (1_125_899_906_842_624.0, " PiB"),
];
const SI_BYTES: Ladder = &[
    (1.0, " B"),
    (1e3, " kB"),
    (1e6, " MB"),
    (1e9, " GB"),
    (1e12, " TB"),
    (1e15, " PB"),
];
const SI_BITS: Ladder = &[
    (1.0, " b"),
    (1e3, " kb"),
    (1e6, " Mb"),
    (1e9, " Gb"),
    (1e12, " Tb"),
    (1e15, " Pb"),
];
const BITS_PER_SECOND: Ladder = &[
    (1.0, " b/s"),
    (1e3, " kb/s"),
    (1e6, " Mb/s"),
    (1e9, " Gb/s"),
    (1e12, " Tb/s"),
];
const BYTES_PER_SECOND: Ladder = &[
    (1.0, " B/s"),
    (1e3, " kB/s"),
    (1e6, " MB/s"),
    (1e9, " GB/s"),
    (1e12, " TB/s"),
];
const IEC_BYTES_PER_SECOND: Ladder = &[
    (1.0, " B/s"),
    (1024.0, " KiB/s"),
    (1_048_576.0, " MiB/s"),
    (1_073_741_824.0, " GiB/s"),
    (1_099_511_627_776.0, " TiB/s"),
];
/// Durations, in seconds.
const TIME: Ladder = &[
    (1e-9, " ns"),
    (1e-6, " µs"),
    (1e-3, " ms"),
    (1.0, " s"),
    (60.0, " min"),
    (3_600.0, " h"),
    (86_400.0, " d"),
    (604_800.0, " w"),
    (31_536_000.0, " y"),
];

/// The largest step of `ladder` not above `magnitude` (the first for smaller values; the
/// unit's own for zero), its divisor divided by `base` (one of the unit in the ladder's
/// terms: a value in ms is `0.001` s) and its suffix followed by `tail`.
fn climb(ladder: Ladder, base: f64, magnitude: f64, tail: &str) -> Scale {
    let in_ladder = if magnitude == 0.0 {
        base
    } else {
        magnitude * base
    };
    let (divisor, suffix) = ladder
        .iter()
        .rev()
        .find(|(divisor, _)| in_ladder >= *divisor * (1.0 - 1e-9))
        .unwrap_or(&ladder[0]);
    Scale {
        divisor: divisor / base,
        suffix: format!("{suffix}{tail}"),
    }
}

/// How values of about `magnitude` (positive) in `unit` are shown.
fn scale(unit: &str, magnitude: f64) -> Scale {
    let fixed = |divisor: f64, suffix: &str| Scale {
        divisor,
        suffix: suffix.to_owned(),
    };
    match unit {
        "" | "none" => fixed(1.0, ""),
        "percent" => fixed(1.0, "%"),
        "percentunit" => fixed(0.01, "%"),
        "short" => climb(COUNT, 1.0, magnitude, ""),
        "reqps" => climb(COUNT, 1.0, magnitude, " req/s"),
        "ops" => climb(COUNT, 1.0, magnitude, " ops/s"),
        "bytes" => climb(IEC_BYTES, 1.0, magnitude, ""),
        "decbytes" => climb(SI_BYTES, 1.0, magnitude, ""),
        "bits" | "decbits" => climb(SI_BITS, 1.0, magnitude, ""),
        "bps" => climb(BITS_PER_SECOND, 1.0, magnitude, ""),
        "Bps" => climb(BYTES_PER_SECOND, 1.0, magnitude, ""),
        "binBps" => climb(IEC_BYTES_PER_SECOND, 1.0, magnitude, ""),
        "s" | "dtdurations" => climb(TIME, 1.0, magnitude, ""),
        "ms" | "dtdurationms" => climb(TIME, 1e-3, magnitude, ""),
        "us" | "µs" => climb(TIME, 1e-6, magnitude, ""),
        "ns" => climb(TIME, 1e-9, magnitude, ""),
        other => Scale {
            divisor: 1.0,
            suffix: format!(" {other}"),
        },
    }
}

/// Whether `unit` is a percentage, whose natural range is 0–100 (`percent`) or 0–1
/// (`percentunit`): gauges use it when the panel sets no min and max.
pub fn percent_range(unit: &str) -> Option<(f64, f64)> {
    match unit {
        "percent" => Some((0.0, 100.0)),
        "percentunit" => Some((0.0, 1.0)),
        _ => None,
    }
}

/// A number with `decimals` digits after the point, or, without, about three significant
/// digits with trailing zeros dropped (`42.1`, `1.5`, `0.000123`, `1234`).
fn number(value: f64, decimals: Option<u8>) -> String {
    let text = match decimals {
        Some(decimals) => format!("{value:.*}", usize::from(decimals)),
        None => {
            let digits = if value == 0.0 {
                0
            } else {
                (2 - value.abs().log10().floor() as i32).clamp(0, 9)
            };
            let text = format!("{value:.*}", digits as usize);
            if text.contains('.') {
                text.trim_end_matches('0').trim_end_matches('.').to_owned()
            } else {
                text
            }
        }
    };
    // Rounding may leave "-0" or "-0.00".
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
        text[1..].to_owned()
    } else {
        text
    }
}

/// A value in `unit`, scaled to its size: `format(1_200_000.0, "Bps", None)` is `1.2 MB/s`.
/// NaN and infinities read as Prometheus prints them (`NaN`, `+Inf`, `-Inf`).
pub fn format(value: f64, unit: &str, decimals: Option<u8>) -> String {
    if !value.is_finite() {
        return format_value(value);
    }
    let scale = scale(unit, value.abs());
    format!(
        "{}{}",
        number(value / scale.divisor, decimals),
        scale.suffix
    )
}

/// Ticks for an axis from `low` to `high` in `unit`: about five round values in one common
/// scale (`0 MiB`, `2 MiB`, `4 MiB`), each with its label. Plotly cannot format units itself,
/// so charts pass these as `tickvals`/`ticktext`. Empty when the range is not finite.
pub fn axis_ticks(low: f64, high: f64, unit: &str, decimals: Option<u8>) -> Vec<(f64, String)> {
    if !low.is_finite() || !high.is_finite() {
        return Vec::new();
    }
    let (low, high) = if high > low {
        (low, high)
    } else {
        let pad = if low == 0.0 { 1.0 } else { low.abs() / 10.0 };
        (low - pad, low + pad)
    };
    let scale = scale(unit, low.abs().max(high.abs()));
    let (from, to) = (low / scale.divisor, high / scale.divisor);
    let step = nice_step((to - from) / 5.0);
    let digits = decimals.map_or_else(|| (-step.log10().floor()).max(0.0) as usize, usize::from);
    let first = (from / step).ceil() as i64;
    let last = (to / step).floor() as i64;
    (first..=last)
        .map(|i| {
            let tick = i as f64 * step;
            let label = number(tick, Some(digits as u8));
            (tick * scale.divisor, format!("{label}{}", scale.suffix))
        })
        .collect()
}

/// The round value (1, 2 or 5 times a power of ten) at or above `raw` (positive): a step
/// between ticks, or what a range is rounded up to.
pub fn nice_step(raw: f64) -> f64 {
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_read_as_percent() {
        assert_eq!(format(42.123, "percent", None), "42.1%");
        assert_eq!(format(0.421, "percentunit", None), "42.1%");
        assert_eq!(format(0.5, "percentunit", Some(2)), "50.00%");
        assert_eq!(format(100.0, "percent", None), "100%");
    }

    #[test]
    fn durations_are_scaled() {
        assert_eq!(format(90.0, "s", None), "1.5 min");
        assert_eq!(format(0.0012, "s", None), "1.2 ms");
        assert_eq!(format(1500.0, "ms", None), "1.5 s");
        assert_eq!(format(250.0, "us", None), "250 µs");
        assert_eq!(format(12.0, "ns", None), "12 ns");
        assert_eq!(format(7_200.0, "dtdurations", None), "2 h");
        assert_eq!(format(0.0, "s", None), "0 s");
        assert_eq!(format(3.0 * 86_400.0, "s", Some(1)), "3.0 d");
    }

    #[test]
    fn bytes_use_binary_or_decimal_prefixes() {
        assert_eq!(format(1536.0, "bytes", None), "1.5 KiB");
        assert_eq!(format(3.0 * 1_048_576.0, "bytes", None), "3 MiB");
        assert_eq!(format(1500.0, "decbytes", None), "1.5 kB");
        assert_eq!(format(512.0, "bytes", None), "512 B");
    }

    #[test]
    fn rates_are_scaled() {
        assert_eq!(format(1_200_000.0, "Bps", None), "1.2 MB/s");
        assert_eq!(format(2_500.0, "bps", None), "2.5 kb/s");
        assert_eq!(format(3_000_000.0, "bps", None), "3 Mb/s");
        assert_eq!(format(2048.0, "binBps", None), "2 KiB/s");
        assert_eq!(format(1_234.0, "reqps", None), "1.23K req/s");
        assert_eq!(format(12.0, "ops", None), "12 ops/s");
    }

    #[test]
    fn counts_and_plain_numbers() {
        assert_eq!(format(1_500.0, "short", None), "1.5K");
        assert_eq!(format(2_000_000.0, "short", None), "2M");
        assert_eq!(format(3e9, "short", None), "3B");
        assert_eq!(format(0.000123, "", None), "0.000123");
        assert_eq!(format(1234.6, "none", None), "1235");
        assert_eq!(format(1234.5, "none", Some(1)), "1234.5");
        assert_eq!(format(-0.0001, "", Some(2)), "0.00");
        assert_eq!(format(-42.0, "short", None), "-42");
        assert_eq!(format(21.5, "celsius", None), "21.5 celsius");
    }

    #[test]
    fn special_values_read_as_prometheus_prints_them() {
        assert_eq!(format(f64::NAN, "bytes", None), "NaN");
        assert_eq!(format(f64::INFINITY, "s", None), "+Inf");
        assert_eq!(format(f64::NEG_INFINITY, "", Some(2)), "-Inf");
    }

    #[test]
    fn axis_ticks_share_one_scale() {
        let ticks = axis_ticks(0.0, 10.0 * 1_048_576.0, "bytes", None);
        let labels: Vec<&str> = ticks.iter().map(|(_, label)| label.as_str()).collect();
        assert_eq!(
            labels,
            ["0 MiB", "2 MiB", "4 MiB", "6 MiB", "8 MiB", "10 MiB"]
        );
        assert_eq!(ticks[1].0, 2.0 * 1_048_576.0);

        let ticks = axis_ticks(0.0, 1.0, "percentunit", None);
        assert_eq!(ticks[1].1, "20%");
        assert_eq!(ticks.len(), 6);

        let ticks = axis_ticks(0.0, 0.5, "", None);
        assert_eq!(ticks[1].1, "0.1");
        assert!(axis_ticks(0.0, f64::INFINITY, "", None).is_empty());
        assert!(!axis_ticks(5.0, 5.0, "", None).is_empty());
    }

    #[test]
    fn percentages_have_a_natural_range() {
        assert_eq!(percent_range("percent"), Some((0.0, 100.0)));
        assert_eq!(percent_range("percentunit"), Some((0.0, 1.0)));
        assert_eq!(percent_range("bytes"), None);
    }
}
