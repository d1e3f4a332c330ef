//! Import of Prometheus rule files (`groups: [{name, interval, rules: [{alert, expr, for, …}]}]`).
//!
//! A Prometheus alert's `expr` carries its condition (`rate(errors[5m]) > 0.1`); a Vigil rule
//! keeps the query and the threshold apart so the form can draw and edit them. The top-level
//! comparison with a number becomes the comparison and threshold; the `severity` label says
//! whether that is the warning or the critical threshold. A rule with the same group and
//! name is replaced, so importing a file again applies its changes.

use std::collections::BTreeMap;

use axum::extract::State;
use promql_parser::parser::Expr;
use serde::Deserialize;
use serde_json::json;
use vigil_shared::alerting::{
    AlertRuleRequest, Comparison, RuleAnnotations, RuleImportError, RuleImportReport,
    RuleImportRequest,
};

use super::rules::{self, validate};
use crate::audit::{self, Target};
use crate::auth::Editor;
use crate::error::{AppError, AppResult, Json};
use crate::promql::QueryLimits;
use crate::promql::limits::{self, ParseProblem};
use crate::state::AppState;

#[derive(Deserialize)]
struct RuleFile {
    groups: Vec<FileGroup>,
}

#[derive(Deserialize)]
struct FileGroup {
    name: String,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    rules: Vec<FileRule>,
}

#[derive(Deserialize)]
struct FileRule {
    #[serde(default)]
    alert: Option<String>,
    #[serde(default)]
    record: Option<String>,
    #[serde(default)]
    expr: serde_yaml::Value,
    #[serde(default, rename = "for")]
    for_duration: Option<String>,
    #[serde(default)]
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A rule of the file as a Vigil rule request, or the problems by field.
fn convert(
    group: &FileGroup,
    rule: &FileRule,
    query_limits: &QueryLimits,
) -> Result<AlertRuleRequest, BTreeMap<String, String>> {
    let problem = |field: &str, message: String| BTreeMap::from([(field.to_owned(), message)]);
    if rule.record.is_some() {
        return Err(problem(
            "record",
            "recording rules are not supported; only alerting rules are imported".to_owned(),
        ));
    }
    let name = rule
        .alert
        .clone()
        .ok_or_else(|| problem("alert", "is required".to_owned()))?;
    let expr_text = match &rule.expr {
        serde_yaml::Value::String(text) => text.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        _ => return Err(problem("expr", "is required".to_owned())),
    };
    let expr = limits::parse_within(expr_text.trim(), query_limits).map_err(|e| match e {
        ParseProblem::Syntax(e) => problem("expr", format!("is not valid PromQL: {e}")),
        ParseProblem::TooLarge(e) => problem("expr", format!("is too large: {e}")),
    })?;
    let (query, comparison, threshold) = split_condition(&expr).ok_or_else(|| {
        problem(
            "expr",
            "must compare a query with a number (such as `rate(errors_total[5m]) > 0.1`): \
             Vigil rules keep the threshold apart from the query"
                .to_owned(),
        )
    })?;

    let mut labels = rule.labels.clone();
    let severity = labels.remove("severity").unwrap_or_default();
    let critical = matches!(
        severity.to_ascii_lowercase().as_str(),
        "critical" | "page" | "error" | "high" | ""
    );
    let mut annotations = rule.annotations.clone();
    let request = AlertRuleRequest {
        name,
        group: group.name.clone(),
        description: String::new(),
        query,
        comparison,
        warning_threshold: (!critical).then_some(threshold),
        critical_threshold: critical.then_some(threshold),
        for_duration: rule.for_duration.clone().unwrap_or_else(|| "0s".to_owned()),
        interval: group.interval.clone().unwrap_or_else(|| "1m".to_owned()),
        keep_firing_for: rule
            .keep_firing_for
            .clone()
            .unwrap_or_else(|| "0s".to_owned()),
        no_data_state: Default::default(),
        error_state: Default::default(),
        labels,
        annotations: RuleAnnotations {
            summary: annotations.remove("summary").unwrap_or_default(),
            description: annotations.remove("description").unwrap_or_default(),
            runbook_url: annotations
                .remove("runbook_url")
                .or_else(|| annotations.remove("runbook"))
                .unwrap_or_default(),
        },
        notification_channel_ids: Vec::new(),
        escalation_policy_id: None,
        incident_group_by: Vec::new(),
        enabled: true,
    };
    if let Some(other) = annotations.keys().next() {
        return Err(problem(
            "annotations",
            format!("{other:?} is not supported (summary, description and runbook_url are)"),
        ));
    }
    Ok(request)
}

/// `query <op> number` or `number <op> query` (flipped), without `bool`.
fn split_condition(expr: &Expr) -> Option<(String, Comparison, f64)> {
    let Expr::Binary(binary) = expr else {
        return None;
    };
    if !binary.op.is_comparison_operator()
        || binary.modifier.as_ref().is_some_and(|m| m.return_bool)
    {
        return None;
    }
    let comparison = Comparison::parse(&binary.op.to_string())?;
    let number = |e: &Expr| match e {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Paren(p) => match &*p.expr {
            Expr::NumberLiteral(n) => Some(n.val),
            _ => None,
        },
        _ => None,
    };
    if let Some(threshold) = number(&binary.rhs) {
        return Some((binary.lhs.to_string(), comparison, threshold));
    }
    let threshold = number(&binary.lhs)?;
    let flipped = match comparison {
        Comparison::Above => Comparison::Below,
        Comparison::AtLeast => Comparison::AtMost,
        Comparison::Below => Comparison::Above,
        Comparison::AtMost => Comparison::AtLeast,
        same => same,
    };
    Some((binary.rhs.to_string(), flipped, threshold))
}

pub async fn import_rules(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(request): Json<RuleImportRequest>,
) -> AppResult<Json<RuleImportReport>> {
    let file: RuleFile = serde_yaml::from_str(&request.yaml)
        .map_err(|e| AppError::invalid("yaml", format!("is not a Prometheus rule file: {e}")))?;
    let count: usize = file.groups.iter().map(|g| g.rules.len()).sum();
    let most = state.config.rule_import_max;
    if count > most {
        return Err(AppError::invalid(
            "yaml",
            format!(
                "holds {count} rules; at most {most} are imported at once (split the file, or \
                 raise --rule-import-max)"
            ),
        ));
    }
    let mut report = RuleImportReport {
        imported: Vec::new(),
        errors: Vec::new(),
    };
    let mut tx = state.db.begin().await?;
    for group in &file.groups {
        for (index, rule) in group.rules.iter().enumerate() {
            let label = rule
                .alert
                .clone()
                .or_else(|| rule.record.clone())
                .unwrap_or_else(|| format!("rule {}", index + 1));
            let limits = &state.config.query;
            let valid = convert(group, rule, limits)
                .and_then(|request| validate(&request, limits).map_err(|e| e.into_map()));
            let valid = match valid {
                Ok(valid) => valid,
                Err(fields) => {
                    report.errors.push(RuleImportError {
                        group: group.name.clone(),
                        rule: label,
                        fields,
                    });
                    continue;
                }
            };
            let existing = sqlx::query!(
                "SELECT id, slo_id FROM alert_rules
                 WHERE rule_group = $1 AND lower(name) = lower($2)",
                valid.group,
                valid.name
            )
            .fetch_optional(&mut *tx)
            .await?;
            if existing.as_ref().is_some_and(|r| r.slo_id.is_some()) {
                report.errors.push(RuleImportError {
                    group: group.name.clone(),
                    rule: label,
                    fields: [(
                        "name".to_owned(),
                        "names a rule an SLO generates, which changes only with its SLO".to_owned(),
                    )]
                    .into(),
                });
                continue;
            }
            let existing = existing.map(|r| r.id);
            let id = rules::store(&mut tx, existing, &valid, Some(editor.id))
                .await?
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("storing an imported rule returned no id"))
                })?;
            report.imported.push(rules::find(&mut tx, id).await?);
        }
    }
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "alert_rule.import",
        Target::none(),
        json!({
            "imported": report.imported.iter().map(|r| r.id).collect::<Vec<_>>(),
            "errors": report.errors.len(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> FileGroup {
        FileGroup {
            name: "api".into(),
            interval: Some("30s".into()),
            rules: vec![],
        }
    }

    fn rule(expr: &str, severity: &str) -> FileRule {
        FileRule {
            alert: Some("HighLatency".into()),
            record: None,
            expr: serde_yaml::Value::String(expr.into()),
            for_duration: Some("10m".into()),
            keep_firing_for: None,
            labels: BTreeMap::from([("severity".into(), severity.into())]),
            annotations: BTreeMap::from([("summary".into(), "{{ $labels.job }} slow".into())]),
        }
    }

    #[test]
    fn the_condition_becomes_the_comparison_and_threshold() {
        let request = convert(
            &group(),
            &rule("job:latency:mean5m{job=\"api\"} > 0.5", "page"),
            &QueryLimits::default(),
        )
        .unwrap();
        assert_eq!(request.query, "job:latency:mean5m{job=\"api\"}");
        assert_eq!(request.comparison, Comparison::Above);
        assert_eq!(request.critical_threshold, Some(0.5));
        assert_eq!(request.warning_threshold, None);
        assert_eq!(request.interval, "30s");
        assert!(
            request.labels.is_empty(),
            "severity becomes the threshold kind"
        );

        let request = convert(
            &group(),
            &rule("10 <= sum(rate(x[5m]))", "warning"),
            &QueryLimits::default(),
        )
        .unwrap();
        assert_eq!(
            request.comparison,
            Comparison::AtLeast,
            "10 <= x is x >= 10"
        );
        assert_eq!(request.warning_threshold, Some(10.0));
    }

    #[test]
    fn rules_vigil_cannot_represent_are_refused_by_name() {
        let errors = convert(
            &group(),
            &rule("absent(up{job=\"api\"})", "page"),
            &QueryLimits::default(),
        )
        .unwrap_err();
        assert!(errors["expr"].contains("must compare a query with a number"));
        let errors = convert(
            &group(),
            &rule("up > bool 0", "page"),
            &QueryLimits::default(),
        )
        .unwrap_err();
        assert!(errors.contains_key("expr"));
        let mut recording = rule("sum(x)", "");
        recording.alert = None;
        recording.record = Some("job:x:sum".into());
        assert!(
            convert(&group(), &recording, &QueryLimits::default())
                .unwrap_err()
                .contains_key("record")
        );
    }
}
