//! Prometheus remote_write 1.0: a snappy-compressed (block format) protobuf `WriteRequest`.
//!
//! Answers as Prometheus does: 204 when everything was stored; 400 for a body that cannot be
//! read, or when some samples were refused (the rest are stored; a 400 tells the sender not
//! to retry); 429/503 with `Retry-After` when Vigil or its database is overloaded or down, so
//! the sender retries.

use prost::Message;

use super::DecodeError;
use crate::metrics::model::{
    LabelLimits, Labels, MetricMetadata, MetricType, Sample, SeriesWrite, WriteBatch,
};
use crate::metrics::store::Rejections;

#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<WireMetadata>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<WireLabel>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<WireSample>,
    /// Native histograms, kept opaque: Vigil stores classic (bucketed) histograms only.
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub histograms: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
pub struct WireLabel {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct WireSample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct WireMetadata {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    #[prost(string, tag = "4")]
    pub help: String,
    #[prost(string, tag = "5")]
    pub unit: String,
}

fn metric_type(wire: i32) -> MetricType {
    match wire {
        1 => MetricType::Counter,
        2 => MetricType::Gauge,
        3 => MetricType::Histogram,
        4 => MetricType::Gaugehistogram,
        5 => MetricType::Summary,
        6 => MetricType::Info,
        7 => MetricType::Stateset,
        _ => MetricType::Unknown,
    }
}

/// Decompresses and decodes a remote_write body. Series with invalid labels are refused and
/// counted; a body that cannot be read at all is an error.
pub fn decode(
    body: &[u8],
    max_decompressed: usize,
    limits: &LabelLimits,
) -> Result<(WriteBatch, Rejections), DecodeError> {
    let length = snap::raw::decompress_len(body).map_err(|e| {
        DecodeError::Malformed(format!(
            "the body is not snappy-compressed (block format): {e}"
        ))
    })?;
    if length > max_decompressed {
        return Err(DecodeError::TooLarge(format!(
            "the body decompresses to {length} bytes; the limit is {max_decompressed}"
        )));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| DecodeError::Malformed(format!("the snappy data is corrupt: {e}")))?;
    let request = WriteRequest::decode(raw.as_slice()).map_err(|e| {
        DecodeError::Malformed(format!("the body is not a protobuf WriteRequest: {e}"))
    })?;

    let mut rejections = Rejections::default();
    let mut batch = WriteBatch::default();
    for series in request.timeseries {
        if !series.histograms.is_empty() {
            rejections.add(
                series.histograms.len(),
                "native histograms are not supported; send classic histograms",
            );
        }
        if series.samples.is_empty() {
            continue;
        }
        let pairs = series
            .labels
            .into_iter()
            .map(|l| (l.name, l.value))
            .collect();
        let labels = match Labels::parse_series(pairs, limits) {
            Ok(labels) => labels,
            Err(error) => {
                rejections.add(series.samples.len(), error);
                continue;
            }
        };
        let samples = series
            .samples
            .into_iter()
            .map(|s| Sample {
                timestamp_ms: s.timestamp,
                value: s.value,
            })
            .collect();
        batch.series.push(SeriesWrite { labels, samples });
    }
    batch.metadata = request
        .metadata
        .into_iter()
        .filter(|m| !m.metric_family_name.is_empty())
        .map(|m| MetricMetadata {
            metric: m.metric_family_name,
            kind: metric_type(m.r#type),
            unit: m.unit,
            help: m.help,
        })
        .collect();
    Ok((batch, rejections))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(request: &WriteRequest) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .unwrap()
    }

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| WireLabel {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|(t, v)| WireSample {
                    timestamp: *t,
                    value: *v,
                })
                .collect(),
            histograms: vec![],
        }
    }

    #[test]
    fn a_write_request_decodes_to_series_samples_and_metadata() {
        let request = WriteRequest {
            timeseries: vec![series(
                &[("__name__", "up"), ("job", "api")],
                &[(1000, 1.0), (2000, 0.0)],
            )],
            metadata: vec![WireMetadata {
                r#type: 1,
                metric_family_name: "http_requests_total".into(),
                help: "Requests.".into(),
                unit: "".into(),
            }],
        };
        let (batch, rejections) =
            decode(&encode(&request), 1 << 20, &LabelLimits::default()).unwrap();
        assert!(rejections.is_empty());
        assert_eq!(batch.series[0].labels.to_string(), r#"up{job="api"}"#);
        assert_eq!(batch.series[0].samples.len(), 2);
        assert_eq!(batch.metadata[0].kind, MetricType::Counter);
    }

    #[test]
    fn invalid_series_are_refused_one_by_one() {
        let request = WriteRequest {
            timeseries: vec![
                series(&[("__name__", "up"), ("bad-label", "x")], &[(1000, 1.0)]),
                series(&[("__name__", "up"), ("job", "ok")], &[(1000, 1.0)]),
            ],
            metadata: vec![],
        };
        let (batch, rejections) =
            decode(&encode(&request), 1 << 20, &LabelLimits::default()).unwrap();
        assert_eq!(batch.series.len(), 1);
        assert_eq!(rejections.samples, 1);
        assert!(rejections.reasons[0].contains("bad-label"));
    }

    #[test]
    fn unreadable_bodies_are_malformed_and_huge_ones_too_large() {
        let request = WriteRequest {
            timeseries: vec![series(&[("__name__", "up")], &[(1, 1.0)])],
            metadata: vec![],
        };
        let good = encode(&request);
        // Not snappy at all.
        assert!(matches!(
            decode(b"\xff\xff\xff\xff\xff", 1 << 20, &LabelLimits::default()),
            Err(DecodeError::Malformed(_))
        ));
        // Snappy, but the protobuf inside is cut short.
        let raw = request.encode_to_vec();
        let truncated = snap::raw::Encoder::new()
            .compress_vec(&raw[..raw.len() - 3])
            .unwrap();
        assert!(matches!(
            decode(&truncated, 1 << 20, &LabelLimits::default()),
            Err(DecodeError::Malformed(_))
        ));
        // Frame-format snappy (what some clients wrongly send) is not the block format.
        let mut framed = snap::write::FrameEncoder::new(Vec::new());
        std::io::Write::write_all(&mut framed, &raw).unwrap();
        let framed = framed.into_inner().unwrap();
        assert!(decode(&framed, 1 << 20, &LabelLimits::default()).is_err());
        // Within limits it works; over the decompressed limit it is refused before inflating.
        assert!(decode(&good, 1 << 20, &LabelLimits::default()).is_ok());
        assert!(matches!(
            decode(&good, 4, &LabelLimits::default()),
            Err(DecodeError::TooLarge(_))
        ));
    }
}
