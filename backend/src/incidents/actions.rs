//! Changing incidents: opening one by hand, and the actions responders take
//! (`POST /api/v1/incidents/{id}/{action}`).
//!
//! Every action locks the incident row, checks the transition (`transition`), changes it,
//! and appends a timeline entry and an audit entry in one transaction. Repeating an action
//! that already holds (acknowledging twice, resolving twice) answers 200 and records nothing.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use sqlx::{Connection as _, PgConnection};
use vigil_shared::alerting::Severity;
use vigil_shared::incident::{
    IncidentAction, IncidentActionRequest, IncidentDetail, IncidentRequest, IncidentStatus,
};

use super::detail::load_detail;
use super::escalation::{self, announce, timeline};
use crate::audit::{self, Target};
use crate::auth::Responder;
use crate::db;
use crate::error::{AppError, AppResult, FieldErrors, Json, OptionalJson, Path};
use crate::oncall::policies;
use crate::references::{self, Table};
use crate::state::AppState;
use crate::users;

/// What an action does to an incident in `status`.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Go ahead.
    Apply,
    /// Already so: answer as if done, record nothing.
    AlreadyDone,
    /// Refused with 409 and this message.
    Refuse(&'static str),
}

/// The incident state machine: which action may follow which status.
fn transition(status: IncidentStatus, action: IncidentAction) -> Verdict {
    use IncidentAction::{
        Acknowledge, Escalate, Notes, Reassign, Resolve, Severity, Snooze, Unacknowledge,
    };
    use IncidentStatus::{Acknowledged, Resolved, Triggered};
    match (action, status) {
        (Acknowledge, Triggered) => Verdict::Apply,
        (Acknowledge, Acknowledged) => Verdict::AlreadyDone,
        (Acknowledge, Resolved) => Verdict::Refuse("A resolved incident cannot be acknowledged."),
        (Unacknowledge, Acknowledged) => Verdict::Apply,
        (Unacknowledge, Triggered) => Verdict::Refuse("The incident is not acknowledged."),
        (Unacknowledge, Resolved) => {
            Verdict::Refuse("A resolved incident cannot be unacknowledged.")
        }
        (Escalate, Resolved) => Verdict::Refuse("A resolved incident cannot be escalated."),
        (Escalate, _) => Verdict::Apply,
        (Resolve, Resolved) => Verdict::AlreadyDone,
        (Resolve, _) => Verdict::Apply,
        (Snooze, Resolved) => Verdict::Refuse("A resolved incident cannot be snoozed."),
        (Snooze, _) => Verdict::Apply,
        (Reassign, Resolved) => Verdict::Refuse("A resolved incident cannot be reassigned."),
        (Reassign, _) => Verdict::Apply,
        (Severity, Resolved) => Verdict::Refuse("A resolved incident's severity cannot change."),
        (Severity, _) => Verdict::Apply,
        (Notes, _) => Verdict::Apply,
    }
}

/// Opens an incident by hand; it escalates by its policy like any other.
pub(super) async fn open(
    Responder(user): Responder,
    State(state): State<AppState>,
    Json(request): Json<IncidentRequest>,
) -> AppResult<(StatusCode, Json<IncidentDetail>)> {
    // One connection for the change and the answer read after it.
    let mut conn = state.db.acquire().await?;
    let mut tx = conn.begin().await?;
    let mut errors = FieldErrors::new();
    let title = request.title.trim();
    if title.is_empty() || title.chars().count() > 300 {
        errors.add("title", "is required (at most 300 characters)");
    }
    if let Some(assignee) = request.assignee_id
        && users::active_email(&mut *tx, assignee).await?.is_none()
    {
        errors.add("assignee_id", format!("there is no active user {assignee}"));
    }
    if let Some(team) = request.team_id
        && !references::missing(&mut tx, Table::Teams, &[team])
            .await?
            .is_empty()
    {
        errors.add("team_id", format!("there is no team {team}"));
    }
    let policy = match request.escalation_policy_id {
        Some(id) => {
            let policy = policies::load(&mut *tx, id).await?;
            if policy.is_none() {
                errors.add(
                    "escalation_policy_id",
                    format!("there is no escalation policy {id}"),
                );
            }
            policy
        }
        None => None,
    };
    errors.into_result()?;
    let now = Utc::now();
    let due = policy
        .as_ref()
        .and_then(|p| p.levels.first())
        .map(|l| now + TimeDelta::minutes(i64::from(l.delay_minutes)));
    let id = sqlx::query_scalar!(
        "INSERT INTO incidents (title, description, status, severity, service, team_id,
                                assignee_id, escalation_policy_id, next_escalation_at,
                                triggered_at, updated_at)
         VALUES ($1, $2, 'triggered', $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        title,
        request.description.trim(),
        request.severity.unwrap_or(Severity::Warning).as_str(),
        request.service.trim(),
        request.team_id,
        request.assignee_id,
        request.escalation_policy_id,
        due,
        now
    )
    .fetch_one(&mut *tx)
    .await?;
    timeline(
        &mut tx,
        id,
        now,
        &user.email,
        "triggered",
        "Opened by hand.",
    )
    .await?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "incident.create",
        Target::of("incident", id),
        json!({ "title": title }),
    )
    .await?;
    announce(&mut tx, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(load_detail(&mut conn, id).await?)))
}

/// `POST /incidents/{id}/{action}`.
pub(super) async fn act(
    Responder(user): Responder,
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    // The body is optional: acknowledging needs none.
    OptionalJson(request): OptionalJson<IncidentActionRequest>,
) -> AppResult<Json<IncidentDetail>> {
    let action = IncidentAction::parse(&action).ok_or_else(|| unknown_action(&action))?;
    // One connection for the change and the answer read after it: each pool checkout costs a
    // round trip (the liveness check) and, under load, a wait.
    let mut conn = state.db.acquire().await?;
    let mut tx = conn.begin().await?;
    let incident = sqlx::query!(
        "SELECT status, escalation_policy_id FROM incidents WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found("There is no incident with this id."))?;
    match transition(db::stored("incidents.status", &incident.status)?, action) {
        Verdict::Refuse(why) => return Err(AppError::conflict(why)),
        Verdict::AlreadyDone => {
            tx.rollback().await?;
            return Ok(Json(load_detail(&mut conn, id).await?));
        }
        Verdict::Apply => {}
    }
    let now = Utc::now();
    let actor = user.email.as_str();
    let (kind, message) = apply(
        &mut tx,
        id,
        incident.escalation_policy_id,
        action,
        &request,
        now,
    )
    .await?;
    timeline(&mut tx, id, now, actor, kind, &message).await?;
    // The next level is paged after the escalation is recorded, so the timeline reads in the
    // order things happened.
    if action == IncidentAction::Escalate
        && !escalation::escalate_step(&mut tx, id, now, actor).await?
    {
        return Err(AppError::conflict(
            "There is no further level to escalate to (no escalation policy, or its levels and repeats are used up).",
        ));
    }
    audit::record(
        &mut *tx,
        user.audit_actor(),
        &format!("incident.{action}"),
        Target::of("incident", id),
        json!({ "message": message }),
    )
    .await?;
    announce(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(load_detail(&mut conn, id).await?))
}

/// 404 for a path segment that names no action, listing those that exist.
fn unknown_action(action: &str) -> AppError {
    let [others @ .., last] = IncidentAction::ALL.map(IncidentAction::as_str);
    AppError::not_found(format!(
        "There is no incident action {action:?}: {} or {last}.",
        others.join(", ")
    ))
}

/// Carries out an allowed action on the locked incident (which pages `policy`); answers its
/// timeline entry.
async fn apply(
    tx: &mut PgConnection,
    id: i64,
    policy: Option<i64>,
    action: IncidentAction,
    request: &IncidentActionRequest,
    now: DateTime<Utc>,
) -> AppResult<(&'static str, String)> {
    let note = request.message.trim();
    Ok(match action {
        IncidentAction::Acknowledge => {
            // Triggered again once the policy's acknowledgment timeout passes, if it has one.
            let timeout = match policy {
                Some(policy) => policies::summaries(&mut *tx, &[policy])
                    .await?
                    .get(&policy)
                    .and_then(|p| p.ack_timeout_minutes),
                None => None,
            };
            sqlx::query!(
                "UPDATE incidents
                 SET status = 'acknowledged', updated_at = $2,
                     acknowledged_at = COALESCE(acknowledged_at, $2), next_escalation_at = $3
                 WHERE id = $1",
                id,
                now,
                timeout.map(|m| now + TimeDelta::minutes(i64::from(m)))
            )
            .execute(&mut *tx)
            .await?;
            ("acknowledged", "Acknowledged.".to_owned())
        }
        IncidentAction::Unacknowledge => {
            escalation::retrigger(tx, id, now).await?;
            (
                "unacknowledged",
                "Unacknowledged: triggered again.".to_owned(),
            )
        }
        IncidentAction::Escalate => {
            sqlx::query!(
                "UPDATE incidents SET status = 'triggered', snoozed_until = NULL WHERE id = $1",
                id
            )
            .execute(&mut *tx)
            .await?;
            ("escalated", sentence("Escalated by hand", note))
        }
        IncidentAction::Resolve => {
            sqlx::query!(
                "UPDATE incidents
                 SET status = 'resolved', resolved_at = $2, resolution = $3, updated_at = $2,
                     next_escalation_at = NULL, snoozed_until = NULL
                 WHERE id = $1",
                id,
                now,
                note
            )
            .execute(&mut *tx)
            .await?;
            ("resolved", sentence("Resolved", note))
        }
        IncidentAction::Snooze => {
            let Some(until) = request.until.filter(|u| *u > now) else {
                return Err(AppError::invalid("until", "must be a time in the future"));
            };
            if until > now + TimeDelta::days(7) {
                return Err(AppError::invalid("until", "is at most a week away"));
            }
            sqlx::query!(
                "UPDATE incidents
                 SET status = 'acknowledged', snoozed_until = $2, next_escalation_at = $2,
                     acknowledged_at = COALESCE(acknowledged_at, $3), updated_at = $3
                 WHERE id = $1",
                id,
                until,
                now
            )
            .execute(&mut *tx)
            .await?;
            (
                "snoozed",
                format!("Snoozed until {}.", until.format("%Y-%m-%d %H:%M UTC")),
            )
        }
        IncidentAction::Reassign => {
            let email = match request.assignee_id {
                Some(user) => {
                    Some(users::active_email(&mut *tx, user).await?.ok_or_else(|| {
                        AppError::invalid("assignee_id", format!("there is no active user {user}"))
                    })?)
                }
                None => None,
            };
            sqlx::query!(
                "UPDATE incidents SET assignee_id = $2, updated_at = $3 WHERE id = $1",
                id,
                request.assignee_id,
                now
            )
            .execute(&mut *tx)
            .await?;
            let to = email.unwrap_or_else(|| "nobody".to_owned());
            ("reassigned", format!("Assigned to {to}."))
        }
        IncidentAction::Notes => {
            if note.is_empty() || note.chars().count() > 10_000 {
                return Err(AppError::invalid(
                    "message",
                    "write the note (at most 10000 characters)",
                ));
            }
            ("note", note.to_owned())
        }
        IncidentAction::Severity => {
            let Some(severity) = request.severity else {
                return Err(AppError::invalid(
                    "severity",
                    "must be critical, warning or info",
                ));
            };
            sqlx::query!(
                "UPDATE incidents SET severity = $2, updated_at = $3 WHERE id = $1",
                id,
                severity.as_str(),
                now
            )
            .execute(&mut *tx)
            .await?;
            (
                "severity",
                format!("Severity set to {}.", severity.as_str()),
            )
        }
    })
}

/// A timeline line: what happened, then the person's words after a colon, ending in one full
/// stop ("Resolved: back to normal." whether or not they typed the stop).
fn sentence(what: &str, note: &str) -> String {
    if note.is_empty() {
        format!("{what}.")
    } else if note.ends_with(['.', '!', '?']) {
        format!("{what}: {note}")
    } else {
        format!("{what}: {note}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::{Acknowledged, Resolved, Triggered};

    #[test]
    fn repeated_actions_are_already_done_and_closed_incidents_refuse_changes() {
        use IncidentAction::{
            Acknowledge, Escalate, Notes, Reassign, Resolve, Severity, Snooze, Unacknowledge,
        };
        assert_eq!(transition(Triggered, Acknowledge), Verdict::Apply);
        assert_eq!(transition(Acknowledged, Acknowledge), Verdict::AlreadyDone);
        assert_eq!(transition(Resolved, Resolve), Verdict::AlreadyDone);
        for (action, status) in [
            (Acknowledge, Resolved),
            (Unacknowledge, Triggered),
            (Unacknowledge, Resolved),
            (Escalate, Resolved),
            (Snooze, Resolved),
            (Reassign, Resolved),
            (Severity, Resolved),
        ] {
            assert!(
                matches!(transition(status, action), Verdict::Refuse(_)),
                "{action} on {status:?}"
            );
        }
        assert_eq!(transition(Resolved, Notes), Verdict::Apply);
    }

    #[test]
    fn an_unknown_action_is_answered_with_the_list_of_actions() {
        assert_eq!(
            unknown_action("delete").to_string(),
            "There is no incident action \"delete\": acknowledge, unacknowledge, escalate, \
             resolve, snooze, reassign, notes or severity."
        );
    }

    #[test]
    fn timeline_lines_end_in_one_stop() {
        assert_eq!(sentence("Resolved", ""), "Resolved.");
        assert_eq!(
            sentence("Resolved", "back to normal"),
            "Resolved: back to normal."
        );
        assert_eq!(
            sentence("Resolved", "back to normal."),
            "Resolved: back to normal."
        );
        assert_eq!(
            sentence("Escalated by hand", "who owns this?"),
            "Escalated by hand: who owns this?"
        );
    }
}
