//! The HTTP application: every area's routes and the middleware they all go through, built
//! without a socket so tests can drive it directly.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::middleware;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::AppError;
use crate::state::AppState;
use crate::web;
use crate::{
    alerting, annotations, api_keys, audit, auth, dashboards, events, incidents, ingest, notify,
    oncall, ops, promql, references, scrape, slo, teams, users,
};

/// Content Security Policy for a WASM single-page app: only our own scripts (and compiling
/// WebAssembly from them), inline styles for the chart library, nothing framed or framing us.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
    connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; \
    form-action 'self'; frame-ancestors 'none'";

pub fn router(state: AppState) -> Router {
    references::register(&[
        alerting::rules::REFERRERS,
        dashboards::store::REFERRERS,
        notify::policies::REFERRERS,
        oncall::REFERRERS,
        slo::store::REFERRERS,
    ]);
    let api = Router::new()
        .merge(auth::api::routes())
        .merge(alerting::routes())
        .merge(annotations::routes())
        .merge(events::stream::routes())
        .merge(notify::routes())
        .merge(incidents::routes())
        .merge(oncall::routes())
        .merge(promql::batch::routes())
        .merge(scrape::routes())
        .merge(slo::routes())
        .merge(dashboards::routes())
        .merge(users::routes())
        .merge(teams::routes())
        .merge(api_keys::routes())
        .merge(audit::api::routes())
        .merge(ops::api_routes())
        .fallback(|uri: axum::http::Uri| async move {
            AppError::not_found(format!("No API endpoint at {}.", uri.path()))
        })
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes));

    let routes = Router::new()
        .nest("/api/v1", api)
        .merge(ingest::routes(&state.config.ingest))
        .merge(promql::api::routes())
        .merge(alerting::alertmanager::routes())
        .merge(ops::routes())
        .merge(web::routes(state.config.web_dir.as_deref()))
        .method_not_allowed_fallback(|| async {
            AppError::MethodNotAllowed("This endpoint does not answer that method.".to_owned())
        });
    with_middleware(routes, state)
}

/// Wraps `routes` in what every request goes through: request ids and tracing, compression,
/// security headers, request metrics, the same-origin check of cookie-authenticated changes
/// (`auth::csrf`), and a net for panics — a handler that panics is logged
/// with its request id and answered 500, and the server goes on serving.
pub fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    let security_headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));

    let request_id = HeaderName::from_static("x-request-id");
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Millis));

    routes
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::csrf::guard,
        ))
        .layer(CatchPanicLayer::custom(answer_panic))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ops::track_requests,
        ))
        .layer(security_headers)
        .layer(CompressionLayer::new())
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// The answer to a request whose handler panicked: logged (inside the request's span, so with
/// its request id) and answered as any other internal error.
fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    axum::response::IntoResponse::into_response(AppError::Internal(anyhow::anyhow!(
        "a request handler panicked: {message}"
    )))
}
