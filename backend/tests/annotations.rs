//! Annotations: manual ones (added by responders, deleted by their author or an editor),
//! incidents from opened to resolved and alert firing periods, merged for a range and filtered
//! by tags; per role, and bad input named by field.

mod common;

use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use common::{Client, TestApp};
use serde_json::{Value, json};
use vigil_shared::Role;
use vigil_shared::dashboard::Annotation;
use vigil_shared::incident::IncidentDetail;

async fn annotate(client: &mut Client<'_>, body: Value) -> Annotation {
    let created = client.post("/api/v1/annotations", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    form_urlencoded::byte_serialize(at.to_rfc3339().as_bytes()).collect()
}

/// The annotations overlapping `[from, to]`, with more of the query string after them.
async fn list(
    client: &mut Client<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    more: &str,
) -> Vec<Annotation> {
    let path = format!(
        "/api/v1/annotations?from={}&to={}{more}",
        rfc3339(from),
        to.timestamp()
    );
    let response = client.get(&path).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

fn ids(annotations: &[Annotation]) -> Vec<&str> {
    annotations.iter().map(|a| a.id.as_str()).collect()
}

fn close(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).num_milliseconds().abs() < 1_000
}

/// A new dashboard's id.
async fn dashboard(editor: &mut Client<'_>, model: Value) -> i64 {
    let created = editor
        .post("/api/v1/dashboards", &json!({ "model": model }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json::<Value>()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_dashboard_the_caller_cannot_see_is_refused_as_unknown() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let hidden = dashboard(
        &mut editor,
        json!({ "title": "Editors only", "viewable_by": { "roles": ["editor"] } }),
    )
    .await;
    annotate(
        &mut editor,
        json!({ "text": "Editors' note", "dashboard_id": hidden }),
    )
    .await;
    let seen: Vec<Annotation> = editor
        .get(&format!("/api/v1/annotations?dashboard_id={hidden}"))
        .await
        .json();
    assert_eq!(seen.len(), 1);

    let mut responder = app.login_as(Role::Responder).await;
    let response = responder
        .post(
            "/api/v1/annotations",
            &json!({ "text": "t", "dashboard_id": hidden }),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error().error.fields.contains_key("dashboard_id"));
    let response = responder
        .get(&format!("/api/v1/annotations?dashboard_id={hidden}"))
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error().error.fields.contains_key("dashboard_id"));
    // No such dashboard: the same answer.
    let response = editor
        .post(
            "/api/v1/annotations",
            &json!({ "text": "t", "dashboard_id": hidden + 1000 }),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_manual_annotation_round_trips_is_filtered_by_tags_and_deleted_by_its_author() {
    let app = TestApp::spawn().await;
    let mut responder = app.login_as(Role::Responder).await;
    let now = Utc::now();
    let deploy = annotate(
        &mut responder,
        json!({ "time": now - TimeDelta::minutes(10), "time_end": now - TimeDelta::minutes(5),
                "text": "Deployed checkout v2\nwith the new cache", "tags": ["deploy", "checkout"] }),
    )
    .await;
    assert!(deploy.id.starts_with("manual:"), "{}", deploy.id);
    assert_eq!(deploy.source, "manual");
    assert_eq!(deploy.title, "Deployed checkout v2");
    assert_eq!(deploy.text, "Deployed checkout v2\nwith the new cache");
    assert_eq!(deploy.tags, ["deploy", "checkout"]);
    assert!(close(deploy.time, now - TimeDelta::minutes(10)));
    assert!(close(deploy.time_end.unwrap(), now - TimeDelta::minutes(5)));
    // No time: now, an instant.
    let config = annotate(
        &mut responder,
        json!({ "text": "Raised the pool size", "tags": ["config"] }),
    )
    .await;
    assert_eq!(config.time_end, None);
    let mut editor = app.login_as(Role::Editor).await;
    let board = dashboard(&mut editor, json!({ "title": "Checkout" })).await;
    let elsewhere = annotate(
        &mut responder,
        json!({ "text": "Only on the Checkout dashboard", "dashboard_id": board }),
    )
    .await;

    let mut viewer = app.login_as(Role::Viewer).await;
    let (from, to) = (now - TimeDelta::hours(1), now + TimeDelta::minutes(1));
    let all = list(&mut viewer, from, to, "").await;
    assert_eq!(
        ids(&all),
        [&deploy.id, &config.id],
        "oldest first, global only"
    );
    assert_eq!(all[0], deploy);
    let on_board = list(&mut viewer, from, to, &format!("&dashboard_id={board}")).await;
    assert_eq!(ids(&on_board), [&deploy.id, &config.id, &elsewhere.id]);
    let tagged = list(&mut viewer, from, to, "&tags=deploy").await;
    assert_eq!(ids(&tagged), [&deploy.id]);
    let both = list(&mut viewer, from, to, "&tags=checkout,deploy").await;
    assert_eq!(ids(&both), [&deploy.id]);
    assert!(
        list(&mut viewer, from, to, "&tags=deploy,config")
            .await
            .is_empty()
    );
    // A period overlaps the range if any part of it is inside.
    let late = list(&mut viewer, now - TimeDelta::minutes(7), to, "").await;
    assert_eq!(ids(&late), [&deploy.id, &config.id]);
    let after = list(&mut viewer, now - TimeDelta::minutes(4), to, "").await;
    assert_eq!(ids(&after), [&config.id]);
    let limited = list(&mut viewer, from, to, "&limit=1").await;
    assert_eq!(
        ids(&limited),
        [&config.id],
        "the newest when over the limit"
    );

    // The author or an editor deletes; others may not.
    let path = |a: &Annotation| format!("/api/v1/annotations/{}", a.id);
    assert_eq!(
        viewer.delete(&path(&deploy)).await.status,
        StatusCode::FORBIDDEN
    );
    let mut other_responder = app.login_as(Role::Responder).await;
    assert_eq!(
        other_responder.delete(&path(&deploy)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        responder.delete(&path(&deploy)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        editor.delete(&path(&config)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        editor.delete(&path(&config)).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(list(&mut viewer, from, to, "").await.is_empty());
    // A dashboard's annotations go with it.
    let deleted = editor.delete(&format!("/api/v1/dashboards/{board}")).await;
    assert!(deleted.status.is_success(), "{}", deleted.text());
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM annotations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);

    let mut admin = app.login_as(Role::Admin).await;
    let log: Value = admin
        .get("/api/v1/audit-log?action=annotation")
        .await
        .json();
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "annotation.create")
            .count(),
        3,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "annotation.delete")
            .count(),
        2,
        "{actions:?}"
    );
}

#[tokio::test]
async fn incidents_show_as_periods_from_opened_to_resolved() {
    let app = TestApp::spawn().await;
    let mut responder = app.login_as(Role::Responder).await;
    let open = |title: &str, service: &str| json!({ "title": title, "severity": "critical", "service": service });
    let created = responder
        .post("/api/v1/incidents", &open("Checkout is slow", "checkout"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let resolved_id = created.json::<IncidentDetail>().incident.id;
    let resolved = responder
        .post(
            &format!("/api/v1/incidents/{resolved_id}/resolve"),
            &json!({ "message": "Rolled back." }),
        )
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text());
    let created = responder
        .post("/api/v1/incidents", &open("Payments time out", "payments"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let open_id = created.json::<IncidentDetail>().incident.id;
    annotate(
        &mut responder,
        json!({ "text": "Deployed", "tags": ["deploy"] }),
    )
    .await;

    let mut viewer = app.login_as(Role::Viewer).await;
    let now = Utc::now();
    let (from, to) = (now - TimeDelta::hours(1), now + TimeDelta::minutes(1));
    let incidents = list(&mut viewer, from, to, "&tags=incident").await;
    assert_eq!(
        ids(&incidents),
        [
            format!("incident:{resolved_id}"),
            format!("incident:{open_id}")
        ]
    );
    let first = &incidents[0];
    assert_eq!(first.source, "incident");
    assert_eq!(first.title, "Checkout is slow");
    assert_eq!(first.severity.as_deref(), Some("critical"));
    assert_eq!(
        first.link.as_deref(),
        Some(format!("/incidents/{resolved_id}").as_str())
    );
    assert_eq!(first.tags, ["incident", "service:checkout"]);
    let end = first.time_end.expect("a resolved incident is a period");
    assert!(first.time <= end && end <= Utc::now(), "{first:?}");
    assert_eq!(incidents[1].time_end, None, "still open: no end");

    let everything = list(&mut viewer, from, to, "").await;
    assert_eq!(everything.len(), 3, "{everything:?}");
    let payments = list(&mut viewer, from, to, "&tags=incident,service:payments").await;
    assert_eq!(ids(&payments), [format!("incident:{open_id}")]);
    assert!(list(&mut viewer, from, to, "&tags=alert").await.is_empty());
    assert_eq!(list(&mut viewer, from, to, "&tags=deploy").await.len(), 1);
    // Before either was opened, nothing.
    let before = list(
        &mut viewer,
        now - TimeDelta::hours(2),
        now - TimeDelta::hours(1),
        "",
    )
    .await;
    assert!(before.is_empty(), "{before:?}");
    // Incidents are not deleted as annotations.
    let response = responder
        .delete(&format!("/api/v1/annotations/incident:{open_id}"))
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

/// An alert as Prometheus posts it to the Alertmanager API.
fn alert(name: &str, starts: DateTime<Utc>, ends: DateTime<Utc>) -> Value {
    json!([{
        "labels": { "alertname": name, "instance": "web-1:9100", "severity": "critical" },
        "annotations": { "summary": "web-1:9100 is down" },
        "startsAt": starts.to_rfc3339(),
        "endsAt": ends.to_rfc3339(),
    }])
}

async fn post_alerts(client: &mut Client<'_>, alerts: Value) {
    let response = client.post("/alertmanager/api/v2/alerts", &alerts).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn alert_firing_periods_show_from_firing_to_resolved() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let now = Utc::now();
    let started = now - TimeDelta::minutes(20);
    post_alerts(
        &mut editor,
        alert("InstanceDown", started, now + TimeDelta::minutes(4)),
    )
    .await;
    // Resolved five minutes ago.
    post_alerts(
        &mut editor,
        alert("InstanceDown", started, now - TimeDelta::minutes(5)),
    )
    .await;
    post_alerts(
        &mut editor,
        alert(
            "DiskFull",
            now - TimeDelta::minutes(2),
            now + TimeDelta::minutes(4),
        ),
    )
    .await;

    let mut viewer = app.login_as(Role::Viewer).await;
    let (from, to) = (now - TimeDelta::hours(1), now + TimeDelta::minutes(1));
    let alerts = list(&mut viewer, from, to, "&tags=alert").await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let down = &alerts[0];
    assert_eq!(down.source, "alert");
    assert_eq!(down.title, "InstanceDown");
    assert_eq!(down.text, "web-1:9100 is down");
    assert_eq!(down.severity.as_deref(), Some("critical"));
    assert_eq!(down.tags, ["alert", "alertname:InstanceDown"]);
    assert!(down.id.starts_with("alert:"), "{}", down.id);
    assert!(close(down.time, started), "{down:?}");
    assert!(
        close(down.time_end.unwrap(), now - TimeDelta::minutes(5)),
        "{down:?}"
    );
    assert_eq!(alerts[1].title, "DiskFull");
    assert_eq!(alerts[1].time_end, None, "still firing: no end");

    let disk = list(&mut viewer, from, to, "&tags=alertname:DiskFull").await;
    assert_eq!(disk.len(), 1);
    assert_eq!(disk[0].title, "DiskFull");
    // After InstanceDown resolved, only DiskFull overlaps.
    let late = list(&mut viewer, now - TimeDelta::minutes(4), to, "").await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0].title, "DiskFull");
    assert!(
        list(&mut viewer, from, to, "&tags=incident")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn every_role_reads_and_responders_and_up_annotate() {
    let app = TestApp::spawn().await;
    let body = json!({ "text": "Failover drill" });
    let mut viewer = app.login_as(Role::Viewer).await;
    assert_eq!(
        viewer.get("/api/v1/annotations").await.status,
        StatusCode::OK
    );
    assert_eq!(
        viewer.post("/api/v1/annotations", &body).await.status,
        StatusCode::FORBIDDEN
    );
    for role in [Role::Responder, Role::Editor, Role::Admin] {
        let mut client = app.login_as(role).await;
        annotate(&mut client, body.clone()).await;
    }
    assert_eq!(
        viewer
            .get("/api/v1/annotations")
            .await
            .json::<Vec<Annotation>>()
            .len(),
        3
    );
    // A `read` API key (a Grafana datasource, a script) reads them too, but writes nothing.
    let key = app.api_key(&["read"]).await;
    let mut machine = app.with_api_key(&key);
    let read = machine.get("/api/v1/annotations").await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    assert_eq!(read.json::<Vec<Annotation>>().len(), 3);
    assert!(
        machine
            .post("/api/v1/annotations", &body)
            .await
            .status
            .is_client_error()
    );
    let mut stranger = app.anonymous();
    assert_eq!(
        stranger.get("/api/v1/annotations").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        stranger.post("/api/v1/annotations", &body).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let mut responder = app.login_as(Role::Responder).await;
    let now = Utc::now();
    let cases = [
        ("text", json!({ "text": "  " })),
        ("text", json!({ "text": "x".repeat(2_001) })),
        (
            "tags",
            json!({ "text": "t", "tags": (0..21).map(|i| i.to_string()).collect::<Vec<_>>() }),
        ),
        ("tags", json!({ "text": "t", "tags": ["y".repeat(51)] })),
        (
            "time_end",
            json!({ "text": "t", "time": now, "time_end": now - TimeDelta::seconds(1) }),
        ),
        ("dashboard_id", json!({ "text": "t", "dashboard_id": -1 })),
    ];
    for (field, body) in cases {
        let response = responder.post("/api/v1/annotations", &body).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            response.text()
        );
        assert!(
            response.error().error.fields.contains_key(field),
            "{field}: {}",
            response.text()
        );
    }
    let response = responder
        .post("/api/v1/annotations", &json!({ "tags": [] }))
        .await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.text()
    );

    for (field, query) in [
        ("from", "from=yesterday"),
        ("to", "from=2000&to=1000"),
        ("from", "from=0&to=40000000"),
        ("limit", "limit=1001"),
        ("limit", "limit=0"),
        ("dashboard_id", "dashboard_id=abc"),
    ] {
        let response = responder.get(&format!("/api/v1/annotations?{query}")).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            response.text()
        );
        assert!(
            response.error().error.fields.contains_key(field),
            "{query}: {}",
            response.text()
        );
    }
    assert_eq!(
        responder
            .delete("/api/v1/annotations/manual:999")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
