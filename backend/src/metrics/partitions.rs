//! Day partitions of the samples and 1-minute rollups, and month partitions of the 1-hour
//! rollups (plain PostgreSQL only; TimescaleDB manages its chunks itself). Partitions are
//! created ahead of need; retention drops whole partitions, which costs nothing compared with
//! deleting rows.

use chrono::{Datelike, NaiveDate, TimeDelta};
use sqlx::PgPool;

/// Serialises partition DDL across replicas (advisory lock key).
const PARTITION_LOCK: i64 = 0x7669_6731; // "vig1"

pub(super) fn day_name(table: &str, day: NaiveDate) -> String {
    format!("{table}_p{}", day.format("%Y%m%d"))
}

pub(super) fn month_name(table: &str, day: NaiveDate) -> String {
    format!("{table}_p{}", day.format("%Y%m"))
}

/// Creates the samples and 1-minute rollup partitions for `day`, and the 1-hour rollup
/// partition for its month, if missing.
pub async fn create_day(pool: &PgPool, day: NaiveDate) -> Result<(), sqlx::Error> {
    let next = day + TimeDelta::days(1);
    let month = day.with_day(1).expect("the first of a month exists");
    let next_month = if month.month() == 12 {
        NaiveDate::from_ymd_opt(month.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(month.year(), month.month() + 1, 1)
    }
    .expect("the first of a month exists");

    let mut tx = pool.begin().await?;
    // CREATE TABLE IF NOT EXISTS still races with itself; the lock makes it safe.
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", PARTITION_LOCK)
        .execute(&mut *tx)
        .await?;
    for (parent, name, from, to) in [
        ("metric_samples", day_name("metric_samples", day), day, next),
        (
            "metric_rollup_1m",
            day_name("metric_rollup_1m", day),
            day,
            next,
        ),
        (
            "metric_rollup_1h",
            month_name("metric_rollup_1h", day),
            month,
            next_month,
        ),
    ] {
        // Names are built from dates above, never from input.
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {parent}
             FOR VALUES FROM ('{from} 00:00:00+00') TO ('{to} 00:00:00+00')"
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_carry_their_period() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(day_name("metric_samples", day), "metric_samples_p20260105");
        assert_eq!(
            month_name("metric_rollup_1h", day),
            "metric_rollup_1h_p202601"
        );
    }
}
