//! The Alertmanager API v2 with payloads as Prometheus and amtool send them, and silences.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{TimeDelta, Utc};
use common::{TestApp, TestResponse};
use serde_json::{Value, json};
use vigil::alerting::alertmanager;
use vigil_shared::Role;
use vigil_shared::admin::CreatedApiKey;
use vigil_shared::alerting::{AlertHistory, AlertList, AlertState, Severity, Silence, SilenceList};

async fn key(app: &TestApp, scopes: &[&str]) -> String {
    let mut admin = app.login_as(Role::Admin).await;
    let created: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "prometheus", "scopes": scopes }),
        )
        .await
        .json();
    created.secret
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> TestResponse {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    let body = match body {
        Some(value) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(value.to_string())
        }
        None => Body::empty(),
    };
    app.send(request.body(body).unwrap()).await
}

/// An alert exactly as Prometheus 2.42 posts it (it sends endsAt = now + 4 × resend delay).
fn prometheus_alert(ends_in: TimeDelta) -> Value {
    let now = Utc::now();
    json!([{
        "labels": {
            "alertname": "InstanceDown",
            "instance": "web-1:9100",
            "job": "node",
            "severity": "critical"
        },
        "annotations": { "summary": "web-1:9100 is down" },
        "startsAt": (now - TimeDelta::minutes(3)).to_rfc3339(),
        "endsAt": (now + ends_in).to_rfc3339(),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    }])
}

#[tokio::test]
async fn alerts_posted_as_prometheus_does_join_the_alert_list_and_resolve() {
    let app = TestApp::spawn().await;
    let ingest = key(&app, &["ingest"]).await;
    let read = key(&app, &["read"]).await;
    let posted = call(
        &app,
        "POST",
        "/alertmanager/api/v2/alerts",
        &ingest,
        Some(prometheus_alert(TimeDelta::minutes(4))),
    )
    .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.text());
    // Prometheus re-sends every minute: still one alert.
    call(
        &app,
        "POST",
        "/alertmanager/api/v2/alerts",
        &ingest,
        Some(prometheus_alert(TimeDelta::minutes(4))),
    )
    .await;

    let listed = call(&app, "GET", "/alertmanager/api/v2/alerts", &read, None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let listed: Vec<Value> = listed.json();
    assert_eq!(listed.len(), 1);
    let alert = &listed[0];
    assert_eq!(alert["labels"]["alertname"], "InstanceDown");
    assert_eq!(alert["status"]["state"], "active");
    assert_eq!(alert["receivers"][0]["name"], "vigil");
    assert_eq!(alert["fingerprint"].as_str().unwrap().len(), 16);
    assert!(
        alert["generatorURL"]
            .as_str()
            .unwrap()
            .starts_with("http://prometheus:9090/")
    );

    let mut viewer = app.login_as(Role::Viewer).await;
    let ours: AlertList = viewer.get("/api/v1/alerts").await.json();
    assert_eq!(ours.alerts.len(), 1);
    assert_eq!(ours.alerts[0].rule_id, None);
    assert_eq!(ours.alerts[0].severity, Severity::Critical);
    assert_eq!(ours.alerts[0].state, AlertState::Firing);
    assert_eq!(ours.alerts[0].annotations["summary"], "web-1:9100 is down");

    // Prometheus resolves by sending endsAt in the past.
    let resolved = call(
        &app,
        "POST",
        "/alertmanager/api/v2/alerts",
        &ingest,
        Some(prometheus_alert(TimeDelta::seconds(-1))),
    )
    .await;
    assert_eq!(resolved.status, StatusCode::OK);
    let listed: Vec<Value> = call(&app, "GET", "/alertmanager/api/v2/alerts", &read, None)
        .await
        .json();
    assert!(listed.is_empty());
    let history: AlertHistory = viewer
        .get(&format!("/api/v1/alerts/{}/history", ours.alerts[0].id))
        .await
        .json();
    let steps: Vec<_> = history
        .history
        .iter()
        .map(|h| (h.from_state, h.to_state))
        .collect();
    assert_eq!(
        steps,
        [
            (AlertState::Inactive, AlertState::Firing),
            (AlertState::Firing, AlertState::Resolved)
        ]
    );
}

#[tokio::test]
async fn an_alert_not_sent_again_resolves_after_the_resolve_timeout() {
    let app = TestApp::spawn().await;
    let ingest = key(&app, &["ingest"]).await;
    let mut alert = prometheus_alert(TimeDelta::zero());
    alert[0].as_object_mut().unwrap().remove("endsAt");
    call(
        &app,
        "POST",
        "/alertmanager/api/v2/alerts",
        &ingest,
        Some(alert),
    )
    .await;
    let now = Utc::now();
    assert_eq!(
        alertmanager::resolve_expired(&app.db, now + TimeDelta::minutes(4))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        alertmanager::resolve_expired(
            &app.db,
            now + alertmanager::RESOLVE_TIMEOUT + TimeDelta::seconds(1)
        )
        .await
        .unwrap(),
        1
    );
    let mut viewer = app.login_as(Role::Viewer).await;
    let live: AlertList = viewer.get("/api/v1/alerts").await.json();
    assert!(live.alerts.is_empty());
}

#[tokio::test]
async fn silences_suppress_matching_alerts_until_expired() {
    let app = TestApp::spawn().await;
    let ingest = key(&app, &["ingest"]).await;
    let read = key(&app, &["read"]).await;
    call(
        &app,
        "POST",
        "/alertmanager/api/v2/alerts",
        &ingest,
        Some(prometheus_alert(TimeDelta::minutes(4))),
    )
    .await;

    // As amtool posts a silence.
    let now = Utc::now();
    let silence = json!({
        "matchers": [
            { "name": "alertname", "value": "InstanceDown", "isRegex": false, "isEqual": true },
            { "name": "instance", "value": "web-.*", "isRegex": true }
        ],
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + TimeDelta::hours(2)).to_rfc3339(),
        "createdBy": "rosa",
        "comment": "maintenance of web-1"
    });
    let viewer = app.login_as(Role::Viewer).await;
    let refused = app
        .send(
            Request::post("/alertmanager/api/v2/silences")
                .header(header::COOKIE, viewer.cookie_header().unwrap())
                .header(header::CONTENT_TYPE, "application/json")
                .header("sec-fetch-site", "same-origin")
                .body(Body::from(silence.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let mut responder = app.login_as(Role::Responder).await;
    let created = responder
        .post("/alertmanager/api/v2/silences", &silence)
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    let id = created.json::<Value>()["silenceID"]
        .as_str()
        .unwrap()
        .to_owned();

    let listed: Vec<Value> = call(&app, "GET", "/alertmanager/api/v2/alerts", &read, None)
        .await
        .json();
    assert_eq!(listed[0]["status"]["state"], "suppressed");
    assert_eq!(listed[0]["status"]["silencedBy"][0], id.as_str());
    let unsilenced: Vec<Value> = call(
        &app,
        "GET",
        "/alertmanager/api/v2/alerts?silenced=false",
        &read,
        None,
    )
    .await
    .json();
    assert!(unsilenced.is_empty());
    let filtered: Vec<Value> = call(
        &app,
        "GET",
        "/alertmanager/api/v2/alerts?filter=job%3D%22other%22",
        &read,
        None,
    )
    .await
    .json();
    assert!(filtered.is_empty());
    let silences: Vec<Value> = call(&app, "GET", "/alertmanager/api/v2/silences", &read, None)
        .await
        .json();
    assert_eq!(silences[0]["status"]["state"], "active");
    assert_eq!(silences[0]["matchers"][1]["isRegex"], true);
    let ours: AlertList = responder.get("/api/v1/alerts").await.json();
    assert_eq!(ours.alerts[0].silenced_by, vec![id.clone()]);

    let expired = responder
        .delete(&format!("/alertmanager/api/v2/silence/{id}"))
        .await;
    assert_eq!(expired.status, StatusCode::OK);
    let got: Value = call(
        &app,
        "GET",
        &format!("/alertmanager/api/v2/silence/{id}"),
        &read,
        None,
    )
    .await
    .json();
    assert_eq!(got["status"]["state"], "expired");
    let listed: Vec<Value> = call(&app, "GET", "/alertmanager/api/v2/alerts", &read, None)
        .await
        .json();
    assert_eq!(listed[0]["status"]["state"], "active");
}

#[tokio::test]
async fn vigil_silences_api_validates_and_enforces_roles() {
    let app = TestApp::spawn().await;
    let mut responder = app.login_as(Role::Responder).await;
    let ends_at = Utc::now() + TimeDelta::hours(1);
    let bad = responder
        .post(
            "/api/v1/silences",
            &json!({
                "matchers": [{ "name": "job", "value": ".*", "op": "=~" }],
                "ends_at": Utc::now() - TimeDelta::hours(1),
                "comment": ""
            }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = bad.error().error.fields;
    assert!(fields["matchers"].contains("empty string"));
    assert!(fields.contains_key("ends_at"));
    assert!(fields.contains_key("comment"));

    let created = responder
        .post(
            "/api/v1/silences",
            &json!({
                "matchers": [{ "name": "job", "value": "payments", "op": "=" }],
                "ends_at": ends_at,
                "comment": "deploying"
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let silence: Silence = created.json();
    assert!(silence.created_by.starts_with("responder-"));

    let mut viewer = app.login_as(Role::Viewer).await;
    let active: SilenceList = viewer.get("/api/v1/silences?state=active").await.json();
    assert_eq!(active.silences.len(), 1);
    assert_eq!(
        viewer
            .delete(&format!("/api/v1/silences/{}", silence.id))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let expired = responder
        .delete(&format!("/api/v1/silences/{}", silence.id))
        .await;
    assert_eq!(expired.status, StatusCode::OK);
    let active: SilenceList = viewer.get("/api/v1/silences?state=active").await.json();
    assert!(active.silences.is_empty());
    assert_eq!(
        viewer.get("/api/v1/silences/not-a-uuid").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_alerts_and_callers_are_refused() {
    let app = TestApp::spawn().await;
    let ingest = key(&app, &["ingest"]).await;
    let read = key(&app, &["read"]).await;
    let empty = call(
        &app,
        "POST",
        "/alertmanager/api/v2/alerts",
        &ingest,
        Some(json!([{ "labels": {} }])),
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.error().error.fields.contains_key("[0].labels"));
    let wrong_key = call(
        &app,
        "POST",
        "/alertmanager/api/v2/alerts",
        &read,
        Some(prometheus_alert(TimeDelta::minutes(4))),
    )
    .await;
    assert_eq!(wrong_key.status, StatusCode::FORBIDDEN);
    let anonymous = app.anonymous().get("/alertmanager/api/v2/alerts").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let not_json = call(
        &app,
        "POST",
        "/alertmanager/api/v2/alerts",
        &ingest,
        Some(json!({ "labels": 1 })),
    )
    .await;
    assert!(not_json.status.is_client_error());
    let bad_filter = call(
        &app,
        "GET",
        "/alertmanager/api/v2/alerts?filter=nonsense",
        &read,
        None,
    )
    .await;
    assert_eq!(bad_filter.status, StatusCode::UNPROCESSABLE_ENTITY);
    let status: Value = call(&app, "GET", "/alertmanager/api/v2/status", &read, None)
        .await
        .json();
    assert_eq!(status["cluster"]["status"], "ready");
}

#[tokio::test]
async fn a_firing_source_alert_inhibits_matching_targets() {
    let app = TestApp::spawn().await;
    let ingest = key(&app, &["ingest"]).await;
    let read = key(&app, &["read"]).await;
    let rule = json!({
        "name": "cluster down silences its services",
        "source_matchers": [{ "name": "alertname", "value": "ClusterDown", "op": "=" }],
        "target_matchers": [{ "name": "severity", "value": "warning", "op": "=" }],
        "equal": ["cluster"]
    });
    let mut viewer = app.login_as(Role::Viewer).await;
    assert_eq!(
        viewer.post("/api/v1/inhibition-rules", &rule).await.status,
        StatusCode::FORBIDDEN
    );
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor.post("/api/v1/inhibition-rules", &rule).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let bad = editor
        .post(
            "/api/v1/inhibition-rules",
            &json!({ "name": "", "source_matchers": [], "target_matchers": [] }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.error().error.fields.contains_key("source_matchers"));

    let ends = (Utc::now() + TimeDelta::minutes(4)).to_rfc3339();
    let alerts = json!([
        { "labels": { "alertname": "ClusterDown", "cluster": "eu", "severity": "critical" }, "endsAt": ends },
        { "labels": { "alertname": "Slow", "cluster": "eu", "severity": "warning" }, "endsAt": ends },
        { "labels": { "alertname": "Slow", "cluster": "us", "severity": "warning" }, "endsAt": ends }
    ]);
    assert_eq!(
        call(
            &app,
            "POST",
            "/alertmanager/api/v2/alerts",
            &ingest,
            Some(alerts)
        )
        .await
        .status,
        StatusCode::OK
    );
    let listed: Vec<Value> = call(&app, "GET", "/alertmanager/api/v2/alerts", &read, None)
        .await
        .json();
    let by_cluster = |name: &str, cluster: &str| {
        listed
            .iter()
            .find(|a| a["labels"]["alertname"] == name && a["labels"]["cluster"] == cluster)
            .unwrap()
            .clone()
    };
    let source = by_cluster("ClusterDown", "eu");
    let inhibited = by_cluster("Slow", "eu");
    assert_eq!(inhibited["status"]["state"], "suppressed");
    assert_eq!(inhibited["status"]["inhibitedBy"][0], source["fingerprint"]);
    assert_eq!(by_cluster("Slow", "us")["status"]["state"], "active");
    assert_eq!(source["status"]["state"], "active");
    let shown: Vec<Value> = call(
        &app,
        "GET",
        "/alertmanager/api/v2/alerts?inhibited=false",
        &read,
        None,
    )
    .await
    .json();
    assert_eq!(shown.len(), 2);

    let ours: AlertList = viewer.get("/api/v1/alerts").await.json();
    let slow_eu = ours
        .alerts
        .iter()
        .find(|a| a.labels["alertname"] == "Slow" && a.labels["cluster"] == "eu")
        .unwrap();
    assert_eq!(slow_eu.inhibited_by.len(), 1);
}
