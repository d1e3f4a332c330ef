//! A parser for the Prometheus text exposition format (0.0.4), tolerant of OpenMetrics text
//! (`# EOF`, `# UNIT`, exemplars, `_created` series), as targets serve on `/metrics`.

use std::collections::BTreeMap;

use crate::metrics::model::{
    MetricMetadata, MetricType, is_valid_label_name, is_valid_metric_name,
};

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedSample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposition {
    pub samples: Vec<ParsedSample>,
    pub metadata: Vec<MetricMetadata>,
}

/// Parses a whole exposition; the error names the line and what is wrong with it.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut families: BTreeMap<String, MetricMetadata> = BTreeMap::new();
    let mut samples = Vec::new();
    let openmetrics = text.lines().any(|l| l.trim() == "# EOF");
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            let (keyword, name, rest) = (words.next(), words.next(), words.next().unwrap_or(""));
            let Some(name) = name else { continue };
            let entry = || MetricMetadata {
                metric: name.to_owned(),
                kind: MetricType::Unknown,
                unit: String::new(),
                help: String::new(),
            };
            match keyword {
                Some("HELP") => {
                    families.entry(name.to_owned()).or_insert_with(entry).help =
                        unescape_help(rest);
                }
                Some("TYPE") => {
                    families.entry(name.to_owned()).or_insert_with(entry).kind = match rest.trim() {
                        "counter" => MetricType::Counter,
                        "gauge" => MetricType::Gauge,
                        "histogram" => MetricType::Histogram,
                        "summary" => MetricType::Summary,
                        "info" => MetricType::Info,
                        "stateset" => MetricType::Stateset,
                        "gaugehistogram" => MetricType::Gaugehistogram,
                        _ => MetricType::Unknown,
                    };
                }
                Some("UNIT") => {
                    families.entry(name.to_owned()).or_insert_with(entry).unit =
                        rest.trim().to_owned();
                }
                _ => {}
            }
            continue;
        }
        let sample = parse_sample(line, openmetrics).map_err(|e| format!("line {number}: {e}"))?;
        // Prometheus does not ingest OpenMetrics creation times by default.
        if sample.name.ends_with("_created") {
            let family = sample.name.trim_end_matches("_created");
            if families.get(family).is_some_and(|m| {
                matches!(
                    m.kind,
                    MetricType::Counter | MetricType::Histogram | MetricType::Summary
                )
            }) {
                continue;
            }
        }
        samples.push(sample);
    }
    Ok(Exposition {
        samples,
        metadata: families.into_values().collect(),
    })
}

fn unescape_help(text: &str) -> String {
    text.replace("\\n", "\n").replace("\\\\", "\\")
}

/// Errors name the problem but never repeat the target's text: they are shown to every user,
/// and a target's answer is not theirs to read.
fn parse_sample(line: &str, openmetrics: bool) -> Result<ParsedSample, String> {
    let name_end = line
        .find(['{', ' ', '\t'])
        .ok_or("the sample has no value")?;
    let name = &line[..name_end];
    if !is_valid_metric_name(name) {
        return Err("the metric name is not valid".to_owned());
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if rest.starts_with('{') {
        let (parsed, after) = parse_labels(&rest[1..])?;
        labels = parsed;
        rest = after;
    }
    // An OpenMetrics exemplar follows " # ".
    let rest = rest.split(" # ").next().unwrap_or_default();
    let mut fields = rest.split_whitespace();
    let value_text = fields.next().ok_or("the sample has no value")?;
    let value = parse_value(value_text).ok_or("the value is not a number")?;
    let timestamp_ms = match fields.next() {
        None => None,
        Some(text) if openmetrics || text.contains('.') => Some(
            text.parse::<f64>()
                .map(|seconds| (seconds * 1000.0).round() as i64)
                .map_err(|_| "the timestamp is not a number of seconds")?,
        ),
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| "the timestamp is not a whole number of milliseconds")?,
        ),
    };
    if fields.next().is_some() {
        return Err("unexpected text after the timestamp".to_owned());
    }
    Ok(ParsedSample {
        name: name.to_owned(),
        labels,
        value,
        timestamp_ms,
    })
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// Parses `name="value",…}`; returns the labels and the text after the closing brace.
/// Label pairs in the order written.
type LabelPairs = Vec<(String, String)>;

fn parse_labels(mut text: &str) -> Result<(LabelPairs, &str), String> {
    let mut labels = Vec::new();
    loop {
        text = text.trim_start();
        if let Some(after) = text.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = text.find('=').ok_or("a label has no \"=\"")?;
        let name = text[..eq].trim();
        if !is_valid_label_name(name) {
            return Err("a label name is not valid".to_owned());
        }
        let after = text[eq + 1..].trim_start();
        let mut chars = after.char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("a label value is not quoted".to_owned());
        }
        let mut value = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, other)) => {
                        value.push('\\');
                        value.push(other);
                    }
                    None => break,
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                other => value.push(other),
            }
        }
        let end = end.ok_or("a label value is never closed")?;
        labels.push((name.to_owned(), value));
        text = after[end + 1..].trim_start();
        if let Some(after_comma) = text.strip_prefix(',') {
            text = after_comma;
        } else if !text.starts_with('}') {
            return Err("labels must be separated by commas".to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = r#"# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 12345.67
node_cpu_seconds_total{cpu="0",mode="user"} 89.5
# HELP http_request_duration_seconds A histogram.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} 3
http_request_duration_seconds_bucket{le="+Inf"} 5
http_request_duration_seconds_sum 1.25
http_request_duration_seconds_count 5
# A plain comment
weird_label{path="C:\\dir\"x\"\nnext",} NaN 1700000000000
up -Inf
"#;

    #[test]
    fn parses_the_text_format() {
        let parsed = parse(NODE).unwrap();
        assert_eq!(parsed.samples.len(), 8);
        let first = &parsed.samples[0];
        assert_eq!(first.name, "node_cpu_seconds_total");
        assert_eq!(
            first.labels,
            [("cpu".into(), "0".into()), ("mode".into(), "idle".into())]
        );
        assert_eq!(first.value, 12345.67);
        let weird = &parsed.samples[6];
        assert_eq!(weird.labels[0].1, "C:\\dir\"x\"\nnext");
        assert!(weird.value.is_nan());
        assert_eq!(weird.timestamp_ms, Some(1_700_000_000_000));
        assert_eq!(parsed.samples[7].value, f64::NEG_INFINITY);
        let histogram = parsed
            .metadata
            .iter()
            .find(|m| m.metric == "http_request_duration_seconds")
            .unwrap();
        assert_eq!(histogram.kind, MetricType::Histogram);
        assert_eq!(histogram.help, "A histogram.");
    }

    #[test]
    fn tolerates_openmetrics() {
        let text = "# TYPE requests counter\n# UNIT requests requests\nrequests_total 5 1700000000.5 # {trace_id=\"abc\"} 1.0\nrequests_created 1699999999\n# EOF\n";
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.samples.len(), 1, "_created is skipped");
        assert_eq!(parsed.samples[0].timestamp_ms, Some(1_700_000_000_500));
        assert_eq!(parsed.metadata[0].unit, "requests");
    }

    #[test]
    fn errors_name_the_line() {
        for (text, expected) in [
            ("ok 1\nbad-name 1\n", "line 2: the metric name is not valid"),
            ("x{a=\"1\" b=\"2\"} 1", "separated by commas"),
            ("x{a=1} 1", "not quoted"),
            ("x{a=\"1} 1", "never closed"),
            ("x one", "the value is not a number"),
            ("x 1 soon", "the timestamp is not a whole number"),
            ("x", "has no value"),
            // What the target sent is never repeated: the error is shown to every user.
            (
                "<html><title>secret</title></html>",
                "line 1: the sample has no value",
            ),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
