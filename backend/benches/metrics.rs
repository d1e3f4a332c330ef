//! Vigil's metrics benchmark (SPEC §12), run with `cargo bench -p vigil --bench metrics`.
//!
//! Against a durable PostgreSQL started for the run and the release `vigil serve`:
//! 1. remote_write ingestion: concurrent clients send pre-encoded, realistic WriteRequests;
//!    committed samples per second (every 204 means committed), and in the same run the raw
//!    binary COPY rate of the same rows into the same table, as the reference;
//! 2. query latency of `sum by (job) (rate(http_requests_total[5m]))` over 24 h at a 60 s
//!    step, on 1,000 series at 15 s resolution: median and p95 over repeated runs;
//! 3. the server's resident memory when idle and its peak during ingestion.
//!
//! Environment knobs: BENCH_SERIES (10000), BENCH_SAMPLES_PER_SERIES (60), BENCH_CLIENTS (8),
//! BENCH_BATCH (2000 samples per request), BENCH_QUERY_RUNS (20), BENCH_PHASES ("ingest,query");
//! BENCH_SERVER_LOG (a RUST_LOG filter for the server) and BENCH_SERVER_LOG_FILE (where its log goes).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use prost::Message as _;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use vigil::db::{self, EmbeddedCluster, EmbeddedOptions};
use vigil::ingest::remote_write::{TimeSeries, WireLabel, WireSample, WriteRequest};
use vigil::metrics::copy::SampleRowEncoder;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn say(line: impl AsRef<str>) {
    println!("{}", line.as_ref());
}

struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}

/// (current, peak) resident memory of a process in MB, from /proc.
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cores} cores ({cpu}), {mem:.0} GiB RAM")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let series = knob("BENCH_SERIES", 10_000);
    let samples_per_series = knob("BENCH_SAMPLES_PER_SERIES", 60);
    let clients = knob("BENCH_CLIENTS", 8);
    let batch = knob("BENCH_BATCH", 2_000);
    let query_runs = knob("BENCH_QUERY_RUNS", 20);
    let phases = std::env::var("BENCH_PHASES").unwrap_or_else(|_| "ingest,query".to_owned());
    let run_ingest = phases.contains("ingest");
    let run_query = phases.contains("query");

    // reqwest is built with rustls and no default crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    say(format!(
        "Vigil metrics benchmark — {} — {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine()
    ));

    // A durable PostgreSQL (default settings: fsync on), fresh for this run.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-{}", std::process::id()));
    let cluster = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || EmbeddedCluster::start(&dir, &EmbeddedOptions::default())
    })
    .await??;
    let outcome = measure(
        &cluster,
        Knobs {
            series,
            samples_per_series,
            clients,
            batch,
            query_runs,
            run_ingest,
            run_query,
        },
    )
    .await;
    // Stopped and removed whatever happened, so a failed run leaves no PostgreSQL behind.
    let _ = PgConnection::connect_with(&cluster.connect_options("postgres"))
        .await
        .map(|c| c.close());
    tokio::task::spawn_blocking(move || cluster.release()).await??;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// What to measure, from the environment.
struct Knobs {
    series: usize,
    samples_per_series: usize,
    clients: usize,
    batch: usize,
    query_runs: usize,
    run_ingest: bool,
    run_query: bool,
}

async fn measure(cluster: &EmbeddedCluster, knobs: Knobs) -> anyhow::Result<()> {
    let Knobs {
        series,
        samples_per_series,
        clients,
        batch,
        query_runs,
        run_ingest,
        run_query,
    } = knobs;
    db::ensure_database(cluster, "vigil").await?;
    let url = cluster.url("vigil");
    let pool = PgPoolOptions::new()
        .max_connections(clients as u32 + 2)
        .connect_with(cluster.connect_options("vigil"))
        .await?;
    db::migrate(&pool).await?;
    say(format!(
        "PostgreSQL ready ({})",
        sqlx::query_scalar::<_, String>("SELECT version()")
            .fetch_one(&pool)
            .await?
            .split(" on ")
            .next()
            .unwrap_or("")
    ));

    // An ingest+read API key, stored as the server stores them.
    let (key, hash) = vigil::auth::token::new_opaque_token("vgl_");
    sqlx::query("INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ('bench', 'vgl_bench', $1, ARRAY['ingest','read'])")
        .bind(hash)
        .execute(&pool)
        .await?;

    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let server = ServerProcess(
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args([
                "serve",
                "--listen",
                &listen.to_string(),
                "--web-dir",
                "/nonexistent",
                "--log-format",
                "json",
                // Only the benchmark's own samples go in, so the committed count is exact.
                "--no-self-scrape",
            ])
            .env("DATABASE_URL", &url)
            .env(
                "RUST_LOG",
                std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .env("VIGIL_DB_MAX_CONNECTIONS", (clients + 4).to_string())
            .stdout(match std::env::var("BENCH_SERVER_LOG_FILE") {
                Ok(path) => Stdio::from(std::fs::File::create(path)?),
                Err(_) => Stdio::null(),
            })
            .stderr(Stdio::null())
            .spawn()?,
    );
    let base = format!("http://{listen}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status().is_success())
        .ok()
        != Some(true)
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "vigil serve did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (idle_rss, _) = memory_mb(server.0.id());
    say(format!(
        "vigil serve ready at {base}; idle RSS {idle_rss:.1} MB"
    ));

    // 1. remote_write ingestion.
    let (mut ingest_rate, mut copy_rate, mut peak) = (0.0f64, 0.0f64, 0.0f64);
    if run_ingest {
        let total = series * samples_per_series;
        say(format!(
            "\n[1] remote_write: {series} series x {samples_per_series} samples = {total} samples, {batch} per request, {clients} clients"
        ));
        let now = chrono::Utc::now().timestamp_millis();
        let first_ts = now - 50 * 60_000;
        let spacing = (50 * 60_000 / samples_per_series.max(1) as i64).max(1);
        let labels_of = |i: usize| -> Vec<WireLabel> {
            [
                ("__name__", "bench_requests_total".to_owned()),
                ("job", format!("service-{}", i % 20)),
                (
                    "instance",
                    format!("10.0.{}.{}:9100", (i / 250) % 256, i % 250),
                ),
                ("method", ["GET", "POST", "PUT", "DELETE"][i % 4].to_owned()),
                ("status", ["200", "404", "500"][i % 3].to_owned()),
                ("region", ["eu-west-1", "us-east-1"][i % 2].to_owned()),
                ("series", i.to_string()),
            ]
            .into_iter()
            .map(|(name, value)| WireLabel {
                name: name.to_owned(),
                value,
            })
            .collect()
        };
        // Requests carry consecutive samples of consecutive series, like a Prometheus queue shard.
        let mut bodies = Vec::new();
        let mut current = Vec::new();
        let mut in_batch = 0;
        for step in 0..samples_per_series {
            for i in 0..series {
                current.push(TimeSeries {
                    labels: labels_of(i),
                    samples: vec![WireSample {
                        value: (step * 10 + i % 7) as f64,
                        timestamp: first_ts + step as i64 * spacing,
                    }],
                    histograms: vec![],
                });
                in_batch += 1;
                if in_batch == batch {
                    let request = WriteRequest {
                        timeseries: std::mem::take(&mut current),
                        metadata: vec![],
                    };
                    bodies.push(snap::raw::Encoder::new().compress_vec(&request.encode_to_vec())?);
                    in_batch = 0;
                }
            }
        }
        if !current.is_empty() {
            let request = WriteRequest {
                timeseries: current,
                metadata: vec![],
            };
            bodies.push(snap::raw::Encoder::new().compress_vec(&request.encode_to_vec())?);
        }
        let bytes: usize = bodies.iter().map(Vec::len).sum();
        say(format!(
            "  {} requests pre-encoded ({:.1} MB snappy)",
            bodies.len(),
            bytes as f64 / 1e6
        ));

        let bodies = Arc::new(bodies);
        let peak_rss = Arc::new(std::sync::Mutex::new(0.0f64));
        let sampler = {
            let peak_rss = peak_rss.clone();
            let pid = server.0.id();
            tokio::spawn(async move {
                loop {
                    let (rss, _) = memory_mb(pid);
                    {
                        let mut peak = peak_rss.lock().unwrap();
                        *peak = peak.max(rss);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        let started = Instant::now();
        let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..bodies.len())
            .map(|i| {
                let http = http.clone();
                let bodies = bodies.clone();
                let url = format!("{base}/prometheus/api/v1/write");
                let key = key.clone();
                async move {
                    let response = http
                        .post(url)
                        .header("Authorization", format!("Bearer {key}"))
                        .header("Content-Type", "application/x-protobuf")
                        .header("Content-Encoding", "snappy")
                        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                        .body(bodies[i].clone())
                        .send()
                        .await?;
                    anyhow::ensure!(
                        response.status().as_u16() == 204,
                        "request {i}: {}",
                        response.status()
                    );
                    Ok(())
                }
            })
            .buffer_unordered(clients)
            .collect()
            .await;
        let ingest_seconds = started.elapsed().as_secs_f64();
        sampler.abort();
        for result in results {
            result?;
        }
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM metric_samples")
            .fetch_one(&pool)
            .await?;
        anyhow::ensure!(
            stored as usize == total,
            "stored {stored} samples, sent {total}"
        );
        ingest_rate = total as f64 / ingest_seconds;
        let (_, hwm) = memory_mb(server.0.id());
        peak = peak_rss.lock().unwrap().max(hwm);
        say(format!(
            "  committed {total} samples in {ingest_seconds:.2} s: {ingest_rate:.0} samples/s"
        ));
        say(format!("  server RSS peak during ingestion: {peak:.1} MB"));

        // The same rows, straight into the same table with binary COPY, same batching and concurrency.
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM metric_series WHERE metric = 'bench_requests_total' ORDER BY (labels->>'series')::int")
            .fetch_all(&pool)
            .await?;
        anyhow::ensure!(
            ids.len() == series,
            "expected {series} series, found {}",
            ids.len()
        );
        let mut chunks = Vec::new();
        let mut encoder = SampleRowEncoder::new(batch);
        let mut rows = 0;
        for step in 0..samples_per_series {
            for (i, id) in ids.iter().enumerate() {
                encoder.push(
                    *id,
                    first_ts + step as i64 * spacing,
                    (step * 10 + i % 7) as f64,
                );
                rows += 1;
                if rows == batch {
                    chunks.push(
                        std::mem::replace(&mut encoder, SampleRowEncoder::new(batch))
                            .finish()
                            .freeze(),
                    );
                    rows = 0;
                }
            }
        }
        if rows > 0 {
            chunks.push(encoder.finish().freeze());
        }
        let chunks = Arc::new(chunks);
        let started = Instant::now();
        let copies: Vec<anyhow::Result<()>> = futures::stream::iter(0..chunks.len())
            .map(|i| {
                let pool = pool.clone();
                let chunks = chunks.clone();
                async move {
                    let mut conn = pool.acquire().await?;
                    let mut copy = conn
                        .copy_in_raw(
                            "COPY metric_samples (series_id, ts, value) FROM STDIN (FORMAT binary)",
                        )
                        .await?;
                    copy.send(chunks[i].clone()).await?;
                    copy.finish().await?;
                    Ok(())
                }
            })
            .buffer_unordered(clients)
            .collect()
            .await;
        let copy_seconds = started.elapsed().as_secs_f64();
        for result in copies {
            result?;
        }
        copy_rate = total as f64 / copy_seconds;
        say(format!(
            "  raw binary COPY of the same rows: {copy_seconds:.2} s: {copy_rate:.0} rows/s"
        ));
        say(format!(
            "  remote_write / raw COPY = {:.0} %",
            100.0 * ingest_rate / copy_rate
        ));
    }

    // 2. Query latency.
    let mut timings = vec![f64::NAN];
    if run_query {
        let query_series = 1_000;
        let day = 24 * 3600 * 1000;
        let end = (chrono::Utc::now().timestamp_millis() - 5 * 60_000) / 60_000 * 60_000;
        say(format!(
            "\n[2] query: {query_series} series x 24 h at 15 s = {} samples",
            query_series * (day / 15_000) as usize
        ));
        let seeded = Instant::now();
        sqlx::query(
            "INSERT INTO metric_series (fingerprint, metric, labels)
             SELECT md5('bench-query-' || i)::uuid, 'http_requests_total',
                    jsonb_build_object('job', 'job-' || (i % 10), 'instance', 'host-' || i)
             FROM generate_series(1, $1) AS i",
        )
        .bind(query_series as i32)
        .execute(&pool)
        .await?;
        let query_ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM metric_series WHERE metric = 'http_requests_total' ORDER BY id",
        )
        .fetch_all(&pool)
        .await?;
        for day_offset in 0..=1 {
            vigil::metrics::partitions::create_day(
                &pool,
                vigil::metrics::store::day_of(end - day * day_offset),
            )
            .await?;
        }
        let mut seed_chunks = Vec::new();
        for ids in query_ids.chunks(50) {
            let mut encoder = SampleRowEncoder::new(ids.len() * (day / 15_000) as usize);
            for (n, id) in ids.iter().enumerate() {
                let mut counter = 0.0;
                let mut t = end - day - 10 * 60_000;
                while t <= end {
                    counter += ((t / 15_000 + n as i64) % 13) as f64;
                    encoder.push(*id, t, counter);
                    t += 15_000;
                }
            }
            seed_chunks.push(encoder.finish().freeze());
        }
        let seed_results: Vec<anyhow::Result<()>> = futures::stream::iter(seed_chunks)
            .map(|chunk| {
                let pool = pool.clone();
                async move {
                    let mut conn = pool.acquire().await?;
                    let mut copy = conn
                        .copy_in_raw(
                            "COPY metric_samples (series_id, ts, value) FROM STDIN (FORMAT binary)",
                        )
                        .await?;
                    copy.send(chunk).await?;
                    copy.finish().await?;
                    Ok(())
                }
            })
            .buffer_unordered(clients)
            .collect()
            .await;
        for result in seed_results {
            result?;
        }
        sqlx::query("ANALYZE metric_samples").execute(&pool).await?;
        say(format!(
            "  seeded in {:.1} s",
            seeded.elapsed().as_secs_f64()
        ));
        let query = "sum by (job) (rate(http_requests_total[5m]))";
        // Like a dashboard refreshing every 15 s: the window slides a little each run. The
        // first run reads the whole day from PostgreSQL; later ones what the cache lacks.
        timings.clear();
        let mut cold = f64::NAN;
        for run in 0..=query_runs {
            let slide = run as i64 * 15_000;
            let url = format!(
                "{base}/prometheus/api/v1/query_range?query={}&start={}&end={}&step=60",
                form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>(),
                (end - day + slide) as f64 / 1000.0,
                (end + slide) as f64 / 1000.0
            );
            let started = Instant::now();
            let response = http
                .get(&url)
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await?;
            let status = response.status();
            let body: serde_json::Value = serde_json::from_slice(&response.bytes().await?)?;
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            anyhow::ensure!(status.is_success(), "query failed: {body}");
            let result = body["data"]["result"].as_array().map_or(0, Vec::len);
            anyhow::ensure!(result == 10, "expected 10 jobs, got {result}");
            if run == 0 {
                cold = elapsed;
            } else {
                timings.push(elapsed);
            }
        }
        timings.sort_by(|a, b| a.partial_cmp(b).unwrap());
        say(format!(
            "  `{query}`, 24 h, step 60 s: first run (nothing cached) {cold:.0} ms; \
             then, refreshed as the window slides by 15 s: median {:.0} ms, p95 {:.0} ms over {query_runs} runs",
            percentile(&timings, 0.5),
            percentile(&timings, 0.95)
        ));
    }

    let (rss_after, hwm_after) = memory_mb(server.0.id());
    say(format!(
        "\n[3] memory: idle {idle_rss:.1} MB; peak during ingestion {peak:.1} MB; now {rss_after:.1} MB (high-water {hwm_after:.1} MB)"
    ));

    say("\nSPEC §12 targets:");
    say(format!(
        "  remote_write >= 250,000 samples/s ............ {ingest_rate:>10.0}  {}",
        verdict_if(run_ingest, ingest_rate >= 250_000.0)
    ));
    say(format!(
        "  remote_write >= 60 % of raw COPY ............. {:>9.0} %  {}",
        100.0 * ingest_rate / copy_rate,
        verdict_if(run_ingest, ingest_rate >= 0.6 * copy_rate)
    ));
    say(format!(
        "  query median <= 150 ms ....................... {:>7.0} ms  {}",
        percentile(&timings, 0.5),
        verdict_if(run_query, percentile(&timings, 0.5) <= 150.0)
    ));
    say(format!(
        "  server memory idle <= 60 MB .................. {idle_rss:>7.1} MB  {}",
        verdict(idle_rss <= 60.0)
    ));
    say(format!(
        "  server memory during ingestion <= 250 MB ..... {peak:>7.1} MB  {}",
        verdict_if(run_ingest, peak <= 250.0)
    ));

    drop(server);
    pool.close().await;
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

/// The verdict, or "not measured" for a phase that did not run.
fn verdict_if(ran: bool, met: bool) -> &'static str {
    if ran { verdict(met) } else { "not measured" }
}
