//! Notification policies end to end: alerts posted as Prometheus posts them (and raised by
//! Vigil's own rules) are routed by their labels, grouped, and sent on Alertmanager's timings
//! (`group_wait`, `group_interval`, `repeat_interval`), driven by an explicit clock.

mod common;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use common::TestApp;
use serde_json::{Value, json};
use sqlx::PgPool;
use vigil::alerting::alerts::Evaluator;
use vigil::db::{self, PoolSettings};
use vigil::incidents::escalation;
use vigil::notify::routing;
use vigil_shared::Role;
use vigil_shared::admin::CreatedApiKey;
use vigil_shared::incident::IncidentList;
use vigil_shared::notify::{Channel, Policy, PolicyList};

async fn ingest_key(app: &TestApp) -> String {
    let mut admin = app.login_as(Role::Admin).await;
    let created: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "prometheus", "scopes": ["ingest"] }),
        )
        .await
        .json();
    created.secret
}

/// Posts alerts to the Alertmanager API exactly as Prometheus does: `[{labels, annotations,
/// startsAt, endsAt, generatorURL}]`.
async fn post_alerts(app: &TestApp, key: &str, alerts: &[(&[(&str, &str)], TimeDelta)]) {
    let now = Utc::now();
    let body: Vec<Value> = alerts
        .iter()
        .map(|(labels, ends_in)| {
            let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
            json!({
                "labels": labels,
                "annotations": { "summary": "disk almost full" },
                "startsAt": (now - TimeDelta::minutes(1)).to_rfc3339(),
                "endsAt": (now + *ends_in).to_rfc3339(),
                "generatorURL": "http://prometheus:9090/graph?g0.expr=disk"
            })
        })
        .collect();
    let request = Request::builder()
        .method("POST")
        .uri("/alertmanager/api/v2/alerts")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(Value::Array(body).to_string()))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

async fn channel(app: &TestApp, name: &str) -> i64 {
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            "/api/v1/notification-channels",
            &json!({ "name": name, "kind": "webhook", "url": "http://127.0.0.1:9/hook" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json::<Channel>().id
}

async fn policy(app: &TestApp, body: Value) -> Policy {
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor.post("/api/v1/notification-policies", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()
}

/// The messages queued for `channel`, oldest first: (status, alert statuses by instance).
async fn messages(db: &PgPool, channel: i64) -> Vec<(String, Vec<(String, String)>)> {
    let payloads: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM notification_deliveries WHERE channel_id = $1 ORDER BY id",
    )
    .bind(channel)
    .fetch_all(db)
    .await
    .unwrap();
    payloads
        .into_iter()
        .map(|p| {
            let alerts = p["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["labels"]["instance"].as_str().unwrap_or("").to_owned(),
                        a["status"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (p["status"].as_str().unwrap().to_owned(), alerts)
        })
        .collect()
}

fn pair(instance: &str, status: &str) -> (String, String) {
    (instance.to_owned(), status.to_owned())
}

async fn run(db: &PgPool, at: DateTime<Utc>) -> usize {
    routing::run(db, at).await.unwrap()
}

#[tokio::test]
async fn a_group_waits_then_batches_changes_per_interval_and_repeats() {
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let storage = channel(&app, "storage team").await;
    policy(
        &app,
        json!({
            "name": "storage",
            "matchers": [{ "name": "team", "value": "storage", "op": "=" }],
            "channel_ids": [storage],
            "group_by": ["alertname", "cluster"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "1h",
        }),
    )
    .await;
    let a: &[(&str, &str)] = &[
        ("alertname", "DiskFull"),
        ("team", "storage"),
        ("cluster", "eu"),
        ("instance", "a"),
    ];
    let b: &[(&str, &str)] = &[
        ("alertname", "DiskFull"),
        ("team", "storage"),
        ("cluster", "eu"),
        ("instance", "b"),
    ];
    let other_cluster: &[(&str, &str)] = &[
        ("alertname", "DiskFull"),
        ("team", "storage"),
        ("cluster", "us"),
        ("instance", "c"),
    ];
    let t0 = Utc::now();
    post_alerts(&app, &key, &[(a, TimeDelta::hours(3))]).await;
    assert_eq!(run(&app.db, t0).await, 0, "group_wait has not passed");
    // A second alert of the same group arrives during group_wait: one message for both.
    post_alerts(&app, &key, &[(b, TimeDelta::hours(3))]).await;
    assert_eq!(run(&app.db, t0 + TimeDelta::seconds(29)).await, 0);
    assert_eq!(run(&app.db, t0 + TimeDelta::seconds(31)).await, 1);
    assert_eq!(
        messages(&app.db, storage).await,
        [(
            "firing".to_owned(),
            vec![pair("a", "firing"), pair("b", "firing")]
        )]
    );

    // Another cluster is another group with its own wait, counted from when its alert came
    // in (just now): over by t1.
    let t1 = t0 + TimeDelta::seconds(31);
    post_alerts(&app, &key, &[(other_cluster, TimeDelta::hours(3))]).await;
    assert_eq!(run(&app.db, t1).await, 1);

    // Nothing changed: nothing is sent at the next group_interval.
    assert_eq!(run(&app.db, t1 + TimeDelta::minutes(5)).await, 0);
    // `b` resolves: reported at the next interval, alongside what still fires.
    post_alerts(&app, &key, &[(b, TimeDelta::seconds(-1))]).await;
    assert_eq!(run(&app.db, t1 + TimeDelta::minutes(7)).await, 0);
    assert_eq!(run(&app.db, t1 + TimeDelta::minutes(10)).await, 1);
    let sent = messages(&app.db, storage).await;
    assert_eq!(
        sent.last().unwrap(),
        &(
            "firing".to_owned(),
            vec![pair("a", "firing"), pair("b", "resolved")]
        )
    );
    // Unchanged groups stay quiet until repeat_interval (1 h) has passed since their last
    // message: the us group (sent at t1) at t1 + 1 h, the eu group (sent at t1 + 10 min) at
    // t1 + 1 h 10 min.
    for minutes in (15..=55).step_by(5) {
        assert_eq!(
            run(&app.db, t1 + TimeDelta::minutes(minutes)).await,
            0,
            "minute {minutes}"
        );
    }
    assert_eq!(run(&app.db, t1 + TimeDelta::minutes(60)).await, 1);
    assert_eq!(
        messages(&app.db, storage).await.last().unwrap().1,
        [pair("c", "firing")]
    );
    assert_eq!(run(&app.db, t1 + TimeDelta::minutes(65)).await, 0);
    assert_eq!(run(&app.db, t1 + TimeDelta::minutes(70)).await, 1);
    assert_eq!(
        messages(&app.db, storage).await.last().unwrap().1,
        [pair("a", "firing")],
        "a repeat carries what still fires"
    );

    // `a` resolves too: a resolved message, then the group is gone.
    post_alerts(&app, &key, &[(a, TimeDelta::seconds(-1))]).await;
    assert_eq!(run(&app.db, t1 + TimeDelta::minutes(75)).await, 1);
    assert_eq!(
        messages(&app.db, storage).await.last().unwrap(),
        &("resolved".to_owned(), vec![pair("a", "resolved")])
    );
    let groups: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notification_groups WHERE group_labels->>'cluster' = 'eu'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(groups, 0, "an emptied group is removed");
}

#[tokio::test]
async fn alerts_follow_the_first_matching_policy_the_default_takes_the_rest() {
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let db_team = channel(&app, "db team").await;
    let pager = channel(&app, "pager").await;
    let everyone = channel(&app, "everyone").await;
    policy(
        &app,
        json!({
            "name": "database",
            "matchers": [{ "name": "service", "value": "postgres|mysql", "op": "=~" }],
            "channel_ids": [db_team],
            "group_wait": "0s",
            "continue": true,
        }),
    )
    .await;
    policy(
        &app,
        json!({
            "name": "critical",
            "matchers": [{ "name": "severity", "value": "critical", "op": "=" }],
            "channel_ids": [pager],
            "group_wait": "0s",
        }),
    )
    .await;
    let mut editor = app.login_as(Role::Editor).await;
    let list: PolicyList = editor.get("/api/v1/notification-policies").await.json();
    let names: Vec<&str> = list
        .policies
        .iter()
        .map(|p| p.policy.name.as_str())
        .collect();
    assert_eq!(names, ["database", "critical", "Default policy"]);
    let default = list.policies.last().unwrap().clone();
    assert!(default.is_default);
    let mut body = serde_json::to_value(&default.policy).unwrap();
    body["channel_ids"] = json!([everyone]);
    body["group_wait"] = json!("0s");
    let updated = editor
        .request(
            Method::PUT,
            &format!("/api/v1/notification-policies/{}", default.id),
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());

    post_alerts(
        &app,
        &key,
        &[
            (
                &[
                    ("alertname", "Lag"),
                    ("service", "postgres"),
                    ("severity", "critical"),
                    ("instance", "pg"),
                ],
                TimeDelta::hours(1),
            ),
            (
                &[
                    ("alertname", "Lag"),
                    ("service", "mysql"),
                    ("severity", "warning"),
                    ("instance", "my"),
                ],
                TimeDelta::hours(1),
            ),
            (
                &[
                    ("alertname", "Slow"),
                    ("service", "web"),
                    ("instance", "web"),
                ],
                TimeDelta::hours(1),
            ),
        ],
    )
    .await;
    run(&app.db, Utc::now()).await;
    let instances = |sent: Vec<(String, Vec<(String, String)>)>| -> Vec<String> {
        let mut all: Vec<String> = sent
            .into_iter()
            .flat_map(|(_, alerts)| alerts.into_iter().map(|(i, _)| i))
            .collect();
        all.sort();
        all
    };
    assert_eq!(instances(messages(&app.db, db_team).await), ["my", "pg"]);
    assert_eq!(
        instances(messages(&app.db, pager).await),
        ["pg"],
        "`continue` let the critical one on"
    );
    assert_eq!(
        instances(messages(&app.db, everyone).await),
        ["web"],
        "the default policy takes only what matched nothing"
    );
}

#[tokio::test]
async fn silenced_alerts_notify_nobody_and_two_replicas_send_each_message_once() {
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let ops = channel(&app, "ops").await;
    policy(
        &app,
        json!({ "name": "all", "channel_ids": [ops], "group_by": ["..."], "group_wait": "10s" }),
    )
    .await;
    let mut responder = app.login_as(Role::Responder).await;
    let silenced = responder
        .post(
            "/api/v1/silences",
            &json!({
                "matchers": [{ "name": "instance", "value": "noisy", "op": "=" }],
                "ends_at": (Utc::now() + TimeDelta::hours(2)).to_rfc3339(),
                "comment": "maintenance",
            }),
        )
        .await;
    assert_eq!(silenced.status, StatusCode::CREATED, "{}", silenced.text());
    let mut alerts: Vec<Vec<(&str, String)>> = (0..20)
        .map(|i| {
            vec![
                ("alertname", "Down".to_owned()),
                ("instance", format!("host-{i}")),
            ]
        })
        .collect();
    alerts.push(vec![
        ("alertname", "Down".to_owned()),
        ("instance", "noisy".to_owned()),
    ]);
    let labels: Vec<Vec<(&str, &str)>> = alerts
        .iter()
        .map(|l| l.iter().map(|(k, v)| (*k, v.as_str())).collect())
        .collect();
    let posted: Vec<(&[(&str, &str)], TimeDelta)> = labels
        .iter()
        .map(|l| (l.as_slice(), TimeDelta::hours(1)))
        .collect();
    post_alerts(&app, &key, &posted).await;

    // A second replica: its own pool over the same database, routing and flushing at once.
    let other = db::pool_options(&PoolSettings {
        max_connections: 5,
        ..PoolSettings::default()
    })
    .connect_with(app.db.connect_options().as_ref().clone())
    .await
    .unwrap();
    let now = Utc::now();
    let (here, there) = tokio::join!(
        routing::route_pending(&app.db, now),
        routing::route_pending(&other, now)
    );
    assert_eq!(here.unwrap() + there.unwrap(), 21, "each alert placed once");
    let due = now + TimeDelta::seconds(10);
    let (here, there) = tokio::join!(routing::run(&app.db, due), routing::run(&other, due));
    assert_eq!(here.unwrap() + there.unwrap(), 20, "one message per group");
    let sent = messages(&app.db, ops).await;
    assert_eq!(sent.len(), 20);
    assert!(
        sent.iter()
            .all(|(_, alerts)| alerts.len() == 1 && alerts[0].0 != "noisy"),
        "grouped by every label, the silenced one left out"
    );
}

#[tokio::test]
async fn a_rule_escalating_to_critical_moves_to_the_critical_route() {
    let app = TestApp::spawn().await;
    let chat = channel(&app, "chat").await;
    let pager = channel(&app, "pager").await;
    let tickets = channel(&app, "tickets").await;
    policy(
        &app,
        json!({
            "name": "ticket warnings",
            "matchers": [{ "name": "severity", "value": "warning", "op": "=" }],
            "channel_ids": [tickets],
            "group_wait": "0s",
            "group_interval": "1m",
        }),
    )
    .await;
    policy(
        &app,
        json!({
            "name": "page on critical",
            "matchers": [{ "name": "severity", "value": "critical", "op": "=" }],
            "channel_ids": [pager],
            "group_wait": "0s",
            "group_interval": "1m",
        }),
    )
    .await;
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            "/api/v1/alert-rules",
            &json!({
                "name": "QueueDepth",
                "query": "vector(5)",
                "comparison": ">",
                "warning_threshold": 1,
                "critical_threshold": 10,
                "notification_channel_ids": [chat],
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let evaluator = Evaluator::new(&app.state);
    let t0 = Utc::now();
    evaluator.evaluate_due(t0).await.unwrap();
    run(&app.db, t0 + TimeDelta::seconds(30)).await;
    assert_eq!(
        messages(&app.db, chat).await,
        [("firing".to_owned(), vec![pair("", "firing")])]
    );
    assert!(
        messages(&app.db, pager).await.is_empty(),
        "a warning pages nobody"
    );

    sqlx::query(
        "UPDATE alert_rules SET query = 'vector(50)', next_eval_at = now() - interval '1 minute'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let t1 = t0 + TimeDelta::minutes(1);
    evaluator.evaluate_due(t1).await.unwrap();
    run(&app.db, t1).await;
    let paged = messages(&app.db, pager).await;
    assert_eq!(paged.len(), 1, "now critical, it pages: {paged:?}");
    // The warning route no longer holds it: it is reported resolved there.
    run(&app.db, t1 + TimeDelta::minutes(1)).await;
    assert_eq!(
        messages(&app.db, tickets).await.last().unwrap(),
        &("resolved".to_owned(), vec![pair("", "resolved")])
    );
    // The rule's own channel sees the same alert at its new severity at its next interval.
    run(&app.db, t0 + TimeDelta::seconds(30) + TimeDelta::minutes(5)).await;
    let chat_sent: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM notification_deliveries WHERE channel_id = $1 ORDER BY id",
    )
    .bind(chat)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(chat_sent.len(), 2);
    assert_eq!(chat_sent[1]["alerts"][0]["labels"]["severity"], "critical");
}

#[tokio::test]
async fn policies_are_for_editors_and_validated_per_field() {
    let app = TestApp::spawn().await;
    for role in [Role::Viewer, Role::Responder] {
        let mut user = app.login_as(role).await;
        assert_eq!(
            user.get("/api/v1/notification-policies").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            user.post("/api/v1/notification-policies", &json!({ "name": "x" }))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
    let mut editor = app.login_as(Role::Editor).await;
    let refused = editor
        .post(
            "/api/v1/notification-policies",
            &json!({
                "name": "",
                "matchers": [{ "name": "team", "value": "(", "op": "=~" }],
                "channel_ids": [999],
                "group_by": ["not a label"],
                "group_wait": "soon",
                "group_interval": "0s",
                "repeat_interval": "4h",
            }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.error().error.fields;
    for field in [
        "name",
        "matchers",
        "channel_ids",
        "group_by",
        "group_wait",
        "group_interval",
    ] {
        assert!(fields.contains_key(field), "{field} is named: {fields:?}");
    }
    assert!(!fields.contains_key("repeat_interval"));

    let list: PolicyList = editor.get("/api/v1/notification-policies").await.json();
    let default = &list.policies[0];
    assert!(default.is_default);
    let deleted = editor
        .delete(&format!("/api/v1/notification-policies/{}", default.id))
        .await;
    assert_eq!(deleted.status, StatusCode::CONFLICT);
    let mut body = serde_json::to_value(&default.policy).unwrap();
    body["matchers"] = json!([{ "name": "team", "value": "db", "op": "=" }]);
    let refused = editor
        .request(
            Method::PUT,
            &format!("/api/v1/notification-policies/{}", default.id),
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.error().error.fields.contains_key("matchers"));

    // Positions: a policy put first moves the others down; deleting one closes the gap.
    let first = policy(&app, json!({ "name": "one" })).await;
    let second = policy(&app, json!({ "name": "two" })).await;
    let front = policy(&app, json!({ "name": "zero", "position": 1 })).await;
    let list: PolicyList = editor.get("/api/v1/notification-policies").await.json();
    let order: Vec<(&str, Option<i32>)> = list
        .policies
        .iter()
        .map(|p| (p.policy.name.as_str(), p.policy.position))
        .collect();
    assert_eq!(
        order,
        [
            ("zero", Some(1)),
            ("one", Some(2)),
            ("two", Some(3)),
            ("Default policy", None)
        ]
    );
    assert_eq!(
        editor
            .delete(&format!("/api/v1/notification-policies/{}", first.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let list: PolicyList = editor.get("/api/v1/notification-policies").await.json();
    assert_eq!(list.policies[1].id, second.id);
    assert_eq!(list.policies[1].policy.position, Some(2));
    assert_eq!(list.policies[0].id, front.id);
    let duplicate = editor
        .post("/api/v1/notification-policies", &json!({ "name": "ZERO" }))
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
}

async fn escalation_policy(app: &TestApp, name: &str, first: i64, second: i64) -> i64 {
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            "/api/v1/escalation-policies",
            &json!({
                "name": name,
                "levels": [
                    { "delay_minutes": 0, "targets": [{ "kind": "user", "id": first }] },
                    { "delay_minutes": 10, "targets": [{ "kind": "user", "id": second }] },
                ],
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json::<Value>()["id"].as_i64().unwrap()
}

async fn pages(db: &PgPool, user: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM user_notifications WHERE user_id = $1")
        .bind(user)
        .fetch_one(db)
        .await
        .unwrap()
}

/// The open incidents in the order they opened: (title, escalation policy, alert count).
async fn incidents(app: &TestApp) -> Vec<(String, Option<i64>, i64)> {
    let mut viewer = app.login_as(Role::Viewer).await;
    let mut list: IncidentList = viewer.get("/api/v1/incidents?status=open").await.json();
    list.incidents.sort_by_key(|i| i.id);
    list.incidents
        .into_iter()
        .map(|i| (i.title, i.escalation_policy_id, i.alert_count))
        .collect()
}

fn incident(title: &str, policy: Option<i64>, alerts: i64) -> (String, Option<i64>, i64) {
    (title.to_owned(), policy, alerts)
}

#[tokio::test]
async fn an_alert_from_prometheus_taken_by_a_policy_opens_an_incident_its_escalation_policy_pages()
{
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let first = app.create_user("first@example.com", Role::Responder).await;
    let second = app.create_user("second@example.com", Role::Responder).await;
    let on_call = escalation_policy(&app, "storage on-call", first, second).await;
    let created = policy(
        &app,
        json!({
            "name": "storage",
            "matchers": [{ "name": "team", "value": "storage", "op": "=" }],
            "escalation_policy_id": on_call,
            "incident_group_by": ["cluster"],
        }),
    )
    .await;
    assert_eq!(created.policy.escalation_policy_id, Some(on_call));
    assert_eq!(created.policy.incident_group_by, ["cluster"]);

    let disk: &[(&str, &str)] = &[
        ("alertname", "DiskFull"),
        ("team", "storage"),
        ("cluster", "eu"),
        ("instance", "a"),
    ];
    post_alerts(&app, &key, &[(disk, TimeDelta::hours(1))]).await;
    let t0 = Utc::now();
    routing::route_pending(&app.db, t0).await.unwrap();
    escalation::pick_up_all(&app.db, t0).await.unwrap();
    assert_eq!(
        incidents(&app).await,
        [incident("DiskFull (eu)", Some(on_call), 1)]
    );
    let group_key: String = sqlx::query_scalar("SELECT group_key FROM incidents")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        group_key,
        format!(
            r#"route:{}:alertname:"DiskFull":[("cluster", "eu")]"#,
            created.id
        )
    );
    let opened: String = sqlx::query_scalar(
        "SELECT t.message FROM incident_timeline t JOIN incidents i ON i.id = t.incident_id
         WHERE t.kind = 'triggered'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        opened,
        r#"Opened by the alert DiskFull{cluster="eu", instance="a", team="storage"}."#
    );

    // The escalation worker pages level 1 at once and level 2 ten minutes later.
    assert_eq!(escalation::process_due(&app.db, t0).await.unwrap(), 1);
    assert_eq!(pages(&app.db, first).await, 1);
    assert_eq!(pages(&app.db, second).await, 0);
    assert_eq!(
        escalation::process_due(&app.db, t0 + TimeDelta::minutes(10))
            .await
            .unwrap(),
        1
    );
    assert_eq!(pages(&app.db, second).await, 1);
}

#[tokio::test]
async fn alerts_split_into_incidents_by_the_policy_s_labels_and_policies_never_share_one() {
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let user = app.create_user("oncall@example.com", Role::Responder).await;
    let storage_on_call = escalation_policy(&app, "storage on-call", user, user).await;
    let db_on_call = escalation_policy(&app, "db on-call", user, user).await;
    for (team, on_call) in [("storage", storage_on_call), ("db", db_on_call)] {
        policy(
            &app,
            json!({
                "name": team,
                "matchers": [{ "name": "team", "value": team, "op": "=" }],
                "escalation_policy_id": on_call,
                "incident_group_by": ["cluster"],
            }),
        )
        .await;
    }
    let alert = |team: &'static str, cluster: &'static str, instance: &'static str| {
        vec![
            ("alertname", "DiskFull"),
            ("team", team),
            ("cluster", cluster),
            ("instance", instance),
        ]
    };
    let eu_a = alert("storage", "eu", "a");
    let eu_b = alert("storage", "eu", "b");
    let us_c = alert("storage", "us", "c");
    let db_eu = alert("db", "eu", "d");
    post_alerts(
        &app,
        &key,
        &[
            (&eu_a, TimeDelta::hours(1)),
            (&us_c, TimeDelta::hours(1)),
            (&db_eu, TimeDelta::hours(1)),
        ],
    )
    .await;
    routing::route_pending(&app.db, Utc::now()).await.unwrap();
    escalation::pick_up_all(&app.db, Utc::now()).await.unwrap();
    post_alerts(&app, &key, &[(&eu_b, TimeDelta::hours(1))]).await;
    routing::route_pending(&app.db, Utc::now()).await.unwrap();
    escalation::pick_up_all(&app.db, Utc::now()).await.unwrap();
    assert_eq!(
        incidents(&app).await,
        [
            incident("DiskFull (eu)", Some(storage_on_call), 2),
            incident("DiskFull (us)", Some(storage_on_call), 1),
            incident("DiskFull (eu)", Some(db_on_call), 1),
        ],
        "same cluster joins; another cluster, or another policy, opens its own"
    );
}

#[tokio::test]
async fn a_rule_s_own_escalation_policy_wins_over_the_policy_s() {
    let app = TestApp::spawn().await;
    let user = app.create_user("oncall@example.com", Role::Responder).await;
    let rule_on_call = escalation_policy(&app, "rule on-call", user, user).await;
    let route_on_call = escalation_policy(&app, "route on-call", user, user).await;
    policy(
        &app,
        json!({
            "name": "payments",
            "matchers": [{ "name": "service", "value": "payments", "op": "=" }],
            "escalation_policy_id": route_on_call,
        }),
    )
    .await;
    let mut editor = app.login_as(Role::Editor).await;
    for (name, on_call) in [("PaymentsDown", Some(rule_on_call)), ("PaymentsSlow", None)] {
        let created = editor
            .post(
                "/api/v1/alert-rules",
                &json!({
                    "name": name,
                    "query": "vector(5)",
                    "comparison": ">",
                    "critical_threshold": 1,
                    "escalation_policy_id": on_call,
                    "labels": { "service": "payments" },
                }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    }
    let now = Utc::now();
    Evaluator::new(&app.state).evaluate_due(now).await.unwrap();
    routing::route_pending(&app.db, now).await.unwrap();
    escalation::pick_up_all(&app.db, now).await.unwrap();
    let mut found = incidents(&app).await;
    found.sort();
    assert_eq!(
        found,
        [
            incident("PaymentsDown", Some(rule_on_call), 1),
            incident("PaymentsSlow", Some(route_on_call), 1),
        ]
    );
}

#[tokio::test]
async fn an_alert_no_policy_pages_for_opens_its_incident_as_before() {
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let user = app.create_user("oncall@example.com", Role::Responder).await;
    let disk = |instance: &'static str| {
        vec![
            ("alertname", "DiskFull"),
            ("team", "web"),
            ("instance", instance),
        ]
    };
    let (a, b) = (disk("a"), disk("b"));
    post_alerts(&app, &key, &[(&a, TimeDelta::hours(1))]).await;
    routing::route_pending(&app.db, Utc::now()).await.unwrap();
    escalation::pick_up_all(&app.db, Utc::now()).await.unwrap();

    // Policies for other alerts change nothing for this one: it still joins the open incident.
    let on_call = escalation_policy(&app, "db on-call", user, user).await;
    policy(
        &app,
        json!({
            "name": "db",
            "matchers": [{ "name": "team", "value": "db", "op": "=" }],
            "escalation_policy_id": on_call,
            "incident_group_by": ["instance"],
        }),
    )
    .await;
    policy(
        &app,
        json!({ "name": "web", "matchers": [{ "name": "team", "value": "web", "op": "=" }] }),
    )
    .await;
    post_alerts(&app, &key, &[(&b, TimeDelta::hours(1))]).await;
    let now = Utc::now();
    routing::route_pending(&app.db, now).await.unwrap();
    escalation::pick_up_all(&app.db, now).await.unwrap();
    assert_eq!(incidents(&app).await, [incident("DiskFull", None, 2)]);
    let group_key: String = sqlx::query_scalar("SELECT group_key FROM incidents")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(group_key, r#"alertname:"DiskFull""#);
    assert_eq!(escalation::process_due(&app.db, now).await.unwrap(), 0);
    assert_eq!(pages(&app.db, user).await, 0, "nobody is paged");
}

#[tokio::test]
async fn the_default_policy_pages_for_alerts_the_others_leave_unset() {
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let user = app.create_user("oncall@example.com", Role::Responder).await;
    let on_call = escalation_policy(&app, "everyone", user, user).await;
    let grouping = policy(
        &app,
        json!({
            "name": "storage",
            "matchers": [{ "name": "team", "value": "storage", "op": "=" }],
            "incident_group_by": ["cluster"],
        }),
    )
    .await;
    let mut editor = app.login_as(Role::Editor).await;
    let list: PolicyList = editor.get("/api/v1/notification-policies").await.json();
    let default = list.policies.last().unwrap().clone();
    let mut body = serde_json::to_value(&default.policy).unwrap();
    body["escalation_policy_id"] = json!(on_call);
    let updated = editor
        .request(
            Method::PUT,
            &format!("/api/v1/notification-policies/{}", default.id),
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());

    let storage: &[(&str, &str)] = &[
        ("alertname", "DiskFull"),
        ("team", "storage"),
        ("cluster", "eu"),
    ];
    let other: &[(&str, &str)] = &[("alertname", "Down"), ("job", "web")];
    post_alerts(
        &app,
        &key,
        &[(storage, TimeDelta::hours(1)), (other, TimeDelta::hours(1))],
    )
    .await;
    routing::route_pending(&app.db, Utc::now()).await.unwrap();
    escalation::pick_up_all(&app.db, Utc::now()).await.unwrap();
    assert_eq!(
        incidents(&app).await,
        [
            incident("DiskFull (eu)", Some(on_call), 1),
            incident("Down", Some(on_call), 1),
        ]
    );
    let keys: Vec<String> = sqlx::query_scalar("SELECT group_key FROM incidents ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            format!(
                r#"route:{},{}:alertname:"DiskFull":[("cluster", "eu")]"#,
                grouping.id, default.id
            ),
            format!(r#"route:{}:alertname:"Down":[]"#, default.id),
        ]
    );
}

#[tokio::test]
async fn incident_settings_are_validated_and_an_escalation_policy_in_use_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let user = app.create_user("oncall@example.com", Role::Responder).await;
    let on_call = escalation_policy(&app, "storage on-call", user, user).await;
    let mut editor = app.login_as(Role::Editor).await;
    let refused = editor
        .post(
            "/api/v1/notification-policies",
            &json!({
                "name": "storage",
                "escalation_policy_id": 999_999,
                "incident_group_by": ["cluster", "not a label"],
            }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.error().error.fields;
    assert_eq!(
        fields.get("escalation_policy_id").map(String::as_str),
        Some("there is no escalation policy 999999")
    );
    assert_eq!(
        fields.get("incident_group_by").map(String::as_str),
        Some(r#""not a label" is not a valid label name"#)
    );
    let saved = policy(
        &app,
        json!({ "name": "storage", "escalation_policy_id": on_call, "incident_group_by": ["cluster"] }),
    )
    .await;
    let path = format!("/api/v1/notification-policies/{}", saved.id);
    let read: Policy = editor.get(&path).await.json();
    assert_eq!(read.policy.escalation_policy_id, Some(on_call));
    assert_eq!(read.policy.incident_group_by, ["cluster"]);

    // Only editors change policies.
    let mut responder = app.login_as(Role::Responder).await;
    let mut body = serde_json::to_value(&read.policy).unwrap();
    body["escalation_policy_id"] = Value::Null;
    for (method, bytes) in [
        (Method::PUT, Some(body.to_string().into_bytes())),
        (Method::DELETE, None),
    ] {
        let response = responder.request(method.clone(), &path, bytes).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{method}");
    }

    // The escalation policy it pages cannot be deleted until it pages another (or none).
    let escalation_path = format!("/api/v1/escalation-policies/{on_call}");
    let refused = editor.delete(&escalation_path).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(
        refused.error().error.message,
        "This escalation policy is still used by notification policies (storage); remove it \
         from them first."
    );
    let updated = editor
        .request(Method::PUT, &path, Some(body.to_string().into_bytes()))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    assert_eq!(updated.json::<Policy>().policy.escalation_policy_id, None);
    let audited: Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'notification_policy.update'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited["escalation_policy_id"], Value::Null);
    assert_eq!(audited["incident_group_by"], json!(["cluster"]));
    assert_eq!(
        editor.delete(&escalation_path).await.status,
        StatusCode::NO_CONTENT
    );
}
