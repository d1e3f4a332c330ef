//! Time zones by IANA name (`Europe/Berlin`) through the browser's `Intl`, which knows them all:
//! the viewer's own zone, today's date and a day's midnight in any zone, and the local times
//! `datetime-local` inputs hold. Without this the WebAssembly would carry the time zone
//! database (chrono-tz, several hundred KB).

use chrono::{DateTime, NaiveDate, Utc};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function vigilTimeZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (e) { return 'UTC'; }
}
function parts(zone, ms) {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  const out = {};
  for (const part of format.formatToParts(new Date(ms))) out[part.type] = Number(part.value);
  return out;
}
function offset(zone, ms) {
  const p = parts(zone, ms);
  const local = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
  return local - (ms - (((ms % 1000) + 1000) % 1000));
}
export function vigilZonedMidnight(zone, year, month, day) {
  try {
    const wall = Date.UTC(year, month - 1, day);
    // The offset at the guess may differ from the offset at the answer (a daylight-saving
    // change that night): a second round settles it.
    let at = wall - offset(zone, wall);
    at = wall - offset(zone, at);
    return at;
  } catch (e) { return NaN; }
}
export function vigilZonedToday(zone) {
  try {
    const p = parts(zone, Date.now());
    return `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
  } catch (e) { return ''; }
}
export function vigilDateIn(zone, ms) {
  try {
    return new Date(ms).toLocaleDateString(undefined, { timeZone: zone, year: 'numeric', month: 'short', day: 'numeric' });
  } catch (e) { return new Date(ms).toLocaleDateString(); }
}
export function vigilLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}
"#)]
extern "C" {
    /// The browser's IANA time zone (`UTC` if it cannot tell).
    #[wasm_bindgen(js_name = vigilTimeZone)]
    pub fn browser_time_zone() -> String;
    #[wasm_bindgen(js_name = vigilZonedMidnight)]
    fn zoned_midnight_js(zone: &str, year: i32, month: u32, day: u32) -> f64;
    #[wasm_bindgen(js_name = vigilZonedToday)]
    fn zoned_today_js(zone: &str) -> String;
    #[wasm_bindgen(js_name = vigilDateIn)]
    fn date_in_js(zone: &str, ms: f64) -> String;
    #[wasm_bindgen(js_name = vigilLocalInput)]
    fn local_input_js(ms: f64) -> String;
}

/// The instant a day starts in `zone`; `None` for a zone the browser does not know.
pub fn midnight_in(zone: &str, day: NaiveDate) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    let ms = zoned_midnight_js(zone, day.year(), day.month(), day.day());
    ms.is_finite()
        .then(|| DateTime::from_timestamp_millis(ms as i64))
        .flatten()
}

/// Today's date in `zone`; `None` for a zone the browser does not know.
pub fn today_in(zone: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&zoned_today_js(zone), "%Y-%m-%d").ok()
}

/// The date of a moment in `zone`, in the viewer's words: `Nov 30, 2026`.
pub fn date_in(zone: &str, at: &DateTime<Utc>) -> String {
    date_in_js(zone, at.timestamp_millis() as f64)
}

/// Whether the browser knows `zone` as a time zone.
pub fn is_time_zone(zone: &str) -> bool {
    !zone.trim().is_empty() && today_in(zone.trim()).is_some()
}

/// The value a `datetime-local` input shows for a moment (local time, to the minute).
pub fn local_input(at: &DateTime<Utc>) -> String {
    local_input_js(at.timestamp_millis() as f64)
}

/// What a `datetime-local` input holds (local time) as a moment.
pub fn from_local_input(text: &str) -> Option<DateTime<Utc>> {
    let ms = js_sys::Date::new(&JsValue::from_str(text.trim())).get_time();
    (!text.trim().is_empty() && ms.is_finite())
        .then(|| DateTime::from_timestamp_millis(ms as i64))
        .flatten()
}
