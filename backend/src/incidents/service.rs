//! Incidents by service and period, as the SLO area's reports and charts and dashboards'
//! annotations ask for them.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// An incident's times, for budget impact and MTTA/MTTR.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ServiceIncident {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub service: String,
    pub triggered_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Most incidents one call returns (the oldest first): a report lists at most this many.
pub const MAX_INCIDENTS: i64 = 5_000;

/// The incidents of `services` that were open at some time in `[from, to)`, oldest first.
pub async fn for_services(
    conn: &mut PgConnection,
    services: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ServiceIncident>, sqlx::Error> {
    sqlx::query_as!(
        ServiceIncident,
        "SELECT id, title, severity, service, triggered_at, acknowledged_at, resolved_at
         FROM incidents
         WHERE service = ANY($1) AND triggered_at < $3
           AND (resolved_at IS NULL OR resolved_at >= $2)
         ORDER BY triggered_at, id
         LIMIT $4",
        services,
        from,
        to,
        MAX_INCIDENTS
    )
    .fetch_all(conn)
    .await
}

/// The incidents open at some time in `[from, to]` (of `service` only, when given), the newest
/// `limit` first: dashboards draw them as annotations.
pub async fn overlapping(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    service: Option<&str>,
    limit: i64,
) -> Result<Vec<ServiceIncident>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, title, severity, service, triggered_at, acknowledged_at, resolved_at
         FROM incidents
         WHERE triggered_at <= $2 AND (resolved_at IS NULL OR resolved_at >= $1)
           AND ($3::text IS NULL OR service = $3)
         ORDER BY triggered_at DESC, id DESC
         LIMIT $4",
    )
    .bind(from)
    .bind(to)
    .bind(service)
    .bind(limit)
    .fetch_all(conn)
    .await
}
