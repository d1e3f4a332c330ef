//! OTLP/HTTP metrics: an `ExportMetricsServiceRequest` as protobuf or OTLP JSON, optionally
//! gzip-compressed, translated to Prometheus series the way Prometheus' own OTLP receiver does
//! with `otlp.translation_strategy: UnderscoreEscapingWithSuffixes` (its default).
//!
//! Answers as the OTLP spec says: 200 with an `ExportMetricsServiceResponse` in the request's
//! encoding once the accepted points are committed, carrying `partial_success` when some were
//! refused (the sender must not retry those); 400 for a body that cannot be read, 413 over the
//! size limits, 415 for an encoding Vigil does not speak, 429/503 when the store is busy or down.

mod json;
mod translate;
mod wire;

pub use translate::{AcceptedTimes, NameKind, label_name, metric_name, translate};
pub use wire::*;

use std::io::Read as _;

use prost::Message;
use serde_json::Value;

use super::DecodeError;
use crate::metrics::store::Rejections;

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

#[cfg(test)]
mod tests {
    use super::*;

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
