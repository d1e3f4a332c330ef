//! The audit log: an append-only record of every state-changing action (who, what, when, from
//! where), written in the same transaction as the change it records, and readable by admins.

pub mod api;

use serde_json::Value;
use sqlx::PgExecutor;

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

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
