//! The alert state machine: one rule evaluation turns the query's result and the rule's live
//! alerts into the alerts' next states. Pure — no clock, no database — so every timing rule
//! (`for`, `keep_firing_for`, no data, errors, severity changes) is tested with chosen times.
//!
//! Per series: inactive → pending (the condition holds) → firing (it held for `for`) →
//! resolved (it stopped holding, `keep_firing_for` later). A pending alert whose condition
//! stops holding becomes inactive without ever notifying, as in Prometheus. Severity is the
//! highest threshold crossed; a firing alert moving between warning and critical stays the same
//! alert and records the change.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;
use vigil_shared::alerting::{AlertState, Comparison, ErrorState, NoDataState, Severity};

use super::template::{Context, Template};
use crate::metrics::model::Labels;

/// What the evaluator needs of a rule.
#[derive(Clone, Debug)]
pub struct RuleSpec {
    pub name: String,
    pub comparison: Comparison,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub for_ms: i64,
    pub keep_firing_for_ms: i64,
    pub no_data_state: NoDataState,
    pub error_state: ErrorState,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    pub description: String,
    pub runbook_url: String,
}

/// A pending or firing alert of the rule, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveAlert {
    pub id: Option<i64>,
    pub fingerprint: Uuid,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub severity: Severity,
    pub value: f64,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// The last evaluation at which the condition held.
    pub last_true_at: i64,
    /// When a firing alert's condition first stopped holding (it keeps firing for the rule's
    /// `keep_firing_for` from then, as in Prometheus).
    pub keep_firing_since: Option<i64>,
}

/// What the rule's query gave.
pub enum Outcome {
    Series(Vec<(Labels, f64)>),
    Failed(String),
}

/// One alert after the evaluation, with what happened to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub alert: LiveAlert,
    /// The state before (Inactive for a new alert).
    pub from: AlertState,
    /// The severity before, when it changed while the state did not.
    pub severity_from: Option<Severity>,
}

impl Change {
    /// Whether this is worth a history entry (a state or severity change).
    pub fn is_transition(&self) -> bool {
        self.from != self.alert.state || self.severity_from.is_some()
    }

    /// Whether the alert starts firing or changes severity while firing: news for the areas
    /// that react to firing alerts (`inbox`).
    pub fn is_news(&self) -> bool {
        self.alert.state == AlertState::Firing
            && (self.from != AlertState::Firing || self.severity_from.is_some())
    }
}

/// The labels that make an alert: the series' (without its name), the rule's, `alertname`.
/// `severity` is added separately: it may change without making a new alert.
fn identity(rule: &RuleSpec, series: &Labels, value: f64) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = series
        .iter()
        .filter(|(name, _)| *name != "__name__")
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let series_labels = labels.clone();
    for (name, template) in &rule.labels {
        let text = Template::parse(template)
            .map(|t| {
                t.render(&Context {
                    labels: &series_labels,
                    value,
                    external_url: "",
                })
            })
            .unwrap_or_else(|_| template.clone());
        labels.insert(name.clone(), text);
    }
    labels.insert("alertname".to_owned(), rule.name.clone());
    labels
}

pub fn fingerprint(labels: &BTreeMap<String, String>) -> Uuid {
    Labels::from_pairs(
        labels
            .iter()
            .filter(|(name, _)| name.as_str() != "severity")
            .map(|(n, v)| (n.as_str(), v.as_str())),
    )
    .fingerprint()
}

fn annotations(
    rule: &RuleSpec,
    labels: &BTreeMap<String, String>,
    value: f64,
) -> BTreeMap<String, String> {
    let context = Context {
        labels,
        value,
        external_url: "",
    };
    [
        ("summary", &rule.summary),
        ("description", &rule.description),
        ("runbook_url", &rule.runbook_url),
    ]
    .into_iter()
    .filter(|(_, text)| !text.is_empty())
    .map(|(name, text)| {
        let rendered = Template::parse(text)
            .map(|t| t.render(&context))
            .unwrap_or_else(|_| text.clone());
        (name.to_owned(), rendered)
    })
    .collect()
}

/// The severity for alerts about the rule itself (no data, failed evaluation).
fn highest_severity(rule: &RuleSpec) -> Severity {
    if rule.critical.is_some() {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

/// Evaluates one rule at `now` (ms): the next state of every alert that is live or becomes
/// live. Alerts not returned are unchanged (only with no-data or error state "keep").
pub fn step(rule: &RuleSpec, live: &[LiveAlert], outcome: &Outcome, now: i64) -> Vec<Change> {
    // The series that cross a threshold now, as (labels, value, severity).
    let crossing: Vec<(BTreeMap<String, String>, f64, Severity)> = match outcome {
        Outcome::Series(series) if series.is_empty() => match rule.no_data_state {
            NoDataState::Keep => return Vec::new(),
            NoDataState::Ok => Vec::new(),
            NoDataState::Alerting => {
                vec![(about_rule(rule, "NoData"), f64::NAN, highest_severity(rule))]
            }
        },
        Outcome::Series(series) => series
            .iter()
            .filter_map(|(labels, value)| {
                let severity = rule
                    .comparison
                    .severity(*value, rule.warning, rule.critical)?;
                Some((identity(rule, labels, *value), *value, severity))
            })
            .collect(),
        Outcome::Failed(_) => match rule.error_state {
            ErrorState::Keep => return Vec::new(),
            ErrorState::Ok => Vec::new(),
            ErrorState::Alerting => {
                vec![(about_rule(rule, "Error"), f64::NAN, highest_severity(rule))]
            }
        },
    };

    let mut by_fingerprint: HashMap<Uuid, &LiveAlert> =
        live.iter().map(|a| (a.fingerprint, a)).collect();
    let mut changes = Vec::new();
    for (mut labels, value, severity) in crossing {
        let fingerprint = fingerprint(&labels);
        labels.insert("severity".to_owned(), severity.as_str().to_owned());
        let mut annotations = annotations(rule, &labels, value);
        if let Outcome::Failed(error) = outcome {
            annotations.insert("error".to_owned(), error.clone());
        }
        let change = match by_fingerprint.remove(&fingerprint) {
            Some(existing) => {
                let mut alert = existing.clone();
                alert.labels = labels;
                alert.annotations = annotations;
                alert.value = value;
                alert.severity = severity;
                alert.last_true_at = now;
                alert.keep_firing_since = None;
                if alert.state == AlertState::Pending && now - alert.active_at >= rule.for_ms {
                    alert.state = AlertState::Firing;
                    alert.fired_at = Some(now);
                }
                let severity_from = (existing.severity != severity).then_some(existing.severity);
                Change {
                    alert,
                    from: existing.state,
                    severity_from,
                }
            }
            None => {
                let firing = rule.for_ms == 0;
                Change {
                    alert: LiveAlert {
                        id: None,
                        fingerprint,
                        labels,
                        annotations,
                        state: if firing {
                            AlertState::Firing
                        } else {
                            AlertState::Pending
                        },
                        severity,
                        value,
                        active_at: now,
                        fired_at: firing.then_some(now),
                        resolved_at: None,
                        last_true_at: now,
                        keep_firing_since: None,
                    },
                    from: AlertState::Inactive,
                    severity_from: None,
                }
            }
        };
        changes.push(change);
    }

    // Live alerts whose condition no longer holds.
    let mut rest: Vec<&LiveAlert> = by_fingerprint.into_values().collect();
    rest.sort_by_key(|a| a.fingerprint);
    for existing in rest {
        let mut alert = existing.clone();
        match existing.state {
            AlertState::Pending => alert.state = AlertState::Inactive,
            AlertState::Firing
                if now - existing.keep_firing_since.unwrap_or(now) < rule.keep_firing_for_ms =>
            {
                alert.keep_firing_since = Some(existing.keep_firing_since.unwrap_or(now));
            }
            AlertState::Firing => {
                alert.state = AlertState::Resolved;
                alert.resolved_at = Some(now);
            }
            AlertState::Inactive | AlertState::Resolved => continue,
        }
        changes.push(Change {
            alert,
            from: existing.state,
            severity_from: None,
        });
    }
    changes
}

/// Labels of an alert about the rule itself rather than a series.
fn about_rule(rule: &RuleSpec, alertstate: &str) -> BTreeMap<String, String> {
    let mut labels = rule.labels.clone();
    labels.insert("alertname".to_owned(), rule.name.clone());
    labels.insert("alertstate".to_owned(), alertstate.to_owned());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn rule() -> RuleSpec {
        RuleSpec {
            name: "HighLatency".into(),
            comparison: Comparison::Above,
            warning: Some(0.5),
            critical: Some(2.0),
            for_ms: 5 * MIN,
            keep_firing_for_ms: 0,
            no_data_state: NoDataState::Ok,
            error_state: ErrorState::Alerting,
            labels: BTreeMap::from([("team".into(), "web".into())]),
            summary: "{{ $labels.instance }} p99 is {{ $value }}s".into(),
            description: String::new(),
            runbook_url: String::new(),
        }
    }

    fn series(value: f64) -> Outcome {
        Outcome::Series(vec![(
            Labels::from_pairs([("__name__", "latency"), ("instance", "web-1")]),
            value,
        )])
    }

    /// Runs the rule at each (minute, value) and returns the single alert's state each time.
    fn run(rule: &RuleSpec, steps: &[(i64, Option<f64>)]) -> Vec<(AlertState, Option<Severity>)> {
        let mut live: Vec<LiveAlert> = Vec::new();
        let mut seen = Vec::new();
        for (minute, value) in steps {
            let outcome = value.map_or(Outcome::Series(vec![]), series);
            let changes = step(rule, &live, &outcome, minute * MIN);
            for change in &changes {
                live.retain(|a| a.fingerprint != change.alert.fingerprint);
                if matches!(change.alert.state, AlertState::Pending | AlertState::Firing) {
                    live.push(change.alert.clone());
                }
            }
            seen.push(match changes.first() {
                Some(c) => (c.alert.state, Some(c.alert.severity)),
                None => (AlertState::Inactive, None),
            });
        }
        seen
    }

    use AlertState::*;

    #[test]
    fn pending_then_firing_after_for_then_resolved() {
        let states = run(
            &rule(),
            &[
                (0, Some(1.0)),
                (4, Some(1.0)),
                (5, Some(1.0)),
                (6, Some(0.1)),
                (7, Some(0.1)),
            ],
        );
        assert_eq!(
            states.iter().map(|s| s.0).collect::<Vec<_>>(),
            [Pending, Pending, Firing, Resolved, Inactive]
        );
    }

    #[test]
    fn flapping_before_for_never_fires() {
        let states = run(
            &rule(),
            &[
                (0, Some(1.0)),
                (2, Some(0.1)),
                (3, Some(1.0)),
                (6, Some(1.0)),
                (8, Some(1.0)),
            ],
        );
        assert_eq!(
            states.iter().map(|s| s.0).collect::<Vec<_>>(),
            [Pending, Inactive, Pending, Pending, Firing],
            "the pending clock restarts at minute 3"
        );
    }

    #[test]
    fn keep_firing_for_holds_a_firing_alert_through_a_dip() {
        let mut r = rule();
        r.for_ms = 0;
        r.keep_firing_for_ms = 3 * MIN;
        let states = run(
            &r,
            &[
                (0, Some(1.0)),
                (1, Some(0.1)),
                (3, Some(0.1)),
                (4, Some(0.1)),
            ],
        );
        assert_eq!(
            states.iter().map(|s| s.0).collect::<Vec<_>>(),
            [Firing, Firing, Firing, Resolved]
        );
    }

    #[test]
    fn severity_escalates_and_relaxes_within_one_alert() {
        let mut r = rule();
        r.for_ms = 0;
        let mut live = Vec::new();
        let mut changes_seen = Vec::new();
        for (minute, value) in [(0, 1.0), (1, 3.0), (2, 1.0)] {
            let changes = step(&r, &live, &series(value), minute * MIN);
            assert_eq!(changes.len(), 1);
            live = vec![changes[0].alert.clone()];
            changes_seen.push((changes[0].alert.severity, changes[0].severity_from));
        }
        assert_eq!(
            changes_seen,
            [
                (Severity::Warning, None),
                (Severity::Critical, Some(Severity::Warning)),
                (Severity::Warning, Some(Severity::Critical)),
            ]
        );
        assert_eq!(live[0].labels["severity"], "warning");
        assert_eq!(live[0].active_at, 0, "the same alert throughout");
    }

    #[test]
    fn no_data_follows_the_rule_setting() {
        let mut r = rule();
        r.for_ms = 0;
        let firing_then_nothing = [(0, Some(1.0)), (1, None)];
        assert_eq!(run(&r, &firing_then_nothing)[1].0, Resolved, "ok resolves");

        r.no_data_state = NoDataState::Keep;
        let mut live = Vec::new();
        let first = step(&r, &live, &series(1.0), 0);
        live.push(first[0].alert.clone());
        assert!(
            step(&r, &live, &Outcome::Series(vec![]), MIN).is_empty(),
            "keep changes nothing"
        );

        r.no_data_state = NoDataState::Alerting;
        let changes = step(&r, &[], &Outcome::Series(vec![]), 0);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].alert.labels["alertstate"], "NoData");
        assert_eq!(changes[0].alert.severity, Severity::Critical);
    }

    #[test]
    fn a_failed_evaluation_alerts_with_the_error_by_default() {
        let mut r = rule();
        r.for_ms = 0;
        let changes = step(&r, &[], &Outcome::Failed("query timed out".into()), 0);
        assert_eq!(changes[0].alert.labels["alertstate"], "Error");
        assert_eq!(changes[0].alert.annotations["error"], "query timed out");
        r.error_state = ErrorState::Keep;
        assert!(step(&r, &[], &Outcome::Failed("x".into()), 0).is_empty());
    }

    #[test]
    fn labels_and_annotations_are_rendered() {
        let mut r = rule();
        r.for_ms = 0;
        let changes = step(&r, &[], &series(0.75), 0);
        let alert = &changes[0].alert;
        assert_eq!(alert.labels["alertname"], "HighLatency");
        assert_eq!(alert.labels["team"], "web");
        assert_eq!(alert.labels["instance"], "web-1");
        assert_eq!(alert.labels["severity"], "warning");
        assert!(!alert.labels.contains_key("__name__"));
        assert_eq!(alert.annotations["summary"], "web-1 p99 is 0.75s");
    }
}
