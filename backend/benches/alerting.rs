//! Alert evaluation benchmark (SPEC §12: 5,000 threshold rules within a 30 s interval), run
//! with `cargo bench -p vigil --bench alerting`.
//!
//! A durable PostgreSQL is started for the run and filled with an hour of the demo workload
//! (three services, ~230 series); BENCH_RULES threshold rules (5000) over a dozen realistic
//! queries are stored; then one evaluation cycle of every rule is timed, as the evaluator
//! worker runs it (BENCH_CONCURRENCY rules at once, 4), twice: the first from cold, the second
//! 30 s later as the next interval would.

use std::time::Instant;

use chrono::{TimeDelta, Utc};
use tokio_util::sync::CancellationToken;
use vigil::alerting::alerts::Evaluator;
use vigil::config::AppConfig;
use vigil::db::{self, EmbeddedCluster, EmbeddedOptions, PoolSettings};
use vigil::demo::workload::{self, Workload};
use vigil::metrics::cache;
use vigil::state::{AppState, ServerInfo};

const QUERIES: [&str; 12] = [
    r#"sum by (job) (rate(http_requests_total{status="500"}[5m]))"#,
    r#"sum(rate(http_requests_total{job="checkout",status="500"}[5m])) / sum(rate(http_requests_total{job="checkout"}[5m]))"#,
    r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="payments"}[5m])))"#,
    r#"histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))"#,
    r#"avg by (instance) (rate(process_cpu_seconds_total[1m]))"#,
    r#"process_resident_memory_bytes{job="search"}"#,
    r#"max by (job) (process_resident_memory_bytes)"#,
    r#"sum by (job, route) (rate(http_requests_total[1m]))"#,
    r#"up == 0"#,
    r#"rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])"#,
    r#"sum by (job) (increase(http_requests_total{status="404"}[10m]))"#,
    r#"count by (job) (up)"#,
];

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rules = knob("BENCH_RULES", 5_000);
    let concurrency = knob("BENCH_CONCURRENCY", 4);
    println!(
        "Vigil alert evaluation benchmark — {} — {} cores",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-alerting-{}", std::process::id()));
    let cluster = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || EmbeddedCluster::start(&dir, &EmbeddedOptions::default())
    })
    .await??;
    db::ensure_database(&cluster, "vigil").await?;
    let pool = db::pool_options(&PoolSettings {
        max_connections: 20,
        ..PoolSettings::default()
    })
    .connect_with(cluster.connect_options("vigil"))
    .await?;
    db::migrate(&pool).await?;
    let state = AppState::new(
        pool.clone(),
        AppConfig::default(),
        ServerInfo {
            started_at: Utc::now(),
            database_mode: "embedded",
        },
    )
    .await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cache::listen_worker(
        state.metrics.clone(),
        shutdown.clone(),
    ));

    let now = Utc::now();
    let written = workload::backfill(
        &state.metrics,
        &mut Workload::new(),
        (now - TimeDelta::hours(1)).timestamp_millis(),
        now.timestamp_millis(),
    )
    .await?;
    println!("demo workload: {written} samples over the last hour");

    sqlx::query(
        "INSERT INTO alert_rules (name, rule_group, query, comparison, warning_threshold,
                                  critical_threshold, for_ms, interval_ms, keep_firing_for_ms,
                                  no_data_state, error_state, next_eval_at)
         SELECT 'rule ' || i, 'bench-' || (i % 50), ($2::text[])[1 + i % 12], '>',
                (i % 97) * 0.01, (i % 97) * 0.02 + 1, 60000, 30000, 0, 'ok', 'alerting', $3
         FROM generate_series(1, $1) AS i",
    )
    .bind(rules as i32)
    .bind(QUERIES.iter().map(|q| (*q).to_owned()).collect::<Vec<_>>())
    .bind(now)
    .execute(&pool)
    .await?;
    println!(
        "{rules} threshold rules over {} distinct queries",
        QUERIES.len()
    );

    let evaluator = Evaluator {
        concurrency,
        ..Evaluator::new(&state)
    };
    let mut cycles = Vec::new();
    for (n, at) in [now, now + TimeDelta::seconds(30)].into_iter().enumerate() {
        let started = Instant::now();
        let evaluated = evaluator.evaluate_due(at).await?;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(evaluated == rules, "evaluated {evaluated} of {rules} rules");
        println!(
            "cycle {}: {evaluated} rules in {seconds:.1} s ({:.0} rules/s, {concurrency} at once)",
            n + 1,
            evaluated as f64 / seconds
        );
        cycles.push(seconds);
    }
    let alerts: i64 = sqlx::query_scalar("SELECT count(*) FROM alerts")
        .fetch_one(&pool)
        .await?;
    println!("{alerts} alerts raised");
    let worst = cycles.iter().copied().fold(0.0, f64::max);
    println!(
        "\nSPEC §12: {rules} threshold rules within a 30 s interval ... {worst:.1} s  {}",
        if worst <= 30.0 { "met" } else { "NOT met" }
    );

    shutdown.cancel();
    pool.close().await;
    tokio::task::spawn_blocking(move || cluster.release()).await??;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
