//! Maintenance windows and corrections: time an SLO does not count. Planned windows are
//! one-off or weekly in a time zone (editors); a correction marks a past period "not
//! counted" with a reason (responders and up). Both are audited.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Datelike, Duration as TimeDelta, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::json;
use sqlx::PgConnection;
use sqlx::types::Json as SqlJson;
use vigil_shared::Role;
use vigil_shared::alerting::{MatchOp, Matcher};
use vigil_shared::slo::{
    ExcludedSpan, ExclusionKind, MaintenanceSchedule, MaintenanceScope, MaintenanceWindow,
    MaintenanceWindowList, MaintenanceWindowRequest, Weekday,
};

use super::store;
use crate::alerting::rules::prometheus_duration;
use crate::alerting::silences;
use crate::audit::{self, Target};
use crate::auth::{AuthUser, Responder};
use crate::db;
use crate::error::{AppError, AppResult, FieldErrors, Json, Path};
use crate::state::AppState;
use crate::users;

const MAX_REASON: usize = 1_000;
/// Most windows and corrections: every status and report reads them all.
const MAX_WINDOWS: i64 = 1_000;
/// A weekly window lasts at most a week; a one-off at most the history kept.
const MAX_WEEKLY: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/maintenance-windows",
            get(list_windows).post(create_window),
        )
        .route(
            "/maintenance-windows/{id}",
            get(get_window).put(replace_window).delete(delete_window),
        )
}

/// The excluded spans of the windows that apply to an SLO (`slo_id` of `service`) within
/// `[from, to)`, clipped to it, minute-aligned, sorted by start (they may overlap).
pub fn spans(
    windows: &[MaintenanceWindow],
    slo_id: i64,
    service: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<ExcludedSpan> {
    let mut spans: Vec<ExcludedSpan> = windows
        .iter()
        .filter(|w| match &w.window.scope {
            MaintenanceScope::Global => true,
            MaintenanceScope::Service { service: s } => s == service,
            MaintenanceScope::Slo { slo_id: id } => *id == slo_id,
        })
        .flat_map(|w| {
            occurrences(&w.window.schedule, from, to)
                .into_iter()
                .filter_map(|(start, end)| {
                    let start = floor_minute(start.max(from));
                    let end = ceil_minute(end.min(to));
                    (start < end).then(|| ExcludedSpan {
                        start,
                        end,
                        window_id: w.id,
                        reason: w.window.reason.clone(),
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    spans.sort_by_key(|s| (s.start, s.end));
    spans
}

/// The spans merged so none overlaps.
pub fn merged(spans: &[ExcludedSpan]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for span in spans {
        match out.last_mut() {
            Some(last) if span.start <= last.1 => last.1 = last.1.max(span.end),
            _ => out.push((span.start, span.end)),
        }
    }
    out
}

pub fn floor_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp().div_euclid(60) * 60, 0).unwrap_or(t)
}

fn ceil_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = floor_minute(t);
    if floor == t && t.timestamp_subsec_nanos() == 0 {
        t
    } else {
        floor + TimeDelta::minutes(1)
    }
}

/// Every `[start, end)` of `schedule` that overlaps `[from, to)`.
fn occurrences(
    schedule: &MaintenanceSchedule,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    match schedule {
        MaintenanceSchedule::Once { start, end } => {
            if *start < to && *end > from {
                vec![(*start, *end)]
            } else {
                Vec::new()
            }
        }
        MaintenanceSchedule::Weekly {
            days,
            start,
            duration,
            time_zone,
        } => {
            let (Ok(tz), Ok(at), Ok(length)) = (
                time_zone.parse::<Tz>(),
                NaiveTime::parse_from_str(start, "%H:%M"),
                prometheus_duration(duration),
            ) else {
                return Vec::new();
            };
            let length = TimeDelta::from_std(length).unwrap_or_default();
            let first = (from - length - TimeDelta::days(1))
                .with_timezone(&tz)
                .date_naive();
            let last = to.with_timezone(&tz).date_naive();
            first
                .iter_days()
                .take_while(|day| *day <= last)
                .filter(|day| days.contains(&weekday(day.weekday())))
                .filter_map(|day| {
                    // A start that falls into a DST gap moves to the first instant after it.
                    let local = day.and_time(at);
                    let begin = tz
                        .from_local_datetime(&local)
                        .earliest()
                        .or_else(|| {
                            tz.from_local_datetime(&(local + TimeDelta::hours(1)))
                                .earliest()
                        })?
                        .with_timezone(&Utc);
                    let end = begin + length;
                    (begin < to && end > from).then_some((begin, end))
                })
                .collect()
        }
    }
}

/// How long after a maintenance window its SLOs' burn tiers stay silenced: the bad events
/// of the window stay in the burn rates' windows until the short window of each tier's
/// slower condition (30m for pages, 6h for tickets) has moved past it.
const AFTERGLOW: [(&str, TimeDelta); 2] = [
    ("page", TimeDelta::minutes(30)),
    ("ticket", TimeDelta::hours(6)),
];

/// Silences the burn-rate alerts of the SLOs a maintenance window covers, for each of its
/// occurrences that is on or starts within the next hour: per tier, one silence from the
/// start until its afterglow after the end, made once (by `maintenance-window:<id>:<tier>`).
/// `slo_names` names SLOs by id. Returns how many silences it made.
pub async fn mute_burn_alerts(
    conn: &mut PgConnection,
    slo_names: &std::collections::HashMap<i64, String>,
    now: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    let mut made = 0;
    for window in all(&mut *conn).await? {
        if window.window.kind != ExclusionKind::Maintenance {
            continue;
        }
        let scope = match &window.window.scope {
            MaintenanceScope::Global => None,
            MaintenanceScope::Service { service } => {
                Some(matcher("service", MatchOp::Equal, service))
            }
            MaintenanceScope::Slo { slo_id } => match slo_names.get(slo_id) {
                Some(name) => Some(matcher("slo", MatchOp::Equal, name)),
                None => continue,
            },
        };
        for (start, end) in occurrences(&window.window.schedule, now, now + TimeDelta::hours(1)) {
            for (tier, afterglow) in AFTERGLOW {
                let by = format!("{}{tier}", made_by(window.id));
                if end + afterglow <= now || silences::made_by(&mut *conn, &by, start).await? {
                    continue;
                }
                let silence = silences::ValidSilence {
                    matchers: [
                        Some(matcher("burn_tier", MatchOp::Equal, tier)),
                        scope.clone(),
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                    starts_at: start,
                    ends_at: end + afterglow,
                    comment: format!("Maintenance: {}", window.window.reason),
                };
                silences::insert(&mut *conn, &silence, &by).await?;
                made += 1;
            }
        }
    }
    Ok(made)
}

/// The creator of a maintenance window's silences, up to the tier.
fn made_by(window_id: i64) -> String {
    format!("maintenance-window:{window_id}:")
}

fn matcher(name: &str, op: MatchOp, value: &str) -> Matcher {
    Matcher {
        name: name.to_owned(),
        value: value.to_owned(),
        op,
    }
}

fn weekday(day: chrono::Weekday) -> Weekday {
    match day {
        chrono::Weekday::Mon => Weekday::Mon,
        chrono::Weekday::Tue => Weekday::Tue,
        chrono::Weekday::Wed => Weekday::Wed,
        chrono::Weekday::Thu => Weekday::Thu,
        chrono::Weekday::Fri => Weekday::Fri,
        chrono::Weekday::Sat => Weekday::Sat,
        chrono::Weekday::Sun => Weekday::Sun,
    }
}

fn validate(request: &MaintenanceWindowRequest, now: DateTime<Utc>) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    match request.reason.trim().chars().count() {
        0 => errors.add("reason", "is required: say why this time is not counted"),
        n if n > MAX_REASON => {
            errors.add("reason", format!("must be at most {MAX_REASON} characters"))
        }
        _ => {}
    }
    if let MaintenanceScope::Service { service } = &request.scope
        && service.trim().is_empty()
    {
        errors.add("scope.service", "is required");
    }
    match &request.schedule {
        MaintenanceSchedule::Once { start, end } => {
            if end <= start {
                errors.add("schedule.end", "must be after the start");
            } else if *end - *start > TimeDelta::days(400) {
                errors.add("schedule.end", "a window lasts at most 400 days");
            }
            if request.kind == ExclusionKind::Correction && *end > now {
                errors.add(
                    "schedule.end",
                    "a correction marks a past period; plan future time as maintenance",
                );
            }
        }
        MaintenanceSchedule::Weekly {
            days,
            start,
            duration,
            time_zone,
        } => {
            if request.kind == ExclusionKind::Correction {
                errors.add("schedule", "a correction is one period, not a weekly one");
            }
            if days.is_empty() {
                errors.add("schedule.days", "pick at least one day");
            }
            if NaiveTime::parse_from_str(start, "%H:%M").is_err() {
                errors.add("schedule.start", "must be a time such as 02:30");
            }
            match prometheus_duration(duration) {
                Ok(d) if d.is_zero() => errors.add("schedule.duration", "must be above 0"),
                Ok(d) if d > MAX_WEEKLY => errors.add("schedule.duration", "must be at most 7d"),
                Ok(_) => {}
                Err(problem) => errors.add("schedule.duration", problem),
            }
            if time_zone.parse::<Tz>().is_err() {
                errors.add(
                    "schedule.time_zone",
                    format!("\"{time_zone}\" is not a time zone"),
                );
            }
        }
    }
    errors.into_result().map_err(|e| match e {
        AppError::Validation(fields) => fields,
        _ => FieldErrors::new(),
    })
}

/// Who may write a window of this kind: editors plan maintenance, responders correct.
fn check_role(user: &AuthUser, kind: ExclusionKind) -> AppResult<()> {
    let needed = match kind {
        ExclusionKind::Maintenance => Role::Editor,
        ExclusionKind::Correction => Role::Responder,
    };
    if user.role >= needed {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "Only {needed}s and above may add or change {} windows.",
            match kind {
                ExclusionKind::Maintenance => "maintenance",
                ExclusionKind::Correction => "correction",
            }
        )))
    }
}

/// Every window, newest first.
pub async fn all(conn: &mut PgConnection) -> Result<Vec<MaintenanceWindow>, sqlx::Error> {
    select(conn, None).await
}

async fn select(
    conn: &mut PgConnection,
    id: Option<i64>,
) -> Result<Vec<MaintenanceWindow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, kind, reason, service, slo_id,
                  schedule AS "schedule!: SqlJson<MaintenanceSchedule>", created_at, created_by
           FROM maintenance_windows
           WHERE $1::bigint IS NULL OR id = $1
           ORDER BY created_at DESC, id DESC"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let creators: Vec<i64> = rows.iter().filter_map(|r| r.created_by).collect();
    let emails = users::emails(&mut *conn, &creators).await?;
    rows.into_iter()
        .map(|row| {
            let scope = match (row.service, row.slo_id) {
                (_, Some(slo_id)) => MaintenanceScope::Slo { slo_id },
                (Some(service), None) => MaintenanceScope::Service { service },
                (None, None) => MaintenanceScope::Global,
            };
            Ok(MaintenanceWindow {
                id: row.id,
                window: MaintenanceWindowRequest {
                    kind: db::stored("maintenance_windows.kind", &row.kind)?,
                    reason: row.reason,
                    scope,
                    schedule: row.schedule.0,
                },
                created_at: row.created_at,
                created_by: row.created_by.and_then(|id| emails.get(&id).cloned()),
            })
        })
        .collect()
}

fn scope_columns(scope: &MaintenanceScope) -> (Option<String>, Option<i64>) {
    match scope {
        MaintenanceScope::Global => (None, None),
        MaintenanceScope::Service { service } => (Some(service.trim().to_owned()), None),
        MaintenanceScope::Slo { slo_id } => (None, Some(*slo_id)),
    }
}

fn kind_text(kind: ExclusionKind) -> &'static str {
    match kind {
        ExclusionKind::Maintenance => "maintenance",
        ExclusionKind::Correction => "correction",
    }
}

fn not_found() -> AppError {
    AppError::not_found("There is no maintenance window with this id.")
}

fn no_slo(id: i64) -> AppError {
    AppError::invalid("scope.slo_id", format!("there is no SLO {id}"))
}

async fn list_windows(
    _user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<MaintenanceWindowList>> {
    Ok(Json(MaintenanceWindowList {
        windows: all(&mut *state.db.acquire().await?).await?,
    }))
}

async fn get_window(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<MaintenanceWindow>> {
    select(&mut *state.db.acquire().await?, Some(id))
        .await?
        .pop()
        .map(Json)
        .ok_or_else(not_found)
}

async fn create_window(
    Responder(user): Responder,
    State(state): State<AppState>,
    Json(request): Json<MaintenanceWindowRequest>,
) -> AppResult<(StatusCode, Json<MaintenanceWindow>)> {
    check_role(&user, request.kind)?;
    validate(&request, Utc::now()).map_err(AppError::Validation)?;
    let (service, slo_id) = scope_columns(&request.scope);
    let mut tx = state.db.begin().await?;
    store::refuse_beyond(
        &mut tx,
        "maintenance_windows",
        MAX_WINDOWS,
        "maintenance windows",
    )
    .await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO maintenance_windows (kind, reason, service, slo_id, schedule, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        kind_text(request.kind),
        request.reason.trim(),
        service,
        slo_id,
        serde_json::to_value(&request.schedule).unwrap_or_default(),
        user.id
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match crate::error::constraint(&e) {
        Some("maintenance_windows_slo_id_fkey") => no_slo(slo_id.unwrap_or_default()),
        _ => e.into(),
    })?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "maintenance_window.create",
        Target::of("maintenance_window", id),
        json!({ "kind": kind_text(request.kind), "reason": request.reason.trim(),
                "scope": request.scope, "schedule": request.schedule }),
    )
    .await?;
    let saved = select(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or_else(not_found)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

async fn replace_window(
    Responder(user): Responder,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<MaintenanceWindowRequest>,
) -> AppResult<Json<MaintenanceWindow>> {
    check_role(&user, request.kind)?;
    validate(&request, Utc::now()).map_err(AppError::Validation)?;
    let (service, slo_id) = scope_columns(&request.scope);
    let mut tx = state.db.begin().await?;
    let before = select(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or_else(not_found)?;
    check_role(&user, before.window.kind)?;
    sqlx::query!(
        "UPDATE maintenance_windows SET kind = $2, reason = $3, service = $4, slo_id = $5,
                schedule = $6
         WHERE id = $1",
        id,
        kind_text(request.kind),
        request.reason.trim(),
        service,
        slo_id,
        serde_json::to_value(&request.schedule).unwrap_or_default()
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| match crate::error::constraint(&e) {
        Some("maintenance_windows_slo_id_fkey") => no_slo(slo_id.unwrap_or_default()),
        _ => e.into(),
    })?;
    // Its silences are made again, as it now is, by the next pass of the history worker.
    silences::end_made_by(&mut tx, &made_by(id), Utc::now()).await?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "maintenance_window.update",
        Target::of("maintenance_window", id),
        json!({ "before": before.window, "after": request }),
    )
    .await?;
    let saved = select(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(Json(saved))
}

async fn delete_window(
    Responder(user): Responder,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let before = select(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or_else(not_found)?;
    check_role(&user, before.window.kind)?;
    sqlx::query!("DELETE FROM maintenance_windows WHERE id = $1", id)
        .execute(&mut *tx)
        .await?;
    silences::end_made_by(&mut tx, &made_by(id), Utc::now()).await?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "maintenance_window.delete",
        Target::of("maintenance_window", id),
        json!({ "window": before.window }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn window(
        id: i64,
        scope: MaintenanceScope,
        schedule: MaintenanceSchedule,
    ) -> MaintenanceWindow {
        MaintenanceWindow {
            id,
            window: MaintenanceWindowRequest {
                kind: ExclusionKind::Maintenance,
                reason: format!("window {id}"),
                scope,
                schedule,
            },
            created_at: utc("2026-01-01T00:00:00Z"),
            created_by: None,
        }
    }

    #[test]
    fn weekly_windows_follow_local_time_across_a_dst_change() {
        // Sundays 02:30-03:30 in Berlin; DST starts on 2026-03-29 (02:00 -> 03:00).
        let weekly = window(
            1,
            MaintenanceScope::Global,
            MaintenanceSchedule::Weekly {
                days: vec![Weekday::Sun],
                start: "02:30".into(),
                duration: "1h".into(),
                time_zone: "Europe/Berlin".into(),
            },
        );
        let spans = spans(
            &[weekly],
            7,
            "checkout",
            utc("2026-03-20T00:00:00Z"),
            utc("2026-04-06T00:00:00Z"),
        );
        let starts: Vec<_> = spans.iter().map(|s| s.start.to_rfc3339()).collect();
        assert_eq!(
            starts,
            [
                "2026-03-22T01:30:00+00:00", // CET: UTC+1
                "2026-03-29T01:30:00+00:00", // 02:30 does not exist that night: 03:30 CEST
                "2026-04-05T00:30:00+00:00", // CEST: UTC+2
            ]
        );
        assert!(spans.iter().all(|s| s.end - s.start == TimeDelta::hours(1)));
    }

    #[test]
    fn scope_clipping_and_merging() {
        let once = |id, scope, start: &str, end: &str| {
            window(
                id,
                scope,
                MaintenanceSchedule::Once {
                    start: utc(start),
                    end: utc(end),
                },
            )
        };
        let windows = [
            once(
                1,
                MaintenanceScope::Slo { slo_id: 7 },
                "2026-05-01T10:00:30Z",
                "2026-05-01T11:00:00Z",
            ),
            once(
                2,
                MaintenanceScope::Service {
                    service: "checkout".into(),
                },
                "2026-05-01T10:30:00Z",
                "2026-05-01T12:00:00Z",
            ),
            once(
                3,
                MaintenanceScope::Service {
                    service: "search".into(),
                },
                "2026-05-01T00:00:00Z",
                "2026-05-02T00:00:00Z",
            ),
            once(
                4,
                MaintenanceScope::Slo { slo_id: 8 },
                "2026-05-01T00:00:00Z",
                "2026-05-02T00:00:00Z",
            ),
        ];
        let spans = spans(
            &windows,
            7,
            "checkout",
            utc("2026-05-01T00:00:00Z"),
            utc("2026-05-01T11:30:00Z"),
        );
        assert_eq!(spans.len(), 2);
        assert_eq!(
            spans[0].start,
            utc("2026-05-01T10:00:00Z"),
            "floored to the minute"
        );
        assert_eq!(spans[1].end, utc("2026-05-01T11:30:00Z"), "clipped");
        assert_eq!(
            merged(&spans),
            [(utc("2026-05-01T10:00:00Z"), utc("2026-05-01T11:30:00Z"))]
        );
    }
}
