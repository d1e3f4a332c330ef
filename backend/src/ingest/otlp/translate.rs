//! Translation of a decoded request to Prometheus series, as Prometheus' `otlptranslator` does
//! with `UnderscoreEscapingWithSuffixes`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::wire::*;
use crate::metrics::model::{
    LabelLimits, Labels, METRIC_NAME, MetricMetadata, MetricType, Sample, SeriesWrite, WriteBatch,
    stale_nan,
};
use crate::metrics::store::{Rejections, StoreConfig, humantime};

/// Timestamps the store accepts, so points outside them are refused (and counted) as whole
/// data points before they are split into samples.
#[derive(Clone, Copy, Debug)]
pub struct AcceptedTimes {
    pub oldest_ms: i64,
    pub newest_ms: i64,
    pub max_age: Duration,
    pub max_future: Duration,
}

impl AcceptedTimes {
    /// The store's window around `now`.
    pub fn around(now: DateTime<Utc>, config: &StoreConfig) -> Self {
        AcceptedTimes {
            oldest_ms: (now - config.max_sample_age).timestamp_millis(),
            newest_ms: (now + config.max_future).timestamp_millis(),
            max_age: config.max_sample_age,
            max_future: config.max_future,
        }
    }
}

/// Builds Prometheus metric names from OTLP ones as Prometheus' `otlptranslator` does with
/// suffixes enabled: the name is split into tokens at every character outside `[a-zA-Z0-9:]`
/// and rejoined with `_` (so `http.server.duration` is `http_server_duration` and runs of
/// underscores collapse); the unit is appended unless already a token (`s` → `seconds`,
/// `By` → `bytes`, `1/s` → `per_second`, `{requests}` annotations dropped); monotonic sums end
/// in `_total` (moved to the end if it was elsewhere), gauges with unit `1` in `_ratio`; a
/// leading digit gets a `_` prefix.
pub fn metric_name(name: &str, unit: &str, kind: NameKind) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();

    let (main_unit, per_unit) = match unit.split_once('/') {
        Some((main, per)) => (main.trim(), per.trim()),
        None => (unit.trim(), ""),
    };
    let mut main = if main_unit.is_empty() || main_unit.contains(['{', '}']) {
        String::new()
    } else {
        clean_unit(unit_word(main_unit))
    };
    let mut per = if per_unit.is_empty() || per_unit.contains(['{', '}']) {
        String::new()
    } else {
        let word = clean_unit(per_unit_word(per_unit));
        if word.is_empty() {
            word
        } else {
            format!("per_{word}")
        }
    };
    if tokens.contains(&main) {
        main.clear();
    }
    if tokens.contains(&per) {
        per.clear();
    }
    if !per.is_empty() {
        main = main.trim_end_matches('_').to_owned();
    }
    for suffix in [main, per] {
        if !suffix.is_empty() {
            tokens.push(suffix);
        }
    }
    if kind == NameKind::Counter {
        tokens.retain(|t| t != "total");
        tokens.push("total".to_owned());
    }
    if kind == NameKind::Gauge && unit == "1" {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".to_owned());
    }
    let joined = tokens.join("_");
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{joined}")
    } else {
        joined
    }
}

/// What an OTLP metric becomes, as far as its name is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Counter,
    Gauge,
    /// Non-monotonic sums, histograms and summaries: unit suffix only.
    Other,
}

fn unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

/// Invalid characters to `_`, runs of `_` collapsed, no leading `_`.
fn clean_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if c.is_ascii_alphanumeric() || c == ':' {
            c
        } else {
            '_'
        };
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
    }
    out
}

/// An attribute key as a Prometheus label name, as `otlptranslator`'s `LabelNamer` does:
/// invalid characters become `_`, runs of `_` collapse to one (so no attribute can pose as a
/// reserved `__name__`-style label), and a leading digit gets a `key_` prefix. `None` when
/// nothing usable is left.
pub fn label_name(key: &str) -> Option<String> {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if out.chars().all(|c| c == '_') {
        return None;
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    }
    Some(out)
}

/// An attribute value as label text, as OTel's `AsString` does: scalars as text, arrays and
/// maps as JSON.
fn value_text(value: &AnyValue) -> String {
    match &value.value {
        None => String::new(),
        Some(AnyValueKind::String(s)) => s.clone(),
        Some(AnyValueKind::Bool(b)) => b.to_string(),
        Some(AnyValueKind::Int(i)) => i.to_string(),
        Some(AnyValueKind::Double(d)) => format_float(*d),
        Some(AnyValueKind::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(_) => value_json(value).to_string(),
    }
}

fn value_json(value: &AnyValue) -> Value {
    match &value.value {
        None => Value::Null,
        Some(AnyValueKind::String(s)) => Value::from(s.as_str()),
        Some(AnyValueKind::Bool(b)) => Value::from(*b),
        Some(AnyValueKind::Int(i)) => Value::from(*i),
        Some(AnyValueKind::Double(d)) => Value::from(*d),
        Some(AnyValueKind::Bytes(b)) => Value::from(String::from_utf8_lossy(b).into_owned()),
        Some(AnyValueKind::Array(a)) => Value::Array(a.values.iter().map(value_json).collect()),
        Some(AnyValueKind::Kvlist(l)) => Value::Object(
            l.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        kv.value.as_ref().map_or(Value::Null, value_json),
                    )
                })
                .collect(),
        ),
    }
}

/// Numbers in `le`/`quantile` labels and attribute values, as Go's `FormatFloat(f, 'f', -1)`.
fn format_float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        value.to_string()
    }
}

/// Attributes as label pairs. Keys that sanitise to the same name have their values joined
/// with `;` in key order, as Prometheus does.
fn attribute_labels(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for attribute in sorted {
        let Some(name) = label_name(&attribute.key) else {
            continue;
        };
        let value = attribute.value.as_ref().map(value_text).unwrap_or_default();
        labels
            .entry(name)
            .and_modify(|existing| {
                existing.push(';');
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    labels
}

/// Resource attributes Prometheus turns into `job`/`instance` rather than `target_info` labels.
const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";

/// Labels every series of one resource carries: `job` (`service.namespace/service.name`),
/// `instance` (`service.instance.id`), and — Vigil's addition, so dashboards can filter on the
/// service without knowing the namespace — `service_name`.
fn resource_labels(resource: &[KeyValue]) -> Vec<(String, String)> {
    let find = |key: &str| {
        resource
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .map(value_text)
            .filter(|v| !v.is_empty())
    };
    let mut labels = Vec::new();
    if let Some(service) = find(SERVICE_NAME) {
        let job = match find(SERVICE_NAMESPACE) {
            Some(namespace) => format!("{namespace}/{service}"),
            None => service.clone(),
        };
        labels.push(("job".to_owned(), job));
        labels.push(("service_name".to_owned(), service));
    }
    if let Some(instance) = find(SERVICE_INSTANCE_ID) {
        labels.push(("instance".to_owned(), instance));
    }
    labels
}

/// One series a data point yields: its name, extra labels (`le`, `quantile`) and value.
type PointSeries = (String, Vec<(&'static str, String)>, f64);

/// Everything a request yields: the series to store and the data points refused, with why.
struct Translation<'a> {
    limits: &'a LabelLimits,
    times: AcceptedTimes,
    batch: WriteBatch,
    rejected: Rejections,
}

impl Translation<'_> {
    /// Stores the series of one data point, or none of them: a point is accepted or refused
    /// whole, so `rejected_data_points` counts what the sender sent.
    fn point(
        &mut self,
        attributes: &[KeyValue],
        resource: &[(String, String)],
        time_unix_nano: u64,
        series: Vec<PointSeries>,
    ) -> Option<i64> {
        let timestamp_ms = i64::try_from(time_unix_nano / 1_000_000).unwrap_or(i64::MAX);
        if !(self.times.oldest_ms..=self.times.newest_ms).contains(&timestamp_ms) {
            self.rejected.add(
                1,
                format!(
                    "data points must be at most {} old and {} ahead of now",
                    humantime(self.times.max_age),
                    humantime(self.times.max_future),
                ),
            );
            return None;
        }
        let base = attribute_labels(attributes);
        let mut writes = Vec::with_capacity(series.len());
        for (name, extra, value) in series {
            let mut labels = base.clone();
            for (n, v) in resource {
                labels.insert(n.clone(), v.clone());
            }
            for (n, v) in extra {
                labels.insert(n.to_owned(), v);
            }
            labels.insert(METRIC_NAME.to_owned(), name.clone());
            match Labels::parse_series(labels.into_iter().collect(), self.limits) {
                Ok(labels) => writes.push(SeriesWrite {
                    labels,
                    samples: vec![Sample {
                        timestamp_ms,
                        value,
                    }],
                }),
                Err(error) => {
                    self.rejected.add(1, format!("{name}: {error}"));
                    return None;
                }
            }
        }
        self.batch.series.extend(writes);
        Some(timestamp_ms)
    }
}

/// Translates a decoded request into series and metadata, refusing (and counting) the data
/// points Prometheus would refuse: delta temporality, exponential histograms, malformed
/// histograms, points without a value, points outside `times`, and points whose labels break
/// `limits`.
pub fn translate(
    request: ExportMetricsServiceRequest,
    limits: &LabelLimits,
    times: AcceptedTimes,
) -> (WriteBatch, Rejections) {
    let mut t = Translation {
        limits,
        times,
        batch: WriteBatch::default(),
        rejected: Rejections::default(),
    };
    for resource_metrics in request.resource_metrics {
        let resource_attributes = resource_metrics
            .resource
            .map(|r| r.attributes)
            .unwrap_or_default();
        let resource = resource_labels(&resource_attributes);
        let mut latest: Option<i64> = None;
        for scope in resource_metrics.scope_metrics {
            for metric in scope.metrics {
                if let Some(ts) = translate_metric(&mut t, &resource, metric) {
                    latest = Some(latest.map_or(ts, |l: i64| l.max(ts)));
                }
            }
        }
        if let Some(timestamp_ms) = latest {
            target_info(&mut t, &resource_attributes, &resource, timestamp_ms);
        }
    }
    (t.batch, t.rejected)
}

/// Prometheus' `target_info`: one series per resource carrying the resource attributes that
/// are not already `job`/`instance`, so they can be joined onto any series of the resource.
fn target_info(
    t: &mut Translation<'_>,
    attributes: &[KeyValue],
    resource: &[(String, String)],
    timestamp_ms: i64,
) {
    let others: Vec<KeyValue> = attributes
        .iter()
        .filter(|kv| {
            ![SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE_ID].contains(&kv.key.as_str())
        })
        .cloned()
        .collect();
    if others.is_empty() {
        return;
    }
    let mut labels = attribute_labels(&others);
    for (n, v) in resource {
        labels.insert(n.clone(), v.clone());
    }
    labels.insert(METRIC_NAME.to_owned(), "target_info".to_owned());
    match Labels::parse_series(labels.into_iter().collect(), t.limits) {
        Ok(labels) => {
            t.batch.series.push(SeriesWrite {
                labels,
                samples: vec![Sample {
                    timestamp_ms,
                    value: 1.0,
                }],
            });
            t.batch.metadata.push(MetricMetadata {
                metric: "target_info".to_owned(),
                kind: MetricType::Gauge,
                unit: String::new(),
                help: "Target metadata".to_owned(),
            });
        }
        // Not a data point the sender sent, so it is reported without being counted.
        Err(error) => t
            .rejected
            .add(0, format!("target_info for a resource: {error}")),
    }
}

fn value_or_stale(flags: u32, value: f64) -> f64 {
    if flags & FLAG_NO_RECORDED_VALUE != 0 {
        stale_nan()
    } else {
        value
    }
}

/// Translates one metric; returns the latest timestamp stored.
fn translate_metric(
    t: &mut Translation<'_>,
    resource: &[(String, String)],
    metric: Metric,
) -> Option<i64> {
    let data = metric.data?;
    let (kind, name_kind, points) = match &data {
        MetricData::Gauge(g) => (MetricType::Gauge, NameKind::Gauge, g.data_points.len()),
        MetricData::Sum(s) if s.is_monotonic => {
            (MetricType::Counter, NameKind::Counter, s.data_points.len())
        }
        MetricData::Sum(s) => (MetricType::Gauge, NameKind::Other, s.data_points.len()),
        MetricData::Histogram(h) => (MetricType::Histogram, NameKind::Other, h.data_points.len()),
        MetricData::ExponentialHistogram(h) => {
            t.rejected.add(
                h.data_points.len(),
                format!(
                    "{}: exponential histograms are not supported; configure the SDK to \
                     export explicit-bucket histograms",
                    metric.name
                ),
            );
            return None;
        }
        MetricData::Summary(s) => (MetricType::Summary, NameKind::Other, s.data_points.len()),
    };
    let name = metric_name(&metric.name, &metric.unit, name_kind);
    if name.is_empty() || name.chars().all(|c| c == '_') {
        t.rejected.add(
            points,
            format!("metric name {:?} has no usable characters", metric.name),
        );
        return None;
    }
    let temporality = match &data {
        MetricData::Sum(s) => Some(s.aggregation_temporality),
        MetricData::Histogram(h) => Some(h.aggregation_temporality),
        _ => None,
    };
    if let Some(temporality) = temporality
        && temporality != TEMPORALITY_CUMULATIVE
    {
        let what = if temporality == TEMPORALITY_DELTA {
            "delta temporality is not supported; export cumulative temporality"
        } else {
            "aggregation temporality is unspecified; export cumulative temporality"
        };
        t.rejected.add(points, format!("{}: {what}", metric.name));
        return None;
    }

    let mut latest = None;
    let mut keep = |ts: Option<i64>| {
        if let Some(ts) = ts {
            latest = Some(latest.map_or(ts, |l: i64| l.max(ts)));
        }
    };
    match data {
        MetricData::Gauge(Gauge { data_points }) | MetricData::Sum(Sum { data_points, .. }) => {
            for point in data_points {
                let value = match point.value {
                    Some(NumberValue::AsDouble(v)) => v,
                    Some(NumberValue::AsInt(v)) => v as f64,
                    None if point.flags & FLAG_NO_RECORDED_VALUE != 0 => 0.0,
                    None => {
                        t.rejected
                            .add(1, format!("{}: a data point has no value", metric.name));
                        continue;
                    }
                };
                let series = vec![(name.clone(), vec![], value_or_stale(point.flags, value))];
                keep(t.point(&point.attributes, resource, point.time_unix_nano, series));
            }
        }
        MetricData::Histogram(Histogram { data_points, .. }) => {
            for point in data_points {
                if !point.bucket_counts.is_empty()
                    && point.bucket_counts.len() != point.explicit_bounds.len() + 1
                {
                    t.rejected.add(
                        1,
                        format!(
                            "{}: a histogram point has {} bucket counts for {} bounds; it \
                             needs one more count than bounds",
                            metric.name,
                            point.bucket_counts.len(),
                            point.explicit_bounds.len()
                        ),
                    );
                    continue;
                }
                let flags = point.flags;
                let mut series = Vec::with_capacity(point.explicit_bounds.len() + 3);
                let mut cumulative: u64 = 0;
                for (bound, count) in point.explicit_bounds.iter().zip(&point.bucket_counts) {
                    cumulative = cumulative.saturating_add(*count);
                    series.push((
                        format!("{name}_bucket"),
                        vec![("le", format_float(*bound))],
                        value_or_stale(flags, cumulative as f64),
                    ));
                }
                series.push((
                    format!("{name}_bucket"),
                    vec![("le", "+Inf".to_owned())],
                    value_or_stale(flags, point.count as f64),
                ));
                if let Some(sum) = point.sum {
                    series.push((format!("{name}_sum"), vec![], value_or_stale(flags, sum)));
                }
                series.push((
                    format!("{name}_count"),
                    vec![],
                    value_or_stale(flags, point.count as f64),
                ));
                keep(t.point(&point.attributes, resource, point.time_unix_nano, series));
            }
        }
        MetricData::Summary(Summary { data_points }) => {
            for point in data_points {
                let flags = point.flags;
                let mut series: Vec<_> = point
                    .quantile_values
                    .iter()
                    .map(|q| {
                        (
                            name.clone(),
                            vec![("quantile", format_float(q.quantile))],
                            value_or_stale(flags, q.value),
                        )
                    })
                    .collect();
                series.push((
                    format!("{name}_sum"),
                    vec![],
                    value_or_stale(flags, point.sum),
                ));
                series.push((
                    format!("{name}_count"),
                    vec![],
                    value_or_stale(flags, point.count as f64),
                ));
                keep(t.point(&point.attributes, resource, point.time_unix_nano, series));
            }
        }
        MetricData::ExponentialHistogram(_) => {}
    }
    if latest.is_some() {
        t.batch.metadata.push(MetricMetadata {
            metric: name,
            kind,
            unit: metadata_unit(&metric.unit),
            help: metric.description,
        });
    }
    latest
}

/// The unit as Prometheus metadata names it (`seconds`, `bytes`), empty for annotations.
fn metadata_unit(unit: &str) -> String {
    let main = unit.split('/').next().unwrap_or_default().trim();
    if main.contains(['{', '}']) {
        return String::new();
    }
    clean_unit(unit_word(main))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_otlp_translation_with_suffixes() {
        let cases = [
            (
                "http.server.duration",
                "s",
                NameKind::Other,
                "http_server_duration_seconds",
            ),
            ("requests", "1", NameKind::Counter, "requests_total"),
            (
                "requests.total.count",
                "",
                NameKind::Counter,
                "requests_count_total",
            ),
            ("memory.usage", "By", NameKind::Gauge, "memory_usage_bytes"),
            (
                "cpu.utilization",
                "1",
                NameKind::Gauge,
                "cpu_utilization_ratio",
            ),
            (
                "throughput",
                "By/s",
                NameKind::Gauge,
                "throughput_bytes_per_second",
            ),
            ("queue", "{items}", NameKind::Gauge, "queue"),
            ("latency_seconds", "s", NameKind::Other, "latency_seconds"),
            ("a..b__c-d", "", NameKind::Gauge, "a_b_c_d"),
            (
                "2xx.responses",
                "",
                NameKind::Counter,
                "_2xx_responses_total",
            ),
            ("job:rate:5m", "", NameKind::Gauge, "job:rate:5m"),
        ];
        for (name, unit, kind, expected) in cases {
            assert_eq!(metric_name(name, unit, kind), expected, "{name} [{unit}]");
        }
    }

    #[test]
    fn attribute_keys_become_valid_label_names() {
        assert_eq!(label_name("http.method").as_deref(), Some("http_method"));
        assert_eq!(label_name("__name__").as_deref(), Some("_name_"));
        assert_eq!(label_name("0day").as_deref(), Some("key_0day"));
        assert_eq!(label_name("..."), None);
        let merged =
            attribute_labels(&[KeyValue::string("a.b", "1"), KeyValue::string("a-b", "2")]);
        assert_eq!(merged.get("a_b").map(String::as_str), Some("2;1"));
    }
}
