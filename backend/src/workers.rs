//! Starts every background worker in one place, each with the shared shutdown signal, and
//! keeps them running: a worker that panics is logged and started again after a back-off
//! (1 s, doubling up to a minute; back to 1 s once it has run for a minute), so one bad
//! object it meets cannot stop evaluation, escalation or delivery for good.

use std::fmt;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::alerting::alerts::{Evaluator, evaluator_worker};
use crate::metrics::{cache, partitions, rollup};
use crate::state::AppState;
use crate::{auth, events, incidents, notify, scrape};

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const LONGEST_BACKOFF: Duration = Duration::from_secs(60);

pub struct Workers {
    tasks: JoinSet<()>,
    shutdown: CancellationToken,
}

impl Workers {
    pub fn new(shutdown: CancellationToken) -> Self {
        Workers {
            tasks: JoinSet::new(),
            shutdown,
        }
    }

    /// Runs the worker `start` makes, and makes and runs another each time one panics, until
    /// one returns (workers return on the shutdown signal).
    pub fn supervise<F, W>(&mut self, name: &'static str, start: F)
    where
        F: Fn() -> W + Send + 'static,
        W: Future<Output = ()> + Send + 'static,
    {
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(supervise(
            name,
            shutdown,
            FIRST_BACKOFF,
            LONGEST_BACKOFF,
            start,
        ));
    }

    /// Waits until every worker has returned (after the shutdown signal).
    pub async fn wait(mut self) {
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(%error, "a background worker panicked");
            }
        }
    }
}

/// The supervision loop of one worker; `Ok` once it returned (or shutdown came).
pub async fn supervise<F, W>(
    name: &'static str,
    shutdown: CancellationToken,
    first_backoff: Duration,
    longest_backoff: Duration,
    start: F,
) where
    F: Fn() -> W + Send + 'static,
    W: Future<Output = ()> + Send + 'static,
{
    let mut backoff = first_backoff;
    loop {
        let started = Instant::now();
        let failure = match tokio::spawn(start()).await {
            Ok(()) => return,
            Err(error) if error.is_panic() => panic_message(error.into_panic()),
            Err(_) => return,
        };
        if started.elapsed() >= longest_backoff {
            backoff = first_backoff;
        }
        tracing::error!(
            worker = name,
            panic = failure,
            restart_in_ms = backoff.as_millis() as u64,
            "a background worker panicked; restarting it"
        );
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(longest_backoff);
    }
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// The loop of a worker that does its tasks every `period` until shutdown:
///
/// ```ignore
/// let mut ticker = Ticker::every(Duration::from_secs(1), shutdown);
/// while ticker.tick().await {
///     ticker.run("escalating incidents", process_due(&db, Utc::now())).await;
/// }
/// ```
///
/// A task that fails is retried after a back-off (one period, doubling up to
/// `LONGEST_RETRY_WAIT`; the worker's other tasks keep their pace), and its failures are logged
/// once per kind: the first, each with a different error, and the recovery, not the same error
/// every second.
pub struct Ticker {
    interval: tokio::time::Interval,
    period: Duration,
    shutdown: CancellationToken,
    tasks: Vec<(&'static str, TaskHealth)>,
}

/// The longest wait before a failing task is tried again: short, because once the database is
/// back, pages and notifications should not wait long behind the back-off.
const LONGEST_RETRY_WAIT: Duration = Duration::from_secs(8);

impl Ticker {
    pub fn every(period: Duration, shutdown: CancellationToken) -> Self {
        let mut interval = tokio::time::interval(period);
        // A tick missed by slow work is not made up with a burst.
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ticker {
            interval,
            period,
            shutdown,
            tasks: Vec::new(),
        }
    }

    /// Waits for the next tick (the first comes at once); false once shutdown is signalled.
    pub async fn tick(&mut self) -> bool {
        tokio::select! {
            () = self.shutdown.cancelled() => false,
            _ = self.interval.tick() => true,
        }
    }

    /// Runs `task`, named by `what` ("escalating incidents"), unless it is waiting out the
    /// back-off of earlier failures.
    pub async fn run<T, E: fmt::Display>(
        &mut self,
        what: &'static str,
        task: impl Future<Output = Result<T, E>>,
    ) {
        let index = match self.tasks.iter().position(|(name, _)| *name == what) {
            Some(index) => index,
            None => {
                self.tasks.push((what, TaskHealth::default()));
                self.tasks.len() - 1
            }
        };
        let health = &mut self.tasks[index].1;
        if !health.due(Instant::now()) {
            return;
        }
        match task.await {
            Ok(_) => {
                if let Some(failures) = health.succeeded() {
                    tracing::info!(failures, "{what} works again");
                }
            }
            Err(error) => {
                let error = error.to_string();
                if let Some(retry_in) = health.failed(&error, Instant::now(), self.period) {
                    tracing::warn!(
                        %error,
                        retry_in_ms = retry_in.as_millis() as u64,
                        "{what} failed; retrying with a back-off (the same error again is not logged)"
                    );
                }
            }
        }
    }
}

/// How one task of a [`Ticker`] has been doing.
#[derive(Debug, Default)]
struct TaskHealth {
    /// Failures in a row.
    failures: u32,
    /// The error of the last failure logged.
    logged: Option<String>,
    retry_at: Option<Instant>,
}

impl TaskHealth {
    fn due(&self, now: Instant) -> bool {
        self.retry_at.is_none_or(|at| now >= at)
    }

    /// Records a success; the number of failures it ends, if any.
    fn succeeded(&mut self) -> Option<u32> {
        let failures = std::mem::take(&mut self.failures);
        self.logged = None;
        self.retry_at = None;
        (failures > 0).then_some(failures)
    }

    /// Records a failure; the wait before the next try when this failure is to be logged (the
    /// first of a run, or an error other than the one logged last).
    fn failed(&mut self, error: &str, now: Instant, period: Duration) -> Option<Duration> {
        self.failures += 1;
        let doublings = (self.failures - 1).min(16);
        let wait = (period * 2u32.pow(doublings)).min(LONGEST_RETRY_WAIT.max(period));
        self.retry_at = Some(now + wait);
        if self.logged.as_deref() == Some(error) {
            return None;
        }
        self.logged = Some(error.to_owned());
        Some(wait)
    }
}

pub fn start(state: &AppState, shutdown: CancellationToken) -> Workers {
    let mut workers = Workers::new(shutdown.clone());
    let (db, metrics) = (state.db.clone(), state.metrics.clone());
    let stop = shutdown.clone();
    workers.supervise("session pruning", move || {
        auth::session::prune_worker(db.clone(), stop.clone())
    });
    let stop = shutdown.clone();
    let store = metrics.clone();
    workers.supervise("partition maintenance", move || {
        partitions::maintenance_worker(store.clone(), stop.clone())
    });
    let stop = shutdown.clone();
    let store = metrics.clone();
    workers.supervise("query cache invalidation", move || {
        cache::listen_worker(store.clone(), stop.clone())
    });
    let stop = shutdown.clone();
    let store = metrics.clone();
    workers.supervise("rollups", move || {
        rollup::rollup_worker(store.clone(), stop.clone())
    });
    let stop = shutdown.clone();
    let app = state.clone();
    workers.supervise("live events", move || {
        events::listen_worker(app.clone(), stop.clone())
    });
    let stop = shutdown.clone();
    let scraper = scrape::worker::Scraper::new(
        state.db.clone(),
        metrics.clone(),
        state.config.outbound.clone(),
    );
    workers.supervise("scraping", move || {
        scrape::worker::scrape_worker(scraper.clone(), stop.clone())
    });
    let stop = shutdown.clone();
    let (db, smtp, outbound) = (
        state.db.clone(),
        state.config.smtp.clone(),
        state.config.outbound.clone(),
    );
    workers.supervise("notification delivery", move || {
        notify::delivery_worker(db.clone(), smtp.clone(), outbound.clone(), stop.clone())
    });
    let stop = shutdown.clone();
    let evaluator = Evaluator::new(state);
    workers.supervise("rule evaluation", move || {
        evaluator_worker(evaluator.clone(), stop.clone())
    });
    let stop = shutdown.clone();
    let db = state.db.clone();
    workers.supervise("escalation", move || {
        incidents::escalation::escalation_worker(db.clone(), stop.clone())
    });
    workers
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn a_failing_task_backs_off_and_each_kind_of_failure_is_logged_once() {
        let period = Duration::from_secs(1);
        let start = Instant::now();
        let mut health = TaskHealth::default();
        assert!(health.due(start));
        assert_eq!(health.failed("db down", start, period), Some(period));
        assert!(!health.due(start));
        assert!(health.due(start + period));
        let later = start + period;
        assert_eq!(
            health.failed("db down", later, period),
            None,
            "the same error again is not logged"
        );
        assert!(!health.due(later + period), "the wait doubled");
        assert!(health.due(later + 2 * period));
        assert_eq!(
            health.failed("disk full", later, period),
            Some(4 * period),
            "another error is"
        );
        for _ in 0..20 {
            health.failed("disk full", later, period);
        }
        assert!(health.due(later + LONGEST_RETRY_WAIT), "waits are capped");
        assert_eq!(health.succeeded(), Some(23), "recovery is reported");
        assert!(health.due(later));
        assert_eq!(health.succeeded(), None, "only once");
        assert_eq!(
            health.failed("db down", later, period),
            Some(period),
            "a new run of failures is logged again"
        );
    }

    #[tokio::test]
    async fn a_ticker_runs_its_tasks_every_tick_until_shutdown() {
        let shutdown = CancellationToken::new();
        let mut ticker = Ticker::every(Duration::from_millis(1), shutdown.clone());
        let (mut ticks, mut runs) = (0, 0);
        while ticker.tick().await {
            ticks += 1;
            ticker
                .run("counting", async {
                    runs += 1;
                    Ok::<_, String>(())
                })
                .await;
            if ticks == 5 {
                shutdown.cancel();
            }
        }
        assert_eq!((ticks, runs), (5, 5));
    }

    #[tokio::test]
    async fn a_worker_that_panics_is_started_again_until_it_returns() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let supervised = supervise(
            "flaky",
            CancellationToken::new(),
            Duration::from_millis(1),
            Duration::from_millis(4),
            move || {
                let run = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    if run < 3 {
                        panic!("run {run} fails");
                    }
                }
            },
        );
        tokio::time::timeout(Duration::from_secs(5), supervised)
            .await
            .expect("the worker returned on its fourth run");
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn shutdown_stops_the_restarts() {
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let supervised = supervise(
            "always failing",
            shutdown.clone(),
            Duration::from_secs(3600),
            Duration::from_secs(3600),
            move || {
                stop.cancel();
                async { panic!("fails") }
            },
        );
        tokio::time::timeout(Duration::from_secs(5), supervised)
            .await
            .expect("no restart waits out its back-off after the shutdown signal");
    }
}
