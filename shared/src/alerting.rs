//! Alert rules: a PromQL query compared against a warning and a critical threshold.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a rule compares the query's value with its thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = "==")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
}

impl Comparison {
    pub const ALL: [Comparison; 6] = [
        Comparison::Above,
        Comparison::AtLeast,
        Comparison::Below,
        Comparison::AtMost,
        Comparison::Equal,
        Comparison::NotEqual,
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
            Comparison::Equal => "==",
            Comparison::NotEqual => "!=",
        }
    }

    pub fn parse(symbol: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.symbol() == symbol)
    }

    /// Whether `value` crosses `threshold`.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Above => value > threshold,
            Comparison::AtLeast => value >= threshold,
            Comparison::Below => value < threshold,
            Comparison::AtMost => value <= threshold,
            Comparison::Equal => value == threshold,
            Comparison::NotEqual => value != threshold,
        }
    }

    /// The severity `value` reaches with these thresholds, if any (critical wins).
    pub fn severity(
        self,
        value: f64,
        warning: Option<f64>,
        critical: Option<f64>,
    ) -> Option<Severity> {
        if critical.is_some_and(|t| self.holds(value, t)) {
            Some(Severity::Critical)
        } else if warning.is_some_and(|t| self.holds(value, t)) {
            Some(Severity::Warning)
        } else {
            None
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule does when its query returns nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDataState {
    /// Nothing is wrong: firing alerts resolve.
    #[default]
    Ok,
    /// The absence itself is the problem: a "no data" alert fires.
    Alerting,
    /// Leave every alert as it was.
    Keep,
}

/// What a rule does when its query fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorState {
    /// An "evaluation failed" alert fires.
    #[default]
    Alerting,
    /// Firing alerts resolve.
    Ok,
    /// Leave every alert as it was.
    Keep,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleAnnotations {
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub runbook_url: String,
}

/// An alert rule as sent by the form (create and replace).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRuleRequest {
    pub name: String,
    /// The folder/group the rule belongs to.
    #[serde(default = "default_group")]
    pub group: String,
    #[serde(default)]
    pub description: String,
    pub query: String,
    pub comparison: Comparison,
    #[serde(default)]
    pub warning_threshold: Option<f64>,
    #[serde(default)]
    pub critical_threshold: Option<f64>,
    /// How long the condition must hold before the alert fires (Prometheus duration).
    #[serde(default = "zero_duration", rename = "for")]
    pub for_duration: String,
    #[serde(default = "default_interval")]
    pub interval: String,
    /// How long a firing alert keeps firing after the condition stops holding.
    #[serde(default = "zero_duration")]
    pub keep_firing_for: String,
    #[serde(default)]
    pub no_data_state: NoDataState,
    #[serde(default)]
    pub error_state: ErrorState,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: RuleAnnotations,
    /// Where firing and resolved alerts are sent.
    #[serde(default)]
    pub notification_channel_ids: Vec<i64>,
    /// Who is paged, level by level, about the incidents this rule's alerts open.
    #[serde(default)]
    pub escalation_policy_id: Option<i64>,
    /// Labels whose values split the rule's alerts into separate incidents (none: one
    /// incident per rule at a time).
    #[serde(default)]
    pub incident_group_by: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_group() -> String {
    "default".to_owned()
}

fn zero_duration() -> String {
    "0s".to_owned()
}

fn default_interval() -> String {
    "1m".to_owned()
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: i64,
    #[serde(flatten)]
    pub rule: AlertRuleRequest,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Email of who saved it last.
    pub updated_by: Option<String>,
    /// Set on the burn-rate rules an SLO generates: they are read-only, changed through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRuleList {
    pub rules: Vec<AlertRule>,
}

/// A Prometheus rule file to import (YAML text), with the group it lands in when the file's
/// own group names should not be used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleImportRequest {
    pub yaml: String,
}

/// What an import did, rule by rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleImportReport {
    pub imported: Vec<AlertRule>,
    pub errors: Vec<RuleImportError>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleImportError {
    pub group: String,
    /// The rule's `alert` name, or its position when it has none.
    pub rule: String,
    /// Problems by field, as in a validation error.
    pub fields: BTreeMap<String, String>,
}

/// Where an alert is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition stopped holding before `for` passed; never notified.
    Inactive,
    /// The condition holds, not yet for `for`.
    Pending,
    Firing,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "inactive" => Some(AlertState::Inactive),
            "pending" => Some(AlertState::Pending),
            "firing" => Some(AlertState::Firing),
            "resolved" => Some(AlertState::Resolved),
            _ => None,
        }
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An alert: one series of one rule, from when its condition started holding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    pub rule_id: Option<i64>,
    pub rule_name: Option<String>,
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub severity: Severity,
    pub value: Option<f64>,
    pub active_at: DateTime<Utc>,
    pub fired_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Ids of the active silences that match it.
    #[serde(default)]
    pub silenced_by: Vec<String>,
    /// Ids of the firing alerts that inhibit it (through an inhibition rule).
    #[serde(default)]
    pub inhibited_by: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertList {
    pub alerts: Vec<Alert>,
}

/// One change in an alert's life: its state, or its severity while firing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertHistoryEntry {
    pub at: DateTime<Utc>,
    pub from_state: AlertState,
    pub to_state: AlertState,
    pub from_severity: Option<Severity>,
    pub severity: Severity,
    pub value: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertHistory {
    pub alert: Alert,
    pub history: Vec<AlertHistoryEntry>,
}

/// How a matcher compares a label's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchOp {
    #[serde(rename = "=")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
    #[serde(rename = "=~")]
    Regex,
    #[serde(rename = "!~")]
    NotRegex,
}

impl MatchOp {
    pub fn symbol(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// A label matcher (`name="value"`, `name=~"regex"`, …) as silences and routes use them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    pub op: MatchOp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    /// Starts in the future.
    Pending,
    Active,
    Expired,
}

/// A silence to create (responders and up). `starts_at` defaults to now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilenceRequest {
    pub matchers: Vec<Matcher>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
    pub state: SilenceState,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilenceList {
    pub silences: Vec<Silence>,
}

/// An inhibition rule: while an alert matching `source_matchers` fires, alerts matching
/// `target_matchers` that have the same values for the `equal` labels notify nobody.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InhibitionRuleRequest {
    pub name: String,
    pub source_matchers: Vec<Matcher>,
    pub target_matchers: Vec<Matcher>,
    #[serde(default)]
    pub equal: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InhibitionRule {
    pub id: i64,
    #[serde(flatten)]
    pub rule: InhibitionRuleRequest,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InhibitionRuleList {
    pub rules: Vec<InhibitionRule>,
}

/// A rule's condition and timing, for previewing where it would have fired.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PreviewRule {
    pub comparison: Comparison,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    /// `for`, in seconds.
    pub for_seconds: f64,
    /// `keep_firing_for`, in seconds.
    pub keep_firing_for_seconds: f64,
}

/// Where a rule would have been at one evaluation, for one series or (merged) the worst of all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PreviewState {
    Pending,
    Firing(Severity),
}

/// A stretch of time (unix seconds) the rule would have spent in one state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PreviewSpan {
    pub from: f64,
    pub to: f64,
    pub state: PreviewState,
}

/// Replays the rule over query results sampled every `step` seconds (one evaluation per point,
/// as the evaluator would have run), per series, and returns where the worst series was
/// pending or firing. A point missing from a series counts as no data: its alert ends.
pub fn preview(rule: &PreviewRule, series: &[Vec<(f64, f64)>], step: f64) -> Vec<PreviewSpan> {
    // Worst state per evaluation time, in milliseconds so times compare exactly.
    let mut worst: BTreeMap<i64, PreviewState> = BTreeMap::new();
    for points in series {
        let mut active_since: Option<f64> = None;
        let mut last_held: Option<(f64, Severity)> = None;
        let mut firing = false;
        let mut previous: Option<f64> = None;
        for &(at, value) in points {
            if previous.is_some_and(|p| at - p > step * 1.5) {
                // A gap: no data, so whatever was pending or firing ended.
                active_since = None;
                last_held = None;
                firing = false;
            }
            previous = Some(at);
            let state = match rule.comparison.severity(value, rule.warning, rule.critical) {
                Some(severity) => {
                    let since = *active_since.get_or_insert(at);
                    last_held = Some((at, severity));
                    firing = firing || at - since >= rule.for_seconds;
                    Some(if firing {
                        PreviewState::Firing(severity)
                    } else {
                        PreviewState::Pending
                    })
                }
                None => match last_held {
                    Some((held_at, severity))
                        if firing && at - held_at < rule.keep_firing_for_seconds =>
                    {
                        Some(PreviewState::Firing(severity))
                    }
                    _ => {
                        active_since = None;
                        last_held = None;
                        firing = false;
                        None
                    }
                },
            };
            if let Some(state) = state {
                let key = (at * 1000.0).round() as i64;
                let slot = worst.entry(key).or_insert(state);
                *slot = (*slot).max(state);
            }
        }
    }
    let mut spans: Vec<PreviewSpan> = Vec::new();
    for (key, state) in worst {
        let at = key as f64 / 1000.0;
        match spans.last_mut() {
            Some(last) if last.state == state && at - last.to < step * 0.5 => last.to = at + step,
            _ => spans.push(PreviewSpan {
                from: at,
                to: at + step,
                state,
            }),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(for_seconds: f64, keep_firing_for_seconds: f64) -> PreviewRule {
        PreviewRule {
            comparison: Comparison::Above,
            warning: Some(80.0),
            critical: Some(90.0),
            for_seconds,
            keep_firing_for_seconds,
        }
    }

    fn every_minute(values: &[f64]) -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 * 60.0, *v))
            .collect()
    }

    #[test]
    fn a_preview_is_pending_until_for_has_passed_then_fires_at_the_crossed_severity() {
        let series = [every_minute(&[10.0, 85.0, 85.0, 95.0, 95.0, 10.0])];
        let spans = preview(&rule(120.0, 0.0), &series, 60.0);
        assert_eq!(
            spans,
            vec![
                PreviewSpan {
                    from: 60.0,
                    to: 180.0,
                    state: PreviewState::Pending
                },
                PreviewSpan {
                    from: 180.0,
                    to: 300.0,
                    state: PreviewState::Firing(Severity::Critical)
                },
            ]
        );
        // Without `for`, the first crossing fires at once, as warning, then critical.
        let spans = preview(&rule(0.0, 0.0), &series, 60.0);
        assert_eq!(
            spans,
            vec![
                PreviewSpan {
                    from: 60.0,
                    to: 180.0,
                    state: PreviewState::Firing(Severity::Warning)
                },
                PreviewSpan {
                    from: 180.0,
                    to: 300.0,
                    state: PreviewState::Firing(Severity::Critical)
                },
            ]
        );
    }

    #[test]
    fn a_preview_keeps_firing_for_keep_firing_for_and_stops_at_gaps() {
        let series = [every_minute(&[95.0, 10.0, 10.0, 10.0])];
        let spans = preview(&rule(0.0, 150.0), &series, 60.0);
        assert_eq!(
            spans,
            vec![PreviewSpan {
                from: 0.0,
                to: 180.0,
                state: PreviewState::Firing(Severity::Critical)
            }]
        );
        // A missing point ends the alert; it starts pending again afterwards.
        let gappy = [vec![(0.0, 95.0), (60.0, 95.0), (240.0, 95.0)]];
        let spans = preview(&rule(60.0, 0.0), &gappy, 60.0);
        assert_eq!(
            spans,
            vec![
                PreviewSpan {
                    from: 0.0,
                    to: 60.0,
                    state: PreviewState::Pending
                },
                PreviewSpan {
                    from: 60.0,
                    to: 120.0,
                    state: PreviewState::Firing(Severity::Critical)
                },
                PreviewSpan {
                    from: 240.0,
                    to: 300.0,
                    state: PreviewState::Pending
                },
            ]
        );
    }

    #[test]
    fn a_preview_shows_the_worst_series_at_each_time() {
        let series = [every_minute(&[85.0, 85.0]), every_minute(&[10.0, 95.0])];
        let spans = preview(&rule(0.0, 0.0), &series, 60.0);
        assert_eq!(
            spans,
            vec![
                PreviewSpan {
                    from: 0.0,
                    to: 60.0,
                    state: PreviewState::Firing(Severity::Warning)
                },
                PreviewSpan {
                    from: 60.0,
                    to: 120.0,
                    state: PreviewState::Firing(Severity::Critical)
                },
            ]
        );
    }

    #[test]
    fn critical_wins_over_warning() {
        let above = Comparison::Above;
        assert_eq!(
            above.severity(95.0, Some(80.0), Some(90.0)),
            Some(Severity::Critical)
        );
        assert_eq!(
            above.severity(85.0, Some(80.0), Some(90.0)),
            Some(Severity::Warning)
        );
        assert_eq!(above.severity(80.0, Some(80.0), Some(90.0)), None);
        assert_eq!(
            Comparison::AtLeast.severity(80.0, Some(80.0), None),
            Some(Severity::Warning)
        );
        assert_eq!(
            Comparison::Below.severity(1.0, None, Some(5.0)),
            Some(Severity::Critical)
        );
    }

    #[test]
    fn comparisons_travel_as_their_symbols() {
        for c in Comparison::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.symbol()));
            assert_eq!(Comparison::parse(c.symbol()), Some(c));
        }
    }
}
