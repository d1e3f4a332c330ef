//! The Prometheus HTTP API under `/prometheus/api/v1/`, answering exactly as Prometheus does
//! (parameters, JSON shapes, error types), so Grafana and promtool can use Vigil as a
//! Prometheus data source.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use promql_parser::label::Matcher;
use promql_parser::parser::Expr;
use vigil_shared::prometheus::{
    ApiResponse, InstantSample, MetricMetadata, QueryData, RangeSeries, SamplePair, format_value,
};

use super::{Engine, ErrorKind, QueryError, QueryOutput, limits, parse, selector_matchers};
use crate::auth::ReadAccess;
use crate::error::AppError;
use crate::metrics::model::{Labels, METRIC_NAME, is_valid_label_name};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/prometheus/api/v1/query", get(query).post(query))
        .route(
            "/prometheus/api/v1/query_range",
            get(query_range).post(query_range),
        )
        .route("/prometheus/api/v1/series", get(series).post(series))
        .route("/prometheus/api/v1/labels", get(labels).post(labels))
        .route("/prometheus/api/v1/label/{name}/values", get(label_values))
        .route("/prometheus/api/v1/metadata", get(metadata))
        .route(
            "/prometheus/api/v1/query_exemplars",
            get(exemplars).post(exemplars),
        )
        .route("/prometheus/api/v1/status/buildinfo", get(build_info))
}

/// An error in the Prometheus API's shape: `{"status":"error","errorType":…,"error":…}`.
struct PromError {
    status: StatusCode,
    error_type: &'static str,
    message: String,
}

impl PromError {
    fn bad_data(message: impl Into<String>) -> Self {
        PromError {
            status: StatusCode::BAD_REQUEST,
            error_type: "bad_data",
            message: message.into(),
        }
    }
}

impl From<QueryError> for PromError {
    fn from(error: QueryError) -> Self {
        let (status, error_type) = match error.kind {
            ErrorKind::BadData => (StatusCode::BAD_REQUEST, "bad_data"),
            ErrorKind::Execution => (StatusCode::UNPROCESSABLE_ENTITY, "execution"),
            ErrorKind::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        PromError {
            status,
            error_type,
            message: error.message,
        }
    }
}

impl From<sqlx::Error> for PromError {
    fn from(error: sqlx::Error) -> Self {
        QueryError::from(error).into()
    }
}

impl From<AppError> for PromError {
    fn from(error: AppError) -> Self {
        let status = error.status_code();
        let error_type = match status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "bad_data",
        };
        PromError {
            status,
            error_type,
            message: error.to_string(),
        }
    }
}

impl IntoResponse for PromError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(ApiResponse::<()>::error(self.error_type, self.message)),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        response
    }
}

type PromResult<T> = Result<axum::Json<ApiResponse<T>>, PromError>;

fn success<T>(data: T) -> PromResult<T> {
    Ok(axum::Json(ApiResponse::success(data)))
}

/// Parameters from the query string and, for POST, the form body; keys may repeat (`match[]`).
struct Params(Vec<(String, String)>);

impl Params {
    fn read(query: Option<String>, headers: &HeaderMap, body: &Bytes) -> Result<Self, PromError> {
        let mut pairs: Vec<(String, String)> =
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        if !body.is_empty() {
            let form = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            if !form {
                return Err(PromError {
                    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    error_type: "bad_data",
                    message: "POST bodies must be application/x-www-form-urlencoded".to_owned(),
                });
            }
            pairs.extend(form_urlencoded::parse(body).into_owned());
        }
        // PostgreSQL cannot store or compare text holding NUL: refuse it once, here.
        if let Some((name, _)) = pairs
            .iter()
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            return Err(PromError::bad_data(format!(
                "invalid parameter {:?}: must not contain a NUL character",
                name.replace('\0', "")
            )));
        }
        Ok(Params(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn time(&self, name: &str) -> Result<Option<i64>, PromError> {
        self.get(name)
            .map(|text| {
                parse_time(text).ok_or_else(|| {
                    PromError::bad_data(format!(
                        "invalid parameter \"{name}\": cannot parse \"{text}\" to a valid timestamp"
                    ))
                })
            })
            .transpose()
    }
}

/// A Prometheus API time: Unix seconds (fractions allowed) or RFC 3339, within
/// [`limits::MAX_TIME_MS`] of 1970 (so that no arithmetic on it can overflow).
pub fn parse_time(text: &str) -> Option<i64> {
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds_to_ms(seconds);
    }
    let millis = DateTime::parse_from_rfc3339(text).ok()?.timestamp_millis();
    (millis.abs() <= limits::MAX_TIME_MS).then_some(millis)
}

/// Unix seconds (fractions allowed) as milliseconds, within [`limits::MAX_TIME_MS`] of 1970.
pub fn seconds_to_ms(seconds: f64) -> Option<i64> {
    if !seconds.is_finite() || seconds.abs() * 1000.0 > limits::MAX_TIME_MS as f64 {
        return None;
    }
    let whole = seconds.trunc();
    let millis = ((seconds - whole) * 1000.0).round();
    let millis = whole as i64 * 1000 + millis as i64;
    (millis.abs() <= limits::MAX_TIME_MS).then_some(millis)
}

/// A Prometheus API duration: seconds (fractions allowed) or a duration such as `1m30s`.
pub fn parse_duration(text: &str) -> Option<i64> {
    if let Ok(seconds) = text.parse::<f64>() {
        let millis = seconds * 1000.0;
        return (millis.is_finite() && millis.abs() < i64::MAX as f64).then_some(millis as i64);
    }
    let mut total: i64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let number: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(number.checked_mul(unit)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn labels_map(labels: &Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

fn pair(time_ms: i64, value: f64) -> SamplePair {
    SamplePair(time_ms as f64 / 1000.0, format_value(value))
}

/// A query's output in the Prometheus API's shape.
pub(super) fn to_data(output: QueryOutput) -> QueryData {
    match output {
        QueryOutput::Vector { time_ms, samples } => QueryData::Vector(
            samples
                .into_iter()
                .map(|(labels, value)| InstantSample {
                    metric: labels_map(&labels),
                    value: pair(time_ms, value),
                })
                .collect(),
        ),
        QueryOutput::Matrix(series) => QueryData::Matrix(
            series
                .into_iter()
                .map(|(labels, points)| RangeSeries {
                    metric: labels_map(&labels),
                    values: points.into_iter().map(|(t, v)| pair(t, v)).collect(),
                })
                .collect(),
        ),
        QueryOutput::Scalar { time_ms, value } => QueryData::Scalar(pair(time_ms, value)),
        QueryOutput::String { time_ms, value } => {
            QueryData::String(SamplePair(time_ms as f64 / 1000.0, value))
        }
    }
}

/// The server's engine, with the request's `timeout` parameter when it is shorter than the
/// server's limit (`--query-timeout`).
fn engine<'a>(state: &'a AppState, params: &Params) -> Engine<'a> {
    let mut limits = state.config.query.clone();
    if let Some(ms) = params
        .get("timeout")
        .and_then(parse_duration)
        .filter(|ms| *ms > 0)
    {
        limits.timeout = limits.timeout.min(Duration::from_millis(ms as u64));
    }
    Engine::new(&state.metrics).with_limits(limits)
}

async fn query(
    access: Result<ReadAccess, AppError>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> PromResult<QueryData> {
    access?;
    let params = Params::read(raw, &headers, &body)?;
    let text = params.get("query").unwrap_or_default().to_owned();
    let time = params.time("time")?.unwrap_or_else(now_ms);
    let output = engine(&state, &params).instant(&text, time).await?;
    success(to_data(output))
}

async fn query_range(
    access: Result<ReadAccess, AppError>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> PromResult<QueryData> {
    access?;
    let params = Params::read(raw, &headers, &body)?;
    let start = params.time("start")?.ok_or_else(|| {
        PromError::bad_data("invalid parameter \"start\": cannot parse \"\" to a valid timestamp")
    })?;
    let end = params.time("end")?.ok_or_else(|| {
        PromError::bad_data("invalid parameter \"end\": cannot parse \"\" to a valid timestamp")
    })?;
    let step_text = params.get("step").unwrap_or_default();
    let step = parse_duration(step_text).ok_or_else(|| {
        PromError::bad_data(format!(
            "invalid parameter \"step\": cannot parse \"{step_text}\" to a valid duration"
        ))
    })?;
    let text = params.get("query").unwrap_or_default().to_owned();
    let output = engine(&state, &params)
        .range(&text, start, end, step)
        .await?;
    success(to_data(output))
}

/// The matcher groups of each `match[]` selector.
fn selectors(params: &Params, required: bool) -> Result<Vec<Vec<Matcher>>, PromError> {
    let texts = params.all("match[]");
    if texts.is_empty() && required {
        return Err(PromError::bad_data("no match[] parameter provided"));
    }
    let mut groups = Vec::new();
    for text in texts {
        let expr = parse(text).map_err(|e| PromError::bad_data(e.message))?;
        match expr {
            Expr::VectorSelector(vs) => groups.extend(selector_matchers(&vs)),
            _ => {
                return Err(PromError::bad_data(format!(
                    "invalid parameter \"match[]\": {text} is not a series selector"
                )));
            }
        }
    }
    Ok(groups)
}

/// Series matching the selectors that were seen during `[start, end]` (when given).
async fn matching_series(
    state: &AppState,
    params: &Params,
    required: bool,
) -> Result<Vec<Labels>, PromError> {
    let groups = selectors(params, required)?;
    let store = &state.metrics;
    store.catalog.refresh(store.pool()).await?;
    let start = params.time("start")?;
    let end = params.time("end")?;
    if start.is_none() && end.is_none() {
        return Ok(store.catalog.matching_labels(&groups));
    }
    let mut ids: Vec<i64> = Vec::new();
    let mut by_id = std::collections::HashMap::new();
    let all = if groups.is_empty() {
        vec![Vec::new()]
    } else {
        groups
    };
    for group in &all {
        for (id, labels) in store.catalog.select(group) {
            if by_id.insert(id, labels).is_none() {
                ids.push(id);
            }
        }
    }
    // last_seen is refreshed hourly while samples arrive, hence the hour of slack.
    let to_time = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms);
    let seen = sqlx::query_scalar!(
        "SELECT id FROM metric_series
         WHERE id = ANY($1)
           AND ($2::timestamptz IS NULL OR last_seen >= $2 - interval '1 hour')
           AND ($3::timestamptz IS NULL OR first_seen <= $3)",
        &ids,
        start.and_then(to_time),
        end.and_then(to_time)
    )
    .fetch_all(store.pool())
    .await?;
    Ok(seen
        .into_iter()
        .filter_map(|id| by_id.remove(&id))
        .collect())
}

async fn series(
    access: Result<ReadAccess, AppError>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> PromResult<Vec<BTreeMap<String, String>>> {
    access?;
    let params = Params::read(raw, &headers, &body)?;
    let mut found = matching_series(&state, &params, true).await?;
    found.sort();
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    if let Some(limit) = limit {
        found.truncate(limit);
    }
    success(found.iter().map(labels_map).collect())
}

async fn labels(
    access: Result<ReadAccess, AppError>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> PromResult<Vec<String>> {
    access?;
    let params = Params::read(raw, &headers, &body)?;
    let found = matching_series(&state, &params, false).await?;
    let names: BTreeSet<String> = found
        .iter()
        .flat_map(|l| l.iter().map(|(n, _)| n.to_owned()).collect::<Vec<_>>())
        .collect();
    success(names.into_iter().collect())
}

async fn label_values(
    access: Result<ReadAccess, AppError>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> PromResult<Vec<String>> {
    access?;
    if name != METRIC_NAME && !is_valid_label_name(&name) {
        return Err(PromError::bad_data(format!(
            "invalid label name: \"{name}\""
        )));
    }
    let params = Params::read(raw, &headers, &Bytes::new())?;
    let found = matching_series(&state, &params, false).await?;
    let values: BTreeSet<String> = found
        .iter()
        .filter_map(|l| l.get(&name).map(str::to_owned))
        .collect();
    success(values.into_iter().collect())
}

async fn metadata(
    access: Result<ReadAccess, AppError>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> PromResult<BTreeMap<String, Vec<MetricMetadata>>> {
    access?;
    let params = Params::read(raw, &headers, &Bytes::new())?;
    let metric = params.get("metric");
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l >= 0);
    let rows = sqlx::query!(
        r#"SELECT metric, type AS "kind", help, unit FROM metric_metadata
           WHERE $1::text IS NULL OR metric = $1
           ORDER BY metric
           LIMIT $2"#,
        metric,
        limit
    )
    .fetch_all(state.metrics.pool())
    .await?;
    success(
        rows.into_iter()
            .map(|row| {
                (
                    row.metric,
                    vec![MetricMetadata {
                        kind: row.kind,
                        help: row.help,
                        unit: row.unit,
                    }],
                )
            })
            .collect(),
    )
}

/// Vigil keeps no exemplars; Grafana asks anyway.
async fn exemplars(access: Result<ReadAccess, AppError>) -> PromResult<Vec<()>> {
    access?;
    success(Vec::new())
}

/// What Grafana's Prometheus data source reads to pick its features: Vigil answers with the
/// Prometheus version whose query semantics it follows.
async fn build_info(
    access: Result<ReadAccess, AppError>,
) -> PromResult<BTreeMap<&'static str, String>> {
    access?;
    success(BTreeMap::from([
        ("version", "2.42.0".to_owned()),
        ("revision", format!("vigil-{}", env!("CARGO_PKG_VERSION"))),
        ("branch", "vigil".to_owned()),
        ("buildUser", String::new()),
        ("buildDate", String::new()),
        ("goVersion", String::new()),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_unix_seconds_or_rfc3339() {
        assert_eq!(parse_time("1435781451.781"), Some(1_435_781_451_781));
        assert_eq!(parse_time("1435781451"), Some(1_435_781_451_000));
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Some(1_435_781_451_781)
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("NaN"), None);
    }

    #[test]
    fn durations_are_seconds_or_prometheus_durations() {
        assert_eq!(parse_duration("15"), Some(15_000));
        assert_eq!(parse_duration("0.5"), Some(500));
        assert_eq!(parse_duration("1m30s"), Some(90_000));
        assert_eq!(parse_duration("2h"), Some(7_200_000));
        assert_eq!(parse_duration("250ms"), Some(250));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
    }
}
