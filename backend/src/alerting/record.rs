//! A stored alert as other areas read it (`alerts::by_ids`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use vigil_shared::alerting::{AlertState, Severity};

/// A stored alert as other areas show it: in notify's group messages, on an incident's page
/// and in the messages that page people about it.
pub struct AlertRecord {
    pub id: i64,
    /// Its rule's name (none for alerts from the Alertmanager API).
    pub rule_name: Option<String>,
    pub state: AlertState,
    pub severity: Severity,
    pub value: Option<f64>,
    pub active_at: DateTime<Utc>,
    pub fired_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub generator_url: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}
