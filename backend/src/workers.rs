//! Starts every background worker in one place, each with the shared shutdown signal.

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::alerting::alerts::{Evaluator, evaluator_worker};
use crate::app::AppState;
use crate::metrics::{cache, partitions, rollup};
use crate::{auth, events, incidents, notify, scrape};

pub struct Workers {
    tasks: JoinSet<()>,
}

impl Workers {
    /// Adds a worker that is not always on (the demo workload, say).
    pub fn spawn(&mut self, worker: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(worker);
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

pub fn start(state: &AppState, shutdown: CancellationToken) -> Workers {
    let mut tasks = JoinSet::new();
    tasks.spawn(auth::session::prune_worker(
        state.db.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(partitions::maintenance_worker(
        state.metrics.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(cache::listen_worker(
        state.metrics.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(rollup::rollup_worker(
        state.metrics.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(events::listen_worker(state.clone(), shutdown.clone()));
    tasks.spawn(scrape::worker::scrape_worker(
        scrape::worker::Scraper::new(state.db.clone(), state.metrics.clone()),
        shutdown.clone(),
    ));
    tasks.spawn(notify::delivery_worker(
        state.db.clone(),
        state.config.smtp.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(evaluator_worker(Evaluator::new(state), shutdown.clone()));
    tasks.spawn(incidents::escalation::escalation_worker(
        state.db.clone(),
        shutdown.clone(),
    ));
    Workers { tasks }
}
