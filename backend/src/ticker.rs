//! The loop of a worker that does its tasks every period: the tick, shutdown, a back-off for
//! failing tasks, and one log line per kind of failure.

use std::fmt;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

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
            // Shutdown first: with both ready (a tick overdue), a random pick would run once more.
            biased;
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

#[cfg(test)]
mod tests {

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
}
