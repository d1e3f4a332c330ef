//! Incidents, their timeline and actions, escalation policies, and MTTA/MTTR analytics.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alerting::Severity;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Triggered => "triggered",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "triggered" => Some(IncidentStatus::Triggered),
            "acknowledged" => Some(IncidentStatus::Acknowledged),
            "resolved" => Some(IncidentStatus::Resolved),
            _ => None,
        }
    }
}

/// An incident opened by hand (responders and up).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentRequest {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub team_id: Option<i64>,
    #[serde(default)]
    pub assignee_id: Option<i64>,
    #[serde(default)]
    pub escalation_policy_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub status: IncidentStatus,
    pub severity: Severity,
    pub service: String,
    pub team_id: Option<i64>,
    pub team: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    pub escalation_policy_id: Option<i64>,
    pub escalation_policy: Option<String>,
    /// The level (from 1) notified last; 0 before the first.
    pub level: i32,
    pub next_escalation_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub triggered_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: String,
    pub alert_count: i64,
    pub firing_count: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentList {
    pub incidents: Vec<Incident>,
    /// Matching incidents in all pages.
    pub total: i64,
    /// Matching incidents per status (the status filter aside).
    pub triggered: i64,
    pub acknowledged: i64,
    pub resolved: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `triggered`, `alert`, `acknowledged`, `escalated`, `notified`, `note`…
    pub kind: String,
    pub message: String,
}

/// An alert of an incident, as its page lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentAlert {
    pub id: i64,
    pub name: String,
    pub state: String,
    pub severity: Severity,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: Option<f64>,
    pub added_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    pub alerts: Vec<IncidentAlert>,
    pub timeline: Vec<TimelineEntry>,
}

/// What a responder does to an incident: `POST /api/v1/incidents/{id}/{action}`, where
/// `{action}` is [`IncidentAction::as_str`]. The body of every one is an [`IncidentActionRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentAction {
    Acknowledge,
    /// Back to triggered, paging again the level notified last.
    Unacknowledge,
    /// Pages the next level now.
    Escalate,
    Resolve,
    /// Acknowledged until a time, then triggered again.
    Snooze,
    Reassign,
    /// Adds a note to the timeline.
    Notes,
    /// Sets the severity.
    Severity,
}

impl IncidentAction {
    pub const ALL: [IncidentAction; 8] = [
        IncidentAction::Acknowledge,
        IncidentAction::Unacknowledge,
        IncidentAction::Escalate,
        IncidentAction::Resolve,
        IncidentAction::Snooze,
        IncidentAction::Reassign,
        IncidentAction::Notes,
        IncidentAction::Severity,
    ];

    /// The action's path segment (and its serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentAction::Acknowledge => "acknowledge",
            IncidentAction::Unacknowledge => "unacknowledge",
            IncidentAction::Escalate => "escalate",
            IncidentAction::Resolve => "resolve",
            IncidentAction::Snooze => "snooze",
            IncidentAction::Reassign => "reassign",
            IncidentAction::Notes => "notes",
            IncidentAction::Severity => "severity",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == text)
    }

    /// The text of the button that takes the action.
    pub fn label(self) -> &'static str {
        match self {
            IncidentAction::Acknowledge => "Acknowledge",
            IncidentAction::Unacknowledge => "Unacknowledge",
            IncidentAction::Escalate => "Escalate",
            IncidentAction::Resolve => "Resolve",
            IncidentAction::Snooze => "Snooze",
            IncidentAction::Reassign => "Reassign",
            IncidentAction::Notes => "Add note",
            IncidentAction::Severity => "Set severity",
        }
    }
}

impl fmt::Display for IncidentAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of the incident actions; each reads the fields it needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentActionRequest {
    /// Escalate: why; resolve: the resolution note; notes: the note.
    #[serde(default)]
    pub message: String,
    /// Snooze until.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
    /// Reassign to (none: unassigned).
    #[serde(default)]
    pub assignee_id: Option<i64>,
    #[serde(default)]
    pub severity: Option<Severity>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    User,
    Team,
    Schedule,
    Channel,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::User => "user",
            TargetKind::Team => "team",
            TargetKind::Schedule => "schedule",
            TargetKind::Channel => "channel",
        }
    }
}

/// Who a level pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationTarget {
    pub kind: TargetKind,
    pub id: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EscalationLevel {
    /// Minutes after the incident triggers (level 1) or after the previous level.
    pub delay_minutes: u32,
    pub targets: Vec<EscalationTarget>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EscalationPolicyRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub levels: Vec<EscalationLevel>,
    /// Times the whole policy runs again after its last level.
    #[serde(default)]
    pub repeat_count: u32,
    /// Minutes between the last level and the next round.
    #[serde(default = "default_repeat_after")]
    pub repeat_after_minutes: u32,
    /// Acknowledged but unresolved this long: the incident triggers again.
    #[serde(default)]
    pub ack_timeout_minutes: Option<u32>,
    /// Resolve the incident when all its alerts have resolved.
    #[serde(default = "yes")]
    pub auto_resolve: bool,
}

fn default_repeat_after() -> u32 {
    30
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EscalationPolicy {
    pub id: i64,
    #[serde(flatten)]
    pub policy: EscalationPolicyRequest,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EscalationPolicyList {
    pub policies: Vec<EscalationPolicy>,
}

/// Mean time to acknowledge and to resolve, in seconds, for one group of incidents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsRow {
    /// The service, team name or period start (RFC 3339) the row is about.
    pub key: String,
    pub incidents: i64,
    pub acknowledged: i64,
    pub resolved: i64,
    pub mtta_seconds: Option<f64>,
    pub mttr_seconds: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analytics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub overall: AnalyticsRow,
    pub by_service: Vec<AnalyticsRow>,
    pub by_team: Vec<AnalyticsRow>,
    /// Per day (or week, for ranges over 62 days).
    pub by_period: Vec<AnalyticsRow>,
}

/// Something the caller was paged about, in the app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InAppNotification {
    pub id: i64,
    pub incident_id: Option<i64>,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// The caller's latest notifications, newest first, and how many are unread in all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationList {
    pub notifications: Vec<InAppNotification>,
    pub unread: i64,
}

/// Marks the caller's notifications read, all of them or up to (and including) one id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MarkNotificationsRead {
    #[serde(default)]
    pub up_to: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_actions_round_trip_through_their_path_segment_and_serde_name() {
        for action in IncidentAction::ALL {
            assert_eq!(IncidentAction::parse(action.as_str()), Some(action));
            let json = serde_json::to_value(action).unwrap();
            assert_eq!(json, action.as_str());
            assert_eq!(
                serde_json::from_value::<IncidentAction>(json).unwrap(),
                action
            );
        }
        assert_eq!(IncidentAction::Notes.as_str(), "notes");
        assert_eq!(IncidentAction::parse("Acknowledge"), None);
        assert_eq!(IncidentAction::parse("delete"), None);
    }
}
