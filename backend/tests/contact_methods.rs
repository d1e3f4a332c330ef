//! Users' contact methods end to end: people manage their own (admins anyone's), field by
//! field and in the audit log; an escalation level that pages a user — directly, through a
//! team or on a schedule — reaches a local webhook receiver and a local SMTP server with the
//! incident's message through the delivery queue; deleted methods keep their deliveries.

mod common;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use common::receivers::{receiver, smtp_server};
use common::{Client, PASSWORD, TestApp};
use serde_json::{Value, json};
use vigil::config::AppConfig;
use vigil::incidents::escalation;
use vigil::notify::{self, send};
use vigil_shared::Role;
use vigil_shared::admin::AuditLogPage;
use vigil_shared::contact::{
    ContactDelivery, ContactDeliveryLog, ContactKind, ContactMethod, ContactMethodList,
};
use vigil_shared::notify::DeliveryStatus;

const MINE: &str = "/api/v1/auth/me/contact-methods";

async fn add(client: &mut Client<'_>, path: &str, body: Value) -> ContactMethod {
    let created = client.post(path, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()
}

/// Creates a responder and logs them in.
async fn person<'a>(app: &'a TestApp, email: &str) -> (i64, Client<'a>) {
    let id = app.create_user(email, Role::Responder).await;
    (id, app.login(email, PASSWORD).await)
}

async fn audit(app: &TestApp, action: &str) -> AuditLogPage {
    let mut admin = app.login_as(Role::Admin).await;
    admin
        .get(&format!("/api/v1/audit-log?action={action}"))
        .await
        .json()
}

/// Opens an incident by hand under a new policy with `levels`; answers its id.
async fn incident_paging(app: &TestApp, title: &str, levels: Value) -> i64 {
    let mut editor = app.login_as(Role::Editor).await;
    let policy = editor
        .post(
            "/api/v1/escalation-policies",
            &json!({ "name": format!("{title} policy"), "levels": levels }),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text());
    let policy: Value = policy.json();
    let opened = editor
        .post(
            "/api/v1/incidents",
            &json!({ "title": title, "severity": "critical", "escalation_policy_id": policy["id"] }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text());
    opened.json::<Value>()["id"].as_i64().unwrap()
}

async fn last_timeline_entry(app: &TestApp, incident: i64) -> String {
    sqlx::query_scalar(
        "SELECT message FROM incident_timeline WHERE incident_id = $1 ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(incident)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn deliveries_to(app: &TestApp, method: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notification_deliveries WHERE contact_method_id = $1")
        .bind(method)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn my_log(client: &mut Client<'_>) -> Vec<ContactDelivery> {
    let log = client.get(&format!("{MINE}/deliveries")).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text());
    log.json::<ContactDeliveryLog>().deliveries
}

async fn deliver_due(app: &TestApp, at: DateTime<Utc>) -> usize {
    let outbox = send::Outbox::new(
        app.state.config.smtp.clone(),
        app.state.config.outbound.clone(),
    );
    notify::deliver_due(&app.db, &outbox, at).await.unwrap()
}

#[tokio::test]
async fn a_viewer_manages_their_own_contact_methods_field_by_field_and_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let mut viewer = app.login_as(Role::Viewer).await;
    let empty: ContactMethodList = viewer.get(MINE).await.json();
    assert!(empty.methods.is_empty());

    let email = add(
        &mut viewer,
        MINE,
        json!({ "kind": "email", "address": " rosa.pager@example.com ", "label": "pager" }),
    )
    .await;
    assert_eq!(email.kind, ContactKind::Email);
    assert_eq!(email.address, "rosa.pager@example.com");
    assert_eq!(email.label, "pager");
    let hook = add(
        &mut viewer,
        MINE,
        json!({ "kind": "webhook", "address": "https://hooks.example.com/rosa?token=t0k" }),
    )
    .await;
    assert_eq!(hook.label, "");
    let list: ContactMethodList = viewer.get(MINE).await.json();
    assert_eq!(list.methods, [email.clone(), hook.clone()]);

    for (body, field) in [
        (
            json!({ "kind": "email", "address": "not an address" }),
            "address",
        ),
        (json!({ "kind": "email", "address": "" }), "address"),
        (
            json!({ "kind": "webhook", "address": "ftp://example.com/x" }),
            "address",
        ),
        (
            json!({ "kind": "webhook", "address": "hooks.example.com/x" }),
            "address",
        ),
        (json!({ "kind": "sms", "address": "+491701234567" }), "kind"),
        (json!({ "address": "rosa@example.com" }), "kind"),
        (
            json!({ "kind": "email", "address": "a@example.com", "label": "x".repeat(101) }),
            "label",
        ),
    ] {
        let refused = viewer.post(MINE, &body).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let fields = refused.error().error.fields;
        assert!(fields.contains_key(field), "{body}: {fields:?}");
    }
    let duplicate = viewer
        .post(
            MINE,
            &json!({ "kind": "email", "address": "rosa.pager@example.com" }),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert!(duplicate.error().error.fields.contains_key("address"));
    let not_json = viewer
        .request(Method::POST, MINE, Some(b"{\"kind\": ".to_vec()))
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);

    let deleted = viewer.delete(&format!("{MINE}/{}", email.id)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let again = viewer.delete(&format!("{MINE}/{}", email.id)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let list: ContactMethodList = viewer.get(MINE).await.json();
    assert_eq!(list.methods, std::slice::from_ref(&hook));
    // The same address can be added again once its method is gone.
    add(
        &mut viewer,
        MINE,
        json!({ "kind": "email", "address": "rosa.pager@example.com" }),
    )
    .await;

    let entries = audit(&app, "contact_method.").await.entries;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "contact_method.create",
            "contact_method.delete",
            "contact_method.create",
            "contact_method.create"
        ],
        "newest first"
    );
    assert!(entries.iter().all(|e| e.actor.starts_with("viewer-")));
    assert_eq!(
        entries[1].target_id.as_deref(),
        Some(&*email.id.to_string())
    );
    assert!(
        !entries
            .iter()
            .any(|e| e.details.to_string().contains("t0k")),
        "a webhook URL may hold a secret: it stays out of the audit log"
    );

    assert_eq!(
        app.anonymous().get(MINE).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_user_has_at_most_twenty_contact_methods() {
    let app = TestApp::spawn().await;
    let mut viewer = app.login_as(Role::Viewer).await;
    for n in 0..20 {
        add(
            &mut viewer,
            MINE,
            json!({ "kind": "email", "address": format!("me+{n}@example.com") }),
        )
        .await;
    }
    let refused = viewer
        .post(
            MINE,
            &json!({ "kind": "email", "address": "me+20@example.com" }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.error().error.message.contains("at most 20"));
}

#[tokio::test]
async fn nobody_touches_another_users_methods_and_only_admins_use_the_admin_routes() {
    let app = TestApp::spawn().await;
    let (rosa, mut rosa_client) = person(&app, "rosa@example.com").await;
    let hook = receiver(vec![]).await;
    let method = add(
        &mut rosa_client,
        MINE,
        json!({ "kind": "webhook", "address": hook.url }),
    )
    .await;

    let mut other = app.login_as(Role::Responder).await;
    let path = format!("{MINE}/{}", method.id);
    assert_eq!(other.delete(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.post_empty(&format!("{path}/test")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        other
            .get(MINE)
            .await
            .json::<ContactMethodList>()
            .methods
            .is_empty()
    );
    assert!(my_log(&mut other).await.is_empty());
    assert!(hook.received.lock().unwrap().is_empty(), "no test was sent");

    let admin_routes = [
        (Method::GET, format!("/api/v1/users/{rosa}/contact-methods")),
        (
            Method::POST,
            format!("/api/v1/users/{rosa}/contact-methods"),
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{rosa}/contact-methods/{}", method.id),
        ),
        (
            Method::GET,
            format!("/api/v1/users/{rosa}/contact-methods/deliveries"),
        ),
    ];
    let body = serde_json::to_vec(&json!({ "kind": "email", "address": "x@example.com" })).unwrap();
    for role in [Role::Viewer, Role::Responder, Role::Editor] {
        let mut client = app.login_as(role).await;
        for (verb, route) in &admin_routes {
            let response = client
                .request(verb.clone(), route, Some(body.clone()))
                .await;
            assert_eq!(
                response.status,
                StatusCode::FORBIDDEN,
                "{role} {verb} {route}"
            );
        }
    }
    let still: ContactMethodList = rosa_client.get(MINE).await.json();
    assert_eq!(still.methods, [method]);
}

#[tokio::test]
async fn an_admin_manages_someone_elses_contact_methods() {
    let app = TestApp::spawn().await;
    let (rosa, mut rosa_client) = person(&app, "rosa@example.com").await;
    let mut admin = app.login_as(Role::Admin).await;
    let theirs = format!("/api/v1/users/{rosa}/contact-methods");
    let method = add(
        &mut admin,
        &theirs,
        json!({ "kind": "email", "address": "rosa@home.example", "label": "home" }),
    )
    .await;
    assert_eq!(method.user_id, rosa);
    let seen_by_rosa: ContactMethodList = rosa_client.get(MINE).await.json();
    assert_eq!(seen_by_rosa.methods, std::slice::from_ref(&method));
    let listed: ContactMethodList = admin.get(&theirs).await.json();
    assert_eq!(listed.methods, std::slice::from_ref(&method));
    let bad = admin
        .post(
            &theirs,
            &json!({ "kind": "webhook", "address": "not a url" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.error().error.fields.contains_key("address"));

    assert_eq!(
        admin
            .get("/api/v1/users/999999/contact-methods")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let nobody = admin
        .post(
            "/api/v1/users/999999/contact-methods",
            &json!({ "kind": "email", "address": "a@example.com" }),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    let admin_id = admin.get("/api/v1/auth/me").await.json::<Value>()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        admin
            .delete(&format!(
                "/api/v1/users/{admin_id}/contact-methods/{}",
                method.id
            ))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "the method is rosa's, not the admin's"
    );
    assert_eq!(
        admin
            .delete(&format!("{theirs}/{}", method.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(
        rosa_client
            .get(MINE)
            .await
            .json::<ContactMethodList>()
            .methods
            .is_empty()
    );
    let entries = audit(&app, "contact_method.").await.entries;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.actor.starts_with("admin-")));
    assert!(entries.iter().all(|e| e.details["user_id"] == rosa));
}

#[tokio::test]
async fn a_level_paging_a_user_posts_the_incident_to_their_webhook_once_and_says_how() {
    let app = TestApp::spawn().await;
    let (rosa, mut rosa_client) = person(&app, "rosa@example.com").await;
    let hook = receiver(vec![503]).await;
    let method = add(
        &mut rosa_client,
        MINE,
        json!({ "kind": "webhook", "address": hook.url, "label": "phone bridge" }),
    )
    .await;
    let mut admin = app.login_as(Role::Admin).await;
    let team: Value = admin
        .post(
            "/api/v1/teams",
            &json!({ "name": "payments", "member_ids": [rosa] }),
        )
        .await
        .json();
    // Rosa is reached twice, directly and through her team: she is paged once.
    let incident = incident_paging(
        &app,
        "Payments are failing",
        json!([{ "delay_minutes": 0, "targets": [
            { "kind": "user", "id": rosa }, { "kind": "team", "id": team["id"] }
        ] }]),
    )
    .await;
    let now = Utc::now();
    assert_eq!(escalation::process_due(&app.db, now).await.unwrap(), 1);
    assert_eq!(deliveries_to(&app, method.id).await, 1);
    assert_eq!(
        last_timeline_entry(&app, incident).await,
        "Level 1 notified: rosa@example.com (in-app, webhook)."
    );
    assert!(hook.received.lock().unwrap().is_empty(), "queued, not sent");

    // The receiver answers 503 first: retried with back-off, as channel deliveries are.
    assert_eq!(deliver_due(&app, now).await, 1);
    let log = my_log(&mut rosa_client).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].delivery.status, DeliveryStatus::Pending);
    assert!(
        log[0]
            .delivery
            .last_error
            .as_deref()
            .unwrap()
            .contains("503")
    );
    assert_eq!(deliver_due(&app, now + TimeDelta::seconds(11)).await, 1);
    let log = my_log(&mut rosa_client).await;
    assert_eq!(log[0].delivery.status, DeliveryStatus::Sent);
    assert_eq!(log[0].delivery.attempts, 2);
    assert_eq!(log[0].delivery.reason, "alert");
    assert_eq!(
        log[0].delivery.title,
        format!("[FIRING:1] Payments are failing ({incident})")
    );
    assert_eq!(log[0].contact_method_id, method.id);
    assert_eq!(log[0].label, "phone bridge");

    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let payload: Value = serde_json::from_str(&received[1].1).unwrap();
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["status"], "firing");
    assert_eq!(payload["receiver"], "rosa@example.com");
    assert_eq!(payload["groupLabels"]["incident"], incident.to_string());
    let alert = &payload["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "Payments are failing");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(
        alert["annotations"]["summary"],
        format!("Incident #{incident}: Payments are failing")
    );
    let notified: i64 =
        sqlx::query_scalar("SELECT count(*) FROM user_notifications WHERE user_id = $1")
            .bind(rosa)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(notified, 1, "and once in the app");
}

#[tokio::test]
async fn team_and_schedule_targets_reach_their_members_contact_methods() {
    let app = TestApp::spawn().await;
    let hook = receiver(vec![]).await;
    let mut people = Vec::new();
    for name in ["ana", "ben", "cleo"] {
        let (id, mut client) = person(&app, &format!("{name}@example.com")).await;
        let url = hook.url.replace("s3cret-token", name);
        add(
            &mut client,
            MINE,
            json!({ "kind": "webhook", "address": url }),
        )
        .await;
        people.push(id);
    }
    let mut admin = app.login_as(Role::Admin).await;
    let team: Value = admin
        .post(
            "/api/v1/teams",
            &json!({ "name": "checkout", "member_ids": [people[0], people[1]] }),
        )
        .await
        .json();
    let mut editor = app.login_as(Role::Editor).await;
    let schedule = editor
        .post(
            "/api/v1/schedules",
            &json!({
                "name": "cleo's week", "timezone": "UTC", "rotation": "weekly",
                "start_date": (Utc::now() - TimeDelta::days(3)).date_naive(),
                "participants": [people[2]],
            }),
        )
        .await;
    assert_eq!(schedule.status, StatusCode::CREATED, "{}", schedule.text());
    let schedule: Value = schedule.json();
    let incident = incident_paging(
        &app,
        "Checkout is down",
        json!([
            { "delay_minutes": 0, "targets": [{ "kind": "team", "id": team["id"] }] },
            { "delay_minutes": 5, "targets": [{ "kind": "schedule", "id": schedule["id"] }] },
        ]),
    )
    .await;
    let now = Utc::now();
    escalation::process_due(&app.db, now).await.unwrap();
    assert_eq!(
        last_timeline_entry(&app, incident).await,
        "Level 1 notified: ana@example.com (in-app, webhook), ben@example.com (in-app, webhook)."
    );
    let later = now + TimeDelta::minutes(5);
    escalation::process_due(&app.db, later).await.unwrap();
    assert_eq!(
        last_timeline_entry(&app, incident).await,
        "Level 2 notified: cleo@example.com (in-app, webhook)."
    );
    assert_eq!(deliver_due(&app, later).await, 3);
    let mut receivers: Vec<String> = hook
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| serde_json::from_str::<Value>(body).unwrap()["receiver"].to_string())
        .collect();
    receivers.sort();
    assert_eq!(
        receivers,
        [
            "\"ana@example.com\"",
            "\"ben@example.com\"",
            "\"cleo@example.com\""
        ]
    );
}

#[tokio::test]
async fn an_email_method_gets_the_page_through_the_configured_smtp_server() {
    let (port, mail) = smtp_server().await;
    let server = send::SmtpServer::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
    let relay = send::SmtpRelay::new(server, "Vigil <vigil@example.com>").unwrap();
    let app = TestApp::spawn_with(AppConfig {
        smtp: Some(relay),
        ..AppConfig::default()
    })
    .await;
    let (rosa, mut rosa_client) = person(&app, "rosa@example.com").await;
    add(
        &mut rosa_client,
        MINE,
        json!({ "kind": "email", "address": "rosa.pager@example.com" }),
    )
    .await;
    let incident = incident_paging(
        &app,
        "Disk full",
        json!([{ "delay_minutes": 0, "targets": [{ "kind": "user", "id": rosa }] }]),
    )
    .await;
    let now = Utc::now();
    escalation::process_due(&app.db, now).await.unwrap();
    assert_eq!(
        last_timeline_entry(&app, incident).await,
        "Level 1 notified: rosa@example.com (in-app, email)."
    );
    assert_eq!(deliver_due(&app, now).await, 1);
    let mail = tokio::time::timeout(std::time::Duration::from_secs(5), mail)
        .await
        .unwrap()
        .unwrap();
    assert!(mail.contains("To: rosa.pager@example.com"), "{mail}");
    assert!(mail.contains("From: Vigil <vigil@example.com>"), "{mail}");
    assert!(
        mail.contains(&format!("Subject: [FIRING:1] Disk full ({incident})")),
        "{mail}"
    );
    assert!(mail.contains(&format!("Incident #{incident}: Disk full")));
    let log = my_log(&mut rosa_client).await;
    assert_eq!(log[0].delivery.status, DeliveryStatus::Sent, "{log:?}");
}

#[tokio::test]
async fn without_an_smtp_server_an_email_method_fails_once_with_a_clear_error() {
    let app = TestApp::spawn().await;
    let (rosa, mut rosa_client) = person(&app, "rosa@example.com").await;
    let method = add(
        &mut rosa_client,
        MINE,
        json!({ "kind": "email", "address": "rosa.pager@example.com" }),
    )
    .await;
    incident_paging(
        &app,
        "Disk full",
        json!([{ "delay_minutes": 0, "targets": [{ "kind": "user", "id": rosa }] }]),
    )
    .await;
    let now = Utc::now();
    escalation::process_due(&app.db, now).await.unwrap();
    assert_eq!(deliver_due(&app, now).await, 1);
    let log = my_log(&mut rosa_client).await;
    assert_eq!(log[0].delivery.status, DeliveryStatus::Failed);
    assert_eq!(log[0].delivery.attempts, 1);
    assert_eq!(
        log[0].delivery.last_error.as_deref(),
        Some("no SMTP server configured (--smtp-url)")
    );
    assert_eq!(
        deliver_due(&app, now + TimeDelta::hours(1)).await,
        0,
        "not retried"
    );

    let test = rosa_client
        .post_empty(&format!("{MINE}/{}/test", method.id))
        .await;
    assert_eq!(test.status, StatusCode::OK, "{}", test.text());
    let test: ContactDelivery = test.json();
    assert_eq!(test.delivery.status, DeliveryStatus::Failed);
    assert_eq!(
        test.delivery.last_error.as_deref(),
        Some("no SMTP server configured (--smtp-url)")
    );
}

#[tokio::test]
async fn the_test_endpoint_sends_at_once_and_answers_how_it_went() {
    let app = TestApp::spawn().await;
    let mut viewer = app.login_as(Role::Viewer).await;
    let works = receiver(vec![]).await;
    let refuses = receiver(vec![404]).await;
    let good = add(
        &mut viewer,
        MINE,
        json!({ "kind": "webhook", "address": works.url, "label": "bridge" }),
    )
    .await;
    let bad = add(
        &mut viewer,
        MINE,
        json!({ "kind": "webhook", "address": refuses.url }),
    )
    .await;

    let sent: ContactDelivery = viewer
        .post_empty(&format!("{MINE}/{}/test", good.id))
        .await
        .json();
    assert_eq!(sent.delivery.status, DeliveryStatus::Sent, "{sent:?}");
    assert_eq!(sent.delivery.reason, "test");
    assert_eq!(sent.contact_method_id, good.id);
    let received = works.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "sent during the request");
    let payload: Value = serde_json::from_str(&received[0].1).unwrap();
    assert_eq!(
        payload["alerts"][0]["labels"]["alertname"],
        "VigilTestNotification"
    );
    assert_eq!(payload["receiver"], "bridge");

    let failed: ContactDelivery = viewer
        .post_empty(&format!("{MINE}/{}/test", bad.id))
        .await
        .json();
    assert_eq!(failed.delivery.status, DeliveryStatus::Failed);
    assert!(
        failed
            .delivery
            .last_error
            .as_deref()
            .unwrap()
            .contains("404"),
        "{failed:?}"
    );
    assert_eq!(my_log(&mut viewer).await.len(), 2);
    let tests = audit(&app, "contact_method.test").await.entries;
    assert_eq!(tests.len(), 2);
}

#[tokio::test]
async fn a_deleted_method_keeps_its_deliveries_readable_and_gets_no_more() {
    let app = TestApp::spawn().await;
    let (rosa, mut rosa_client) = person(&app, "rosa@example.com").await;
    let hook = receiver(vec![]).await;
    let method = add(
        &mut rosa_client,
        MINE,
        json!({ "kind": "webhook", "address": hook.url, "label": "bridge" }),
    )
    .await;
    let test = rosa_client
        .post_empty(&format!("{MINE}/{}/test", method.id))
        .await;
    assert_eq!(test.status, StatusCode::OK);
    let incident = incident_paging(
        &app,
        "Search is slow",
        json!([
            { "delay_minutes": 0, "targets": [{ "kind": "user", "id": rosa }] },
            { "delay_minutes": 5, "targets": [{ "kind": "user", "id": rosa }] },
        ]),
    )
    .await;
    let now = Utc::now();
    escalation::process_due(&app.db, now).await.unwrap();
    // Deleted while its page waits in the queue: the page is not sent.
    let deleted = rosa_client.delete(&format!("{MINE}/{}", method.id)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deliver_due(&app, now).await, 1);
    assert_eq!(hook.received.lock().unwrap().len(), 1, "only the test");

    let log = my_log(&mut rosa_client).await;
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|d| d.method_deleted && d.address == hook.url)
    );
    assert_eq!(log[0].delivery.status, DeliveryStatus::Failed);
    assert_eq!(
        log[0].delivery.last_error.as_deref(),
        Some("the contact method was deleted")
    );
    assert_eq!(log[1].delivery.status, DeliveryStatus::Sent);
    assert_eq!(log[1].delivery.reason, "test");
    let mut admin = app.login_as(Role::Admin).await;
    let seen_by_admin: ContactDeliveryLog = admin
        .get(&format!("/api/v1/users/{rosa}/contact-methods/deliveries"))
        .await
        .json();
    assert_eq!(seen_by_admin.deliveries, log);

    escalation::process_due(&app.db, now + TimeDelta::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        last_timeline_entry(&app, incident).await,
        "Level 2 notified: rosa@example.com."
    );
    assert_eq!(deliveries_to(&app, method.id).await, 2, "nothing new");
}
