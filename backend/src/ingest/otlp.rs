//! OTLP/HTTP metrics: an `ExportMetricsServiceRequest` as protobuf or OTLP JSON, optionally
//! gzip-compressed, translated to Prometheus series the way Prometheus' own OTLP receiver does
//! with `otlp.translation_strategy: UnderscoreEscapingWithSuffixes` (its default).
//!
//! Answers as the OTLP spec says: 200 with an `ExportMetricsServiceResponse` in the request's
//! encoding once the accepted points are committed, carrying `partial_success` when some were
//! refused (the sender must not retry those); 400 for a body that cannot be read, 413 over the
//! size limits, 415 for an encoding Vigil does not speak, 429/503 when the store is busy or down.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::time::Duration;

use chrono::{DateTime, Utc};

use prost::Message;
use serde_json::{Map, Value};

use super::DecodeError;
use crate::metrics::model::{
    LabelLimits, Labels, METRIC_NAME, MetricMetadata, MetricType, Sample, SeriesWrite, WriteBatch,
    stale_nan,
};
use crate::metrics::store::{Rejections, StoreConfig, humantime};

// ---------------------------------------------------------------------------------------------
// Wire format: the subset of opentelemetry-proto's metrics messages Vigil reads. Field numbers
// are those of opentelemetry/proto/{collector/metrics/v1,metrics/v1,common/v1,resource/v1}.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceResponse {
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportMetricsPartialSuccess>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsPartialSuccess {
    #[prost(int64, tag = "1")]
    pub rejected_data_points: i64,
    #[prost(string, tag = "2")]
    pub error_message: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct ResourceMetrics {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Resource {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ScopeMetrics {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
}

#[derive(Clone, PartialEq, Message)]
pub struct InstrumentationScope {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub version: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub description: String,
    #[prost(string, tag = "3")]
    pub unit: String,
    #[prost(oneof = "MetricData", tags = "5, 7, 9, 10, 11")]
    pub data: Option<MetricData>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum MetricData {
    #[prost(message, tag = "5")]
    Gauge(Gauge),
    #[prost(message, tag = "7")]
    Sum(Sum),
    #[prost(message, tag = "9")]
    Histogram(Histogram),
    #[prost(message, tag = "10")]
    ExponentialHistogram(ExponentialHistogram),
    #[prost(message, tag = "11")]
    Summary(Summary),
}

/// `AggregationTemporality`.
pub const TEMPORALITY_UNSPECIFIED: i32 = 0;
pub const TEMPORALITY_DELTA: i32 = 1;
pub const TEMPORALITY_CUMULATIVE: i32 = 2;

/// `DataPointFlags.FLAG_NO_RECORDED_VALUE`: the series ended; becomes a staleness marker.
pub const FLAG_NO_RECORDED_VALUE: u32 = 1;

#[derive(Clone, PartialEq, Message)]
pub struct Gauge {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sum {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
    #[prost(bool, tag = "3")]
    pub is_monotonic: bool,
}

#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<HistogramDataPoint>,
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
}

/// Exponential histograms are refused, so only their points are counted.
#[derive(Clone, PartialEq, Message)]
pub struct ExponentialHistogram {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<ExponentialHistogramDataPoint>,
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExponentialHistogramDataPoint {
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    pub count: u64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<SummaryDataPoint>,
}

#[derive(Clone, PartialEq, Message)]
pub struct NumberDataPoint {
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    #[prost(oneof = "NumberValue", tags = "4, 6")]
    pub value: Option<NumberValue>,
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

#[derive(Clone, Copy, PartialEq, prost::Oneof)]
pub enum NumberValue {
    #[prost(double, tag = "4")]
    AsDouble(f64),
    #[prost(sfixed64, tag = "6")]
    AsInt(i64),
}

#[derive(Clone, PartialEq, Message)]
pub struct HistogramDataPoint {
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    #[prost(fixed64, repeated, tag = "6")]
    pub bucket_counts: Vec<u64>,
    #[prost(double, repeated, tag = "7")]
    pub explicit_bounds: Vec<f64>,
    #[prost(uint32, tag = "10")]
    pub flags: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct SummaryDataPoint {
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    #[prost(double, tag = "5")]
    pub sum: f64,
    #[prost(message, repeated, tag = "6")]
    pub quantile_values: Vec<ValueAtQuantile>,
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct ValueAtQuantile {
    #[prost(double, tag = "1")]
    pub quantile: f64,
    #[prost(double, tag = "2")]
    pub value: f64,
}

#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AnyValue {
    #[prost(oneof = "AnyValueKind", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<AnyValueKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum AnyValueKind {
    #[prost(string, tag = "1")]
    String(String),
    #[prost(bool, tag = "2")]
    Bool(bool),
    #[prost(int64, tag = "3")]
    Int(i64),
    #[prost(double, tag = "4")]
    Double(f64),
    #[prost(message, tag = "5")]
    Array(ArrayValue),
    #[prost(message, tag = "6")]
    Kvlist(KeyValueList),
    #[prost(bytes = "vec", tag = "7")]
    Bytes(Vec<u8>),
}

#[derive(Clone, PartialEq, Message)]
pub struct ArrayValue {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AnyValue>,
}

#[derive(Clone, PartialEq, Message)]
pub struct KeyValueList {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<KeyValue>,
}

impl KeyValue {
    /// A string attribute (what most SDK attributes are).
    pub fn string(key: &str, value: &str) -> Self {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue {
                value: Some(AnyValueKind::String(value.to_owned())),
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a body.
// ---------------------------------------------------------------------------------------------

/// The two encodings of OTLP/HTTP; the answer uses the request's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// From a `Content-Type` media type (without parameters).
    pub fn from_media_type(media_type: Option<&str>) -> Result<Self, DecodeError> {
        match media_type {
            Some("application/x-protobuf") => Ok(Encoding::Protobuf),
            Some("application/json") => Ok(Encoding::Json),
            other => Err(DecodeError::UnsupportedMediaType(format!(
                "OTLP/HTTP needs Content-Type: application/x-protobuf or application/json, not {}",
                other.filter(|t| !t.is_empty()).unwrap_or("none")
            ))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Inflates a gzip body (all members, as Go's reader does), refusing it as soon as it grows past `max_decompressed` — a small
/// "gzip bomb" must not be able to make Vigil allocate gigabytes.
pub fn gunzip(body: &[u8], max_decompressed: usize) -> Result<Vec<u8>, DecodeError> {
    let mut inflated = Vec::new();
    let limit = u64::try_from(max_decompressed).unwrap_or(u64::MAX);
    flate2::read::MultiGzDecoder::new(body)
        .take(limit.saturating_add(1))
        .read_to_end(&mut inflated)
        .map_err(|e| DecodeError::Malformed(format!("the gzip data is corrupt: {e}")))?;
    if inflated.len() > max_decompressed {
        return Err(DecodeError::TooLarge(format!(
            "the body decompresses to more than {max_decompressed} bytes, the limit"
        )));
    }
    Ok(inflated)
}

/// Decodes an (already decompressed) body.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<ExportMetricsServiceRequest, DecodeError> {
    match encoding {
        Encoding::Protobuf => ExportMetricsServiceRequest::decode(body).map_err(|e| {
            DecodeError::Malformed(format!(
                "the body is not a protobuf ExportMetricsServiceRequest: {e}"
            ))
        }),
        Encoding::Json => {
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| DecodeError::Malformed(format!("the body is not valid JSON: {e}")))?;
            json::request(&value).map_err(|e| {
                DecodeError::Malformed(format!(
                    "the body is not an OTLP JSON ExportMetricsServiceRequest: {e}"
                ))
            })
        }
    }
}

/// The success answer, with `partial_success` when something was refused.
pub fn encode_response(encoding: Encoding, rejected: &Rejections) -> Vec<u8> {
    let partial_success = (!rejected.reasons.is_empty() || !rejected.is_empty()).then(|| {
        ExportMetricsPartialSuccess {
            rejected_data_points: i64::try_from(rejected.samples).unwrap_or(i64::MAX),
            error_message: rejected.reasons.join("; "),
        }
    });
    match encoding {
        Encoding::Protobuf => ExportMetricsServiceResponse { partial_success }.encode_to_vec(),
        Encoding::Json => {
            // proto3's JSON mapping: camelCase names, int64 as a string, empty message as {}.
            let body = match partial_success {
                Some(p) => serde_json::json!({
                    "partialSuccess": {
                        "rejectedDataPoints": p.rejected_data_points.to_string(),
                        "errorMessage": p.error_message,
                    }
                }),
                None => serde_json::json!({}),
            };
            body.to_string().into_bytes()
        }
    }
}

/// OTLP JSON (the protobuf JSON mapping with OTLP's exceptions): lowerCamelCase field names
/// (snake_case accepted too, as protobuf JSON parsers do), 64-bit integers as strings or
/// numbers, enums as numbers or names, `null` meaning absent.
mod json {
    use super::*;

    type Result<T> = std::result::Result<T, String>;

    struct Object<'a> {
        map: &'a Map<String, Value>,
        path: String,
    }

    fn snake_case(camel: &str) -> String {
        let mut out = String::with_capacity(camel.len() + 4);
        for c in camel.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    impl<'a> Object<'a> {
        fn new(value: &'a Value, path: String) -> Result<Self> {
            match value {
                Value::Object(map) => Ok(Object { map, path }),
                _ => Err(format!("{path} must be an object")),
            }
        }

        fn path(&self, field: &str) -> String {
            if self.path.is_empty() {
                field.to_owned()
            } else {
                format!("{}.{field}", self.path)
            }
        }

        fn get(&self, field: &str) -> Option<&'a Value> {
            self.map
                .get(field)
                .or_else(|| self.map.get(&snake_case(field)))
                .filter(|v| !v.is_null())
        }

        fn string(&self, field: &str) -> Result<String> {
            match self.get(field) {
                None => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(format!("{} must be a string", self.path(field))),
            }
        }

        fn boolean(&self, field: &str) -> Result<bool> {
            match self.get(field) {
                None => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(format!("{} must be true or false", self.path(field))),
            }
        }

        fn u64(&self, field: &str) -> Result<u64> {
            self.get(field)
                .map_or(Ok(0), |v| unsigned(v, &self.path(field)))
        }

        fn optional_f64(&self, field: &str) -> Result<Option<f64>> {
            self.get(field)
                .map(|v| double(v, &self.path(field)))
                .transpose()
        }

        fn f64(&self, field: &str) -> Result<f64> {
            Ok(self.optional_f64(field)?.unwrap_or(0.0))
        }

        /// An enum given as its number or its name.
        fn enumeration(&self, field: &str, names: &[(&str, i32)]) -> Result<i32> {
            match self.get(field) {
                None => Ok(0),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| format!("{} is not a valid enum number", self.path(field))),
                Some(Value::String(s)) => names
                    .iter()
                    .find(|(name, _)| name == s)
                    .map(|(_, n)| *n)
                    .ok_or_else(|| format!("{} has an unknown value {s:?}", self.path(field))),
                Some(_) => Err(format!(
                    "{} must be an enum name or number",
                    self.path(field)
                )),
            }
        }

        fn object(&self, field: &str) -> Result<Option<Object<'a>>> {
            self.get(field)
                .map(|v| Object::new(v, self.path(field)))
                .transpose()
        }

        fn array(&self, field: &str) -> Result<&'a [Value]> {
            match self.get(field) {
                None => Ok(&[]),
                Some(Value::Array(items)) => Ok(items),
                Some(_) => Err(format!("{} must be an array", self.path(field))),
            }
        }

        fn objects<T>(
            &self,
            field: &str,
            convert: impl Fn(Object<'a>) -> Result<T>,
        ) -> Result<Vec<T>> {
            self.array(field)?
                .iter()
                .enumerate()
                .map(|(i, v)| convert(Object::new(v, format!("{}[{i}]", self.path(field)))?))
                .collect()
        }
    }

    fn unsigned(value: &Value, path: &str) -> Result<u64> {
        match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| format!("{path} must be a non-negative integer (a number or a string)"))
    }

    fn signed(value: &Value, path: &str) -> Result<i64> {
        match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| format!("{path} must be an integer (a number or a string)"))
    }

    fn double(value: &Value, path: &str) -> Result<f64> {
        match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match s.as_str() {
                "NaN" => Some(f64::NAN),
                "Infinity" => Some(f64::INFINITY),
                "-Infinity" => Some(f64::NEG_INFINITY),
                other => other.trim().parse().ok(),
            },
            _ => None,
        }
        .ok_or_else(|| format!("{path} must be a number"))
    }

    pub(super) fn request(value: &Value) -> Result<ExportMetricsServiceRequest> {
        let root = Object::new(value, String::new())?;
        Ok(ExportMetricsServiceRequest {
            resource_metrics: root.objects("resourceMetrics", resource_metrics)?,
        })
    }

    fn resource_metrics(o: Object<'_>) -> Result<ResourceMetrics> {
        Ok(ResourceMetrics {
            resource: o
                .object("resource")?
                .map(|r| {
                    Ok::<_, String>(Resource {
                        attributes: r.objects("attributes", key_value)?,
                    })
                })
                .transpose()?,
            scope_metrics: o.objects("scopeMetrics", scope_metrics)?,
        })
    }

    fn scope_metrics(o: Object<'_>) -> Result<ScopeMetrics> {
        Ok(ScopeMetrics {
            scope: o
                .object("scope")?
                .map(|s| {
                    Ok::<_, String>(InstrumentationScope {
                        name: s.string("name")?,
                        version: s.string("version")?,
                    })
                })
                .transpose()?,
            metrics: o.objects("metrics", metric)?,
        })
    }

    const TEMPORALITIES: &[(&str, i32)] = &[
        (
            "AGGREGATION_TEMPORALITY_UNSPECIFIED",
            TEMPORALITY_UNSPECIFIED,
        ),
        ("AGGREGATION_TEMPORALITY_DELTA", TEMPORALITY_DELTA),
        ("AGGREGATION_TEMPORALITY_CUMULATIVE", TEMPORALITY_CUMULATIVE),
    ];

    fn metric(o: Object<'_>) -> Result<Metric> {
        let data = if let Some(g) = o.object("gauge")? {
            Some(MetricData::Gauge(Gauge {
                data_points: g.objects("dataPoints", number_point)?,
            }))
        } else if let Some(s) = o.object("sum")? {
            Some(MetricData::Sum(Sum {
                data_points: s.objects("dataPoints", number_point)?,
                aggregation_temporality: s.enumeration("aggregationTemporality", TEMPORALITIES)?,
                is_monotonic: s.boolean("isMonotonic")?,
            }))
        } else if let Some(h) = o.object("histogram")? {
            Some(MetricData::Histogram(Histogram {
                data_points: h.objects("dataPoints", histogram_point)?,
                aggregation_temporality: h.enumeration("aggregationTemporality", TEMPORALITIES)?,
            }))
        } else if let Some(h) = o.object("exponentialHistogram")? {
            Some(MetricData::ExponentialHistogram(ExponentialHistogram {
                data_points: h.objects("dataPoints", |p| {
                    Ok(ExponentialHistogramDataPoint {
                        time_unix_nano: p.u64("timeUnixNano")?,
                        count: p.u64("count")?,
                    })
                })?,
                aggregation_temporality: h.enumeration("aggregationTemporality", TEMPORALITIES)?,
            }))
        } else if let Some(s) = o.object("summary")? {
            Some(MetricData::Summary(Summary {
                data_points: s.objects("dataPoints", summary_point)?,
            }))
        } else {
            None
        };
        Ok(Metric {
            name: o.string("name")?,
            description: o.string("description")?,
            unit: o.string("unit")?,
            data,
        })
    }

    fn number_point(o: Object<'_>) -> Result<NumberDataPoint> {
        let value = if let Some(v) = o.get("asDouble") {
            Some(NumberValue::AsDouble(double(v, &o.path("asDouble"))?))
        } else if let Some(v) = o.get("asInt") {
            Some(NumberValue::AsInt(signed(v, &o.path("asInt"))?))
        } else {
            None
        };
        Ok(NumberDataPoint {
            attributes: o.objects("attributes", key_value)?,
            start_time_unix_nano: o.u64("startTimeUnixNano")?,
            time_unix_nano: o.u64("timeUnixNano")?,
            value,
            flags: flags(&o)?,
        })
    }

    fn flags(o: &Object<'_>) -> Result<u32> {
        u32::try_from(o.u64("flags")?).map_err(|_| format!("{} is too large", o.path("flags")))
    }

    fn histogram_point(o: Object<'_>) -> Result<HistogramDataPoint> {
        let bucket_counts = o
            .array("bucketCounts")?
            .iter()
            .enumerate()
            .map(|(i, v)| unsigned(v, &format!("{}[{i}]", o.path("bucketCounts"))))
            .collect::<Result<_>>()?;
        let explicit_bounds = o
            .array("explicitBounds")?
            .iter()
            .enumerate()
            .map(|(i, v)| double(v, &format!("{}[{i}]", o.path("explicitBounds"))))
            .collect::<Result<_>>()?;
        Ok(HistogramDataPoint {
            attributes: o.objects("attributes", key_value)?,
            start_time_unix_nano: o.u64("startTimeUnixNano")?,
            time_unix_nano: o.u64("timeUnixNano")?,
            count: o.u64("count")?,
            sum: o.optional_f64("sum")?,
            bucket_counts,
            explicit_bounds,
            flags: flags(&o)?,
        })
    }

    fn summary_point(o: Object<'_>) -> Result<SummaryDataPoint> {
        Ok(SummaryDataPoint {
            attributes: o.objects("attributes", key_value)?,
            start_time_unix_nano: o.u64("startTimeUnixNano")?,
            time_unix_nano: o.u64("timeUnixNano")?,
            count: o.u64("count")?,
            sum: o.f64("sum")?,
            quantile_values: o.objects("quantileValues", |q| {
                Ok(ValueAtQuantile {
                    quantile: q.f64("quantile")?,
                    value: q.f64("value")?,
                })
            })?,
            flags: flags(&o)?,
        })
    }

    fn key_value(o: Object<'_>) -> Result<KeyValue> {
        Ok(KeyValue {
            key: o.string("key")?,
            value: o.object("value")?.map(any_value).transpose()?,
        })
    }

    fn any_value(o: Object<'_>) -> Result<AnyValue> {
        let kind = if let Some(v) = o.get("stringValue") {
            match v {
                Value::String(s) => Some(AnyValueKind::String(s.clone())),
                _ => return Err(format!("{} must be a string", o.path("stringValue"))),
            }
        } else if o.get("boolValue").is_some() {
            Some(AnyValueKind::Bool(o.boolean("boolValue")?))
        } else if let Some(v) = o.get("intValue") {
            Some(AnyValueKind::Int(signed(v, &o.path("intValue"))?))
        } else if let Some(v) = o.get("doubleValue") {
            Some(AnyValueKind::Double(double(v, &o.path("doubleValue"))?))
        } else if let Some(a) = o.object("arrayValue")? {
            Some(AnyValueKind::Array(ArrayValue {
                values: a.objects("values", any_value)?,
            }))
        } else if let Some(l) = o.object("kvlistValue")? {
            Some(AnyValueKind::Kvlist(KeyValueList {
                values: l.objects("values", key_value)?,
            }))
        } else if let Some(v) = o.get("bytesValue") {
            // Kept as the text that was sent (base64): it only ever becomes a label value.
            match v {
                Value::String(s) => Some(AnyValueKind::Bytes(s.clone().into_bytes())),
                _ => return Err(format!("{} must be a string", o.path("bytesValue"))),
            }
        } else {
            None
        };
        Ok(AnyValue { value: kind })
    }
}

// ---------------------------------------------------------------------------------------------
// Translation to Prometheus series.
// ---------------------------------------------------------------------------------------------

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

    #[test]
    fn gzip_bombs_are_refused_before_they_are_inflated_whole() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, &vec![0u8; 1 << 20]).unwrap();
        let bomb = encoder.finish().unwrap();
        assert!(matches!(
            gunzip(&bomb, 1 << 10),
            Err(DecodeError::TooLarge(_))
        ));
        assert_eq!(gunzip(&bomb, 1 << 20).unwrap().len(), 1 << 20);
        assert!(matches!(
            gunzip(b"not gzip", 1 << 20),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn concatenated_gzip_members_are_all_read() {
        let member = |text: &[u8]| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut encoder, text).unwrap();
            encoder.finish().unwrap()
        };
        let mut body = member(b"hello ");
        body.extend(member(b"world"));
        assert_eq!(gunzip(&body, 1024).unwrap(), b"hello world");
    }

    #[test]
    fn json_accepts_snake_case_names_enum_names_and_numbers_as_strings() {
        let body = br#"{"resource_metrics": [{"scope_metrics": [{"metrics": [{
            "name": "x",
            "sum": {"data_points": [{"time_unix_nano": 5, "as_double": "NaN", "flags": "1"}],
                    "aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA",
                    "is_monotonic": true}}]}]}]}"#;
        let request = decode(body, Encoding::Json).unwrap();
        let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
        let Some(MetricData::Sum(sum)) = &metric.data else {
            panic!("not a sum: {metric:?}");
        };
        assert_eq!(sum.aggregation_temporality, TEMPORALITY_DELTA);
        assert!(sum.is_monotonic);
        assert_eq!(sum.data_points[0].time_unix_nano, 5);
        assert_eq!(sum.data_points[0].flags, FLAG_NO_RECORDED_VALUE);
        assert!(matches!(sum.data_points[0].value, Some(NumberValue::AsDouble(v)) if v.is_nan()));

        let error = decode(br#"{"resourceMetrics": {}}"#, Encoding::Json).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the body is not an OTLP JSON ExportMetricsServiceRequest: resourceMetrics must be an array"
        );
    }

    #[test]
    fn only_the_two_otlp_content_types_are_accepted() {
        assert_eq!(
            Encoding::from_media_type(Some("application/json")),
            Ok(Encoding::Json)
        );
        let missing = Encoding::from_media_type(Some("")).unwrap_err();
        assert!(missing.to_string().ends_with("not none"), "{missing}");
        assert!(matches!(
            Encoding::from_media_type(Some("application/grpc")),
            Err(DecodeError::UnsupportedMediaType(_))
        ));
    }
}
