//! Rules evaluated over real data on a clock the test controls, and replicas sharing the work.

mod common;

use axum::http::StatusCode;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::TestApp;
use serde_json::json;
use vigil::alerting::alerts::Evaluator;
use vigil::db::{self, PoolSettings};
use vigil::metrics::model::{Labels, Sample, SeriesWrite, WriteBatch};
use vigil_shared::Role;
use vigil_shared::alerting::{AlertHistory, AlertList, AlertRule, AlertState, Severity};

/// Writes `queue_depth{queue="mail"}` every 15 s over `[from, to)` with `value(t)`.
async fn write_depth(
    app: &TestApp,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    value: impl Fn(DateTime<Utc>) -> f64,
) {
    let mut samples = Vec::new();
    let mut t = from;
    while t < to {
        samples.push(Sample {
            timestamp_ms: t.timestamp_millis(),
            value: value(t),
        });
        t += TimeDelta::seconds(15);
    }
    let batch = WriteBatch {
        series: vec![SeriesWrite {
            labels: Labels::from_pairs([("__name__", "queue_depth"), ("queue", "mail")]),
            samples,
        }],
        metadata: vec![],
    };
    app.state.metrics.write_at(batch, to).await.unwrap();
}

fn evaluator(app: &TestApp) -> Evaluator {
    Evaluator {
        concurrency: 1,
        ..Evaluator::new(&app.state)
    }
}

#[tokio::test]
async fn a_rule_goes_pending_firing_critical_and_resolved_with_history() {
    let app = TestApp::spawn().await;
    let start = (Utc::now() - TimeDelta::minutes(40))
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap();
    let minute = |m: i64| start + TimeDelta::minutes(m);
    write_depth(&app, minute(-5), minute(15), |t| {
        if t < minute(1) {
            10.0
        } else if t < minute(6) {
            30.0
        } else {
            1.0
        }
    })
    .await;

    let mut editor = app.login_as(Role::Editor).await;
    let rule: AlertRule = editor
        .post(
            "/api/v1/alert-rules",
            &json!({
                "name": "MailQueueBacklog",
                "query": "queue_depth",
                "comparison": ">",
                "warning_threshold": 5,
                "critical_threshold": 20,
                "for": "2m",
                "interval": "1m",
                "labels": { "team": "mail" },
                "annotations": { "summary": "{{ $labels.queue }} holds {{ $value }} jobs" }
            }),
        )
        .await
        .json();
    sqlx::query("UPDATE alert_rules SET next_eval_at = $1")
        .bind(start)
        .execute(&app.db)
        .await
        .unwrap();

    let evaluator = evaluator(&app);
    let mut viewer = app.login_as(Role::Viewer).await;
    let mut seen = Vec::new();
    for m in 0..=8 {
        assert_eq!(
            evaluator.evaluate_due(minute(m)).await.unwrap(),
            1,
            "minute {m}"
        );
        // Not due again until its interval has passed.
        assert_eq!(evaluator.evaluate_due(minute(m)).await.unwrap(), 0);
        let live: AlertList = viewer.get("/api/v1/alerts").await.json();
        seen.push(live.alerts.first().map(|a| (a.state, a.severity)));
    }
    use AlertState::*;
    use Severity::*;
    assert_eq!(
        seen,
        [
            Some((Pending, Warning)),
            Some((Pending, Critical)),
            Some((Firing, Critical)),
            Some((Firing, Critical)),
            Some((Firing, Critical)),
            Some((Firing, Critical)),
            // The value drops to 1 at minute 6: resolved at once (no keep_firing_for).
            None,
            None,
            None,
        ]
    );

    let resolved: AlertList = viewer
        .get(&format!("/api/v1/alerts?state=resolved&rule={}", rule.id))
        .await
        .json();
    assert_eq!(resolved.alerts.len(), 1);
    let alert = &resolved.alerts[0];
    assert_eq!(alert.labels["alertname"], "MailQueueBacklog");
    assert_eq!(alert.labels["team"], "mail");
    assert_eq!(alert.labels["queue"], "mail");
    assert_eq!(alert.annotations["summary"], "mail holds 30 jobs");
    assert_eq!(alert.active_at, minute(0));
    assert_eq!(alert.fired_at, Some(minute(2)));
    assert_eq!(alert.resolved_at, Some(minute(6)));

    let history: AlertHistory = viewer
        .get(&format!("/api/v1/alerts/{}/history", alert.id))
        .await
        .json();
    let steps: Vec<_> = history
        .history
        .iter()
        .map(|h| (h.from_state, h.to_state, h.from_severity, h.severity))
        .collect();
    assert_eq!(
        steps,
        [
            (Inactive, Pending, None, Warning),
            (Pending, Pending, Some(Warning), Critical),
            (Pending, Firing, None, Critical),
            (Firing, Resolved, None, Critical),
        ]
    );

    let metrics = app.anonymous().get("/metrics").await.text();
    assert!(
        metrics.contains("vigil_rule_evaluations_total 9"),
        "{metrics}"
    );
}

#[tokio::test]
async fn two_replicas_evaluate_each_rule_once_and_a_crashed_one_hands_over() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    for i in 0..30 {
        let created = editor
            .post(
                "/api/v1/alert-rules",
                &json!({
                    "name": format!("Always {i}"),
                    "query": "vector(1)",
                    "comparison": ">",
                    "critical_threshold": 0,
                }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    }
    let now = Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap();
    // A second replica: its own pool and evaluator over the same database.
    let other_pool = db::pool_options(&PoolSettings {
        max_connections: 5,
        ..PoolSettings::default()
    })
    .connect_with(app.db.connect_options().as_ref().clone())
    .await
    .unwrap();
    let other = Evaluator {
        db: other_pool,
        concurrency: 3,
        ..Evaluator::new(&app.state)
    };
    let here = Evaluator {
        concurrency: 3,
        ..Evaluator::new(&app.state)
    };
    let (a, b) = tokio::join!(here.evaluate_due(now), other.evaluate_due(now));
    assert_eq!(
        a.unwrap() + b.unwrap(),
        30,
        "each rule evaluated exactly once"
    );
    let transitions: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_history")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(transitions, 30, "one alert fired per rule, no duplicates");

    // A replica that claimed a rule and died before committing: the rule is not lost.
    let later = now + TimeDelta::minutes(1);
    let mut crashed = app.db.begin().await.unwrap();
    let claimed: i64 =
        sqlx::query_scalar("SELECT id FROM alert_rules ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
            .fetch_one(&mut *crashed)
            .await
            .unwrap();
    assert_eq!(
        here.evaluate_due(later).await.unwrap(),
        29,
        "the locked rule is skipped"
    );
    crashed.rollback().await.unwrap();
    assert_eq!(
        here.evaluate_due(later).await.unwrap(),
        1,
        "and taken over after the crash"
    );
    let last_eval: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT last_eval_at FROM alert_rules WHERE id = $1")
            .bind(claimed)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(last_eval, Some(later));
}

#[tokio::test]
async fn alerts_are_readable_by_every_role_and_filters_are_checked() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.anonymous().get("/api/v1/alerts").await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut viewer = app.login_as(Role::Viewer).await;
    assert_eq!(viewer.get("/api/v1/alerts").await.status, StatusCode::OK);
    let bad = viewer.get("/api/v1/alerts?state=burning").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.error().error.fields.contains_key("state"));
    let bad = viewer.get("/api/v1/alerts?severity=meh").await;
    assert!(bad.error().error.fields.contains_key("severity"));
    assert_eq!(
        viewer.get("/api/v1/alerts/999999").await.status,
        StatusCode::NOT_FOUND
    );
}

/// Reads a Server-Sent Events body until an event of `kind` arrives; returns its data.
async fn next_event(body: &mut axum::body::Body, kind: &str) -> String {
    use http_body_util::BodyExt as _;
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(start) = buffer.find(&format!("event: {kind}\n")) {
            let rest = &buffer[start..];
            if let Some(end) = rest.find("\n\n") {
                let data = rest[..end]
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect::<Vec<_>>()
                    .join("\n");
                return data;
            }
        }
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event within 10 s; got {buffer:?}"))
            .expect("the stream ended")
            .expect("a readable frame");
        if let Ok(data) = frame.into_data() {
            buffer.push_str(&String::from_utf8_lossy(&data));
        }
    }
}

#[tokio::test]
async fn alert_changes_from_another_replica_stream_live_to_logged_in_users() {
    let app = TestApp::spawn().await;
    let anonymous = app
        .send(
            axum::http::Request::get("/api/v1/events")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let viewer = app.login_as(Role::Viewer).await;
    let response = app
        .open(
            axum::http::Request::get("/api/v1/events")
                .header("cookie", viewer.cookie_header().unwrap())
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut body = response.into_body();
    next_event(&mut body, "hello").await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(vigil::events::stream::listen_worker(
        app.state.clone(),
        shutdown.clone(),
    ));
    next_event(&mut body, "resync").await;

    let mut editor = app.login_as(Role::Editor).await;
    let rule: AlertRule = editor
        .post(
            "/api/v1/alert-rules",
            &json!({
                "name": "Always",
                "query": "vector(3)",
                "comparison": ">",
                "warning_threshold": 1,
            }),
        )
        .await
        .json();
    // Another replica evaluates: its change reaches this replica's subscribers.
    let other_pool = db::pool_options(&PoolSettings {
        max_connections: 2,
        ..PoolSettings::default()
    })
    .connect_with(app.db.connect_options().as_ref().clone())
    .await
    .unwrap();
    let other = Evaluator {
        db: other_pool,
        ..Evaluator::new(&app.state)
    };
    assert_eq!(other.evaluate_due(Utc::now()).await.unwrap(), 1);
    let data: serde_json::Value =
        serde_json::from_str(&next_event(&mut body, "alert").await).unwrap();
    assert_eq!(data["rule_id"], rule.id);
    assert_eq!(data["state"], "firing");
    assert_eq!(data["severity"], "warning");
    shutdown.cancel();
}
