//! Demo mode's team, on-call schedule, escalation policy and alert rules on a real database:
//! created once however often (and from however many replicas) Vigil starts, valid by the
//! API's own rules, someone on call from the start, rules that fire during the workload's
//! trouble and not outside it, and an incident that pages the on-call responder and then the
//! team.

mod common;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::{Client, PASSWORD, TestApp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use vigil::alerting::alerts::Evaluator;
use vigil::db::{self, PoolSettings};
use vigil::demo::seed::{self, DemoSetup};
use vigil::demo::workload::{self, Trouble, Workload};
use vigil::incidents::escalation;
use vigil::notify::routing;
use vigil_shared::admin::Team;
use vigil_shared::alerting::{AlertRule, AlertRuleList};
use vigil_shared::incident::{
    EscalationLevel, EscalationPolicy, EscalationTarget, IncidentDetail, IncidentList,
    IncidentStatus, TargetKind,
};
use vigil_shared::schedule::{OnCall, Schedule};

/// The demo users (password [`PASSWORD`]) and the demo set-up, as `vigil serve --demo` seeds
/// them at `now`.
async fn seed_demo(app: &TestApp, now: DateTime<Utc>) -> DemoSetup {
    vigil::demo::seed_users(&app.db, PASSWORD).await.unwrap();
    seed::seed(&app.db, now).await.unwrap()
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    vigil::users::id_by_email(&app.db, email)
        .await
        .unwrap()
        .unwrap()
}

/// How many teams, schedules, escalation policies and alert rules exist.
async fn counts(app: &TestApp) -> [i64; 4] {
    let mut counts = [0; 4];
    for (count, table) in
        counts
            .iter_mut()
            .zip(["teams", "schedules", "escalation_policies", "alert_rules"])
    {
        *count = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&app.db)
            .await
            .unwrap();
    }
    counts
}

/// These tests follow the demo's threshold rules; the demo SLOs' burn-rate rules (which page
/// too, on the same trouble) are followed by `the_demo_slos_have_a_month_of_history…`.
async fn disable_slo_burn_rules(app: &TestApp) {
    sqlx::query("UPDATE alert_rules SET enabled = false WHERE slo_id IS NOT NULL")
        .execute(&app.db)
        .await
        .unwrap();
}

/// GETs `path` as `T`, asserting 200.
async fn get<T: DeserializeOwned>(client: &mut Client<'_>, path: &str) -> T {
    let response = client.get(path).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{path}: {}",
        response.text()
    );
    response.json()
}

/// Sends `body` to `path` with `method`, asserting 200, and answers the saved object.
async fn save<T: DeserializeOwned>(
    client: &mut Client<'_>,
    method: Method,
    path: &str,
    body: &impl Serialize,
) -> T {
    let response = client
        .request(method, path, Some(serde_json::to_vec(body).unwrap()))
        .await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{path}: {}",
        response.text()
    );
    response.json()
}

#[tokio::test]
async fn seeding_again_or_from_two_replicas_at_once_creates_each_object_once() {
    let app = TestApp::spawn().await;
    vigil::demo::seed_users(&app.db, PASSWORD).await.unwrap();
    // A second replica starting at the same moment: its own pool on the same database.
    let other_pool = db::pool_options(&PoolSettings {
        max_connections: 2,
        ..PoolSettings::default()
    })
    .connect_with(app.db.connect_options().as_ref().clone())
    .await
    .unwrap();
    let now = Utc::now();
    let (here, there) = tokio::join!(seed::seed(&app.db, now), seed::seed(&other_pool, now));
    let (here, there) = (here.unwrap(), there.unwrap());
    assert_eq!(here, there, "both replicas found the same objects");
    assert_eq!(here.rule_ids.len(), 3);
    assert_eq!(here.slo_ids.len(), 3);
    // Three demo rules, and each demo SLO's two burn-rate rules.
    assert_eq!(counts(&app).await, [1, 1, 1, 9]);

    // A restart a week later: users seeded again, nothing duplicated.
    let later = now + TimeDelta::days(7);
    assert_eq!(seed_demo(&app, later).await, here);
    assert_eq!(counts(&app).await, [1, 1, 1, 9]);
    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM team_members")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(members, 2);
}

#[tokio::test]
async fn seeding_again_keeps_what_people_changed() {
    let app = TestApp::spawn().await;
    let setup = seed_demo(&app, Utc::now()).await;
    let mut editor = app.login("editor@vigil.local", PASSWORD).await;
    let mut admin = app.login("admin@vigil.local", PASSWORD).await;
    let path = format!("/api/v1/alert-rules/{}", setup.rule_ids[0]);
    let mut rule: AlertRule = get(&mut editor, &path).await;
    rule.rule.warning_threshold = Some(1.5);
    rule.rule.enabled = false;
    let _: AlertRule = save(&mut editor, Method::PUT, &path, &rule.rule).await;
    let team_path = format!("/api/v1/teams/{}", setup.team_id);
    let editor_id = user_id(&app, "editor@vigil.local").await;
    let _: Team = save(
        &mut admin,
        Method::PATCH,
        &team_path,
        &json!({ "member_ids": [editor_id] }),
    )
    .await;
    let policy_path = format!("/api/v1/escalation-policies/{}", setup.policy_id);
    let mut policy: EscalationPolicy = get(&mut editor, &policy_path).await;
    policy.policy.levels[1].delay_minutes = 15;
    let _: EscalationPolicy = save(&mut editor, Method::PUT, &policy_path, &policy.policy).await;

    assert_eq!(seed_demo(&app, Utc::now()).await, setup);
    let after: AlertRule = get(&mut editor, &path).await;
    assert_eq!(after.rule.warning_threshold, Some(1.5));
    assert!(!after.rule.enabled);
    let team: Team = get(&mut admin, &team_path).await;
    assert_eq!(team.members.len(), 1);
    let policy: EscalationPolicy = get(&mut editor, &policy_path).await;
    assert_eq!(policy.policy.levels[1].delay_minutes, 15);
}

#[tokio::test]
async fn the_seeded_objects_pass_the_apis_validation_and_the_responder_is_on_call_now() {
    let app = TestApp::spawn().await;
    let now = Utc::now();
    let setup = seed_demo(&app, now).await;
    let editor_id = user_id(&app, "editor@vigil.local").await;
    let responder_id = user_id(&app, "responder@vigil.local").await;
    let mut editor = app.login("editor@vigil.local", PASSWORD).await;
    let mut admin = app.login("admin@vigil.local", PASSWORD).await;

    let path = format!("/api/v1/teams/{}", setup.team_id);
    let team: Team = get(&mut admin, &path).await;
    assert_eq!(team.name, "Platform");
    let mut members: Vec<i64> = team.members.iter().map(|m| m.user_id).collect();
    members.sort_unstable();
    assert_eq!(members, [editor_id, responder_id]);
    let saved: Team = save(
        &mut admin,
        Method::PATCH,
        &path,
        &json!({ "name": team.name, "description": team.description, "member_ids": members }),
    )
    .await;
    assert_eq!(saved, team);

    let path = format!("/api/v1/schedules/{}", setup.schedule_id);
    let schedule: Schedule = get(&mut editor, &path).await;
    assert_eq!(schedule.schedule.name, "Primary on-call");
    assert_eq!(schedule.schedule.participants, [responder_id, editor_id]);
    assert_eq!(schedule.schedule.handoff_time, "09:00");
    let saved: Schedule = save(&mut editor, Method::PUT, &path, &schedule.schedule).await;
    assert_eq!(saved.schedule, schedule.schedule);
    let on_call: OnCall = get(&mut editor, &format!("{path}/oncall")).await;
    assert_eq!(on_call.user_id, Some(responder_id), "the responder's week");
    let next_week = (now + TimeDelta::days(7)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let on_call: OnCall = get(&mut editor, &format!("{path}/oncall?at={next_week}")).await;
    assert_eq!(on_call.user_id, Some(editor_id), "then the editor's");

    let path = format!("/api/v1/escalation-policies/{}", setup.policy_id);
    let policy: EscalationPolicy = get(&mut editor, &path).await;
    assert_eq!(policy.policy.name, "Default");
    let target = |kind, id| vec![EscalationTarget { kind, id }];
    assert_eq!(
        policy.policy.levels,
        [
            EscalationLevel {
                delay_minutes: 0,
                targets: target(TargetKind::Schedule, setup.schedule_id),
            },
            EscalationLevel {
                delay_minutes: 5,
                targets: target(TargetKind::Team, setup.team_id),
            },
        ]
    );
    assert_eq!(policy.policy.repeat_count, 1);
    assert_eq!(policy.policy.ack_timeout_minutes, Some(30));
    assert!(policy.policy.auto_resolve);
    let saved: EscalationPolicy = save(&mut editor, Method::PUT, &path, &policy.policy).await;
    assert_eq!(saved.policy, policy.policy);

    let list: AlertRuleList = get(&mut editor, "/api/v1/alert-rules?group=demo").await;
    let mut names: Vec<&str> = list.rules.iter().map(|r| r.rule.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "CheckoutHighErrorRate",
            "PaymentsHighLatency",
            "SearchCpuSaturated"
        ]
    );
    for rule in &list.rules {
        let r = &rule.rule;
        assert_eq!(r.escalation_policy_id, Some(setup.policy_id), "{}", r.name);
        assert!(r.warning_threshold.is_some() && r.critical_threshold.is_some());
        assert!(["checkout", "payments", "search"].contains(&r.labels["service"].as_str()));
        assert_eq!(r.labels["team"], "platform");
        assert!(!r.annotations.summary.is_empty());
        assert!(r.annotations.runbook_url.starts_with("https://"));
        let saved: AlertRule = save(
            &mut editor,
            Method::PUT,
            &format!("/api/v1/alert-rules/{}", rule.id),
            r,
        )
        .await;
        assert_eq!(&saved.rule, r);
    }
}

/// A firing alert of the demo rules, at one evaluation.
#[derive(Clone, Debug)]
struct Firing {
    at: DateTime<Utc>,
    rule: String,
    severity: String,
}

/// Whether the trouble a demo rule watches is happening.
fn trouble_of(rule: &str) -> fn(Trouble) -> bool {
    match rule {
        "PaymentsHighLatency" => |t| t.payments_latency_spike,
        "CheckoutHighErrorRate" => |t| t.checkout_error_burst,
        "SearchCpuSaturated" => |t| t.search_cpu_saturation,
        other => panic!("{other} is not a demo rule"),
    }
}

#[tokio::test]
async fn each_seeded_rule_fires_during_its_trouble_and_not_outside_it() {
    let app = TestApp::spawn().await;
    // Two hours (one whole trouble schedule) starting at an even UTC hour, in the past.
    let start = Utc::now().duration_trunc(TimeDelta::hours(2)).unwrap() - TimeDelta::hours(4);
    let end = start + TimeDelta::hours(2) + TimeDelta::minutes(15);
    workload::backfill(
        &app.state.metrics,
        &mut Workload::new(),
        (start - TimeDelta::minutes(5)).timestamp_millis(),
        end.timestamp_millis(),
    )
    .await
    .unwrap();
    let setup = seed_demo(&app, start).await;
    disable_slo_burn_rules(&app).await;
    sqlx::query("UPDATE alert_rules SET next_eval_at = $1")
        .bind(start)
        .execute(&app.db)
        .await
        .unwrap();

    let evaluator = Evaluator {
        concurrency: 1,
        ..Evaluator::new(&app.state)
    };
    let step = TimeDelta::seconds(30);
    let mut firing: Vec<Firing> = Vec::new();
    let mut t = start;
    while t < end {
        assert_eq!(evaluator.evaluate_due(t).await.unwrap(), 3, "at {t}");
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT r.name, a.severity FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
             WHERE a.state = 'firing'",
        )
        .fetch_all(&app.db)
        .await
        .unwrap();
        firing.extend(rows.into_iter().map(|(rule, severity)| Firing {
            at: t,
            rule,
            severity,
        }));
        t += step;
    }
    let errors: Vec<Option<String>> = sqlx::query_scalar("SELECT last_error FROM alert_rules")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(errors.iter().all(Option::is_none), "{errors:?}");

    // A query looks back 2 minutes and an alert keeps firing 5 minutes after recovering.
    let afterglow = TimeDelta::minutes(9);
    let troubled =
        |rule: &str, at: DateTime<Utc>| trouble_of(rule)(Trouble::at(at.timestamp_millis()));
    let mut windows_seen = BTreeMap::new();
    for rule in [
        "PaymentsHighLatency",
        "CheckoutHighErrorRate",
        "SearchCpuSaturated",
    ] {
        let times: Vec<&Firing> = firing.iter().filter(|f| f.rule == rule).collect();
        for f in &times {
            let mut s = f.at - afterglow;
            let mut explained = false;
            while s <= f.at {
                explained |= troubled(rule, s);
                s += TimeDelta::seconds(15);
            }
            assert!(explained, "{rule} fired at {} with no trouble before", f.at);
        }
        // Every trouble window of the two hours: the rule fires within it, critical.
        let mut windows = 0;
        let mut t = start;
        while t < start + TimeDelta::hours(2) {
            if troubled(rule, t) && !troubled(rule, t - step) {
                windows += 1;
                let mut window_end = t;
                while troubled(rule, window_end) {
                    window_end += step;
                }
                let during: Vec<&&Firing> = times
                    .iter()
                    .filter(|f| t <= f.at && f.at < window_end)
                    .collect();
                assert!(
                    !during.is_empty(),
                    "{rule} did not fire during its trouble from {t} to {window_end}"
                );
                assert!(
                    times.iter().any(|f| t <= f.at
                        && f.at < window_end + afterglow
                        && f.severity == "critical"),
                    "{rule} did not go critical for its trouble from {t}"
                );
            }
            t += step;
        }
        windows_seen.insert(rule, windows);
    }
    assert_eq!(
        windows_seen,
        BTreeMap::from([
            ("CheckoutHighErrorRate", 2),
            ("PaymentsHighLatency", 4),
            ("SearchCpuSaturated", 1),
        ])
    );
    assert_eq!(setup.rule_ids.len(), 3);
}

#[tokio::test]
async fn a_payments_spike_pages_the_on_call_responder_then_the_platform_team_five_minutes_later() {
    let app = TestApp::spawn().await;
    // An even UTC hour in the past: payments slows down from 10 minutes past it, and nothing
    // else is in trouble until 40 minutes past.
    let hour = Utc::now().duration_trunc(TimeDelta::hours(2)).unwrap() - TimeDelta::hours(2);
    let end = hour + TimeDelta::minutes(35);
    workload::backfill(
        &app.state.metrics,
        &mut Workload::new(),
        (hour - TimeDelta::minutes(5)).timestamp_millis(),
        end.timestamp_millis(),
    )
    .await
    .unwrap();
    let setup = seed_demo(&app, hour).await;
    disable_slo_burn_rules(&app).await;
    sqlx::query("UPDATE alert_rules SET next_eval_at = $1")
        .bind(hour)
        .execute(&app.db)
        .await
        .unwrap();
    let responder = user_id(&app, "responder@vigil.local").await;
    let editor = user_id(&app, "editor@vigil.local").await;

    // What the evaluator, the router and the escalation worker do, on the test's clock.
    let evaluator = Evaluator::new(&app.state);
    let mut t = hour;
    while t < end {
        evaluator.evaluate_due(t).await.unwrap();
        routing::route_pending(&app.db, t).await.unwrap();
        escalation::pick_up_all(&app.db, t).await.unwrap();
        escalation::resolve_finished(&app.db, t).await.unwrap();
        escalation::process_due(&app.db, t).await.unwrap();
        t += TimeDelta::seconds(30);
    }

    let mut viewer = app.login("viewer@vigil.local", PASSWORD).await;
    let list: IncidentList = get(&mut viewer, "/api/v1/incidents").await;
    assert_eq!(list.incidents.len(), 1, "{list:?}");
    let incident = &list.incidents[0];
    assert_eq!(incident.title, "PaymentsHighLatency");
    assert_eq!(incident.escalation_policy_id, Some(setup.policy_id));
    assert_eq!(incident.escalation_policy.as_deref(), Some("Default"));
    assert_eq!(incident.team.as_deref(), Some("Platform"));
    assert_eq!(incident.service, "payments");
    let spike = hour + TimeDelta::minutes(10)..hour + TimeDelta::minutes(15);
    assert!(
        spike.contains(&incident.triggered_at),
        "opened at {} during the spike",
        incident.triggered_at
    );
    assert_eq!(
        incident.status,
        IncidentStatus::Resolved,
        "resolved with its alert, the policy says so"
    );

    let detail: IncidentDetail =
        get(&mut viewer, &format!("/api/v1/incidents/{}", incident.id)).await;
    let notified: Vec<(DateTime<Utc>, &str)> = detail
        .timeline
        .iter()
        .filter(|e| e.kind == "notified")
        .map(|e| (e.at, e.message.as_str()))
        .collect();
    assert_eq!(
        notified,
        [
            (
                incident.triggered_at,
                "Level 1 notified: responder@vigil.local."
            ),
            (
                incident.triggered_at + TimeDelta::minutes(5),
                "Level 2 notified: editor@vigil.local, responder@vigil.local."
            ),
        ]
    );
    assert_eq!(detail.timeline.first().unwrap().kind, "triggered");
    let last = detail.timeline.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.message.as_str()),
        ("resolved", "Resolved: all its alerts resolved.")
    );
    assert!(
        last.at > incident.triggered_at + TimeDelta::minutes(5),
        "still open when level 2 was paged"
    );

    let notifications = |user: i64| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM user_notifications WHERE user_id = $1")
            .bind(user)
            .fetch_one(&app.db)
    };
    assert_eq!(notifications(responder).await.unwrap(), 2);
    assert_eq!(notifications(editor).await.unwrap(), 1);
}

#[tokio::test]
async fn the_demo_slos_have_a_month_of_history_and_last_months_report_has_content() {
    let app = TestApp::spawn().await;
    let now = Utc::now();
    let setup = seed_demo(&app, now).await;
    let (oldest, minutes): (DateTime<Utc>, i64) =
        sqlx::query_as("SELECT min(minute), count(*) FROM slo_minutes WHERE slo_id = $1")
            .bind(setup.slo_ids[0])
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(now - oldest >= TimeDelta::days(35), "history from {oldest}");
    assert!(minutes >= 35 * 1440, "{minutes} minutes");

    let mut viewer = app.login("viewer@vigil.local", PASSWORD).await;
    let report: vigil_shared::slo::SlaReport = get(&mut viewer, "/api/v1/reports/sla?tz=UTC").await;
    assert!(
        report.file_stem.starts_with("vigil-sla-"),
        "{}",
        report.file_stem
    );
    let names: Vec<&str> = report.slos.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Checkout availability",
            "Payments latency",
            "Search availability"
        ]
    );
    let achieved = |i: usize| report.slos[i].achieved.unwrap();
    // The model's trouble: checkout fails a third of its requests 6 minutes an hour
    // (about 3.7 % overall), payments is slow 5 minutes in 30, search is healthy.
    assert!((95.0..97.5).contains(&achieved(0)), "{}", achieved(0));
    assert_eq!(report.slos[0].met, Some(false));
    assert!((80.0..95.0).contains(&achieved(1)), "{}", achieved(1));
    assert!((99.5..99.7).contains(&achieved(2)), "{}", achieved(2));
    assert_eq!(report.slos[2].met, Some(true));
    let days = report.slos[0].daily.len();
    assert!((28..=31).contains(&days), "{days}");
    assert!(
        report
            .slos
            .iter()
            .all(|s| s.daily.iter().all(|d| d.sli.is_some()))
    );
}
