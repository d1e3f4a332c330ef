//! `/api/v1/incidents`: the list (filters, sort, pages, counts per status, CSV export), one
//! incident with its alerts and timeline, opening one by hand, the actions responders take,
//! MTTA/MTTR analytics, and the caller's in-app notifications.
//!
//! Every action locks the incident row, checks the transition (`transition`), changes it,
//! and appends a timeline entry and an audit entry in one transaction. Repeating an action
//! that already holds (acknowledging twice, resolving twice) answers 200 and records nothing.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::types::Json as SqlJson;
use sqlx::{Connection as _, PgConnection, PgPool};
use std::collections::BTreeMap;
use vigil_shared::alerting::Severity;
use vigil_shared::incident::{
    Analytics, AnalyticsRow, InAppNotification, Incident, IncidentAction, IncidentAlert,
    IncidentDetail, IncidentList, IncidentRequest, IncidentStatus, MarkNotificationsRead,
    NotificationList, TimelineEntry,
};

use super::escalation::{self, announce, timeline};
use crate::audit::{self, Target};
use crate::auth::{AuthUser, Responder};
use crate::csv;
use crate::error::{AppError, AppResult, FieldErrors, Json, OptionalJson, Path, Query};
use crate::oncall::policies;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list).post(open))
        .route("/incidents/export", get(export))
        .route("/incidents/analytics", get(analytics))
        .route("/incidents/{id}", get(detail))
        .route("/incidents/{id}/{action}", post(act))
        .route("/notifications", get(my_notifications))
        .route("/notifications/read", post(mark_notifications_read))
}

/// What an action does to an incident in `status`.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Apply,
    /// Already so: answer as if done, record nothing.
    AlreadyDone,
    /// Refused with 409 and this message.
    Refuse(&'static str),
}

/// The incident state machine: which action may follow which status.
pub fn transition(status: IncidentStatus, action: &str) -> Option<Verdict> {
    use IncidentStatus::{Acknowledged, Resolved, Triggered};
    Some(match (action, status) {
        ("acknowledge", Triggered) => Verdict::Apply,
        ("acknowledge", Acknowledged) => Verdict::AlreadyDone,
        ("acknowledge", Resolved) => Verdict::Refuse("A resolved incident cannot be acknowledged."),
        ("unacknowledge", Acknowledged) => Verdict::Apply,
        ("unacknowledge", Triggered) => Verdict::Refuse("The incident is not acknowledged."),
        ("unacknowledge", Resolved) => {
            Verdict::Refuse("A resolved incident cannot be unacknowledged.")
        }
        ("escalate", Resolved) => Verdict::Refuse("A resolved incident cannot be escalated."),
        ("escalate", _) => Verdict::Apply,
        ("resolve", Resolved) => Verdict::AlreadyDone,
        ("resolve", _) => Verdict::Apply,
        ("snooze", Resolved) => Verdict::Refuse("A resolved incident cannot be snoozed."),
        ("snooze", _) => Verdict::Apply,
        ("reassign", Resolved) => Verdict::Refuse("A resolved incident cannot be reassigned."),
        ("reassign", _) => Verdict::Apply,
        ("severity", Resolved) => Verdict::Refuse("A resolved incident's severity cannot change."),
        ("severity", _) => Verdict::Apply,
        ("notes", _) => Verdict::Apply,
        _ => return None,
    })
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    /// One status, or `open` (triggered or acknowledged).
    status: Option<String>,
    severity: Option<String>,
    service: Option<String>,
    assignee: Option<i64>,
    team: Option<i64>,
    /// Only the caller's incidents.
    #[serde(default)]
    mine: bool,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// Words in the title or description.
    q: Option<String>,
    /// `newest` (default), `oldest`, `severity`, `updated`.
    sort: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// The list's filters, checked.
struct Filter {
    status: Option<String>,
    severity: Option<String>,
    service: Option<String>,
    assignee: Option<i64>,
    team: Option<i64>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    text: Option<String>,
    sort: String,
    limit: i64,
    offset: i64,
}

fn filter(query: ListQuery, caller: &AuthUser) -> AppResult<Filter> {
    let mut errors = FieldErrors::new();
    if let Some(s) = &query.status
        && s != "open"
        && IncidentStatus::parse(s).is_none()
    {
        errors.add(
            "status",
            "must be open, triggered, acknowledged or resolved",
        );
    }
    if let Some(s) = &query.severity
        && Severity::parse(s).is_none()
    {
        errors.add("severity", "must be critical, warning or info");
    }
    let sort = query.sort.unwrap_or_else(|| "newest".to_owned());
    if !["newest", "oldest", "severity", "updated"].contains(&sort.as_str()) {
        errors.add("sort", "must be newest, oldest, severity or updated");
    }
    let per_page = query.per_page.unwrap_or(50);
    if !(1..=500).contains(&per_page) {
        errors.add("per_page", "must be between 1 and 500");
    }
    let page = query.page.unwrap_or(1);
    if page < 1 {
        errors.add("page", "starts at 1");
    }
    errors.into_result()?;
    let text = query.q.filter(|q| !q.trim().is_empty()).map(|q| {
        let escaped = q
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    Ok(Filter {
        status: query.status,
        severity: query.severity,
        service: query.service.filter(|s| !s.is_empty()),
        assignee: if query.mine {
            Some(caller.id)
        } else {
            query.assignee
        },
        team: query.team,
        from: query.from,
        to: query.to,
        text,
        sort,
        limit: per_page,
        offset: (page - 1) * per_page,
    })
}

/// The ids of the page of incidents matching `f`, in the order asked for. Only ids: the rows
/// are read by `by_ids`, whose plan (the same every time) PostgreSQL keeps, while this one is
/// planned for its parameters on each call (see `custom_plans`).
async fn page_ids(db: &mut PgConnection, f: &Filter) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        // The default order (newest first) has its own branch so that it walks the
        // (status, triggered_at, id) index instead of sorting every match; the branch whose
        // guard fails is skipped by the planner.
        r#"SELECT page.id AS "id!" FROM (
               (SELECT i.id, NULL::int AS by_severity, NULL::timestamptz AS by_oldest,
                       NULL::timestamptz AS by_updated, i.triggered_at
                FROM incidents i
                WHERE $9 = 'newest'
                  AND ($1::text IS NULL OR i.status = $1 OR ($1 = 'open' AND i.status <> 'resolved'))
                  AND ($2::text IS NULL OR i.severity = $2)
                  AND ($3::text IS NULL OR lower(i.service) = lower($3))
                  AND ($4::bigint IS NULL OR i.assignee_id = $4)
                  AND ($5::bigint IS NULL OR i.team_id = $5)
                  AND ($6::timestamptz IS NULL OR i.triggered_at >= $6)
                  AND ($7::timestamptz IS NULL OR i.triggered_at < $7)
                  AND ($8::text IS NULL OR i.title ILIKE $8 OR i.description ILIKE $8)
                ORDER BY i.triggered_at DESC, i.id DESC
                LIMIT $10 OFFSET $11)
               UNION ALL
               (SELECT i.id,
                       CASE WHEN $9 = 'severity' THEN
                         CASE i.severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END
                       END,
                       CASE WHEN $9 = 'oldest' THEN i.triggered_at END,
                       CASE WHEN $9 = 'updated' THEN i.updated_at END,
                       i.triggered_at
                FROM incidents i
                WHERE $9 <> 'newest'
                  AND ($1::text IS NULL OR i.status = $1 OR ($1 = 'open' AND i.status <> 'resolved'))
                  AND ($2::text IS NULL OR i.severity = $2)
                  AND ($3::text IS NULL OR lower(i.service) = lower($3))
                  AND ($4::bigint IS NULL OR i.assignee_id = $4)
                  AND ($5::bigint IS NULL OR i.team_id = $5)
                  AND ($6::timestamptz IS NULL OR i.triggered_at >= $6)
                  AND ($7::timestamptz IS NULL OR i.triggered_at < $7)
                  AND ($8::text IS NULL OR i.title ILIKE $8 OR i.description ILIKE $8)
                ORDER BY 2 DESC, 3 ASC, 4 DESC, i.triggered_at DESC, i.id DESC
                LIMIT $10 OFFSET $11)
           ) AS page
           ORDER BY page.by_severity DESC, page.by_oldest ASC, page.by_updated DESC,
                    page.triggered_at DESC, page.id DESC"#,
        f.status,
        f.severity,
        f.service,
        f.assignee,
        f.team,
        f.from,
        f.to,
        f.text,
        f.sort,
        f.limit,
        f.offset
    )
    .fetch_all(db)
    .await
}

/// The incidents with these ids, in the order of `ids` (missing ones left out).
async fn by_ids(db: &mut PgConnection, ids: &[i64]) -> Result<Vec<Incident>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT i.id, i.title, i.description, i.status, i.severity, i.service, i.team_id,
                  t.name AS "team?", i.assignee_id, u.email AS "assignee?",
                  i.escalation_policy_id, p.name AS "policy?", i.next_escalation_at,
                  i.snoozed_until, i.triggered_at, i.acknowledged_at, i.resolved_at,
                  i.resolution, i.updated_at,
                  COALESCE((SELECT s.level + 1 FROM escalation_steps s WHERE s.incident_id = i.id
                            ORDER BY s.step DESC LIMIT 1), 0) AS "level!",
                  alerts.total AS "alerts!", alerts.firing AS "firing!"
           FROM unnest($1::bigint[]) WITH ORDINALITY AS page(id, position)
           JOIN incidents i ON i.id = page.id
           LEFT JOIN teams t ON t.id = i.team_id
           LEFT JOIN users u ON u.id = i.assignee_id
           LEFT JOIN escalation_policies p ON p.id = i.escalation_policy_id
           CROSS JOIN LATERAL (
               SELECT count(*) AS total, count(*) FILTER (WHERE a.state = 'firing') AS firing
               FROM incident_alerts ia JOIN alerts a ON a.id = ia.alert_id
               WHERE ia.incident_id = i.id
           ) AS alerts
           ORDER BY page.position"#,
        ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Incident {
            id: r.id,
            title: r.title,
            description: r.description,
            status: IncidentStatus::parse(&r.status).unwrap_or(IncidentStatus::Triggered),
            severity: Severity::parse(&r.severity).unwrap_or(Severity::Warning),
            service: r.service,
            team_id: r.team_id,
            team: r.team,
            assignee_id: r.assignee_id,
            assignee: r.assignee,
            escalation_policy_id: r.escalation_policy_id,
            escalation_policy: r.policy,
            level: r.level,
            next_escalation_at: r.next_escalation_at,
            snoozed_until: r.snoozed_until,
            triggered_at: r.triggered_at,
            acknowledged_at: r.acknowledged_at,
            resolved_at: r.resolved_at,
            resolution: r.resolution,
            alert_count: r.alerts,
            firing_count: r.firing,
            updated_at: r.updated_at,
        })
        .collect())
}

/// A transaction whose statements are planned for their actual parameters. The list's
/// optional filters (`$n IS NULL OR …`) and its order switch only fold away in such a plan;
/// the generic plan PostgreSQL switches a prepared statement to after five runs scans and
/// sorts every incident.
async fn custom_plans(
    db: &PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    // One round trip: both statements go as one simple query.
    db.begin_with("BEGIN; SET LOCAL plan_cache_mode = force_custom_plan")
        .await
}

/// The page of incidents matching `f`, in the order asked for.
async fn select(db: &mut PgConnection, f: &Filter) -> Result<Vec<Incident>, sqlx::Error> {
    let ids = page_ids(db, f).await?;
    by_ids(db, &ids).await
}

async fn find(db: &mut PgConnection, id: i64) -> AppResult<Incident> {
    by_ids(db, &[id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no incident with this id."))
}

/// How many incidents the list's filters other than status match, per status; `total` is
/// those of the status asked for.
struct StatusCounts {
    triggered: i64,
    acknowledged: i64,
    resolved: i64,
    total: i64,
}

async fn status_counts(db: &mut PgConnection, f: &Filter) -> Result<StatusCounts, sqlx::Error> {
    let unfiltered = f.severity.is_none()
        && f.service.is_none()
        && f.assignee.is_none()
        && f.team.is_none()
        && f.from.is_none()
        && f.to.is_none()
        && f.text.is_none();
    if !unfiltered {
        let counts = sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE status = 'triggered') AS "triggered!",
                      count(*) FILTER (WHERE status = 'acknowledged') AS "acknowledged!",
                      count(*) FILTER (WHERE status = 'resolved') AS "resolved!",
                      count(*) FILTER (WHERE $1::text IS NULL OR status = $1
                                       OR ($1 = 'open' AND status <> 'resolved')) AS "total!"
               FROM incidents i
               WHERE ($2::text IS NULL OR i.severity = $2)
                 AND ($3::text IS NULL OR lower(i.service) = lower($3))
                 AND ($4::bigint IS NULL OR i.assignee_id = $4)
                 AND ($5::bigint IS NULL OR i.team_id = $5)
                 AND ($6::timestamptz IS NULL OR i.triggered_at >= $6)
                 AND ($7::timestamptz IS NULL OR i.triggered_at < $7)
                 AND ($8::text IS NULL OR i.title ILIKE $8 OR i.description ILIKE $8)"#,
            f.status,
            f.severity,
            f.service,
            f.assignee,
            f.team,
            f.from,
            f.to,
            f.text
        )
        .fetch_one(&mut *db)
        .await?;
        return Ok(StatusCounts {
            triggered: counts.triggered,
            acknowledged: counts.acknowledged,
            resolved: counts.resolved,
            total: counts.total,
        });
    }
    // Every incident: the counts the triggers keep (migration 0015), not a count of them all
    // on each request.
    let counts = sqlx::query!(
        r#"SELECT sum(triggered)::bigint AS "triggered!",
                  sum(acknowledged)::bigint AS "acknowledged!",
                  sum(resolved)::bigint AS "resolved!"
           FROM incident_status_counts"#
    )
    .fetch_one(&mut *db)
    .await?;
    let total = match f.status.as_deref() {
        None => counts.triggered + counts.acknowledged + counts.resolved,
        Some("open") => counts.triggered + counts.acknowledged,
        Some("triggered") => counts.triggered,
        Some("acknowledged") => counts.acknowledged,
        Some(_) => counts.resolved,
    };
    Ok(StatusCounts {
        triggered: counts.triggered,
        acknowledged: counts.acknowledged,
        resolved: counts.resolved,
        total,
    })
}

async fn list(
    user: AuthUser,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<IncidentList>> {
    let f = filter(query, &user)?;
    let mut tx = custom_plans(&state.db).await?;
    let incidents = select(&mut tx, &f).await?;
    let counts = status_counts(&mut tx, &f).await?;
    tx.commit().await?;
    Ok(Json(IncidentList {
        incidents,
        total: counts.total,
        triggered: counts.triggered,
        acknowledged: counts.acknowledged,
        resolved: counts.resolved,
    }))
}

async fn export(
    user: AuthUser,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> AppResult<Response> {
    let f = filter(
        ListQuery {
            per_page: Some(query.per_page.unwrap_or(500)),
            ..query
        },
        &user,
    )?;
    let mut tx = custom_plans(&state.db).await?;
    let incidents = select(&mut tx, &f).await?;
    tx.commit().await?;
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut body = csv::line(&[
        "id",
        "title",
        "status",
        "severity",
        "service",
        "team",
        "assignee",
        "triggered_at",
        "acknowledged_at",
        "resolved_at",
        "alerts",
    ]);
    for i in &incidents {
        let fields = [
            i.id.to_string(),
            i.title.clone(),
            i.status.as_str().to_owned(),
            i.severity.as_str().to_owned(),
            i.service.clone(),
            i.team.clone().unwrap_or_default(),
            i.assignee.clone().unwrap_or_default(),
            i.triggered_at.to_rfc3339(),
            time(i.acknowledged_at),
            time(i.resolved_at),
            i.alert_count.to_string(),
        ];
        body.push_str(&csv::line(&fields));
    }
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"incidents.csv\""),
    );
    Ok(response)
}

async fn detail(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<IncidentDetail>> {
    Ok(Json(
        load_detail(&mut *state.db.acquire().await?, id).await?,
    ))
}

async fn load_detail(db: &mut PgConnection, id: i64) -> AppResult<IncidentDetail> {
    let incident = find(&mut *db, id).await?;
    let alerts = sqlx::query!(
        r#"SELECT a.id, a.state, a.severity, a.value, ia.added_at, r.name AS "rule?",
                  a.labels AS "labels!: SqlJson<BTreeMap<String, String>>"
           FROM incident_alerts ia JOIN alerts a ON a.id = ia.alert_id
           LEFT JOIN alert_rules r ON r.id = a.rule_id
           WHERE ia.incident_id = $1 ORDER BY ia.added_at, a.id"#,
        id
    )
    .fetch_all(&mut *db)
    .await?
    .into_iter()
    .map(|r| IncidentAlert {
        id: r.id,
        name: r
            .rule
            .or_else(|| r.labels.0.get("alertname").cloned())
            .unwrap_or_default(),
        state: r.state,
        severity: Severity::parse(&r.severity).unwrap_or(Severity::Warning),
        labels: r.labels.0,
        value: r.value,
        added_at: r.added_at,
    })
    .collect();
    let timeline = sqlx::query_as!(
        TimelineEntry,
        "SELECT id, at, actor, kind, message FROM incident_timeline
         WHERE incident_id = $1 ORDER BY at, id",
        id
    )
    .fetch_all(db)
    .await?;
    Ok(IncidentDetail {
        incident,
        alerts,
        timeline,
    })
}

async fn user_exists(conn: &mut PgConnection, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT email FROM users WHERE id = $1 AND NOT disabled", id)
        .fetch_optional(conn)
        .await
}

/// Opens an incident by hand; it escalates by its policy like any other.
async fn open(
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
        && user_exists(&mut tx, assignee).await?.is_none()
    {
        errors.add("assignee_id", format!("there is no active user {assignee}"));
    }
    if let Some(team) = request.team_id
        && sqlx::query_scalar!("SELECT id FROM teams WHERE id = $1", team)
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
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
async fn act(
    Responder(user): Responder,
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    // The body is optional: acknowledging needs none.
    OptionalJson(request): OptionalJson<IncidentAction>,
) -> AppResult<Json<IncidentDetail>> {
    // One connection for the change and the answer read after it: each pool checkout costs a
    // round trip (the liveness check) and, under load, a wait.
    let mut conn = state.db.acquire().await?;
    let mut tx = conn.begin().await?;
    let status = sqlx::query_scalar!("SELECT status FROM incidents WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::not_found("There is no incident with this id."))?;
    let status = IncidentStatus::parse(&status).unwrap_or(IncidentStatus::Triggered);
    let verdict = transition(status, &action).ok_or_else(|| {
        AppError::not_found(format!(
            "There is no incident action {action:?}: acknowledge, unacknowledge, escalate, \
             resolve, snooze, reassign, notes or severity."
        ))
    })?;
    match verdict {
        Verdict::Refuse(why) => return Err(AppError::conflict(why)),
        Verdict::AlreadyDone => {
            tx.rollback().await?;
            return Ok(Json(load_detail(&mut conn, id).await?));
        }
        Verdict::Apply => {}
    }
    let now = Utc::now();
    let actor = user.email.as_str();
    let (kind, message) = apply(&mut tx, id, &action, &request, now).await?;
    timeline(&mut tx, id, now, actor, kind, &message).await?;
    // The next level is paged after the escalation is recorded, so the timeline reads in the
    // order things happened.
    if action == "escalate" && !escalation::escalate_step(&mut tx, id, now, actor).await? {
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

/// Carries out an allowed action on the locked incident; answers its timeline entry.
async fn apply(
    tx: &mut PgConnection,
    id: i64,
    action: &str,
    request: &IncidentAction,
    now: DateTime<Utc>,
) -> AppResult<(&'static str, String)> {
    let note = request.message.trim();
    Ok(match action {
        "acknowledge" => {
            sqlx::query!(
                "UPDATE incidents i
                 SET status = 'acknowledged', updated_at = $2,
                     acknowledged_at = COALESCE(acknowledged_at, $2),
                     next_escalation_at = $2 + make_interval(mins => (
                         SELECT p.ack_timeout_minutes FROM escalation_policies p
                         WHERE p.id = i.escalation_policy_id))
                 WHERE id = $1",
                id,
                now
            )
            .execute(&mut *tx)
            .await?;
            ("acknowledged", "Acknowledged.".to_owned())
        }
        "unacknowledge" => {
            escalation::retrigger(tx, id, now).await?;
            (
                "unacknowledged",
                "Unacknowledged: triggered again.".to_owned(),
            )
        }
        "escalate" => {
            sqlx::query!(
                "UPDATE incidents SET status = 'triggered', snoozed_until = NULL WHERE id = $1",
                id
            )
            .execute(&mut *tx)
            .await?;
            ("escalated", sentence("Escalated by hand", note))
        }
        "resolve" => {
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
        "snooze" => {
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
        "reassign" => {
            let email = match request.assignee_id {
                Some(user) => Some(user_exists(tx, user).await?.ok_or_else(|| {
                    AppError::invalid("assignee_id", format!("there is no active user {user}"))
                })?),
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
        "notes" => {
            if note.is_empty() || note.chars().count() > 10_000 {
                return Err(AppError::invalid(
                    "message",
                    "write the note (at most 10000 characters)",
                ));
            }
            ("note", note.to_owned())
        }
        "severity" => {
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
        _ => return Err(AppError::not_found("There is no such incident action.")),
    })
}

#[derive(Debug, Deserialize)]
struct AnalyticsQuery {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// MTTA (triggered → first acknowledgment) and MTTR (triggered → resolved) of the incidents
/// triggered in [from, to) (default: the last 30 days), overall, per service, team and day.
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

async fn analytics(
    _user: AuthUser,
    State(state): State<AppState>,
    Query(query): Query<AnalyticsQuery>,
) -> AppResult<Json<Analytics>> {
    let to = query.to.unwrap_or_else(Utc::now);
    let from = query.from.unwrap_or(to - TimeDelta::days(30));
    if from >= to {
        return Err(AppError::invalid("from", "must be before to"));
    }
    if to - from > TimeDelta::days(366) {
        return Err(AppError::invalid("from", "the range is at most a year"));
    }
    let bucket = if to - from > TimeDelta::days(62) {
        "week"
    } else {
        "day"
    };
    let rows = sqlx::query!(
        r#"SELECT g.dimension AS "dimension!", g.key AS "key!", count(*) AS "incidents!",
                  count(i.acknowledged_at) AS "acknowledged!", count(i.resolved_at) AS "resolved!",
                  avg(extract(epoch FROM i.acknowledged_at - i.triggered_at))::float8 AS mtta,
                  avg(extract(epoch FROM i.resolved_at - i.triggered_at))::float8 AS mttr
           FROM incidents i
           LEFT JOIN teams t ON t.id = i.team_id
           CROSS JOIN LATERAL (VALUES
               ('overall', ''),
               ('service', i.service),
               ('team', COALESCE(t.name, '')),
               ('period', to_char(date_trunc($3, i.triggered_at AT TIME ZONE 'UTC'),
                                  'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
           ) AS g(dimension, key)
           WHERE i.triggered_at >= $1 AND i.triggered_at < $2
           GROUP BY g.dimension, g.key
           ORDER BY g.dimension, g.key"#,
        from,
        to,
        bucket
    )
    .fetch_all(&state.db)
    .await?;
    let mut result = Analytics {
        from,
        to,
        overall: AnalyticsRow {
            key: String::new(),
            incidents: 0,
            acknowledged: 0,
            resolved: 0,
            mtta_seconds: None,
            mttr_seconds: None,
        },
        by_service: Vec::new(),
        by_team: Vec::new(),
        by_period: Vec::new(),
    };
    for r in rows {
        let row = AnalyticsRow {
            key: r.key,
            incidents: r.incidents,
            acknowledged: r.acknowledged,
            resolved: r.resolved,
            mtta_seconds: r.mtta,
            mttr_seconds: r.mttr,
        };
        match r.dimension.as_str() {
            "overall" => result.overall = row,
            "service" => result.by_service.push(row),
            "team" => result.by_team.push(row),
            _ => result.by_period.push(row),
        }
    }
    Ok(Json(result))
}

/// What the caller was paged about, newest first (the latest 100), and the unread count.
async fn my_notifications(
    user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<NotificationList>> {
    let notifications = sqlx::query_as!(
        InAppNotification,
        r#"SELECT id, incident_id, message, created_at, read_at IS NOT NULL AS "read!"
           FROM user_notifications
           WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100"#,
        user.id
    )
    .fetch_all(&state.db)
    .await?;
    let unread = sqlx::query_scalar!(
        r#"SELECT count(*) AS "unread!" FROM user_notifications
           WHERE user_id = $1 AND read_at IS NULL"#,
        user.id
    )
    .fetch_one(&state.db)
    .await?;
    Ok(Json(NotificationList {
        notifications,
        unread,
    }))
}

/// Marks the caller's notifications read (all, or up to an id: those the caller has seen).
async fn mark_notifications_read(
    user: AuthUser,
    State(state): State<AppState>,
    Json(request): Json<MarkNotificationsRead>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let marked = sqlx::query!(
        "UPDATE user_notifications SET read_at = now()
         WHERE user_id = $1 AND read_at IS NULL AND ($2::bigint IS NULL OR id <= $2)",
        user.id,
        request.up_to
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if marked > 0 {
        audit::record(
            &mut *tx,
            user.audit_actor(),
            "notifications.read",
            Target::of("user", user.id),
            json!({ "count": marked, "up_to": request.up_to }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::{Acknowledged, Resolved, Triggered};

    #[test]
    fn every_action_has_a_verdict_for_every_status() {
        assert_eq!(transition(Triggered, "acknowledge"), Some(Verdict::Apply));
        assert_eq!(
            transition(Acknowledged, "acknowledge"),
            Some(Verdict::AlreadyDone)
        );
        assert_eq!(transition(Resolved, "resolve"), Some(Verdict::AlreadyDone));
        for (action, status) in [
            ("acknowledge", Resolved),
            ("unacknowledge", Triggered),
            ("unacknowledge", Resolved),
            ("escalate", Resolved),
            ("snooze", Resolved),
            ("reassign", Resolved),
            ("severity", Resolved),
        ] {
            assert!(
                matches!(transition(status, action), Some(Verdict::Refuse(_))),
                "{action} on {status:?}"
            );
        }
        assert_eq!(transition(Resolved, "notes"), Some(Verdict::Apply));
        assert_eq!(transition(Triggered, "delete"), None);
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
