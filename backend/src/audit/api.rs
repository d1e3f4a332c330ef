//! `GET /api/v1/audit-log`: the audit log, newest first, for admins.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use vigil_shared::admin::{AuditEntry, AuditLogPage};

use super::escape_like;
use crate::auth::Admin;
use crate::error::{AppError, AppResult, Json, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit-log", get(list_audit_log))
}

#[derive(Debug, Deserialize)]
struct AuditLogQuery {
    /// Entries whose action starts with this, e.g. `user.` or `auth.login`.
    action: Option<String>,
    /// Entries whose actor contains this (case-insensitive).
    actor: Option<String>,
    /// Entries older than this id (the `next_before` of the previous page).
    before: Option<i64>,
    limit: Option<i64>,
}

const DEFAULT_PAGE: i64 = 100;
const MAX_PAGE: i64 = 500;

async fn list_audit_log(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Query(query): Query<AuditLogQuery>,
) -> AppResult<Json<AuditLogPage>> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::bad_request(format!(
            "`limit` must be between 1 and {MAX_PAGE}."
        )));
    }
    let action_prefix = query.action.map(|a| format!("{}%", escape_like(&a)));
    let actor_pattern = query.actor.map(|a| format!("%{}%", escape_like(&a)));
    // One extra row tells whether another page follows.
    let mut entries = sqlx::query_as!(
        AuditEntry,
        r#"SELECT id, at, actor, actor_user_id, action, target_type, target_id, details, ip
           FROM audit_log
           WHERE ($1::text IS NULL OR action LIKE $1)
             AND ($2::text IS NULL OR actor ILIKE $2)
             AND ($3::bigint IS NULL OR id < $3)
           ORDER BY id DESC
           LIMIT $4"#,
        action_prefix,
        actor_pattern,
        query.before,
        limit + 1
    )
    .fetch_all(&state.db)
    .await?;
    let next_before = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Json(AuditLogPage {
        entries,
        next_before,
    }))
}
