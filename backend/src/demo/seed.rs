//! What demo mode sets up besides users and metrics: the team `Platform`, the on-call schedule
//! `Primary on-call`, the escalation policy `Default` and alert rules that fire on the demo
//! workload's trouble schedule, so that a newcomer sees alerts fire, incidents open, people
//! paged and an unacknowledged incident escalate without configuring anything.
//!
//! Everything is created through the same validation and insert functions as the API, and an
//! object only when none of its name exists: starting `--demo` again duplicates nothing and
//! leaves what people changed alone. (An object deleted or renamed comes back under its demo
//! name on the next start.)

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc};
use sqlx::{PgConnection, PgPool};
use vigil_shared::Role;
use vigil_shared::admin::CreateTeamRequest;
use vigil_shared::alerting::{AlertRuleRequest, Comparison, RuleAnnotations};
use vigil_shared::incident::{
    EscalationLevel, EscalationPolicyRequest, EscalationTarget, TargetKind,
};
use vigil_shared::schedule::{Rotation, ScheduleRequest};
use vigil_shared::slo::{CalendarUnit, Sli, SloRequest, SloWindow};

use super::{DEMO_USERS, workload};
use crate::alerting::rules;
use crate::audit::AuditActor;
use crate::oncall::{policies, schedules};
use crate::promql::QueryLimits;
use crate::{slo, teams, users};

/// Serialises seeding across replicas starting at once (advisory lock key, "vig4").
const SEED_LOCK: i64 = 0x7669_6734;

pub const TEAM: &str = "Platform";
pub const SCHEDULE: &str = "Primary on-call";
pub const POLICY: &str = "Default";
/// The group of the demo's alert rules.
pub const RULE_GROUP: &str = "demo";
/// When the on-call schedule hands over, each Monday.
const HANDOFF: NaiveTime = NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a time");

/// The demo set-up, by id: found, or created by this call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSetup {
    pub team_id: i64,
    pub schedule_id: i64,
    pub policy_id: i64,
    /// In the order of [`alert_rules`].
    pub rule_ids: Vec<i64>,
    /// In the order of [`slos`].
    pub slo_ids: Vec<i64>,
}

/// Creates whatever of the demo set-up is missing, as of `now` (the schedule's first handoff
/// is the last Monday 09:00 before it). The demo users must exist ([`super::seed_users`]).
pub async fn seed(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<DemoSetup> {
    let mut tx = pool.begin().await?;
    // Two replicas starting in demo mode at once would both find nothing and both create (the
    // second then failing on a unique name). Under this lock the second waits until the first
    // has committed and then finds everything; the lock ends with the transaction.
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", SEED_LOCK)
        .execute(&mut *tx)
        .await?;
    let editor = demo_user(&mut tx, Role::Editor).await?;
    let responder = demo_user(&mut tx, Role::Responder).await?;

    let team_id = match teams::id_by_name(&mut *tx, TEAM).await? {
        Some(id) => id,
        None => {
            let request = CreateTeamRequest {
                name: TEAM.to_owned(),
                description: "Runs checkout, payments and search (demo).".to_owned(),
                member_ids: vec![editor, responder],
            };
            let team = teams::insert(&mut tx, AuditActor::SYSTEM, &request)
                .await
                .with_context(|| format!("creating the demo team {TEAM:?}"))?;
            tracing::info!(team = TEAM, "created the demo team");
            team.id
        }
    };

    let schedule_id = match schedules::id_by_name(&mut *tx, SCHEDULE).await? {
        Some(id) => id,
        None => {
            let request = schedule_request(responder, editor, now);
            let schedule = schedules::insert(&mut tx, AuditActor::SYSTEM, &request)
                .await
                .with_context(|| format!("creating the demo schedule {SCHEDULE:?}"))?;
            tracing::info!(schedule = SCHEDULE, "created the demo on-call schedule");
            schedule.id
        }
    };

    let policy_id = match policies::id_by_name(&mut *tx, POLICY).await? {
        Some(id) => id,
        None => {
            let request = policy_request(schedule_id, team_id);
            let policy = policies::insert(&mut tx, AuditActor::SYSTEM, &request)
                .await
                .with_context(|| format!("creating the demo escalation policy {POLICY:?}"))?;
            tracing::info!(policy = POLICY, "created the demo escalation policy");
            policy.id
        }
    };

    let mut rule_ids = Vec::new();
    for request in alert_rules(policy_id) {
        let id = match rules::id_by_name(&mut *tx, &request.group, &request.name).await? {
            Some(id) => id,
            None => {
                let rule = rules::insert(
                    &mut tx,
                    AuditActor::SYSTEM,
                    None,
                    &request,
                    &QueryLimits::default(),
                )
                .await
                .with_context(|| format!("creating the demo alert rule {:?}", request.name))?;
                tracing::info!(rule = request.name, "created a demo alert rule");
                rule.id
            }
        };
        rule_ids.push(id);
    }
    let mut slo_ids = Vec::new();
    for (request, model) in slos(team_id) {
        let id = match slo::store::id_by_name(&mut *tx, &request.name).await? {
            Some(id) => id,
            None => {
                let saved = slo::api::save(&QueryLimits::default(), &mut tx, None, &request, None)
                    .await
                    .with_context(|| format!("creating the demo SLO {:?}", request.name))?;
                let minutes = model_history(model, now);
                slo::history::write_minutes(&mut tx, saved.id, &minutes).await?;
                tracing::info!(
                    slo = request.name,
                    minutes = minutes.len(),
                    "created a demo SLO"
                );
                saved.id
            }
        };
        slo_ids.push(id);
    }
    tx.commit().await?;
    Ok(DemoSetup {
        team_id,
        schedule_id,
        policy_id,
        rule_ids,
        slo_ids,
    })
}

/// How the demo workload's model counts a demo SLO's good events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SloModel {
    /// Requests not answered 500, of `service`.
    Available(&'static str),
    /// Requests of `service` answered within the threshold (seconds).
    FasterThan(&'static str, f64),
}

/// How far back a demo SLO's history reaches: enough for last month's report.
pub const SLO_HISTORY: chrono::TimeDelta = chrono::TimeDelta::days(36);

/// The demo's SLOs, owned by the demo team, with the model behind each.
pub fn slos(team_id: i64) -> Vec<(SloRequest, SloModel)> {
    let slo = |name: &str, service: &str, description: &str, sli: Sli, objective: f64, window| {
        SloRequest {
            name: name.to_owned(),
            service: service.to_owned(),
            owner_team_id: Some(team_id),
            description: description.to_owned(),
            labels: BTreeMap::new(),
            sli,
            objective,
            window,
            burn_alerts: true,
            min_events: 20.0,
        }
    };
    let availability = |job: &str| Sli::Events {
        good: None,
        bad: Some(format!(
            "http_requests_total{{job=\"{job}\", status=~\"5..\"}}"
        )),
        total: format!("http_requests_total{{job=\"{job}\"}}"),
    };
    vec![
        (
            slo(
                "Checkout availability",
                "checkout",
                "Checkout requests not answered with a server error.",
                availability("checkout"),
                99.9,
                SloWindow::Rolling {
                    duration: "30d".to_owned(),
                },
            ),
            SloModel::Available("checkout"),
        ),
        (
            slo(
                "Payments latency",
                "payments",
                "Payment requests answered within one second.",
                Sli::Latency {
                    histogram: "http_request_duration_seconds{job=\"payments\"}".to_owned(),
                    threshold: 1.0,
                },
                99.0,
                SloWindow::Rolling {
                    duration: "28d".to_owned(),
                },
            ),
            SloModel::FasterThan("payments", 1.0),
        ),
        (
            slo(
                "Search availability",
                "search",
                "Search requests not answered with a server error, per calendar month.",
                availability("search"),
                99.5,
                SloWindow::Calendar {
                    unit: CalendarUnit::Month,
                    time_zone: "UTC".to_owned(),
                },
            ),
            SloModel::Available("search"),
        ),
    ]
}

/// A demo SLO's minutes from [`SLO_HISTORY`] ago up to where the demo's raw samples begin
/// (from there the SLO's own queries count them), by the workload's model.
pub fn model_history(model: SloModel, now: DateTime<Utc>) -> Vec<slo::history::Minute> {
    let minute = |t: DateTime<Utc>| t.timestamp().div_euclid(60) * 60_000;
    let (from, to) = (minute(now - SLO_HISTORY), minute(now - workload::BACKFILL));
    (from..to)
        .step_by(60_000)
        .filter_map(|t| {
            let (service, threshold) = match model {
                SloModel::Available(service) => (service, f64::INFINITY),
                SloModel::FasterThan(service, threshold) => (service, threshold),
            };
            let traffic = workload::minute_traffic(service, t, threshold)?;
            let good = match model {
                SloModel::Available(_) => traffic.requests - traffic.errors,
                SloModel::FasterThan(..) => traffic.fast,
            };
            Some(slo::history::Minute {
                minute: DateTime::from_timestamp_millis(t)?,
                counts: slo::history::Counts {
                    good: good.clamp(0.0, traffic.requests),
                    total: traffic.requests,
                },
            })
        })
        .collect()
}

async fn demo_user(conn: &mut PgConnection, role: Role) -> anyhow::Result<i64> {
    let email = DEMO_USERS
        .iter()
        .find(|(_, _, r)| *r == role)
        .map(|(email, _, _)| *email)
        .with_context(|| format!("no demo user has the role {role}"))?;
    users::id_by_email(conn, email)
        .await?
        .with_context(|| format!("the demo user {email} does not exist"))
}

/// The date of the last Monday 09:00 (UTC) at or before `now`: the schedule starts with the
/// current week's shift, so someone is on call from the first minute.
pub fn schedule_start(now: DateTime<Utc>) -> NaiveDate {
    let today = now.date_naive();
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    if now < monday.and_time(HANDOFF).and_utc() {
        monday - Days::new(7)
    } else {
        monday
    }
}

/// Weekly, the responder first (this week) and then the editor.
fn schedule_request(first: i64, second: i64, now: DateTime<Utc>) -> ScheduleRequest {
    ScheduleRequest {
        name: SCHEDULE.to_owned(),
        description: "Who is paged first about the demo services; hands over every Monday at \
                      09:00 UTC."
            .to_owned(),
        // UTC rather than a city's zone: the demo team lives nowhere in particular, and the
        // workload's trouble follows the UTC clock, so handoffs and incidents read on one
        // clock. A real team sets its own zone, and handoffs then follow its local time
        // across DST changes.
        timezone: "UTC".to_owned(),
        rotation: Rotation::Weekly,
        shift_hours: None,
        start_date: schedule_start(now),
        handoff_time: HANDOFF.format("%H:%M").to_string(),
        participants: vec![first, second],
    }
}

/// Level 1 pages whoever is on call at once; if nobody acknowledges within 5 minutes, level 2
/// pages the whole team (the demo's incidents last long enough for a newcomer to see it).
fn policy_request(schedule_id: i64, team_id: i64) -> EscalationPolicyRequest {
    EscalationPolicyRequest {
        name: POLICY.to_owned(),
        description: format!(
            "Pages whoever is on call on {SCHEDULE} at once, then the {TEAM} team after 5 \
             minutes without an acknowledgment; runs once more 30 minutes later."
        ),
        levels: vec![
            EscalationLevel {
                delay_minutes: 0,
                targets: vec![EscalationTarget {
                    kind: TargetKind::Schedule,
                    id: schedule_id,
                }],
            },
            EscalationLevel {
                delay_minutes: 5,
                targets: vec![EscalationTarget {
                    kind: TargetKind::Team,
                    id: team_id,
                }],
            },
        ],
        repeat_count: 1,
        repeat_after_minutes: 30,
        ack_timeout_minutes: Some(30),
        auto_resolve: true,
    }
}

/// The demo's alert rules, one per kind of trouble in the workload (see
/// [`super::workload::Trouble`]), all escalating through `policy_id`.
///
/// Queries look back 2 minutes, so a value crosses its threshold within a scrape or two of the
/// trouble starting and falls back about 2 minutes after it ends. Each rule keeps firing 5
/// minutes after recovering: trouble that comes straight back stays one incident rather than
/// opening another, and an incident nobody acknowledges stays open long enough to reach the
/// policy's second level (the payments spike itself lasts only 5 minutes).
pub fn alert_rules(policy_id: i64) -> Vec<AlertRuleRequest> {
    let rule = |name: &str,
                description: &str,
                query: &str,
                (warning, critical): (f64, f64),
                for_duration: &str,
                service: &str,
                annotations: RuleAnnotations| AlertRuleRequest {
        name: name.to_owned(),
        group: RULE_GROUP.to_owned(),
        description: description.to_owned(),
        query: query.to_owned(),
        comparison: Comparison::Above,
        warning_threshold: Some(warning),
        critical_threshold: Some(critical),
        for_duration: for_duration.to_owned(),
        interval: "30s".to_owned(),
        keep_firing_for: "5m".to_owned(),
        no_data_state: Default::default(),
        error_state: Default::default(),
        labels: BTreeMap::from([
            ("service".to_owned(), service.to_owned()),
            // Incidents of the rule belong to the team of this name.
            ("team".to_owned(), TEAM.to_lowercase()),
        ]),
        annotations,
        notification_channel_ids: Vec::new(),
        escalation_policy_id: Some(policy_id),
        incident_group_by: Vec::new(),
        enabled: true,
    };
    let annotations = |summary: &str, description: &str, runbook: &str| RuleAnnotations {
        summary: summary.to_owned(),
        description: description.to_owned(),
        // A placeholder address (example.com): where a team's own runbook would go.
        runbook_url: format!("https://runbooks.example.com/demo/{runbook}"),
    };
    vec![
        rule(
            "PaymentsHighLatency",
            "The 99th percentile of payments request latency. In the demo, payments slows \
             down for 5 minutes of every 30 (from 10 and 40 minutes past each hour, UTC).",
            r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="payments"}[2m])))"#,
            (1.0, 2.5),
            "1m",
            "payments",
            annotations(
                "payments p99 latency is {{ humanize $value }}s",
                "99% of payments requests took up to {{ humanize $value }}s over the last 2 \
                 minutes (warning above 1s, critical above 2.5s).",
                "payments-latency",
            ),
        ),
        rule(
            "CheckoutHighErrorRate",
            "The share of checkout requests failing with a 5xx status. In the demo, a third \
             of them fail for 6 minutes every hour (from 40 minutes past, UTC).",
            r#"sum(rate(http_requests_total{job="checkout",status=~"5.."}[2m])) / sum(rate(http_requests_total{job="checkout"}[2m]))"#,
            (0.05, 0.2),
            "2m",
            "checkout",
            annotations(
                "checkout fails {{ humanizePercentage $value }} of requests",
                "{{ humanizePercentage $value }} of checkout requests answered 5xx over the \
                 last 2 minutes (warning above 5%, critical above 20%).",
                "checkout-errors",
            ),
        ),
        rule(
            "SearchCpuSaturated",
            "CPU used by each search instance, in cores. In the demo, search saturates its \
             CPU for 10 minutes every 2 hours (from 10 minutes past each odd hour, UTC).",
            r#"rate(process_cpu_seconds_total{job="search"}[2m])"#,
            (0.8, 0.9),
            "3m",
            "search",
            annotations(
                "{{ $labels.instance }} uses {{ humanizePercentage $value }} of a CPU",
                "{{ $labels.instance }} spent {{ humanizePercentage $value }} of the last 2 \
                 minutes on the CPU (warning above 80%, critical above 90%).",
                "search-cpu",
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_schedule_starts_at_the_last_monday_handoff() {
        // 2026-03-02 is a Monday.
        let monday = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let before = NaiveDate::from_ymd_opt(2026, 2, 23).unwrap();
        assert_eq!(schedule_start(utc("2026-03-02T09:00:00Z")), monday);
        assert_eq!(schedule_start(utc("2026-03-08T23:59:00Z")), monday);
        assert_eq!(schedule_start(utc("2026-03-02T08:59:59Z")), before);
        assert_eq!(schedule_start(utc("2026-03-01T12:00:00Z")), before);
    }

    #[test]
    fn every_demo_rule_passes_validation() {
        for request in alert_rules(1) {
            let valid = rules::validate(&request, &QueryLimits::default())
                .unwrap_or_else(|e| panic!("{}: {e}", request.name));
            assert_eq!(valid.escalation_policy_id, Some(1));
        }
    }
}
