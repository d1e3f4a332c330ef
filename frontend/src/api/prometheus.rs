//! The Prometheus API: queries, and the names autocomplete offers. Its answers and errors
//! have Prometheus' own shape.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use vigil_shared::prometheus::{ApiResponse as PromResponse, QueryData, Status as PromStatus};

use super::{ApiError, ApiResult, Method, encode_component, error_from, exchange, text_of};

/// A call to the Prometheus API, whose answers and errors have Prometheus' own shape.
async fn prometheus<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    let response = exchange(Method::Get, path, None).await?;
    let status = response.status();
    let text = text_of(&response).await;
    match serde_json::from_str::<PromResponse<T>>(&text) {
        Ok(PromResponse {
            status: PromStatus::Success,
            data: Some(data),
            ..
        }) => Ok(data),
        Ok(answer) => Err(ApiError {
            status,
            code: answer.error_type.unwrap_or_else(|| "error".to_owned()),
            message: answer
                .error
                .unwrap_or_else(|| format!("The server answered {status}.")),
            fields: BTreeMap::new(),
        }),
        Err(_) if !response.ok() => Err(error_from(status, &text)),
        Err(e) => Err(ApiError {
            status,
            code: "decode".to_owned(),
            message: format!("The server's answer could not be read: {e}"),
            fields: BTreeMap::new(),
        }),
    }
}

/// A range query: one series per result, values every `step` seconds from `start` to `end`.
pub async fn query_range(query: &str, start: f64, end: f64, step: f64) -> ApiResult<QueryData> {
    prometheus(&format!(
        "/prometheus/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
        encode_component(query)
    ))
    .await
}

/// An instant query at `time` (unix seconds).
pub async fn query_instant(query: &str, time: f64) -> ApiResult<QueryData> {
    prometheus(&format!(
        "/prometheus/api/v1/query?query={}&time={time:.3}",
        encode_component(query)
    ))
    .await
}

/// The values of a label (`__name__` for metric names), of series matching `selector` if given.
pub async fn label_values(label: &str, selector: Option<&str>) -> ApiResult<Vec<String>> {
    let mut path = format!(
        "/prometheus/api/v1/label/{}/values",
        encode_component(label)
    );
    if let Some(selector) = selector {
        path.push_str(&format!("?match[]={}", encode_component(selector)));
    }
    prometheus(&path).await
}

/// The label names of series matching `selector` (of all series without one).
pub async fn label_names(selector: Option<&str>) -> ApiResult<Vec<String>> {
    let mut path = "/prometheus/api/v1/labels".to_owned();
    if let Some(selector) = selector {
        path.push_str(&format!("?match[]={}", encode_component(selector)));
    }
    prometheus(&path).await
}
