//! Incident API benchmark (SPEC §12: acknowledge and list incidents under 200 concurrent
//! clients, p99 ≤ 50 ms, no errors), run with `cargo bench -p vigil --bench incidents`.
//!
//! A durable PostgreSQL is started for the run with BENCH_INCIDENTS (20,000) triggered
//! incidents; Vigil's real router serves on a local port; BENCH_CLIENTS (200) clients, each
//! with its own connection, then loop for BENCH_SECONDS (20): list a page of incidents
//! (`GET /api/v1/incidents?status=triggered&per_page=50`), acknowledge the next incident not
//! yet acknowledged (`POST /api/v1/incidents/{id}/acknowledge`, a real transition each time)
//! and pause BENCH_PAUSE_MS (1000) — people with the incidents page open, acting about once a
//! second each (BENCH_PAUSE_MS=0 measures the saturated server instead). The clients start
//! spread evenly over BENCH_RAMP_MS (by default one pause), as people do not all click in the
//! same millisecond; BENCH_RAMP_MS=0 starts them all at once. Latency percentiles and errors
//! are printed per request kind. BENCH_POOL sets the connection pool's size (by default
//! Vigil's).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use vigil::config::AppConfig;
use vigil::db::{self, EmbeddedCluster, EmbeddedOptions, PoolSettings};
use vigil::router;
use vigil::state::{AppState, ServerInfo};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Milliseconds at the given percentile of sorted `samples`.
fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn report(kind: &str, mut samples: Vec<f64>, errors: usize, seconds: f64) {
    samples.sort_by(f64::total_cmp);
    println!(
        "{kind:<12} {:>7} requests ({:>6.0}/s)  p50 {:>6.1} ms  p95 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  errors {errors}",
        samples.len(),
        samples.len() as f64 / seconds,
        percentile(&samples, 50.0),
        percentile(&samples, 95.0),
        percentile(&samples, 99.0),
        samples.last().copied().unwrap_or(f64::NAN),
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let incidents = knob("BENCH_INCIDENTS", 20_000);
    let clients = knob("BENCH_CLIENTS", 200);
    let seconds = knob("BENCH_SECONDS", 20);
    let pause_ms = knob("BENCH_PAUSE_MS", 1000);
    let pause = Duration::from_millis(pause_ms as u64);
    let ramp = Duration::from_millis(knob("BENCH_RAMP_MS", pause_ms) as u64);
    println!(
        "Vigil incident API benchmark — {} — {} cores",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-incidents-{}", std::process::id()));
    let cluster = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || EmbeddedCluster::start(&dir, &EmbeddedOptions::default())
    })
    .await??;
    let outcome = run(&cluster, incidents, clients, seconds, pause, ramp).await;
    // Stopped and removed whatever happened, so a failed run leaves no PostgreSQL behind.
    tokio::task::spawn_blocking(move || cluster.release()).await??;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn run(
    cluster: &EmbeddedCluster,
    incidents: usize,
    clients: usize,
    seconds: usize,
    pause: Duration,
    ramp: Duration,
) -> anyhow::Result<()> {
    db::ensure_database(cluster, "vigil").await?;
    let defaults = PoolSettings::default();
    let pool = db::pool_options(&PoolSettings {
        max_connections: knob("BENCH_POOL", defaults.max_connections as usize) as u32,
        ..defaults
    })
    .connect_with(cluster.connect_options("vigil"))
    .await?;
    db::migrate(&pool).await?;
    let password = "benchmark password";
    vigil::demo::seed_users(&pool, password).await?;
    sqlx::query(
        "INSERT INTO incidents (title, status, severity, service, triggered_at, updated_at)
         SELECT 'Incident ' || i, 'triggered', (ARRAY['info', 'warning', 'critical'])[1 + i % 3],
                'service-' || (i % 20), now() - make_interval(secs => i), now()
         FROM generate_series(1, $1) AS i",
    )
    .bind(incidents as i32)
    .execute(&pool)
    .await?;
    // As autovacuum would have by then on a real server: the planner needs statistics.
    sqlx::query("ANALYZE incidents").execute(&pool).await?;
    let first: i64 = sqlx::query_scalar("SELECT min(id) FROM incidents")
        .fetch_one(&pool)
        .await?;
    println!(
        "{incidents} triggered incidents stored; pool of {} connections",
        pool.options().get_max_connections()
    );

    let state = AppState::new(
        pool.clone(),
        AppConfig::default(),
        ServerInfo {
            started_at: Utc::now(),
            database_mode: "embedded",
        },
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let router =
        router::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(vigil::serve::tuned(listener), router).await });
    let base = format!("http://{address}");

    let _ = rustls::crypto::ring::default_provider().install_default();
    let login = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({ "email": "responder@vigil.local", "password": password })
                .to_string(),
        )
        .send()
        .await?;
    anyhow::ensure!(
        login.status().is_success(),
        "login failed: {}",
        login.status()
    );
    let cookie = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");

    // One connection per client, as 200 browsers would have. The clients are built before the
    // clock starts: building one (its TLS set-up) costs milliseconds of CPU that would otherwise
    // be taken from the server during the first requests and counted as their latency.
    let http_clients = (0..clients)
        .map(|_| reqwest::Client::builder().pool_max_idle_per_host(1).build())
        .collect::<Result<Vec<_>, _>>()?;
    let next = Arc::new(AtomicI64::new(first));
    let deadline = Instant::now() + Duration::from_secs(seconds as u64);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, client) in http_clients.into_iter().enumerate() {
        let (base, cookie, next) = (base.clone(), cookie.clone(), next.clone());
        let start = started + ramp.mul_f64(n as f64 / clients as f64);
        tasks.spawn(async move {
            tokio::time::sleep_until(start.into()).await;
            let (mut list, mut ack, mut errors) = (Vec::new(), Vec::new(), (0, 0));
            while Instant::now() < deadline {
                let t = Instant::now();
                // The body is read too: the page is only there once all of it has arrived.
                let ok = match client
                    .get(format!(
                        "{base}/api/v1/incidents?status=triggered&per_page=50"
                    ))
                    .header("cookie", &cookie)
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                list.push(t.elapsed().as_secs_f64() * 1000.0);
                errors.0 += usize::from(!ok);
                let id = next.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let ok = match client
                    .post(format!("{base}/api/v1/incidents/{id}/acknowledge"))
                    .header("cookie", &cookie)
                    // As the browser sends it from Vigil's own page.
                    .header("sec-fetch-site", "same-origin")
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                ack.push(t.elapsed().as_secs_f64() * 1000.0);
                errors.1 += usize::from(!ok);
                tokio::time::sleep(pause).await;
            }
            (list, ack, errors)
        });
    }
    let (mut list, mut ack, mut errors) = (Vec::new(), Vec::new(), (0, 0));
    while let Some(done) = tasks.join_next().await {
        let (l, a, e) = done?;
        list.extend(l);
        ack.extend(a);
        errors.0 += e.0;
        errors.1 += e.1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{clients} concurrent clients for {elapsed:.1} s (started over {} ms), {} ms between iterations:",
        ramp.as_millis(),
        pause.as_millis()
    );
    let acknowledged = ack.len();
    report("list", list, errors.0, elapsed);
    report("acknowledge", ack, errors.1, elapsed);
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM incidents WHERE status = 'acknowledged'")
            .fetch_one(&pool)
            .await?;
    println!(
        "{stored} incidents acknowledged in the database ({acknowledged} acknowledge requests)"
    );
    Ok(())
}
