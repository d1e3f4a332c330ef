//! Ingestion over standard protocols, so real clients work unchanged: Prometheus remote_write
//! and OTLP/HTTP. A 2xx answer means the data is committed.

pub mod otlp;
pub mod remote_write;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::auth::IngestAccess;
use crate::config::IngestLimits;
use crate::error::{AppError, AppResult, media_type};
use crate::metrics::{Rejections, WriteError};
use crate::state::AppState;

/// Why a request body could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
}

impl From<DecodeError> for AppError {
    fn from(error: DecodeError) -> Self {
        match error {
            DecodeError::Malformed(message) => AppError::BadRequest {
                code: "malformed_payload",
                message,
            },
            DecodeError::TooLarge(message) => AppError::PayloadTooLarge(message),
            DecodeError::UnsupportedMediaType(message) => AppError::UnsupportedMediaType(message),
        }
    }
}

pub fn routes(limits: &IngestLimits) -> Router<AppState> {
    Router::new()
        .route("/prometheus/api/v1/write", post(prometheus_remote_write))
        .route("/v1/metrics", post(otlp_metrics))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
}

/// The body, or 413 in Vigil's error format when it exceeds the limit.
pub fn read_body(body: Result<Bytes, BytesRejection>) -> AppResult<Bytes> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(
                "The request body is over the ingestion size limit.".to_owned(),
            )
        } else {
            AppError::bad_request(rejection.body_text())
        }
    })
}

pub fn write_error(error: WriteError) -> AppError {
    match error {
        WriteError::Busy => AppError::TooManyRequests {
            message: "Vigil is busy writing; retry shortly.".to_owned(),
            retry_after: std::time::Duration::from_secs(2),
        },
        WriteError::TooManySeries(..) => AppError::PayloadTooLarge(error.to_string()),
        WriteError::Database(error) => AppError::from(error),
    }
}

async fn prometheus_remote_write(
    _caller: IngestAccess,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let body = read_body(body)?;
    if let Some(kind) = media_type(&headers, header::CONTENT_TYPE)
        && kind != "application/x-protobuf"
    {
        return Err(DecodeError::UnsupportedMediaType(format!(
            "remote_write needs Content-Type: application/x-protobuf, not {kind}"
        ))
        .into());
    }
    if let Some(encoding) = media_type(&headers, header::CONTENT_ENCODING)
        && encoding != "snappy"
    {
        return Err(DecodeError::UnsupportedMediaType(format!(
            "remote_write needs Content-Encoding: snappy, not {encoding}"
        ))
        .into());
    }
    let limits = &state.config.ingest;
    let (batch, mut rejected) = remote_write::decode(
        &body,
        limits.max_decompressed_bytes,
        &state.metrics.config().label_limits,
    )?;
    let outcome = state.metrics.write(batch).await.map_err(write_error)?;
    rejected.merge(outcome.rejected);
    state
        .telemetry
        .record_ingest("remote_write", outcome.samples, rejected.samples);
    if rejected.is_empty() {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(samples_rejected(&rejected))
    }
}

/// OTLP/HTTP metrics export: see [`otlp`] for the answers it gives.
async fn otlp_metrics(
    _caller: IngestAccess,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let body = read_body(body)?;
    let encoding =
        otlp::Encoding::from_media_type(media_type(&headers, header::CONTENT_TYPE).as_deref())?;
    let limits = &state.config.ingest;
    let inflated;
    let raw: &[u8] = match media_type(&headers, header::CONTENT_ENCODING).as_deref() {
        None | Some("identity") => {
            if body.len() > limits.max_decompressed_bytes {
                return Err(DecodeError::TooLarge(format!(
                    "the body is {} bytes; the limit is {}",
                    body.len(),
                    limits.max_decompressed_bytes
                ))
                .into());
            }
            &body
        }
        Some("gzip") => {
            inflated = otlp::gunzip(&body, limits.max_decompressed_bytes)?;
            &inflated
        }
        Some(other) => {
            return Err(DecodeError::UnsupportedMediaType(format!(
                "OTLP/HTTP accepts Content-Encoding gzip or none, not {other}"
            ))
            .into());
        }
    };
    let request = otlp::decode(raw, encoding)?;
    let store = &state.metrics;
    let times = otlp::AcceptedTimes::around(chrono::Utc::now(), store.config());
    let (batch, mut rejected) = otlp::translate(request, &store.config().label_limits, times);
    let outcome = store.write(batch).await.map_err(write_error)?;
    // Anything the store still refuses (a point on the edge of the time window) is counted
    // per sample, which for a histogram overstates the points; rare enough not to matter.
    rejected.merge(outcome.rejected);
    state
        .telemetry
        .record_ingest("otlp", outcome.samples, rejected.samples);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        otlp::encode_response(encoding, &rejected),
    )
        .into_response())
}

/// 400 naming what was refused (the accepted samples are committed).
pub fn samples_rejected(rejected: &Rejections) -> AppError {
    AppError::BadRequest {
        code: "samples_rejected",
        message: rejected.summary(),
    }
}
