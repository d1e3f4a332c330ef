//! Live updates: changes (alerts and incidents, each a [`LiveEvent`]) for the logged-in UI,
//! streamed as Server-Sent Events at `GET /api/v1/events` (`stream`).
//!
//! Changes are announced with `NOTIFY vigil_events` ([`publish`]) inside the transaction that
//! makes them, so PostgreSQL delivers them only once committed, and to every replica: each
//! replica listens and fans the events out to its own subscribers. When the listening
//! connection breaks, events may have been missed, so subscribers get a `resync` event telling
//! them to reload.

pub mod stream;

use sqlx::PgExecutor;
use tokio::sync::broadcast;
use vigil_shared::live::LiveEvent;

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
