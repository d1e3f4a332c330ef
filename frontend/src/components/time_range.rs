//! The time range picker: a relative window ("last 6 hours", which moves with the clock) or
//! an absolute one (from, to), written into page addresses as `6h` or `<from>-<to>`.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

/// Relative windows offered: seconds, address form, label.
const RELATIVE: [(u32, &str, &str); 10] = [
    (300, "5m", "Last 5 minutes"),
    (900, "15m", "Last 15 minutes"),
    (1_800, "30m", "Last 30 minutes"),
    (3_600, "1h", "Last 1 hour"),
    (10_800, "3h", "Last 3 hours"),
    (21_600, "6h", "Last 6 hours"),
    (43_200, "12h", "Last 12 hours"),
    (86_400, "24h", "Last 24 hours"),
    (172_800, "2d", "Last 2 days"),
    (604_800, "7d", "Last 7 days"),
];

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeRange {
    /// The last so many seconds, up to now.
    Last(u32),
    /// A fixed window, unix seconds.
    Between { from: f64, to: f64 },
}

impl Default for TimeRange {
    fn default() -> Self {
        TimeRange::Last(3_600)
    }
}

/// Now, in unix seconds.
pub fn now() -> f64 {
    js_sys::Date::now() / 1000.0
}

impl TimeRange {
    /// The window as `(start, end)` unix seconds, as of now.
    pub fn window(&self) -> (f64, f64) {
        match *self {
            TimeRange::Last(seconds) => {
                let end = now().floor();
                (end - f64::from(seconds), end)
            }
            TimeRange::Between { from, to } => (from, to),
        }
    }

    /// The form used in addresses: `1h`, or `1700000000-1700003600`.
    pub fn to_param(&self) -> String {
        match *self {
            TimeRange::Last(seconds) => {
                RELATIVE.iter().find(|(s, _, _)| *s == seconds).map_or_else(
                    || format!("{seconds}s"),
                    |(_, param, _)| (*param).to_owned(),
                )
            }
            TimeRange::Between { from, to } => format!("{from:.0}-{to:.0}"),
        }
    }

    pub fn parse(text: &str) -> Option<TimeRange> {
        if let Some((seconds, _, _)) = RELATIVE.iter().find(|(_, param, _)| *param == text) {
            return Some(TimeRange::Last(*seconds));
        }
        if let Some(seconds) = text.strip_suffix('s').and_then(|s| s.parse().ok()) {
            return Some(TimeRange::Last(seconds));
        }
        let (from, to) = text.split_once('-')?;
        let (from, to): (f64, f64) = (from.parse().ok()?, to.parse().ok()?);
        (from < to).then_some(TimeRange::Between { from, to })
    }
}

/// `2026-11-22T15:04` (what a datetime-local input holds), in the viewer's time zone.
fn to_local_input(seconds: f64) -> String {
    crate::format::plot_time(seconds)
        .get(..16)
        .unwrap_or_default()
        .replacen(' ', "T", 1)
}

/// A datetime-local input's value as unix seconds (read in the viewer's time zone).
fn from_local_input(value: &str) -> Option<f64> {
    if value.is_empty() {
        return None;
    }
    let millis = js_sys::Date::new(&JsValue::from_str(value)).get_time();
    millis.is_finite().then_some(millis / 1000.0)
}

#[component]
pub fn TimeRangePicker(range: RwSignal<TimeRange>) -> impl IntoView {
    let custom = RwSignal::new(matches!(range.get_untracked(), TimeRange::Between { .. }));
    let (start, end) = range.get_untracked().window();
    let from = RwSignal::new(to_local_input(start));
    let to = RwSignal::new(to_local_input(end));
    let problem = RwSignal::new(None::<&'static str>);

    let selected = move || {
        if custom.get() {
            "custom".to_owned()
        } else {
            range.get().to_param()
        }
    };
    let choose = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        if value == "custom" {
            let (start, end) = range.get_untracked().window();
            from.set(to_local_input(start));
            to.set(to_local_input(end));
            custom.set(true);
        } else if let Some(chosen) = TimeRange::parse(&value) {
            custom.set(false);
            problem.set(None);
            range.set(chosen);
        }
    };
    let apply = move |_| match (
        from_local_input(&from.get_untracked()),
        from_local_input(&to.get_untracked()),
    ) {
        (Some(start), Some(end)) if start < end => {
            problem.set(None);
            range.set(TimeRange::Between {
                from: start,
                to: end,
            });
        }
        (Some(_), Some(_)) => problem.set(Some("The start must be before the end.")),
        _ => problem.set(Some("Give both a start and an end.")),
    };

    view! {
        <div class="time-range">
            <div class="field">
                <label for="field-time-range">"Time range"</label>
                <select id="field-time-range" on:change=choose prop:value=selected>
                    {RELATIVE
                        .iter()
                        .map(|(_, param, label)| view! { <option value=*param>{*label}</option> })
                        .collect_view()}
                    <option value="custom">"Custom range…"</option>
                </select>
            </div>
            <Show when=move || custom.get()>
                <div class="field">
                    <label for="field-range-from">"From"</label>
                    <input id="field-range-from" type="datetime-local" bind:value=from/>
                </div>
                <div class="field">
                    <label for="field-range-to">"To"</label>
                    <input id="field-range-to" type="datetime-local" bind:value=to/>
                </div>
                <button class="button" type="button" on:click=apply>"Apply range"</button>
            </Show>
            {move || problem.get().map(|p| view! { <p class="field-error" role="alert">{p}</p> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_travel_in_addresses_and_come_back() {
        for range in [
            TimeRange::Last(3_600),
            TimeRange::Last(604_800),
            TimeRange::Last(90),
            TimeRange::Between {
                from: 1_700_000_000.0,
                to: 1_700_003_600.0,
            },
        ] {
            assert_eq!(TimeRange::parse(&range.to_param()), Some(range));
        }
        assert_eq!(TimeRange::Last(21_600).to_param(), "6h");
        assert_eq!(
            TimeRange::parse("1700003600-1700000000"),
            None,
            "the end before the start"
        );
        assert_eq!(TimeRange::parse("soon"), None);
    }
}
