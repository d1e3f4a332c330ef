//! The demo workload, queried the way dashboards and alert rules will query it.

mod common;

use chrono::{DurationRound, TimeDelta, Utc};
use common::TestApp;
use vigil::demo::workload::{self, Trouble, Workload};
use vigil::metrics::model::Labels;
use vigil::promql::{Engine, QueryOutput};

async fn instant(app: &TestApp, query: &str, time_ms: i64) -> Vec<(Labels, f64)> {
    match Engine::new(&app.state.metrics)
        .instant(query, time_ms)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e:?}"))
    {
        QueryOutput::Vector { samples, .. } => samples,
        other => panic!("{query}: expected a vector, got {other:?}"),
    }
}

async fn single(app: &TestApp, query: &str, time_ms: i64) -> f64 {
    let result = instant(app, query, time_ms).await;
    assert_eq!(result.len(), 1, "{query} at {time_ms}: {result:?}");
    result[0].1
}

#[tokio::test]
async fn the_demo_services_have_traffic_errors_and_latency_spikes_on_schedule() {
    let app = TestApp::spawn().await;
    let hour = TimeDelta::hours(1);
    let start = (Utc::now() - hour * 3).duration_trunc(hour).unwrap();
    let end = start + hour;
    let mut workload = Workload::new();
    let written = workload::backfill(
        &app.state.metrics,
        &mut workload,
        start.timestamp_millis(),
        end.timestamp_millis(),
    )
    .await
    .unwrap();
    assert!(written > 50_000, "{written} samples");

    let at = |minutes: i64| (start + TimeDelta::minutes(minutes)).timestamp_millis();
    let calm = at(25);
    assert_eq!(Trouble::at(calm), Trouble::default());
    assert!(Trouble::at(at(44)).checkout_error_burst);
    assert!(Trouble::at(at(13)).payments_latency_spike);

    let traffic = instant(&app, "sum by (job) (rate(http_requests_total[5m]))", calm).await;
    let mut jobs: Vec<&str> = traffic
        .iter()
        .map(|(labels, _)| labels.get("job").unwrap())
        .collect();
    jobs.sort_unstable();
    assert_eq!(jobs, ["checkout", "payments", "search"]);
    for (labels, rate) in &traffic {
        assert!(*rate > 10.0, "{labels}: {rate} requests/s");
    }

    let error_ratio = r#"sum(rate(http_requests_total{job="checkout",status="500"}[2m]))
                       / sum(rate(http_requests_total{job="checkout"}[2m]))"#;
    let normal = single(&app, error_ratio, calm).await;
    let burst = single(&app, error_ratio, at(44)).await;
    assert!(normal < 0.02, "normal error ratio {normal}");
    assert!(burst > 0.2, "error ratio during the burst {burst}");

    let p99 = r#"histogram_quantile(0.99,
                   sum by (le) (rate(http_request_duration_seconds_bucket{job="payments"}[1m])))"#;
    let normal = single(&app, p99, calm).await;
    let spike = single(&app, p99, at(13)).await;
    assert!(normal < 1.0, "p99 latency normally {normal} s");
    assert!(spike > 2.0, "p99 latency during the spike {spike} s");

    let up = instant(&app, "sum by (job) (up)", calm).await;
    assert_eq!(up.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [2.0; 3]);
    let memory = single(
        &app,
        r#"process_resident_memory_bytes{instance="search-0:9000"}"#,
        calm,
    )
    .await;
    assert!(memory > 100e6, "{memory}");
}

#[tokio::test]
async fn a_restart_continues_after_the_last_demo_sample() {
    let app = TestApp::spawn().await;
    let now = Utc::now().timestamp_millis();
    let from = now - 30 * 60_000;
    let mut workload = Workload::new();
    workload::backfill(&app.state.metrics, &mut workload, from, now - 10 * 60_000)
        .await
        .unwrap();
    let resume = workload::resume_from(&app.state.metrics, now)
        .await
        .unwrap();
    let last_written = now - 10 * 60_000 - 1;
    let last_step = last_written - last_written.rem_euclid(workload::INTERVAL_MS);
    assert_eq!(resume, last_step + workload::INTERVAL_MS);

    // On an empty database the history goes back the full backfill period.
    let fresh = TestApp::spawn().await;
    let resume = workload::resume_from(&fresh.state.metrics, now)
        .await
        .unwrap();
    assert_eq!(resume, now - workload::BACKFILL.num_milliseconds());
}
