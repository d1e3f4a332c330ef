//! Each SLO's own history: good and total per minute, computed from raw samples by the
//! SLO's per-minute PromQL as data arrives, summed per hour alongside, and kept 400 days.
//! Statuses, charts and reports read only this, so they stay exact (and fast) after the raw
//! samples pass their retention.

use std::time::Duration;

use chrono::{DateTime, Duration as TimeDelta, Utc};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use super::definition::SliQueries;
use super::maintenance::floor_minute;
use super::store;
use crate::metrics::MetricStore;
use crate::promql::{Engine, QueryLimits, QueryOutput};
use crate::ticker::Ticker;

/// How long the history is kept.
pub const KEEP: TimeDelta = TimeDelta::days(400);
/// A minute is computed once this long after its end has passed, so late samples count.
const SETTLE: TimeDelta = TimeDelta::seconds(90);
/// Each pass also recomputes the last minutes, for samples that came later still.
const RECOMPUTE: TimeDelta = TimeDelta::minutes(5);
/// A new (or changed) SLO's history starts this far back, as far as raw samples reach.
pub const BACKFILL: TimeDelta = TimeDelta::days(30);
/// Minutes per query: one day.
const CHUNK: TimeDelta = TimeDelta::days(1);
/// Days an SLO advances per pass at most, so one new SLO does not hold up the others.
const CHUNKS_PER_PASS: usize = 3;

/// Good and total events (or minutes).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    pub good: f64,
    pub total: f64,
}

impl Counts {
    pub fn bad(&self) -> f64 {
        (self.total - self.good).max(0.0)
    }

    /// Percent good (None: nothing counted).
    pub fn sli(&self) -> Option<f64> {
        (self.total > 0.0).then(|| self.good / self.total * 100.0)
    }

    fn add(&mut self, other: Counts, sign: f64) {
        self.good += sign * other.good;
        self.total += sign * other.total;
    }
}

/// One minute of history: `minute` is its start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Minute {
    pub minute: DateTime<Utc>,
    pub counts: Counts,
}

/// Writes (or overwrites) minutes of an SLO and brings the hourly sums of their hours up to
/// date. The caller commits.
pub async fn write_minutes(
    conn: &mut PgConnection,
    slo_id: i64,
    minutes: &[Minute],
) -> Result<(), sqlx::Error> {
    let (Some(first), Some(last)) = (
        minutes.iter().map(|m| m.minute).min(),
        minutes.iter().map(|m| m.minute).max(),
    ) else {
        return Ok(());
    };
    for chunk in minutes.chunks(10_000) {
        let at: Vec<DateTime<Utc>> = chunk.iter().map(|m| m.minute).collect();
        let good: Vec<f64> = chunk.iter().map(|m| m.counts.good).collect();
        let total: Vec<f64> = chunk.iter().map(|m| m.counts.total).collect();
        sqlx::query!(
            "INSERT INTO slo_minutes (slo_id, minute, good, total)
             SELECT $1, * FROM unnest($2::timestamptz[], $3::float8[], $4::float8[])
             ON CONFLICT (slo_id, minute) DO UPDATE SET good = EXCLUDED.good,
                                                       total = EXCLUDED.total",
            slo_id,
            &at,
            &good,
            &total
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "INSERT INTO slo_hours (slo_id, hour, good, total)
         SELECT $1, date_trunc('hour', minute, 'UTC'), sum(good), sum(total)
         FROM slo_minutes
         WHERE slo_id = $1 AND minute >= date_trunc('hour', $2::timestamptz, 'UTC')
           AND minute < date_trunc('hour', $3::timestamptz, 'UTC') + interval '1 hour'
         GROUP BY 2
         ON CONFLICT (slo_id, hour) DO UPDATE SET good = EXCLUDED.good, total = EXCLUDED.total",
        slo_id,
        first,
        last
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A stretch of time read from the hourly sums (`hourly`) or from the minutes.
struct Piece {
    interval: usize,
    sign: f64,
    hourly: bool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

fn ceil_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = floor_hour(t);
    if floor == t {
        t
    } else {
        floor + TimeDelta::hours(1)
    }
}

fn floor_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp().div_euclid(3600) * 3600, 0).unwrap_or(t)
}

/// `[from, to)` as the whole hours inside it plus the minutes at either end.
fn split(interval: usize, sign: f64, from: DateTime<Utc>, to: DateTime<Utc>, out: &mut Vec<Piece>) {
    if from >= to {
        return;
    }
    let (first_hour, last_hour) = (ceil_hour(from), floor_hour(to));
    let mut piece = |hourly, from, to| {
        if from < to {
            out.push(Piece {
                interval,
                sign,
                hourly,
                from,
                to,
            });
        }
    };
    if first_hour < last_hour {
        piece(false, from, first_hour);
        piece(true, first_hour, last_hour);
        piece(false, last_hour, to);
    } else {
        piece(false, from, to);
    }
}

/// Good and total of an SLO over each of `intervals` (minute-aligned), leaving out the time
/// in `excluded` (merged spans, as [`super::maintenance::merged`] gives them).
pub async fn counted(
    conn: &mut PgConnection,
    slo_id: i64,
    intervals: &[(DateTime<Utc>, DateTime<Utc>)],
    excluded: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<Vec<Counts>, sqlx::Error> {
    let mut pieces = Vec::new();
    for (i, (from, to)) in intervals.iter().enumerate() {
        split(i, 1.0, *from, *to, &mut pieces);
        for (start, end) in excluded {
            let (start, end) = ((*start).max(*from), (*end).min(*to));
            split(i, -1.0, start, end, &mut pieces);
        }
    }
    let index: Vec<i32> = (0..pieces.len() as i32).collect();
    let hourly: Vec<bool> = pieces.iter().map(|p| p.hourly).collect();
    let from: Vec<DateTime<Utc>> = pieces.iter().map(|p| p.from).collect();
    let to: Vec<DateTime<Utc>> = pieces.iter().map(|p| p.to).collect();
    let rows = sqlx::query!(
        r#"SELECT p.i AS "i!", sum(x.good) AS "good!", sum(x.total) AS "total!"
           FROM unnest($2::int4[], $3::bool[], $4::timestamptz[], $5::timestamptz[])
                AS p(i, hourly, f, t)
           CROSS JOIN LATERAL (
               SELECT h.good, h.total FROM slo_hours h
               WHERE p.hourly AND h.slo_id = $1 AND h.hour >= p.f AND h.hour < p.t
               UNION ALL
               SELECT m.good, m.total FROM slo_minutes m
               WHERE NOT p.hourly AND m.slo_id = $1 AND m.minute >= p.f AND m.minute < p.t
           ) x
           GROUP BY p.i"#,
        slo_id,
        &index,
        &hourly,
        &from,
        &to
    )
    .fetch_all(conn)
    .await?;
    let mut counts = vec![Counts::default(); intervals.len()];
    for row in rows {
        let piece = &pieces[row.i as usize];
        counts[piece.interval].add(
            Counts {
                good: row.good,
                total: row.total,
            },
            piece.sign,
        );
    }
    for c in &mut counts {
        // Sums and differences of floats: keep tiny negatives out.
        c.total = c.total.max(0.0);
        c.good = c.good.clamp(0.0, c.total);
    }
    Ok(counts)
}

/// The minutes of `[from, to)` computed from raw samples by the SLO's per-minute queries
/// ([`SliQueries::per_minute`]): one range query each for good and total at a one-minute
/// step. Minutes with no total are left out
/// (no data is not counted); good is kept within `[0, total]`.
pub async fn compute(
    metrics: &MetricStore,
    limits: &QueryLimits,
    sli: &SliQueries,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Minute>, crate::promql::QueryError> {
    let engine = Engine::new(metrics).with_limits(limits.clone());
    // The value at t covers (t - 1m, t]: the minute that starts at t - 1m.
    let (start, end) = (
        (from + TimeDelta::minutes(1)).timestamp_millis(),
        to.timestamp_millis(),
    );
    if end < start {
        return Ok(Vec::new());
    }
    let queries = sli.per_minute();
    let good = points(engine.range(&queries.good, start, end, 60_000).await?);
    let total = points(engine.range(&queries.total, start, end, 60_000).await?);
    Ok(total
        .into_iter()
        .filter(|(_, total)| total.is_finite() && *total >= 0.0)
        .filter_map(|(t, total)| {
            let good = good
                .binary_search_by_key(&t, |(at, _)| *at)
                .ok()
                .map_or(0.0, |i| good[i].1);
            let good = if good.is_finite() { good } else { 0.0 };
            Some(Minute {
                minute: DateTime::from_timestamp_millis(t - 60_000)?,
                counts: Counts {
                    good: good.clamp(0.0, total),
                    total,
                },
            })
        })
        .collect())
}

/// A single series' points (the SLI queries sum everything into one).
fn points(output: QueryOutput) -> Vec<(i64, f64)> {
    match output {
        QueryOutput::Matrix(series) => series
            .into_iter()
            .next()
            .map(|(_, p)| p)
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Brings one SLO's history up to `now`, at most a few days per call; true once it is up
/// to date (or gone). The queries run outside any transaction; the minutes are written
/// under the SLO's row lock, and only if nobody (another replica, a changed definition)
/// moved its history in the meantime.
pub async fn advance(
    db: &PgPool,
    metrics: &MetricStore,
    limits: &QueryLimits,
    slo_id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let end = floor_minute(now - SETTLE);
    for _ in 0..CHUNKS_PER_PASS {
        let Some(slo) = store::select(&mut *db.acquire().await?, Some(slo_id))
            .await?
            .pop()
        else {
            return Ok(true);
        };
        let from = match slo.history_until {
            Some(until) if until >= end => return Ok(true),
            Some(until) => until - RECOMPUTE,
            None => end - BACKFILL,
        };
        let to = (from + CHUNK).min(end);
        let minutes = compute(metrics, limits, &slo.valid.sli, from, to).await?;
        let mut tx = db.begin().await?;
        match store::lock(&mut tx, slo_id).await? {
            Some(locked)
                if locked.history_until == slo.history_until
                    && locked.valid.sli == slo.valid.sli => {}
            // Gone, held by another replica, or moved on: its next pass sees.
            _ => return Ok(false),
        }
        write_minutes(&mut tx, slo_id, &minutes).await?;
        store::set_history_until(&mut tx, slo_id, to).await?;
        tx.commit().await?;
        if to >= end {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Advances every SLO's history until it is up to date with `now` (tests, demo seeding).
pub async fn catch_up(
    db: &PgPool,
    metrics: &MetricStore,
    limits: &QueryLimits,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for slo_id in store::ids(db).await? {
        while !advance(db, metrics, limits, slo_id, now).await? {}
    }
    Ok(())
}

/// Drops history older than [`KEEP`], SLO by SLO (through the primary keys).
pub async fn apply_retention(db: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let cutoff = now - KEEP;
    let mut minutes = 0;
    for slo_id in store::ids(db).await? {
        minutes += sqlx::query!(
            "DELETE FROM slo_minutes WHERE slo_id = $1 AND minute < $2",
            slo_id,
            cutoff
        )
        .execute(db)
        .await?
        .rows_affected();
        sqlx::query!(
            "DELETE FROM slo_hours WHERE slo_id = $1 AND hour < $2",
            slo_id,
            floor_hour(cutoff)
        )
        .execute(db)
        .await?;
    }
    Ok(minutes)
}

/// Advances every SLO's history each 30 s, silences burn alerts during maintenance, and
/// drops old history hourly.
pub async fn history_worker(
    db: PgPool,
    metrics: std::sync::Arc<MetricStore>,
    limits: QueryLimits,
    shutdown: CancellationToken,
) {
    let mut ticker = Ticker::every(Duration::from_secs(30), shutdown);
    let mut passes = 0u64;
    while ticker.tick().await {
        ticker
            .run("updating SLO history", async {
                // One SLO failing (a query over its limits, say) holds up no other.
                let now = Utc::now();
                let mut failed = Vec::new();
                for slo_id in store::ids(&db).await? {
                    if let Err(error) = advance(&db, &metrics, &limits, slo_id, now).await {
                        failed.push(format!("SLO {slo_id}: {error:#}"));
                    }
                }
                match failed.is_empty() {
                    true => anyhow::Ok(()),
                    false => Err(anyhow::anyhow!("{}", failed.join("; "))),
                }
            })
            .await;
        ticker
            .run("silencing burn alerts in maintenance", async {
                let mut tx = db.begin().await?;
                let names = store::names(&mut tx).await?;
                super::maintenance::mute_burn_alerts(&mut tx, &names, Utc::now()).await?;
                tx.commit().await
            })
            .await;
        if passes.is_multiple_of(120) {
            ticker
                .run("dropping old SLO history", apply_retention(&db, Utc::now()))
                .await;
        }
        passes += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn intervals_split_into_whole_hours_and_edge_minutes() {
        let mut pieces = Vec::new();
        split(
            0,
            1.0,
            utc("2026-05-01T10:15:00Z"),
            utc("2026-05-01T13:05:00Z"),
            &mut pieces,
        );
        let shape: Vec<_> = pieces
            .iter()
            .map(|p| {
                (
                    p.hourly,
                    p.from.format("%H:%M").to_string(),
                    p.to.format("%H:%M").to_string(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (false, "10:15".into(), "11:00".into()),
                (true, "11:00".into(), "13:00".into()),
                (false, "13:00".into(), "13:05".into()),
            ]
        );
        pieces.clear();
        split(
            0,
            1.0,
            utc("2026-05-01T10:15:00Z"),
            utc("2026-05-01T10:45:00Z"),
            &mut pieces,
        );
        assert_eq!(pieces.len(), 1);
        assert!(!pieces[0].hourly);
        pieces.clear();
        split(
            0,
            1.0,
            utc("2026-05-01T10:00:00Z"),
            utc("2026-05-01T12:00:00Z"),
            &mut pieces,
        );
        assert_eq!(pieces.len(), 1);
        assert!(pieces[0].hourly);
    }
}
