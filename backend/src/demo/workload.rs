//! The demo workload: three synthetic services (`checkout`, `payments`, `search`) that look
//! like real ones to every part of Vigil, with data written straight into the metric store.
//!
//! Each service runs two instances and exposes what a typical HTTP service instrumented with a
//! Prometheus client exposes: request counters by route and status, a latency histogram, CPU
//! and memory. Trouble happens on a fixed schedule so there is always something to alert on:
//!
//! - `payments` gets a latency spike (p99 several seconds) for 5 minutes of every 30;
//! - `checkout` has an error burst (a third of requests fail with 500) for 6 minutes every hour;
//! - `search` saturates its CPU for 10 minutes every 2 hours.
//!
//! Counters start at zero when Vigil starts, as a restarted process's would; `rate()` takes the
//! reset in its stride. Values depend only on the time and the series, so the same instant
//! always produces the same data (useful in tests).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

use crate::metrics::model::{Labels, MetricMetadata, MetricType, Sample, SeriesWrite, WriteBatch};
use crate::metrics::{MetricStore, rollup};

/// Time between two samples of a series, as a typical scrape interval.
pub const INTERVAL_MS: i64 = 15_000;
/// How much history the first start writes, so charts and reports have something to show.
pub const BACKFILL: TimeDelta = TimeDelta::hours(6);

/// Latency histogram bucket bounds (seconds), the Prometheus client's defaults.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

struct Service {
    name: &'static str,
    routes: [(&'static str, &'static str); 2],
    /// Requests per second per instance, on average.
    rate: f64,
    /// Median latency in seconds outside spikes.
    median_latency: f64,
    /// Resident memory per instance, bytes.
    memory: f64,
}

const SERVICES: [Service; 3] = [
    Service {
        name: "checkout",
        routes: [("POST", "/api/checkout"), ("GET", "/api/cart")],
        rate: 40.0,
        median_latency: 0.08,
        memory: 180e6,
    },
    Service {
        name: "payments",
        routes: [("POST", "/api/payments"), ("GET", "/api/payments/{id}")],
        rate: 25.0,
        median_latency: 0.12,
        memory: 240e6,
    },
    Service {
        name: "search",
        routes: [("GET", "/api/search"), ("GET", "/api/suggest")],
        rate: 90.0,
        median_latency: 0.03,
        memory: 520e6,
    },
];

const INSTANCES: usize = 2;
const STATUSES: [&str; 3] = ["200", "404", "500"];

/// What is going wrong at a time, by the fixed schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Trouble {
    pub payments_latency_spike: bool,
    pub checkout_error_burst: bool,
    pub search_cpu_saturation: bool,
}

impl Trouble {
    pub fn at(timestamp_ms: i64) -> Self {
        let minute_of = |period_minutes: i64| (timestamp_ms / 60_000).rem_euclid(period_minutes);
        Trouble {
            payments_latency_spike: (10..15).contains(&minute_of(30)),
            checkout_error_burst: (40..46).contains(&minute_of(60)),
            search_cpu_saturation: (70..80).contains(&minute_of(120)),
        }
    }
}

/// One instance's cumulative state: counters and histograms only ever grow.
#[derive(Default)]
struct InstanceState {
    /// By route, then status.
    requests: [[f64; 3]; 2],
    /// By route: cumulative bucket counts (the last is `+Inf`), sum and count.
    buckets: [[f64; BUCKETS.len() + 1]; 2],
    latency_sum: [f64; 2],
    latency_count: [f64; 2],
    cpu_seconds: f64,
}

/// The generator: call [`step`](Self::step) once per interval, in time order.
pub struct Workload {
    state: Vec<InstanceState>,
    last_ms: Option<i64>,
}

impl Default for Workload {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload {
    pub fn new() -> Self {
        Workload {
            state: (0..SERVICES.len() * INSTANCES)
                .map(|_| InstanceState::default())
                .collect(),
            last_ms: None,
        }
    }

    /// The samples for time `timestamp_ms` (after advancing every counter to it).
    pub fn step(&mut self, timestamp_ms: i64) -> WriteBatch {
        let elapsed = match self.last_ms {
            Some(last) if timestamp_ms > last => (timestamp_ms - last) as f64 / 1000.0,
            Some(_) => 0.0,
            None => INTERVAL_MS as f64 / 1000.0,
        };
        self.last_ms = Some(timestamp_ms);
        let trouble = Trouble::at(timestamp_ms);
        let mut batch = WriteBatch {
            series: Vec::new(),
            metadata: metadata(),
        };
        for (s, service) in SERVICES.iter().enumerate() {
            for i in 0..INSTANCES {
                let instance = format!("{}-{i}:9000", service.name);
                let seed = (s * INSTANCES + i) as u64;
                let state = &mut self.state[s * INSTANCES + i];
                let base = |name: &str| {
                    vec![
                        ("__name__".to_owned(), name.to_owned()),
                        ("job".to_owned(), service.name.to_owned()),
                        ("instance".to_owned(), instance.clone()),
                    ]
                };
                let mut push = |pairs: Vec<(String, String)>, value: f64| {
                    batch.series.push(SeriesWrite {
                        labels: Labels::from_pairs(pairs),
                        samples: vec![Sample {
                            timestamp_ms,
                            value,
                        }],
                    });
                };

                let mut busy = 0.0;
                for (r, (method, route)) in service.routes.iter().enumerate() {
                    let requests = route_requests(service, seed, r, timestamp_ms, elapsed);
                    let error_ratio = error_ratio(service, trouble);
                    let not_found = 0.02;
                    let split = [
                        requests * (1.0 - error_ratio - not_found),
                        requests * not_found,
                        requests * error_ratio,
                    ];
                    for (k, status) in STATUSES.iter().enumerate() {
                        state.requests[r][k] += split[k];
                        let mut pairs = base("http_requests_total");
                        pairs.push(("method".to_owned(), (*method).to_owned()));
                        pairs.push(("route".to_owned(), (*route).to_owned()));
                        pairs.push(("status".to_owned(), (*status).to_owned()));
                        push(pairs, state.requests[r][k].floor());
                    }

                    let (median, spread) = latency(service, trouble);
                    let mut previous = 0.0;
                    for (b, bound) in BUCKETS.iter().enumerate() {
                        let fraction = lognormal_cdf(*bound, median, spread);
                        state.buckets[r][b] += requests * (fraction - previous).max(0.0);
                        previous = fraction;
                    }
                    state.buckets[r][BUCKETS.len()] += requests * (1.0 - previous).max(0.0);
                    let mean = median * (spread * spread / 2.0).exp();
                    state.latency_sum[r] += requests * mean;
                    state.latency_count[r] += requests;
                    busy += requests * mean;

                    let mut cumulative = 0.0;
                    for (b, count) in state.buckets[r].iter().enumerate() {
                        cumulative += count;
                        let le = BUCKETS
                            .get(b)
                            .map_or_else(|| "+Inf".to_owned(), |bound| format_bound(*bound));
                        let mut pairs = base("http_request_duration_seconds_bucket");
                        pairs.push(("method".to_owned(), (*method).to_owned()));
                        pairs.push(("route".to_owned(), (*route).to_owned()));
                        pairs.push(("le".to_owned(), le));
                        push(pairs, cumulative.floor());
                    }
                    for (name, value) in [
                        ("http_request_duration_seconds_sum", state.latency_sum[r]),
                        (
                            "http_request_duration_seconds_count",
                            state.latency_count[r].floor(),
                        ),
                    ] {
                        let mut pairs = base(name);
                        pairs.push(("method".to_owned(), (*method).to_owned()));
                        pairs.push(("route".to_owned(), (*route).to_owned()));
                        push(pairs, value);
                    }
                }

                // CPU: a share of the time spent serving, plus background work.
                let saturated = service.name == "search" && trouble.search_cpu_saturation;
                let cpu_share = if saturated {
                    0.97
                } else {
                    (0.08 + busy / elapsed.max(1.0) * 0.01 + 0.05 * unit(seed * 7, timestamp_ms))
                        .min(0.9)
                };
                state.cpu_seconds += cpu_share * elapsed;
                push(base("process_cpu_seconds_total"), state.cpu_seconds);
                let memory =
                    service.memory * (1.0 + 0.1 * unit(seed * 13 + 1, timestamp_ms / 300_000));
                push(base("process_resident_memory_bytes"), memory.round());
                push(base("up"), 1.0);
            }
        }
        batch
    }
}

/// Requests one instance (`seed`) of `service` serves on route `r` in the `elapsed` seconds
/// up to `timestamp_ms`: a daily curve with some noise.
fn route_requests(service: &Service, seed: u64, r: usize, timestamp_ms: i64, elapsed: f64) -> f64 {
    let daily = 1.0 + 0.35 * ((timestamp_ms as f64 / 86_400_000.0) * std::f64::consts::TAU).sin();
    let noise = 0.85 + 0.3 * unit(seed * 31 + r as u64, timestamp_ms);
    let share = if r == 0 { 0.7 } else { 0.3 };
    service.rate * share * daily * noise * elapsed
}

/// The share of requests answered 500.
fn error_ratio(service: &Service, trouble: Trouble) -> f64 {
    if service.name == "checkout" && trouble.checkout_error_burst {
        0.33
    } else {
        0.004
    }
}

/// The latency distribution (log-normal): median seconds and spread.
fn latency(service: &Service, trouble: Trouble) -> (f64, f64) {
    let spike = service.name == "payments" && trouble.payments_latency_spike;
    let median = service.median_latency * if spike { 25.0 } else { 1.0 };
    (median, if spike { 0.9 } else { 0.6 })
}

/// What a service served in one minute, all instances and routes together.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MinuteTraffic {
    pub requests: f64,
    /// Answered 500.
    pub errors: f64,
    /// Answered within `threshold` seconds.
    pub fast: f64,
}

/// The model's traffic of `service` in the minute starting at `minute_ms`, interval by
/// interval as [`Workload::step`] writes it (without flooring counters), for history older
/// than the raw samples the demo writes. None for a service the demo does not run.
pub fn minute_traffic(service: &str, minute_ms: i64, threshold: f64) -> Option<MinuteTraffic> {
    let s = SERVICES.iter().position(|x| x.name == service)?;
    let service = &SERVICES[s];
    let elapsed = INTERVAL_MS as f64 / 1000.0;
    let mut traffic = MinuteTraffic::default();
    for k in 1..=60_000 / INTERVAL_MS {
        let t = minute_ms + k * INTERVAL_MS;
        let trouble = Trouble::at(t);
        let (median, spread) = latency(service, trouble);
        let fast = lognormal_cdf(threshold, median, spread);
        for i in 0..INSTANCES {
            let seed = (s * INSTANCES + i) as u64;
            for r in 0..service.routes.len() {
                let requests = route_requests(service, seed, r, t, elapsed);
                traffic.requests += requests;
                traffic.errors += requests * error_ratio(service, trouble);
                traffic.fast += requests * fast;
            }
        }
    }
    Some(traffic)
}

fn format_bound(bound: f64) -> String {
    // As Prometheus clients print them: `0.005`, `1`, `2.5`.
    let text = format!("{bound}");
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}

fn metadata() -> Vec<MetricMetadata> {
    [
        (
            "http_requests_total",
            MetricType::Counter,
            "",
            "HTTP requests served, by route and status.",
        ),
        (
            "http_request_duration_seconds",
            MetricType::Histogram,
            "seconds",
            "Time to serve an HTTP request.",
        ),
        (
            "process_cpu_seconds_total",
            MetricType::Counter,
            "seconds",
            "CPU time used by the process.",
        ),
        (
            "process_resident_memory_bytes",
            MetricType::Gauge,
            "bytes",
            "Resident memory of the process.",
        ),
    ]
    .into_iter()
    .map(|(metric, kind, unit, help)| MetricMetadata {
        metric: metric.to_owned(),
        kind,
        unit: unit.to_owned(),
        help: help.to_owned(),
    })
    .collect()
}

/// A number in `[0, 1)` that depends only on `seed` and `t` (SplitMix64).
fn unit(seed: u64, t: i64) -> f64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(t as u64)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// P(X ≤ x) for a log-normal latency with the given median and log-space spread.
fn lognormal_cdf(x: f64, median: f64, spread: f64) -> f64 {
    0.5 * (1.0 + erf((x / median).ln() / (spread * std::f64::consts::SQRT_2)))
}

/// The error function (Abramowitz and Stegun 7.1.26, error below 1.5e-7: plenty for a demo).
fn erf(x: f64) -> f64 {
    let sign = x.signum();
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    sign * (1.0 - poly * (-x * x).exp())
}

/// Writes the workload for every interval in `[from_ms, to_ms)`, in chunks each written with
/// its own end as "now" so that the store accepts history older than its usual window.
pub async fn backfill(
    store: &MetricStore,
    workload: &mut Workload,
    from_ms: i64,
    to_ms: i64,
) -> anyhow::Result<usize> {
    let mut written = 0;
    let mut t = from_ms - from_ms.rem_euclid(INTERVAL_MS);
    while t < to_ms {
        let chunk_end = (t + 20 * 60_000).min(to_ms);
        let mut batch = WriteBatch::default();
        while t < chunk_end {
            let step = workload.step(t);
            batch.series.extend(step.series);
            batch.metadata = step.metadata;
            t += INTERVAL_MS;
        }
        let now = DateTime::from_timestamp_millis(chunk_end).unwrap_or_else(Utc::now);
        written += store.write_at(batch, now).await?.samples;
    }
    Ok(written)
}

/// Where the first write should start: after the last demo sample already stored (a restart
/// continues rather than duplicating), never before what rollups have folded (they would
/// miss it), and at most [`BACKFILL`] ago.
pub async fn resume_from(store: &MetricStore, now_ms: i64) -> anyhow::Result<i64> {
    let mut from = now_ms - BACKFILL.num_milliseconds();
    if let Some(done) = rollup::rolled_up_to(store.pool(), rollup::Resolution::Minute).await? {
        from = from.max(done.timestamp_millis());
    }
    store.catalog.refresh(store.pool()).await?;
    let matchers = vec![
        promql_parser::label::Matcher::new(promql_parser::label::MatchOp::Equal, "__name__", "up"),
        promql_parser::label::Matcher::new(
            promql_parser::label::MatchOp::Equal,
            "instance",
            "checkout-0:9000",
        ),
    ];
    let ids: Vec<i64> = store
        .catalog
        .select(&matchers)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    if let Some(last) = store
        .samples(&ids, from, now_ms)
        .await?
        .iter()
        .flat_map(|samples| samples.iter().map(|s| s.timestamp_ms))
        .filter(|t| (from..=now_ms).contains(t))
        .max()
    {
        from = from.max(last + INTERVAL_MS);
    }
    Ok(from)
}

/// Runs the demo workload until shutdown: history first, then a sample set every interval.
/// A failed write (the database being down, say) is logged and the next interval goes on.
pub async fn run(store: Arc<MetricStore>, shutdown: CancellationToken) {
    let mut workload = Workload::new();
    let now_ms = Utc::now().timestamp_millis();
    match resume_from(&store, now_ms).await {
        Ok(from) if from < now_ms => {
            tracing::info!(
                minutes = (now_ms - from) / 60_000,
                "writing the demo workload's history"
            );
            match backfill(&store, &mut workload, from, now_ms).await {
                Ok(samples) => tracing::info!(samples, "demo workload history written"),
                Err(error) => tracing::warn!(error = format!("{error:#}"), "demo history failed"),
            }
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(error = format!("{error:#}"), "demo history skipped"),
    }
    loop {
        let now_ms = Utc::now().timestamp_millis();
        let next = now_ms - now_ms.rem_euclid(INTERVAL_MS) + INTERVAL_MS;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis((next - now_ms) as u64)) => {}
        }
        if let Err(error) = store.write(workload.step(next)).await {
            tracing::warn!(%error, "the demo workload could not write; trying again next interval");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trouble_follows_the_schedule() {
        let minute = 60_000;
        assert!(Trouble::at(12 * minute).payments_latency_spike);
        assert!(!Trouble::at(20 * minute).payments_latency_spike);
        assert!(Trouble::at(42 * minute).checkout_error_burst);
        assert!(!Trouble::at(50 * minute).checkout_error_burst);
        assert!(Trouble::at(75 * minute).search_cpu_saturation);
        assert!(!Trouble::at(15 * minute).search_cpu_saturation);
    }

    #[test]
    fn counters_and_buckets_never_decrease() {
        let mut workload = Workload::new();
        let first = workload.step(0);
        let mut later = first.clone();
        for i in 1..400 {
            later = workload.step(i * INTERVAL_MS);
        }
        assert_eq!(first.series.len(), later.series.len());
        for (a, b) in first.series.iter().zip(&later.series) {
            assert_eq!(a.labels, b.labels);
            let name = a.labels.metric_name().unwrap();
            if name.ends_with("_total") || name.ends_with("_bucket") || name.ends_with("_count") {
                assert!(b.samples[0].value >= a.samples[0].value, "{}", a.labels);
            }
        }
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf() {
        let mut workload = Workload::new();
        let batch = workload.step(5 * INTERVAL_MS);
        let buckets: Vec<&SeriesWrite> = batch
            .series
            .iter()
            .filter(|s| {
                s.labels.metric_name() == Some("http_request_duration_seconds_bucket")
                    && s.labels.get("instance") == Some("checkout-0:9000")
                    && s.labels.get("route") == Some("/api/checkout")
            })
            .collect();
        assert_eq!(buckets.len(), BUCKETS.len() + 1);
        assert_eq!(buckets.last().unwrap().labels.get("le"), Some("+Inf"));
        assert_eq!(buckets[0].labels.get("le"), Some("0.005"));
        assert_eq!(buckets[7].labels.get("le"), Some("1"));
        for pair in buckets.windows(2) {
            assert!(pair[0].samples[0].value <= pair[1].samples[0].value);
        }
    }

    #[test]
    fn erf_is_close_enough() {
        assert!(erf(0.0).abs() < 1e-6);
        assert!((erf(1.0) - 0.842_700_79).abs() < 1e-6);
        assert!((erf(-1.0) + 0.842_700_79).abs() < 1e-6);
    }
}
