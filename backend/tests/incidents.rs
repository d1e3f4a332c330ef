//! Incidents end to end on a real database: alerts open them, escalation policies page level
//! after level on an explicit clock, people acknowledge, escalate, snooze and resolve them
//! (every refused transition answers 409), two workers never page a level twice, and the
//! analytics and CSV export read what happened.

mod common;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use common::{Client, TestApp};
use serde_json::{Value, json};
use sqlx::PgPool;
use vigil::alerting::alerts::Evaluator;
use vigil::db::{self, PoolSettings};
use vigil::incidents::escalation;
use vigil::notify::routing;
use vigil_shared::Role;
use vigil_shared::incident::{
    Analytics, EscalationPolicy, IncidentDetail, IncidentList, IncidentStatus, NotificationList,
};

async fn escalation_policy(app: &TestApp, body: Value) -> EscalationPolicy {
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor.post("/api/v1/escalation-policies", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()
}

async fn notifications(db: &PgPool, user: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM user_notifications WHERE user_id = $1")
        .bind(user)
        .fetch_one(db)
        .await
        .unwrap()
}

/// Every rule's condition stops holding and the rules are evaluated at `at`: their alerts
/// resolve.
async fn stop_firing(app: &TestApp, evaluator: &Evaluator, at: DateTime<Utc>) {
    sqlx::query(
        "UPDATE alert_rules SET query = 'vector(0)', next_eval_at = now() - interval '1 minute'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    evaluator.evaluate_due(at).await.unwrap();
}

async fn timeline(db: &PgPool, incident: i64) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT kind, message FROM incident_timeline WHERE incident_id = $1 ORDER BY at, id",
    )
    .bind(incident)
    .fetch_all(db)
    .await
    .unwrap()
}

async fn act(client: &mut Client<'_>, id: i64, action: &str, body: Value) -> (StatusCode, Value) {
    let response = client
        .post(&format!("/api/v1/incidents/{id}/{action}"), &body)
        .await;
    let text = response.text();
    (
        response.status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn open_by_hand(client: &mut Client<'_>, body: Value) -> IncidentDetail {
    let created = client.post("/api/v1/incidents", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()
}

async fn process(db: &PgPool, at: DateTime<Utc>) -> usize {
    escalation::process_due(db, at).await.unwrap()
}

#[tokio::test]
async fn a_firing_alert_opens_an_incident_that_escalates_level_by_level_and_repeats() {
    let app = TestApp::spawn().await;
    let first = app.create_user("first@example.com", Role::Responder).await;
    let second = app.create_user("second@example.com", Role::Responder).await;
    let mut editor = app.login_as(Role::Editor).await;
    let channel: Value = editor
        .post(
            "/api/v1/notification-channels",
            &json!({ "name": "pager hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook" }),
        )
        .await
        .json();
    let policy = escalation_policy(
        &app,
        json!({
            "name": "payments on-call",
            "levels": [
                { "delay_minutes": 0, "targets": [{ "kind": "user", "id": first }] },
                { "delay_minutes": 10, "targets": [{ "kind": "user", "id": second }, { "kind": "channel", "id": channel["id"] }] },
            ],
            "repeat_count": 1,
            "repeat_after_minutes": 15,
        }),
    )
    .await;
    let created = editor
        .post(
            "/api/v1/alert-rules",
            &json!({
                "name": "PaymentsDown",
                "query": "vector(5)",
                "comparison": ">",
                "critical_threshold": 1,
                "escalation_policy_id": policy.id,
                "labels": { "service": "payments" },
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.json::<Value>()["escalation_policy_id"], policy.id);

    let t0 = Utc::now();
    Evaluator::new(&app.state).evaluate_due(t0).await.unwrap();
    routing::route_pending(&app.db, t0).await.unwrap();
    escalation::pick_up_all(&app.db, t0).await.unwrap();
    let list: IncidentList = editor.get("/api/v1/incidents").await.json();
    assert_eq!(list.incidents.len(), 1);
    let incident = &list.incidents[0];
    assert_eq!(incident.title, "PaymentsDown");
    assert_eq!(incident.status, IncidentStatus::Triggered);
    assert_eq!(incident.service, "payments");
    assert_eq!(incident.alert_count, 1);
    assert_eq!(list.triggered, 1);
    let id = incident.id;

    // Level 1 at once, level 2 ten minutes later, then the whole policy once more.
    assert_eq!(process(&app.db, t0).await, 1);
    assert_eq!(notifications(&app.db, first).await, 1);
    assert_eq!(process(&app.db, t0 + TimeDelta::minutes(9)).await, 0);
    assert_eq!(notifications(&app.db, second).await, 0);
    assert_eq!(process(&app.db, t0 + TimeDelta::minutes(10)).await, 1);
    assert_eq!(notifications(&app.db, second).await, 1);
    let messages: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notification_deliveries WHERE channel_id = $1")
            .bind(channel["id"].as_i64().unwrap())
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(messages, 1, "the level's channel got a message");
    assert_eq!(process(&app.db, t0 + TimeDelta::minutes(24)).await, 0);
    assert_eq!(process(&app.db, t0 + TimeDelta::minutes(25)).await, 1);
    assert_eq!(notifications(&app.db, first).await, 2);
    assert_eq!(process(&app.db, t0 + TimeDelta::minutes(35)).await, 1);
    assert_eq!(notifications(&app.db, second).await, 2);
    assert_eq!(
        process(&app.db, t0 + TimeDelta::hours(5)).await,
        0,
        "the policy has run out"
    );
    let detail: IncidentDetail = editor.get(&format!("/api/v1/incidents/{id}")).await.json();
    assert_eq!(detail.incident.level, 2);
    assert_eq!(detail.incident.next_escalation_at, None);
    assert_eq!(detail.alerts.len(), 1);
    let kinds: Vec<&str> = detail.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["triggered", "notified", "notified", "notified", "notified"]
    );
    assert_eq!(
        detail.timeline[2].message,
        "Level 2 notified: second@example.com, channel pager hook."
    );
    assert!(
        detail.timeline[3]
            .message
            .starts_with("Level 1 (repeat 1) notified")
    );

    // "My incidents" lists only what is assigned to the caller.
    let mut responder = app.login_as(Role::Responder).await;
    let (status, _) = act(&mut responder, id, "acknowledge", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let my: IncidentList = responder.get("/api/v1/incidents?mine=true").await.json();
    assert!(my.incidents.is_empty(), "nobody assigned yet");
}

#[tokio::test]
async fn acknowledging_is_idempotent_stops_paging_and_times_out() {
    let app = TestApp::spawn().await;
    let oncall = app.create_user("oncall@example.com", Role::Responder).await;
    let policy = escalation_policy(
        &app,
        json!({
            "name": "with timeout",
            "levels": [
                { "delay_minutes": 0, "targets": [{ "kind": "user", "id": oncall }] },
                { "delay_minutes": 5, "targets": [{ "kind": "user", "id": oncall }] },
            ],
            "ack_timeout_minutes": 30,
        }),
    )
    .await;
    let mut responder = app.login_as(Role::Responder).await;
    let opened = open_by_hand(
        &mut responder,
        json!({ "title": "Checkout is slow", "severity": "critical", "service": "checkout", "escalation_policy_id": policy.id }),
    )
    .await;
    let id = opened.incident.id;
    let now = Utc::now();
    assert_eq!(process(&app.db, now).await, 1);
    assert_eq!(notifications(&app.db, oncall).await, 1);

    for _ in 0..2 {
        let (status, body) = act(&mut responder, id, "acknowledge", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "acknowledged");
    }
    let acks = timeline(&app.db, id)
        .await
        .into_iter()
        .filter(|(kind, _)| kind == "acknowledged")
        .count();
    assert_eq!(acks, 1, "acknowledging twice records once");
    assert_eq!(
        process(&app.db, now + TimeDelta::minutes(10)).await,
        0,
        "acknowledged: level 2 is not paged"
    );
    // Nobody resolved it within 30 minutes: it triggers again and the level paged last is
    // paged again.
    assert_eq!(process(&app.db, now + TimeDelta::minutes(31)).await, 1);
    let detail: IncidentDetail = responder
        .get(&format!("/api/v1/incidents/{id}"))
        .await
        .json();
    assert_eq!(detail.incident.status, IncidentStatus::Triggered);
    assert_eq!(notifications(&app.db, oncall).await, 2);
    let last: Vec<(String, String)> = timeline(&app.db, id).await;
    assert_eq!(
        last[last.len() - 2].1,
        "Not resolved within the acknowledgment timeout: triggered again."
    );
    assert!(last[last.len() - 1].1.starts_with("Level 1 notified"));
    // The first acknowledgment counts for MTTA.
    assert!(detail.incident.acknowledged_at.is_some());
}

#[tokio::test]
async fn every_impossible_transition_is_refused_with_409() {
    let app = TestApp::spawn().await;
    let someone = app
        .create_user("someone@example.com", Role::Responder)
        .await;
    let mut responder = app.login_as(Role::Responder).await;
    let id = open_by_hand(&mut responder, json!({ "title": "Disk full" }))
        .await
        .incident
        .id;
    let (status, body) = act(&mut responder, id, "unacknowledge", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = act(&mut responder, id, "escalate", json!({ "message": "help" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "no policy: {body}");
    let (status, _) = act(
        &mut responder,
        id,
        "snooze",
        json!({ "until": "2000-01-01T00:00:00Z" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = act(&mut responder, id, "notes", json!({ "message": "" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = act(
        &mut responder,
        id,
        "reassign",
        json!({ "assignee_id": 999_999 }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = act(&mut responder, id, "frobnicate", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = act(
        &mut responder,
        id,
        "reassign",
        json!({ "assignee_id": someone }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["assignee"], "someone@example.com");
    let (status, body) = act(
        &mut responder,
        id,
        "severity",
        json!({ "severity": "critical" }),
    )
    .await;
    assert_eq!(
        (status, body["severity"].clone()),
        (StatusCode::OK, json!("critical"))
    );
    let (status, body) = act(
        &mut responder,
        id,
        "notes",
        json!({ "message": "Looking at the volume." }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["timeline"].as_array().unwrap().last().unwrap()["message"],
        "Looking at the volume."
    );
    let open: IncidentList = responder.get("/api/v1/incidents?status=open").await.json();
    assert_eq!((open.incidents.len(), open.total), (1, 1));
    for _ in 0..2 {
        let (status, body) = act(
            &mut responder,
            id,
            "resolve",
            json!({ "message": "Grew the disk." }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "resolving twice is fine: {body}");
        assert_eq!(body["resolution"], "Grew the disk.");
    }
    for (action, body) in [
        ("acknowledge", json!({})),
        ("unacknowledge", json!({})),
        ("escalate", json!({})),
        (
            "snooze",
            json!({ "until": (Utc::now() + TimeDelta::hours(1)).to_rfc3339() }),
        ),
        ("reassign", json!({ "assignee_id": someone })),
        ("severity", json!({ "severity": "info" })),
    ] {
        let (status, body) = act(&mut responder, id, action, body).await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "{action} on a resolved incident: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("resolved")
        );
    }
    let kinds: Vec<String> = timeline(&app.db, id)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        kinds,
        ["triggered", "reassigned", "severity", "note", "resolved"]
    );
    let open: IncidentList = responder.get("/api/v1/incidents?status=open").await.json();
    assert!(open.incidents.is_empty());
    assert_eq!((open.resolved, open.triggered), (1, 0));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action LIKE 'incident.%' AND target_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited, 5, "one audit entry per recorded action");
}

#[tokio::test]
async fn snoozing_pauses_until_the_time_then_pages_again() {
    let app = TestApp::spawn().await;
    let oncall = app.create_user("oncall@example.com", Role::Responder).await;
    let policy = escalation_policy(
        &app,
        json!({ "name": "single", "levels": [{ "delay_minutes": 0, "targets": [{ "kind": "user", "id": oncall }] }] }),
    )
    .await;
    let mut responder = app.login_as(Role::Responder).await;
    let id = open_by_hand(
        &mut responder,
        json!({ "title": "Queue backlog", "escalation_policy_id": policy.id }),
    )
    .await
    .incident
    .id;
    let now = Utc::now();
    process(&app.db, now).await;
    let until = now + TimeDelta::hours(1);
    let (status, body) = act(
        &mut responder,
        id,
        "snooze",
        json!({ "until": until.to_rfc3339() }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "acknowledged");
    assert_eq!(process(&app.db, now + TimeDelta::minutes(59)).await, 0);
    assert_eq!(process(&app.db, now + TimeDelta::minutes(61)).await, 1);
    let detail: IncidentDetail = responder
        .get(&format!("/api/v1/incidents/{id}"))
        .await
        .json();
    assert_eq!(detail.incident.status, IncidentStatus::Triggered);
    assert_eq!(detail.incident.snoozed_until, None);
    assert_eq!(notifications(&app.db, oncall).await, 2);
    // Escalating by hand pages at once, with the reason in the timeline.
    let (status, body) = act(
        &mut responder,
        id,
        "escalate",
        json!({ "message": "nobody answers" }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "its single level is used up: {body}"
    );
}

#[tokio::test]
async fn escalating_by_hand_records_why_then_pages_the_next_level_at_once() {
    let app = TestApp::spawn().await;
    let first = app.create_user("first@example.com", Role::Responder).await;
    let second = app.create_user("second@example.com", Role::Responder).await;
    let policy = escalation_policy(
        &app,
        json!({
            "name": "Two levels",
            "levels": [
                { "delay_minutes": 0, "targets": [{ "kind": "user", "id": first }] },
                { "delay_minutes": 30, "targets": [{ "kind": "user", "id": second }] },
            ],
        }),
    )
    .await;
    let mut responder = app.login_as(Role::Responder).await;
    let id = open_by_hand(
        &mut responder,
        json!({ "title": "Queue stuck", "escalation_policy_id": policy.id }),
    )
    .await
    .incident
    .id;
    assert_eq!(process(&app.db, Utc::now()).await, 1);
    let (status, _) = act(&mut responder, id, "acknowledge", json!({})).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = act(
        &mut responder,
        id,
        "escalate",
        json!({ "message": "needs the database team" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "triggered");
    assert_eq!(body["level"], 2);
    assert_eq!(
        notifications(&app.db, second).await,
        1,
        "level 2 is paged now, not 30 minutes later"
    );
    let entries = timeline(&app.db, id).await;
    let [.., (why_kind, why), (paged_kind, paged)] = entries.as_slice() else {
        panic!("too few timeline entries: {entries:?}");
    };
    assert_eq!(
        (why_kind.as_str(), why.as_str()),
        ("escalated", "Escalated by hand: needs the database team.")
    );
    assert_eq!(paged_kind, "notified");
    assert!(
        paged.starts_with("Level 2 notified: second@example.com"),
        "{paged}"
    );

    // There is no level 3: escalating again is refused and records nothing.
    let (status, body) = act(&mut responder, id, "escalate", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(timeline(&app.db, id).await.len(), entries.len());
}

#[tokio::test]
async fn a_paged_user_sees_unread_notifications_until_reading_them() {
    let app = TestApp::spawn().await;
    let paged = app.create_user("paged@example.com", Role::Responder).await;
    let policy = escalation_policy(
        &app,
        json!({
            "name": "Page one",
            "levels": [{ "delay_minutes": 0, "targets": [{ "kind": "user", "id": paged }] }],
        }),
    )
    .await;
    let mut opener = app.login_as(Role::Responder).await;
    for title in ["Queue stuck", "Disk full"] {
        open_by_hand(
            &mut opener,
            json!({ "title": title, "escalation_policy_id": policy.id }),
        )
        .await;
    }
    assert_eq!(process(&app.db, Utc::now()).await, 2);

    let mut client = app.login("paged@example.com", common::PASSWORD).await;
    let list: NotificationList = client.get("/api/v1/notifications").await.json();
    assert_eq!(list.unread, 2);
    assert_eq!(list.notifications.len(), 2);
    assert!(list.notifications.iter().all(|n| !n.read));
    assert!(
        list.notifications[0].message.contains("Disk full"),
        "newest first: {:?}",
        list.notifications
    );
    let others: NotificationList = opener.get("/api/v1/notifications").await.json();
    assert_eq!(others.unread, 0, "only the paged user is notified");

    // Reading up to the older one leaves the newer unread; reading all leaves none.
    let older = list.notifications[1].id;
    let read = client
        .post("/api/v1/notifications/read", &json!({ "up_to": older }))
        .await;
    assert_eq!(read.status, StatusCode::NO_CONTENT);
    let list: NotificationList = client.get("/api/v1/notifications").await.json();
    assert_eq!(list.unread, 1);
    assert_eq!(
        list.notifications
            .iter()
            .map(|n| n.read)
            .collect::<Vec<_>>(),
        [false, true]
    );
    let read = client.post("/api/v1/notifications/read", &json!({})).await;
    assert_eq!(read.status, StatusCode::NO_CONTENT);
    let list: NotificationList = client.get("/api/v1/notifications").await.json();
    assert_eq!(list.unread, 0);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'notifications.read' AND actor_user_id = $1",
    )
    .bind(paged)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited, 2);
    let bad = client
        .post("/api/v1/notifications/read", &json!({ "up_to": "all" }))
        .await;
    assert_eq!(bad.status.as_u16() / 100, 4, "{}", bad.text());
}

#[tokio::test]
async fn two_workers_page_each_level_once_and_a_restarted_one_carries_on() {
    let app = TestApp::spawn().await;
    let a = app.create_user("a@example.com", Role::Responder).await;
    let b = app.create_user("b@example.com", Role::Responder).await;
    let policy = escalation_policy(
        &app,
        json!({
            "name": "two levels",
            "levels": [
                { "delay_minutes": 0, "targets": [{ "kind": "user", "id": a }] },
                { "delay_minutes": 10, "targets": [{ "kind": "user", "id": b }] },
            ],
        }),
    )
    .await;
    let mut responder = app.login_as(Role::Responder).await;
    for i in 0..20 {
        open_by_hand(
            &mut responder,
            json!({ "title": format!("Incident {i}"), "escalation_policy_id": policy.id }),
        )
        .await;
    }
    let titles = |list: IncidentList| -> Vec<String> {
        list.incidents.into_iter().map(|i| i.title).collect()
    };
    let newest: IncidentList = responder.get("/api/v1/incidents?per_page=2").await.json();
    assert_eq!(newest.total, 20);
    assert_eq!(titles(newest), ["Incident 19", "Incident 18"]);
    let second_page: IncidentList = responder
        .get("/api/v1/incidents?per_page=2&page=2")
        .await
        .json();
    assert_eq!(titles(second_page), ["Incident 17", "Incident 16"]);
    let oldest: IncidentList = responder
        .get("/api/v1/incidents?per_page=2&sort=oldest")
        .await
        .json();
    assert_eq!(titles(oldest), ["Incident 0", "Incident 1"]);
    let found: IncidentList = responder.get("/api/v1/incidents?q=dent%207").await.json();
    assert_eq!(titles(found), ["Incident 7"]);
    let replica = || async {
        db::pool_options(&PoolSettings {
            max_connections: 4,
            ..PoolSettings::default()
        })
        .connect_with(app.db.connect_options().as_ref().clone())
        .await
        .unwrap()
    };
    let (one, two) = (replica().await, replica().await);
    let now = Utc::now();
    let (x, y) = tokio::join!(
        escalation::process_due(&one, now),
        escalation::process_due(&two, now)
    );
    assert_eq!(x.unwrap() + y.unwrap(), 20);
    assert_eq!(
        notifications(&app.db, a).await,
        20,
        "level 1 once per incident"
    );
    // Both replicas go away; a new one (all state is in the database) carries on at level 2.
    one.close().await;
    two.close().await;
    let restarted = replica().await;
    assert_eq!(process(&restarted, now + TimeDelta::minutes(5)).await, 0);
    let (x, y) = tokio::join!(
        escalation::process_due(&restarted, now + TimeDelta::minutes(10)),
        escalation::process_due(&app.db, now + TimeDelta::minutes(10))
    );
    assert_eq!(x.unwrap() + y.unwrap(), 20);
    assert_eq!(notifications(&app.db, b).await, 20);
    assert_eq!(notifications(&app.db, a).await, 20);
    let steps: i64 = sqlx::query_scalar("SELECT count(*) FROM escalation_steps")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(steps, 40);
}

#[tokio::test]
async fn roles_are_enforced_and_policies_validated_per_field() {
    let app = TestApp::spawn().await;
    let mut viewer = app.login_as(Role::Viewer).await;
    let mut responder = app.login_as(Role::Responder).await;
    let id = open_by_hand(&mut responder, json!({ "title": "Something" }))
        .await
        .incident
        .id;
    assert_eq!(viewer.get("/api/v1/incidents").await.status, StatusCode::OK);
    assert_eq!(
        viewer.get(&format!("/api/v1/incidents/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        viewer
            .post("/api/v1/incidents", &json!({ "title": "x" }))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    for action in ["acknowledge", "escalate", "resolve", "notes"] {
        let (status, _) = act(&mut viewer, id, action, json!({ "message": "x" })).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "viewer {action}");
    }
    assert_eq!(
        responder
            .post(
                "/api/v1/escalation-policies",
                &json!({ "name": "x", "levels": [] })
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        viewer.get("/api/v1/escalation-policies").await.status,
        StatusCode::OK
    );

    let mut editor = app.login_as(Role::Editor).await;
    let refused = editor
        .post(
            "/api/v1/escalation-policies",
            &json!({
                "name": "",
                "levels": [
                    { "delay_minutes": 20000, "targets": [] },
                    { "delay_minutes": 5, "targets": [{ "kind": "schedule", "id": 42 }] },
                ],
                "repeat_count": 11,
                "ack_timeout_minutes": 0,
            }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.error().error.fields;
    for field in [
        "name",
        "levels.0",
        "levels.1",
        "repeat_count",
        "ack_timeout_minutes",
    ] {
        assert!(fields.contains_key(field), "{field}: {fields:?}");
    }
    assert!(fields["levels.1"].contains("there is no schedule 42"));
    let refused = editor
        .post(
            "/api/v1/incidents",
            &json!({ "title": " ", "escalation_policy_id": 7 }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.error().error.fields;
    assert!(fields.contains_key("title") && fields.contains_key("escalation_policy_id"));
    let bad_filter = viewer
        .get("/api/v1/incidents?status=closed&sort=random")
        .await;
    assert_eq!(bad_filter.status, StatusCode::UNPROCESSABLE_ENTITY);
    let rule = editor
        .post(
            "/api/v1/alert-rules",
            &json!({ "name": "R", "query": "vector(1)", "comparison": ">", "critical_threshold": 0, "escalation_policy_id": 999 }),
        )
        .await;
    assert_eq!(rule.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        rule.error()
            .error
            .fields
            .contains_key("escalation_policy_id")
    );
}

#[tokio::test]
async fn incidents_resolve_with_their_alerts_and_feed_mtta_mttr_and_the_csv_export() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            "/api/v1/alert-rules",
            &json!({
                "name": "ApiErrors",
                "query": "vector(5)",
                "comparison": ">",
                "warning_threshold": 1,
                "labels": { "service": "api" },
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let evaluator = Evaluator::new(&app.state);
    let t0 = Utc::now();
    evaluator.evaluate_due(t0).await.unwrap();
    routing::route_pending(&app.db, t0).await.unwrap();
    escalation::pick_up_all(&app.db, t0).await.unwrap();
    let mut responder = app.login_as(Role::Responder).await;
    let list: IncidentList = responder.get("/api/v1/incidents?service=api").await.json();
    let id = list.incidents[0].id;
    act(&mut responder, id, "acknowledge", json!({})).await;
    assert_eq!(
        escalation::resolve_finished(&app.db, t0).await.unwrap(),
        0,
        "its alert still fires"
    );

    stop_firing(&app, &evaluator, t0 + TimeDelta::minutes(1)).await;
    assert_eq!(
        escalation::resolve_finished(&app.db, t0 + TimeDelta::minutes(2))
            .await
            .unwrap(),
        1
    );
    let detail: IncidentDetail = responder
        .get(&format!("/api/v1/incidents/{id}"))
        .await
        .json();
    assert_eq!(detail.incident.status, IncidentStatus::Resolved);
    assert_eq!(detail.alerts[0].state, "resolved");
    assert_eq!(
        detail.timeline.last().unwrap().message,
        "Resolved: all its alerts resolved."
    );

    let analytics: Analytics = responder.get("/api/v1/incidents/analytics").await.json();
    assert_eq!(analytics.overall.incidents, 1);
    assert_eq!(analytics.overall.acknowledged, 1);
    assert_eq!(analytics.overall.resolved, 1);
    assert!(analytics.overall.mtta_seconds.unwrap() >= 0.0);
    let mttr = analytics.overall.mttr_seconds.unwrap();
    assert!(
        (100.0..=130.0).contains(&mttr),
        "resolved about 2 minutes after: {mttr}"
    );
    assert_eq!(analytics.by_service[0].key, "api");
    assert_eq!(analytics.by_period.len(), 1);

    let csv = responder
        .request(
            Method::GET,
            "/api/v1/incidents/export?status=resolved",
            None,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("id,title,status,severity,service"));
    assert!(
        lines[1].contains(",ApiErrors,resolved,warning,api,"),
        "{text}"
    );
}

#[tokio::test]
async fn a_level_targeting_a_schedule_pages_whoever_is_on_call() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com", Role::Responder).await;
    let bob = app.create_user("bob@example.com", Role::Responder).await;
    let mut editor = app.login_as(Role::Editor).await;
    let schedule = editor
        .post(
            "/api/v1/schedules",
            &json!({
                "name": "primary",
                "timezone": "Europe/Berlin",
                "rotation": "daily",
                "start_date": (Utc::now() - TimeDelta::days(30)).date_naive(),
                "handoff_time": "09:00",
                "participants": [alice, bob],
            }),
        )
        .await;
    assert_eq!(schedule.status, StatusCode::CREATED, "{}", schedule.text());
    let schedule: Value = schedule.json();
    let policy = escalation_policy(
        &app,
        json!({ "name": "follow the rota", "levels": [{ "delay_minutes": 0, "targets": [{ "kind": "schedule", "id": schedule["id"] }] }] }),
    )
    .await;
    let mut responder = app.login_as(Role::Responder).await;
    let id = open_by_hand(
        &mut responder,
        json!({ "title": "Login errors", "escalation_policy_id": policy.id }),
    )
    .await
    .incident
    .id;
    let now = Utc::now();
    let on_call: Value = responder
        .get(&format!("/api/v1/schedules/{}/oncall", schedule["id"]))
        .await
        .json();
    let expected = on_call["user_id"].as_i64().unwrap();
    assert!(expected == alice || expected == bob);
    assert_eq!(process(&app.db, now).await, 1);
    assert_eq!(notifications(&app.db, expected).await, 1);
    assert_eq!(notifications(&app.db, alice + bob - expected).await, 0);
    let last = timeline(&app.db, id).await.pop().unwrap().1;
    assert_eq!(
        last,
        format!(
            "Level 1 notified: {}.",
            on_call["user_email"].as_str().unwrap()
        )
    );
}

#[tokio::test]
async fn the_list_filters_by_severity_service_assignee_team_and_time_and_refuses_bad_filters() {
    let app = TestApp::spawn().await;
    let team: i64 = sqlx::query_scalar("INSERT INTO teams (name) VALUES ('Storage') RETURNING id")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let someone = app
        .create_user("someone@example.com", Role::Responder)
        .await;
    let mut responder = app.login_as(Role::Responder).await;
    let disk = open_by_hand(
        &mut responder,
        json!({ "title": "Disk full", "severity": "critical", "service": "db",
                "team_id": team, "assignee_id": someone }),
    )
    .await
    .incident
    .id;
    let slow = open_by_hand(
        &mut responder,
        json!({ "title": "Slow pages", "severity": "warning", "service": "Web" }),
    )
    .await
    .incident
    .id;
    // The slow pages began two days ago.
    sqlx::query("UPDATE incidents SET triggered_at = now() - interval '2 days' WHERE id = $1")
        .bind(slow)
        .execute(&app.db)
        .await
        .unwrap();

    let ids = |list: IncidentList| list.incidents.iter().map(|i| i.id).collect::<Vec<_>>();
    let since = (Utc::now() - TimeDelta::hours(24))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .replace('+', "%2B");
    for (query, expected) in [
        ("severity=critical".to_owned(), vec![disk]),
        ("severity=warning".to_owned(), vec![slow]),
        ("service=web".to_owned(), vec![slow]),
        (format!("assignee={someone}"), vec![disk]),
        (format!("team={team}"), vec![disk]),
        (format!("team={team}&severity=warning"), vec![]),
        (format!("from={since}"), vec![disk]),
        (format!("to={since}"), vec![slow]),
        (String::new(), vec![disk, slow]),
    ] {
        let list: IncidentList = responder
            .get(&format!("/api/v1/incidents?{query}"))
            .await
            .json();
        assert_eq!(ids(list), expected, "?{query}");
    }

    for (query, field) in [
        ("severity=urgent", "severity"),
        ("from=yesterday", "from"),
        ("per_page=0", "per_page"),
    ] {
        let refused = responder.get(&format!("/api/v1/incidents?{query}")).await;
        assert!(
            refused.status.is_client_error(),
            "?{query}: {}",
            refused.status
        );
        assert!(
            refused.text().contains(field),
            "?{query}: {}",
            refused.text()
        );
    }
}

#[tokio::test]
async fn the_lists_counts_per_status_follow_inserts_status_changes_and_deletes() {
    let app = TestApp::spawn().await;
    let mut responder = app.login_as(Role::Responder).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let detail = open_by_hand(
            &mut responder,
            json!({ "title": format!("Disk {i} full"), "service": "db" }),
        )
        .await;
        ids.push(detail.incident.id);
    }
    // Several rows in one statement, and some of another service.
    sqlx::query(
        "INSERT INTO incidents (title, status, severity, service, triggered_at, updated_at)
         SELECT 'Old ' || i, 'resolved', 'info', 'web', now() - interval '1 day', now()
         FROM generate_series(1, 3) AS i",
    )
    .execute(&app.db)
    .await
    .unwrap();
    act(&mut responder, ids[0], "acknowledge", json!({})).await;
    act(&mut responder, ids[1], "resolve", json!({})).await;
    act(&mut responder, ids[2], "acknowledge", json!({})).await;
    act(&mut responder, ids[2], "unacknowledge", json!({})).await;
    let until = (Utc::now() + TimeDelta::hours(1)).to_rfc3339();
    act(&mut responder, ids[3], "snooze", json!({ "until": until })).await;
    act(
        &mut responder,
        ids[3],
        "severity",
        json!({ "severity": "info" }),
    )
    .await;
    // Triggered: 2; acknowledged: 0, 3; resolved: 1 and the three old ones.
    let mut counts = async |query: &str| {
        let list: IncidentList = responder
            .get(&format!("/api/v1/incidents{query}"))
            .await
            .json();
        (
            list.triggered,
            list.acknowledged,
            list.resolved,
            list.total,
            list.incidents.len() as i64,
        )
    };
    assert_eq!(counts("").await, (1, 2, 4, 7, 7));
    assert_eq!(counts("?status=open").await, (1, 2, 4, 3, 3));
    assert_eq!(counts("?status=resolved&per_page=2").await, (1, 2, 4, 4, 2));
    assert_eq!(counts("?service=db").await, (1, 2, 1, 4, 4));
    assert_eq!(
        counts("?status=triggered&service=web").await,
        (0, 0, 3, 0, 0)
    );

    sqlx::query("DELETE FROM incidents WHERE id = $1 OR service = 'web'")
        .bind(ids[0])
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(counts("").await, (1, 1, 1, 3, 3));
    assert_eq!(counts("?status=acknowledged").await, (1, 1, 1, 1, 1));
    sqlx::query("TRUNCATE incidents CASCADE")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(counts("").await, (0, 0, 0, 0, 0));
}

#[tokio::test]
async fn the_list_pages_newest_first_through_incidents_triggered_at_the_same_time() {
    let app = TestApp::spawn().await;
    sqlx::query(
        "INSERT INTO incidents (title, status, severity, triggered_at, updated_at)
         SELECT 'Incident ' || i, CASE WHEN i % 3 = 0 THEN 'acknowledged' ELSE 'triggered' END,
                'warning', timestamptz '2026-01-01' + make_interval(mins => i / 4), now()
         FROM generate_series(1, 40) AS i",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let expected: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM incidents WHERE status = 'triggered'
         ORDER BY triggered_at DESC, id DESC",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let mut responder = app.login_as(Role::Responder).await;
    let mut seen = Vec::new();
    for page in 1..=6 {
        let list: IncidentList = responder
            .get(&format!(
                "/api/v1/incidents?status=triggered&per_page=5&page={page}"
            ))
            .await
            .json();
        assert_eq!(list.total, 27);
        seen.extend(list.incidents.iter().map(|i| i.id));
    }
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn the_list_and_analytics_name_each_incident_s_team_assignee_and_policy() {
    let app = TestApp::spawn().await;
    let team = |name: &'static str| {
        sqlx::query_scalar::<_, i64>("INSERT INTO teams (name) VALUES ($1) RETURNING id")
            .bind(name)
            .fetch_one(&app.db)
    };
    let (storage, api) = (team("Storage").await.unwrap(), team("api").await.unwrap());
    let someone = app
        .create_user("someone@example.com", Role::Responder)
        .await;
    let policy = escalation_policy(
        &app,
        json!({
            "name": "storage on-call",
            "levels": [{ "delay_minutes": 0, "targets": [{ "kind": "user", "id": someone }] }],
        }),
    )
    .await;
    let mut responder = app.login_as(Role::Responder).await;
    for body in [
        json!({ "title": "Disk full", "team_id": storage, "assignee_id": someone,
                "escalation_policy_id": policy.id }),
        json!({ "title": "Slow pages", "team_id": api }),
        json!({ "title": "Nobody's" }),
    ] {
        open_by_hand(&mut responder, body).await;
    }

    let list: IncidentList = responder.get("/api/v1/incidents?sort=oldest").await.json();
    let shown: Vec<_> = list
        .incidents
        .into_iter()
        .map(|i| (i.title, i.team, i.assignee, i.escalation_policy))
        .collect();
    let named = |title: &str, team: Option<&str>, assignee: Option<&str>, policy: Option<&str>| {
        let owned = |s: Option<&str>| s.map(str::to_owned);
        (
            title.to_owned(),
            owned(team),
            owned(assignee),
            owned(policy),
        )
    };
    assert_eq!(
        shown,
        [
            named(
                "Disk full",
                Some("Storage"),
                Some("someone@example.com"),
                Some("storage on-call")
            ),
            named("Slow pages", Some("api"), None, None),
            named("Nobody's", None, None, None),
        ]
    );
    let analytics: Analytics = responder.get("/api/v1/incidents/analytics").await.json();
    let by_team: Vec<(String, i64)> = analytics
        .by_team
        .into_iter()
        .map(|r| (r.key, r.incidents))
        .collect();
    assert_eq!(
        by_team,
        [
            (String::new(), 1),
            ("Storage".to_owned(), 1),
            ("api".to_owned(), 1)
        ],
        "ordered by name"
    );
}

#[tokio::test]
async fn an_incident_whose_policy_keeps_it_open_outlives_its_alerts() {
    let app = TestApp::spawn().await;
    let oncall = app.create_user("oncall@example.com", Role::Responder).await;
    let policy = escalation_policy(
        &app,
        json!({
            "name": "keep open",
            "levels": [{ "delay_minutes": 0, "targets": [{ "kind": "user", "id": oncall }] }],
            "auto_resolve": false,
        }),
    )
    .await;
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            "/api/v1/alert-rules",
            &json!({
                "name": "DiskFull",
                "query": "vector(5)",
                "comparison": ">",
                "warning_threshold": 1,
                "escalation_policy_id": policy.id,
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let evaluator = Evaluator::new(&app.state);
    let t0 = Utc::now();
    evaluator.evaluate_due(t0).await.unwrap();
    escalation::pick_up_all(&app.db, t0).await.unwrap();
    let mut responder = app.login_as(Role::Responder).await;
    let counts = |list: IncidentList| {
        let i = &list.incidents[0];
        (i.status, i.alert_count, i.firing_count)
    };
    let list: IncidentList = responder.get("/api/v1/incidents").await.json();
    assert_eq!(counts(list), (IncidentStatus::Triggered, 1, 1));

    stop_firing(&app, &evaluator, t0 + TimeDelta::minutes(1)).await;
    assert_eq!(
        escalation::resolve_finished(&app.db, t0 + TimeDelta::minutes(2))
            .await
            .unwrap(),
        0,
        "its policy does not resolve incidents by themselves"
    );
    let list: IncidentList = responder.get("/api/v1/incidents").await.json();
    assert_eq!(counts(list), (IncidentStatus::Triggered, 1, 0));
}
