//! `/api/v1/escalation-policies` (editors write, everyone reads): who is paged about an
//! incident, in which order, how long after each other, and how often.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use sqlx::types::Json as SqlJson;
use sqlx::{PgConnection, PgExecutor};
use vigil_shared::incident::{
    EscalationLevel, EscalationPolicy, EscalationPolicyList, EscalationPolicyRequest,
    EscalationTarget, TargetKind,
};

use crate::audit::{self, AuditActor, Target};
use crate::auth::{AuthUser, Editor};
use crate::error::{self, AppError, AppResult, FieldErrors, Json, OnConstraint, Path};
use crate::references::{self, Table};
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
/// The most people, teams, schedules and channels one level pages.
const MAX_TARGETS: usize = 50;

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
        if level.targets.is_empty() || level.targets.len() > MAX_TARGETS {
            errors.add(
                &field,
                format!(
                    "level {}: between 1 and {MAX_TARGETS} targets are required",
                    i + 1
                ),
            );
        }
    }
    for kind in [
        TargetKind::User,
        TargetKind::Team,
        TargetKind::Schedule,
        TargetKind::Channel,
    ] {
        let ids: Vec<i64> = request
            .levels
            .iter()
            .flat_map(|l| &l.targets)
            .filter(|t| t.kind == kind)
            .map(|t| t.id)
            .collect();
        for id in references::missing(conn, table_of(kind), &ids).await? {
            let target = EscalationTarget { kind, id };
            if let Some(level) = request
                .levels
                .iter()
                .position(|l| l.targets.contains(&target))
            {
                errors.add(&format!("levels.{level}"), no_target(level, target));
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
                  COALESCE((
                      SELECT jsonb_agg(jsonb_build_object(
                                 'delay_minutes', l.delay_minutes,
                                 'targets', COALESCE((
                                     SELECT jsonb_agg(jsonb_build_object(
                                                'kind', CASE
                                                    WHEN t.user_id IS NOT NULL THEN 'user'
                                                    WHEN t.team_id IS NOT NULL THEN 'team'
                                                    WHEN t.schedule_id IS NOT NULL THEN 'schedule'
                                                    ELSE 'channel'
                                                END,
                                                'id', COALESCE(t.user_id, t.team_id,
                                                               t.schedule_id, t.channel_id)
                                            ) ORDER BY t.position)
                                     FROM escalation_targets t
                                     WHERE t.policy_id = l.policy_id AND t.level = l.level
                                 ), '[]')
                             ) ORDER BY l.level)
                      FROM escalation_levels l WHERE l.policy_id = p.id
                  ), '[]') AS "levels!: SqlJson<Vec<EscalationLevel>>"
           FROM escalation_policies p WHERE $1::bigint IS NULL OR id = $1
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

/// What an incident shows and obeys of its policy, apart from the levels.
pub struct PolicySummary {
    pub name: String,
    /// How long an acknowledgment holds before the incident is triggered again.
    pub ack_timeout_minutes: Option<u32>,
    /// Whether its incidents resolve by themselves once all their alerts have.
    pub auto_resolve: bool,
}

/// The policies `ids`, by id, without their levels (ids of no policy are left out).
pub async fn summaries<'e>(
    db: impl PgExecutor<'e>,
    ids: &[i64],
) -> Result<HashMap<i64, PolicySummary>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, name, ack_timeout_minutes, auto_resolve
         FROM escalation_policies WHERE id = ANY($1)",
        ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let summary = PolicySummary {
                name: r.name,
                ack_timeout_minutes: r.ack_timeout_minutes.map(|m| m.max(1) as u32),
                auto_resolve: r.auto_resolve,
            };
            (r.id, summary)
        })
        .collect())
}

async fn find<'e>(db: impl PgExecutor<'e>, id: i64) -> AppResult<EscalationPolicy> {
    select(db, Some(id))
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no escalation policy with this id."))
}

/// Makes `levels` the levels of policy `id`. A target that does not exist is refused by its
/// foreign key and answered 422 on its level.
async fn set_levels(conn: &mut PgConnection, id: i64, levels: &[EscalationLevel]) -> AppResult<()> {
    sqlx::query!("DELETE FROM escalation_levels WHERE policy_id = $1", id)
        .execute(&mut *conn)
        .await?;
    let delays: Vec<i32> = levels.iter().map(|l| l.delay_minutes as i32).collect();
    sqlx::query!(
        "INSERT INTO escalation_levels (policy_id, level, delay_minutes)
         SELECT $1, l.level - 1, l.delay FROM unnest($2::int[]) WITH ORDINALITY AS l(delay, level)",
        id,
        &delays
    )
    .execute(&mut *conn)
    .await?;
    let mut level = Vec::new();
    let mut kind = Vec::new();
    let mut target = Vec::new();
    for (i, l) in levels.iter().enumerate() {
        for t in &l.targets {
            level.push(i as i32);
            kind.push(t.kind.as_str());
            target.push(t.id);
        }
    }
    sqlx::query!(
        "INSERT INTO escalation_targets (policy_id, level, position, user_id, team_id,
                                         schedule_id, channel_id)
         SELECT $1, t.level, row_number() OVER (PARTITION BY t.level ORDER BY t.n) - 1,
                CASE t.kind WHEN 'user' THEN t.id END, CASE t.kind WHEN 'team' THEN t.id END,
                CASE t.kind WHEN 'schedule' THEN t.id END,
                CASE t.kind WHEN 'channel' THEN t.id END
         FROM unnest($2::int[], $3::text[], $4::bigint[]) WITH ORDINALITY AS t(level, kind, id, n)",
        id,
        &level,
        &kind as &[&str],
        &target
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| unknown_target(e, levels))?;
    Ok(())
}

/// A target refused by its foreign key, answered on the first level naming it.
fn unknown_target(error: sqlx::Error, levels: &[EscalationLevel]) -> AppError {
    let kind = match error::constraint(&error) {
        Some("escalation_targets_user_id_fkey") => TargetKind::User,
        Some("escalation_targets_team_id_fkey") => TargetKind::Team,
        Some("escalation_targets_schedule_id_fkey") => TargetKind::Schedule,
        Some("escalation_targets_channel_id_fkey") => TargetKind::Channel,
        _ => return error.into(),
    };
    let target = EscalationTarget {
        kind,
        id: error::refused_key(&error).unwrap_or_default(),
    };
    let level = levels
        .iter()
        .position(|l| l.targets.contains(&target))
        .unwrap_or_default();
    AppError::invalid(&format!("levels.{level}"), no_target(level, target))
}

fn no_target(level: usize, target: EscalationTarget) -> String {
    format!(
        "level {}: there is no {} {}",
        level + 1,
        target.kind.as_str(),
        target.id
    )
}

fn table_of(kind: TargetKind) -> Table {
    match kind {
        TargetKind::User => Table::Users,
        TargetKind::Team => Table::Teams,
        TargetKind::Schedule => Table::Schedules,
        TargetKind::Channel => Table::NotificationChannels,
    }
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
        "INSERT INTO escalation_policies (name, description, repeat_count, repeat_after_minutes,
                                          ack_timeout_minutes, auto_resolve)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        request.name.trim(),
        request.description.trim(),
        request.repeat_count as i32,
        request.repeat_after_minutes as i32,
        request.ack_timeout_minutes.map(|m| m as i32),
        request.auto_resolve
    )
    .fetch_one(&mut *conn)
    .await
    .on_constraint("escalation_policies_name_key", name_taken)?;
    set_levels(conn, id, &request.levels).await?;
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

/// The policy that pages a team: one naming the team itself, else one paging any of its
/// `members` directly or through a schedule (the lowest id wins; None: no such policy).
pub async fn for_team(
    conn: &mut PgConnection,
    team_id: i64,
    members: &[i64],
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT t.policy_id AS "policy_id!" FROM escalation_targets t
           LEFT JOIN schedule_participants p ON p.schedule_id = t.schedule_id
           WHERE t.team_id = $1 OR t.user_id = ANY($2) OR p.user_id = ANY($2)
           ORDER BY t.team_id IS NOT DISTINCT FROM $1 DESC, t.policy_id
           LIMIT 1"#,
        team_id,
        members
    )
    .fetch_optional(conn)
    .await
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
         SET name = $2, description = $3, repeat_count = $4, repeat_after_minutes = $5,
             ack_timeout_minutes = $6, auto_resolve = $7, updated_at = now()
         WHERE id = $1",
        id,
        request.name.trim(),
        request.description.trim(),
        request.repeat_count as i32,
        request.repeat_after_minutes as i32,
        request.ack_timeout_minutes.map(|m| m as i32),
        request.auto_resolve
    )
    .execute(&mut *tx)
    .await
    .on_constraint("escalation_policies_name_key", name_taken)?;
    set_levels(&mut tx, id, &request.levels).await?;
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

/// Deletes a policy. Refused while an alert rule or a notification policy pages it: their
/// alerts would silently page nobody.
async fn delete(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let policy = find(&mut *tx, id).await?;
    let deleted = sqlx::query!("DELETE FROM escalation_policies WHERE id = $1", id)
        .execute(&mut *tx)
        .await;
    references::refuse_delete(deleted, &state.db, Table::EscalationPolicies, id).await?;
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
