//! Retention: partitions wholly older than it are dropped (which costs nothing compared with
//! deleting rows), then the series left without samples; and the worker that keeps partitions
//! for the coming days and applies retention hourly.

use std::time::Duration;

use chrono::{NaiveDate, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

use super::partitions::create_day;
use super::store::{MetricStore, StorageBackend};

/// One replica at a time runs retention.
const RETENTION_LOCK: i64 = 0x7669_6732;

/// Drops partitions wholly older than the retention, then the series that no longer have
/// samples. Returns the number of partitions dropped.
pub async fn apply_retention(store: &MetricStore) -> Result<usize, sqlx::Error> {
    let pool = store.pool();
    let retention = TimeDelta::from_std(store.config().retention).unwrap_or(TimeDelta::days(30));
    let cutoff = Utc::now() - retention;
    let mut tx = pool.begin().await?;
    let got_lock = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock($1) AS "locked!""#,
        RETENTION_LOCK
    )
    .fetch_one(&mut *tx)
    .await?;
    if !got_lock {
        return Ok(0);
    }
    // Bounds print in the session's time zone; read them in UTC.
    sqlx::query!("SET LOCAL TimeZone = 'UTC'")
        .execute(&mut *tx)
        .await?;
    // Partition names and their upper bounds, straight from the catalog.
    let partitions = sqlx::query!(
        r#"SELECT c.relname AS "name!", p.relname AS "parent!",
                  pg_get_expr(c.relpartbound, c.oid) AS "bound!"
           FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_class p ON p.oid = i.inhparent
           WHERE p.relname IN ('metric_samples', 'metric_rollup_1m', 'metric_rollup_1h')"#
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut dropped = 0;
    for partition in partitions {
        let Some(upper) = upper_bound(&partition.bound) else {
            continue;
        };
        if upper <= cutoff.date_naive() {
            sqlx::query(&format!(
                "DROP TABLE IF EXISTS \"{}\"",
                partition.name.replace('"', "")
            ))
            .execute(&mut *tx)
            .await?;
            tracing::info!(partition = %partition.name, "dropped a partition past retention");
            dropped += 1;
        }
    }
    let forgotten = sqlx::query_scalar!(
        "DELETE FROM metric_series WHERE last_seen < $1 RETURNING id",
        cutoff - TimeDelta::hours(2)
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if dropped > 0 {
        // Cached samples may include what was just dropped.
        store.cache().reset();
        sqlx::query!("SELECT pg_notify($1, 'reset')", super::cache::CHANNEL)
            .execute(pool)
            .await?;
    }
    if !forgotten.is_empty() {
        store.catalog.forget(&forgotten.into_iter().collect());
    }
    Ok(dropped)
}

/// The date of `TO ('2026-11-23 00:00:00+00')` in a partition bound expression.
fn upper_bound(bound: &str) -> Option<NaiveDate> {
    let to = bound.split("TO ('").nth(1)?;
    NaiveDate::parse_from_str(to.get(..10)?, "%Y-%m-%d").ok()
}

/// Background worker: keeps partitions for the coming days and applies retention hourly.
pub async fn maintenance_worker(store: std::sync::Arc<MetricStore>, shutdown: CancellationToken) {
    if store.backend() == StorageBackend::Timescale {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let today = Utc::now().date_naive();
        for offset in -1..=2 {
            if let Err(error) = create_day(store.pool(), today + TimeDelta::days(offset)).await {
                tracing::warn!(%error, "creating partitions ahead failed");
            }
        }
        match apply_retention(&store).await {
            Ok(0) => {}
            Ok(dropped) => tracing::info!(dropped, "retention applied"),
            Err(error) => tracing::warn!(%error, "retention failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upper_bound_is_read_from_the_partition_expression() {
        assert_eq!(
            upper_bound("FOR VALUES FROM ('2026-11-22 00:00:00+00') TO ('2026-11-23 00:00:00+00')"),
            NaiveDate::from_ymd_opt(2026, 11, 23)
        );
        assert_eq!(upper_bound("DEFAULT"), None);
    }
}
