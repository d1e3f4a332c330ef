//! `/api/v1/escalation-policies` (editors write, everyone reads): who is paged about an
//! incident, in which order, how long after each other, and how often.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use sqlx::types::Json as SqlJson;
use sqlx::{PgConnection, PgExecutor};
use vigil_shared::incident::{
    EscalationLevel, EscalationPolicy, EscalationPolicyList, EscalationPolicyRequest,
};

use crate::audit::{self, AuditActor, Target};
use crate::auth::{AuthUser, Editor};
use crate::error::{AppError, AppResult, FieldErrors, Json, OnConstraint, Path};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/escalation-policies", get(list).post(create))
        .route(
            "/escalation-policies/{id}",
            get(get_one).put(replace).delete(delete),
        )
}

/// A week, the longest wait anywhere in a policy.
const MAX_MINUTES: u32 = 10_080;

async fn validate(conn: &mut PgConnection, request: &EscalationPolicyRequest) -> AppResult<()> {
    let mut errors = FieldErrors::new();
    if request.name.trim().is_empty() || request.name.chars().count() > 100 {
        errors.add("name", "is required (at most 100 characters)");
    }
    if request.levels.is_empty() || request.levels.len() > 20 {
        errors.add("levels", "between 1 and 20 levels are required");
    }
    for (i, level) in request.levels.iter().enumerate() {
        let field = format!("levels.{i}");
        if level.delay_minutes > MAX_MINUTES {
            errors.add(
                &field,
                format!(
                    "level {}: the delay is at most a week (10080 minutes)",
                    i + 1
                ),
            );
        }
        if level.targets.is_empty() {
            errors.add(
                &field,
                format!("level {}: at least one target is required", i + 1),
            );
        }
        for target in &level.targets {
            let exists = sqlx::query_scalar!(
                r#"SELECT CASE $1
                       WHEN 'user' THEN EXISTS (SELECT 1 FROM users WHERE id = $2)
                       WHEN 'team' THEN EXISTS (SELECT 1 FROM teams WHERE id = $2)
                       WHEN 'schedule' THEN EXISTS (SELECT 1 FROM schedules WHERE id = $2)
                       ELSE EXISTS (SELECT 1 FROM notification_channels WHERE id = $2)
                   END AS "exists!""#,
                target.kind.as_str(),
                target.id
            )
            .fetch_one(&mut *conn)
            .await?;
            if !exists {
                errors.add(
                    &field,
                    format!(
                        "level {}: there is no {} {}",
                        i + 1,
                        target.kind.as_str(),
                        target.id
                    ),
                );
            }
        }
    }
    if request.repeat_count > 10 {
        errors.add("repeat_count", "is at most 10");
    }
    if !(1..=MAX_MINUTES).contains(&request.repeat_after_minutes) {
        errors.add(
            "repeat_after_minutes",
            "must be between 1 and 10080 minutes",
        );
    }
    if let Some(timeout) = request.ack_timeout_minutes
        && !(1..=MAX_MINUTES).contains(&timeout)
    {
        errors.add("ack_timeout_minutes", "must be between 1 and 10080 minutes");
    }
    errors.into_result()
}

async fn select<'e>(
    db: impl PgExecutor<'e>,
    id: Option<i64>,
) -> Result<Vec<EscalationPolicy>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, name, description, repeat_count, repeat_after_minutes, ack_timeout_minutes,
                  auto_resolve, updated_at,
                  levels AS "levels!: SqlJson<Vec<EscalationLevel>>"
           FROM escalation_policies WHERE $1::bigint IS NULL OR id = $1
           ORDER BY lower(name)"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| EscalationPolicy {
            id: r.id,
            policy: EscalationPolicyRequest {
                name: r.name,
                description: r.description,
                levels: r.levels.0,
                repeat_count: r.repeat_count.max(0) as u32,
                repeat_after_minutes: r.repeat_after_minutes.max(1) as u32,
                ack_timeout_minutes: r.ack_timeout_minutes.map(|m| m.max(1) as u32),
                auto_resolve: r.auto_resolve,
            },
            updated_at: r.updated_at,
        })
        .collect())
}

/// One policy, as the escalation worker reads it.
pub async fn load<'e>(
    db: impl PgExecutor<'e>,
    id: i64,
) -> Result<Option<EscalationPolicyRequest>, sqlx::Error> {
    Ok(select(db, Some(id)).await?.pop().map(|p| p.policy))
}

async fn find<'e>(db: impl PgExecutor<'e>, id: i64) -> AppResult<EscalationPolicy> {
    select(db, Some(id))
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no escalation policy with this id."))
}

fn name_taken() -> AppError {
    AppError::conflict_on(
        "name",
        "An escalation policy with this name already exists.",
    )
}

async fn list(
    _user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<EscalationPolicyList>> {
    Ok(Json(EscalationPolicyList {
        policies: select(&state.db, None).await?,
    }))
}

async fn get_one(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<EscalationPolicy>> {
    find(&state.db, id).await.map(Json)
}

async fn create(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(request): Json<EscalationPolicyRequest>,
) -> AppResult<(StatusCode, Json<EscalationPolicy>)> {
    let mut tx = state.db.begin().await?;
    let policy = insert(&mut tx, editor.audit_actor(), &request).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(policy)))
}

/// Checks and creates a policy, recording who did it; the API and demo mode's seeding both
/// create policies through here. The caller commits.
pub async fn insert(
    conn: &mut PgConnection,
    actor: AuditActor<'_>,
    request: &EscalationPolicyRequest,
) -> AppResult<EscalationPolicy> {
    validate(conn, request).await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO escalation_policies (name, description, levels, repeat_count,
                                          repeat_after_minutes, ack_timeout_minutes, auto_resolve)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        request.name.trim(),
        request.description.trim(),
        serde_json::to_value(&request.levels).unwrap_or_default(),
        request.repeat_count as i32,
        request.repeat_after_minutes as i32,
        request.ack_timeout_minutes.map(|m| m as i32),
        request.auto_resolve
    )
    .fetch_one(&mut *conn)
    .await
    .on_constraint("escalation_policies_name_key", name_taken)?;
    audit::record(
        &mut *conn,
        actor,
        "escalation_policy.create",
        Target::of("escalation_policy", id),
        json!({ "name": request.name.trim(), "levels": request.levels.len() }),
    )
    .await?;
    find(&mut *conn, id).await
}

/// The id of the policy named `name` (names are unique regardless of case).
pub async fn id_by_name<'e>(
    db: impl PgExecutor<'e>,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM escalation_policies WHERE lower(name) = lower($1)",
        name.trim()
    )
    .fetch_optional(db)
    .await
}

async fn replace(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<EscalationPolicyRequest>,
) -> AppResult<Json<EscalationPolicy>> {
    let mut tx = state.db.begin().await?;
    find(&mut *tx, id).await?;
    validate(&mut tx, &request).await?;
    sqlx::query!(
        "UPDATE escalation_policies
         SET name = $2, description = $3, levels = $4, repeat_count = $5,
             repeat_after_minutes = $6, ack_timeout_minutes = $7, auto_resolve = $8,
             updated_at = now()
         WHERE id = $1",
        id,
        request.name.trim(),
        request.description.trim(),
        serde_json::to_value(&request.levels).unwrap_or_default(),
        request.repeat_count as i32,
        request.repeat_after_minutes as i32,
        request.ack_timeout_minutes.map(|m| m as i32),
        request.auto_resolve
    )
    .execute(&mut *tx)
    .await
    .on_constraint("escalation_policies_name_key", name_taken)?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "escalation_policy.update",
        Target::of("escalation_policy", id),
        json!({ "name": request.name.trim() }),
    )
    .await?;
    let policy = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(Json(policy))
}

/// Deletes a policy (rules that name it page nobody any more). Refused while a notification
/// policy pages it: the alerts that policy takes would silently page nobody.
async fn delete(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let policy = find(&mut *tx, id).await?;
    let routes = sqlx::query_scalar!(
        "SELECT name FROM notification_policies WHERE escalation_policy_id = $1
         ORDER BY is_default, position, id",
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    if !routes.is_empty() {
        return Err(AppError::conflict(format!(
            "Notification policies still page this escalation policy ({}); choose another \
             there first.",
            routes.join(", ")
        )));
    }
    // A notification policy set to page it since the check is caught by the reference itself.
    sqlx::query!("DELETE FROM escalation_policies WHERE id = $1", id)
        .execute(&mut *tx)
        .await
        .on_constraint(crate::notify::policies::ESCALATION_POLICY_FKEY, || {
            AppError::conflict(
                "A notification policy pages this escalation policy now; choose another there \
                 first.",
            )
        })?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "escalation_policy.delete",
        Target::of("escalation_policy", id),
        json!({ "name": policy.policy.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
