//! `GET /api/v1/incidents/analytics`: MTTA and MTTR.

use axum::extract::State;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use vigil_shared::incident::{Analytics, AnalyticsRow};

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, Json, Query};
use crate::state::AppState;

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
