//! SLOs over real samples on a clock the test controls: the per-minute history, status and
//! report against hand-computed figures, maintenance, burn-rate alerts paging through the
//! normal path, the history outliving raw samples, roles and bad input.

mod common;

use axum::http::StatusCode;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::TestApp;
use serde_json::json;
use vigil::alerting::alerts::Evaluator;
use vigil::incidents::escalation;
use vigil::metrics::model::{Labels, Sample, SeriesWrite, WriteBatch};
use vigil::notify::routing;
use vigil::slo::history;
use vigil_shared::Role;
use vigil_shared::alerting::{AlertList, AlertRule, AlertRuleList};
use vigil_shared::slo::{
    BudgetUnit, MaintenanceWindow, SlaReport, Slo, SloHealth, SloHistory, SloList, SloStatus,
};

/// Writes a series every 15 s over `[from, to)` with `value(t)`, half an hour per write with
/// its end as "now" (the store takes samples up to an hour old).
async fn write(
    app: &TestApp,
    labels: &[(&str, &str)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    value: impl Fn(DateTime<Utc>) -> f64,
) {
    let mut t = from;
    while t < to {
        let chunk_end = (t + TimeDelta::minutes(30)).min(to);
        let mut samples = Vec::new();
        while t < chunk_end {
            samples.push(Sample {
                timestamp_ms: t.timestamp_millis(),
                value: value(t),
            });
            t += TimeDelta::seconds(15);
        }
        let batch = WriteBatch {
            series: vec![SeriesWrite {
                labels: Labels::from_pairs(labels.iter().copied()),
                samples,
            }],
            metadata: vec![],
        };
        app.state.metrics.write_at(batch, chunk_end).await.unwrap();
    }
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds().max(0) as f64 / 1000.0
}

/// Traffic from `lead` minutes before `start` to `minutes` after it: 2 requests/s; errors
/// at 0.5/s during minutes 10-19.
async fn write_traffic(app: &TestApp, start: DateTime<Utc>, lead: i64, minutes: i64) {
    let minute = |m: i64| start + TimeDelta::minutes(m);
    let end = minute(minutes);
    write(
        app,
        &[("__name__", "requests_total"), ("job", "api")],
        minute(-lead),
        end,
        |t| 2.0 * seconds(minute(-lead), t),
    )
    .await;
    write(
        app,
        &[("__name__", "errors_total"), ("job", "api")],
        minute(-lead),
        end,
        |t| 0.5 * (seconds(minute(10), t.min(minute(20)))),
    )
    .await;
}

async fn catch_up(app: &TestApp, now: DateTime<Utc>) {
    history::catch_up(&app.db, &app.state.metrics, &app.state.config.query, now)
        .await
        .unwrap();
}

fn hour_ago() -> DateTime<Utc> {
    (Utc::now() - TimeDelta::minutes(90))
        .duration_trunc(TimeDelta::hours(1))
        .unwrap()
}

fn api_slo(objective: f64) -> serde_json::Value {
    json!({
        "name": "API availability",
        "service": "api",
        "sli": {"kind": "events", "bad": "errors_total{job=\"api\"}",
                "total": "requests_total{job=\"api\"}"},
        "objective": objective,
        "window": {"kind": "rolling", "duration": "1d"},
    })
}

/// The text `pdftotext` extracts from a PDF.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("vigil-slo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, pdf).unwrap();
    let output = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian's poppler-utils, which scripts/test.sh installs)");
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

#[tokio::test]
async fn events_ratio_history_status_maintenance_and_report_match_hand_computed_figures() {
    let app = TestApp::spawn().await;
    let start = hour_ago();
    let minute = |m: i64| start + TimeDelta::minutes(m);
    write_traffic(&app, start, 5, 60).await;
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor.post("/api/v1/slos", &api_slo(99.0)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let slo: Slo = created.json();
    assert_eq!(
        slo.queries.total,
        "sum(increase(requests_total{job=\"api\"}[2m])) / 2"
    );
    assert_eq!(slo.alert_rule_ids.len(), 2, "page and ticket burn rules");

    // History up to minute 60 (plus the settling delay).
    catch_up(&app, minute(60) + TimeDelta::seconds(90)).await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM slo_minutes WHERE minute >= $1")
        .bind(start)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 60);

    // By hand: 120 requests a minute for 60 minutes; 30 errors a minute for 10 minutes. Each
    // minute counts half the increase of the two minutes up to its end, so the errors show
    // as 15 in minute 10, 30 in minutes 11-19 and 15 in minute 20: 300 all the same.
    let mut viewer = app.login_as(Role::Viewer).await;
    let report: SlaReport = viewer
        .get(&format!(
            "/api/v1/reports/sla?from={}&to={}&format=json",
            start.to_rfc3339().replace('+', "%2B"),
            minute(60).to_rfc3339().replace('+', "%2B")
        ))
        .await
        .json();
    assert_eq!(report.slos.len(), 1);
    let s = &report.slos[0];
    assert!(close(s.total, 7200.0), "{}", s.total);
    assert!(close(s.bad, 300.0), "{}", s.bad);
    assert_eq!(s.achieved, Some(95.833));
    assert_eq!(s.met, Some(false));
    // Budget: 1 % of 7200 = 72 events; 300 used.
    assert_eq!(s.budget_consumed_percent, 416.667);
    assert_eq!(s.unit, BudgetUnit::Events);
    assert_eq!(report.summary.breached, 1);
    assert_eq!(s.provenance.total_query, slo.queries.total);
    assert_eq!(s.worst_days.len(), 1);

    // The same numbers in the CSV.
    let csv = viewer
        .get(&format!(
            "/api/v1/reports/sla?from={}&to={}&format=csv",
            start.to_rfc3339().replace('+', "%2B"),
            minute(60).to_rfc3339().replace('+', "%2B")
        ))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .contains(".csv\""),
        "{:?}",
        csv.header("content-disposition")
    );
    let text = csv.text();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("service,slo,sli_kind,objective_percent,achieved_percent")
    );
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &row[..8],
        [
            "api",
            "API availability",
            "events",
            "99",
            "95.833",
            "breached",
            "416.667",
            "300"
        ]
    );

    // And in the PDF, whose text extracts.
    let pdf = viewer
        .get(&format!(
            "/api/v1/reports/sla?from={}&to={}&format=pdf",
            start.to_rfc3339().replace('+', "%2B"),
            minute(60).to_rfc3339().replace('+', "%2B")
        ))
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    let text = pdf_text(&pdf.body);
    for figure in [
        "API availability",
        "95.833 %",
        "416.667 %",
        "300 events",
        "Breached",
    ] {
        assert!(
            text.contains(figure),
            "{figure} missing from the PDF: {text}"
        );
    }

    // A responder marks minutes 10-15 as not counted: 600 requests and 15 + 4 x 30 = 135
    // errors fewer.
    let mut responder = app.login_as(Role::Responder).await;
    let correction = responder
        .post(
            "/api/v1/maintenance-windows",
            &json!({"kind": "correction", "reason": "Load test by the API team",
                    "scope": {"kind": "service", "service": "api"},
                    "schedule": {"kind": "once", "start": minute(10), "end": minute(15)}}),
        )
        .await;
    assert_eq!(
        correction.status,
        StatusCode::CREATED,
        "{}",
        correction.text()
    );
    let window: MaintenanceWindow = correction.json();
    let report: SlaReport = viewer
        .get(&format!(
            "/api/v1/reports/sla?from={}&to={}",
            start.to_rfc3339().replace('+', "%2B"),
            minute(60).to_rfc3339().replace('+', "%2B")
        ))
        .await
        .json();
    let s = &report.slos[0];
    assert!(close(s.total, 6600.0), "{}", s.total);
    assert!(close(s.bad, 165.0), "{}", s.bad);
    assert_eq!(s.achieved, Some(97.5));
    assert_eq!(s.excluded_minutes, 5);
    assert_eq!(s.excluded[0].window_id, window.id);
    let pdf = viewer
        .get(&format!(
            "/api/v1/reports/sla?from={}&to={}&format=pdf",
            start.to_rfc3339().replace('+', "%2B"),
            minute(60).to_rfc3339().replace('+', "%2B")
        ))
        .await;
    let text = pdf_text(&pdf.body);
    for listed in ["Time not counted", "Load test by the API team", "97.5 %"] {
        assert!(
            text.contains(listed),
            "{listed} missing from the PDF: {text}"
        );
    }
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'maintenance_window.create'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // Status over the rolling day: also the clean minutes before the hour, where the data
    // starts at minute -5: minute -5 counts half of its one minute of data (60), minutes -4
    // to -1 count 120 each.
    let status: SloStatus = viewer
        .get(&format!("/api/v1/slos/{}/status", slo.id))
        .await
        .json();
    assert!(close(status.total, 6600.0 + 540.0), "{status:?}");
    assert_eq!(status.health, SloHealth::Breached);
    assert!(close(status.budget.total, 71.4), "{status:?}");
    assert!(close(status.budget.consumed, 165.0));
    assert_eq!(status.excluded_minutes, 5);
    // 1h: 165 bad of 6600 counted -> 2.5 % error ratio, 2.5x the 1 % allowed.
    assert!(close(status.burn_rates.h1.unwrap(), 2.5));

    let chart: SloHistory = viewer
        .get(&format!(
            "/api/v1/slos/{}/history?from={}&to={}&step=600",
            slo.id,
            start.to_rfc3339().replace('+', "%2B"),
            minute(60).to_rfc3339().replace('+', "%2B")
        ))
        .await
        .json();
    assert_eq!(chart.points.len(), 6);
    assert_eq!(
        chart.points[1].sli,
        Some(75.0),
        "minutes 15-19: 30 of 120 fail"
    );
    assert_eq!(chart.excluded.len(), 1);

    // The history outlives the raw samples.
    sqlx::query("TRUNCATE metric_samples")
        .execute(&app.db)
        .await
        .unwrap();
    catch_up(&app, minute(62) + TimeDelta::seconds(90)).await;
    let after: SloStatus = viewer
        .get(&format!("/api/v1/slos/{}/status", slo.id))
        .await
        .json();
    assert!(close(after.total, 7140.0), "{after:?} before {status:?}");
    assert!(close(after.budget.consumed, 165.0));
}

#[tokio::test]
async fn latency_and_time_slice_slis() {
    let app = TestApp::spawn().await;
    let start = hour_ago();
    let minute = |m: i64| start + TimeDelta::minutes(m);
    // 4 requests/s, 3 of them under 0.5 s.
    for (le, rate) in [("0.5", 3.0), ("+Inf", 4.0)] {
        write(
            &app,
            &[
                ("__name__", "rpc_seconds_bucket"),
                ("job", "rpc"),
                ("le", le),
            ],
            minute(-5),
            minute(30),
            |t| rate * seconds(minute(-5), t),
        )
        .await;
    }
    write(
        &app,
        &[("__name__", "rpc_seconds_count"), ("job", "rpc")],
        minute(-5),
        minute(30),
        |t| 4.0 * seconds(minute(-5), t),
    )
    .await;
    // The target is down for minutes 5-9.
    write(
        &app,
        &[("__name__", "up"), ("job", "rpc")],
        minute(-5),
        minute(30),
        |t| {
            if t >= minute(5) && t < minute(10) {
                0.0
            } else {
                1.0
            }
        },
    )
    .await;
    let mut editor = app.login_as(Role::Editor).await;
    let latency: Slo = editor
        .post(
            "/api/v1/slos",
            &json!({"name": "RPC latency", "service": "rpc", "objective": 70,
                    "sli": {"kind": "latency", "histogram": "rpc_seconds{job=\"rpc\"}",
                            "threshold": 0.5},
                    "window": {"kind": "rolling", "duration": "28d"}}),
        )
        .await
        .json();
    let up: Slo = editor
        .post(
            "/api/v1/slos",
            &json!({"name": "RPC up", "service": "rpc", "objective": 99,
                    "sli": {"kind": "time_slices", "condition": "up{job=\"rpc\"} == 1"},
                    "window": {"kind": "calendar", "unit": "month", "time_zone": "UTC"}}),
        )
        .await
        .json();
    catch_up(&app, minute(30) + TimeDelta::seconds(90)).await;
    let from = start.to_rfc3339().replace('+', "%2B");
    let to = minute(30).to_rfc3339().replace('+', "%2B");
    let report: SlaReport = editor
        .get(&format!(
            "/api/v1/reports/sla?from={from}&to={to}&services=rpc,billing"
        ))
        .await
        .json();
    let by_name = |name: &str| report.slos.iter().find(|s| s.name == name).unwrap().clone();
    let l = by_name("RPC latency");
    assert_eq!(l.slo_id, latency.id);
    assert!(close(l.total, 30.0 * 240.0), "{}", l.total);
    assert_eq!(l.achieved, Some(75.0));
    assert_eq!(l.met, Some(true));
    let u = by_name("RPC up");
    assert_eq!(u.slo_id, up.id);
    assert_eq!(u.unit, BudgetUnit::Minutes);
    // A minute is good when `up == 1` holds at its end: minutes 4-8 end while it is down.
    assert_eq!(u.total, 30.0);
    assert_eq!(u.bad, 5.0, "downtime minutes");
    assert_eq!(u.achieved, Some(83.333));
    // Budget: 1 % of the 30 minutes.
    assert_eq!(u.budget_consumed_percent, 1666.667);
    assert_eq!(
        report.notes,
        ["The service \"billing\" has no SLO."],
        "a service without an SLO is said so"
    );
    let csv = editor
        .get(&format!(
            "/api/v1/reports/sla?from={from}&to={to}&services=billing&format=csv"
        ))
        .await
        .text();
    assert!(
        csv.contains("The service \"\"billing\"\" has no SLO."),
        "{csv}"
    );
}

#[tokio::test]
async fn a_fast_burn_pages_through_the_owner_teams_policy_and_resolves() {
    let app = TestApp::spawn().await;
    let start = hour_ago() - TimeDelta::hours(1);
    let minute = |m: i64| start + TimeDelta::minutes(m);
    // Six hours and more of clean traffic before, so every window is full.
    write_traffic(&app, start, 400, 60).await;
    let mut admin = app.login_as(Role::Admin).await;
    let responder = app.create_user("oncall@example.com", Role::Responder).await;
    let team: serde_json::Value = admin
        .post(
            "/api/v1/teams",
            &json!({"name": "API", "member_ids": [responder]}),
        )
        .await
        .json();
    let team_id = team["id"].as_i64().unwrap();
    let policy = admin
        .post(
            "/api/v1/escalation-policies",
            &json!({"name": "API paging",
                    "levels": [{"delay_minutes": 5, "targets": [{"kind": "team", "id": team_id}]}]}),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text());
    let policy_id = policy.json::<serde_json::Value>()["id"].as_i64().unwrap();
    let mut slo = api_slo(99.9);
    slo["owner_team_id"] = json!(team_id);
    let slo: Slo = admin.post("/api/v1/slos", &slo).await.json();

    let rules: AlertRuleList = admin.get("/api/v1/alert-rules").await.json();
    let generated: Vec<&AlertRule> = rules
        .rules
        .iter()
        .filter(|r| r.slo_id == Some(slo.id))
        .collect();
    assert_eq!(generated.len(), 2);
    let page = generated
        .iter()
        .find(|r| r.rule.labels["burn_tier"] == "page")
        .unwrap();
    assert_eq!(page.rule.labels["slo"], "API availability");
    assert_eq!(page.rule.labels["service"], "api");
    assert_eq!(page.rule.labels["team"], "api");
    assert_eq!(page.rule.escalation_policy_id, Some(policy_id));
    // Read-only: changed through the SLO only.
    let mut edited = page.rule.clone();
    edited.name = "mine now".into();
    let refused = admin
        .request(
            axum::http::Method::PUT,
            &format!("/api/v1/alert-rules/{}", page.id),
            Some(serde_json::to_vec(&edited).unwrap()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    assert!(refused.error().error.message.contains("generated by SLO"));
    let refused = admin
        .delete(&format!("/api/v1/alert-rules/{}", page.id))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);

    sqlx::query("UPDATE alert_rules SET next_eval_at = $1")
        .bind(minute(0))
        .execute(&app.db)
        .await
        .unwrap();
    let evaluator = Evaluator {
        concurrency: 1,
        ..Evaluator::new(&app.state)
    };
    let mut page_states = Vec::new();
    for m in [9, 12, 14, 24, 40, 52] {
        let t = minute(m);
        evaluator.evaluate_due(t).await.unwrap();
        routing::route_pending(&app.db, t).await.unwrap();
        escalation::pick_up_all(&app.db, t).await.unwrap();
        let firing: AlertList = admin.get("/api/v1/alerts").await.json();
        page_states.push(
            firing
                .alerts
                .iter()
                .any(|a| a.labels.get("burn_tier").map(String::as_str) == Some("page")),
        );
    }
    // Errors run at 25 % from minute 10 to 20 (30 of 120 a minute). The 1h & 5m pair passes
    // 14.4x (1.44 % of 7200 = 104 errors in the hour) at minute 14; after minute 25 the 5m
    // window is clean, but the 6h & 30m pair holds (300 of 43,200 in 6 h is 0.69 %, over
    // 6x 0.1 %) until the 30m window is clean again after minute 50.
    assert_eq!(page_states, [false, false, true, true, true, false]);

    let incident: (String, Option<i64>) =
        sqlx::query_as("SELECT service, escalation_policy_id FROM incidents ORDER BY id LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(incident, ("api".to_owned(), Some(policy_id)));

    // Deleting the owner team is refused while the SLO names it.
    let refused = admin.delete(&format!("/api/v1/teams/{team_id}")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.text().contains("SLOs (API availability)"),
        "{}",
        refused.text()
    );
    // Deleting the SLO takes its rules along.
    let deleted = admin.delete(&format!("/api/v1/slos/{}", slo.id)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let rules: AlertRuleList = admin.get("/api/v1/alert-rules").await.json();
    assert!(rules.rules.iter().all(|r| r.slo_id.is_none()));
}

#[tokio::test]
async fn roles_and_bad_input() {
    let app = TestApp::spawn().await;
    let mut viewer = app.login_as(Role::Viewer).await;
    let mut responder = app.login_as(Role::Responder).await;
    let mut editor = app.login_as(Role::Editor).await;

    assert_eq!(
        viewer.post("/api/v1/slos", &api_slo(99.9)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        responder.post("/api/v1/slos", &api_slo(99.9)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        viewer
            .post("/api/v1/slos/preview", &api_slo(99.9))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let slo: Slo = editor.post("/api/v1/slos", &api_slo(99.9)).await.json();
    for path in [
        "/api/v1/slos".to_owned(),
        format!("/api/v1/slos/{}", slo.id),
        format!("/api/v1/slos/{}/status", slo.id),
        format!("/api/v1/slos/{}/history", slo.id),
        "/api/v1/maintenance-windows".to_owned(),
        "/api/v1/reports/sla".to_owned(),
    ] {
        assert_eq!(viewer.get(&path).await.status, StatusCode::OK, "{path}");
    }
    let list: SloList = viewer.get("/api/v1/slos").await.json();
    assert_eq!(list.statuses[0].health, SloHealth::NoData);
    assert_eq!(
        app.anonymous().get("/api/v1/reports/sla").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        viewer
            .delete(&format!("/api/v1/slos/{}", slo.id))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let maintenance = json!({"kind": "maintenance", "reason": "Database upgrade",
        "scope": {"kind": "global"},
        "schedule": {"kind": "weekly", "days": ["sun"], "start": "02:00", "duration": "2h",
                     "time_zone": "Europe/Berlin"}});
    assert_eq!(
        responder
            .post("/api/v1/maintenance-windows", &maintenance)
            .await
            .status,
        StatusCode::FORBIDDEN,
        "planning maintenance is for editors"
    );
    assert_eq!(
        editor
            .post("/api/v1/maintenance-windows", &maintenance)
            .await
            .status,
        StatusCode::CREATED
    );
    let correction = json!({"kind": "correction", "reason": "Bad deploy of the prober",
        "scope": {"kind": "slo", "slo_id": slo.id},
        "schedule": {"kind": "once", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}});
    assert_eq!(
        viewer
            .post("/api/v1/maintenance-windows", &correction)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        responder
            .post("/api/v1/maintenance-windows", &correction)
            .await
            .status,
        StatusCode::CREATED
    );

    // Windows are bounded: every status reads them all.
    sqlx::query(
        "INSERT INTO maintenance_windows (kind, reason, schedule)
         SELECT 'maintenance', 'filler ' || i, '{\"kind\": \"once\", \"start\": \"2026-01-01T00:00:00Z\", \"end\": \"2026-01-01T01:00:00Z\"}'
         FROM generate_series(1, 1000) AS i",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let refused = editor
        .post("/api/v1/maintenance-windows", &maintenance)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    sqlx::query("DELETE FROM maintenance_windows WHERE reason LIKE 'filler %'")
        .execute(&app.db)
        .await
        .unwrap();

    // Bad SLOs: every field named.
    let mut bad = api_slo(100.0);
    bad["window"] = json!({"kind": "rolling", "duration": "30m"});
    bad["sli"]["total"] = json!("sum(requests_total");
    bad["owner_team_id"] = json!(999);
    let refused = editor.post("/api/v1/slos", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.error().error.fields;
    for field in ["objective", "window.duration", "sli.total"] {
        assert!(
            fields.contains_key(field),
            "{field} missing from {fields:?}"
        );
    }
    let mut bad = api_slo(99.0);
    bad["owner_team_id"] = json!(999);
    let refused = editor.post("/api/v1/slos", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.error().error.fields["owner_team_id"],
        "there is no team 999"
    );
    let taken = editor.post("/api/v1/slos", &api_slo(99.0)).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);

    // Bad reports.
    for (query, status) in [
        ("format=docx", StatusCode::BAD_REQUEST),
        (
            "from=2026-02-01&to=2026-01-01",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "from=2024-01-01&to=2026-01-01",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("tz=Nowhere", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let response = viewer.get(&format!("/api/v1/reports/sla?{query}")).await;
        assert_eq!(response.status, status, "{query}: {}", response.text());
    }
    for step in ["7", "12000000000000000"] {
        let bad_step = viewer
            .get(&format!("/api/v1/slos/{}/history?step={step}", slo.id))
            .await;
        assert_eq!(bad_step.status, StatusCode::UNPROCESSABLE_ENTITY, "{step}");
    }
}

#[tokio::test]
async fn the_preview_draws_an_unsaved_slo_and_warns_on_no_data() {
    let app = TestApp::spawn().await;
    let start = hour_ago() - TimeDelta::hours(2);
    write_traffic(&app, start, 5, 180).await;
    let mut editor = app.login_as(Role::Editor).await;
    let preview: vigil_shared::slo::SloPreview = editor
        .post("/api/v1/slos/preview", &api_slo(99.0))
        .await
        .json();
    assert!(preview.warnings.is_empty(), "{:?}", preview.warnings);
    assert!(preview.points.len() >= 2, "{:?}", preview.points);
    assert!(preview.sli.unwrap() < 100.0);
    assert!(preview.queries.good.contains("errors_total"));
    let mut nothing = api_slo(99.0);
    nothing["sli"]["total"] = json!("no_such_metric_total");
    let preview: vigil_shared::slo::SloPreview =
        editor.post("/api/v1/slos/preview", &nothing).await.json();
    assert_eq!(preview.points.len(), 0);
    assert!(
        preview.warnings[0].contains("no data"),
        "{:?}",
        preview.warnings
    );
    // A good selector that matches nothing would make every event bad: said so.
    let mut typo = api_slo(99.0);
    typo["sli"] = json!({"kind": "events", "good": "requests_totl{job=\"api\"}",
                         "total": "requests_total{job=\"api\"}"});
    let preview: vigil_shared::slo::SloPreview =
        editor.post("/api/v1/slos/preview", &typo).await.json();
    assert_eq!(preview.sli, Some(0.0));
    assert!(
        preview.warnings[0].contains("good events selector matched no series"),
        "{:?}",
        preview.warnings
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM slos")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0, "a preview saves nothing");
}

#[tokio::test]
async fn maintenance_silences_its_slos_burn_alerts_once_per_occurrence() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let slo: Slo = editor.post("/api/v1/slos", &api_slo(99.9)).await.json();
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let created = editor
        .post(
            "/api/v1/maintenance-windows",
            &json!({"reason": "Database upgrade", "scope": {"kind": "slo", "slo_id": slo.id},
                    "schedule": {"kind": "once", "start": now - TimeDelta::minutes(10),
                                 "end": now + TimeDelta::minutes(50)}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let names = std::collections::HashMap::from([(slo.id, slo.slo.name.clone())]);
    let mut conn = app.db.acquire().await.unwrap();
    for expected in [2, 0] {
        let made = vigil::slo::maintenance::mute_burn_alerts(&mut conn, &names, now)
            .await
            .unwrap();
        assert_eq!(made, expected, "one per tier, made once");
    }
    let shown = |silences: &[vigil_shared::alerting::Silence]| -> Vec<(String, i64)> {
        let mut shown: Vec<(String, i64)> = silences
            .iter()
            .filter(|s| s.state != vigil_shared::alerting::SilenceState::Expired)
            .map(|s| {
                let matchers: Vec<String> = s
                    .matchers
                    .iter()
                    .map(|m| format!("{}{}{}", m.name, m.op.symbol(), m.value))
                    .collect();
                (matchers.join(","), (s.ends_at - now).num_minutes())
            })
            .collect();
        shown.sort();
        shown
    };
    let list: vigil_shared::alerting::SilenceList = editor.get("/api/v1/silences").await.json();
    // Pages stay quiet 30 minutes after the window, tickets 6 hours: its bad minutes stay in
    // their burn windows that long.
    assert_eq!(
        shown(&list.silences),
        [
            ("burn_tier=page,slo=API availability".to_owned(), 50 + 30),
            ("burn_tier=ticket,slo=API availability".to_owned(), 50 + 360),
        ]
    );
    assert_eq!(list.silences[0].comment, "Maintenance: Database upgrade");
    // Deleting the window ends its silences.
    let window: MaintenanceWindow = created.json();
    let deleted = editor
        .delete(&format!("/api/v1/maintenance-windows/{}", window.id))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let list: vigil_shared::alerting::SilenceList = editor.get("/api/v1/silences").await.json();
    assert!(shown(&list.silences).is_empty(), "{:?}", list.silences);
}
