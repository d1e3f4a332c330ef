//! The one error type at the HTTP boundary, and extractors whose rejections use it.
//!
//! Every failure leaves the server as `{"error": {"code", "message", "fields"?}}`. Server-side
//! failures are logged with their cause and answered with a generic message: database text
//! never reaches a client.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use vigil_shared::error::{ErrorBody, ErrorDetail};

pub type AppResult<T> = Result<T, AppError>;

/// Per-field validation problems, keyed by the field's JSON name.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Fields with a problem.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }

    /// `Ok(())` when nothing was added, else the validation error carrying every field.
    pub fn into_result(self) -> AppResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self))
        }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(field, problem)| format!("{field} {problem}"))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed input: unparsable body, bad query parameter, impossible value.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },

    /// Well-formed input that fails validation, field by field.
    #[error("invalid input: {0}")]
    Validation(FieldErrors),

    /// No valid credentials.
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },

    /// Valid credentials without the needed role or scope.
    #[error("{0}")]
    Forbidden(String),

    #[error("{0}")]
    NotFound(String),

    #[error("{0}")]
    MethodNotAllowed(String),

    /// The request conflicts with the current state (duplicate name, impossible transition).
    #[error("{message}")]
    Conflict {
        message: String,
        field: Option<&'static str>,
    },

    #[error("{0}")]
    PayloadTooLarge(String),

    #[error("{0}")]
    UnsupportedMediaType(String),

    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: Duration,
    },

    /// The database (or another dependency) cannot be reached; the client should retry.
    #[error("service unavailable: {0}")]
    Unavailable(String),

    /// Anything else. Logged in full, answered generically.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code: "bad_request",
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        AppError::Unauthorized {
            code: "unauthorized",
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict {
            message: message.into(),
            field: None,
        }
    }

    pub fn conflict_on(field: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            message: message.into(),
            field: Some(field),
        }
    }

    /// A single-field validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.add(field, message);
        AppError::Validation(fields)
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. } | AppError::Unauthorized { code, .. } => code,
            AppError::Validation(_) => "validation_failed",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Conflict { .. } => "conflict",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    fn body(&self) -> ErrorBody {
        let (message, fields) = match self {
            AppError::Validation(fields) => {
                let summary = match fields.0.len() {
                    1 => "One field is invalid.".to_owned(),
                    n => format!("{n} fields are invalid."),
                };
                (summary, fields.0.clone())
            }
            AppError::Conflict {
                message,
                field: Some(field),
            } => (
                message.clone(),
                BTreeMap::from([((*field).to_owned(), message.clone())]),
            ),
            AppError::Unavailable(_) => (
                "The service is temporarily unavailable; try again shortly.".to_owned(),
                BTreeMap::new(),
            ),
            AppError::Internal(_) => (
                "Something went wrong on our side; it has been logged.".to_owned(),
                BTreeMap::new(),
            ),
            other => (other.to_string(), BTreeMap::new()),
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                fields,
            },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            AppError::Unavailable(cause) => tracing::warn!(%cause, "dependency unavailable"),
            _ => {}
        }
        let status = self.status_code();
        let retry_after = match &self {
            AppError::TooManyRequests { retry_after, .. } => Some(retry_after.as_secs().max(1)),
            AppError::Unavailable(_) => Some(5),
            _ => None,
        };
        let mut response = (status, axum::Json(self.body())).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            return AppError::Unavailable(error.to_string());
        }
        if let Some(db) = error.as_database_error()
            && db.is_unique_violation()
        {
            return AppError::conflict("This conflicts with something that already exists.");
        }
        AppError::Internal(anyhow::Error::new(error))
    }
}

/// Maps the violation of one named constraint (or unique index) to a specific error.
pub trait OnConstraint<T> {
    fn on_constraint(self, name: &str, error: impl FnOnce() -> AppError) -> AppResult<T>;
}

impl<T> OnConstraint<T> for Result<T, sqlx::Error> {
    fn on_constraint(self, name: &str, error: impl FnOnce() -> AppError) -> AppResult<T> {
        self.map_err(|e| match constraint(&e) {
            Some(constraint) if constraint == name => error(),
            _ => AppError::from(e),
        })
    }
}

/// The constraint (or unique index) a statement violated, if that is why it failed.
pub fn constraint(error: &sqlx::Error) -> Option<&str> {
    error.as_database_error().and_then(|db| db.constraint())
}

/// The id a foreign key refused: PostgreSQL names it in the error's detail, as in
/// `Key (user_id)=(42) is not present in table "users".`
pub fn refused_key(error: &sqlx::Error) -> Option<i64> {
    let detail = error
        .as_database_error()?
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?
        .detail()?;
    let (_, after) = detail.split_once(")=(")?;
    after.split_once(')')?.0.parse().ok()
}

/// Whether a database error means "cannot reach the database" rather than "bad query".
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Class 08: connection exceptions; 57P0x: the server is shutting down or starting.
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => AppError::BadRequest {
                code: "invalid_json",
                message: format!(
                    "The request body does not match what was expected: {}",
                    e.body_text()
                ),
            },
            JsonRejection::JsonSyntaxError(e) => AppError::BadRequest {
                code: "malformed_json",
                message: format!("The request body is not valid JSON: {}", e.body_text()),
            },
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                "Expected a JSON body with `Content-Type: application/json`.".to_owned(),
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge("The request body is too large.".to_owned())
            }
            other => AppError::bad_request(other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadRequest {
            code: "invalid_query",
            message: format!("Invalid query string: {}", rejection.body_text()),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::BadRequest {
            code: "invalid_path",
            message: format!("Invalid path parameter: {}", rejection.body_text()),
        }
    }
}

/// `axum::Json`, but a rejected body answers in Vigil's error format, and a string holding a
/// NUL character — which PostgreSQL cannot store in text or JSONB — is refused with a 422
/// naming its field, before any handler sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(request.headers()) {
            return Err(AppError::UnsupportedMediaType(
                "Expected a JSON body with `Content-Type: application/json`.".to_owned(),
            ));
        }
        let bytes = body_bytes(request, state).await?;
        refuse_nul_in_json(&bytes)?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Json(value))
    }
}

/// A JSON body that may be left out: an empty body gives `T::default()`; a body that is there
/// is held to everything [`Json`] checks (its content type included).
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let (parts, body) = request.into_parts();
        let bytes = body_bytes(Request::from_parts(parts.clone(), body), state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        let request = Request::from_parts(parts, axum::body::Body::from(bytes));
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(OptionalJson(value))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The whole body, within the body limit (413 beyond it).
async fn body_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge("The request body is too large.".to_owned())
            } else {
                AppError::bad_request(rejection.body_text())
            }
        })
}

/// A header's value as lower-case text without parameters: the media type
/// `application/json` for `Content-Type: Application/JSON; charset=utf-8`.
pub fn media_type(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

/// `application/json`, or any `…+json` type, as axum's own extractor accepts.
pub fn is_json_type(media_type: &str) -> bool {
    media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers, header::CONTENT_TYPE).is_some_and(|t| is_json_type(&t))
}

const NUL_PROBLEM: &str = "must not contain a NUL character (\\u0000)";

/// Refuses a JSON body with a NUL character in any string (or key), naming where: `notes`,
/// `labels.team`, `levels.0.targets`. Bodies without the escape are not looked into.
fn refuse_nul_in_json(bytes: &[u8]) -> Result<(), AppError> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    // A body that holds the escape but does not parse here (a number out of range, nesting
    // too deep) could still parse into a type that skips the bad part: refuse it whole.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Err(AppError::invalid("body", NUL_PROBLEM));
    };
    match nul_path(&value, String::new()) {
        Some(path) => Err(AppError::invalid(
            if path.is_empty() { "body" } else { &path },
            NUL_PROBLEM,
        )),
        None => Ok(()),
    }
}

fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        serde_json::Value::String(text) => text.contains('\0').then_some(path),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, join(&i.to_string()))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                Some(path.clone())
            } else {
                nul_path(item, join(key))
            }
        }),
        _ => None,
    }
}

/// `axum::extract::Query` answering rejections in Vigil's error format, and refusing a
/// parameter holding a NUL character (`%00`) with a 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let raw = parts.uri.query().unwrap_or_default();
        if raw.contains("%00") {
            let nul = form_urlencoded::parse(raw.as_bytes())
                .find(|(name, value)| name.contains('\0') || value.contains('\0'));
            if let Some((name, _)) = nul {
                return Err(AppError::invalid(&name.replace('\0', ""), NUL_PROBLEM));
            }
        }
        let axum::extract::Query(value) = axum::extract::Query::<T>::try_from_uri(&parts.uri)?;
        Ok(Query(value))
    }
}

/// `axum::extract::Path` answering rejections in Vigil's error format.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_carry_every_field() {
        let mut fields = FieldErrors::new();
        fields.add("email", "is not an email address");
        fields.add("password", "must be at least 8 characters");
        let body = AppError::Validation(fields).body();
        assert_eq!(body.error.code, "validation_failed");
        assert_eq!(body.error.fields.len(), 2);
        assert_eq!(body.error.fields["email"], "is not an email address");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let error = AppError::Internal(anyhow::anyhow!("relation \"users\" does not exist"));
        let body = error.body();
        assert!(!body.error.message.contains("relation"));
        assert_eq!(error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_nul_character_is_found_with_its_path() {
        let body = br#"{"name": "ok", "labels": {"team": "a\u0000b"}, "levels": [{"x": 1}, {"note": "\u0000"}]}"#;
        let refused = refuse_nul_in_json(body).unwrap_err();
        let fields = refused.body().error.fields;
        assert!(fields.contains_key("labels.team"), "{fields:?}");
        // An escaped backslash followed by `u0000` is text, not a NUL.
        assert!(refuse_nul_in_json(br#"{"path": "C:\\u0000"}"#).is_ok());
        assert!(refuse_nul_in_json(br#"{"fine": "yes"}"#).is_ok());
    }

    #[test]
    fn lost_connections_count_as_unavailable() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
    }
}
