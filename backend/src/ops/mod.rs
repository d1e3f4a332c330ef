//! Operating Vigil: liveness, readiness, its own metrics, and what it says about itself.

pub mod metrics;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use vigil_shared::status::{BuildInfo, DatabaseInfo};

use crate::auth::ReadAccess;
use crate::db;
use crate::error::{AppResult, Json};
use crate::state::AppState;

/// Routes outside `/api/v1`, at the conventional places probes and scrapers look.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Routes under `/api/v1`.
pub fn api_routes() -> Router<AppState> {
    Router::new().route("/status/buildinfo", get(build_info))
}

/// Alive: the process answers. Says nothing about the database, so an orchestrator does not
/// restart Vigil because PostgreSQL blinked.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready: the database answers and every migration is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    let check =
        tokio::time::timeout(Duration::from_secs(3), db::migrations_applied(&state.db)).await;
    let problem = match check {
        Ok(Ok(true)) => return Json(json!({ "status": "ready" })).into_response(),
        Ok(Ok(false)) => "database migrations are pending",
        Ok(Err(error)) if crate::error::is_unavailable(&error) => "the database is unreachable",
        Ok(Err(_)) => "the database schema is missing",
        Err(_) => "the database did not answer within 3 seconds",
    };
    let body = json!({ "error": { "code": "not_ready", "message": problem } });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.telemetry.render(&state.db);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn build_info(
    _caller: ReadAccess,
    State(state): State<AppState>,
) -> AppResult<Json<BuildInfo>> {
    let server_version = sqlx::query_scalar!(r#"SELECT current_setting('server_version') AS "v!""#)
        .fetch_one(&state.db)
        .await?;
    let timescaledb =
        sqlx::query_scalar!("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
            .fetch_optional(&state.db)
            .await?;
    Ok(Json(BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: state.info.started_at,
        database: DatabaseInfo {
            mode: state.info.database_mode.to_owned(),
            server_version,
            timescaledb,
        },
    }))
}

/// Middleware counting and timing every request by its route template (never the raw path,
/// which would give one series per user id).
pub async fn track_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = match request.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str().to_owned(),
        None if request.uri().path().starts_with("/assets/") => "/assets".to_owned(),
        None => "other".to_owned(),
    };
    let response = next.run(request).await;
    state.telemetry.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
