//! Serving the built web frontend: hashed files under `/assets/` (cached for a year) and
//! `index.html` for every other page path, so that the single-page app's own router handles
//! deep links such as `/incidents/42`.

pub mod assets;

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use tower_http::services::ServeDir;

use crate::error::AppError;
use crate::state::AppState;

/// Path prefixes that belong to machine APIs: unknown paths there are JSON 404s, never the app.
const API_PREFIXES: [&str; 5] = ["/api/", "/prometheus/", "/alertmanager/", "/v1/", "/otlp/"];

pub fn routes(web_dir: Option<&Path>) -> Router<AppState> {
    let mut router = Router::new().fallback(app_page);
    if let Some(dir) = web_dir {
        // `cargo xtask build-web` writes gzipped copies of the large files beside them.
        let assets = ServeDir::new(dir.join("assets")).precompressed_gzip();
        router = router
            .nest_service("/assets", assets)
            .layer(middleware::from_fn(cache_assets));
    }
    router
}

/// Hashed asset names change with their content, so they may be cached for good; the entry
/// page must be revalidated so a new release is picked up.
async fn cache_assets(request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    let policy = if is_asset && response.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}

async fn app_page(State(state): State<AppState>, request: Request<Body>) -> Response {
    let path = request.uri().path();
    if API_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) || path == "/api" {
        return AppError::not_found(format!("No API endpoint at {path}.")).into_response();
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return AppError::MethodNotAllowed("Pages of the web app only answer GET.".to_owned())
            .into_response();
    }
    let html = match &state.web.index_html {
        Some(html) => html.clone(),
        None => NOT_BUILT.to_owned(),
    };
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>Vigil is running, but its web UI is not built</h1>
<p>The API works. To build the UI, run <code>cargo xtask build-web</code> in the repository
(or use the README's run command, which does everything), then start Vigil with
<code>--web-dir frontend/dist</code>.</p>
</body></html>"#;
