//! Showing values to people: times in the browser's locale and time zone.

use chrono::{DateTime, Utc};
use wasm_bindgen::JsValue;

/// A timestamp in the viewer's locale and time zone, e.g. `22/11/2026, 15:04:05`.
pub fn time(at: &DateTime<Utc>) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at.timestamp_millis() as f64));
    date.to_locale_string("default", &JsValue::UNDEFINED).into()
}

/// An optional timestamp, or a dash.
pub fn maybe_time(at: &Option<DateTime<Utc>>) -> String {
    at.as_ref().map_or_else(|| "—".to_owned(), time)
}

/// "just now", "5 min ago", "3 h ago", "2 days ago".
pub fn ago(at: &DateTime<Utc>) -> String {
    let seconds = (Utc::now() - *at).num_seconds().max(0);
    match seconds {
        0..=59 => "just now".to_owned(),
        60..=3_599 => format!("{} min ago", seconds / 60),
        3_600..=86_399 => format!("{} h ago", seconds / 3_600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// A time relative to now: "in 4 min" ahead of now, "4 min ago" (see [`ago`]) behind it.
pub fn relative(at: &DateTime<Utc>) -> String {
    let seconds = (*at - Utc::now()).num_seconds();
    match seconds {
        ..=0 => ago(at),
        1..=59 => format!("in {seconds} s"),
        60..=3_599 => format!("in {} min", seconds / 60),
        3_600..=86_399 => format!("in {} h", seconds / 3_600),
        _ => format!("in {} days", seconds / 86_400),
    }
}

/// A duration as people say it: `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as i64;
    match s {
        0..60 => format!("{s} s"),
        60..3_600 => format!("{} min", s / 60),
        3_600..86_400 => format!("{} h {:02} min", s / 3_600, s % 3_600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3_600),
    }
}

/// A unix time (seconds) as plotly reads dates, in the viewer's time zone:
/// `2026-11-22 15:04:05.250`.
pub fn plot_time(seconds: f64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(seconds * 1000.0));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds(),
        date.get_milliseconds()
    )
}

/// A sample value as Prometheus prints it: shortest form, `NaN`, `+Inf`, `-Inf`.
pub fn value(value: f64) -> String {
    vigil_shared::prometheus::format_value(value)
}

/// A series' labels as PromQL writes them: `http_requests_total{job="api", code="500"}`.
pub fn series_name(labels: &std::collections::BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    if rest.is_empty() && !name.is_empty() {
        name
    } else {
        format!("{name}{{{}}}", rest.join(", "))
    }
}

/// A Prometheus duration (`30s`, `5m`, `1h30m`, `500ms`, `0`) in seconds; `None` if malformed.
pub fn duration_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    if text == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3_600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(0.0), "0 s");
        assert_eq!(duration(59.4), "59 s");
        assert_eq!(duration(61.0), "1 min");
        assert_eq!(duration(3_599.0), "59 min");
        assert_eq!(duration(3_900.0), "1 h 05 min");
        assert_eq!(duration(86_400.0 + 4.0 * 3_600.0 + 59.0), "1 d 4 h");
        assert_eq!(duration(-5.0), "0 s");
    }

    #[test]
    fn prometheus_durations_are_read() {
        assert_eq!(duration_seconds("30s"), Some(30.0));
        assert_eq!(duration_seconds("1h30m"), Some(5_400.0));
        assert_eq!(duration_seconds("500ms"), Some(0.5));
        assert_eq!(duration_seconds("0"), Some(0.0));
        assert_eq!(duration_seconds(""), None);
        assert_eq!(duration_seconds("5 minutes"), None);
        assert_eq!(duration_seconds("m5"), None);
    }
}
