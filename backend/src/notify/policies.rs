//! `/api/v1/notification-policies` (editors): the label-matching routes that decide which
//! channels an alert notifies and how its notifications are grouped and timed — and, for
//! alerts whose rule does not say, which escalation policy pages their incidents and which
//! labels split them.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use sqlx::types::Json as SqlJson;
use sqlx::{PgConnection, PgExecutor};
use vigil_shared::alerting::Matcher;
use vigil_shared::notify::{Policy, PolicyList, PolicyRequest};

use super::routing::ALL_LABELS;
use crate::alerting::rules::{millis_text, prometheus_duration};
use crate::alerting::silences::CompiledMatcher;
use crate::audit::{self, Target};
use crate::auth::Editor;
use crate::error::{self, AppError, AppResult, FieldErrors, Json, Path};
use crate::metrics::model::is_valid_label_name;
use crate::references::{self, Referrer, Table};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notification-policies", get(list).post(create))
        .route(
            "/notification-policies/{id}",
            get(get_one).put(replace).delete(delete),
        )
}

/// A checked policy, durations in milliseconds.
struct Valid {
    group_wait_ms: i64,
    group_interval_ms: i64,
    repeat_interval_ms: i64,
    channel_ids: Vec<i64>,
}

async fn validate(
    conn: &mut PgConnection,
    request: &PolicyRequest,
    is_default: bool,
) -> AppResult<Valid> {
    let mut errors = FieldErrors::new();
    if request.name.trim().is_empty() || request.name.chars().count() > 100 {
        errors.add("name", "is required (at most 100 characters)");
    }
    if is_default && !request.matchers.is_empty() {
        errors.add(
            "matchers",
            "the default policy takes every alert no other policy takes; it has no matchers",
        );
    }
    for m in &request.matchers {
        if !is_valid_label_name(&m.name) {
            errors.add(
                "matchers",
                format!("{:?} is not a valid label name", m.name),
            );
        } else if let Err(problem) = CompiledMatcher::new(m) {
            errors.add("matchers", problem);
        }
    }
    if let Some(bad) = request
        .group_by
        .iter()
        .find(|l| l.as_str() != ALL_LABELS && !is_valid_label_name(l))
    {
        errors.add(
            "group_by",
            format!("{bad:?} is not a valid label name (or `...` for every label)"),
        );
    }
    if let Some(bad) = request
        .incident_group_by
        .iter()
        .find(|l| !is_valid_label_name(l))
    {
        errors.add(
            "incident_group_by",
            format!("{bad:?} is not a valid label name"),
        );
    }
    let mut duration = |field: &str, text: &str, min_ms: i64| -> i64 {
        match prometheus_duration(text) {
            Ok(d) if d.as_millis() as i64 >= min_ms => d.as_millis() as i64,
            Ok(_) => {
                errors.add(field, format!("must be at least {}", millis_text(min_ms)));
                0
            }
            Err(problem) => {
                errors.add(
                    field,
                    format!("is not a duration such as 30s or 5m: {problem}"),
                );
                0
            }
        }
    };
    let group_wait_ms = duration("group_wait", &request.group_wait, 0);
    let group_interval_ms = duration("group_interval", &request.group_interval, 1000);
    let repeat_interval_ms = duration("repeat_interval", &request.repeat_interval, 1000);
    if let Some(id) = request.escalation_policy_id
        && !references::missing(conn, Table::EscalationPolicies, &[id])
            .await?
            .is_empty()
    {
        errors.add(
            "escalation_policy_id",
            format!("there is no escalation policy {id}"),
        );
    }
    let mut channel_ids = request.channel_ids.clone();
    channel_ids.sort_unstable();
    channel_ids.dedup();
    if channel_ids.len() > references::MAX_IDS {
        errors.add(
            "channel_ids",
            format!("at most {} channels", references::MAX_IDS),
        );
    } else if let Some(id) = references::missing(conn, Table::NotificationChannels, &channel_ids)
        .await?
        .first()
    {
        errors.add("channel_ids", no_channel(*id));
    }
    errors.into_result()?;
    Ok(Valid {
        group_wait_ms,
        group_interval_ms,
        repeat_interval_ms,
        channel_ids,
    })
}

async fn select<'e>(db: impl PgExecutor<'e>, id: Option<i64>) -> Result<Vec<Policy>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, name, is_default, position, group_by, group_wait_ms,
                  ARRAY(SELECT c.channel_id FROM notification_policy_channels c
                        WHERE c.policy_id = p.id ORDER BY c.channel_id) AS "channel_ids!",
                  group_interval_ms, repeat_interval_ms, continue_matching, updated_at,
                  escalation_policy_id, incident_group_by,
                  matchers AS "matchers!: SqlJson<Vec<Matcher>>"
           FROM notification_policies p WHERE $1::bigint IS NULL OR id = $1
           ORDER BY is_default, position, id"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Policy {
            id: r.id,
            is_default: r.is_default,
            policy: PolicyRequest {
                name: r.name,
                matchers: r.matchers.0,
                channel_ids: r.channel_ids,
                group_by: r.group_by,
                group_wait: millis_text(r.group_wait_ms),
                group_interval: millis_text(r.group_interval_ms),
                repeat_interval: millis_text(r.repeat_interval_ms),
                continue_matching: r.continue_matching,
                position: (!r.is_default).then_some(r.position),
                escalation_policy_id: r.escalation_policy_id,
                incident_group_by: r.incident_group_by,
            },
            updated_at: r.updated_at,
        })
        .collect())
}

async fn find<'e>(db: impl PgExecutor<'e>, id: i64) -> AppResult<Policy> {
    select(db, Some(id))
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no notification policy with this id."))
}

/// Numbers the policies 1, 2, … in their order, with `moved` (a policy id and where it
/// goes, from 1; last when absent or past the end) put in its place.
async fn place(
    conn: &mut PgConnection,
    moved: Option<(i64, Option<i32>)>,
) -> Result<(), sqlx::Error> {
    let id = moved.map(|(id, _)| id);
    let mut order = sqlx::query_scalar!(
        "SELECT id FROM notification_policies
         WHERE NOT is_default AND ($1::bigint IS NULL OR id <> $1)
         ORDER BY position, id",
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    if let Some((id, position)) = moved {
        let at = position
            .map(|p| (p.max(1) as usize - 1).min(order.len()))
            .unwrap_or(order.len());
        order.insert(at, id);
    }
    let positions: Vec<i32> = (1..=order.len() as i32).collect();
    sqlx::query!(
        "UPDATE notification_policies p SET position = o.position
         FROM unnest($1::bigint[], $2::int[]) AS o(id, position) WHERE p.id = o.id",
        &order,
        &positions
    )
    .execute(conn)
    .await?;
    Ok(())
}

fn name_taken() -> AppError {
    AppError::conflict_on("name", "A policy with this name already exists.")
}

/// A write refused by a constraint: the name is taken, or the escalation policy was deleted
/// since it was checked.
fn refused_write(error: sqlx::Error, request: &PolicyRequest) -> AppError {
    match error.as_database_error().and_then(|e| e.constraint()) {
        Some("notification_policies_name_key") => name_taken(),
        Some("notification_policies_escalation_policy_id_fkey") => AppError::invalid(
            "escalation_policy_id",
            format!(
                "there is no escalation policy {}",
                request.escalation_policy_id.unwrap_or_default()
            ),
        ),
        _ => error.into(),
    }
}

/// Makes `channels` the channels of policy `id`.
async fn set_channels(conn: &mut PgConnection, id: i64, channels: &[i64]) -> AppResult<()> {
    sqlx::query!(
        "DELETE FROM notification_policy_channels WHERE policy_id = $1",
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO notification_policy_channels (policy_id, channel_id)
         SELECT $1, unnest($2::bigint[])",
        id,
        channels
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| match error::constraint(&e) {
        Some("notification_policy_channels_channel_id_fkey") => AppError::invalid(
            "channel_ids",
            no_channel(error::refused_key(&e).unwrap_or(0)),
        ),
        _ => e.into(),
    })?;
    Ok(())
}

fn no_channel(id: i64) -> String {
    format!("there is no notification channel {id}")
}

/// Notification policies name channels and escalation policies (`references`).
pub const REFERRERS: &[Referrer] = &[
    crate::referrer!(
        NotificationChannels,
        "notification policies",
        "SELECT p.name FROM notification_policies p
         JOIN notification_policy_channels c ON c.policy_id = p.id
         WHERE c.channel_id = $1 ORDER BY p.is_default, p.position, p.id"
    ),
    crate::referrer!(
        EscalationPolicies,
        "notification policies",
        "SELECT name FROM notification_policies WHERE escalation_policy_id = $1
         ORDER BY is_default, position, id"
    ),
];

async fn list(_editor: Editor, State(state): State<AppState>) -> AppResult<Json<PolicyList>> {
    Ok(Json(PolicyList {
        policies: select(&state.db, None).await?,
    }))
}

async fn get_one(
    _editor: Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<Policy>> {
    find(&state.db, id).await.map(Json)
}

async fn create(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(request): Json<PolicyRequest>,
) -> AppResult<(StatusCode, Json<Policy>)> {
    let mut tx = state.db.begin().await?;
    let valid = validate(&mut tx, &request, false).await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO notification_policies (name, position, matchers, group_by,
                                            group_wait_ms, group_interval_ms, repeat_interval_ms,
                                            continue_matching, escalation_policy_id,
                                            incident_group_by)
         VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        request.name.trim(),
        serde_json::to_value(&request.matchers).unwrap_or_default(),
        &request.group_by,
        valid.group_wait_ms,
        valid.group_interval_ms,
        valid.repeat_interval_ms,
        request.continue_matching,
        request.escalation_policy_id,
        &request.incident_group_by
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| refused_write(e, &request))?;
    set_channels(&mut tx, id, &valid.channel_ids).await?;
    place(&mut tx, Some((id, request.position))).await?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "notification_policy.create",
        Target::of("notification_policy", id),
        json!({
            "name": request.name.trim(),
            "escalation_policy_id": request.escalation_policy_id,
            "incident_group_by": request.incident_group_by,
        }),
    )
    .await?;
    let policy = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(policy)))
}

async fn replace(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<PolicyRequest>,
) -> AppResult<Json<Policy>> {
    let mut tx = state.db.begin().await?;
    let is_default = sqlx::query_scalar!(
        "SELECT is_default FROM notification_policies WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found("There is no notification policy with this id."))?;
    let valid = validate(&mut tx, &request, is_default).await?;
    sqlx::query!(
        "UPDATE notification_policies
         SET name = $2, matchers = $3, group_by = $4, group_wait_ms = $5,
             group_interval_ms = $6, repeat_interval_ms = $7, continue_matching = $8,
             escalation_policy_id = $9, incident_group_by = $10, updated_at = now()
         WHERE id = $1",
        id,
        request.name.trim(),
        serde_json::to_value(&request.matchers).unwrap_or_default(),
        &request.group_by,
        valid.group_wait_ms,
        valid.group_interval_ms,
        valid.repeat_interval_ms,
        request.continue_matching && !is_default,
        request.escalation_policy_id,
        &request.incident_group_by
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| refused_write(e, &request))?;
    set_channels(&mut tx, id, &valid.channel_ids).await?;
    if !is_default {
        place(&mut tx, Some((id, request.position))).await?;
    }
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "notification_policy.update",
        Target::of("notification_policy", id),
        json!({
            "name": request.name.trim(),
            "escalation_policy_id": request.escalation_policy_id,
            "incident_group_by": request.incident_group_by,
        }),
    )
    .await?;
    let policy = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(Json(policy))
}

async fn delete(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let policy = find(&mut *tx, id).await?;
    if policy.is_default {
        return Err(AppError::conflict(
            "The default policy cannot be deleted: it takes the alerts no other policy takes.",
        ));
    }
    sqlx::query!("DELETE FROM notification_policies WHERE id = $1", id)
        .execute(&mut *tx)
        .await?;
    place(&mut tx, None).await?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "notification_policy.delete",
        Target::of("notification_policy", id),
        json!({ "name": policy.policy.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
