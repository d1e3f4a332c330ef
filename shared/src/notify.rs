//! Notification channels: where alerts are sent (webhook, Slack-compatible webhook, email).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// Alertmanager's webhook payload (version 4), optionally signed with HMAC-SHA256.
    Webhook,
    /// A Slack (or Mattermost, Rocket.Chat…) incoming webhook.
    Slack,
    Email,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Email => "email",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host or network).
    None,
    /// Upgrade with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the start (port 465).
    Tls,
}

/// A channel as the form sends it. Secret fields left empty on an update keep their saved
/// value: the API never sends secrets back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelRequest {
    pub name: String,
    pub kind: Option<ChannelKind>,
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Webhook and Slack: the URL to post to (secret).
    #[serde(default)]
    pub url: String,
    /// Webhook: signs each body with HMAC-SHA256 in `X-Vigil-Signature` (secret, optional).
    #[serde(default)]
    pub hmac_secret: String,
    /// Email: recipients.
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub smtp_host: String,
    #[serde(default)]
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub smtp_username: String,
    /// Secret.
    #[serde(default)]
    pub smtp_password: String,
    #[serde(default)]
    pub smtp_tls: SmtpTls,
}

fn yes() -> bool {
    true
}

/// A channel as the API shows it: no secrets, only whether they are set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    pub send_resolved: bool,
    /// Where it sends, with secrets cut (`https://hooks.slack.com/…`, or the recipients).
    pub target: String,
    pub to: Vec<String>,
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: Option<u16>,
    pub smtp_username: String,
    pub smtp_tls: SmtpTls,
    pub url_set: bool,
    pub hmac_secret_set: bool,
    pub smtp_password_set: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelList {
    pub channels: Vec<Channel>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    Sent,
    /// Given up on.
    Failed,
}

/// One notification sent (or being retried) through a channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub reason: String,
    pub status: DeliveryStatus,
    /// What it was about: `[FIRING:2] HighLatency`, say.
    pub title: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryLog {
    pub deliveries: Vec<Delivery>,
}

/// A notification policy (Alertmanager's route): alerts whose labels match `matchers` go to
/// `channel_ids`, grouped by the `group_by` labels. Policies are tried in `position` order;
/// the first that matches takes the alert unless it says `continue`. The default policy has
/// no matchers and takes what no other policy took; its timings also apply to the channels
/// chosen on an alert rule itself.
///
/// A policy may also page an escalation policy about the incidents of the alerts it takes and
/// split them by labels, for alerts whose rule does not say (alerts from Prometheus have no
/// rule). Each setting comes from the first policy taking the alert that has it, then from the
/// default policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyRequest {
    pub name: String,
    #[serde(default)]
    pub matchers: Vec<crate::alerting::Matcher>,
    #[serde(default)]
    pub channel_ids: Vec<i64>,
    /// Label names; `...` groups by every label.
    #[serde(default = "default_group_by")]
    pub group_by: Vec<String>,
    /// Prometheus durations (`30s`, `5m`, `4h`).
    #[serde(default = "default_group_wait")]
    pub group_wait: String,
    #[serde(default = "default_group_interval")]
    pub group_interval: String,
    #[serde(default = "default_repeat_interval")]
    pub repeat_interval: String,
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Where it is tried, from 1; new policies go last when absent.
    #[serde(default)]
    pub position: Option<i32>,
    /// Paged about the incidents of the alerts this policy takes, unless their rule names one.
    #[serde(default)]
    pub escalation_policy_id: Option<i64>,
    /// Labels whose values split those alerts into separate incidents, unless their rule says;
    /// empty: one incident per alert name (or rule).
    #[serde(default)]
    pub incident_group_by: Vec<String>,
}

impl Default for PolicyRequest {
    fn default() -> Self {
        PolicyRequest {
            name: String::new(),
            matchers: Vec::new(),
            channel_ids: Vec::new(),
            group_by: default_group_by(),
            group_wait: default_group_wait(),
            group_interval: default_group_interval(),
            repeat_interval: default_repeat_interval(),
            continue_matching: false,
            position: None,
            escalation_policy_id: None,
            incident_group_by: Vec::new(),
        }
    }
}

fn default_group_by() -> Vec<String> {
    vec!["alertname".to_owned()]
}

fn default_group_wait() -> String {
    "30s".to_owned()
}

fn default_group_interval() -> String {
    "5m".to_owned()
}

fn default_repeat_interval() -> String {
    "4h".to_owned()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub id: i64,
    pub is_default: bool,
    #[serde(flatten)]
    pub policy: PolicyRequest,
    pub updated_at: DateTime<Utc>,
}

/// Every policy in the order they are tried, the default one last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyList {
    pub policies: Vec<Policy>,
}
