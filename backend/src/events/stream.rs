//! `GET /api/v1/events` and the worker that relays committed changes from PostgreSQL to this
//! replica's subscribers.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::{Stream, StreamExt as _};
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{CHANNEL, Change};
use crate::auth::AuthUser;
use crate::state::AppState;

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
