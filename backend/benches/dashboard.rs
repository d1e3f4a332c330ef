//! Dashboard benchmark (issue 15: the batched query endpoint's latency for a 12-panel
//! dashboard over 24 h), run with `cargo bench -p vigil --bench dashboard`.
//!
//! A PostgreSQL is started for the run and Vigil's application (its router, with every
//! middleware) is built over it in this process, its query cache listening as `vigil serve`'s
//! does. Synthetic series like the demo's services (request counters by route and status, a
//! latency histogram, CPU and memory per instance) are stored with 24 h and 10 min of history
//! at 15 s. Then `POST /api/v1/query/batch` is asked for 12 dashboard-style queries (10 range
//! queries over 24 h at a 60 s step, 2 instant ones), with a read API key:
//! - first view: BENCH_COLD_RUNS (5) times, each with a fresh application (an empty query
//!   cache; PostgreSQL's own cache is warm after the first);
//! - refresh: BENCH_RUNS (20) times, as a dashboard refreshing every minute does — a minute of
//!   new samples is written through the store, then the window slides by one step and the
//!   batch is asked again (through the cache, which reads only what changed).
//!
//! Then the same 12 panels are drawn in chromium (`e2e/bench/dashboard-draw.mjs`): each of
//! BENCH_BROWSER_COLD_RUNS (3) first visits on a fresh server in a fresh browser profile,
//! then BENCH_BROWSER_RUNS (10) refreshes, timed until every panel is drawn.
//!
//! Knobs: BENCH_JOBS (3), BENCH_INSTANCES (4) per job, BENCH_ROUTES (5), BENCH_STEP (60, the
//! range queries' step in seconds for the batch alone). The raw samples are
//! read (no rollups are computed here). Prometheus has no batched endpoint to compare with.

use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt as _;
use sqlx::PgPool;
use tokio::io::AsyncBufReadExt as _;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use vigil::config::AppConfig;
use vigil::db::{self, EmbeddedCluster, EmbeddedOptions, PoolSettings};
use vigil::metrics::cache;
use vigil::metrics::copy::SampleRowEncoder;
use vigil::metrics::model::{Labels, Sample, SeriesWrite, WriteBatch};
use vigil::state::{AppState, ServerInfo};
use vigil_shared::dashboard::BatchAnswer;

const STEP_MS: i64 = 15_000;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// Histogram buckets of the latency series.
const BUCKETS: [&str; 7] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];

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
        "{kind:<40} runs {:>3}  min {:>7.1} ms  median {:>7.1} ms  p95 {:>7.1} ms  max {:>7.1} ms",
        ms.len(),
        ms[0],
        at(0.5),
        at(0.95),
        ms[ms.len() - 1]
    );
}

/// One synthetic series and how its value grows.
#[derive(Clone)]
struct Series {
    labels: Labels,
    /// Added every 15 s (counters), or the level (gauges).
    per_step: f64,
    counter: bool,
}

impl Series {
    fn value(&self, t: i64) -> f64 {
        let step = t / STEP_MS;
        // A little variation so rates and quantiles move.
        let wobble = 1.0 + 0.3 * ((step % 17) as f64 / 17.0);
        if self.counter {
            step as f64 * self.per_step * wobble
        } else {
            self.per_step * wobble
        }
    }
}

fn synthetic(jobs: usize, instances: usize, routes: usize) -> Vec<Series> {
    let mut all = Vec::new();
    for j in 0..jobs {
        let job = format!("service-{j}");
        for i in 0..instances {
            let instance = format!("{job}-{i}:8080");
            let base = [("job", job.as_str()), ("instance", instance.as_str())];
            for r in 0..routes {
                for (status, share) in [("200", 0.95), ("404", 0.03), ("500", 0.02)] {
                    let route = format!("/api/{r}");
                    let mut pairs = vec![("__name__", "http_requests_total")];
                    pairs.extend(base);
                    pairs.extend([("route", route.as_str()), ("status", status)]);
                    all.push(Series {
                        labels: Labels::from_pairs(pairs),
                        per_step: 150.0 * share,
                        counter: true,
                    });
                }
            }
            for (b, le) in BUCKETS.iter().enumerate() {
                let mut pairs = vec![("__name__", "http_request_duration_seconds_bucket")];
                pairs.extend(base);
                pairs.push(("le", le));
                all.push(Series {
                    labels: Labels::from_pairs(pairs),
                    per_step: 150.0 * (b + 3) as f64 / (BUCKETS.len() + 2) as f64,
                    counter: true,
                });
            }
            let mut cpu = vec![("__name__", "process_cpu_seconds_total")];
            cpu.extend(base);
            all.push(Series {
                labels: Labels::from_pairs(cpu),
                per_step: 4.0,
                counter: true,
            });
            let mut memory = vec![("__name__", "process_resident_memory_bytes")];
            memory.extend(base);
            all.push(Series {
                labels: Labels::from_pairs(memory),
                per_step: 2.0e8,
                counter: false,
            });
        }
    }
    all
}

/// The dashboard: (id, expression, instant).
const PANELS: [(&str, &str, bool); 12] = [
    (
        "requests",
        "sum by (job) (rate(http_requests_total[5m]))",
        false,
    ),
    (
        "errors",
        "sum by (job) (rate(http_requests_total{status=~\"5..\"}[5m])) / sum by (job) (rate(http_requests_total[5m]))",
        false,
    ),
    (
        "p99",
        "histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))",
        false,
    ),
    (
        "p50",
        "histogram_quantile(0.5, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))",
        false,
    ),
    (
        "routes",
        "sum by (route) (rate(http_requests_total[5m]))",
        false,
    ),
    (
        "statuses",
        "sum by (status) (rate(http_requests_total[5m]))",
        false,
    ),
    ("cpu", "rate(process_cpu_seconds_total[5m])", false),
    ("memory", "process_resident_memory_bytes", false),
    (
        "instances",
        "sum by (instance) (rate(http_requests_total[5m]))",
        false,
    ),
    (
        "top-routes",
        "topk(5, sum by (job, route) (rate(http_requests_total[5m])))",
        false,
    ),
    ("total-now", "sum(rate(http_requests_total[5m]))", true),
    (
        "p99-now",
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
        true,
    ),
];

fn batch_body(end_ms: i64) -> String {
    let (start, end) = ((end_ms - DAY_MS) / 1000, end_ms / 1000);
    let queries: Vec<serde_json::Value> = PANELS
        .iter()
        .map(|(id, expr, instant)| {
            if *instant {
                serde_json::json!({ "id": id, "expr": expr, "end": end })
            } else {
                serde_json::json!({ "id": id, "expr": expr, "start": start, "end": end, "step": knob("BENCH_STEP", 60) })
            }
        })
        .collect();
    serde_json::json!({ "queries": queries }).to_string()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!(
        "Vigil dashboard benchmark — {} — {} cores",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-dashboard-{}", std::process::id()));
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

/// The application over `pool` with its query cache listening; stops with `shutdown`.
async fn application(
    pool: &PgPool,
    config: AppConfig,
    shutdown: &CancellationToken,
) -> anyhow::Result<AppState> {
    let info = ServerInfo {
        started_at: chrono::Utc::now(),
        database_mode: "external",
    };
    let state = AppState::new(pool.clone(), config, info).await?;
    tokio::spawn(cache::listen_worker(
        state.metrics.clone(),
        shutdown.clone(),
    ));
    for _ in 0..200 {
        if state.metrics.cache().is_enabled() {
            return Ok(state);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    anyhow::bail!("the query cache did not start listening")
}

/// Asks the batch at `end_ms`; answers the time taken (ms) after checking every item drew data.
async fn ask(app: &axum::Router, key: &str, end_ms: i64) -> anyhow::Result<f64> {
    let request = Request::post("/api/v1/query/batch")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(batch_body(end_ms)))?;
    let started = Instant::now();
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(
        status.is_success(),
        "the batch failed: {}",
        String::from_utf8_lossy(&body)
    );
    let answer: BatchAnswer = serde_json::from_slice(&body)?;
    for result in &answer.results {
        let data = result
            .data
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("{} failed: {:?}", result.id, result.error))?;
        let drawn = match serde_json::to_value(data)?["result"].as_array() {
            Some(series) => !series.is_empty(),
            None => true,
        };
        anyhow::ensure!(drawn, "{} drew nothing", result.id);
    }
    Ok(elapsed)
}

/// Samples for every series at each of `times`.
fn samples_at(series: &[Series], times: &[i64]) -> WriteBatch {
    WriteBatch {
        series: series
            .iter()
            .map(|s| SeriesWrite {
                labels: s.labels.clone(),
                samples: times
                    .iter()
                    .map(|&t| Sample {
                        timestamp_ms: t,
                        value: s.value(t),
                    })
                    .collect(),
            })
            .collect(),
        metadata: Vec::new(),
    }
}

/// A minute of samples for every series, from `from_ms` (exclusive).
fn minute_of(series: &[Series], from_ms: i64) -> WriteBatch {
    let times: Vec<i64> = (1..=4).map(|k| from_ms + k * STEP_MS).collect();
    samples_at(series, &times)
}

async fn run(cluster: &EmbeddedCluster) -> anyhow::Result<()> {
    let cold_runs = knob("BENCH_COLD_RUNS", 5);
    let runs = knob("BENCH_RUNS", 20);
    let series = synthetic(
        knob("BENCH_JOBS", 3),
        knob("BENCH_INSTANCES", 4),
        knob("BENCH_ROUTES", 5),
    );
    db::ensure_database(cluster, "vigil").await?;
    let pool = db::pool_options(&PoolSettings::default())
        .connect_with(cluster.connect_options("vigil"))
        .await?;
    db::migrate(&pool).await?;
    let (key, hash) = vigil::auth::token::new_opaque_token("vgl_");
    sqlx::query(
        "INSERT INTO api_keys (name, prefix, key_hash, scopes)
         VALUES ('bench', 'vgl_bench', $1, ARRAY['read'])",
    )
    .bind(hash)
    .execute(&pool)
    .await?;

    // History ends half an hour ago, so the refreshes' new minutes stay within what the
    // store accepts (an hour old to 10 minutes ahead).
    let end = (chrono::Utc::now().timestamp_millis() - 30 * 60_000) / 60_000 * 60_000;
    let shutdown = CancellationToken::new();
    let seeding = Instant::now();
    let state = application(&pool, AppConfig::default(), &shutdown).await?;
    // The series are created through the store (one sample each at `end`), the history before
    // it copied in as the metrics benchmark does.
    let outcome = state.metrics.write(samples_at(&series, &[end])).await?;
    anyhow::ensure!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    let ids: std::collections::HashMap<uuid::Uuid, i64> =
        sqlx::query_as::<_, (uuid::Uuid, i64)>("SELECT fingerprint, id FROM metric_series")
            .fetch_all(&pool)
            .await?
            .into_iter()
            .collect();
    let first = end - DAY_MS - 10 * 60_000;
    for day in [first, end] {
        vigil::metrics::partitions::create_day(&pool, vigil::metrics::store::day_of(day)).await?;
    }
    let mut samples = 0usize;
    for chunk in series.chunks(20) {
        let mut encoder = SampleRowEncoder::new(chunk.len() * (DAY_MS / STEP_MS) as usize);
        for s in chunk {
            let id = ids[&s.labels.fingerprint()];
            let mut t = first;
            while t < end {
                encoder.push(id, t, s.value(t));
                samples += 1;
                t += STEP_MS;
            }
        }
        let mut conn = pool.acquire().await?;
        let mut copy = conn
            .copy_in_raw("COPY metric_samples (series_id, ts, value) FROM STDIN (FORMAT binary)")
            .await?;
        copy.send(encoder.finish().freeze()).await?;
        copy.finish().await?;
    }
    sqlx::query("ANALYZE metric_samples").execute(&pool).await?;
    println!(
        "{} series, {samples} samples (24 h 10 min at 15 s) stored in {:.1} s",
        series.len(),
        seeding.elapsed().as_secs_f64()
    );
    println!("12 queries: 10 range (24 h, step 60 s) and 2 instant, in one batch");

    let mut cold = Vec::new();
    for _ in 0..cold_runs.max(1) {
        let fresh = application(&pool, AppConfig::default(), &shutdown).await?;
        let app = vigil::router::router(fresh);
        cold.push(ask(&app, &key, end).await?);
    }
    summary("first view (empty query cache)", cold);

    let app = vigil::router::router(state.clone());
    ask(&app, &key, end).await?;
    let mut refreshes = Vec::new();
    let mut now = end;
    for _ in 0..runs.max(1) {
        state.metrics.write(minute_of(&series, now)).await?;
        now += 60_000;
        refreshes.push(ask(&app, &key, now).await?);
    }
    summary("refresh (window slid by one step)", refreshes);

    let outcome = in_chromium(&pool, &state, &series, now, &shutdown).await;
    shutdown.cancel();
    outcome
}

/// The dashboard the browser draws: the batch's 12 queries as 10 time series and 2 stats
/// over the last 24 h, four panels to a row.
fn dashboard_model() -> serde_json::Value {
    let mut panels = serde_json::Map::new();
    let mut items = Vec::new();
    for (index, (id, expr, instant)) in PANELS.iter().enumerate() {
        let kind = if *instant { "stat" } else { "time_series" };
        panels.insert(
            (*id).to_owned(),
            serde_json::json!({
                "kind": kind,
                "title": id,
                "queries": [{ "expr": expr, "instant": instant }],
            }),
        );
        items.push(serde_json::json!({
            "panel": id, "x": (index % 4) * 6, "y": (index / 4) * 6, "w": 6, "h": 6,
        }));
    }
    serde_json::json!({
        "title": "Benchmark: 12 panels over 24 h",
        "panels": panels,
        "layout": [{ "items": items }],
        "time": { "range": "24h" },
    })
}

/// Serves `state` with its web UI on a free loopback port until `shutdown`; answers the origin.
async fn serve(state: AppState, shutdown: &CancellationToken) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let app =
        vigil::router::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(vigil::serve::tuned(listener), app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });
    Ok(origin)
}

/// What the chromium half needs that `cargo bench` does not build; `None` when all is there.
fn missing_for_chromium(root: &std::path::Path, chromium: &str) -> Option<String> {
    let needs = [
        (
            root.join("frontend/dist/index.html"),
            "cargo xtask build-web",
        ),
        (
            root.join("e2e/node_modules/@playwright/test"),
            "cd e2e && npm ci",
        ),
        (
            std::path::PathBuf::from(chromium),
            "apt-get install chromium",
        ),
    ];
    let missing: Vec<String> = needs
        .iter()
        .filter(|(path, _)| !path.exists())
        .map(|(path, fix)| format!("{} ({fix})", path.display()))
        .collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// The same dashboard drawn in chromium (`e2e/bench/dashboard-draw.mjs`): each first visit on
/// a fresh server (an empty query cache) in a fresh browser profile, then refreshes while
/// samples keep arriving every 15 s, as from a scrape.
async fn in_chromium(
    pool: &PgPool,
    state: &AppState,
    series: &[Series],
    written_to: i64,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the backend is in the workspace")
        .to_path_buf();
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if let Some(missing) = missing_for_chromium(&root, &chromium) {
        println!("chromium: skipped, missing {missing}");
        return Ok(());
    }
    // History up to now, then a sample every 15 s while the browser works.
    let mut last = written_to;
    let now_ms = || chrono::Utc::now().timestamp_millis();
    while last + 60_000 <= now_ms() {
        state.metrics.write(minute_of(series, last)).await?;
        last += 60_000;
    }
    let live = {
        let (metrics, series, stop) = (state.metrics.clone(), series.to_vec(), shutdown.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(STEP_MS as u64));
            while !stop.is_cancelled() {
                tick.tick().await;
                while last + STEP_MS <= now_ms() {
                    last += STEP_MS;
                    if let Err(error) = metrics.write(samples_at(&series, &[last])).await {
                        eprintln!("live samples: {error}");
                    }
                }
            }
        })
    };

    let password = "bench password";
    vigil::demo::seed_users(pool, password).await?;
    let model_file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-dashboard-{}.json", std::process::id()));
    std::fs::write(&model_file, dashboard_model().to_string())?;
    let config = AppConfig {
        web_dir: Some(root.join("frontend/dist")),
        ..AppConfig::default()
    };
    let mut origins = Vec::new();
    for _ in 0..knob("BENCH_BROWSER_COLD_RUNS", 3).max(1) {
        let fresh = application(pool, config.clone(), shutdown).await?;
        origins.push(serve(fresh, shutdown).await?);
    }
    let runs = knob("BENCH_BROWSER_RUNS", 10);
    println!(
        "chromium: {} first visits (each a fresh server and browser profile), then {runs} refreshes",
        origins.len()
    );
    let mut child = tokio::process::Command::new("node")
        .arg(root.join("e2e/bench/dashboard-draw.mjs"))
        .current_dir(root.join("e2e"))
        .env("BENCH_ORIGINS", origins.join(" "))
        .env("BENCH_EMAIL", "editor@vigil.local")
        .env("BENCH_PASSWORD", password)
        .env("BENCH_DASHBOARD_FILE", &model_file)
        .env("BENCH_PANELS", PANELS.len().to_string())
        .env("BENCH_RUNS", runs.to_string())
        .env("CHROMIUM_PATH", &chromium)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let (mut firsts, mut refreshes, mut answers) = (Vec::new(), Vec::new(), Vec::new());
    // Each first visit's parts, in the order the script names them.
    let mut phases: Vec<(String, Vec<f64>)> = Vec::new();
    while let Some(line) = lines.next_line().await? {
        match line.split_once(' ') {
            Some(("first", ms)) => firsts.push(ms.parse::<f64>()?),
            Some(("phase", part)) => {
                let (name, ms) = part.split_once(' ').unwrap_or((part, "0"));
                let name = name.replace('_', " ");
                let ms = ms.parse::<f64>()?;
                match phases.iter_mut().find(|(known, _)| *known == name) {
                    Some((_, times)) => times.push(ms),
                    None => phases.push((name, vec![ms])),
                }
            }
            Some(("refresh", times)) => {
                let (drawn, answered) = times.split_once(' ').unwrap_or((times, times));
                refreshes.push(drawn.parse::<f64>()?);
                answers.push(answered.parse::<f64>()?);
            }
            _ => {}
        }
        // Progress: the browser's runs take a while.
        eprint!(".");
    }
    eprintln!();
    let status = child.wait().await?;
    live.abort();
    let _ = std::fs::remove_file(&model_file);
    anyhow::ensure!(status.success(), "the chromium script failed ({status})");
    anyhow::ensure!(
        !firsts.is_empty() && !refreshes.is_empty(),
        "the chromium script measured nothing"
    );
    summary("chromium: first visit, all 12 drawn", firsts);
    for (name, times) in phases {
        summary(&format!("  {name} at"), times);
    }
    summary("chromium: refresh, all 12 drawn again", refreshes);
    summary("  of which until the batch was answered", answers);
    Ok(())
}
