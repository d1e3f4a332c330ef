//! Live updates: `GET /api/v1/events`, a Server-Sent Events stream of changes (alerts and
//! incidents, each a [`LiveEvent`]) for the logged-in UI.
//!
//! Changes are announced with `NOTIFY vigil_events` ([`publish`]) inside the transaction that
//! makes them, so PostgreSQL delivers them only once committed, and to every replica: each
//! replica listens and fans the events out to its own subscribers. When the listening
//! connection breaks, events may have been missed, so subscribers get a `resync` event telling
//! them to reload.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::{Stream, StreamExt as _};
use sqlx::PgExecutor;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use vigil_shared::live::LiveEvent;

use crate::auth::AuthUser;
use crate::state::AppState;

pub const CHANNEL: &str = "vigil_events";

/// Announces `event` to every replica's live views once the transaction `conn` is in commits
/// (at once outside a transaction).
pub async fn publish(conn: impl PgExecutor<'_>, event: &LiveEvent) -> Result<(), sqlx::Error> {
    let payload = serde_json::to_string(event).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query!("SELECT pg_notify($1, $2)", CHANNEL, payload)
        .execute(conn)
        .await?;
    Ok(())
}

/// One change, as announced: `kind` names the SSE event, `data` is its JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub kind: String,
    pub data: String,
}

/// Fans events out to this replica's subscribers.
pub struct EventBus {
    sender: broadcast::Sender<Change>,
}

impl Default for EventBus {
    fn default() -> Self {
        // Enough for a burst of changes while a slow browser catches up; one that falls further
        // behind is told to reload.
        EventBus {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl EventBus {
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    pub fn publish(&self, change: Change) {
        // No subscribers is fine.
        let _ = self.sender.send(change);
    }

    fn resync(&self) {
        self.publish(Change {
            kind: "resync".to_owned(),
            data: "{}".to_owned(),
        });
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/events", get(stream_events))
}

async fn stream_events(
    _user: AuthUser,
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.events.subscribe();
    // The first event tells the client the stream is live (and it may load what it shows).
    let hello = futures::stream::once(async { Ok(Event::default().event("hello").data("{}")) });
    let changes = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(change) => Event::default().event(change.kind).data(change.data),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                Event::default().event("resync").data("{}")
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Sse::new(hello.chain(changes)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Background worker: relays committed changes from PostgreSQL to this replica's subscribers.
pub async fn listen_worker(state: AppState, shutdown: CancellationToken) {
    loop {
        let mut listener = match PgListener::connect_with(&state.db).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for live events; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(5)) => continue,
                }
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "LISTEN for live events failed; retrying");
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(5)) => continue,
            }
        }
        // Whatever happened while not listening is unknown to the subscribers.
        state.events.resync();
        loop {
            let notification = tokio::select! {
                () = shutdown.cancelled() => return,
                n = listener.try_recv() => n,
            };
            match notification {
                Ok(Some(n)) => {
                    let kind = serde_json::from_str::<serde_json::Value>(n.payload())
                        .ok()
                        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
                        .unwrap_or_else(|| "change".to_owned());
                    state.events.publish(Change {
                        kind,
                        data: n.payload().to_owned(),
                    });
                }
                Ok(None) => state.events.resync(),
                Err(error) => {
                    tracing::warn!(%error, "lost the live events connection; reconnecting");
                    break;
                }
            }
        }
    }
}
