//! Alert rules over the API: who may do what, per-field validation, and rule file import.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use serde_json::{Value, json};
use vigil_shared::Role;
use vigil_shared::admin::AuditLogPage;
use vigil_shared::alerting::{AlertRule, AlertRuleList, Comparison, RuleImportReport};

fn rule(name: &str) -> Value {
    json!({
        "name": name,
        "group": "checkout",
        "query": "sum by (job) (rate(http_requests_total{status=\"500\"}[5m]))",
        "comparison": ">",
        "warning_threshold": 1,
        "critical_threshold": 5,
        "for": "5m",
        "labels": { "team": "payments" },
        "annotations": {
            "summary": "{{ $labels.job }} fails {{ humanize $value }} requests/s",
            "runbook_url": "https://wiki.example/runbooks/errors"
        }
    })
}

fn body(value: &Value) -> Option<Vec<u8>> {
    Some(serde_json::to_vec(value).unwrap())
}

#[tokio::test]
async fn editors_write_rules_and_everyone_logged_in_reads_them() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor.post("/api/v1/alert-rules", &rule("Errors")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created: AlertRule = created.json();
    assert_eq!(created.rule.comparison, Comparison::Above);
    assert_eq!(created.rule.for_duration, "5m");
    assert_eq!(created.rule.interval, "1m", "the default interval");
    assert!(created.updated_by.unwrap().starts_with("editor-"));
    let path = format!("/api/v1/alert-rules/{}", created.id);

    for role in [Role::Viewer, Role::Responder] {
        let mut client = app.login_as(role).await;
        let list: AlertRuleList = client.get("/api/v1/alert-rules").await.json();
        assert_eq!(list.rules.len(), 1, "{role} reads the list");
        assert_eq!(client.get(&path).await.status, StatusCode::OK);
        for (method, target, payload) in [
            (
                Method::POST,
                "/api/v1/alert-rules".to_owned(),
                body(&rule("Other")),
            ),
            (Method::PUT, path.clone(), body(&rule("Errors"))),
            (Method::DELETE, path.clone(), None),
            (
                Method::POST,
                "/api/v1/alert-rules/import".to_owned(),
                body(&json!({ "yaml": "groups: []" })),
            ),
        ] {
            let response = client.request(method.clone(), &target, payload).await;
            assert_eq!(
                response.status,
                StatusCode::FORBIDDEN,
                "{role} {method} {target}"
            );
        }
    }
    let anonymous = app.anonymous().get("/api/v1/alert-rules").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let mut changed = rule("Errors");
    changed["critical_threshold"] = json!(10);
    changed["enabled"] = json!(false);
    let replaced = editor.request(Method::PUT, &path, body(&changed)).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text());
    let replaced: AlertRule = replaced.json();
    assert_eq!(replaced.rule.critical_threshold, Some(10.0));
    assert!(!replaced.rule.enabled);

    let duplicate = editor.post("/api/v1/alert-rules", &rule("errors")).await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert!(duplicate.error().error.fields.contains_key("name"));
    let mut elsewhere = rule("Errors");
    elsewhere["group"] = json!("search");
    assert_eq!(
        editor.post("/api/v1/alert-rules", &elsewhere).await.status,
        StatusCode::CREATED,
        "the same name in another group is fine"
    );

    assert_eq!(editor.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(editor.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(editor.delete(&path).await.status, StatusCode::NOT_FOUND);

    let mut admin = app.login_as(Role::Admin).await;
    let audit: AuditLogPage = admin.get("/api/v1/audit-log").await.json();
    let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "alert_rule.create",
        "alert_rule.update",
        "alert_rule.delete",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn every_invalid_field_is_named_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let mut bad = rule("");
    bad["query"] = json!("sum(rate(http_requests_total[5m])");
    bad["warning_threshold"] = json!(10);
    bad["critical_threshold"] = json!(5);
    bad["for"] = json!("soon");
    bad["labels"] = json!({ "severity": "page" });
    bad["annotations"]["summary"] = json!("{{ $labels.job ");
    let response = editor.post("/api/v1/alert-rules", &bad).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = response.error().error.fields;
    assert_eq!(fields["name"], "is required");
    assert!(
        fields["query"].contains("\"(\" at character 4 is never closed"),
        "{fields:?}"
    );
    assert!(fields["critical_threshold"].contains("at least the warning threshold"));
    assert!(fields["for"].contains("is not a duration"));
    assert!(fields["labels"].contains("set by Vigil"));
    assert!(fields["annotations.summary"].contains("never closed"));

    let wrong_type = editor
        .request(
            Method::POST,
            "/api/v1/alert-rules",
            body(&json!({ "name": "x", "query": "up", "comparison": "=>" })),
        )
        .await;
    assert!(wrong_type.status.is_client_error(), "{}", wrong_type.status);
    let list: AlertRuleList = editor.get("/api/v1/alert-rules").await.json();
    assert!(list.rules.is_empty());
}

const RULE_FILE: &str = r#"
groups:
  - name: api
    interval: 30s
    rules:
      - alert: HighLatency
        expr: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5
        for: 10m
        labels:
          severity: page
          team: web
        annotations:
          summary: "p99 latency is {{ $value }}s"
          runbook_url: https://wiki.example/latency
      - alert: ErrorsWarning
        expr: sum(rate(http_requests_total{status="500"}[5m])) > 1
        labels:
          severity: warning
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
      - alert: Broken
        expr: sum(rate(x[5m]) > 1
      - alert: TargetMissing
        expr: absent(up{job="api"})
"#;

#[tokio::test]
async fn a_prometheus_rule_file_imports_with_errors_reported_per_rule() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let response = editor
        .post("/api/v1/alert-rules/import", &json!({ "yaml": RULE_FILE }))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let report: RuleImportReport = response.json();
    let imported: Vec<&str> = report
        .imported
        .iter()
        .map(|r| r.rule.name.as_str())
        .collect();
    assert_eq!(imported, ["HighLatency", "ErrorsWarning"]);
    let latency = &report.imported[0].rule;
    assert_eq!(latency.group, "api");
    assert_eq!(latency.interval, "30s");
    assert_eq!(latency.for_duration, "10m");
    assert_eq!(latency.critical_threshold, Some(0.5));
    assert_eq!(latency.warning_threshold, None);
    assert_eq!(latency.labels.get("team").map(String::as_str), Some("web"));
    assert_eq!(
        latency.annotations.runbook_url,
        "https://wiki.example/latency"
    );
    assert_eq!(report.imported[1].rule.warning_threshold, Some(1.0));

    let failed: Vec<(&str, Vec<&String>)> = report
        .errors
        .iter()
        .map(|e| (e.rule.as_str(), e.fields.keys().collect()))
        .collect();
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert_eq!(failed[0].0, "job:http_requests:rate5m");
    assert_eq!(failed[1].0, "Broken");
    assert_eq!(failed[2].0, "TargetMissing");

    // Importing again replaces rather than duplicates.
    let again: RuleImportReport = editor
        .post("/api/v1/alert-rules/import", &json!({ "yaml": RULE_FILE }))
        .await
        .json();
    assert_eq!(again.imported[0].id, report.imported[0].id);
    let list: AlertRuleList = editor.get("/api/v1/alert-rules").await.json();
    assert_eq!(list.rules.len(), 2);

    let garbage = editor
        .post(
            "/api/v1/alert-rules/import",
            &json!({ "yaml": "groups: [oops" }),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(garbage.error().error.fields.contains_key("yaml"));
}
