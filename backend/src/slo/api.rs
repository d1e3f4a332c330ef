//! `/api/v1/slos`: editors write, every role reads; statuses, charts and the form's preview.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Duration as TimeDelta, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use vigil_shared::slo::{
    Budget, IncidentImpact, Slo, SloHistory, SloList, SloPreview, SloRequest, SloStatus,
};

use super::definition::{self, ValidSlo};
use super::history::{self, Counts};
use super::status::{self, budget, budget_total};
use super::store::{self, StoredSlo};
use super::{burn, maintenance};
use crate::alerting::rules;
use crate::audit::{self, Target};
use crate::auth::{AuthUser, Editor};
use crate::error::{AppError, AppResult, Json, Path, Query};
use crate::promql::{Engine, QueryLimits, QueryOutput};
use crate::references::{self, Table};
use crate::state::AppState;
use crate::{incidents, users};

/// Most points a chart asks for.
const MAX_POINTS: i64 = 2_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/slos", get(list_slos).post(create_slo))
        .route("/slos/preview", post(preview))
        .route(
            "/slos/{id}",
            get(get_slo).put(replace_slo).delete(delete_slo),
        )
        .route("/slos/{id}/status", get(get_status))
        .route("/slos/{id}/history", get(get_history))
}

/// SLOs as the API shows them.
async fn shown(conn: &mut PgConnection, slos: Vec<StoredSlo>) -> AppResult<Vec<Slo>> {
    let ids: Vec<i64> = slos.iter().map(|s| s.id).collect();
    let mut rules = rules::generated_by(&mut *conn, &ids).await?;
    let editors: Vec<i64> = slos.iter().filter_map(|s| s.updated_by).collect();
    let emails = users::emails(&mut *conn, &editors).await?;
    Ok(slos
        .into_iter()
        .map(|s| Slo {
            id: s.id,
            queries: s.valid.sli.per_minute(),
            slo: s.valid.request,
            alert_rule_ids: rules.remove(&s.id).unwrap_or_default(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            updated_by: s.updated_by.and_then(|id| emails.get(&id).cloned()),
        })
        .collect())
}

/// The statuses of `slos` now.
pub async fn statuses(
    conn: &mut PgConnection,
    slos: &[StoredSlo],
    now: DateTime<Utc>,
) -> Result<Vec<SloStatus>, sqlx::Error> {
    let windows = maintenance::all(&mut *conn).await?;
    let mut out = Vec::with_capacity(slos.len());
    for slo in slos {
        out.push(status::status(&mut *conn, slo, &windows, now).await?);
    }
    Ok(out)
}

async fn list_slos(_user: AuthUser, State(state): State<AppState>) -> AppResult<Json<SloList>> {
    let mut conn = state.db.acquire().await?;
    let stored = store::select(&mut conn, None).await?;
    let statuses = statuses(&mut conn, &stored, Utc::now()).await?;
    Ok(Json(SloList {
        slos: shown(&mut conn, stored).await?,
        statuses,
    }))
}

async fn get_slo(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<Slo>> {
    let mut conn = state.db.acquire().await?;
    let slo = store::find(&mut conn, id).await?;
    Ok(Json(shown(&mut conn, vec![slo]).await?.remove(0)))
}

async fn check(
    limits: &QueryLimits,
    conn: &mut PgConnection,
    request: &SloRequest,
) -> AppResult<ValidSlo> {
    let slo = definition::validate(request, limits).map_err(AppError::Validation)?;
    if let Some(team) = slo.request.owner_team_id
        && !references::missing(conn, Table::Teams, &[team])
            .await?
            .is_empty()
    {
        return Err(AppError::invalid(
            "owner_team_id",
            format!("there is no team {team}"),
        ));
    }
    Ok(slo)
}

/// Checks and saves an SLO (`id`: replacing that one) with its burn rules, audited; the
/// API and demo mode's seeding both create SLOs through here. The caller commits.
pub async fn save(
    limits: &QueryLimits,
    conn: &mut PgConnection,
    id: Option<i64>,
    request: &SloRequest,
    editor: Option<&crate::auth::AuthUser>,
) -> AppResult<Slo> {
    let slo = check(limits, conn, request).await?;
    let action = if id.is_some() {
        "slo.update"
    } else {
        "slo.create"
    };
    let id = store::save(&mut *conn, id, &slo, editor.map(|e| e.id))
        .await?
        .ok_or_else(store::not_found)?;
    burn::sync(&mut *conn, id, &slo).await?;
    audit::record(
        &mut *conn,
        editor.map_or(audit::AuditActor::SYSTEM, |e| e.audit_actor()),
        action,
        Target::of("slo", id),
        json!({ "name": slo.request.name, "service": slo.request.service,
                "objective": slo.request.objective, "sli": slo.request.sli }),
    )
    .await?;
    let stored = store::find(&mut *conn, id).await?;
    Ok(shown(conn, vec![stored]).await?.remove(0))
}

async fn create_slo(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(request): Json<SloRequest>,
) -> AppResult<(StatusCode, Json<Slo>)> {
    let mut tx = state.db.begin().await?;
    let saved = save(&state.config.query, &mut tx, None, &request, Some(&editor)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

async fn replace_slo(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<SloRequest>,
) -> AppResult<Json<Slo>> {
    let mut tx = state.db.begin().await?;
    let saved = save(
        &state.config.query,
        &mut tx,
        Some(id),
        &request,
        Some(&editor),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(saved))
}

async fn delete_slo(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let name = store::delete(&mut tx, id)
        .await?
        .ok_or_else(store::not_found)?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "slo.delete",
        Target::of("slo", id),
        json!({ "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_status(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<SloStatus>> {
    let mut conn = state.db.acquire().await?;
    let slo = store::find(&mut conn, id).await?;
    Ok(Json(
        statuses(&mut conn, &[slo], Utc::now()).await?.remove(0),
    ))
}

#[derive(Deserialize)]
struct HistoryQuery {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// Seconds, a multiple of 60.
    step: Option<i64>,
}

async fn get_history(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<HistoryQuery>,
) -> AppResult<Json<SloHistory>> {
    let mut conn = state.db.acquire().await?;
    let slo = store::find(&mut conn, id).await?;
    let now = Utc::now();
    let bounds = status::bounds(slo.valid.window, slo.history_until.unwrap_or(now).min(now));
    let from = maintenance::floor_minute(query.from.unwrap_or(bounds.start));
    let to = maintenance::floor_minute(query.to.unwrap_or(bounds.end));
    if to <= from {
        return Err(AppError::invalid("to", "must be after from"));
    }
    if to - from > history::KEEP {
        return Err(AppError::invalid("from", "a chart covers at most 400 days"));
    }
    let range = (to - from).num_seconds();
    let step = match query.step {
        Some(step) if step < 60 || step % 60 != 0 => {
            return Err(AppError::invalid(
                "step",
                "must be a multiple of 60 seconds",
            ));
        }
        Some(step) if step > range => {
            return Err(AppError::invalid(
                "step",
                "must be at most the chart's range",
            ));
        }
        Some(step) if range / step > MAX_POINTS => {
            return Err(AppError::invalid(
                "step",
                format!("gives more than {MAX_POINTS} points; use a larger step"),
            ));
        }
        Some(step) => step,
        None => chart_step(range),
    };
    let windows = maintenance::all(&mut conn).await?;
    let spans = maintenance::spans(&windows, slo.id, &slo.valid.request.service, from, to);
    let excluded = maintenance::merged(&spans);
    let points = status::points(
        &mut conn,
        &slo,
        &excluded,
        from,
        to,
        TimeDelta::seconds(step),
    )
    .await?;
    let incidents = impacts(&mut conn, &slo, &excluded, from, to).await?;
    Ok(Json(SloHistory {
        slo_id: slo.id,
        from,
        to,
        step_seconds: step,
        points,
        excluded: spans,
        incidents,
    }))
}

/// A step giving a few hundred points: whole minutes, hours or days.
fn chart_step(range_seconds: i64) -> i64 {
    let raw = (range_seconds / 300).max(60);
    [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86_400]
        .into_iter()
        .find(|s| *s >= raw)
        .unwrap_or(86_400)
}

/// The incidents of the SLO's service open during `[from, to)`, each with the budget used
/// while it was open (as part of the period's budget).
pub async fn impacts(
    conn: &mut PgConnection,
    slo: &StoredSlo,
    excluded: &[(DateTime<Utc>, DateTime<Utc>)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<IncidentImpact>> {
    let request = &slo.valid.request;
    let found =
        incidents::for_services(&mut *conn, std::slice::from_ref(&request.service), from, to)
            .await?;
    let spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = found
        .iter()
        .map(|i| {
            let start = maintenance::floor_minute(i.triggered_at.max(from));
            let end = i.resolved_at.unwrap_or(to).min(to);
            (
                start,
                maintenance::floor_minute(end + TimeDelta::seconds(59)).max(start),
            )
        })
        .collect();
    let mut intervals = spans.clone();
    intervals.push((from, to));
    let counts = history::counted(conn, slo.id, &intervals, excluded).await?;
    let period = counts.last().copied().unwrap_or_default();
    let total = budget_total(request.objective, &period);
    Ok(found
        .into_iter()
        .zip(&counts)
        .map(|(i, c)| IncidentImpact {
            id: i.id,
            title: i.title,
            severity: i.severity,
            service: i.service,
            triggered_at: i.triggered_at,
            acknowledged_at: i.acknowledged_at,
            resolved_at: i.resolved_at,
            budget_consumed: c.bad(),
            budget_impact_percent: budget(total, c.bad()).consumed_percent,
        })
        .collect())
}

/// An unsaved SLO's SLI and budget over the last 30 days, hourly, from raw samples.
async fn preview(
    Editor(_editor): Editor,
    State(state): State<AppState>,
    Json(request): Json<SloRequest>,
) -> AppResult<Json<SloPreview>> {
    let mut conn = state.db.acquire().await?;
    let slo = check(&state.config.query, &mut conn, &request).await?;
    drop(conn);
    let now = maintenance::floor_minute(Utc::now());
    let end = now - TimeDelta::seconds(now.timestamp().rem_euclid(3600));
    let start = end - TimeDelta::days(30);
    let engine = Engine::new(&state.metrics).with_limits(state.config.query.clone());
    let run = |query: String| {
        let engine = &engine;
        async move {
            engine
                .range(
                    &query,
                    (start + TimeDelta::hours(1)).timestamp_millis(),
                    end.timestamp_millis(),
                    3_600_000,
                )
                .await
        }
    };
    let good = hourly(run(slo.sli.good("1h")).await.map_err(query_failed)?);
    let total = hourly(run(slo.sli.total("1h")).await.map_err(query_failed)?);
    let mut warnings = Vec::new();
    if total.is_empty() {
        warnings.push(
            "The total query returned no data over the last 30 days: check the selector, or \
             wait for data."
                .to_owned(),
        );
    } else if let Some(selector) = slo.sli.good_selector() {
        // `or vector(0)` hides a good selector that matches nothing: every event would count
        // as bad. (Bad events may well be none.)
        let matched = run(format!("sum(count_over_time({selector}[1h]))"))
            .await
            .map_err(query_failed)?;
        if hourly(matched).is_empty() {
            warnings.push(format!(
                "The good events selector matched no series over the last 30 days, so every \
                 event counts as bad: check {selector} (for latency, that the histogram has \
                 a bucket at the threshold)."
            ));
        }
    }
    let mut points = Vec::new();
    let mut period = Counts::default();
    for (t, total) in &total {
        let good = good
            .iter()
            .find(|(at, _)| at == t)
            .map_or(0.0, |(_, g)| *g)
            .clamp(0.0, *total);
        period.good += good;
        period.total += total;
        points.push((
            *t,
            Counts {
                good,
                total: *total,
            },
        ));
    }
    let budget_all = budget_total(slo.request.objective, &period);
    let mut consumed = 0.0;
    let points = points
        .into_iter()
        .filter_map(|(t, c)| {
            consumed += c.bad();
            Some(vigil_shared::slo::SloPoint {
                at: DateTime::from_timestamp_millis(t - 3_600_000)?,
                good: c.good,
                total: c.total,
                sli: c.sli(),
                budget_remaining_percent: Some(budget(budget_all, consumed).remaining_percent),
            })
        })
        .collect();
    let budget: Budget = budget(budget_all, period.bad());
    Ok(Json(SloPreview {
        queries: slo.sli.per_minute(),
        points,
        sli: period.sli(),
        budget,
        warnings,
    }))
}

fn query_failed(error: crate::promql::QueryError) -> AppError {
    AppError::invalid("sli", format!("the SLI's query failed: {error}"))
}

fn hourly(output: QueryOutput) -> Vec<(i64, f64)> {
    match output {
        QueryOutput::Matrix(series) => series
            .into_iter()
            .next()
            .map(|(_, points)| {
                points
                    .into_iter()
                    .filter(|(_, v)| v.is_finite() && *v >= 0.0)
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}
