//! What a dashboard's address holds, so that a link reproduces the view: the time range as
//! Grafana writes it (`from=now-6h&to=now`, or unix milliseconds for a fixed window), the
//! auto-refresh (`refresh=30s`), each variable's selection (`var-job=api&var-job=web`, or
//! `var-job=$__all`) and the panel shown full screen (`viewPanel=cpu`).

use std::collections::BTreeMap;

use vigil_shared::dashboard::{TimeDefaults, vars};

use crate::components::TimeRange;
use crate::format;

/// A variable's selection of "All" in the address, as Grafana writes it.
pub const ALL: &str = "$__all";

/// Auto-refresh choices: address form and label (none is "off").
pub const REFRESH_CHOICES: [(&str, &str); 5] = [
    ("10s", "Every 10 s"),
    ("30s", "Every 30 s"),
    ("1m", "Every minute"),
    ("5m", "Every 5 min"),
    ("15m", "Every 15 min"),
];

/// The view a dashboard's address describes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewState {
    pub range: TimeRange,
    /// One of [`REFRESH_CHOICES`]; none when off.
    pub refresh: Option<String>,
    /// Selected values by variable name, as the address gives them (not checked against the
    /// variable's options: that happens once they are known).
    pub vars: BTreeMap<String, Vec<String>>,
    /// The key of the panel shown full screen.
    pub view_panel: Option<String>,
}

impl ViewState {
    /// Reads an address's query (its decoded `key=value` pairs, in order), falling back on
    /// the dashboard's defaults for what it lacks; `now` in unix seconds (for a window given
    /// as `now-1d` to `now-1h`).
    pub fn read(pairs: &[(String, String)], defaults: &TimeDefaults, now: f64) -> ViewState {
        let last = |key: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let range = read_range(last("from"), last("to"), now)
            .or_else(|| default_range(&defaults.range))
            .unwrap_or_default();
        let refresh = match last("refresh") {
            Some(refresh) => refresh_choice(refresh),
            None => defaults.refresh.as_deref().and_then(refresh_choice),
        };
        let mut vars = BTreeMap::<String, Vec<String>>::new();
        for (key, value) in pairs {
            if let Some(name) = key.strip_prefix("var-") {
                vars.entry(name.to_owned()).or_default().push(value.clone());
            }
        }
        ViewState {
            range,
            refresh,
            vars,
            view_panel: last("viewPanel")
                .filter(|key| !key.is_empty())
                .map(ToOwned::to_owned),
        }
    }

    /// The query string (with its `?`) that [`ViewState::read`] reads back as this view.
    pub fn query(&self) -> String {
        let (from, to) = range_params(&self.range);
        let mut parts = vec![
            format!("from={}", escape(&from)),
            format!("to={}", escape(&to)),
        ];
        // Written even when off, or the dashboard's default would come back.
        let refresh = self.refresh.as_deref().unwrap_or("off");
        parts.push(format!("refresh={}", escape(refresh)));
        for (name, values) in &self.vars {
            for value in values {
                parts.push(format!("var-{}={}", escape(name), escape(value)));
            }
        }
        if let Some(key) = &self.view_panel {
            parts.push(format!("viewPanel={}", escape(key)));
        }
        format!("?{}", parts.join("&"))
    }
}

/// A refresh choice offered, or none (`off`, anything unknown).
fn refresh_choice(text: &str) -> Option<String> {
    REFRESH_CHOICES
        .iter()
        .find(|(choice, _)| *choice == text)
        .map(|(choice, _)| (*choice).to_owned())
}

/// A dashboard's default window (`6h`) as a relative range.
fn default_range(text: &str) -> Option<TimeRange> {
    let seconds = format::duration_seconds(text)?;
    (seconds >= 1.0).then(|| TimeRange::Last(seconds.round() as u32))
}

/// One end of a window: `now`, `now-<duration>`, or unix milliseconds; as seconds ago
/// (relative) or unix seconds (absolute).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Instant {
    Ago(f64),
    At(f64),
}

fn read_instant(text: &str) -> Option<Instant> {
    let text = text.trim();
    if text == "now" {
        return Some(Instant::Ago(0.0));
    }
    if let Some(ago) = text.strip_prefix("now-") {
        return format::duration_seconds(ago)
            .filter(|s| s.is_finite())
            .map(Instant::Ago);
    }
    let millis: f64 = text.parse().ok()?;
    (millis.is_finite() && millis >= 0.0).then_some(Instant::At(millis / 1000.0))
}

/// The window `from`/`to` give: relative when it ends now, fixed otherwise (as of `now`).
fn read_range(from: Option<&str>, to: Option<&str>, now: f64) -> Option<TimeRange> {
    let from = read_instant(from?)?;
    let to = to.map_or(Some(Instant::Ago(0.0)), read_instant)?;
    let at = |instant| match instant {
        Instant::Ago(seconds) => now - seconds,
        Instant::At(seconds) => seconds,
    };
    match (from, to) {
        (Instant::Ago(seconds), Instant::Ago(0.0)) if seconds >= 1.0 => {
            Some(TimeRange::Last(seconds.round() as u32))
        }
        _ => {
            let (from, to) = (at(from), at(to));
            (from < to).then_some(TimeRange::Between { from, to })
        }
    }
}

/// `from` and `to` for a range: `now-6h`/`now`, or unix milliseconds.
pub fn range_params(range: &TimeRange) -> (String, String) {
    match *range {
        TimeRange::Last(seconds) => (
            format!("now-{}", vars::duration(f64::from(seconds))),
            "now".to_owned(),
        ),
        TimeRange::Between { from, to } => (
            format!("{:.0}", from * 1000.0),
            format!("{:.0}", to * 1000.0),
        ),
    }
}

/// A query value made safe for an address (RFC 3986 unreserved characters pass).
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_800_000_000.0;

    /// An address's query as the router hands it over: pairs, their values unescaped.
    fn pairs(query: &str) -> Vec<(String, String)> {
        query
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (unescape(key), unescape(value))
            })
            .collect()
    }

    fn unescape(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn defaults() -> TimeDefaults {
        TimeDefaults {
            range: "6h".to_owned(),
            refresh: Some("1m".to_owned()),
        }
    }

    #[test]
    fn relative_and_fixed_windows_are_read_as_grafana_writes_them() {
        let read = |query: &str| ViewState::read(&pairs(query), &defaults(), NOW).range;
        assert_eq!(read("from=now-6h&to=now"), TimeRange::Last(21_600));
        assert_eq!(read("from=now-90m"), TimeRange::Last(5_400));
        assert_eq!(
            read("from=1700000000000&to=1700003600000"),
            TimeRange::Between {
                from: 1_700_000_000.0,
                to: 1_700_003_600.0
            }
        );
        assert_eq!(
            read("from=now-2d&to=now-1d"),
            TimeRange::Between {
                from: NOW - 172_800.0,
                to: NOW - 86_400.0
            }
        );
        // What cannot be read falls back on the dashboard's default.
        assert_eq!(read(""), TimeRange::Last(21_600));
        assert_eq!(read("from=yesterday&to=now"), TimeRange::Last(21_600));
        assert_eq!(
            read("from=1700003600000&to=1700000000000"),
            TimeRange::Last(21_600)
        );
    }

    #[test]
    fn a_view_travels_in_its_address_and_comes_back() {
        let view = ViewState {
            range: TimeRange::Between {
                from: 1_700_000_000.5,
                to: 1_700_003_600.0,
            },
            refresh: Some("30s".to_owned()),
            vars: BTreeMap::from([
                (
                    "job".to_owned(),
                    vec!["api".to_owned(), "web & co".to_owned()],
                ),
                ("instance".to_owned(), vec![ALL.to_owned()]),
            ]),
            view_panel: Some("cpu:api".to_owned()),
        };
        let query = view.query();
        assert!(
            query.contains("var-job=api&var-job=web%20%26%20co"),
            "{query}"
        );
        assert!(query.contains("var-instance=%24__all"), "{query}");
        assert_eq!(ViewState::read(&pairs(&query), &defaults(), NOW), view);

        let relative = ViewState {
            range: TimeRange::Last(5_400),
            ..ViewState::default()
        };
        assert_eq!(relative.query(), "?from=now-1h30m&to=now&refresh=off");
    }

    #[test]
    fn refresh_is_one_of_the_choices_or_off() {
        let read = |query: &str| ViewState::read(&pairs(query), &defaults(), NOW).refresh;
        assert_eq!(read(""), Some("1m".to_owned()), "the dashboard's default");
        assert_eq!(read("refresh=10s"), Some("10s".to_owned()));
        assert_eq!(read("refresh=off"), None);
        assert_eq!(read("refresh=1s"), None, "too often: not offered");
    }
}
