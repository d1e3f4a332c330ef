//! Live updates: the changes `GET /api/v1/events` streams as Server-Sent Events. Each event's
//! SSE name is its `kind`, and its data the event as JSON (`{"kind": "alert", "id": 7, …}`).

use serde::{Deserialize, Serialize};

use crate::alerting::{AlertState, Severity};
use crate::incident::IncidentStatus;

/// One change that live views redraw for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LiveEvent {
    /// An alert changed state (or severity with it).
    Alert {
        id: i64,
        /// `None` for alerts received through the Alertmanager API.
        rule_id: Option<i64>,
        state: AlertState,
        severity: Severity,
    },
    /// An incident was opened or changed.
    Incident { id: i64, status: IncidentStatus },
}

impl LiveEvent {
    /// The SSE event name, which live views subscribe to.
    pub fn kind(&self) -> &'static str {
        match self {
            LiveEvent::Alert { .. } => "alert",
            LiveEvent::Incident { .. } => "incident",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_are_json_tagged_by_their_kind() {
        let alert = LiveEvent::Alert {
            id: 7,
            rule_id: Some(3),
            state: AlertState::Firing,
            severity: Severity::Critical,
        };
        assert_eq!(
            serde_json::to_value(&alert).unwrap(),
            json!({"kind": "alert", "id": 7, "rule_id": 3, "state": "firing", "severity": "critical"})
        );
        let external = LiveEvent::Alert {
            id: 8,
            rule_id: None,
            state: AlertState::Resolved,
            severity: Severity::Warning,
        };
        assert_eq!(
            serde_json::to_value(&external).unwrap(),
            json!({"kind": "alert", "id": 8, "rule_id": null, "state": "resolved", "severity": "warning"})
        );
        let incident = LiveEvent::Incident {
            id: 12,
            status: IncidentStatus::Acknowledged,
        };
        assert_eq!(
            serde_json::to_value(&incident).unwrap(),
            json!({"kind": "incident", "id": 12, "status": "acknowledged"})
        );
        for event in [alert, external, incident] {
            let value = serde_json::to_value(&event).unwrap();
            assert_eq!(value["kind"], event.kind());
            assert_eq!(serde_json::from_value::<LiveEvent>(value).unwrap(), event);
        }
    }
}
