//! `GET /api/v1/incidents/analytics`: MTTA and MTTR.

use axum::extract::State;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use vigil_shared::incident::{Analytics, AnalyticsRow};

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, Json, Query};
use crate::state::AppState;
use crate::teams;

#[derive(Debug, Deserialize)]
pub(super) struct AnalyticsQuery {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// MTTA (triggered → first acknowledgment) and MTTR (triggered → resolved) of the incidents
/// triggered in [from, to) (default: the last 30 days), overall, per service, team and day.
pub(super) async fn analytics(
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
    // One snapshot for the incidents and their teams' names: a team deleted in between would
    // otherwise leave its incidents under a team with no name, beside those without a team.
    let mut tx = state
        .db
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let rows = sqlx::query!(
        r#"SELECT g.dimension AS "dimension!", g.key AS "key!", g.team_id,
                  count(*) AS "incidents!",
                  count(i.acknowledged_at) AS "acknowledged!", count(i.resolved_at) AS "resolved!",
                  avg(extract(epoch FROM i.acknowledged_at - i.triggered_at))::float8 AS mtta,
                  avg(extract(epoch FROM i.resolved_at - i.triggered_at))::float8 AS mttr
           FROM incidents i
           CROSS JOIN LATERAL (VALUES
               ('overall', '', NULL::bigint),
               ('service', i.service, NULL),
               ('team', '', i.team_id),
               ('period', to_char(date_trunc($3, i.triggered_at AT TIME ZONE 'UTC'),
                                  'YYYY-MM-DD"T"HH24:MI:SS"Z"'), NULL)
           ) AS g(dimension, key, team_id)
           WHERE i.triggered_at >= $1 AND i.triggered_at < $2
           GROUP BY g.dimension, g.key, g.team_id
           ORDER BY g.dimension, g.key"#,
        from,
        to,
        bucket
    )
    .fetch_all(&mut *tx)
    .await?;
    let team_ids: Vec<i64> = rows.iter().filter_map(|r| r.team_id).collect();
    let team_names = teams::names(&mut *tx, &team_ids).await?;
    tx.commit().await?;
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
        let key = match r.team_id {
            Some(team) => team_names.get(&team).cloned().unwrap_or_default(),
            None => r.key,
        };
        let row = AnalyticsRow {
            key,
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
    // Teams were grouped by id: in the order of their names.
    result.by_team.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Json(result))
}
