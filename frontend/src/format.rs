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
