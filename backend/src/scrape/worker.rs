//! The scrape worker: claims due targets (`FOR UPDATE SKIP LOCKED`, so replicas share them),
//! fetches their metrics, and writes the samples with `job` and `instance` plus Prometheus'
//! own per-scrape series: `up`, `scrape_duration_seconds`, `scrape_samples_scraped`. Series that
//! disappear, and every series of a target that goes down, get staleness markers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use sqlx::PgPool;
use sqlx::types::Json as SqlJson;
use tokio_util::sync::CancellationToken;

use super::parse::{self, Exposition};
use crate::metrics::MetricStore;
use crate::metrics::model::{Labels, Sample, SeriesWrite, WriteBatch, stale_nan};
use crate::ops::metrics::Metrics;
use crate::outbound::Outbound;

/// The largest body a target may send.
const MAX_BODY: usize = 16 << 20;
/// Targets scraped at once by one replica.
const CONCURRENCY: usize = 16;

/// Scraping state of one replica: the series each target had last time, for staleness.
#[derive(Clone)]
pub struct Scraper {
    pub db: PgPool,
    pub store: Arc<MetricStore>,
    client: reqwest::Client,
    outbound: Outbound,
    previous: Arc<Mutex<HashMap<i64, HashSet<Labels>>>>,
    /// Where the samples stored are counted (`vigil_ingested_samples_total{protocol="scrape"}`).
    telemetry: Arc<Metrics>,
}

struct Due {
    id: i64,
    job: String,
    url: String,
    timeout: Duration,
    labels: BTreeMap<String, String>,
}

/// What one scrape found.
struct Outcome {
    up: bool,
    error: Option<String>,
    samples: usize,
    duration: Duration,
}

impl Scraper {
    /// Scrapes only where `outbound` allows: every address a target's name resolves to, and
    /// every redirect, is checked. What each scrape stores is counted in `telemetry`.
    pub fn new(
        db: PgPool,
        store: Arc<MetricStore>,
        outbound: Outbound,
        telemetry: Arc<Metrics>,
    ) -> Self {
        let client = outbound.http_client(
            reqwest::Client::builder()
                .user_agent(concat!("Vigil/", env!("CARGO_PKG_VERSION")))
                .redirect(outbound.redirect_policy()),
        );
        Scraper {
            db,
            store,
            client,
            outbound,
            previous: Arc::new(Mutex::new(HashMap::new())),
            telemetry,
        }
    }

    /// Scrapes every target due at `now`; returns how many were scraped.
    pub async fn scrape_due(&self, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let claimed = sqlx::query!(
            r#"UPDATE scrape_targets t
               SET next_scrape_at = $1::timestamptz + make_interval(secs => t.interval_seconds)
               WHERE t.id IN (SELECT id FROM scrape_targets
                              WHERE enabled AND next_scrape_at <= $1
                              ORDER BY next_scrape_at LIMIT 200
                              FOR UPDATE SKIP LOCKED)
               RETURNING t.id, t.job, t.url, t.timeout_seconds,
                         t.labels AS "labels!: SqlJson<BTreeMap<String, String>>""#,
            now
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let due: Vec<Due> = claimed
            .into_iter()
            .map(|r| Due {
                id: r.id,
                job: r.job,
                url: r.url,
                timeout: Duration::from_secs(r.timeout_seconds.max(1) as u64),
                labels: r.labels.0,
            })
            .collect();
        let count = due.len();
        let results: Vec<Result<(), sqlx::Error>> = futures::stream::iter(due)
            .map(|target| async move {
                let outcome = self.scrape(&target, now).await;
                sqlx::query!(
                    "UPDATE scrape_targets
                     SET last_scrape_at = $2, last_duration_ms = $3, last_error = $4,
                         health = $5, last_sample_count = $6
                     WHERE id = $1",
                    target.id,
                    now,
                    outcome.duration.as_millis().min(i32::MAX as u128) as i32,
                    outcome.error,
                    if outcome.up { "up" } else { "down" },
                    outcome.samples as i32
                )
                .execute(&self.db)
                .await
                .map(|_| ())
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for result in results {
            result?;
        }
        Ok(count)
    }

    async fn scrape(&self, target: &Due, now: DateTime<Utc>) -> Outcome {
        let started = Instant::now();
        let fetched =
            tokio::time::timeout(target.timeout, fetch(&self.client, &self.outbound, target)).await;
        let duration = started.elapsed();
        let exposition = match fetched {
            Ok(Ok(text)) => parse::parse(&text),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(format!(
                "the scrape timed out after {} s",
                target.timeout.as_secs()
            )),
        };
        let instance = instance_of(&target.url);
        let (exposition, error) = match exposition {
            Ok(exposition) => (exposition, None),
            Err(error) => (Exposition::default(), Some(error)),
        };
        let up = error.is_none();
        let samples = exposition.samples.len();
        let write = self
            .write(
                target.id,
                &target.job,
                &instance,
                &target.labels,
                exposition,
                up,
                duration,
                now,
            )
            .await;
        let error = match (error, write) {
            (Some(error), _) => Some(error),
            (None, Err(error)) => Some(format!("storing the samples failed: {error}")),
            (None, Ok(())) => None,
        };
        Outcome {
            up,
            error,
            samples,
            duration,
        }
    }

    /// Writes a scrape's samples (or, when down, staleness markers) and its report series.
    #[allow(clippy::too_many_arguments, reason = "one scrape's facts")]
    async fn write(
        &self,
        target_id: i64,
        job: &str,
        instance: &str,
        extra: &BTreeMap<String, String>,
        exposition: Exposition,
        up: bool,
        duration: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), crate::metrics::WriteError> {
        let batch = samples_batch(
            job,
            instance,
            extra,
            exposition,
            up,
            duration,
            now,
            &self.store,
        );
        let current: HashSet<Labels> = batch.series.iter().map(|s| s.labels.clone()).collect();
        let gone: Vec<Labels> = {
            let mut previous = self.previous.lock().expect("scrape state poisoned");
            let before = previous
                .insert(target_id, current.clone())
                .unwrap_or_default();
            before.difference(&current).cloned().collect()
        };
        let mut batch = batch;
        let now_ms = now.timestamp_millis();
        batch
            .series
            .extend(gone.into_iter().map(|labels| SeriesWrite {
                labels,
                samples: vec![Sample {
                    timestamp_ms: now_ms,
                    value: stale_nan(),
                }],
            }));
        let outcome = self.store.write_at(batch, now).await?;
        self.telemetry
            .record_ingest("scrape", outcome.samples, outcome.rejected.samples);
        Ok(())
    }
}

/// Builds the batch for one scrape: the target's samples relabelled as Prometheus does with
/// `honor_labels: false`, and the report series.
#[allow(clippy::too_many_arguments, reason = "one scrape's facts")]
pub fn samples_batch(
    job: &str,
    instance: &str,
    extra: &BTreeMap<String, String>,
    exposition: Exposition,
    up: bool,
    duration: Duration,
    now: DateTime<Utc>,
    store: &MetricStore,
) -> WriteBatch {
    let now_ms = now.timestamp_millis();
    let mut target_labels: BTreeMap<String, String> = extra.clone();
    target_labels.insert("job".to_owned(), job.to_owned());
    target_labels.insert("instance".to_owned(), instance.to_owned());
    let limits = &store.config().label_limits;
    let mut by_labels: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    let scraped = exposition.samples.len();
    for sample in exposition.samples {
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(sample.labels.len() + 4);
        pairs.push(("__name__".to_owned(), sample.name));
        for (name, value) in sample.labels {
            // A scraped label the target also sets keeps its value as `exported_<name>`.
            if target_labels.contains_key(&name) {
                pairs.push((format!("exported_{name}"), value));
            } else {
                pairs.push((name, value));
            }
        }
        pairs.extend(target_labels.iter().map(|(n, v)| (n.clone(), v.clone())));
        let Ok(labels) = Labels::parse_series(pairs, limits) else {
            continue;
        };
        by_labels.entry(labels).or_default().push(Sample {
            timestamp_ms: sample.timestamp_ms.unwrap_or(now_ms),
            value: sample.value,
        });
    }
    let report = |name: &str, value: f64| {
        let mut pairs: Vec<(&str, &str)> = target_labels
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.push(("__name__", name));
        (
            Labels::from_pairs(pairs),
            vec![Sample {
                timestamp_ms: now_ms,
                value,
            }],
        )
    };
    for (labels, samples) in [
        report("up", if up { 1.0 } else { 0.0 }),
        report("scrape_duration_seconds", duration.as_secs_f64()),
        report("scrape_samples_scraped", scraped as f64),
    ] {
        by_labels.insert(labels, samples);
    }
    WriteBatch {
        series: by_labels
            .into_iter()
            .map(|(labels, samples)| SeriesWrite { labels, samples })
            .collect(),
        metadata: exposition.metadata,
    }
}

/// `host:port` of a URL, with the scheme's default port when none is given (as Prometheus).
pub fn instance_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!(
            "{}:{}",
            parsed.host_str().unwrap_or_default(),
            parsed.port_or_known_default().unwrap_or(80)
        ),
        Err(_) => url.to_owned(),
    }
}

async fn fetch(
    client: &reqwest::Client,
    outbound: &Outbound,
    target: &Due,
) -> Result<String, String> {
    let url = reqwest::Url::parse(&target.url).map_err(|e| format!("bad URL: {e}"))?;
    outbound
        .check_url(&url)
        .map_err(|why| format!("refused: {why}"))?;
    let mut response = client
        .get(&target.url)
        .header("accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
        .header(
            "x-prometheus-scrape-timeout-seconds",
            target.timeout.as_secs().to_string(),
        )
        .send()
        .await
        .map_err(|e| {
            format!(
                "could not reach the target: {}",
                crate::outbound::describe(&e)
            )
        })?;
    if !response.status().is_success() {
        return Err(format!("the target answered {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            return Err(format!("the answer is over {} MiB", MAX_BODY >> 20));
        }
    }
    String::from_utf8(body).map_err(|_| "the answer is not UTF-8 text".to_owned())
}

/// Background worker: scrapes due targets every second until shutdown.
pub async fn scrape_worker(scraper: Scraper, shutdown: CancellationToken) {
    let mut ticker = crate::ticker::Ticker::every(Duration::from_secs(1), shutdown);
    while ticker.tick().await {
        ticker.run("scraping", scraper.scrape_due(Utc::now())).await;
    }
}

/// Scrapes Vigil's own metrics in-process, as job "vigil" with this replica's address.
pub async fn scrape_self(
    store: &MetricStore,
    telemetry: &Metrics,
    pool: &PgPool,
    instance: &str,
    now: DateTime<Utc>,
) -> Result<(), crate::metrics::WriteError> {
    let started = Instant::now();
    let parsed = parse::parse(&telemetry.render(pool));
    let up = parsed.is_ok();
    let batch = samples_batch(
        "vigil",
        instance,
        &BTreeMap::new(),
        parsed.unwrap_or_default(),
        up,
        started.elapsed(),
        now,
        store,
    );
    store.write_at(batch, now).await.map(|_| ())
}

/// Background worker: Vigil scrapes itself every 15 s.
pub async fn self_scrape_worker(
    store: Arc<MetricStore>,
    telemetry: Arc<Metrics>,
    pool: PgPool,
    instance: String,
    shutdown: CancellationToken,
) {
    let mut ticker = crate::ticker::Ticker::every(Duration::from_secs(15), shutdown);
    while ticker.tick().await {
        let scraping = scrape_self(&store, &telemetry, &pool, &instance, Utc::now());
        ticker.run("scraping Vigil's own metrics", scraping).await;
    }
}
