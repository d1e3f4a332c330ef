//! Cross-site request forgery: a change made with the browser's session cookie must come from
//! a page of Vigil's own origin. Session cookies are already `SameSite=Strict`; this holds
//! even where that is not enough (a sibling subdomain is "same-site", an old browser ignores
//! SameSite).
//!
//! For every request that changes something (not GET, HEAD or OPTIONS) and carries a session
//! cookie but no API key:
//! - `Sec-Fetch-Site: same-origin` passes; any other `Sec-Fetch-Site` is refused;
//! - without it, an `Origin` naming Vigil's own host passes; another origin, or none, is
//!   refused (403);
//! - a body must come with its protocol's content type: JSON for the API, protobuf for
//!   remote_write, protobuf or JSON for OTLP (415 otherwise). HTML forms can send none of
//!   these across sites without the browser asking first.
//!
//! Requests with `Authorization: Bearer` (API keys) are machine clients: a browser never adds
//! that header to a forged request, so they pass unchanged (`Basic` credentials, which a
//! browser does resend by itself, get no such pass). So do the Prometheus query endpoints'
//! POSTs, which read and take form bodies as Prometheus does.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::extract::{ACCESS_COOKIE, REFRESH_COOKIE};
use crate::error::{AppError, is_json_type, media_type};
use crate::state::AppState;

/// Refuses cookie-authenticated changes from other origins, and bodies of the wrong type.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match check(
        request.method(),
        request.uri().path(),
        request.headers(),
        state.config.trust_proxy_headers,
    ) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

fn check(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    trust_proxy_headers: bool,
) -> Result<(), AppError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || has_bearer_key(headers)
        || !has_session_cookie(headers)
        || is_prometheus_read(path)
    {
        return Ok(());
    }
    same_origin(headers, trust_proxy_headers)?;
    content_type_fits(path, headers)
}

/// `Authorization: Bearer …`: a header no page of another site can make a browser send
/// (unlike `Basic` credentials, which browsers resend by themselves).
fn has_bearer_key(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "))
}

fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .any(|(name, _)| matches!(name.trim(), ACCESS_COOKIE | REFRESH_COOKIE))
}

/// The Prometheus HTTP API's reads, which Prometheus clients POST as forms.
fn is_prometheus_read(path: &str) -> bool {
    path.strip_prefix("/prometheus/api/v1/")
        .is_some_and(|rest| {
            matches!(
                rest,
                "query" | "query_range" | "series" | "labels" | "query_exemplars"
            )
        })
}

fn forbidden() -> AppError {
    AppError::forbidden(
        "A change made with a browser session must come from Vigil's own pages (cross-site \
         request refused). Scripts should use an API key.",
    )
}

fn same_origin(headers: &HeaderMap, trust_proxy_headers: bool) -> Result<(), AppError> {
    let header_text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header_text("sec-fetch-site") {
        return if site.eq_ignore_ascii_case("same-origin") {
            Ok(())
        } else {
            Err(forbidden())
        };
    }
    let origin = header_text("origin").ok_or_else(forbidden)?;
    let origin = reqwest::Url::parse(origin).map_err(|_| forbidden())?;
    let host = trust_proxy_headers
        .then(|| header_text("x-forwarded-host"))
        .flatten()
        .and_then(|h| h.split(',').next())
        .or_else(|| header_text("host"))
        .ok_or_else(forbidden)?
        .trim();
    let default_port = origin.port_or_known_default().unwrap_or(80);
    let (host_name, host_port) = split_host(host, default_port);
    let same = origin
        .host_str()
        .is_some_and(|name| name.eq_ignore_ascii_case(host_name))
        && origin.port_or_known_default() == Some(host_port);
    if same { Ok(()) } else { Err(forbidden()) }
}

/// `example.com:8080` → (`example.com`, 8080); `[::1]:80` → (`[::1]`, 80).
fn split_host(host: &str, default_port: u16) -> (&str, u16) {
    match host.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => match port.parse() {
            Ok(port) => (name, port),
            Err(_) => (host, default_port),
        },
        _ => (host, default_port),
    }
}

fn content_type_fits(path: &str, headers: &HeaderMap) -> Result<(), AppError> {
    let essence = media_type(headers, header::CONTENT_TYPE);
    let has_body = match headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
    {
        Some(length) => length.trim() != "0",
        None => headers.contains_key(header::TRANSFER_ENCODING),
    };
    let (fits, expected) = match (path, essence.as_deref()) {
        ("/prometheus/api/v1/write", t) => (
            t == Some("application/x-protobuf"),
            "application/x-protobuf",
        ),
        ("/v1/metrics" | "/v1/traces", t) => (
            t.is_some_and(|t| t == "application/x-protobuf" || is_json_type(t)),
            "application/x-protobuf or application/json",
        ),
        // A body-less change (acknowledge, log out) needs no type.
        (_, None) => (!has_body, "application/json"),
        (_, Some(t)) => (is_json_type(t), "application/json"),
    };
    if fits {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(format!(
            "A change made with a browser session must send its body as {expected}."
        )))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    const COOKIE: (&str, &str) = ("cookie", "theme=dark; vigil_access=abc");

    fn allowed(method: Method, path: &str, pairs: &[(&str, &str)]) -> bool {
        check(&method, path, &headers(pairs), false).is_ok()
    }

    #[test]
    fn cookie_changes_need_vigils_own_origin() {
        let path = "/api/v1/incidents/1/acknowledge";
        let host = ("host", "vigil.example:8080");
        assert!(allowed(
            Method::POST,
            path,
            &[COOKIE, host, ("origin", "http://vigil.example:8080")]
        ));
        assert!(allowed(
            Method::POST,
            path,
            &[COOKIE, ("sec-fetch-site", "same-origin")]
        ));
        assert!(!allowed(
            Method::POST,
            path,
            &[COOKIE, ("sec-fetch-site", "same-site")]
        ));
        assert!(!allowed(
            Method::POST,
            path,
            &[COOKIE, host, ("origin", "http://evil.example")]
        ));
        assert!(!allowed(
            Method::POST,
            path,
            &[COOKIE, host, ("origin", "http://vigil.example:9090")]
        ));
        assert!(
            !allowed(Method::DELETE, path, &[COOKIE, host]),
            "no origin at all"
        );
        assert!(!allowed(
            Method::POST,
            path,
            &[COOKIE, host, ("origin", "null")]
        ));
        // Default ports match a Host without one.
        assert!(allowed(
            Method::POST,
            path,
            &[
                COOKIE,
                ("host", "vigil.example"),
                ("origin", "https://vigil.example")
            ]
        ));
        assert!(allowed(
            Method::POST,
            path,
            &[
                COOKIE,
                ("host", "vigil.example:443"),
                ("origin", "https://vigil.example")
            ]
        ));
    }

    #[test]
    fn reads_api_keys_and_anonymous_requests_are_not_concerned() {
        let cross = ("origin", "http://evil.example");
        assert!(allowed(Method::GET, "/api/v1/incidents", &[COOKIE, cross]));
        assert!(allowed(
            Method::POST,
            "/api/v1/incidents",
            &[COOKIE, cross, ("authorization", "Bearer key")]
        ));
        assert!(allowed(Method::POST, "/api/v1/incidents", &[cross]));
        assert!(
            !allowed(
                Method::POST,
                "/api/v1/incidents",
                &[COOKIE, cross, ("authorization", "Basic dXNlcjpwdw==")]
            ),
            "credentials a browser resends by itself are no pass"
        );
        assert!(allowed(
            Method::POST,
            "/prometheus/api/v1/query",
            &[COOKIE, cross]
        ));
    }

    #[test]
    fn cookie_changes_send_their_protocols_content_type() {
        let same = ("sec-fetch-site", "same-origin");
        let path = "/api/v1/incidents/1/notes";
        assert!(allowed(
            Method::POST,
            path,
            &[COOKIE, same, ("content-type", "application/json")]
        ));
        assert!(allowed(
            Method::POST,
            path,
            &[COOKIE, same, ("content-length", "0")]
        ));
        assert!(allowed(Method::POST, path, &[COOKIE, same]));
        assert!(!allowed(
            Method::POST,
            path,
            &[COOKIE, same, ("content-type", "text/plain")]
        ));
        assert!(!allowed(
            Method::POST,
            path,
            &[
                COOKIE,
                same,
                ("content-type", "application/x-www-form-urlencoded")
            ]
        ));
        assert!(!allowed(
            Method::POST,
            path,
            &[COOKIE, same, ("content-length", "12")]
        ));
        let write = "/prometheus/api/v1/write";
        assert!(!allowed(
            Method::POST,
            write,
            &[COOKIE, same, ("content-length", "12")]
        ));
        assert!(allowed(
            Method::POST,
            write,
            &[COOKIE, same, ("content-type", "application/x-protobuf")]
        ));
        assert!(allowed(
            Method::POST,
            "/v1/metrics",
            &[COOKIE, same, ("content-type", "application/json")]
        ));
    }
}
