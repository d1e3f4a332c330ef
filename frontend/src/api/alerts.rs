//! Alerts, alert rules (and importing Prometheus rule files) and silences.

use vigil_shared::alerting::{
    AlertList, AlertRule, AlertRuleList, AlertRuleRequest, RuleImportReport, RuleImportRequest,
    Silence, SilenceList, SilenceRequest,
};

use super::{ApiResult, Method, call, encode, encode_component, json};

/// Alerts by state (`live` = pending and firing, `all`, or one state) and severity (or all).
pub async fn list_alerts(state: &str, severity: &str) -> ApiResult<AlertList> {
    let mut path = format!("/api/v1/alerts?state={}", encode_component(state));
    if !severity.is_empty() {
        path.push_str(&format!("&severity={}", encode_component(severity)));
    }
    json(Method::Get, &path, None).await
}

pub async fn list_alert_rules() -> ApiResult<AlertRuleList> {
    json(Method::Get, "/api/v1/alert-rules", None).await
}

pub async fn get_alert_rule(id: i64) -> ApiResult<AlertRule> {
    json(Method::Get, &format!("/api/v1/alert-rules/{id}"), None).await
}

pub async fn create_alert_rule(request: &AlertRuleRequest) -> ApiResult<AlertRule> {
    json(Method::Post, "/api/v1/alert-rules", encode(request)).await
}

pub async fn replace_alert_rule(id: i64, request: &AlertRuleRequest) -> ApiResult<AlertRule> {
    json(
        Method::Put,
        &format!("/api/v1/alert-rules/{id}"),
        encode(request),
    )
    .await
}

pub async fn delete_alert_rule(id: i64) -> ApiResult<()> {
    call(Method::Delete, &format!("/api/v1/alert-rules/{id}"), None)
        .await
        .map(drop)
}

pub async fn import_alert_rules(request: &RuleImportRequest) -> ApiResult<RuleImportReport> {
    json(Method::Post, "/api/v1/alert-rules/import", encode(request)).await
}

pub async fn list_silences() -> ApiResult<SilenceList> {
    json(Method::Get, "/api/v1/silences", None).await
}

pub async fn create_silence(request: &SilenceRequest) -> ApiResult<Silence> {
    json(Method::Post, "/api/v1/silences", encode(request)).await
}

/// Ends a silence now.
pub async fn expire_silence(id: &str) -> ApiResult<()> {
    call(
        Method::Delete,
        &format!("/api/v1/silences/{}", encode_component(id)),
        None,
    )
    .await
    .map(drop)
}
