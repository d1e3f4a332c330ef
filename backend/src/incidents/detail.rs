//! `GET /api/v1/incidents/{id}`: one incident with its alerts and timeline.

use std::collections::HashMap;

use axum::extract::State;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use vigil_shared::incident::{Incident, IncidentAlert, IncidentDetail, TimelineEntry};

use super::list::by_ids;
use crate::alerting::alerts;
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, Json, Path};
use crate::state::AppState;

pub(super) async fn detail(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<IncidentDetail>> {
    Ok(Json(
        load_detail(&mut *state.db.acquire().await?, id).await?,
    ))
}

async fn find(db: &mut PgConnection, id: i64) -> AppResult<Incident> {
    by_ids(db, &[id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no incident with this id."))
}

/// The incident with its alerts and timeline, as its page shows it.
pub(super) async fn load_detail(db: &mut PgConnection, id: i64) -> AppResult<IncidentDetail> {
    let incident = find(&mut *db, id).await?;
    let added = sqlx::query!(
        "SELECT alert_id, added_at FROM incident_alerts
         WHERE incident_id = $1 ORDER BY added_at, alert_id",
        id
    )
    .fetch_all(&mut *db)
    .await?;
    let ids: Vec<i64> = added.iter().map(|a| a.alert_id).collect();
    let added_at: HashMap<i64, DateTime<Utc>> =
        added.iter().map(|a| (a.alert_id, a.added_at)).collect();
    let alerts = alerts::by_ids(&mut *db, &ids)
        .await?
        .into_iter()
        .map(|a| IncidentAlert {
            id: a.id,
            name: a
                .rule_name
                .or_else(|| a.labels.get("alertname").cloned())
                .unwrap_or_default(),
            state: a.state.as_str().to_owned(),
            severity: a.severity,
            added_at: added_at[&a.id],
            labels: a.labels,
            value: a.value,
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
