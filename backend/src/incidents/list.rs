//! `GET /api/v1/incidents`: the list (filters, sort, pages, counts per status) and its CSV
//! export; and reading incidents by id, which the other pages share.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use vigil_shared::alerting::{AlertState, Severity};
use vigil_shared::incident::{Incident, IncidentList, IncidentStatus};

use crate::alerting::alerts;
use crate::auth::AuthUser;
use crate::error::{AppResult, FieldErrors, Json, Query};
use crate::oncall::policies;
use crate::state::AppState;
use crate::{csv, db, teams, users};

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
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

/// The incidents with these ids, in the order of `ids` (missing ones left out): one query
/// for the incidents, then one per other area for the names and alert states they show.
pub(super) async fn by_ids(
    db: &mut PgConnection,
    ids: &[i64],
) -> Result<Vec<Incident>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT i.id, i.title, i.description, i.status, i.severity, i.service, i.team_id,
                  i.assignee_id, i.escalation_policy_id, i.next_escalation_at,
                  i.snoozed_until, i.triggered_at, i.acknowledged_at, i.resolved_at,
                  i.resolution, i.updated_at,
                  COALESCE((SELECT s.level + 1 FROM escalation_steps s WHERE s.incident_id = i.id
                            ORDER BY s.step DESC LIMIT 1), 0) AS "level!",
                  ARRAY(SELECT ia.alert_id FROM incident_alerts ia
                        WHERE ia.incident_id = i.id) AS "alert_ids!"
           FROM unnest($1::bigint[]) WITH ORDINALITY AS page(id, position)
           JOIN incidents i ON i.id = page.id
           ORDER BY page.position"#,
        ids
    )
    .fetch_all(&mut *db)
    .await?;
    let ids_of = |id: fn(&_) -> Option<i64>| -> Vec<i64> {
        let mut ids: Vec<i64> = rows.iter().filter_map(id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let team_ids = ids_of(|r| r.team_id);
    let team_names = unless_none(&team_ids, teams::names(&mut *db, &team_ids)).await?;
    let user_ids = ids_of(|r| r.assignee_id);
    let assignees = unless_none(&user_ids, users::emails(&mut *db, &user_ids)).await?;
    let policy_ids = ids_of(|r| r.escalation_policy_id);
    let escalation_policies =
        unless_none(&policy_ids, policies::summaries(&mut *db, &policy_ids)).await?;
    let alert_ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| r.alert_ids.iter().copied())
        .collect();
    let firing = unless_none(
        &alert_ids,
        alerts::in_states(&mut *db, &alert_ids, &[AlertState::Firing]),
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Incident {
                id: r.id,
                title: r.title,
                description: r.description,
                status: db::stored("incidents.status", &r.status)?,
                severity: db::stored("incidents.severity", &r.severity)?,
                service: r.service,
                team_id: r.team_id,
                team: r.team_id.and_then(|t| team_names.get(&t).cloned()),
                assignee_id: r.assignee_id,
                assignee: r.assignee_id.and_then(|u| assignees.get(&u).cloned()),
                escalation_policy_id: r.escalation_policy_id,
                escalation_policy: r
                    .escalation_policy_id
                    .and_then(|p| escalation_policies.get(&p))
                    .map(|p| p.name.clone()),
                level: r.level,
                next_escalation_at: r.next_escalation_at,
                snoozed_until: r.snoozed_until,
                triggered_at: r.triggered_at,
                acknowledged_at: r.acknowledged_at,
                resolved_at: r.resolved_at,
                resolution: r.resolution,
                alert_count: r.alert_ids.len() as i64,
                firing_count: r.alert_ids.iter().filter(|a| firing.contains(a)).count() as i64,
                updated_at: r.updated_at,
            })
        })
        .collect()
}

/// What `ask` answers about `ids`, without a round trip when there are none.
async fn unless_none<T: Default>(
    ids: &[i64],
    ask: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    if ids.is_empty() {
        Ok(T::default())
    } else {
        ask.await
    }
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

pub(super) async fn list(
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

pub(super) async fn export(
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
