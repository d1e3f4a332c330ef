//! The `/api/v1/schedules` handlers.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, PgExecutor};
use vigil_shared::schedule::{
    OnCall, OnCallList, Override, OverrideList, OverrideRequest, Schedule, ScheduleList,
    ScheduleRequest, ShiftList,
};

use super::rotation::*;
use super::store::*;
use super::validate::*;
use crate::audit::{self, AuditActor, Target};
use crate::auth::{AuthUser, Editor};
use crate::error::{self, AppError, AppResult, Json, OnConstraint, Path, Query};
use crate::references::{self, Table};
use crate::state::AppState;
use crate::users;

pub(super) async fn list(
    _user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<ScheduleList>> {
    let schedules = select(&state.db, None)
        .await?
        .into_iter()
        .map(ScheduleRow::into_schedule)
        .collect::<Result<_, _>>()?;
    Ok(Json(ScheduleList { schedules }))
}

pub(super) async fn get_one(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<Schedule>> {
    find(&state.db, id).await.map(Json)
}

pub(super) async fn create(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(request): Json<ScheduleRequest>,
) -> AppResult<(StatusCode, Json<Schedule>)> {
    let mut tx = state.db.begin().await?;
    let schedule = insert(&mut tx, editor.audit_actor(), &request).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(schedule)))
}

/// Checks and creates a schedule, recording who did it; the API and demo mode's seeding both
/// create schedules through here. The caller commits.
pub async fn insert(
    conn: &mut PgConnection,
    actor: AuditActor<'_>,
    request: &ScheduleRequest,
) -> AppResult<Schedule> {
    let valid = validate(conn, request).await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO schedules (name, description, timezone, rotation, shift_hours, start_date,
                                handoff_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        valid.name,
        request.description,
        valid.timezone,
        request.rotation.as_str(),
        valid.shift_hours,
        request.start_date,
        valid.handoff_time
    )
    .fetch_one(&mut *conn)
    .await
    .on_constraint("schedules_name_key", name_taken)?;
    set_participants(conn, id, &request.participants).await?;
    audit::record(
        &mut *conn,
        actor,
        "schedule.create",
        Target::of("schedule", id),
        json!({ "name": valid.name, "rotation": request.rotation.as_str() }),
    )
    .await?;
    find(&mut *conn, id).await
}

/// Makes `participants` the rotation of schedule `id`, in order.
async fn set_participants(conn: &mut PgConnection, id: i64, participants: &[i64]) -> AppResult<()> {
    sqlx::query!(
        "DELETE FROM schedule_participants WHERE schedule_id = $1",
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO schedule_participants (schedule_id, position, user_id)
         SELECT $1, p.position - 1, p.user_id
         FROM unnest($2::bigint[]) WITH ORDINALITY AS p(user_id, position)",
        id,
        participants
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| match error::constraint(&e) {
        Some("schedule_participants_user_id_fkey") => no_such_user("participants", &e),
        _ => e.into(),
    })?;
    Ok(())
}

/// The id of the schedule named `name` (names are unique regardless of case).
pub async fn id_by_name<'e>(
    db: impl PgExecutor<'e>,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM schedules WHERE lower(name) = lower($1)",
        name.trim()
    )
    .fetch_optional(db)
    .await
}

pub(super) async fn replace(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<ScheduleRequest>,
) -> AppResult<Json<Schedule>> {
    let mut tx = state.db.begin().await?;
    sqlx::query_scalar!("SELECT id FROM schedules WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(no_schedule)?;
    let valid = validate(&mut tx, &request).await?;
    sqlx::query!(
        "UPDATE schedules
         SET name = $2, description = $3, timezone = $4, rotation = $5, shift_hours = $6,
             start_date = $7, handoff_time = $8, updated_at = now()
         WHERE id = $1",
        id,
        valid.name,
        request.description,
        valid.timezone,
        request.rotation.as_str(),
        valid.shift_hours,
        request.start_date,
        valid.handoff_time
    )
    .execute(&mut *tx)
    .await
    .on_constraint("schedules_name_key", name_taken)?;
    set_participants(&mut tx, id, &request.participants).await?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "schedule.update",
        Target::of("schedule", id),
        json!({ "name": valid.name, "rotation": request.rotation.as_str() }),
    )
    .await?;
    let schedule = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(Json(schedule))
}

/// Deletes a schedule (and its overrides). Refused while an escalation policy targets it
/// (`escalation_targets`): the policy would silently page nobody.
pub(super) async fn delete(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let schedule = find(&mut *tx, id).await?;
    let deleted = sqlx::query!("DELETE FROM schedules WHERE id = $1", id)
        .execute(&mut *tx)
        .await;
    references::refuse_delete(deleted, &state.db, Table::Schedules, id).await?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "schedule.delete",
        Target::of("schedule", id),
        json!({ "name": schedule.schedule.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub(super) struct AtQuery {
    /// RFC 3339; now when absent.
    at: Option<DateTime<Utc>>,
}

impl AtQuery {
    /// The instant asked about, checked so that the instant after it exists.
    fn instant(&self) -> AppResult<DateTime<Utc>> {
        let at = self.at.unwrap_or_else(Utc::now);
        at.checked_add_signed(TimeDelta::nanoseconds(1))
            .ok_or_else(|| AppError::invalid("at", "is too far in the future"))?;
        Ok(at)
    }
}

pub(super) async fn on_call_now(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<AtQuery>,
) -> AppResult<Json<OnCall>> {
    let at = query.instant()?;
    let mut conn = state.db.acquire().await?;
    let row = find_row(&mut *conn, id).await?;
    Ok(Json(who_is_on_call(&mut conn, &row, at).await?))
}

/// Who is on call on every schedule (by name) at one instant, for the On-call dashboard: one
/// request however many schedules there are.
pub(super) async fn on_call_everywhere(
    _user: AuthUser,
    State(state): State<AppState>,
    Query(query): Query<AtQuery>,
) -> AppResult<Json<OnCallList>> {
    let at = query.instant()?;
    let mut conn = state.db.acquire().await?;
    let rows = select(&mut *conn, None).await?;
    let mut on_call = Vec::with_capacity(rows.len());
    for row in &rows {
        on_call.push(who_is_on_call(&mut conn, row, at).await?);
    }
    Ok(Json(OnCallList { at, on_call }))
}

/// Who is on call on the schedule of `row` at `at`, with the shift (or override) covering it.
pub(super) async fn who_is_on_call(
    conn: &mut PgConnection,
    row: &ScheduleRow,
    at: DateTime<Utc>,
) -> AppResult<OnCall> {
    let rota = row.rota()?;
    let until = at + TimeDelta::nanoseconds(1);
    let overrides = overrides_affecting(conn, row.id, &rota, at, until).await?;
    let spans: Vec<OverrideSpan> = overrides.into_iter().map(|o| o.span).collect();
    let segment = on_call(&rota, &spans, at);
    let shift = to_shifts(conn, segment.into_iter().collect()).await?.pop();
    Ok(OnCall {
        schedule_id: row.id,
        at,
        user_id: shift.as_ref().map(|s| s.user_id),
        user_email: shift.as_ref().map(|s| s.user_email.clone()),
        shift,
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct WindowQuery {
    /// RFC 3339; now when absent.
    from: Option<DateTime<Utc>>,
    /// RFC 3339; a week after `from` when absent.
    to: Option<DateTime<Utc>>,
}

/// The window a `/shifts` request asks for, at most [`MAX_WINDOW_DAYS`] wide.
pub(super) fn window(query: &WindowQuery) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
    let from = query.from.unwrap_or_else(Utc::now);
    let to = match query.to {
        Some(to) => to,
        None => from
            .checked_add_signed(TimeDelta::days(7))
            .ok_or_else(|| AppError::invalid("from", "is too far in the future"))?,
    };
    if to <= from {
        return Err(AppError::invalid("to", "must be after from"));
    }
    if to - from > TimeDelta::days(MAX_WINDOW_DAYS) {
        return Err(AppError::invalid(
            "to",
            format!("the window from `from` to `to` is at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    Ok((from, to))
}

pub(super) async fn shifts(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<WindowQuery>,
) -> AppResult<Json<ShiftList>> {
    let (from, to) = window(&query)?;
    let mut conn = state.db.acquire().await?;
    let rota = find_row(&mut *conn, id).await?.rota()?;
    let overrides = overrides_affecting(&mut conn, id, &rota, from, to).await?;
    let spans: Vec<OverrideSpan> = overrides.into_iter().map(|o| o.span).collect();
    let segments = timeline(&rota, &spans, from, to);
    Ok(Json(ShiftList {
        shifts: to_shifts(&mut conn, segments).await?,
    }))
}

pub(super) async fn list_overrides(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<OverrideList>> {
    let mut conn = state.db.acquire().await?;
    find_row(&mut *conn, id).await?;
    let mut overrides =
        overrides_overlapping(&mut conn, id, Utc::now(), DateTime::<Utc>::MAX_UTC).await?;
    overrides.sort_by_key(|o| (o.span.starts_at, o.span.id));
    Ok(Json(OverrideList {
        overrides: overrides
            .into_iter()
            .map(OverrideRow::into_override)
            .collect(),
    }))
}

pub(super) async fn create_override(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<OverrideRequest>,
) -> AppResult<(StatusCode, Json<Override>)> {
    let mut tx = state.db.begin().await?;
    find_row(&mut *tx, id).await?;
    // The email is shown with the override, and its absence says the user does not exist
    // (the foreign key below still catches a user deleted in between).
    let email = users::emails(&mut *tx, &[request.user_id])
        .await?
        .remove(&request.user_id);
    validate_override(&request, email.is_some())?;
    let override_id = sqlx::query_scalar!(
        "INSERT INTO schedule_overrides (schedule_id, user_id, starts_at, ends_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
        id,
        request.user_id,
        request.starts_at,
        request.ends_at
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match error::constraint(&e) {
        Some("schedule_overrides_user_id_fkey") => no_such_user("user_id", &e),
        _ => e.into(),
    })?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "schedule.override_create",
        Target::of("schedule", id),
        json!({
            "override_id": override_id,
            "user_id": request.user_id,
            "starts_at": request.starts_at,
            "ends_at": request.ends_at,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Override {
            id: override_id,
            user_id: request.user_id,
            user_email: email.unwrap_or_default(),
            starts_at: request.starts_at,
            ends_at: request.ends_at,
        }),
    ))
}

pub(super) async fn delete_override(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path((id, override_id)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let deleted = sqlx::query!(
        "DELETE FROM schedule_overrides WHERE id = $1 AND schedule_id = $2
         RETURNING user_id, starts_at, ends_at",
        override_id,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found("This schedule has no override with this id."))?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "schedule.override_delete",
        Target::of("schedule", id),
        json!({
            "override_id": override_id,
            "user_id": deleted.user_id,
            "starts_at": deleted.starts_at,
            "ends_at": deleted.ends_at,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
