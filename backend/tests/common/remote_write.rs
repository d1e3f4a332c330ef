//! Prometheus remote_write requests encoded exactly as Prometheus encodes them.

use axum::body::Body;
use axum::http::{Request, header};
use prost::Message;
use vigil::ingest::remote_write::{TimeSeries, WireLabel, WireSample, WriteRequest};

pub fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
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

/// Encoded as Prometheus sends it: protobuf, then snappy's block format.
pub fn encode(request: &WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap()
}

pub fn post(key: &str, body: Vec<u8>) -> Request<Body> {
    Request::post("/prometheus/api/v1/write")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .header(header::CONTENT_ENCODING, "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(Body::from(body))
        .unwrap()
}
