//! The Prometheus HTTP API's JSON shapes (`/prometheus/api/v1/…`), so that Grafana, promtool
//! and Vigil's own Explore page read Vigil's answers exactly as they read Prometheus'.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The envelope of every answer: `{"status":"success","data":…}` or
/// `{"status":"error","errorType":"bad_data","error":"…"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiResponse<T> {
    pub status: Status,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl<T> ApiResponse<T> {
    pub fn success(data: T) -> Self {
        ApiResponse {
            status: Status::Success,
            data: Some(data),
            error_type: None,
            error: None,
            warnings: Vec::new(),
        }
    }

    pub fn error(error_type: &str, error: impl Into<String>) -> Self {
        ApiResponse {
            status: Status::Error,
            data: None,
            error_type: Some(error_type.to_owned()),
            error: Some(error.into()),
            warnings: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Success,
    Error,
}

/// `[<unix time in seconds>, "<value>"]`. Values are strings so that NaN and ±Inf survive JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplePair(pub f64, pub String);

impl SamplePair {
    /// The value as a number (`NaN`, `+Inf`, `-Inf` included).
    pub fn value(&self) -> f64 {
        match self.1.as_str() {
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            text => text.parse().unwrap_or(f64::NAN),
        }
    }
}

/// A query's result: `{"resultType": "vector", "result": […]}` and its siblings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub enum QueryData {
    Vector(Vec<InstantSample>),
    Matrix(Vec<RangeSeries>),
    Scalar(SamplePair),
    String(SamplePair),
}

/// One series' value at the evaluation time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstantSample {
    pub metric: BTreeMap<String, String>,
    pub value: SamplePair,
}

/// One series' values over a range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RangeSeries {
    pub metric: BTreeMap<String, String>,
    pub values: Vec<SamplePair>,
}

/// An entry of `/api/v1/metadata`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricMetadata {
    #[serde(rename = "type")]
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// Formats a value as Prometheus does: shortest round-trip decimal, `NaN`, `+Inf`, `-Inf`.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        // Rust prints the shortest digits that round-trip, without an exponent: like Go's
        // strconv.FormatFloat(v, 'f', -1, 64), which Prometheus uses.
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_serialize_in_prometheus_shape() {
        let data = QueryData::Vector(vec![InstantSample {
            metric: BTreeMap::from([("job".to_owned(), "api".to_owned())]),
            value: SamplePair(1435781451.781, "1".to_owned()),
        }]);
        let json = serde_json::to_string(&ApiResponse::success(data)).unwrap();
        assert_eq!(
            json,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"api"},"value":[1435781451.781,"1"]}]}}"#
        );
        let error =
            serde_json::to_string(&ApiResponse::<()>::error("bad_data", "parse error")).unwrap();
        assert_eq!(
            error,
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#
        );
    }

    #[test]
    fn values_format_like_go() {
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(-2.5), "-2.5");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(SamplePair(0.0, "+Inf".into()).value(), f64::INFINITY);
    }
}
