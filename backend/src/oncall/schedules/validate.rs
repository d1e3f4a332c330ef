//! Checking schedules and overrides before they are stored.

use chrono::{Datelike, NaiveTime};
use chrono_tz::Tz;
use sqlx::PgConnection;
use vigil_shared::schedule::{OverrideRequest, Rotation, ScheduleRequest};

use super::rotation::*;
use crate::error::{self, AppError, AppResult, FieldErrors};
use crate::references::{self, Table};

pub(super) const MAX_SHIFT_HOURS: u32 = 2160;
pub(super) const MAX_PARTICIPANTS: usize = 100;
pub(super) const MAX_DESCRIPTION: usize = 2000;
/// The widest window `/shifts` answers for.
pub(super) const MAX_WINDOW_DAYS: i64 = 62;

/// A checked schedule, ready to store.
pub(super) struct Valid {
    pub(super) name: String,
    pub(super) timezone: &'static str,
    pub(super) handoff_time: NaiveTime,
    pub(super) shift_hours: Option<i32>,
}

pub(super) async fn validate(
    conn: &mut PgConnection,
    request: &ScheduleRequest,
) -> AppResult<Valid> {
    let mut errors = FieldErrors::new();
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "is required (at most 100 characters)");
    }
    if request.description.chars().count() > MAX_DESCRIPTION {
        errors.add(
            "description",
            format!("is at most {MAX_DESCRIPTION} characters"),
        );
    }
    let tz = request.timezone.trim().parse::<Tz>();
    if tz.is_err() {
        errors.add(
            "timezone",
            format!(
                "{:?} is not an IANA time zone such as Europe/Berlin or UTC",
                request.timezone
            ),
        );
    }
    match (request.rotation, request.shift_hours) {
        (Rotation::Custom, None) => {
            errors.add("shift_hours", "is required for a custom rotation");
        }
        (Rotation::Custom, Some(hours)) if !(1..=MAX_SHIFT_HOURS).contains(&hours) => {
            errors.add(
                "shift_hours",
                format!("must be between 1 and {MAX_SHIFT_HOURS} hours"),
            );
        }
        (Rotation::Daily | Rotation::Weekly, Some(_)) => {
            errors.add(
                "shift_hours",
                format!(
                    "only custom rotations take shift_hours; a {} rotation's shifts follow the calendar",
                    request.rotation.as_str()
                ),
            );
        }
        _ => {}
    }
    if !(1970..=9999).contains(&request.start_date.year()) {
        errors.add("start_date", "must be between 1970-01-01 and 9999-12-31");
    }
    let handoff_time = parse_handoff_time(request.handoff_time.trim());
    if handoff_time.is_none() {
        errors.add(
            "handoff_time",
            format!(
                "{:?} is not a time written HH:MM (24-hour), such as 09:00",
                request.handoff_time
            ),
        );
    }
    if request.participants.is_empty() {
        errors.add("participants", "at least one participant is required");
    } else if request.participants.len() > MAX_PARTICIPANTS {
        errors.add(
            "participants",
            format!("at most {MAX_PARTICIPANTS} participants"),
        );
    } else {
        let missing = references::missing(conn, Table::Users, &request.participants).await?;
        if !missing.is_empty() {
            let ids: Vec<String> = missing.iter().map(i64::to_string).collect();
            errors.add(
                "participants",
                format!("there is no user with id {}", ids.join(", ")),
            );
        }
    }
    errors.into_result()?;
    Ok(Valid {
        name: name.to_owned(),
        timezone: tz.map(Tz::name).unwrap_or("UTC"),
        handoff_time: handoff_time.unwrap_or_default(),
        shift_hours: request
            .shift_hours
            .filter(|_| request.rotation == Rotation::Custom)
            .and_then(|h| i32::try_from(h).ok()),
    })
}

/// Checks an override whose user exists or not (`user_exists`), all problems at once.
pub(super) fn validate_override(request: &OverrideRequest, user_exists: bool) -> AppResult<()> {
    let mut errors = FieldErrors::new();
    if request.ends_at <= request.starts_at {
        errors.add("ends_at", "must be after starts_at");
    }
    if !user_exists {
        errors.add(
            "user_id",
            format!("there is no user with id {}", request.user_id),
        );
    }
    errors.into_result()
}

/// A user named in `field` that does not exist, refused by its foreign key.
pub(super) fn no_such_user(field: &str, error: &sqlx::Error) -> AppError {
    AppError::invalid(
        field,
        format!(
            "there is no user with id {}",
            error::refused_key(error).unwrap_or_default()
        ),
    )
}

pub(super) fn name_taken() -> AppError {
    AppError::conflict_on("name", "A schedule with this name already exists.")
}

// ---------------------------------------------------------------------------------------------
