//! Inhibition rules, as Alertmanager has them: a firing "source" alert (say, a whole cluster
//! down) keeps "target" alerts that share the `equal` labels (each service in that cluster)
//! from notifying. Inhibited alerts still show, marked with what inhibits them.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use sqlx::PgExecutor;
use sqlx::types::Json as SqlJson;
use vigil_shared::alerting::{InhibitionRule, InhibitionRuleList, InhibitionRuleRequest, Matcher};

use super::silences::CompiledMatcher;
use crate::audit::{self, Target};
use crate::auth::{AuthUser, Editor};
use crate::error::{AppError, AppResult, FieldErrors, Json, Path};
use crate::metrics::model::is_valid_label_name;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inhibition-rules", get(list).post(create))
        .route(
            "/inhibition-rules/{id}",
            get(get_one).put(replace).delete(delete),
        )
}

/// A rule ready to apply.
pub struct Inhibitor {
    source: Vec<CompiledMatcher>,
    target: Vec<CompiledMatcher>,
    equal: Vec<String>,
}

impl Inhibitor {
    /// Whether `source` (a firing alert) inhibits `target` through this rule.
    fn inhibits(
        &self,
        source: &BTreeMap<String, String>,
        target: &BTreeMap<String, String>,
    ) -> bool {
        self.target.iter().all(|m| m.matches(target))
            && self.source.iter().all(|m| m.matches(source))
            && self
                .equal
                .iter()
                .all(|label| source.get(label) == target.get(label))
    }
}

/// Ids (of `firing`) of the alerts that inhibit `target`. An alert never inhibits itself.
pub fn inhibited_by(
    rules: &[Inhibitor],
    firing: &[(i64, BTreeMap<String, String>)],
    target_id: i64,
    target: &BTreeMap<String, String>,
) -> Vec<i64> {
    firing
        .iter()
        .filter(|(id, source)| *id != target_id && rules.iter().any(|r| r.inhibits(source, target)))
        .map(|(id, _)| *id)
        .collect()
}

pub async fn load<'e>(db: impl PgExecutor<'e>) -> Result<Vec<Inhibitor>, sqlx::Error> {
    Ok(select(db, None)
        .await?
        .into_iter()
        .filter_map(|rule| {
            let compile = |ms: &[Matcher]| {
                ms.iter()
                    .map(CompiledMatcher::new)
                    .collect::<Result<Vec<_>, _>>()
            };
            Some(Inhibitor {
                source: compile(&rule.rule.source_matchers).ok()?,
                target: compile(&rule.rule.target_matchers).ok()?,
                equal: rule.rule.equal,
            })
        })
        .collect())
}

/// Every firing alert's id and labels (the possible sources).
pub async fn firing<'e>(
    db: impl PgExecutor<'e>,
) -> Result<Vec<(i64, BTreeMap<String, String>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, labels AS "labels!: SqlJson<BTreeMap<String, String>>"
           FROM alerts WHERE state = 'firing'"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.labels.0)).collect())
}

fn validate(request: &InhibitionRuleRequest) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    if request.name.trim().is_empty() || request.name.chars().count() > 200 {
        errors.add("name", "is required (at most 200 characters)");
    }
    for (field, matchers) in [
        ("source_matchers", &request.source_matchers),
        ("target_matchers", &request.target_matchers),
    ] {
        if matchers.is_empty() {
            errors.add(field, "at least one matcher is required");
        }
        for m in matchers {
            if !is_valid_label_name(&m.name) {
                errors.add(field, format!("{:?} is not a valid label name", m.name));
            } else if let Err(problem) = CompiledMatcher::new(m) {
                errors.add(field, problem);
            }
        }
    }
    if let Some(bad) = request.equal.iter().find(|l| !is_valid_label_name(l)) {
        errors.add("equal", format!("{bad:?} is not a valid label name"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

async fn select<'e>(
    db: impl PgExecutor<'e>,
    id: Option<i64>,
) -> Result<Vec<InhibitionRule>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, name, equal, updated_at,
                  source_matchers AS "source_matchers!: SqlJson<Vec<Matcher>>",
                  target_matchers AS "target_matchers!: SqlJson<Vec<Matcher>>"
           FROM inhibition_rules WHERE $1::bigint IS NULL OR id = $1 ORDER BY lower(name), id"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| InhibitionRule {
            id: r.id,
            rule: InhibitionRuleRequest {
                name: r.name,
                source_matchers: r.source_matchers.0,
                target_matchers: r.target_matchers.0,
                equal: r.equal,
            },
            updated_at: r.updated_at,
        })
        .collect())
}

async fn find<'e>(db: impl PgExecutor<'e>, id: i64) -> AppResult<InhibitionRule> {
    select(db, Some(id))
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no inhibition rule with this id."))
}

async fn list(
    _user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<InhibitionRuleList>> {
    Ok(Json(InhibitionRuleList {
        rules: select(&state.db, None).await?,
    }))
}

async fn get_one(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<InhibitionRule>> {
    find(&state.db, id).await.map(Json)
}

async fn create(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(request): Json<InhibitionRuleRequest>,
) -> AppResult<(StatusCode, Json<InhibitionRule>)> {
    validate(&request).map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO inhibition_rules (name, source_matchers, target_matchers, equal)
         VALUES ($1, $2, $3, $4) RETURNING id",
        request.name.trim(),
        serde_json::to_value(&request.source_matchers).unwrap_or_default(),
        serde_json::to_value(&request.target_matchers).unwrap_or_default(),
        &request.equal
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "inhibition_rule.create",
        Target::of("inhibition_rule", id),
        json!({ "name": request.name.trim() }),
    )
    .await?;
    let rule = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

async fn replace(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<InhibitionRuleRequest>,
) -> AppResult<Json<InhibitionRule>> {
    validate(&request).map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    let updated = sqlx::query!(
        "UPDATE inhibition_rules
         SET name = $2, source_matchers = $3, target_matchers = $4, equal = $5, updated_at = now()
         WHERE id = $1",
        id,
        request.name.trim(),
        serde_json::to_value(&request.source_matchers).unwrap_or_default(),
        serde_json::to_value(&request.target_matchers).unwrap_or_default(),
        &request.equal
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AppError::not_found(
            "There is no inhibition rule with this id.",
        ));
    }
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "inhibition_rule.update",
        Target::of("inhibition_rule", id),
        json!({ "name": request.name.trim() }),
    )
    .await?;
    let rule = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(Json(rule))
}

async fn delete(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let deleted = sqlx::query!("DELETE FROM inhibition_rules WHERE id = $1", id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(AppError::not_found(
            "There is no inhibition rule with this id.",
        ));
    }
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "inhibition_rule.delete",
        Target::of("inhibition_rule", id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_shared::alerting::MatchOp;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).into(), (*v).into()))
            .collect()
    }

    fn eq(name: &str, value: &str) -> CompiledMatcher {
        CompiledMatcher::new(&Matcher {
            name: name.into(),
            value: value.into(),
            op: MatchOp::Equal,
        })
        .unwrap()
    }

    #[test]
    fn a_cluster_outage_inhibits_its_services_only() {
        let rules = [Inhibitor {
            source: vec![eq("alertname", "ClusterDown")],
            target: vec![eq("severity", "warning")],
            equal: vec!["cluster".into()],
        }];
        let firing = vec![(
            1,
            labels(&[("alertname", "ClusterDown"), ("cluster", "eu")]),
        )];
        let in_eu = labels(&[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("cluster", "eu"),
        ]);
        let in_us = labels(&[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("cluster", "us"),
        ]);
        let critical = labels(&[
            ("alertname", "Slow"),
            ("severity", "critical"),
            ("cluster", "eu"),
        ]);
        assert_eq!(inhibited_by(&rules, &firing, 2, &in_eu), [1]);
        assert!(inhibited_by(&rules, &firing, 3, &in_us).is_empty());
        assert!(inhibited_by(&rules, &firing, 4, &critical).is_empty());
        assert!(
            inhibited_by(&rules, &firing, 1, &firing[0].1).is_empty(),
            "never itself"
        );
    }
}
