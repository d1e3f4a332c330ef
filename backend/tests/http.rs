//! What every endpoint shares: the error format for bad input, operations endpoints, headers,
//! and serving the web app.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use vigil::config::AppConfig;
use vigil_shared::Role;

fn raw(
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder.body(body.into()).unwrap()
}

#[tokio::test]
async fn malformed_json_is_a_400_in_the_error_format() {
    let app = TestApp::spawn().await;
    let response = app
        .send(raw(
            Method::POST,
            "/api/v1/auth/login",
            Some("application/json"),
            "{\"email\": ",
        ))
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let error = response.error().error;
    assert_eq!(error.code, "malformed_json");
    assert!(
        error.message.contains("not valid JSON"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn json_of_the_wrong_shape_names_the_problem() {
    let app = TestApp::spawn().await;
    let response = app
        .send(raw(
            Method::POST,
            "/api/v1/auth/login",
            Some("application/json"),
            r#"{"email": 42}"#,
        ))
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let error = response.error().error;
    assert_eq!(error.code, "invalid_json");
    assert!(error.message.contains("email"), "{}", error.message);
}

#[tokio::test]
async fn a_body_without_a_json_content_type_is_a_415() {
    let app = TestApp::spawn().await;
    let response = app
        .send(raw(
            Method::POST,
            "/api/v1/auth/login",
            Some("text/plain"),
            r#"{"email":"a","password":"b"}"#,
        ))
        .await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(response.error().error.code, "unsupported_media_type");
}

#[tokio::test]
async fn an_oversized_body_is_a_413() {
    let app = TestApp::spawn_with(AppConfig {
        body_limit_bytes: 1024,
        ..AppConfig::default()
    })
    .await;
    let huge = format!(
        r#"{{"email":"a@example.com","password":"{}"}}"#,
        "x".repeat(4096)
    );
    let response = app
        .send(raw(
            Method::POST,
            "/api/v1/auth/login",
            Some("application/json"),
            huge,
        ))
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.error().error.code, "payload_too_large");
}

#[tokio::test]
async fn a_non_numeric_id_in_the_path_is_a_400() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let response = admin.get("/api/v1/users/abc").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error().error.code, "invalid_path");
}

#[tokio::test]
async fn unknown_api_paths_and_methods_answer_in_the_error_format() {
    let app = TestApp::spawn().await;
    let missing = app
        .send(raw(
            Method::GET,
            "/api/v1/no-such-thing",
            None,
            Body::empty(),
        ))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error().error.code, "not_found");

    let outside = app
        .send(raw(Method::GET, "/api/v2/users", None, Body::empty()))
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND);
    assert_eq!(outside.error().error.code, "not_found");

    let wrong_method = app
        .send(raw(Method::DELETE, "/api/v1/auth/me", None, Body::empty()))
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.error().error.code, "method_not_allowed");
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    let health = app
        .send(raw(Method::GET, "/healthz", None, Body::empty()))
        .await;
    assert_eq!(health.status, StatusCode::OK);
    let ready = app
        .send(raw(Method::GET, "/readyz", None, Body::empty()))
        .await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());

    app.anonymous().get("/api/v1/auth/me").await;
    let metrics = app
        .send(raw(Method::GET, "/metrics", None, Body::empty()))
        .await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = metrics.text();
    assert!(
        text.contains(
            r#"vigil_http_requests_total{method="GET",route="/api/v1/auth/me",status="401"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("vigil_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(r#"vigil_db_pool_connections{state="max"} 5"#),
        "{text}"
    );
    assert!(text.contains("process_resident_memory_bytes"), "{text}");
}

#[tokio::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app
        .send(raw(Method::GET, "/healthz", None, Body::empty()))
        .await;
    let csp = response.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'"));
    assert!(csp.contains("'wasm-unsafe-eval'"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    assert!(
        response
            .header("x-request-id")
            .is_some_and(|id| id.len() >= 32)
    );

    let given = app
        .send(
            Request::builder()
                .uri("/healthz")
                .header("x-request-id", "trace-me-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(given.header("x-request-id"), Some("trace-me-123"));
}

#[tokio::test]
async fn large_responses_are_compressed_when_the_client_accepts_it() {
    let app = TestApp::spawn().await;
    let response = app
        .send(
            Request::builder()
                .uri("/metrics")
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn page_paths_serve_the_app_and_assets_are_cached_for_good() {
    let web_dir = tempdir("web");
    std::fs::create_dir_all(web_dir.join("assets")).unwrap();
    std::fs::write(web_dir.join("index.html"), "<html>the vigil app</html>").unwrap();
    std::fs::write(web_dir.join("assets/app-abc123.js"), "console.log('hi')").unwrap();
    let app = TestApp::spawn_with(AppConfig {
        web_dir: Some(web_dir.clone()),
        ..AppConfig::default()
    })
    .await;

    for path in ["/", "/incidents/42", "/admin/users"] {
        let page = app.send(raw(Method::GET, path, None, Body::empty())).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.text(), "<html>the vigil app</html>");
        assert_eq!(page.header("cache-control"), Some("no-cache"));
    }
    let asset = app
        .send(raw(
            Method::GET,
            "/assets/app-abc123.js",
            None,
            Body::empty(),
        ))
        .await;
    assert_eq!(asset.status, StatusCode::OK);
    assert!(asset.header("cache-control").unwrap().contains("immutable"));

    let missing_asset = app
        .send(raw(Method::GET, "/assets/gone.js", None, Body::empty()))
        .await;
    assert_eq!(missing_asset.status, StatusCode::NOT_FOUND);
    let api = app
        .send(raw(
            Method::GET,
            "/prometheus/api/v1/nothing",
            None,
            Body::empty(),
        ))
        .await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.error().error.code, "not_found");
    let post_page = app
        .send(raw(Method::POST, "/incidents", None, Body::empty()))
        .await;
    assert_eq!(post_page.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn without_a_built_frontend_pages_explain_how_to_build_it() {
    let app = TestApp::spawn_with(AppConfig {
        web_dir: Some(tempdir("empty-web")),
        ..AppConfig::default()
    })
    .await;
    let page = app.send(raw(Method::GET, "/", None, Body::empty())).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("cargo xtask build-web"));
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
