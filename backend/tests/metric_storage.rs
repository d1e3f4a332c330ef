//! Storage behaviour over time: rollups that give the raw answer, and retention by partition.

mod common;

use std::time::Duration;

use chrono::{DurationRound, TimeDelta, TimeZone, Utc};
use common::TestApp;
use vigil::config::AppConfig;
use vigil::metrics::model::{Labels, Sample, SeriesWrite, WriteBatch, stale_nan};
use vigil::metrics::{retention, rollup};
use vigil::promql::{Engine, QueryOutput};

/// Writes `series` samples every 15 s over `[from, to)` (ms), each write within the store's
/// accepted window, with values from `value(series, i)`.
async fn backfill(
    app: &TestApp,
    names: &[Labels],
    from: i64,
    to: i64,
    value: impl Fn(usize, i64) -> f64,
) {
    let mut chunk_start = from;
    while chunk_start < to {
        let chunk_end = (chunk_start + 30 * 60_000).min(to);
        let mut batch = WriteBatch::default();
        for (s, labels) in names.iter().enumerate() {
            let samples = (chunk_start..chunk_end)
                .step_by(15_000)
                .map(|t| Sample {
                    timestamp_ms: t,
                    value: value(s, t),
                })
                .collect();
            batch.series.push(SeriesWrite {
                labels: labels.clone(),
                samples,
            });
        }
        let now = Utc.timestamp_millis_opt(chunk_end).unwrap();
        let outcome = app.state.metrics.write_at(batch, now).await.unwrap();
        assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
        chunk_start = chunk_end;
    }
}

fn matrix(output: QueryOutput) -> Vec<(Labels, Vec<(i64, f64)>)> {
    match output {
        QueryOutput::Matrix(m) => m,
        other => panic!("expected a matrix, got {other:?}"),
    }
}

fn assert_same(
    raw: &[(Labels, Vec<(i64, f64)>)],
    rolled: &[(Labels, Vec<(i64, f64)>)],
    what: &str,
) {
    assert_eq!(raw.len(), rolled.len(), "{what}: series");
    for ((la, pa), (lb, pb)) in raw.iter().zip(rolled) {
        assert_eq!(la, lb, "{what}");
        assert_eq!(pa.len(), pb.len(), "{what}: points of {la}");
        for ((ta, va), (tb, vb)) in pa.iter().zip(pb) {
            assert_eq!(ta, tb, "{what}");
            // Sums may be added in another order; everything else is exact.
            assert!(
                (va - vb).abs() <= 1e-9 * va.abs().max(1.0),
                "{what} {la} at {ta}: raw {va}, rollup {vb}"
            );
        }
    }
}

#[tokio::test]
async fn over_time_queries_read_rollups_and_give_the_raw_answer() {
    let app = TestApp::spawn().await;
    let hour = TimeDelta::hours(1);
    let end = (Utc::now() - TimeDelta::hours(2))
        .duration_trunc(hour)
        .unwrap();
    let start = end - TimeDelta::hours(4);
    let series = [
        Labels::from_pairs([("__name__", "queue_depth"), ("queue", "mail")]),
        Labels::from_pairs([("__name__", "queue_depth"), ("queue", "jobs")]),
    ];
    // Samples land exactly on every minute and hour boundary (15 s apart, aligned).
    backfill(
        &app,
        &series,
        start.timestamp_millis(),
        end.timestamp_millis(),
        |s, t| ((t / 15_000) % 17) as f64 * (s as f64 + 1.5) - 3.0,
    )
    .await;
    let done = rollup::roll_up(&app.state.metrics, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert!(done >= end, "rolled up to {done}, samples end at {end}");

    let store = &app.state.metrics;
    let cases = [
        // (query, start, end, step): 1-hour buckets, then 1-minute buckets.
        (
            "sum_over_time(queue_depth[1h])",
            start + hour,
            end - hour,
            3600,
        ),
        (
            "max_over_time(queue_depth[2h])",
            start + hour * 2,
            end - hour,
            3600,
        ),
        (
            "min_over_time(queue_depth[5m])",
            start + hour,
            start + hour * 2,
            60,
        ),
        (
            "count_over_time(queue_depth[10m])",
            start + hour,
            start + hour * 2,
            300,
        ),
        (
            "avg_over_time(queue_depth[1m])",
            start + hour,
            start + hour + TimeDelta::minutes(30),
            60,
        ),
        (
            "sum by (queue) (sum_over_time(queue_depth[1h] offset 1h))",
            start + hour * 2,
            end - hour,
            3600,
        ),
    ];
    let mut raw_answers = Vec::new();
    for (query, from, to, step) in cases {
        let raw = Engine::raw_only(store)
            .range(
                query,
                from.timestamp_millis(),
                to.timestamp_millis(),
                step * 1000,
            )
            .await
            .unwrap();
        let raw = matrix(raw);
        assert!(
            !raw.is_empty() && !raw[0].1.is_empty(),
            "{query}: no raw answer"
        );
        raw_answers.push(raw);
    }
    // Remove the raw samples: from now on only rollups can answer.
    sqlx::query("DELETE FROM metric_samples")
        .execute(&app.db)
        .await
        .unwrap();
    for ((query, from, to, step), raw) in cases.into_iter().zip(raw_answers) {
        let rolled = Engine::new(store)
            .range(
                query,
                from.timestamp_millis(),
                to.timestamp_millis(),
                step * 1000,
            )
            .await
            .unwrap();
        assert_same(&raw, &matrix(rolled), query);
    }
    // A misaligned step cannot use rollups, so with the raw samples gone it finds nothing.
    let misaligned = Engine::new(store)
        .range(
            "sum_over_time(queue_depth[1h])",
            (start + hour).timestamp_millis() + 1_000,
            (end - hour).timestamp_millis(),
            3_600_000,
        )
        .await
        .unwrap();
    assert!(matrix(misaligned).is_empty());
}

#[tokio::test]
async fn buckets_holding_a_staleness_marker_are_answered_from_raw_samples() {
    let app = TestApp::spawn().await;
    let end = (Utc::now() - TimeDelta::hours(2))
        .duration_trunc(TimeDelta::hours(1))
        .unwrap();
    let start = end - TimeDelta::hours(2);
    let series = [Labels::from_pairs([("__name__", "flaky")])];
    let stale_at = start.timestamp_millis() + 30 * 60_000;
    backfill(
        &app,
        &series,
        start.timestamp_millis(),
        end.timestamp_millis(),
        |_, t| {
            if t == stale_at { stale_nan() } else { 1.0 }
        },
    )
    .await;
    rollup::roll_up(&app.state.metrics, Utc::now())
        .await
        .unwrap();
    let query = "count_over_time(flaky[1h])";
    let (from, to) = (
        (start + TimeDelta::hours(1)).timestamp_millis(),
        end.timestamp_millis(),
    );
    let raw = matrix(
        Engine::raw_only(&app.state.metrics)
            .range(query, from, to, 3_600_000)
            .await
            .unwrap(),
    );
    let planned = matrix(
        Engine::new(&app.state.metrics)
            .range(query, from, to, 3_600_000)
            .await
            .unwrap(),
    );
    // The marker is not a sample of the range: 240 samples in the first hour, one of them stale.
    assert_eq!(raw[0].1[0].1, 240.0);
    assert_same(&raw, &planned, query);
}

#[tokio::test]
async fn rolling_up_twice_changes_nothing() {
    let app = TestApp::spawn().await;
    let end = (Utc::now() - TimeDelta::hours(2))
        .duration_trunc(TimeDelta::hours(1))
        .unwrap();
    let series = [Labels::from_pairs([("__name__", "steady")])];
    backfill(
        &app,
        &series,
        (end - TimeDelta::hours(1)).timestamp_millis(),
        end.timestamp_millis(),
        |_, _| 2.0,
    )
    .await;
    rollup::roll_up(&app.state.metrics, Utc::now())
        .await
        .unwrap();
    let count = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) + coalesce(sum(count), 0)::bigint FROM metric_rollup_1m",
        )
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    let before = count().await;
    rollup::roll_up(&app.state.metrics, Utc::now())
        .await
        .unwrap();
    assert_eq!(count().await, before);
    let hourly: i64 = sqlx::query_scalar("SELECT sum(count)::bigint FROM metric_rollup_1h")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(hourly, 240, "one hour of 15-second samples");
}

#[tokio::test]
async fn retention_drops_whole_partitions_and_forgets_dead_series() {
    let mut config = AppConfig::default();
    config.metrics.retention = Duration::from_secs(2 * 24 * 3600);
    let app = TestApp::spawn_with(config).await;
    let old_day = Utc::now() - TimeDelta::days(5);
    let old = [Labels::from_pairs([("__name__", "old_metric")])];
    backfill(
        &app,
        &old,
        old_day.timestamp_millis(),
        old_day.timestamp_millis() + 60_000,
        |_, _| 1.0,
    )
    .await;
    sqlx::query("UPDATE metric_series SET last_seen = now() - interval '5 days'")
        .execute(&app.db)
        .await
        .unwrap();
    let recent = [Labels::from_pairs([("__name__", "new_metric")])];
    let now = Utc::now().timestamp_millis();
    backfill(&app, &recent, now - 60_000, now, |_, _| 1.0).await;

    let partition = format!("metric_samples_p{}", old_day.format("%Y%m%d"));
    let exists = |name: String| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
                .bind(name)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    assert!(exists(partition.clone()).await);
    let dropped = retention::apply_retention(&app.state.metrics)
        .await
        .unwrap();
    assert!(
        dropped >= 2,
        "the samples and 1-minute rollup partitions of that day: {dropped}"
    );
    assert!(!exists(partition).await);
    assert!(exists(format!("metric_samples_p{}", Utc::now().format("%Y%m%d"))).await);

    let names: Vec<String> = sqlx::query_scalar("SELECT metric FROM metric_series ORDER BY metric")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(names, vec!["new_metric"]);
}
