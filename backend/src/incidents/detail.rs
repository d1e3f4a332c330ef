//! `GET /api/v1/incidents/{id}`: one incident with its alerts and timeline.

use std::collections::BTreeMap;

use axum::extract::State;
use sqlx::PgConnection;
use sqlx::types::Json as SqlJson;
use vigil_shared::alerting::Severity;
use vigil_shared::incident::{Incident, IncidentAlert, IncidentDetail, TimelineEntry};

use super::list::by_ids;
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
