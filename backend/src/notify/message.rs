//! The message a notification carries, in Alertmanager's webhook shape (version 4): receivers
//! written for Alertmanager read Vigil's webhooks unchanged, and the Slack and email channels
//! render the same data.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alerting::fingerprint::alertmanager_fingerprint;
use crate::alerting::record::AlertRecord;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub version: String,
    pub group_key: String,
    pub truncated_alerts: u32,
    /// `firing` while any alert fires, else `resolved`.
    pub status: String,
    pub receiver: String,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<MessageAlert>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageAlert {
    pub status: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    /// Zero time (`0001-01-01T00:00:00Z`) while firing, as Alertmanager sends it.
    pub ends_at: DateTime<Utc>,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

impl MessageAlert {
    pub fn new(
        resolved: bool,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        starts_at: DateTime<Utc>,
        ends_at: Option<DateTime<Utc>>,
        generator_url: String,
    ) -> Self {
        let zero = DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default();
        MessageAlert {
            status: if resolved { "resolved" } else { "firing" }.to_owned(),
            fingerprint: alertmanager_fingerprint(&labels),
            labels,
            annotations,
            starts_at,
            ends_at: if resolved {
                ends_at.unwrap_or(zero)
            } else {
                zero
            },
            generator_url,
        }
    }

    /// A stored alert as a message carries it: firing, or resolved at `resolved_at`.
    pub fn of(alert: &AlertRecord, resolved_at: Option<DateTime<Utc>>) -> Self {
        MessageAlert::new(
            resolved_at.is_some(),
            alert.labels.clone(),
            alert.annotations.clone(),
            alert.fired_at.unwrap_or(alert.active_at),
            resolved_at,
            alert.generator_url.clone(),
        )
    }
}

/// Labels (or annotations) that every alert shares.
fn common(maps: impl Iterator<Item = BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let mut maps = maps;
    let Some(mut shared) = maps.next() else {
        return BTreeMap::new();
    };
    for map in maps {
        shared.retain(|k, v| map.get(k) == Some(v));
    }
    shared
}

impl Message {
    pub fn new(
        receiver: &str,
        group_labels: BTreeMap<String, String>,
        alerts: Vec<MessageAlert>,
        external_url: &str,
    ) -> Self {
        let firing = alerts.iter().any(|a| a.status == "firing");
        Message {
            version: "4".to_owned(),
            group_key: format!(
                "{{}}:{{{}}}",
                group_labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            truncated_alerts: 0,
            status: if firing { "firing" } else { "resolved" }.to_owned(),
            receiver: receiver.to_owned(),
            common_labels: common(alerts.iter().map(|a| a.labels.clone())),
            common_annotations: common(alerts.iter().map(|a| a.annotations.clone())),
            group_labels,
            external_url: external_url.to_owned(),
            alerts,
        }
    }

    /// `[FIRING:2] HighLatency payments` — as Alertmanager's default titles read.
    pub fn title(&self) -> String {
        let firing = self.alerts.iter().filter(|a| a.status == "firing").count();
        let head = if firing > 0 {
            format!("[FIRING:{firing}]")
        } else {
            "[RESOLVED]".to_owned()
        };
        let name = self
            .common_labels
            .get("alertname")
            .cloned()
            .unwrap_or_else(|| "alerts".to_owned());
        let extra: Vec<&str> = self
            .group_labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname")
            .map(|(_, v)| v.as_str())
            .collect();
        if extra.is_empty() {
            format!("{head} {name}")
        } else {
            format!("{head} {name} ({})", extra.join(" "))
        }
    }

    /// The highest severity among the alerts, for colours.
    pub fn severity(&self) -> &str {
        let severities: Vec<&str> = self
            .alerts
            .iter()
            .filter_map(|a| a.labels.get("severity").map(String::as_str))
            .collect();
        if severities.contains(&"critical") {
            "critical"
        } else if severities.contains(&"warning") {
            "warning"
        } else {
            "info"
        }
    }
}
