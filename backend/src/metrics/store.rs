//! The metric store: writing batches (one binary COPY each, committed before the caller
//! answers), and reading samples back for the query engine.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures::TryStreamExt as _;
use sqlx::PgPool;
use tokio::sync::Semaphore;

use super::cache::{self, SampleCache};
use super::copy::{SampleRowDecoder, SampleRowEncoder};
use super::model::{self, LabelLimits, MetricMetadata, Sample, WriteBatch};
use super::partitions;
use super::series::SeriesCatalog;

/// How samples are laid out, detected at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageBackend {
    /// Plain PostgreSQL: tables range-partitioned by day, maintained by Vigil.
    Partitioned,
    /// TimescaleDB hypertables, compression, retention and continuous aggregates.
    Timescale,
}

#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// How long samples are kept.
    pub retention: Duration,
    /// Samples older than this are refused (and rollups are computed after it has passed).
    pub max_sample_age: Duration,
    /// Samples further in the future than this are refused.
    pub max_future: Duration,
    /// Writes running at once; more wait up to `write_wait`, then get 429.
    pub max_concurrent_writes: usize,
    pub write_wait: Duration,
    pub label_limits: LabelLimits,
    /// Most series one request may carry.
    pub max_series_per_write: usize,
    /// Memory for recently queried raw samples (0 turns the cache off); see [`SampleCache`].
    pub query_cache_bytes: usize,
    /// Queries (and rule evaluations) read and evaluated at once; more wait, within their
    /// own time limit. With each query's sample budget, this bounds the memory queries take.
    pub max_concurrent_queries: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            retention: Duration::from_secs(30 * 24 * 3600),
            max_sample_age: Duration::from_secs(3600),
            max_future: Duration::from_secs(600),
            max_concurrent_writes: 8,
            write_wait: Duration::from_secs(5),
            label_limits: LabelLimits::default(),
            max_series_per_write: 100_000,
            query_cache_bytes: 128 << 20,
            max_concurrent_queries: 4,
        }
    }
}

/// Samples (or series) a write refused, with the first few reasons.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rejections {
    pub samples: usize,
    pub reasons: Vec<String>,
}

impl Rejections {
    const MAX_REASONS: usize = 5;

    pub fn add(&mut self, samples: usize, reason: impl fmt::Display) {
        self.samples += samples;
        let reason = reason.to_string();
        if self.reasons.len() < Self::MAX_REASONS && !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    pub fn merge(&mut self, other: Rejections) {
        self.samples += other.samples;
        for reason in other.reasons {
            if self.reasons.len() < Self::MAX_REASONS && !self.reasons.contains(&reason) {
                self.reasons.push(reason);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// "3 samples rejected: reason; reason".
    pub fn summary(&self) -> String {
        format!(
            "{} samples rejected: {}",
            self.samples,
            self.reasons.join("; ")
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("too many writes in progress; retry later")]
    Busy,
    #[error("the request has {0} series; the limit is {1}")]
    TooManySeries(usize, usize),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a committed write stored and refused.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteOutcome {
    pub series: usize,
    pub samples: usize,
    pub rejected: Rejections,
}

pub struct MetricStore {
    pool: PgPool,
    config: StoreConfig,
    backend: StorageBackend,
    pub catalog: SeriesCatalog,
    write_slots: Semaphore,
    query_slots: Semaphore,
    /// Days for which a samples partition is known to exist.
    partitions: Mutex<BTreeSet<NaiveDate>>,
    /// Metadata already stored, so unchanged metadata is not rewritten on every write.
    metadata: Mutex<HashMap<String, MetricMetadata>>,
    cache: Arc<SampleCache>,
}

impl MetricStore {
    /// Opens the store over a migrated database, detecting TimescaleDB.
    pub async fn open(pool: PgPool, config: StoreConfig) -> Result<Self, sqlx::Error> {
        let timescale = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
                      AND to_regclass('metric_samples') IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM pg_partitioned_table p
                                      WHERE p.partrelid = to_regclass('metric_samples')) AS "timescale!""#
        )
        .fetch_one(&pool)
        .await?;
        let backend = if timescale {
            StorageBackend::Timescale
        } else {
            StorageBackend::Partitioned
        };
        Ok(MetricStore {
            write_slots: Semaphore::new(config.max_concurrent_writes.max(1)),
            query_slots: Semaphore::new(config.max_concurrent_queries.max(1)),
            cache: Arc::new(SampleCache::new(config.query_cache_bytes)),
            pool,
            config,
            backend,
            catalog: SeriesCatalog::new(),
            partitions: Mutex::new(BTreeSet::new()),
            metadata: Mutex::new(HashMap::new()),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub fn backend(&self) -> StorageBackend {
        self.backend
    }

    pub fn cache(&self) -> &Arc<SampleCache> {
        &self.cache
    }

    /// Tells every replica's cache (this one's too, at once) that samples from `oldest_ms` on
    /// changed. Called after the change is committed.
    pub async fn announce_write(&self, oldest_ms: i64) -> Result<(), sqlx::Error> {
        self.cache.record_write(oldest_ms);
        sqlx::query!(
            "SELECT pg_notify($1, $2)",
            cache::CHANNEL,
            oldest_ms.to_string()
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores a batch. Returns only once the samples are committed. Samples outside the
    /// accepted time window are refused and counted in the outcome; the rest are stored.
    pub async fn write(&self, batch: WriteBatch) -> Result<WriteOutcome, WriteError> {
        self.write_at(batch, Utc::now()).await
    }

    /// [`write`](Self::write) with an explicit "now", for tests and the demo's backfill.
    pub async fn write_at(
        &self,
        mut batch: WriteBatch,
        now: DateTime<Utc>,
    ) -> Result<WriteOutcome, WriteError> {
        if batch.series.len() > self.config.max_series_per_write {
            return Err(WriteError::TooManySeries(
                batch.series.len(),
                self.config.max_series_per_write,
            ));
        }
        let oldest = (now - self.config.max_sample_age).timestamp_millis();
        let newest = (now + self.config.max_future).timestamp_millis();
        let mut outcome = WriteOutcome::default();
        for series in &mut batch.series {
            let before = series.samples.len();
            series
                .samples
                .retain(|s| (oldest..=newest).contains(&s.timestamp_ms));
            let dropped = before - series.samples.len();
            if dropped > 0 {
                outcome.rejected.add(
                    dropped,
                    format!(
                        "samples must be at most {} old and {} ahead of now",
                        humantime(self.config.max_sample_age),
                        humantime(self.config.max_future)
                    ),
                );
            }
        }
        batch.series.retain(|s| !s.samples.is_empty());

        let _slot = tokio::time::timeout(self.config.write_wait, self.write_slots.acquire())
            .await
            .map_err(|_| WriteError::Busy)?
            .expect("the write semaphore is never closed");

        if !batch.series.is_empty() {
            let labels: Vec<_> = batch.series.iter().map(|s| &s.labels).collect();
            let ids = self.catalog.resolve(&self.pool, &labels).await?;
            self.ensure_partitions(batch.series.iter().flat_map(|s| s.samples.iter()))
                .await?;

            let rows = batch.sample_count();
            let mut encoder = SampleRowEncoder::new(rows);
            for (series, id) in batch.series.iter().zip(&ids) {
                for sample in &series.samples {
                    encoder.push(*id, sample.timestamp_ms, sample.value);
                }
            }
            let mut conn = self.pool.acquire().await?;
            let mut copy = conn
                .copy_in_raw(
                    "COPY metric_samples (series_id, ts, value) FROM STDIN (FORMAT binary)",
                )
                .await?;
            copy.send(encoder.finish().freeze()).await?;
            copy.finish().await?;
            drop(conn);
            let oldest = batch
                .series
                .iter()
                .flat_map(|s| s.samples.iter().map(|s| s.timestamp_ms))
                .min()
                .unwrap_or(i64::MAX);
            self.announce_write(oldest).await?;
            outcome.series = batch.series.len();
            outcome.samples = rows;
        }
        self.store_metadata(&batch.metadata).await?;
        Ok(outcome)
    }

    async fn store_metadata(&self, metadata: &[MetricMetadata]) -> Result<(), sqlx::Error> {
        // Metadata only describes: an entry for a name no series could have is dropped, and a
        // NUL character (which PostgreSQL cannot store) is taken out of its text. Only what
        // changed is copied and cleaned; a name given twice keeps its first entry.
        let changed: Vec<MetricMetadata> = {
            let known = self.metadata.lock().expect("metadata cache poisoned");
            let mut seen = std::collections::HashSet::new();
            metadata
                .iter()
                .filter(|m| model::is_valid_metric_name(&m.metric))
                .filter(|m| known.get(&m.metric) != Some(m))
                .filter(|m| seen.insert(&m.metric))
                .map(|m| MetricMetadata {
                    unit: m.unit.replace('\0', ""),
                    help: m.help.replace('\0', ""),
                    ..m.clone()
                })
                .collect()
        };
        if changed.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO metric_metadata (metric, type, unit, help)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
             ON CONFLICT (metric) DO UPDATE
                SET type = EXCLUDED.type, unit = EXCLUDED.unit, help = EXCLUDED.help, updated_at = now()",
            &changed.iter().map(|m| m.metric.clone()).collect::<Vec<_>>(),
            &changed.iter().map(|m| m.kind.as_str().to_owned()).collect::<Vec<_>>(),
            &changed.iter().map(|m| m.unit.clone()).collect::<Vec<_>>(),
            &changed.iter().map(|m| m.help.clone()).collect::<Vec<_>>()
        )
        .execute(&self.pool)
        .await?;
        let mut known = self.metadata.lock().expect("metadata cache poisoned");
        for m in changed {
            known.insert(m.metric.clone(), m);
        }
        Ok(())
    }

    /// Makes sure a partition exists for every day the samples fall on.
    async fn ensure_partitions<'a>(
        &self,
        samples: impl Iterator<Item = &'a Sample>,
    ) -> Result<(), sqlx::Error> {
        if self.backend == StorageBackend::Timescale {
            return Ok(());
        }
        let days: BTreeSet<NaiveDate> = samples.map(|s| day_of(s.timestamp_ms)).collect();
        let missing: Vec<NaiveDate> = {
            let known = self.partitions.lock().expect("partition cache poisoned");
            days.into_iter().filter(|d| !known.contains(d)).collect()
        };
        for day in missing {
            partitions::create_day(&self.pool, day).await?;
            self.partitions
                .lock()
                .expect("partition cache poisoned")
                .insert(day);
        }
        Ok(())
    }

    /// Waits for one of the query slots (`max_concurrent_queries`); the query holds it while it
    /// reads and evaluates.
    pub async fn query_slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.query_slots
            .acquire()
            .await
            .expect("the query slots are never closed")
    }

    /// Raw samples of `series_ids` with timestamps in `[start_ms, end_ms]` (possibly more
    /// around them when they come from the cache), sorted by time, one vector per id in the
    /// order given. Duplicate timestamps keep one sample.
    pub async fn samples(
        &self,
        series_ids: &[i64],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Arc<Vec<Sample>>>, sqlx::Error> {
        self.samples_within(series_ids, start_ms, end_ms, usize::MAX)
            .await
            .map_err(|error| match error {
                SampleReadError::Database(error) => error,
                SampleReadError::OverLimit => unreachable!("no read passes usize::MAX samples"),
            })
    }

    /// [`samples`](Self::samples), reading at most `limit` samples from the database: a read
    /// that would pass it stops there (the query that asked is refused), so one query cannot
    /// fill the server's memory.
    pub async fn samples_within(
        &self,
        series_ids: &[i64],
        start_ms: i64,
        end_ms: i64,
        limit: usize,
    ) -> Result<Vec<Arc<Vec<Sample>>>, SampleReadError> {
        if series_ids.is_empty() || end_ms < start_ms {
            return Ok(vec![Arc::default(); series_ids.len()]);
        }
        if !self.cache.is_enabled() {
            return Ok(self
                .read_samples(series_ids, start_ms, end_ms, limit)
                .await?
                .into_values()
                .into_iter()
                .map(Arc::new)
                .collect());
        }
        let plan = self.cache.plan(series_ids, start_ms, end_ms);
        let misses = self
            .read_samples(&plan.misses, start_ms, end_ms, limit)
            .await?;
        let mut left = limit.saturating_sub(misses.sample_count());
        // Tails that start at the same time are read together.
        let mut by_start: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for &(id, trusted_to) in &plan.tails {
            by_start.entry(trusted_to + 1).or_default().push(id);
        }
        let mut tails = HashMap::new();
        for (from, ids) in by_start {
            let read = self.read_samples(&ids, from, end_ms, left).await?;
            left = left.saturating_sub(read.sample_count());
            tails.extend(read);
        }
        let misses = misses.into_iter().collect();
        Ok(self
            .cache
            .apply(plan, series_ids, start_ms, end_ms, tails, misses))
    }

    /// Reads samples from PostgreSQL, by series id (every id present, in the order given).
    async fn read_samples(
        &self,
        series_ids: &[i64],
        start_ms: i64,
        end_ms: i64,
        limit: usize,
    ) -> Result<IndexedSamples, SampleReadError> {
        let mut out = IndexedSamples::new(series_ids);
        if series_ids.is_empty() || end_ms < start_ms {
            return Ok(out);
        }
        // COPY takes no parameters; everything inlined here is a number or a formatted time.
        let ids = series_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // Ordered as the (series_id, ts) index is, so PostgreSQL streams without sorting.
        let statement = format!(
            "COPY (SELECT series_id, ts, value FROM metric_samples
                   WHERE series_id = ANY('{{{ids}}}'::bigint[])
                     AND ts >= '{}' AND ts <= '{}'
                   ORDER BY series_id, ts) TO STDOUT (FORMAT binary)",
            sql_time(start_ms),
            sql_time(end_ms)
        );
        let mut copying = MidCopy(Some(self.pool.acquire().await?));
        let conn = copying.0.as_mut().expect("just acquired");
        let mut stream = conn.copy_out_raw(&statement).await?;
        let mut decoder = SampleRowDecoder::new();
        let mut read = 0usize;
        let mut push = |id: i64, timestamp_ms: i64, value: f64| {
            if let Some(samples) = out.get_mut(id) {
                // A repeated timestamp keeps the larger value (NaN counting as largest), as
                // the rollups do.
                if let Some(last) = samples.last_mut()
                    && last.timestamp_ms == timestamp_ms
                {
                    if value.is_nan() || value > last.value {
                        last.value = value;
                    }
                    return;
                }
                samples.push(Sample {
                    timestamp_ms,
                    value,
                });
            }
        };
        while let Some(chunk) = stream.try_next().await? {
            read += decoder
                .feed(&chunk, &mut push)
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            if read > limit {
                return Err(SampleReadError::OverLimit);
            }
        }
        drop(stream);
        // Read to the end: the connection goes back to the pool.
        copying.0.take();
        decoder
            .finish()
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        Ok(out)
    }
}

/// A pooled connection in the middle of a COPY: when the read stops early (its query went
/// over its budget, timed out or was given up), the connection is closed rather than handed
/// back with the rest of the COPY still coming.
struct MidCopy(Option<sqlx::pool::PoolConnection<sqlx::Postgres>>);

impl Drop for MidCopy {
    fn drop(&mut self) {
        if let Some(conn) = self.0.as_mut() {
            conn.close_on_drop();
        }
    }
}

/// Why a read of samples did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SampleReadError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// More samples than the caller allowed.
    #[error("the read would pass its limit of samples")]
    OverLimit,
}

/// Samples read for a list of series ids, kept in the list's order.
struct IndexedSamples {
    ids: Vec<i64>,
    position: HashMap<i64, usize>,
    samples: Vec<Vec<Sample>>,
}

impl IndexedSamples {
    fn new(ids: &[i64]) -> Self {
        IndexedSamples {
            ids: ids.to_vec(),
            position: ids.iter().enumerate().map(|(i, id)| (*id, i)).collect(),
            samples: vec![Vec::new(); ids.len()],
        }
    }

    fn sample_count(&self) -> usize {
        self.samples.iter().map(Vec::len).sum()
    }

    fn get_mut(&mut self, id: i64) -> Option<&mut Vec<Sample>> {
        let i = *self.position.get(&id)?;
        Some(&mut self.samples[i])
    }

    /// The samples in the order of the ids given.
    fn into_values(self) -> Vec<Vec<Sample>> {
        self.samples
    }
}

impl IntoIterator for IndexedSamples {
    type Item = (i64, Vec<Sample>);
    type IntoIter = std::iter::Zip<std::vec::IntoIter<i64>, std::vec::IntoIter<Vec<Sample>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.ids.into_iter().zip(self.samples)
    }
}

pub fn day_of(timestamp_ms: i64) -> NaiveDate {
    Utc.timestamp_millis_opt(timestamp_ms)
        .single()
        .unwrap_or_default()
        .date_naive()
}

/// A timestamp literal PostgreSQL parses unambiguously, clamped to years 1–9999.
pub fn sql_time(timestamp_ms: i64) -> String {
    const YEAR_1: i64 = -62_135_596_800_000;
    const YEAR_9999_END: i64 = 253_402_300_799_999;
    let clamped = timestamp_ms.clamp(YEAR_1, YEAR_9999_END);
    let time = Utc
        .timestamp_millis_opt(clamped)
        .single()
        .unwrap_or_default();
    time.format("%Y-%m-%d %H:%M:%S%.3f+00").to_string()
}

/// A duration as people write it in config (`1h`, `10m`), for refusal messages.
pub fn humantime(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}
