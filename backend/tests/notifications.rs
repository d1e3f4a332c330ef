//! Notification channels end to end: a local webhook receiver and a local SMTP server get
//! what firing and resolved alerts send, failures are retried with back-off, secrets stay in.

mod common;

use axum::http::StatusCode;
use chrono::{TimeDelta, Utc};
use common::TestApp;
use common::receivers::{receiver, smtp_server};
use serde_json::{Value, json};
use vigil::alerting::alerts::Evaluator;
use vigil::notify::{self, routing, send};
use vigil_shared::Role;
use vigil_shared::alerting::AlertRule;
use vigil_shared::notify::{Channel, Delivery, DeliveryLog, DeliveryStatus};

async fn create_rule(app: &TestApp, channel: i64) -> AlertRule {
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            "/api/v1/alert-rules",
            &json!({
                "name": "QueueTooDeep",
                "query": "vector(5)",
                "comparison": ">",
                "critical_threshold": 1,
                "annotations": { "summary": "depth is {{ $value }}", "runbook_url": "https://wiki.example/queue" },
                "notification_channel_ids": [channel],
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()
}

#[tokio::test]
async fn a_firing_alert_reaches_the_webhook_after_a_retry_signed_and_in_alertmanager_shape() {
    let app = TestApp::spawn().await;
    let hook = receiver(vec![500]).await;
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            "/api/v1/notification-channels",
            &json!({ "name": "ops hook", "kind": "webhook", "url": hook.url, "hmac_secret": "sign-me" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let channel: Channel = created.json();
    assert!(channel.url_set && channel.hmac_secret_set);
    assert!(
        !created.text().contains("s3cret-token"),
        "the URL is a secret"
    );
    assert!(!created.text().contains("sign-me"));
    assert_eq!(
        channel.target,
        format!("{}…", &hook.url[..hook.url.find("/hook").unwrap() + 1])
    );

    let rule = create_rule(&app, channel.id).await;
    assert_eq!(rule.rule.notification_channel_ids, [channel.id]);
    let fired = Utc::now();
    Evaluator::new(&app.state)
        .evaluate_due(fired)
        .await
        .unwrap();
    assert_eq!(
        routing::run(&app.db, fired).await.unwrap(),
        0,
        "the group waits before its first message"
    );
    // The default policy's group_wait (30 s) later, the group sends its first message.
    let now = fired + TimeDelta::seconds(30);
    assert_eq!(routing::run(&app.db, now).await.unwrap(), 1);

    let client = send::Outbox::new(None, common::loopback_allowed());
    assert_eq!(notify::deliver_due(&app.db, &client, now).await.unwrap(), 1);
    let log: DeliveryLog = editor
        .get(&format!(
            "/api/v1/notification-channels/{}/deliveries",
            channel.id
        ))
        .await
        .json();
    let first = &log.deliveries[0];
    assert_eq!(first.status, DeliveryStatus::Pending, "a 500 is retried");
    assert_eq!(first.attempts, 1);
    assert!(first.last_error.as_deref().unwrap().contains("500"));
    assert!(
        !first
            .last_error
            .as_deref()
            .unwrap()
            .contains("s3cret-token")
    );
    assert_eq!(
        notify::deliver_due(&app.db, &client, now).await.unwrap(),
        0,
        "not due yet"
    );
    let later = now + TimeDelta::seconds(11);
    assert_eq!(
        notify::deliver_due(&app.db, &client, later).await.unwrap(),
        1
    );
    let log: DeliveryLog = editor
        .get(&format!(
            "/api/v1/notification-channels/{}/deliveries",
            channel.id
        ))
        .await
        .json();
    assert_eq!(log.deliveries[0].status, DeliveryStatus::Sent);
    assert_eq!(log.deliveries[0].attempts, 2);
    assert_eq!(log.deliveries[0].title, "[FIRING:1] QueueTooDeep");

    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let (headers, body) = &received[1];
    assert_eq!(
        headers["x-vigil-signature"].to_str().unwrap(),
        send::signature("sign-me", body.as_bytes())
    );
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["status"], "firing");
    assert_eq!(payload["receiver"], "ops hook");
    assert_eq!(payload["groupLabels"]["alertname"], "QueueTooDeep");
    assert_eq!(payload["commonLabels"]["severity"], "critical");
    let alert = &payload["alerts"][0];
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["annotations"]["summary"], "depth is 5");
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(alert["fingerprint"].as_str().unwrap().len(), 16);
}

#[tokio::test]
async fn refusals_are_not_retried_and_resolved_alerts_are_sent_too() {
    let app = TestApp::spawn().await;
    let hook = receiver(vec![400]).await;
    let mut editor = app.login_as(Role::Editor).await;
    let channel: Channel = editor
        .post(
            "/api/v1/notification-channels",
            &json!({ "name": "chat", "kind": "slack", "url": hook.url }),
        )
        .await
        .json();
    create_rule(&app, channel.id).await;
    let fired = Utc::now();
    let evaluator = Evaluator::new(&app.state);
    evaluator.evaluate_due(fired).await.unwrap();
    let now = fired + TimeDelta::seconds(30);
    routing::run(&app.db, now).await.unwrap();
    let client = send::Outbox::new(None, common::loopback_allowed());
    notify::deliver_due(&app.db, &client, now).await.unwrap();
    let log: DeliveryLog = editor
        .get(&format!(
            "/api/v1/notification-channels/{}/deliveries",
            channel.id
        ))
        .await
        .json();
    assert_eq!(
        log.deliveries[0].status,
        DeliveryStatus::Failed,
        "a 400 is final"
    );

    // The condition stops holding: the resolution is sent.
    sqlx::query(
        "UPDATE alert_rules SET query = 'vector(0)', next_eval_at = now() - interval '1 minute'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let later = now + TimeDelta::minutes(2);
    evaluator.evaluate_due(later).await.unwrap();
    assert_eq!(
        routing::run(&app.db, later).await.unwrap(),
        0,
        "the group is next looked at group_interval (5 min) after its last flush"
    );
    let next = now + TimeDelta::minutes(5);
    assert_eq!(routing::run(&app.db, next).await.unwrap(), 1);
    notify::deliver_due(&app.db, &client, next).await.unwrap();
    let received = hook.received.lock().unwrap().clone();
    let slack: Value = serde_json::from_str(&received.last().unwrap().1).unwrap();
    assert_eq!(slack["text"], "[RESOLVED] QueueTooDeep");
    assert!(
        slack["attachments"][0]["text"]
            .as_str()
            .unwrap()
            .contains("runbook")
    );
}

#[tokio::test]
async fn channels_are_for_editors_and_validated_per_field() {
    let app = TestApp::spawn().await;
    for role in [Role::Viewer, Role::Responder] {
        let mut client = app.login_as(role).await;
        assert_eq!(
            client.get("/api/v1/notification-channels").await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        app.anonymous()
            .get("/api/v1/notification-channels")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let mut editor = app.login_as(Role::Editor).await;
    let bad = editor
        .post(
            "/api/v1/notification-channels",
            &json!({ "name": "mail", "kind": "email", "to": ["not an address"], "from": "" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = bad.error().error.fields;
    for field in ["to", "from", "smtp_host"] {
        assert!(fields.contains_key(field), "{field}: {fields:?}");
    }
    let hook = receiver(vec![]).await;
    let channel: Channel = editor
        .post(
            "/api/v1/notification-channels",
            &json!({ "name": "hook", "kind": "webhook", "url": hook.url }),
        )
        .await
        .json();
    // Saving again without the URL keeps it.
    let updated = editor
        .request(
            axum::http::Method::PUT,
            &format!("/api/v1/notification-channels/{}", channel.id),
            Some(
                serde_json::to_vec(
                    &json!({ "name": "hook", "kind": "webhook", "send_resolved": false }),
                )
                .unwrap(),
            ),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    let test: Delivery = editor
        .post_empty(&format!(
            "/api/v1/notification-channels/{}/test",
            channel.id
        ))
        .await
        .json();
    assert_eq!(test.status, DeliveryStatus::Sent, "{test:?}");
    assert_eq!(hook.received.lock().unwrap().len(), 1);
    let duplicate = editor
        .post(
            "/api/v1/notification-channels",
            &json!({ "name": "HOOK", "kind": "webhook", "url": hook.url }),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    let missing = editor
        .post(
            "/api/v1/alert-rules",
            &json!({ "name": "x", "query": "up", "comparison": ">", "warning_threshold": 1,
                     "notification_channel_ids": [999999] }),
        )
        .await;
    assert!(
        missing
            .error()
            .error
            .fields
            .contains_key("notification_channel_ids")
    );
}

#[tokio::test]
async fn email_goes_out_through_smtp_with_text_and_html() {
    let app = TestApp::spawn().await;
    let (port, received) = smtp_server().await;
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            "/api/v1/notification-channels",
            &json!({
                "name": "on-call mail", "kind": "email",
                "to": ["oncall@example.com"], "from": "vigil@example.com",
                "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none",
                "smtp_password": "hunter2"
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert!(!created.text().contains("hunter2"));
    let channel: Channel = created.json();
    assert!(channel.smtp_password_set);
    let test: Delivery = editor
        .post_empty(&format!(
            "/api/v1/notification-channels/{}/test",
            channel.id
        ))
        .await
        .json();
    assert_eq!(test.status, DeliveryStatus::Sent, "{test:?}");
    let mail = tokio::time::timeout(std::time::Duration::from_secs(5), received)
        .await
        .unwrap()
        .unwrap();
    assert!(
        mail.contains("Subject: [FIRING:1] VigilTestNotification"),
        "{mail}"
    );
    assert!(mail.contains("To: oncall@example.com"));
    assert!(mail.contains("multipart/alternative"));
    assert!(mail.contains("text/html"));
}
