//! Grafana import: the real "Node Exporter Full" export converted (panel and variable
//! counts, the report), and `POST /api/v1/dashboards/import` per role.

mod common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::{Value, json};
use vigil::dashboards::grafana::{self, Format};
use vigil_shared::Role;
use vigil_shared::dashboard::vars;
use vigil_shared::dashboard::{
    Dashboard, DashboardSummary, DrawStyle, ImportReport, PanelKind, Tooltip, VariableSource,
};

/// "Node Exporter Full" as Grafana exports it (test data beside the repository, never copied
/// into the product).
fn node_exporter_full() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/grafana/node-exporter-full.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("the fixture is JSON")
}

#[test]
fn node_exporter_full_converts_every_panel_row_and_query_variable() {
    let json = node_exporter_full();
    assert_eq!(grafana::detect(&json), Some(Format::Grafana));
    let converted = grafana::convert(&json).expect("converts");
    let model = &converted.model;
    assert_eq!(converted.uid.as_deref(), Some("rYdddlPWk"));
    assert_eq!(model.title, "Node Exporter Full");
    assert_eq!(model.tags, ["linux"]);
    assert_eq!(model.time.range, "24h");
    assert_eq!(model.time.refresh.as_deref(), Some("1m"));
    assert_eq!(model.tooltip, Tooltip::SharedCrosshair);
    assert_eq!(model.links.len(), 2);

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for panel in model.panels.values() {
        *kinds.entry(panel.kind.label()).or_default() += 1;
    }
    assert_eq!(model.panels.len(), 125);
    assert_eq!(
        kinds,
        BTreeMap::from([
            ("Time series", 111),
            ("Gauge", 5),
            ("Stat", 5),
            ("Bar gauge", 4)
        ])
    );

    // 16 rows, 14 of them collapsed with their panels nested; every panel placed once.
    assert_eq!(model.layout.len(), 16);
    assert!(model.layout.iter().all(|section| section.title.is_some()));
    assert_eq!(model.layout.iter().filter(|s| s.collapsed).count(), 14);
    let placed: Vec<&str> = model
        .layout
        .iter()
        .flat_map(|section| section.items.iter().map(|item| item.panel.as_str()))
        .collect();
    assert_eq!(placed.len(), 125);
    assert!(placed.iter().all(|key| model.panels.contains_key(*key)));
    assert!(placed.iter().all(|key| key.starts_with("panel-")));
    for section in &model.layout {
        assert_eq!(
            section.items.iter().map(|item| item.y).min(),
            Some(0),
            "y counts from the top of section {:?}",
            section.title
        );
        assert!(section.items.iter().all(|item| item.x + item.w <= 24));
    }
    let first = &model.layout[0];
    assert_eq!(first.title.as_deref(), Some("Quick CPU / Mem / Disk"));
    assert_eq!(first.items.len(), 11);

    // The CPU panel: stacked (Grafana's percent stacking), its series coloured by name.
    let cpu = &model.panels["panel-77"];
    assert_eq!(cpu.kind, PanelKind::TimeSeries);
    assert_eq!(cpu.draw, DrawStyle::Stacked);
    assert_eq!(cpu.unit, "percentunit");
    assert!(
        cpu.overrides
            .iter()
            .any(|o| o.matcher == "Idle" && o.color.as_deref() == Some("#052B51"))
    );
    assert!(cpu.queries[0].expr.contains("[$__rate_interval]"));
    assert_eq!(cpu.queries[0].legend, "Busy System");

    let queries: Vec<_> = model.panels.values().flat_map(|p| &p.queries).collect();
    assert_eq!(queries.len(), 286);
    assert!(queries.iter().all(|q| !q.expr.contains("[[")));
    assert_eq!(queries.iter().filter(|q| q.hidden).count(), 11);

    // The datasource variable is dropped; job, nodename and node stay, chained.
    let names: Vec<&str> = model.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["job", "nodename", "node"]);
    let query = |i: usize| match &model.variables[i].source {
        VariableSource::Query { query, .. } => query.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(query(0), "label_values(node_uname_info, job)");
    assert_eq!(vars::references(&query(1)), ["job"]);
    assert_eq!(vars::references(&query(2)), ["job", "nodename"]);

    // The report: the datasource variable, and what some panels lose (value mappings,
    // per-series transforms, percent stacking); no panel is skipped.
    let at = |path: &str| -> Vec<&str> {
        converted
            .notes
            .iter()
            .filter(|n| n.path == path)
            .map(|n| n.message.as_str())
            .collect()
    };
    assert_eq!(at("templating.list[0]").len(), 1);
    assert!(at("templating.list[0]")[0].contains("ds_prometheus"));
    assert!(
        converted
            .notes
            .iter()
            .all(|n| !n.message.contains("skipped")),
        "{:#?}",
        converted.notes
    );
    let lossy = converted
        .notes
        .iter()
        .filter(|n| n.message.starts_with("not converted:"))
        .count();
    assert!(lossy > 10, "{:#?}", converted.notes);
    assert!(
        converted
            .notes
            .iter()
            .any(|n| n.message.contains("custom.transform"))
    );
}

#[test]
fn an_old_export_is_refused_naming_schema_version() {
    let mut json = node_exporter_full();
    json["schemaVersion"] = Value::from(22);
    let error = grafana::convert(&json).unwrap_err();
    assert_eq!(error.path, "schemaVersion");
}

const IMPORT: &str = "/api/v1/dashboards/import";

/// A small Grafana dashboard with one stat panel over `expr`.
fn small_grafana(uid: &str, expr: &str) -> Value {
    json!({
        "schemaVersion": 39,
        "uid": uid,
        "title": format!("Imported {uid}"),
        "panels": [{"id": 1, "type": "stat", "title": "Up",
                    "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4},
                    "targets": [{"expr": expr, "refId": "A"}]},
                   {"id": 2, "type": "piechart", "title": "Share"}],
    })
}

#[tokio::test]
async fn a_dry_run_converts_node_exporter_full_and_saves_nothing() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let response = editor
        .post(
            IMPORT,
            &json!({ "dashboard": node_exporter_full(), "dry_run": true }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let report: ImportReport = response.json();
    assert_eq!(report.format, "grafana");
    assert_eq!((report.panels, report.variables), (125, 3));
    assert_eq!(report.model.panels.len(), 125);
    assert!(report.dashboard.is_none());
    assert!(report.notes.iter().any(|n| n.path == "templating.list[0]"));
    let listed: Vec<DashboardSummary> = editor.get("/api/v1/dashboards").await.json();
    assert!(listed.iter().all(|d| d.uid != "rYdddlPWk"));
}

#[tokio::test]
async fn editors_and_admins_import_and_viewers_and_responders_may_not() {
    let app = TestApp::spawn().await;
    for role in [Role::Viewer, Role::Responder] {
        let mut client = app.login_as(role).await;
        let response = client
            .post(IMPORT, &json!({ "dashboard": small_grafana("x", "up") }))
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{role}");
    }
    let mut anonymous = app.anonymous();
    let response = anonymous
        .post(IMPORT, &json!({ "dashboard": small_grafana("x", "up") }))
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);

    let mut editor = app.login_as(Role::Editor).await;
    let response = editor
        .post(IMPORT, &json!({ "dashboard": node_exporter_full() }))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let report: ImportReport = response.json();
    let saved = report.dashboard.expect("saved");
    assert_eq!(saved.uid, "rYdddlPWk");
    assert!(saved.can_edit);
    let dashboard: Dashboard = editor.get("/api/v1/dashboards/rYdddlPWk").await.json();
    assert_eq!(dashboard.model.panels.len(), 125);
    assert_eq!(dashboard.model.title, "Node Exporter Full");

    let mut admin = app.login_as(Role::Admin).await;
    let response = admin
        .post(
            IMPORT,
            &json!({ "dashboard": small_grafana("admins", "up") }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let report: ImportReport = response.json();
    assert_eq!(report.notes.len(), 1, "the pie chart: {:?}", report.notes);
    assert_eq!(report.notes[0].path, "panels[1]");
}

#[tokio::test]
async fn an_import_over_a_taken_uid_is_refused_unless_overwriting() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let first = editor
        .post(IMPORT, &json!({ "dashboard": small_grafana("same", "up") }))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = editor
        .post(
            IMPORT,
            &json!({ "dashboard": small_grafana("same", "up == 1") }),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    assert!(again.text().contains("overwrite"));
    let overwritten = editor
        .post(
            IMPORT,
            &json!({ "dashboard": small_grafana("same", "up == 1"), "overwrite": true }),
        )
        .await;
    assert_eq!(overwritten.status, StatusCode::OK, "{}", overwritten.text());
    let dashboard: Dashboard = editor.get("/api/v1/dashboards/same").await.json();
    assert_eq!(dashboard.version, 2);
    assert_eq!(dashboard.model.panels["panel-1"].queries[0].expr, "up == 1");
}

#[tokio::test]
async fn overwriting_a_dashboard_the_editor_may_not_change_is_refused() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let mut dashboard = small_grafana("admins-only", "up");
    let created = admin.post(IMPORT, &json!({ "dashboard": dashboard })).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let mut model = created.json::<ImportReport>().model;
    model.editable_by.roles = vec![Role::Admin];
    let saved = admin
        .request(
            axum::http::Method::PUT,
            "/api/v1/dashboards/admins-only",
            Some(serde_json::to_vec(&json!({ "model": model, "version": 1 })).unwrap()),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());

    let mut editor = app.login_as(Role::Editor).await;
    dashboard["title"] = json!("Taken over");
    let response = editor
        .post(
            IMPORT,
            &json!({ "dashboard": dashboard, "overwrite": true }),
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::FORBIDDEN,
        "{}",
        response.text()
    );
    let kept: Dashboard = admin.get("/api/v1/dashboards/admins-only").await.json();
    assert_eq!(kept.version, 2);
}

#[tokio::test]
async fn a_vigil_export_imports_back() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            IMPORT,
            &json!({ "dashboard": small_grafana("original", "up") }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let mut exported: Value = editor.get("/api/v1/dashboards/original").await.json();
    exported["uid"] = json!("copy");
    let response = editor.post(IMPORT, &json!({ "dashboard": exported })).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let report: ImportReport = response.json();
    assert_eq!(report.format, "vigil");
    assert!(report.notes.is_empty());
    let copy: Dashboard = editor.get("/api/v1/dashboards/copy").await.json();
    let original: Dashboard = editor.get("/api/v1/dashboards/original").await.json();
    assert_eq!(copy.model, original.model);
}

#[tokio::test]
async fn bad_imports_are_refused_with_the_path_of_each_problem() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let fields = |response: &common::TestResponse| -> BTreeMap<String, String> {
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            response.text()
        );
        response.error().error.fields
    };

    let mut old = small_grafana("old", "up");
    old["schemaVersion"] = json!(16);
    let response = editor.post(IMPORT, &json!({ "dashboard": old })).await;
    assert!(fields(&response).contains_key("schemaVersion"));

    let response = editor
        .post(
            IMPORT,
            &json!({ "dashboard": small_grafana("bad", "sum(rate(up[5m])"), "dry_run": true }),
        )
        .await;
    let problems = fields(&response);
    assert!(
        problems
            .keys()
            .any(|k| k.starts_with("panels.panel-1.queries[0].expr")),
        "{problems:?}"
    );

    let response = editor
        .post(IMPORT, &json!({ "dashboard": {"title": "neither"} }))
        .await;
    assert!(fields(&response).contains_key("dashboard"));

    let response = editor
        .post(
            IMPORT,
            &json!({ "dashboard": {"title": "x", "layout": [], "panels": {"a": {"kind": "pie"}}} }),
        )
        .await;
    assert!(fields(&response).keys().any(|k| k.starts_with("panels.a")));

    let response = editor.post(IMPORT, &json!({ "dry_run": true })).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);

    let listed: Vec<DashboardSummary> = editor.get("/api/v1/dashboards").await.json();
    assert!(listed.is_empty(), "nothing was saved: {listed:?}");
}

#[tokio::test]
async fn an_import_over_two_megabytes_is_refused_before_it_is_read() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let mut dashboard = small_grafana("huge", "up");
    dashboard["description"] = json!("x".repeat(2 * 1024 * 1024 + 1));
    let response = editor
        .post(IMPORT, &json!({ "dashboard": dashboard }))
        .await;
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        response.text()
    );
}
