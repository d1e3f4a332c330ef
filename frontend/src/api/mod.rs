//! The typed client for Vigil's HTTP API: the transport (fetch, the session's renewal, errors)
//! here, and one module per area of the API with its calls. Pages call these functions and
//! never build URLs or requests themselves; the areas' functions are re-exported here, so a
//! page writes `api::list_users()`.
//!
//! A 401 triggers one session refresh and a retry; if the session cannot be refreshed, the
//! handler registered with [`on_session_lost`] runs (the app sends the user to the login page).

mod admin;
mod alerts;
mod auth;
mod dashboard_edit;
pub mod dashboards;
mod incidents;
mod notify;
mod oncall;
mod prometheus;
mod scrape;
mod slo;
mod status;

pub use admin::*;
pub use alerts::*;
pub use auth::*;
pub use dashboard_edit::*;
pub use incidents::*;
pub use notify::*;
pub use oncall::*;
pub use prometheus::*;
pub use scrape::*;
pub use slo::*;
pub use status::*;

use std::cell::RefCell;
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use vigil_shared::error::ErrorBody;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

/// A failed API call, as the server described it (or as the network failed).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status; 0 when the server could not be reached.
    pub status: u16,
    pub code: String,
    pub message: String,
    pub fields: BTreeMap<String, String>,
}

impl ApiError {
    fn network(detail: &str) -> Self {
        ApiError {
            status: 0,
            code: "network".to_owned(),
            message: format!(
                "Vigil could not be reached ({detail}). Check your connection and retry."
            ),
            fields: BTreeMap::new(),
        }
    }

    /// The problem with one form field, if the server named it.
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields.get(name).cloned()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

thread_local! {
    static SESSION_LOST: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

/// Registers what to do when the session is gone for good (expired and not refreshable).
pub fn on_session_lost(handler: impl Fn() + 'static) {
    SESSION_LOST.with(|slot| *slot.borrow_mut() = Some(Box::new(handler)));
}

fn session_lost() {
    SESSION_LOST.with(|slot| {
        if let Some(handler) = slot.borrow().as_ref() {
            handler();
        }
    });
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

async fn send(method: Method, path: &str, body: Option<&str>) -> ApiResult<Response> {
    let init = RequestInit::new();
    init.set_method(method.as_str());
    init.set_credentials(RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(|_| ApiError::network("headers"))?;
    headers
        .set("Accept", "application/json")
        .map_err(|_| ApiError::network("headers"))?;
    if let Some(body) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(|_| ApiError::network("headers"))?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window"))?;
    let response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|e| {
            ApiError::network(&e.as_string().unwrap_or_else(|| "request failed".to_owned()))
        })?;
    response
        .dyn_into::<Response>()
        .map_err(|_| ApiError::network("unexpected response"))
}

async fn text_of(response: &Response) -> String {
    match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn error_of(response: &Response) -> ApiError {
    error_from(response.status(), &text_of(response).await)
}

fn error_from(status: u16, text: &str) -> ApiError {
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(body) => ApiError {
            status,
            code: body.error.code,
            message: body.error.message,
            fields: body.error.fields,
        },
        Err(_) => ApiError {
            status,
            code: "http".to_owned(),
            message: format!("The server answered {status}."),
            fields: BTreeMap::new(),
        },
    }
}

/// Tries to renew the session; `true` when the cookies were renewed (or another tab just did).
async fn refresh_session() -> bool {
    match send(Method::Post, "/api/v1/auth/refresh", None).await {
        Ok(response) if response.ok() => true,
        Ok(response) => error_of(&response).await.code == "refresh_superseded",
        Err(_) => false,
    }
}

/// Sends a request, renewing the session once on a 401; the answer whatever its status.
async fn exchange(method: Method, path: &str, body: Option<String>) -> ApiResult<Response> {
    let mut response = send(method, path, body.as_deref()).await?;
    let is_auth_endpoint =
        path.starts_with("/api/v1/auth/login") || path.starts_with("/api/v1/auth/refresh");
    if response.status() == 401 && !is_auth_endpoint {
        if refresh_session().await {
            response = send(method, path, body.as_deref()).await?;
        }
        if response.status() == 401 {
            let error = error_of(&response).await;
            session_lost();
            return Err(error);
        }
    }
    Ok(response)
}

async fn call(method: Method, path: &str, body: Option<String>) -> ApiResult<String> {
    let response = exchange(method, path, body).await?;
    if !response.ok() {
        return Err(error_of(&response).await);
    }
    Ok(text_of(&response).await)
}

async fn json<T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<String>,
) -> ApiResult<T> {
    let text = call(method, path, body).await?;
    serde_json::from_str(&text).map_err(|e| ApiError {
        status: 200,
        code: "decode".to_owned(),
        message: format!("The server's answer could not be read: {e}"),
        fields: BTreeMap::new(),
    })
}

fn encode(body: &impl Serialize) -> Option<String> {
    Some(serde_json::to_string(body).expect("request types serialize"))
}

/// Creates (`POST collection`) or replaces (`PUT collection/{id}`) a resource.
async fn save<R: Serialize, T: DeserializeOwned>(
    collection: &str,
    id: Option<i64>,
    request: &R,
) -> ApiResult<T> {
    match id {
        Some(id) => json(Method::Put, &format!("{collection}/{id}"), encode(request)).await,
        None => json(Method::Post, collection, encode(request)).await,
    }
}

async fn delete_at(path: &str) -> ApiResult<()> {
    call(Method::Delete, path, None).await.map(drop)
}

/// An instant as a query parameter.
fn instant(at: DateTime<Utc>) -> String {
    encode_component(&at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Text made safe for a URL's path segment or query value (also for the app's own addresses).
pub fn encode_component(text: &str) -> String {
    js_sys::encode_uri_component(text).into()
}
