//! Template variables in queries, titles and text: `$name`, `${name}`, `${name:format}` and
//! Grafana's older `[[name]]`, plus the built-ins `$__interval`, `$__rate_interval` and
//! `$__range` (and their `_ms`/`_s` forms).
//!
//! The same code runs in the browser (drawing a dashboard) and on the server (checking that a
//! saved dashboard's queries parse once their variables are filled in).

use std::collections::BTreeMap;

/// What a variable stands for in one view of a dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The chosen values (one, or several for a multi-value variable).
    Values(Vec<String>),
    /// "All": every option the variable offers.
    All(Vec<String>),
    /// Text put in as it is, such as an "All" value of `.*`.
    Raw(String),
}

/// Where the text goes, which decides how several values are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Inside PromQL: several values become a regex alternation `(a|b)` with regex
    /// metacharacters escaped, so that `label=~"$var"` matches exactly those values; one value
    /// goes in as it is. Quotes and backslashes are escaped for a double-quoted string.
    Query,
    /// Titles and text: `a + b`, and `All`.
    Text,
}

/// The variables of one view and the built-ins, in seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    pub values: BTreeMap<String, Selection>,
    /// The step of the panel being drawn.
    pub interval: f64,
    /// A range for `rate()` that always holds at least four scrapes (see [`rate_interval`]).
    pub rate_interval: f64,
    /// The length of the dashboard's time range.
    pub range: f64,
}

/// A reference found in text: where it starts and ends, the variable's name and format.
struct Reference<'a> {
    start: usize,
    end: usize,
    name: &'a str,
    format: Option<&'a str>,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The length of the name at the start of `text`.
fn name_len(text: &str) -> usize {
    text.find(|c: char| !is_name_char(c)).unwrap_or(text.len())
}

/// A `${name[:format]}` or `[[name[:format]]]` reference starting at `at`, `inner` being the
/// text after its two opening characters.
fn enclosed<'a>(inner: &'a str, close: &str, at: usize) -> Option<Reference<'a>> {
    let end = inner.find(close)?;
    let body = &inner[..end];
    let (name, format) = match body.split_once(':') {
        Some((name, format)) => (name, Some(format)),
        None => (body, None),
    };
    (!name.is_empty() && name.chars().all(is_name_char)).then_some(Reference {
        start: at,
        end: at + 2 + end + close.len(),
        name,
        format,
    })
}

/// Every reference in `text`, in order.
fn scan(text: &str) -> Vec<Reference<'_>> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let reference = if let Some(inner) = rest.strip_prefix("${") {
            enclosed(inner, "}", at)
        } else if let Some(inner) = rest.strip_prefix("[[") {
            enclosed(inner, "]]", at)
        } else if let Some(inner) = rest.strip_prefix('$') {
            let len = name_len(inner);
            (len > 0).then(|| Reference {
                start: at,
                end: at + 1 + len,
                name: &inner[..len],
                format: None,
            })
        } else {
            None
        };
        match reference {
            Some(reference) => {
                at = reference.end;
                found.push(reference);
            }
            None => at += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

/// The names of the variables `text` uses (built-ins left out), each once, in order: a
/// variable whose query uses another is refreshed when that one changes.
pub fn references(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for reference in scan(text) {
        if !reference.name.starts_with("__") && !names.iter().any(|n| n == reference.name) {
            names.push(reference.name.to_owned());
        }
    }
    names
}

/// `text` with every known variable and built-in filled in; unknown names stay as written.
pub fn interpolate(text: &str, scope: &Scope, format: Format) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for reference in scan(text) {
        let Some(value) = value_of(&reference, scope, format) else {
            continue;
        };
        out.push_str(&text[copied..reference.start]);
        out.push_str(&value);
        copied = reference.end;
    }
    out.push_str(&text[copied..]);
    out
}

fn value_of(reference: &Reference<'_>, scope: &Scope, format: Format) -> Option<String> {
    let builtin = match reference.name {
        "__interval" => Some(duration(scope.interval)),
        "__interval_ms" => Some(format!("{:.0}", scope.interval * 1000.0)),
        "__rate_interval" => Some(duration(scope.rate_interval)),
        "__range" => Some(duration(scope.range)),
        "__range_s" => Some(format!("{:.0}", scope.range)),
        "__range_ms" => Some(format!("{:.0}", scope.range * 1000.0)),
        _ => None,
    };
    if builtin.is_some() {
        return builtin;
    }
    let selection = scope.values.get(reference.name)?;
    let format = if reference.format == Some("text") {
        Format::Text
    } else {
        format
    };
    Some(match (reference.format, selection) {
        (_, Selection::Raw(text)) => text.clone(),
        (Some("csv"), Selection::Values(values) | Selection::All(values)) => values.join(","),
        (Some("pipe"), Selection::Values(values) | Selection::All(values)) => values.join("|"),
        (Some("raw"), Selection::Values(values)) => values.join(","),
        (_, Selection::Values(values)) => join(values, format),
        (_, Selection::All(options)) => match format {
            Format::Text => "All".to_owned(),
            Format::Query if options.is_empty() => ".*".to_owned(),
            Format::Query => alternation(options),
        },
    })
}

fn join(values: &[String], format: Format) -> String {
    match (format, values) {
        (Format::Text, _) => values.join(" + "),
        (Format::Query, [one]) => escape_string(one),
        (Format::Query, _) => alternation(values),
    }
}

/// `(a|b)`, each value's regex metacharacters escaped, as a PromQL string wants them.
fn alternation(values: &[String]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|value| {
            let mut escaped = String::with_capacity(value.len());
            for c in value.chars() {
                if "\\^$.|?*+()[]{}".contains(c) {
                    // A regex escape, written inside a double-quoted PromQL string.
                    escaped.push_str("\\\\");
                } else if c == '"' {
                    escaped.push('\\');
                }
                escaped.push(c);
            }
            escaped
        })
        .collect();
    format!("({})", parts.join("|"))
}

/// A value placed inside a double-quoted PromQL string.
fn escape_string(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Seconds as a Prometheus duration: `15s`, `1m30s`, `2h`, `500ms`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds <= 0.0 {
        return "0s".to_owned();
    }
    let millis = (seconds * 1000.0).round() as u64;
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let mut rest = millis / 1000;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Steps a panel is drawn at: round numbers, so that panels line up and successive views of
/// a sliding window ask the same steps (which the query cache can then reuse).
const STEPS: [f64; 22] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1_200.0, 1_800.0,
    3_600.0, 7_200.0, 10_800.0, 21_600.0, 43_200.0, 86_400.0, 172_800.0, 604_800.0,
];

/// The step for drawing `range` seconds across `width_px` pixels: about one point per pixel,
/// rounded up to a round step, at least 15 s (a usual scrape interval).
pub fn step_for(range: f64, width_px: u32) -> f64 {
    let raw = range / f64::from(width_px.max(100));
    let wanted = raw.max(15.0);
    STEPS
        .iter()
        .copied()
        .find(|step| *step >= wanted)
        .unwrap_or((wanted / 86_400.0).ceil() * 86_400.0)
}

/// `$__rate_interval`: the step plus one scrape, but at least four scrapes, so `rate()` over
/// it always has two samples even when a scrape is missed (Grafana's rule).
pub fn rate_interval(step: f64, scrape_interval: f64) -> f64 {
    (step + scrape_interval).max(4.0 * scrape_interval)
}

/// A query variable's `label_values(…)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelValues {
    /// `metric{job="api"}`, when given.
    pub selector: Option<String>,
    pub label: String,
}

/// `label_values(label)` or `label_values(selector, label)`; none for anything else.
pub fn parse_label_values(query: &str) -> Option<LabelValues> {
    let inner = query
        .trim()
        .strip_prefix("label_values")?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')?;
    // The label follows the last comma outside braces and quotes.
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut split = None;
    let mut escaped = false;
    for (at, c) in inner.char_indices() {
        match (quote, c) {
            (Some(_), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '{' | '(' | '[') => depth += 1,
            (None, '}' | ')' | ']') => depth -= 1,
            (None, ',') if depth == 0 => split = Some(at),
            _ => {}
        }
        escaped = false;
    }
    let (selector, label) = match split {
        Some(at) => (Some(inner[..at].trim().to_owned()), inner[at + 1..].trim()),
        None => (None, inner.trim()),
    };
    let valid = !label.is_empty()
        && label.chars().all(is_name_char)
        && !label.starts_with(|c: char| c.is_ascii_digit());
    valid.then(|| LabelValues {
        selector: selector.filter(|s| !s.is_empty()),
        label: label.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(values: &[(&str, Selection)]) -> Scope {
        Scope {
            values: values
                .iter()
                .map(|(name, selection)| ((*name).to_owned(), selection.clone()))
                .collect(),
            interval: 60.0,
            rate_interval: 75.0,
            range: 21_600.0,
        }
    }

    fn values(list: &[&str]) -> Selection {
        Selection::Values(list.iter().map(|v| (*v).to_owned()).collect())
    }

    #[test]
    fn single_values_fill_every_syntax() {
        let scope = scope(&[("job", values(&["node"])), ("node", values(&["host:9100"]))]);
        for text in [
            r#"up{job="$job",instance="$node"}"#,
            r#"up{job="${job}",instance="${node}"}"#,
            r#"up{job="[[job]]",instance="[[node]]"}"#,
        ] {
            assert_eq!(
                interpolate(text, &scope, Format::Query),
                r#"up{job="node",instance="host:9100"}"#,
                "{text}"
            );
        }
    }

    #[test]
    fn several_values_become_an_escaped_alternation() {
        let scope = scope(&[("instance", values(&["a.example:9100", "b|c"]))]);
        assert_eq!(
            interpolate(r#"up{instance=~"$instance"}"#, &scope, Format::Query),
            r#"up{instance=~"(a\\.example:9100|b\\|c)"}"#
        );
        assert_eq!(
            interpolate("CPU of $instance", &scope, Format::Text),
            "CPU of a.example:9100 + b|c"
        );
    }

    #[test]
    fn all_is_every_option_or_the_custom_all_value() {
        let all = scope(&[("job", Selection::All(vec!["api".into(), "db".into()]))]);
        assert_eq!(
            interpolate(r#"up{job=~"$job"}"#, &all, Format::Query),
            r#"up{job=~"(api|db)"}"#
        );
        assert_eq!(interpolate("$job", &all, Format::Text), "All");
        let custom = scope(&[("job", Selection::Raw(".*".into()))]);
        assert_eq!(
            interpolate(r#"up{job=~"$job"}"#, &custom, Format::Query),
            r#"up{job=~".*"}"#
        );
        let none = scope(&[("job", Selection::All(Vec::new()))]);
        assert_eq!(interpolate("$job", &none, Format::Query), ".*");
    }

    #[test]
    fn builtins_are_prometheus_durations() {
        let scope = scope(&[]);
        assert_eq!(
            interpolate(
                "rate(x[$__rate_interval]) / $__interval_ms + avg_over_time(y[$__range]) [$__interval]",
                &scope,
                Format::Query
            ),
            "rate(x[1m15s]) / 60000 + avg_over_time(y[6h]) [1m]"
        );
        assert_eq!(duration(0.25), "250ms");
        assert_eq!(duration(90_061.0), "1d1h1m1s");
    }

    #[test]
    fn unknown_names_and_lone_dollars_stay() {
        let scope = scope(&[("job", values(&["api"]))]);
        assert_eq!(
            interpolate(
                "$ $unknown ${job} $job_x ${bad name} $$job",
                &scope,
                Format::Text
            ),
            "$ $unknown api $job_x ${bad name} $api"
        );
    }

    #[test]
    fn quotes_and_backslashes_stay_inside_the_string() {
        let scope = scope(&[("path", values(&[r#"C:\a "b""#]))]);
        assert_eq!(
            interpolate(r#"x{path="$path"}"#, &scope, Format::Query),
            r#"x{path="C:\\a \"b\""}"#
        );
    }

    #[test]
    fn formats_named_in_braces() {
        let scope = scope(&[("job", values(&["a", "b"]))]);
        assert_eq!(interpolate("${job:csv}", &scope, Format::Query), "a,b");
        assert_eq!(interpolate("${job:pipe}", &scope, Format::Query), "a|b");
        assert_eq!(interpolate("${job:text}", &scope, Format::Query), "a + b");
    }

    #[test]
    fn chained_variables_name_what_they_use() {
        assert_eq!(
            references(
                r#"label_values(node_uname_info{job="$job", nodename="${nodename}"}, instance) [$__interval] $job"#
            ),
            vec!["job".to_owned(), "nodename".to_owned()]
        );
    }

    #[test]
    fn label_values_queries() {
        assert_eq!(
            parse_label_values("label_values(job)"),
            Some(LabelValues {
                selector: None,
                label: "job".into()
            })
        );
        assert_eq!(
            parse_label_values(r#" label_values(node_uname_info{job="$job", x="a,b"}, nodename) "#),
            Some(LabelValues {
                selector: Some(r#"node_uname_info{job="$job", x="a,b"}"#.into()),
                label: "nodename".into()
            })
        );
        assert_eq!(parse_label_values("query_result(up)"), None);
        assert_eq!(parse_label_values("label_values(up, )"), None);
    }

    #[test]
    fn steps_are_round_and_rate_intervals_hold_four_scrapes() {
        assert_eq!(step_for(86_400.0, 1_000), 120.0);
        assert_eq!(step_for(3_600.0, 1_000), 15.0);
        assert_eq!(step_for(21_600.0, 600), 60.0);
        assert_eq!(rate_interval(15.0, 15.0), 60.0);
        assert_eq!(rate_interval(120.0, 15.0), 135.0);
    }
}
