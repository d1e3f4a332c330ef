//! Rollups: per series, per 1-minute and 1-hour bucket, the count, sum, min, max, first and
//! last samples (with their times) and how many values were NaN.
//!
//! On plain PostgreSQL a worker folds samples into rollups once their bucket can no longer
//! change: samples older than the store's `max_sample_age` are refused at ingestion, so a
//! bucket that ended before that horizon is final. (On TimescaleDB the rollups are continuous
//! aggregates refreshed by TimescaleDB's own policies.)

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::store::{MetricStore, StorageBackend};

/// One replica at a time folds rollups.
const ROLLUP_LOCK: i64 = 0x7669_6733;
/// Most time folded per transaction, so each stays short.
const MAX_STEP: TimeDelta = TimeDelta::hours(1);

/// A rollup resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    Minute,
    Hour,
}

impl Resolution {
    pub fn seconds(self) -> i64 {
        match self {
            Resolution::Minute => 60,
            Resolution::Hour => 3600,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Resolution::Minute => "1m",
            Resolution::Hour => "1h",
        }
    }
}

/// Everything before this instant is final in `resolution`'s rollup (None: nothing rolled up).
pub async fn rolled_up_to(
    pool: &PgPool,
    resolution: Resolution,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT rolled_up_to FROM metric_rollup_progress WHERE resolution = $1",
        resolution.key()
    )
    .fetch_optional(pool)
    .await
}

/// Folds every final bucket not yet rolled up, up to `now - max_sample_age`. Returns how far
/// the 1-minute rollup reaches afterwards. Safe to call from several replicas.
pub async fn roll_up(
    store: &MetricStore,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let pool = store.pool();
    let horizon =
        now - TimeDelta::from_std(store.config().max_sample_age).unwrap_or(TimeDelta::hours(1));
    let minute_watermark = horizon
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap_or(horizon);

    let mut conn = pool.acquire().await?;
    let locked = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_lock($1) AS "locked!""#,
        ROLLUP_LOCK
    )
    .fetch_one(&mut *conn)
    .await?;
    if !locked {
        return rolled_up_to(pool, Resolution::Minute).await;
    }
    let result = fold(pool, minute_watermark).await;
    sqlx::query_scalar!("SELECT pg_advisory_unlock($1)", ROLLUP_LOCK)
        .fetch_one(&mut *conn)
        .await?;
    result
}

async fn fold(
    pool: &PgPool,
    minute_watermark: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    // Where to start the first time: the oldest sample still kept.
    let mut from = match rolled_up_to(pool, Resolution::Minute).await? {
        Some(done) => done,
        None => {
            let oldest = sqlx::query_scalar!("SELECT min(ts) FROM metric_samples")
                .fetch_one(pool)
                .await?;
            match oldest {
                Some(ts) => ts.duration_trunc(TimeDelta::minutes(1)).unwrap_or(ts),
                None => minute_watermark,
            }
        }
    };
    while from < minute_watermark {
        let to = (from + MAX_STEP).min(minute_watermark);
        let mut tx = pool.begin().await?;
        // Duplicate timestamps keep the largest value, as the raw read path does.
        sqlx::query!(
            r#"INSERT INTO metric_rollup_1m
                   (series_id, bucket, count, sum, min, max, first_ts, first, last_ts, last, nan_count)
               SELECT series_id, date_bin('1 minute', ts, 'epoch'),
                      count(*), sum(value), min(value), max(value),
                      min(ts), (array_agg(value ORDER BY ts))[1],
                      max(ts), (array_agg(value ORDER BY ts DESC))[1],
                      count(*) FILTER (WHERE value = 'NaN')
               FROM (SELECT DISTINCT ON (series_id, ts) series_id, ts, value
                     FROM metric_samples WHERE ts >= $1 AND ts < $2
                     ORDER BY series_id, ts, value DESC) AS samples
               GROUP BY 1, 2
               ON CONFLICT (series_id, bucket) DO UPDATE SET
                   count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max,
                   first_ts = EXCLUDED.first_ts, first = EXCLUDED.first,
                   last_ts = EXCLUDED.last_ts, last = EXCLUDED.last, nan_count = EXCLUDED.nan_count"#,
            from,
            to
        )
        .execute(&mut *tx)
        .await?;
        record_progress(&mut tx, Resolution::Minute, to).await?;
        tx.commit().await?;
        from = to;
    }

    // Hours whose every minute is rolled up.
    let hour_watermark = minute_watermark
        .duration_trunc(TimeDelta::hours(1))
        .unwrap_or(minute_watermark);
    let mut hour_from = match rolled_up_to(pool, Resolution::Hour).await? {
        Some(done) => done,
        None => sqlx::query_scalar!("SELECT min(bucket) FROM metric_rollup_1m")
            .fetch_one(pool)
            .await?
            .map(|b| b.duration_trunc(TimeDelta::hours(1)).unwrap_or(b))
            .unwrap_or(hour_watermark),
    };
    while hour_from < hour_watermark {
        let to = (hour_from + TimeDelta::days(1)).min(hour_watermark);
        let mut tx = pool.begin().await?;
        sqlx::query!(
            r#"INSERT INTO metric_rollup_1h
                   (series_id, bucket, count, sum, min, max, first_ts, first, last_ts, last, nan_count)
               SELECT series_id, date_bin('1 hour', bucket, 'epoch'),
                      sum(count)::bigint, sum(sum), min(min), max(max),
                      min(first_ts), (array_agg(first ORDER BY first_ts))[1],
                      max(last_ts), (array_agg(last ORDER BY last_ts DESC))[1],
                      sum(nan_count)::bigint
               FROM metric_rollup_1m WHERE bucket >= $1 AND bucket < $2
               GROUP BY 1, 2
               ON CONFLICT (series_id, bucket) DO UPDATE SET
                   count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max,
                   first_ts = EXCLUDED.first_ts, first = EXCLUDED.first,
                   last_ts = EXCLUDED.last_ts, last = EXCLUDED.last, nan_count = EXCLUDED.nan_count"#,
            hour_from,
            to
        )
        .execute(&mut *tx)
        .await?;
        record_progress(&mut tx, Resolution::Hour, to).await?;
        tx.commit().await?;
        hour_from = to;
    }
    Ok(Some(minute_watermark))
}

async fn record_progress(
    tx: &mut sqlx::PgConnection,
    resolution: Resolution,
    to: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO metric_rollup_progress (resolution, rolled_up_to) VALUES ($1, $2)
         ON CONFLICT (resolution) DO UPDATE SET rolled_up_to = EXCLUDED.rolled_up_to",
        resolution.key(),
        to
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Background worker: folds final buckets every minute (plain PostgreSQL only).
pub async fn rollup_worker(store: std::sync::Arc<MetricStore>, shutdown: CancellationToken) {
    if store.backend() == StorageBackend::Timescale {
        return;
    }
    let mut ticker = crate::ticker::Ticker::every(Duration::from_secs(60), shutdown);
    while ticker.tick().await {
        ticker
            .run("rolling up samples", roll_up(&store, Utc::now()))
            .await;
    }
}

/// One rollup row, as the query engine reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub start_ms: i64,
    pub count: i64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub first_ms: i64,
    pub first: f64,
    pub last_ms: i64,
    pub last: f64,
    pub nan_count: i64,
}

/// Rollup rows of `series_ids` with buckets starting in `[start_ms, end_ms]`, one vector per
/// id in the order given, sorted by bucket.
pub async fn buckets(
    pool: &PgPool,
    resolution: Resolution,
    series_ids: &[i64],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Vec<Bucket>>, sqlx::Error> {
    let position: std::collections::HashMap<i64, usize> = series_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let mut out = vec![Vec::new(); series_ids.len()];
    // The table differs by resolution; both have the same columns.
    let rows = match resolution {
        Resolution::Minute => sqlx::query_as!(
            BucketRow,
            r#"SELECT series_id AS "series_id!", bucket AS "bucket!", count AS "count!", sum AS "sum!",
                      min AS "min!", max AS "max!", first_ts AS "first_ts!", first AS "first!",
                      last_ts AS "last_ts!", last AS "last!", nan_count AS "nan_count!"
               FROM metric_rollup_1m
               WHERE series_id = ANY($1) AND bucket >= $2 AND bucket <= $3
               ORDER BY series_id, bucket"#,
            series_ids,
            start,
            end
        )
        .fetch_all(pool)
        .await?,
        Resolution::Hour => sqlx::query_as!(
            BucketRow,
            r#"SELECT series_id AS "series_id!", bucket AS "bucket!", count AS "count!", sum AS "sum!",
                      min AS "min!", max AS "max!", first_ts AS "first_ts!", first AS "first!",
                      last_ts AS "last_ts!", last AS "last!", nan_count AS "nan_count!"
               FROM metric_rollup_1h
               WHERE series_id = ANY($1) AND bucket >= $2 AND bucket <= $3
               ORDER BY series_id, bucket"#,
            series_ids,
            start,
            end
        )
        .fetch_all(pool)
        .await?,
    };
    for row in rows {
        if let Some(&i) = position.get(&row.series_id) {
            out[i].push(Bucket {
                start_ms: row.bucket.timestamp_millis(),
                count: row.count,
                sum: row.sum,
                min: row.min,
                max: row.max,
                first_ms: row.first_ts.timestamp_millis(),
                first: row.first,
                last_ms: row.last_ts.timestamp_millis(),
                last: row.last,
                nan_count: row.nan_count,
            });
        }
    }
    Ok(out)
}

struct BucketRow {
    series_id: i64,
    bucket: DateTime<Utc>,
    count: i64,
    sum: f64,
    min: f64,
    max: f64,
    first_ts: DateTime<Utc>,
    first: f64,
    last_ts: DateTime<Utc>,
    last: f64,
    nan_count: i64,
}
