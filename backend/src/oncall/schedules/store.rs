//! Schedules and overrides in the database.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use sqlx::{PgConnection, PgExecutor};
use vigil_shared::schedule::{Override, Rotation, Schedule, ScheduleRequest, Shift};

use super::rotation::*;
use crate::error::{AppError, AppResult};
use crate::users;

/// A `schedules` row.
pub(super) struct ScheduleRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) timezone: String,
    pub(super) rotation: String,
    pub(super) shift_hours: Option<i32>,
    pub(super) start_date: NaiveDate,
    pub(super) handoff_time: NaiveTime,
    pub(super) participants: Vec<i64>,
    pub(super) updated_at: DateTime<Utc>,
}

pub(super) fn parse_rotation(text: &str) -> Option<Rotation> {
    match text {
        "daily" => Some(Rotation::Daily),
        "weekly" => Some(Rotation::Weekly),
        "custom" => Some(Rotation::Custom),
        _ => None,
    }
}

pub(super) fn corrupt(id: i64, what: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("schedule {id} has an invalid {what}").into())
}

impl ScheduleRow {
    pub(super) fn rotation(&self) -> Result<Rotation, sqlx::Error> {
        parse_rotation(&self.rotation).ok_or_else(|| corrupt(self.id, "rotation"))
    }

    pub(super) fn shift_hours(&self) -> Option<u32> {
        self.shift_hours.and_then(|h| u32::try_from(h).ok())
    }

    pub(super) fn rota(&self) -> Result<Rota, sqlx::Error> {
        Ok(Rota {
            tz: self
                .timezone
                .parse()
                .map_err(|_| corrupt(self.id, "time zone"))?,
            cadence: Cadence::of(self.rotation()?, self.shift_hours())
                .ok_or_else(|| corrupt(self.id, "shift length"))?,
            start_date: self.start_date,
            handoff_time: self.handoff_time,
            participants: self.participants.clone(),
        })
    }

    pub(super) fn into_schedule(self) -> Result<Schedule, sqlx::Error> {
        Ok(Schedule {
            id: self.id,
            schedule: ScheduleRequest {
                rotation: self.rotation()?,
                shift_hours: self.shift_hours(),
                name: self.name,
                description: self.description,
                timezone: self.timezone,
                start_date: self.start_date,
                handoff_time: handoff_time_text(self.handoff_time),
                participants: self.participants,
            },
            updated_at: self.updated_at,
        })
    }
}

pub(super) async fn select<'e>(
    db: impl PgExecutor<'e>,
    id: Option<i64>,
) -> Result<Vec<ScheduleRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, name, description, timezone, rotation, shift_hours, start_date,
                  handoff_time, updated_at,
                  ARRAY(SELECT p.user_id FROM schedule_participants p
                        WHERE p.schedule_id = s.id ORDER BY p.position) AS "participants!"
           FROM schedules s WHERE $1::bigint IS NULL OR id = $1
           ORDER BY lower(name), id"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ScheduleRow {
            id: r.id,
            name: r.name,
            description: r.description,
            timezone: r.timezone,
            rotation: r.rotation,
            shift_hours: r.shift_hours,
            start_date: r.start_date,
            handoff_time: r.handoff_time,
            participants: r.participants,
            updated_at: r.updated_at,
        })
        .collect())
}

pub(super) fn no_schedule() -> AppError {
    AppError::not_found("There is no schedule with this id.")
}

pub(super) async fn find_row<'e>(db: impl PgExecutor<'e>, id: i64) -> AppResult<ScheduleRow> {
    select(db, Some(id)).await?.pop().ok_or_else(no_schedule)
}

pub(super) async fn find<'e>(db: impl PgExecutor<'e>, id: i64) -> AppResult<Schedule> {
    Ok(find_row(db, id).await?.into_schedule()?)
}

/// An override with its user's email.
pub(super) struct OverrideRow {
    pub(super) span: OverrideSpan,
    pub(super) user_email: String,
}

impl OverrideRow {
    pub(super) fn into_override(self) -> Override {
        Override {
            id: self.span.id,
            user_id: self.span.user_id,
            user_email: self.user_email,
            starts_at: self.span.starts_at,
            ends_at: self.span.ends_at,
        }
    }
}

/// The schedule's overrides overlapping `[from, to)`, oldest created first (the order
/// [`timeline`] expects).
pub(super) async fn overrides_overlapping(
    conn: &mut PgConnection,
    schedule_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<OverrideRow>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, user_id, starts_at, ends_at FROM schedule_overrides
         WHERE schedule_id = $1 AND starts_at < $3 AND ends_at > $2
         ORDER BY created_at, id",
        schedule_id,
        from,
        to
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
    let emails = users::emails(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| OverrideRow {
            user_email: emails.get(&r.user_id).cloned().unwrap_or_default(),
            span: OverrideSpan {
                id: r.id,
                user_id: r.user_id,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
            },
        })
        .collect())
}

/// Every override that can decide a segment of the timeline overlapping `[from, to)` or its
/// bounds: those overlapping the rotation shifts at the window's edges, then those overlapping
/// any of these (a newer override can cut an older one short outside the window).
pub(super) async fn overrides_affecting(
    conn: &mut PgConnection,
    schedule_id: i64,
    rota: &Rota,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<OverrideRow>, sqlx::Error> {
    let last_instant = to - TimeDelta::nanoseconds(1);
    let mut start = rota.shift_at(from).map_or(from, |s| s.starts_at.min(from));
    let mut end = rota
        .shift_at(last_instant)
        .map_or(to, |s| s.ends_at.max(to));
    let first = overrides_overlapping(conn, schedule_id, start, end).await?;
    for o in &first {
        start = start.min(o.span.starts_at);
        end = end.max(o.span.ends_at);
    }
    overrides_overlapping(conn, schedule_id, start, end).await
}

/// Segments as the API shows them, with emails.
pub(super) async fn to_shifts(
    conn: &mut PgConnection,
    segments: Vec<Segment>,
) -> Result<Vec<Shift>, sqlx::Error> {
    let ids: Vec<i64> = segments.iter().map(|s| s.user_id).collect();
    let emails = users::emails(conn, &ids).await?;
    Ok(segments
        .into_iter()
        .map(|s| Shift {
            user_id: s.user_id,
            user_email: emails.get(&s.user_id).cloned().unwrap_or_default(),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            is_override: s.override_id.is_some(),
        })
        .collect())
}

/// The user id on call on schedule `schedule_id` at `at`: the newest override covering `at`,
/// else the rotation's participant for the shift then. `None` when the schedule does not
/// exist, before its first handoff, or when it has no participants. Disabled users are
/// answered like any other; whoever pages them decides what that means.
pub async fn on_call_at(
    conn: &mut PgConnection,
    schedule_id: i64,
    at: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    let Some(row) = select(&mut *conn, Some(schedule_id)).await?.pop() else {
        return Ok(None);
    };
    let rota = row.rota()?;
    let until = at
        .checked_add_signed(TimeDelta::nanoseconds(1))
        .unwrap_or(at);
    // Only the overrides covering `at` matter for who; the segment's bounds are not needed.
    let covering: Vec<OverrideSpan> = overrides_overlapping(conn, schedule_id, at, until)
        .await?
        .into_iter()
        .map(|o| o.span)
        .collect();
    Ok(on_call(&rota, &covering, at).map(|s| s.user_id))
}

// ---------------------------------------------------------------------------------------------
