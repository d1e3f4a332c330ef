//! When alerts fired, as dashboards draw them (annotations): each stored alert that fired is
//! one period, from when it started firing to when it resolved (none while it still fires).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// One alert's firing period.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct FiringPeriod {
    pub id: i64,
    /// Its rule (none for alerts from the Alertmanager API).
    pub rule_id: Option<i64>,
    pub fingerprint: Uuid,
    /// The `alertname` label (the rule's name for a rule's alert).
    pub alertname: String,
    pub severity: String,
    /// The `summary` annotation; empty when it has none.
    pub summary: String,
    pub fired_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The alerts that were firing at some time in `[from, to]` (named `alertname` only, when
/// given), the newest `limit` first.
pub async fn overlapping(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    alertname: Option<&str>,
    limit: i64,
) -> Result<Vec<FiringPeriod>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, a.rule_id, a.fingerprint,
                coalesce(a.labels ->> 'alertname', r.name, '') AS alertname, a.severity,
                coalesce(a.annotations ->> 'summary', '') AS summary, a.fired_at, a.resolved_at
         FROM alerts a LEFT JOIN alert_rules r ON r.id = a.rule_id
         WHERE a.state IN ('firing', 'resolved') AND a.fired_at <= $2
           AND (a.resolved_at IS NULL OR a.resolved_at >= $1)
           AND ($3::text IS NULL OR coalesce(a.labels ->> 'alertname', r.name) = $3)
         ORDER BY a.fired_at DESC, a.id DESC
         LIMIT $4",
    )
    .bind(from)
    .bind(to)
    .bind(alertname)
    .bind(limit)
    .fetch_all(conn)
    .await
}
