//! A per-replica cache of recently queried raw samples, so that a dashboard refreshing a 24-hour
//! panel reads only what changed since its last refresh instead of the whole day from
//! PostgreSQL.
//!
//! Correctness comes from an invalidation log rather than expiry. Every committed write records
//! the oldest timestamp it touched, locally and (through `NOTIFY vigil_samples`) in every other
//! replica. A cached series trusts its samples only up to the oldest timestamp written since it
//! was last synced, and re-reads everything after that. If the notification connection is
//! lost, notifications may have been missed, so the whole cache is dropped. Until the listener
//! is connected the cache stays off.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use super::model::Sample;

/// The NOTIFY channel writes are announced on (payload: oldest timestamp in ms, or `reset`).
pub const CHANNEL: &str = "vigil_samples";
/// Entries unused this long are dropped: dashboards refresh far more often than this.
const IDLE_EXPIRY: Duration = Duration::from_secs(600);
/// Bytes one cached sample costs.
const SAMPLE_BYTES: usize = std::mem::size_of::<Sample>();

struct Entry {
    samples: Arc<Vec<Sample>>,
    /// Samples in `[from_ms, to_ms]` were all loaded when the entry was synced.
    from_ms: i64,
    to_ms: i64,
    /// The invalidation log position the entry was synced at.
    synced: u64,
    used_at: Instant,
    /// The widest window a query has read of the series: a narrower query (a stat's instant
    /// next to a chart's day) must not trim what the wider one reads on its next refresh.
    span_ms: i64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<i64, Entry>,
    bytes: usize,
    /// Writes in order: (log position, oldest timestamp written).
    log: VecDeque<(u64, i64)>,
    next: u64,
    /// Entries synced before this position predate a reset and are void.
    reset_at: u64,
}

pub struct SampleCache {
    budget_bytes: usize,
    enabled: AtomicBool,
    inner: Mutex<Inner>,
}

/// What a query needs fetched from the database to answer from the cache.
pub struct CachePlan {
    /// Log position to record once the fetches are applied (taken before fetching).
    position: u64,
    /// Series to fetch from a time (exclusive) to the query's end: the stale tails.
    pub tails: Vec<(i64, i64)>,
    /// Series the cache cannot help with: fetch the whole window.
    pub misses: Vec<i64>,
    /// The cached samples of every hit as they were when planning, so a concurrent query
    /// changing or evicting an entry cannot take data from this one.
    held: HashMap<i64, Arc<Vec<Sample>>>,
}

impl SampleCache {
    pub fn new(budget_bytes: usize) -> Self {
        SampleCache {
            budget_bytes,
            enabled: AtomicBool::new(false),
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.budget_bytes > 0 && self.enabled.load(Ordering::Acquire)
    }

    /// Turns the cache on (the listener is connected) or off (it is not), dropping everything.
    pub fn set_enabled(&self, enabled: bool) {
        self.reset();
        self.enabled.store(enabled, Ordering::Release);
    }

    /// Records a committed write whose oldest sample is at `oldest_ms`.
    pub fn record_write(&self, oldest_ms: i64) {
        let mut inner = self.inner.lock().expect("sample cache poisoned");
        let position = inner.next;
        inner.next += 1;
        inner.log.push_back((position, oldest_ms));
        // No entry synced before the oldest sync needs the log's beginning.
        let oldest_sync = inner
            .entries
            .values()
            .map(|e| e.synced)
            .min()
            .unwrap_or(inner.next);
        while inner.log.front().is_some_and(|(p, _)| *p < oldest_sync) {
            inner.log.pop_front();
        }
        if inner.log.len() > 100_000 {
            // Some entry has not been queried for a long time: start afresh rather than grow.
            drop(inner);
            self.reset();
        }
    }

    /// Forgets everything (after missed notifications, or data deleted underneath).
    pub fn reset(&self) {
        let mut inner = self.inner.lock().expect("sample cache poisoned");
        inner.entries.clear();
        inner.bytes = 0;
        inner.log.clear();
        inner.reset_at = inner.next;
    }

    /// Drops entries no query has used for `idle`, so memory returns once nobody watches.
    pub fn expire_idle(&self, idle: Duration) {
        let mut inner = self.inner.lock().expect("sample cache poisoned");
        let now = Instant::now();
        let mut freed = 0;
        inner.entries.retain(|_, entry| {
            let keep = now.duration_since(entry.used_at) < idle;
            if !keep {
                freed += entry.samples.len() * SAMPLE_BYTES;
            }
            keep
        });
        inner.bytes -= freed;
    }

    /// Splits `ids` for a read of `[start_ms, end_ms]` into stale tails and misses.
    pub fn plan(&self, ids: &[i64], start_ms: i64, end_ms: i64) -> CachePlan {
        let inner = self.inner.lock().expect("sample cache poisoned");
        // The oldest write since each sync position, computed once per distinct position.
        let mut oldest_since: HashMap<u64, i64> = HashMap::new();
        let mut tails = Vec::new();
        let mut misses = Vec::new();
        let mut held = HashMap::new();
        for &id in ids {
            match inner.entries.get(&id) {
                Some(entry) if entry.synced >= inner.reset_at && start_ms >= entry.from_ms => {
                    let oldest = *oldest_since.entry(entry.synced).or_insert_with(|| {
                        inner
                            .log
                            .iter()
                            .filter(|(p, _)| *p >= entry.synced)
                            .map(|(_, t)| *t)
                            .min()
                            .unwrap_or(i64::MAX)
                    });
                    let trusted_to = entry.to_ms.min(oldest.saturating_sub(1));
                    if trusted_to < end_ms {
                        tails.push((id, trusted_to));
                    }
                    held.insert(id, entry.samples.clone());
                }
                _ => misses.push(id),
            }
        }
        CachePlan {
            position: inner.next,
            tails,
            misses,
            held,
        }
    }

    /// Applies what was fetched for a plan and returns every id's samples (covering at least
    /// `[start_ms, end_ms]`, possibly more), in the order of `ids`.
    pub fn apply(
        &self,
        mut plan: CachePlan,
        ids: &[i64],
        start_ms: i64,
        end_ms: i64,
        mut tails: HashMap<i64, Vec<Sample>>,
        mut misses: HashMap<i64, Vec<Sample>>,
    ) -> Vec<Arc<Vec<Sample>>> {
        let mut inner = self.inner.lock().expect("sample cache poisoned");
        let stale = plan.position < inner.reset_at;
        let now = Instant::now();
        let tail_from: HashMap<i64, i64> = plan.tails.iter().copied().collect();
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(samples) = misses.remove(&id) {
                let samples = Arc::new(samples);
                out.push(samples.clone());
                if stale {
                    continue;
                }
                let added = samples.len() * SAMPLE_BYTES;
                let entry = Entry {
                    samples,
                    from_ms: start_ms,
                    to_ms: end_ms,
                    synced: plan.position,
                    used_at: now,
                    span_ms: end_ms - start_ms,
                };
                if let Some(old) = inner.entries.insert(id, entry) {
                    inner.bytes -= old.samples.len() * SAMPLE_BYTES;
                }
                inner.bytes += added;
                continue;
            }
            let Some(mut samples) = plan.held.remove(&id) else {
                out.push(Arc::default());
                continue;
            };
            // Is the entry still the one planned on (not reset, evicted or replaced)?
            let entry = inner
                .entries
                .get_mut(&id)
                .filter(|e| Arc::ptr_eq(&e.samples, &samples));
            let Some(&trusted_to) = tail_from.get(&id) else {
                if let Some(entry) = entry {
                    entry.used_at = now;
                    entry.span_ms = entry.span_ms.max(end_ms - start_ms);
                }
                out.push(samples);
                continue;
            };
            let before = samples.len();
            let (cached, span_ms) = match entry {
                Some(entry) => {
                    // Let go of the entry's reference so the vector can grow in place.
                    entry.samples = Arc::default();
                    entry.span_ms = entry.span_ms.max(end_ms - start_ms);
                    (true, entry.span_ms)
                }
                None => (false, end_ms - start_ms),
            };
            let vector = Arc::make_mut(&mut samples);
            let keep = vector.partition_point(|s| s.timestamp_ms <= trusted_to);
            vector.truncate(keep);
            vector.extend(tails.remove(&id).into_iter().flatten());
            if !cached {
                out.push(samples);
                continue;
            }
            // Drop a long-unneeded prefix now and then, so entries do not grow forever: what
            // even the widest window asked of the series no longer reaches.
            let keep_from = end_ms.saturating_sub(span_ms);
            let unneeded = vector.partition_point(|s| s.timestamp_ms < keep_from);
            let trimmed = unneeded > 1024 && unneeded * 4 > vector.len();
            if trimmed {
                vector.drain(..unneeded);
            }
            let after = vector.len();
            if let Some(entry) = inner.entries.get_mut(&id) {
                entry.samples = samples.clone();
                if trimmed {
                    entry.from_ms = keep_from;
                }
                entry.to_ms = end_ms;
                entry.synced = plan.position;
                entry.used_at = now;
            }
            inner.bytes = inner.bytes + after * SAMPLE_BYTES - before * SAMPLE_BYTES;
            out.push(samples);
        }
        self.evict(&mut inner);
        out
    }

    /// Evicts least recently used series until the cache is within 90 % of its budget.
    fn evict(&self, inner: &mut Inner) {
        if inner.bytes <= self.budget_bytes {
            return;
        }
        let mut by_age: Vec<(Instant, i64)> = inner
            .entries
            .iter()
            .map(|(id, e)| (e.used_at, *id))
            .collect();
        by_age.sort_unstable();
        for (_, id) in by_age {
            if inner.bytes <= self.budget_bytes * 9 / 10 {
                break;
            }
            if let Some(entry) = inner.entries.remove(&id) {
                inner.bytes -= entry.samples.len() * SAMPLE_BYTES;
            }
        }
    }

    pub fn bytes(&self) -> usize {
        self.inner.lock().expect("sample cache poisoned").bytes
    }
}

/// Background worker: listens for other replicas' writes (and our own: harmless), keeping the
/// cache correct; drops the cache whenever the connection breaks.
pub async fn listen_worker(store: Arc<super::MetricStore>, shutdown: CancellationToken) {
    let cache = store.cache();
    loop {
        let mut listener = match PgListener::connect_with(store.pool()).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "the sample cache cannot listen for writes; it stays off");
                cache.set_enabled(false);
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(5)) => continue,
                }
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "LISTEN failed; the sample cache stays off");
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(5)) => continue,
            }
        }
        cache.set_enabled(true);
        let mut sweep = tokio::time::interval(Duration::from_secs(60));
        loop {
            let notification = tokio::select! {
                () = shutdown.cancelled() => return,
                _ = sweep.tick() => {
                    cache.expire_idle(IDLE_EXPIRY);
                    continue;
                }
                n = listener.try_recv() => n,
            };
            match notification {
                Ok(Some(n)) => match n.payload().parse::<i64>() {
                    Ok(oldest) => cache.record_write(oldest),
                    Err(_) => cache.reset(),
                },
                // The connection dropped: notifications may have been missed.
                Ok(None) => cache.reset(),
                Err(error) => {
                    tracing::warn!(%error, "lost the sample cache's notifications; dropping the cache");
                    cache.set_enabled(false);
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(times: &[i64]) -> Vec<Sample> {
        times
            .iter()
            .map(|&t| Sample {
                timestamp_ms: t,
                value: t as f64,
            })
            .collect()
    }

    fn fetched(id: i64, times: &[i64]) -> HashMap<i64, Vec<Sample>> {
        HashMap::from([(id, samples(times))])
    }

    fn times(out: &[Arc<Vec<Sample>>]) -> Vec<i64> {
        out[0].iter().map(|s| s.timestamp_ms).collect()
    }

    #[test]
    fn a_cached_series_reads_only_what_may_have_changed() {
        let cache = SampleCache::new(1 << 20);
        cache.set_enabled(true);
        let plan = cache.plan(&[1], 0, 100);
        assert_eq!(plan.misses, vec![1]);
        let out = cache.apply(
            plan,
            &[1],
            0,
            100,
            HashMap::new(),
            fetched(1, &[10, 50, 100]),
        );
        assert_eq!(times(&out), vec![10, 50, 100]);

        // Nothing written since: a later query needs only the new tail.
        let plan = cache.plan(&[1], 20, 130);
        assert_eq!(plan.tails, vec![(1, 100)]);
        let out = cache.apply(plan, &[1], 20, 130, fetched(1, &[120]), HashMap::new());
        assert_eq!(times(&out), vec![10, 50, 100, 120]);

        // A late write at 40 makes everything from 40 on untrusted.
        cache.record_write(40);
        let plan = cache.plan(&[1], 20, 130);
        assert_eq!(plan.tails, vec![(1, 39)]);
        let out = cache.apply(
            plan,
            &[1],
            20,
            130,
            fetched(1, &[45, 50, 100, 120]),
            HashMap::new(),
        );
        assert_eq!(times(&out), vec![10, 45, 50, 100, 120]);
    }

    #[test]
    fn a_reset_voids_every_entry() {
        let cache = SampleCache::new(1 << 20);
        cache.set_enabled(true);
        let plan = cache.plan(&[1], 0, 100);
        cache.apply(plan, &[1], 0, 100, HashMap::new(), fetched(1, &[10]));
        cache.reset();
        assert_eq!(cache.plan(&[1], 0, 100).misses, vec![1]);
    }

    #[test]
    fn the_least_recently_used_series_are_evicted_beyond_the_budget() {
        let cache = SampleCache::new(SAMPLE_BYTES * 3);
        cache.set_enabled(true);
        for id in 1..=3 {
            let plan = cache.plan(&[id], 0, 100);
            cache.apply(plan, &[id], 0, 100, HashMap::new(), fetched(id, &[1, 2]));
        }
        assert!(cache.bytes() <= SAMPLE_BYTES * 3);
        assert_eq!(
            cache.plan(&[1], 0, 100).misses,
            vec![1],
            "the oldest went first"
        );
    }

    /// Samples every 50 ms over `[from, to]`.
    fn every_50ms(from: i64, to: i64) -> Vec<i64> {
        (from..=to).step_by(50).collect()
    }

    #[test]
    fn a_narrow_query_keeps_what_a_wide_one_reads_and_a_sliding_window_is_trimmed() {
        let cache = SampleCache::new(1 << 20);
        cache.set_enabled(true);
        // A chart's day (here 100 s) is read, then a stat's last second with a new tail.
        let plan = cache.plan(&[1], 0, 100_000);
        let wide = every_50ms(0, 100_000);
        cache.apply(plan, &[1], 0, 100_000, HashMap::new(), fetched(1, &wide));
        let plan = cache.plan(&[1], 99_000, 100_100);
        assert_eq!(plan.tails, vec![(1, 100_000)]);
        cache.apply(
            plan,
            &[1],
            99_000,
            100_100,
            fetched(1, &[100_050, 100_100]),
            HashMap::new(),
        );
        // The chart's next refresh still reads only the tail.
        let plan = cache.plan(&[1], 100, 100_100);
        assert!(
            plan.misses.is_empty(),
            "the stat trimmed the chart's samples"
        );
        assert!(plan.tails.is_empty());

        // The day slides far on: what no window reaches any more is let go.
        let plan = cache.plan(&[1], 60_000, 160_000);
        assert_eq!(plan.tails, vec![(1, 100_100)]);
        let out = cache.apply(
            plan,
            &[1],
            60_000,
            160_000,
            fetched(1, &every_50ms(100_150, 160_000)),
            HashMap::new(),
        );
        assert_eq!(times(&out)[0], 60_000);
        assert_eq!(cache.plan(&[1], 0, 160_000).misses, vec![1]);
        assert!(cache.plan(&[1], 60_000, 160_000).misses.is_empty());
    }

    #[test]
    fn an_older_window_than_cached_is_a_miss() {
        let cache = SampleCache::new(1 << 20);
        cache.set_enabled(true);
        let plan = cache.plan(&[1], 50, 100);
        cache.apply(plan, &[1], 50, 100, HashMap::new(), fetched(1, &[60]));
        assert_eq!(cache.plan(&[1], 0, 100).misses, vec![1]);
    }
}
