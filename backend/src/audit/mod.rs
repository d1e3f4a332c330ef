//! The audit log: an append-only record of every state-changing action (who, what, when, from
//! where), written in the same transaction as the change it records, and readable by admins.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgExecutor;
use vigil_shared::admin::{AuditEntry, AuditLogPage};

use crate::auth::Admin;
use crate::error::{AppError, AppResult, Json, Query};
use crate::state::AppState;

/// Who did something, as recorded.
#[derive(Clone, Copy, Debug)]
pub struct AuditActor<'a> {
    /// The user's email, `api-key:<name>`, `anonymous` or `system`.
    pub label: &'a str,
    pub user_id: Option<i64>,
    pub ip: Option<&'a str>,
}

impl AuditActor<'static> {
    pub const SYSTEM: AuditActor<'static> = AuditActor {
        label: "system",
        user_id: None,
        ip: None,
    };

    /// Someone at the server's command line (`vigil user create`).
    pub const CLI: AuditActor<'static> = AuditActor {
        label: "cli",
        user_id: None,
        ip: None,
    };
}

impl<'a> AuditActor<'a> {
    pub fn anonymous(ip: Option<&'a str>) -> Self {
        AuditActor {
            label: "anonymous",
            user_id: None,
            ip,
        }
    }
}

/// What an action was done to.
#[derive(Clone, Debug, Default)]
pub struct Target {
    kind: Option<&'static str>,
    id: Option<String>,
}

impl Target {
    pub fn none() -> Self {
        Target::default()
    }

    pub fn of(kind: &'static str, id: impl ToString) -> Self {
        Target {
            kind: Some(kind),
            id: Some(id.to_string()),
        }
    }
}

/// Appends one entry. Pass the transaction that makes the change, so both land or neither.
pub async fn record<'e>(
    db: impl PgExecutor<'e>,
    actor: AuditActor<'_>,
    action: &str,
    target: Target,
    details: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO audit_log (actor, actor_user_id, action, target_type, target_id, details, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        actor.label,
        actor.user_id,
        action,
        target.kind,
        target.id,
        details,
        actor.ip
    )
    .execute(db)
    .await?;
    Ok(())
}

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

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
