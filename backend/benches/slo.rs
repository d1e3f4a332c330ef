//! SLO benchmark (issue 14 targets: the status of 50 SLOs over 30 days ≤ 200 ms; a monthly
//! SLA report for 20 SLOs as PDF ≤ 2 s), run with `cargo bench -p vigil --bench slo`.
//!
//! A PostgreSQL is started for the run; BENCH_SLOS (50) SLOs are stored, each with 40 days of
//! per-minute history (what the history worker would have written) and a weekly maintenance
//! window, and their service has incidents. Then, BENCH_RUNS (20) times each:
//! - the status of every SLO (`GET /api/v1/slos` does this: window SLI, budget, four burn
//!   rates), through `slo::api::statuses`;
//! - last month's report for the first BENCH_REPORT_SLOS (20) SLOs, built from the history
//!   and rendered as PDF (and as CSV and JSON for comparison).
//!
//! BENCH_OUT names a file to write the PDF to, to look at it. There is no Prometheus
//! counterpart: Prometheus has no SLOs or reports.

use std::time::Instant;

use chrono::{Duration as TimeDelta, DurationRound, Utc};
use vigil::db::{self, EmbeddedCluster, EmbeddedOptions, PoolSettings};
use vigil::promql::QueryLimits;
use vigil::slo::history::{self, Counts, Minute};
use vigil::slo::report::{self, Format, ReportQuery};
use vigil::slo::{api, store};
use vigil_shared::slo::SloRequest;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn summary(kind: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    println!(
        "{kind:<34} runs {:>3}  min {:>8.1} ms  median {:>8.1} ms  p95 {:>8.1} ms  max {:>8.1} ms",
        ms.len(),
        ms[0],
        at(0.5),
        at(0.95),
        ms[ms.len() - 1]
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!(
        "Vigil SLO benchmark — {} — {} cores",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-slo-{}", std::process::id()));
    let cluster = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || EmbeddedCluster::start(&dir, &EmbeddedOptions::default())
    })
    .await??;
    let outcome = run(&cluster).await;
    tokio::task::spawn_blocking(move || cluster.release()).await??;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

fn request(i: usize) -> SloRequest {
    serde_json::from_value(serde_json::json!({
        "name": format!("Service {i} availability"),
        "service": format!("service-{i}"),
        "sli": {"kind": "events", "bad": format!("http_requests_total{{job=\"service-{i}\", status=~\"5..\"}}"),
                "total": format!("http_requests_total{{job=\"service-{i}\"}}")},
        "objective": 99.9,
        "window": if i.is_multiple_of(2) {
            serde_json::json!({"kind": "rolling", "duration": "30d"})
        } else {
            serde_json::json!({"kind": "calendar", "unit": "month", "time_zone": "Europe/Berlin"})
        },
    }))
    .expect("a valid SLO")
}

async fn run(cluster: &EmbeddedCluster) -> anyhow::Result<()> {
    let slos = knob("BENCH_SLOS", 50);
    let runs = knob("BENCH_RUNS", 20);
    let report_slos = knob("BENCH_REPORT_SLOS", 20).min(slos);
    db::ensure_database(cluster, "vigil").await?;
    let pool = db::pool_options(&PoolSettings::default())
        .connect_with(cluster.connect_options("vigil"))
        .await?;
    db::migrate(&pool).await?;
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1))?;
    let from = now - TimeDelta::days(40);
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..slos {
        let mut tx = pool.begin().await?;
        let slo = api::save(&QueryLimits::default(), &mut tx, None, &request(i), None).await?;
        let minutes: Vec<Minute> = (0..(now - from).num_minutes())
            .map(|m| {
                let t = from + TimeDelta::minutes(m);
                // 100 requests a minute; a bad hour every few days.
                let bad = if (m / 60) % (53 + i as i64) == 0 {
                    7.0
                } else {
                    0.05
                };
                Minute {
                    minute: t,
                    counts: Counts {
                        good: 100.0 - bad,
                        total: 100.0,
                    },
                }
            })
            .collect();
        history::write_minutes(&mut tx, slo.id, &minutes).await?;
        store::set_history_until(&mut tx, slo.id, now).await?;
        tx.commit().await?;
        ids.push(slo.id);
        if (i + 1) % 10 == 0 {
            println!(
                "  {} SLOs stored with {} minutes of history each ({:.0} s)",
                i + 1,
                minutes.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    sqlx::query(
        "INSERT INTO maintenance_windows (kind, reason, schedule)
         VALUES ('maintenance', 'Weekly database maintenance',
                 '{\"kind\": \"weekly\", \"days\": [\"sun\"], \"start\": \"02:00\",
                   \"duration\": \"2h\", \"time_zone\": \"Europe/Berlin\"}')",
    )
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO incidents (title, status, severity, service, triggered_at, acknowledged_at,
                                resolved_at, updated_at)
         SELECT 'Incident ' || i, 'resolved', 'critical', 'service-' || (i % $1),
                $2 - make_interval(hours => i * 7), $2 - make_interval(hours => i * 7) + interval '4 minutes',
                $2 - make_interval(hours => i * 7) + interval '50 minutes', $2
         FROM generate_series(1, 400) AS i",
    )
    .bind(slos as i32)
    .bind(now)
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    println!(
        "{slos} SLOs, {} minutes of history in all, stored in {:.0} s",
        slos as i64 * (now - from).num_minutes(),
        started.elapsed().as_secs_f64()
    );

    let stored = store::select(&mut *pool.acquire().await?, None).await?;
    let mut status_ms = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let statuses = api::statuses(&mut *pool.acquire().await?, &stored, Utc::now()).await?;
        status_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(statuses.len(), slos);
    }
    summary(
        &format!("status of {slos} SLOs (30-day windows)"),
        status_ms,
    );

    let slo_list = ids[..report_slos]
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let query = ReportQuery {
        tz: Some("Europe/Berlin".to_owned()),
        slos: Some(slo_list),
        ..ReportQuery::default()
    };
    let (period, _) = report::parse(&query, now)?;
    for format in [Format::Json, Format::Csv, Format::Pdf] {
        let mut ms = Vec::new();
        let mut size = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let built = report::build(&mut *pool.acquire().await?, &period, now).await?;
            let (body, _, _) = report::render(&built, format)?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            size = body.len();
            if format == Format::Pdf
                && let Ok(path) = std::env::var("BENCH_OUT")
            {
                std::fs::write(path, &body)?;
            }
        }
        summary(
            &format!(
                "monthly report, {report_slos} SLOs, {format:?} ({} kB)",
                size / 1024
            ),
            ms,
        );
    }
    Ok(())
}
