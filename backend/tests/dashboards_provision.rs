//! Provisioned dashboards: files of `--dashboards-dir` followed as they are added, changed,
//! broken and removed; the built-in dashboards, whose every query draws data from the demo;
//! and the demo users' home dashboards.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::http::{Method, StatusCode};
use chrono::{TimeDelta, Utc};
use common::remote_write::{encode, post, series};
use common::{PASSWORD, TestApp};
use serde_json::{Value, json};
use vigil::dashboards::provision::{self, Directory, Pass};
use vigil::demo::{self, workload};
use vigil::ingest::remote_write::WriteRequest;
use vigil_shared::Role;
use vigil_shared::dashboard::vars::{self, Scope, Selection};
use vigil_shared::dashboard::{Dashboard, DashboardSummary, HomeDashboard, VariableSource};

/// An empty directory of its own under the target directory.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const VIGIL_YAML: &str = "
title: From YAML
tags: [files]
panels:
  up:
    kind: stat
    title: Targets up
    queries:
      - expr: sum(up)
layout:
  - items:
      - {panel: up, x: 0, y: 0, w: 6, h: 4}
";

/// Every dashboard but the built-ins, by uid.
async fn listed_but_built_in(app: &TestApp) -> BTreeMap<String, DashboardSummary> {
    let mut admin = app.login_as(Role::Admin).await;
    let listed: Vec<DashboardSummary> = admin.get("/api/v1/dashboards").await.json();
    listed
        .into_iter()
        .filter(|d| d.provisioned.as_deref() != Some(provision::BUILT_IN))
        .map(|d| (d.uid.clone(), d))
        .collect()
}

#[tokio::test]
async fn dashboard_files_are_provisioned_followed_and_removed_with_their_files() {
    let app = TestApp::spawn().await;
    let dir = fresh_dir("dashboards");
    let grafana = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/grafana/node-exporter-full.json"
    ))
    .unwrap();
    std::fs::write(dir.join("node.json"), &grafana).unwrap();
    std::fs::write(dir.join("From YAML.yaml"), VIGIL_YAML).unwrap();
    std::fs::write(dir.join("broken.json"), "{ not json").unwrap();
    std::fs::write(dir.join("notes.txt"), "not a dashboard").unwrap();

    let mut directory = Directory::new(dir.clone());
    let pass = directory.sync(&app.db).await.unwrap();
    assert_eq!(
        pass,
        Some(Pass {
            provisioned: 2,
            broken: 1,
            removed: 0
        })
    );
    let found = listed_but_built_in(&app).await;
    assert_eq!(found.len(), 2, "{found:?}");
    let node = &found["rYdddlPWk"];
    let yaml = &found["from-yaml"];
    let canonical = dir.canonicalize().unwrap();
    assert_eq!(
        node.provisioned.as_deref(),
        Some(canonical.join("node.json").to_str().unwrap())
    );
    assert!(
        !node.can_edit && !yaml.can_edit,
        "provisioned dashboards are read-only"
    );

    // Read-only through the API too.
    let mut editor = app.login_as(Role::Editor).await;
    let dashboard: Dashboard = editor.get("/api/v1/dashboards/from-yaml").await.json();
    let save = editor
        .request(
            Method::PUT,
            "/api/v1/dashboards/from-yaml",
            Some(serde_json::to_vec(&json!({ "model": dashboard.model, "version": 1 })).unwrap()),
        )
        .await;
    assert_eq!(save.status, StatusCode::CONFLICT, "{}", save.text());

    assert_eq!(
        directory.sync(&app.db).await.unwrap(),
        None,
        "nothing changed"
    );

    // A change is a new version; a file that breaks keeps its dashboard.
    std::fs::write(
        dir.join("From YAML.yaml"),
        VIGIL_YAML.replace("From YAML", "From YAML, changed"),
    )
    .unwrap();
    std::fs::write(dir.join("node.json"), &grafana[..grafana.len() / 2]).unwrap();
    let pass = directory.sync(&app.db).await.unwrap().unwrap();
    assert_eq!((pass.provisioned, pass.broken, pass.removed), (1, 2, 0));
    let changed: Dashboard = editor.get("/api/v1/dashboards/from-yaml").await.json();
    assert_eq!(
        (changed.model.title.as_str(), changed.version),
        ("From YAML, changed", 2)
    );
    assert!(listed_but_built_in(&app).await.contains_key("rYdddlPWk"));

    // A removed file removes its dashboard (once no file is broken since the start: such a
    // file might be the one that held it).
    std::fs::remove_file(dir.join("From YAML.yaml")).unwrap();
    std::fs::remove_file(dir.join("broken.json")).unwrap();
    let pass = directory.sync(&app.db).await.unwrap().unwrap();
    assert_eq!(pass.removed, 1);
    let found = listed_but_built_in(&app).await;
    assert_eq!(found.keys().collect::<Vec<_>>(), ["rYdddlPWk"]);
}

#[tokio::test]
async fn a_file_broken_since_the_start_keeps_every_provisioned_dashboard() {
    let app = TestApp::spawn().await;
    let dir = fresh_dir("dashboards-broken");
    std::fs::write(dir.join("a.yaml"), VIGIL_YAML).unwrap();
    Directory::new(dir.clone()).sync(&app.db).await.unwrap();
    assert!(listed_but_built_in(&app).await.contains_key("a"));

    // A restart finds the file broken: its dashboard cannot be told apart from one whose file
    // went away, so nothing is removed.
    std::fs::write(dir.join("a.yaml"), "title: [").unwrap();
    let pass = Directory::new(dir.clone())
        .sync(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((pass.broken, pass.removed), (1, 0));
    assert!(listed_but_built_in(&app).await.contains_key("a"));
}

#[tokio::test]
async fn a_file_refused_by_the_store_is_skipped_and_the_others_provisioned() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            "/api/v1/dashboards",
            &json!({ "uid": "taken", "model": {"title": "Mine", "panels": {}, "layout": []} }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let dir = fresh_dir("dashboards-refused");
    std::fs::write(dir.join("taken.yaml"), VIGIL_YAML).unwrap();
    std::fs::write(
        dir.join("invalid.yaml"),
        VIGIL_YAML.replace("sum(up)", "sum(up"),
    )
    .unwrap();
    std::fs::write(dir.join("fine.yml"), VIGIL_YAML).unwrap();
    let pass = Directory::new(dir).sync(&app.db).await.unwrap().unwrap();
    assert_eq!((pass.provisioned, pass.broken), (1, 2));
    let found = listed_but_built_in(&app).await;
    assert_eq!(found.keys().collect::<Vec<_>>(), ["fine", "taken"]);
    assert_eq!(
        found["taken"].provisioned, None,
        "the editor's dashboard is untouched"
    );
    assert_eq!(found["taken"].title, "Mine");
}

#[tokio::test]
async fn a_missing_directory_is_an_error_to_retry_not_a_crash() {
    let app = TestApp::spawn().await;
    let error = Directory::new(PathBuf::from("/nonexistent/dashboards"))
        .sync(&app.db)
        .await
        .unwrap_err();
    assert!(format!("{error:#}").contains("/nonexistent/dashboards"));
}

#[tokio::test]
async fn built_in_dashboards_are_provisioned_once_and_kept() {
    let app = TestApp::spawn().await;
    let first = provision::provision_built_in(&app.db).await.unwrap();
    let again = provision::provision_built_in(&app.db).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(
        first.keys().copied().collect::<Vec<_>>(),
        [
            "on-call",
            "platform-overview",
            "service-health",
            "sla-overview"
        ]
    );
    let mut viewer = app.login_as(Role::Viewer).await;
    for uid in first.keys() {
        let dashboard: Dashboard = viewer
            .get(&format!("/api/v1/dashboards/{uid}"))
            .await
            .json();
        assert_eq!(dashboard.version, 1, "{uid}: unchanged, so not saved again");
        assert_eq!(dashboard.provisioned.as_deref(), Some("built-in"));
    }
}

/// Every query of every built-in dashboard, with its variables at "All" and the built-ins
/// at a minute or two, run at `now` against the demo's data and Vigil's own metrics.
#[tokio::test]
async fn every_built_in_query_draws_data_from_the_demo() {
    let app = TestApp::spawn().await;
    let now = Utc::now();
    workload::backfill(
        &app.state.metrics,
        &mut workload::Workload::new(),
        (now - TimeDelta::minutes(70)).timestamp_millis(),
        now.timestamp_millis(),
    )
    .await
    .unwrap();
    demo::seed_users(&app.db, PASSWORD).await.unwrap();
    demo::seed::seed(&app.db, now).await.unwrap();
    provision::provision_built_in(&app.db).await.unwrap();

    let mut admin = app.login("admin@vigil.local", PASSWORD).await;
    let secret = app.api_key(&["ingest", "read"]).await;
    // Something pushed, something queried, something not found, as a live server sees.
    let pushed = encode(&WriteRequest {
        timeseries: vec![series(
            &[("__name__", "pushed"), ("job", "agent")],
            &[(now.timestamp_millis(), 1.0)],
        )],
        metadata: vec![],
    });
    assert_eq!(
        app.send(post(&secret, pushed)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.get("/prometheus/api/v1/query?query=up").await.status,
        StatusCode::OK
    );
    assert_eq!(
        admin.get("/api/v1/nothing-here").await.status,
        StatusCode::NOT_FOUND
    );
    // Vigil scrapes itself twice, as its self-scrape worker does every 15 s.
    for at in [now - TimeDelta::seconds(30), now] {
        vigil::scrape::worker::scrape_self(
            &app.state.metrics,
            &app.state.telemetry,
            &app.db,
            "vigil:8080",
            at,
        )
        .await
        .unwrap();
    }

    let mut checked = 0;
    for (uid, model) in provision::built_in_models().unwrap() {
        let mut scope = Scope {
            values: BTreeMap::new(),
            interval: 60.0,
            rate_interval: 120.0,
            range: 3600.0,
        };
        for variable in &model.variables {
            let VariableSource::Query { query, .. } = &variable.source else {
                panic!("{uid}: only query variables are used");
            };
            let label_values = vars::parse_label_values(query).expect("label_values(…)");
            let values: Value = admin
                .get(&format!(
                    "/prometheus/api/v1/label/{}/values?match%5B%5D={}",
                    label_values.label,
                    urlencode(label_values.selector.as_deref().unwrap_or("up"))
                ))
                .await
                .json();
            let options: Vec<String> = serde_json::from_value(values["data"].clone()).unwrap();
            assert!(
                !options.is_empty(),
                "{uid}: variable {} has values",
                variable.name
            );
            scope
                .values
                .insert(variable.name.clone(), Selection::All(options));
        }
        // Each panel draws something (a query for rejections or failures may rightly be empty).
        for (key, panel) in &model.panels {
            let mut drawn = Vec::new();
            for query in &panel.queries {
                let expr = vars::interpolate(&query.expr, &scope, vars::Format::Query);
                let answer: Value = admin
                    .get(&format!(
                        "/prometheus/api/v1/query?time={}&query={}",
                        // Whole seconds, after the last scrape.
                        now.timestamp() + 1,
                        urlencode(&expr)
                    ))
                    .await
                    .json();
                assert_eq!(answer["status"], "success", "{uid}/{key}: {expr}: {answer}");
                let result = answer["data"]["result"].as_array().unwrap();
                drawn.push((expr, result.len()));
                checked += 1;
            }
            if panel.kind.uses_queries() {
                assert!(
                    drawn.iter().any(|(_, series)| *series > 0),
                    "{uid}/{key} draws nothing: {drawn:?}"
                );
            }
        }
    }
    assert!(checked >= 30, "{checked} queries");
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn each_demo_user_lands_on_the_home_dashboard_of_their_role() {
    let app = TestApp::spawn().await;
    demo::seed_users(&app.db, PASSWORD).await.unwrap();
    let built_in = provision::provision_built_in(&app.db).await.unwrap();
    provision::set_missing_role_homes(&app.db, &built_in, &demo::DEMO_HOMES)
        .await
        .unwrap();
    let home = |email: &'static str| {
        let app = &app;
        async move {
            let mut client = app.login(email, PASSWORD).await;
            let home: HomeDashboard = client.get("/api/v1/home-dashboard").await.json();
            assert_eq!(home.chosen_by, "role", "{email}");
            home.dashboard.expect("a home dashboard").uid
        }
    };
    assert_eq!(home("viewer@vigil.local").await, "service-health");
    assert_eq!(home("responder@vigil.local").await, "on-call");
    assert_eq!(home("editor@vigil.local").await, "service-health");
    assert_eq!(home("admin@vigil.local").await, "platform-overview");

    // An admin's choice survives the next start.
    let mut admin = app.login("admin@vigil.local", PASSWORD).await;
    let mut homes: Value = admin.get("/api/v1/home-dashboards").await.json();
    homes["roles"]["viewer"] = json!(built_in["sla-overview"]);
    let response = admin
        .request(
            Method::PUT,
            "/api/v1/home-dashboards",
            Some(serde_json::to_vec(&homes).unwrap()),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let built_in = provision::provision_built_in(&app.db).await.unwrap();
    provision::set_missing_role_homes(&app.db, &built_in, &demo::DEMO_HOMES)
        .await
        .unwrap();
    assert_eq!(home("viewer@vigil.local").await, "sla-overview");
}
