//! The sample cache never changes an answer: late writes, writes from another replica and
//! retention all show up in the next query.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::TestApp;
use tokio_util::sync::CancellationToken;
use vigil::metrics::model::{Labels, Sample, SeriesWrite, WriteBatch};
use vigil::metrics::{MetricStore, StoreConfig, cache};
use vigil::promql::{Engine, QueryOutput};

fn batch(series: &[Labels], times: impl Iterator<Item = i64> + Clone, value: f64) -> WriteBatch {
    WriteBatch {
        series: series
            .iter()
            .map(|labels| SeriesWrite {
                labels: labels.clone(),
                samples: times
                    .clone()
                    .map(|timestamp_ms| Sample {
                        timestamp_ms,
                        value,
                    })
                    .collect(),
            })
            .collect(),
        metadata: Vec::new(),
    }
}

async fn range(store: &MetricStore, query: &str, start: i64, end: i64) -> Vec<(i64, f64)> {
    match Engine::raw_only(store)
        .range(query, start, end, 60_000)
        .await
        .unwrap()
    {
        QueryOutput::Matrix(mut m) if m.len() == 1 => m.remove(0).1,
        other => panic!("{query}: {other:?}"),
    }
}

/// Starts a store's cache listener and waits until the cache is on.
async fn listening(store: &Arc<MetricStore>, shutdown: &CancellationToken) {
    tokio::spawn(cache::listen_worker(store.clone(), shutdown.clone()));
    for _ in 0..100 {
        if store.cache().is_enabled() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the cache listener did not connect");
}

#[tokio::test]
async fn late_writes_here_and_on_another_replica_reach_cached_queries() {
    let app = TestApp::spawn().await;
    let shutdown = CancellationToken::new();
    let here = app.state.metrics.clone();
    let other = Arc::new(
        MetricStore::open(app.db.clone(), StoreConfig::default())
            .await
            .unwrap(),
    );
    let uncached = MetricStore::open(
        app.db.clone(),
        StoreConfig {
            query_cache_bytes: 0,
            ..StoreConfig::default()
        },
    )
    .await
    .unwrap();
    listening(&here, &shutdown).await;
    listening(&other, &shutdown).await;

    let series = [Labels::from_pairs([
        ("__name__", "temperature"),
        ("room", "lab"),
    ])];
    let now = Utc::now().timestamp_millis() / 60_000 * 60_000;
    let start = now - 30 * 60_000;
    here.write(batch(&series, (start..now).step_by(15_000), 1.0))
        .await
        .unwrap();
    let query = "sum_over_time(temperature[10m])";
    let first = range(&here, query, start, now).await;
    assert!(here.cache().bytes() > 0, "the first query filled the cache");
    assert_eq!(first, range(&uncached, query, start, now).await);

    // A late sample on this replica, inside the cached window.
    here.write(batch(
        &series,
        std::iter::once(now - 20 * 60_000 + 1),
        100.0,
    ))
    .await
    .unwrap();
    let second = range(&here, query, start, now).await;
    assert_ne!(first, second, "the late sample must count");
    assert_eq!(second, range(&uncached, query, start, now).await);

    // A late sample written through another replica reaches this one by notification.
    other
        .write(batch(
            &series,
            std::iter::once(now - 25 * 60_000 + 1),
            1000.0,
        ))
        .await
        .unwrap();
    let expected = range(&uncached, query, start, now).await;
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = range(&here, query, start, now).await;
        if seen == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, expected, "another replica's write never showed");

    // New samples at the end are read as the window moves on.
    here.write(batch(&series, (now..now + 5 * 60_000).step_by(15_000), 2.0))
        .await
        .unwrap();
    let later = Utc.timestamp_millis_opt(now + 5 * 60_000).unwrap();
    let end = later.timestamp_millis();
    assert_eq!(
        range(&here, query, start + 5 * 60_000, end).await,
        range(&uncached, query, start + 5 * 60_000, end).await
    );
    shutdown.cancel();
}

#[tokio::test]
async fn the_cache_stays_off_without_its_listener_and_within_its_budget() {
    let app = TestApp::spawn().await;
    let series: Vec<Labels> = (0..50)
        .map(|i| Labels::from_pairs([("__name__", "load"), ("cpu", &*i.to_string())]))
        .collect();
    let now = Utc::now().timestamp_millis() / 60_000 * 60_000;
    let start = now - 30 * 60_000;
    app.state
        .metrics
        .write(batch(&series, (start..now).step_by(15_000), 1.0))
        .await
        .unwrap();
    // No listener: nothing guarantees that other replicas' writes would be seen, so no caching.
    range(&app.state.metrics, "sum(load)", start, now).await;
    assert_eq!(app.state.metrics.cache().bytes(), 0);

    // A tight budget: the cache never holds more than it.
    let small = Arc::new(
        MetricStore::open(
            app.db.clone(),
            StoreConfig {
                query_cache_bytes: 16 * 200,
                ..StoreConfig::default()
            },
        )
        .await
        .unwrap(),
    );
    let shutdown = CancellationToken::new();
    listening(&small, &shutdown).await;
    let cached = range(&small, "sum(load)", start, now).await;
    assert!(small.cache().bytes() <= 16 * 200);
    assert_eq!(
        cached,
        range(&app.state.metrics, "sum(load)", start, now).await
    );
    shutdown.cancel();
}
