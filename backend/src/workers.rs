//! Starts every background worker in one place, each with the shared shutdown signal, and
//! keeps them running: a worker that panics is logged and started again after a back-off
//! (1 s, doubling up to a minute; back to 1 s once it has run for a minute), so one bad
//! object it meets cannot stop evaluation, escalation or delivery for good.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::alerting::alerts::{Evaluator, evaluator_worker};
use crate::metrics::{cache, retention, rollup};
use crate::state::AppState;
use crate::{auth, dashboards, events, incidents, notify, scrape, slo};

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
        retention::maintenance_worker(store.clone(), stop.clone())
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
        events::stream::listen_worker(app.clone(), stop.clone())
    });
    let stop = shutdown.clone();
    let scraper = scrape::worker::Scraper::new(
        state.db.clone(),
        metrics.clone(),
        state.config.outbound.clone(),
        state.telemetry.clone(),
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
    let stop = shutdown.clone();
    let (db, store, limits) = (
        state.db.clone(),
        metrics.clone(),
        state.config.query.clone(),
    );
    workers.supervise("SLO history", move || {
        slo::history::history_worker(db.clone(), store.clone(), limits.clone(), stop.clone())
    });
    let stop = shutdown.clone();
    let db = state.db.clone();
    let mailer = slo::schedule::ReportMailer::new(state.config.smtp.clone());
    workers.supervise("scheduled SLA reports", move || {
        slo::schedule::schedule_worker(db.clone(), mailer.clone(), stop.clone())
    });
    if let Some(dir) = state.config.dashboards_dir.clone() {
        let (stop, db) = (shutdown.clone(), state.db.clone());
        workers.supervise("dashboard provisioning", move || {
            dashboards::provision::directory_worker(db.clone(), dir.clone(), stop.clone())
        });
    }
    workers
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

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
