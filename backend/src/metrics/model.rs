//! The metrics data model shared by ingestion, storage and the query engine: label sets,
//! samples and write batches, with Prometheus' rules for what is valid.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// Prometheus' staleness marker: a NaN with this exact bit pattern says "this series ended".
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

pub fn is_stale_nan(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// Whether `name` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `name` is a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A set of labels, sorted by name, without empty values (Prometheus treats an empty value as
/// the label's absence). Cheap to clone.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Arc<[(String, String)]>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("invalid label name {0:?}")]
    InvalidName(String),
    #[error("invalid metric name {0:?}")]
    InvalidMetricName(String),
    #[error("duplicate label name {0:?}")]
    Duplicate(String),
    #[error("the series has no metric name (__name__)")]
    MissingName,
    #[error("label {name:?} is {len} bytes long; the limit is {limit}")]
    TooLong {
        name: String,
        len: usize,
        limit: usize,
    },
    #[error("the series has {count} labels; the limit is {limit}")]
    TooMany { count: usize, limit: usize },
    #[error("label {0:?} holds a NUL character, which cannot be stored")]
    NulInValue(String),
}

impl Labels {
    /// Builds a label set as the query engine does: sorted, empty values dropped, no checks.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(n, v)| (n.into(), v.into()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Labels(pairs.into())
    }

    /// Builds the label set of an incoming series, enforcing Prometheus' rules and `limits`.
    pub fn parse_series(
        pairs: Vec<(String, String)>,
        limits: &LabelLimits,
    ) -> Result<Self, LabelError> {
        let mut pairs: Vec<(String, String)> =
            pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        if pairs.len() > limits.max_labels {
            return Err(LabelError::TooMany {
                count: pairs.len(),
                limit: limits.max_labels,
            });
        }
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        for window in pairs.windows(2) {
            if window[0].0 == window[1].0 {
                return Err(LabelError::Duplicate(window[0].0.clone()));
            }
        }
        let mut has_name = false;
        for (name, value) in &pairs {
            if name == METRIC_NAME {
                if !is_valid_metric_name(value) {
                    return Err(LabelError::InvalidMetricName(value.clone()));
                }
                has_name = true;
            } else if !is_valid_label_name(name) {
                return Err(LabelError::InvalidName(name.clone()));
            }
            if value.contains('\0') {
                return Err(LabelError::NulInValue(name.clone()));
            }
            for text in [name, value] {
                if text.len() > limits.max_label_length {
                    return Err(LabelError::TooLong {
                        name: name.clone(),
                        len: text.len(),
                        limit: limits.max_label_length,
                    });
                }
            }
        }
        if !has_name {
            return Err(LabelError::MissingName);
        }
        Ok(Labels(pairs.into()))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// A copy without the metric name (what most PromQL functions and operators return).
    pub fn without_name(&self) -> Labels {
        if self.metric_name().is_none() {
            return self.clone();
        }
        Labels(
            self.0
                .iter()
                .filter(|(n, _)| n != METRIC_NAME)
                .cloned()
                .collect(),
        )
    }

    /// A copy keeping only the labels for which `keep` is true.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) -> Labels {
        Labels(self.0.iter().filter(|(n, _)| keep(n)).cloned().collect())
    }

    /// A copy with `name` set to `value` (removed when `value` is empty).
    pub fn with(&self, name: &str, value: &str) -> Labels {
        let mut pairs: Vec<(String, String)> =
            self.0.iter().filter(|(n, _)| n != name).cloned().collect();
        if !value.is_empty() {
            pairs.push((name.to_owned(), value.to_owned()));
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Labels(pairs.into())
    }

    /// The series identity: the first 128 bits of SHA-256 over the canonical text form.
    pub fn fingerprint(&self) -> Uuid {
        let mut hasher = Sha256::new();
        for (name, value) in self.0.iter() {
            hasher.update(name.as_bytes());
            hasher.update([0xff]);
            hasher.update(value.as_bytes());
            hasher.update([0xfe]);
        }
        let digest = hasher.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::from_bytes(bytes)
    }
}

impl fmt::Display for Labels {
    /// `name{a="1", b="2"}`, the way Prometheus prints a series.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.metric_name() {
            f.write_str(name)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for (name, value) in self.iter().filter(|(n, _)| *n != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{name}={value:?}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Limits on what one incoming series may carry.
#[derive(Clone, Debug)]
pub struct LabelLimits {
    pub max_labels: usize,
    pub max_label_length: usize,
}

impl Default for LabelLimits {
    fn default() -> Self {
        LabelLimits {
            max_labels: 64,
            max_label_length: 2048,
        }
    }
}

/// One sample: milliseconds since the Unix epoch and a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub timestamp_ms: i64,
    pub value: f64,
}

/// The samples of one series in a write.
#[derive(Clone, Debug)]
pub struct SeriesWrite {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// The kind of a metric family, as Prometheus names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Info,
    Stateset,
    Gaugehistogram,
    Unknown,
}

impl MetricType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::Stateset => "stateset",
            MetricType::Gaugehistogram => "gaugehistogram",
            MetricType::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> MetricType {
        match text.to_ascii_lowercase().as_str() {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::Stateset,
            "gaugehistogram" => MetricType::Gaugehistogram,
            _ => MetricType::Unknown,
        }
    }
}

/// TYPE, UNIT and HELP of a metric family.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricMetadata {
    pub metric: String,
    pub kind: MetricType,
    pub unit: String,
    pub help: String,
}

/// Everything one request (or scrape) writes.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    pub series: Vec<SeriesWrite>,
    pub metadata: Vec<MetricMetadata>,
}

impl WriteBatch {
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn label_sets_are_sorted_and_drop_empty_values() {
        let labels = Labels::parse_series(
            pairs(&[
                ("job", "api"),
                ("__name__", "up"),
                ("instance", ""),
                ("az", "eu-1"),
            ]),
            &LabelLimits::default(),
        )
        .unwrap();
        assert_eq!(labels.to_string(), r#"up{az="eu-1", job="api"}"#);
        assert_eq!(labels.get("instance"), None);
    }

    #[test]
    fn invalid_names_duplicates_and_missing_names_are_refused() {
        let limits = LabelLimits::default();
        assert_eq!(
            Labels::parse_series(pairs(&[("__name__", "up"), ("bad-name", "x")]), &limits),
            Err(LabelError::InvalidName("bad-name".into()))
        );
        assert_eq!(
            Labels::parse_series(pairs(&[("__name__", "9lives")]), &limits),
            Err(LabelError::InvalidMetricName("9lives".into()))
        );
        assert_eq!(
            Labels::parse_series(
                pairs(&[("__name__", "up"), ("a", "1"), ("a", "2")]),
                &limits
            ),
            Err(LabelError::Duplicate("a".into()))
        );
        assert_eq!(
            Labels::parse_series(pairs(&[("job", "api")]), &limits),
            Err(LabelError::MissingName)
        );
        let tight = LabelLimits {
            max_labels: 2,
            max_label_length: 5,
        };
        assert!(matches!(
            Labels::parse_series(pairs(&[("__name__", "up"), ("a", "1"), ("b", "2")]), &tight),
            Err(LabelError::TooMany { .. })
        ));
        assert!(matches!(
            Labels::parse_series(pairs(&[("__name__", "up"), ("a", "123456")]), &tight),
            Err(LabelError::TooLong { .. })
        ));
    }

    #[test]
    fn recording_rule_names_with_colons_are_valid_metric_names() {
        assert!(is_valid_metric_name("job:http_requests:rate5m"));
        assert!(!is_valid_label_name("job:x"));
    }

    #[test]
    fn the_fingerprint_depends_on_every_label_and_not_on_order() {
        let a = Labels::from_pairs([("__name__", "up"), ("job", "api")]);
        let b = Labels::from_pairs([("job", "api"), ("__name__", "up")]);
        let c = Labels::from_pairs([("__name__", "up"), ("job", "apj")]);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        // Boundaries between names and values matter: {ab="c"} is not {a="bc"}.
        let d = Labels::from_pairs([("ab", "c")]);
        let e = Labels::from_pairs([("a", "bc")]);
        assert_ne!(d.fingerprint(), e.fingerprint());
    }

    #[test]
    fn the_staleness_marker_is_recognised_and_other_nans_are_not() {
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
    }
}
