//! Viewing dashboards: one dashboard, the caller's home dashboard, the batched queries its
//! panels draw, and the annotations drawn over them. (Saving, versions and import are in
//! `dashboard_edit`.) Called by module (`api::dashboards::get`), their names being short.

use chrono::{DateTime, Utc};
use vigil_shared::dashboard::{Annotation, BatchAnswer, BatchQuery, Dashboard, HomeDashboard};

use super::{ApiResult, Method, encode, encode_component, instant, json};

/// A dashboard by uid (as in `/dashboards/<uid>`) or numeric id.
pub async fn get(uid_or_id: &str) -> ApiResult<Dashboard> {
    let path = format!("/api/v1/dashboards/{}", encode_component(uid_or_id));
    json(Method::Get, &path, None).await
}

/// The dashboard the caller lands on (their own choice, their team's or their role's).
pub async fn home() -> ApiResult<HomeDashboard> {
    json(Method::Get, "/api/v1/home-dashboard", None).await
}

/// Every query of a view of a dashboard, run in one request; answers come back in order.
pub async fn batch(batch: &BatchQuery) -> ApiResult<BatchAnswer> {
    json(Method::Post, "/api/v1/query/batch", encode(batch)).await
}

/// What happened between `from` and `to` (incidents, alerts, manual notes) that a dashboard
/// draws: those for every dashboard and those for `dashboard_id`.
pub async fn annotations(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    dashboard_id: i64,
) -> ApiResult<Vec<Annotation>> {
    let path = format!(
        "/api/v1/annotations?from={}&to={}&dashboard_id={dashboard_id}",
        instant(from),
        instant(to)
    );
    json(Method::Get, &path, None).await
}
