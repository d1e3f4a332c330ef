//! Alert rules: validation with per-field errors, storage, and the `/api/v1/alert-rules`
//! endpoints (editors write, every logged-in user reads).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use promql_parser::parser::Expr;
use promql_parser::parser::value::ValueType;
use promql_parser::util::duration::{display_duration, parse_duration};
use serde::Deserialize;
use serde_json::json;
use sqlx::types::Json as SqlJson;
use sqlx::{PgConnection, PgExecutor};
use vigil_shared::alerting::{
    AlertRule, AlertRuleList, AlertRuleRequest, Comparison, ErrorState, NoDataState,
    RuleAnnotations,
};

use super::template::Template;
use crate::audit::{self, AuditActor, Target};
use crate::auth::{AuthUser, Editor};
use crate::db;
use crate::error::{self, AppError, AppResult, FieldErrors, Json, OnConstraint, Path, Query};
use crate::metrics::model::is_valid_label_name;
use crate::promql::QueryLimits;
use crate::promql::limits::{self, ParseProblem};
use crate::references::{self, Referrer, Table};
use crate::state::AppState;
use crate::users;

const MAX_NAME: usize = 200;
const MAX_TEXT: usize = 10_000;
const MAX_LABELS: usize = 30;
const MIN_INTERVAL: Duration = Duration::from_secs(1);
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alert-rules", get(list_rules).post(create_rule))
        .route(
            "/alert-rules/{id}",
            get(get_rule).put(replace_rule).delete(delete_rule),
        )
}

/// A rule that passed validation, in the form it is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidRule {
    pub name: String,
    pub group: String,
    pub description: String,
    pub query: String,
    pub comparison: Comparison,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub for_duration: Duration,
    pub interval: Duration,
    pub keep_firing_for: Duration,
    pub no_data_state: NoDataState,
    pub error_state: ErrorState,
    pub labels: BTreeMap<String, String>,
    pub annotations: RuleAnnotations,
    pub channel_ids: Vec<i64>,
    pub escalation_policy_id: Option<i64>,
    pub incident_group_by: Vec<String>,
    pub enabled: bool,
}

/// Checks every field of a rule, collecting all problems at once.
pub fn validate(
    request: &AlertRuleRequest,
    limits: &QueryLimits,
) -> Result<ValidRule, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = request.name.trim();
    match name.chars().count() {
        0 => errors.add("name", "is required"),
        n if n > MAX_NAME => errors.add("name", format!("must be at most {MAX_NAME} characters")),
        _ => {}
    }
    let group = request.group.trim();
    match group.chars().count() {
        0 => errors.add("group", "is required"),
        n if n > MAX_NAME => errors.add("group", format!("must be at most {MAX_NAME} characters")),
        _ => {}
    }
    if request.description.chars().count() > MAX_TEXT {
        errors.add(
            "description",
            format!("must be at most {MAX_TEXT} characters"),
        );
    }
    if let Err(problem) = check_query(&request.query, limits) {
        errors.add("query", problem);
    }

    let (warning, critical) = (request.warning_threshold, request.critical_threshold);
    for (field, threshold) in [
        ("warning_threshold", warning),
        ("critical_threshold", critical),
    ] {
        if threshold.is_some_and(|t| !t.is_finite()) {
            errors.add(field, "must be a finite number");
        }
    }
    match (warning, critical) {
        (None, None) => {
            errors.add(
                "critical_threshold",
                "set a warning or a critical threshold (or both)",
            );
            errors.add(
                "warning_threshold",
                "set a warning or a critical threshold (or both)",
            );
        }
        (Some(w), Some(c)) => {
            let comparison = request.comparison;
            let misordered = match comparison {
                Comparison::Above | Comparison::AtLeast => c < w,
                Comparison::Below | Comparison::AtMost => c > w,
                Comparison::Equal | Comparison::NotEqual => c == w,
            };
            if misordered {
                let why = match comparison {
                    Comparison::Above | Comparison::AtLeast => {
                        format!("must be at least the warning threshold ({w}) for \"{comparison}\"")
                    }
                    Comparison::Below | Comparison::AtMost => {
                        format!("must be at most the warning threshold ({w}) for \"{comparison}\"")
                    }
                    _ => "must differ from the warning threshold".to_owned(),
                };
                errors.add("critical_threshold", why);
            }
        }
        _ => {}
    }

    let mut duration = |field: &str, text: &str, min: Duration| -> Duration {
        match prometheus_duration(text) {
            Ok(d) if d < min => {
                errors.add(
                    field,
                    format!("must be at least {}", display_duration(&min)),
                );
                d
            }
            Ok(d) if d > MAX_DURATION => {
                errors.add(field, "must be at most 7d");
                d
            }
            Ok(d) => d,
            Err(_) => {
                errors.add(
                    field,
                    format!("{text:?} is not a duration; write e.g. 30s, 5m, 1h30m"),
                );
                Duration::ZERO
            }
        }
    };
    let for_duration = duration("for", &request.for_duration, Duration::ZERO);
    let interval = duration("interval", &request.interval, MIN_INTERVAL);
    let keep_firing_for = duration("keep_firing_for", &request.keep_firing_for, Duration::ZERO);

    if request.labels.len() > MAX_LABELS {
        errors.add("labels", format!("at most {MAX_LABELS} labels"));
    }
    if request.notification_channel_ids.len() > references::MAX_IDS {
        errors.add(
            "notification_channel_ids",
            format!("at most {} channels", references::MAX_IDS),
        );
    }
    if let Some(bad) = request
        .incident_group_by
        .iter()
        .find(|l| !is_valid_label_name(l))
    {
        errors.add(
            "incident_group_by",
            format!("{bad:?} is not a valid label name"),
        );
    }
    for (label, value) in &request.labels {
        if !is_valid_label_name(label) || label.starts_with("__") {
            errors.add(
                "labels",
                format!("{label:?} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not __…)"),
            );
        } else if matches!(label.as_str(), "alertname" | "severity") {
            errors.add(
                "labels",
                format!("{label:?} is set by Vigil (the rule's name and the threshold crossed)"),
            );
        } else if value.len() > 1024 {
            errors.add(
                "labels",
                format!("the value of {label:?} is over 1024 bytes"),
            );
        } else if let Err(problem) = Template::parse(value) {
            errors.add("labels", format!("{label}: {problem}"));
        }
    }
    let annotations = &request.annotations;
    for (field, text) in [
        ("annotations.summary", &annotations.summary),
        ("annotations.description", &annotations.description),
    ] {
        if text.chars().count() > MAX_TEXT {
            errors.add(field, format!("must be at most {MAX_TEXT} characters"));
        } else if let Err(problem) = Template::parse(text) {
            errors.add(field, problem);
        }
    }
    let runbook = annotations.runbook_url.trim();
    if !runbook.is_empty() {
        match Template::parse(runbook) {
            Err(problem) => errors.add("annotations.runbook_url", problem),
            Ok(_) if !(runbook.starts_with("http://") || runbook.starts_with("https://")) => errors
                .add(
                    "annotations.runbook_url",
                    "must be an http:// or https:// address",
                ),
            Ok(_) => {}
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidRule {
        name: name.to_owned(),
        group: group.to_owned(),
        description: request.description.trim().to_owned(),
        query: request.query.trim().to_owned(),
        comparison: request.comparison,
        warning,
        critical,
        for_duration,
        interval,
        keep_firing_for,
        no_data_state: request.no_data_state,
        error_state: request.error_state,
        labels: request.labels.clone(),
        annotations: RuleAnnotations {
            summary: annotations.summary.clone(),
            description: annotations.description.clone(),
            runbook_url: runbook.to_owned(),
        },
        channel_ids: {
            let mut ids = request.notification_channel_ids.clone();
            ids.sort_unstable();
            ids.dedup();
            ids
        },
        escalation_policy_id: request.escalation_policy_id,
        incident_group_by: request.incident_group_by.clone(),
        enabled: request.enabled,
    })
}

/// A Prometheus duration (`90s`, `1h30m`), zero included (the parser refuses `0s`).
pub fn prometheus_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if !digits.is_empty() && digits.chars().all(|c| c == '0') {
        return Ok(Duration::ZERO);
    }
    parse_duration(text)
}

/// Whether `query` is PromQL giving one value per series (or a single number), within the
/// limits the evaluator will run it with (so a rule that could never be evaluated is refused).
pub fn check_query(query: &str, limits: &QueryLimits) -> Result<Expr, String> {
    let query = query.trim();
    if query.is_empty() {
        return Err("is required".to_owned());
    }
    if let Some(problem) = unbalanced(query) {
        return Err(problem);
    }
    let expr = limits::parse_within(query, limits).map_err(|problem| match problem {
        ParseProblem::Syntax(e) => format!("is not valid PromQL: {e}"),
        ParseProblem::TooLarge(e) => format!("is too large: {e}"),
    })?;
    match expr.value_type() {
        ValueType::Vector | ValueType::Scalar => Ok(expr),
        other => Err(format!(
            "must give an instant vector or a scalar, not a {other} (wrap a range selector in \
             a function such as rate() or avg_over_time())"
        )),
    }
}

/// The first unbalanced bracket or unterminated string, with its position: the parser
/// itself says only "invalid promql query" for most of these.
fn unbalanced(query: &str) -> Option<String> {
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut chars = query.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let quote = c;
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    if d == '\\' && quote != '`' {
                        chars.next();
                    } else if d == quote {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Some(format!(
                        "is not valid PromQL: the string starting at character {} is never closed",
                        i + 1
                    ));
                }
            }
            '#' => {
                // A comment runs to the end of the line.
                for (_, d) in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '(' | '{' | '[' => open.push((c, i)),
            ')' | '}' | ']' => {
                let expected = match c {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                match open.pop() {
                    Some((o, _)) if o == expected => {}
                    _ => {
                        return Some(format!(
                            "is not valid PromQL: unexpected \"{c}\" at character {}",
                            i + 1
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    open.pop().map(|(c, i)| {
        format!(
            "is not valid PromQL: \"{c}\" at character {} is never closed",
            i + 1
        )
    })
}

#[derive(Deserialize)]
pub struct ListQuery {
    group: Option<String>,
}

/// Rules as the API shows them: one, or all (optionally of one group) by group and name.
pub async fn select(
    conn: &mut PgConnection,
    id: Option<i64>,
    group: Option<&str>,
) -> Result<Vec<AlertRule>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT r.id, r.name, r.rule_group, r.description, r.query, r.comparison,
                  r.warning_threshold, r.critical_threshold, r.for_ms, r.interval_ms,
                  r.keep_firing_for_ms, r.no_data_state, r.error_state,
                  r.labels AS "labels!: SqlJson<BTreeMap<String, String>>",
                  r.annotations AS "annotations!: SqlJson<RuleAnnotations>",
                  ARRAY(SELECT c.channel_id FROM alert_rule_channels c WHERE c.rule_id = r.id
                        ORDER BY c.channel_id) AS "channel_ids!",
                  r.escalation_policy_id, r.incident_group_by, r.enabled,
                  r.created_at, r.updated_at, r.updated_by, r.slo_id
           FROM alert_rules r
           WHERE ($1::bigint IS NULL OR r.id = $1) AND ($2::text IS NULL OR r.rule_group = $2)
           ORDER BY r.rule_group, lower(r.name)"#,
        id,
        group
    )
    .fetch_all(&mut *conn)
    .await?;
    let editors: Vec<i64> = rows.iter().filter_map(|r| r.updated_by).collect();
    let emails = users::emails(&mut *conn, &editors).await?;
    rows.into_iter()
        .map(|row| {
            Ok(AlertRule {
                id: row.id,
                rule: AlertRuleRequest {
                    name: row.name,
                    group: row.rule_group,
                    description: row.description,
                    query: row.query,
                    comparison: db::stored("alert_rules.comparison", &row.comparison)?,
                    warning_threshold: row.warning_threshold,
                    critical_threshold: row.critical_threshold,
                    for_duration: millis_text(row.for_ms),
                    interval: millis_text(row.interval_ms),
                    keep_firing_for: millis_text(row.keep_firing_for_ms),
                    no_data_state: db::stored("alert_rules.no_data_state", &row.no_data_state)?,
                    error_state: db::stored("alert_rules.error_state", &row.error_state)?,
                    labels: row.labels.0,
                    annotations: row.annotations.0,
                    notification_channel_ids: row.channel_ids,
                    escalation_policy_id: row.escalation_policy_id,
                    incident_group_by: row.incident_group_by,
                    enabled: row.enabled,
                },
                created_at: row.created_at,
                updated_at: row.updated_at,
                updated_by: row.updated_by.and_then(|id| emails.get(&id).cloned()),
                slo_id: row.slo_id,
            })
        })
        .collect()
}

pub(crate) fn millis_text(ms: i64) -> String {
    display_duration(&Duration::from_millis(ms.max(0) as u64))
}

fn state_text<T: serde::Serialize>(state: &T) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub async fn find(conn: &mut PgConnection, id: i64) -> AppResult<AlertRule> {
    select(conn, Some(id), None)
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no alert rule with this id."))
}

fn name_taken() -> AppError {
    AppError::conflict_on(
        "name",
        "A rule with this name already exists in this group.",
    )
}

fn millis(duration: Duration) -> i64 {
    duration.as_millis().min(i64::MAX as u128) as i64
}

/// Refuses notification channels and an escalation policy that do not exist (their foreign
/// keys would; this says so before the write).
async fn check_references(conn: &mut PgConnection, rule: &ValidRule) -> AppResult<()> {
    if let Some(policy) = rule.escalation_policy_id
        && !references::missing(conn, Table::EscalationPolicies, &[policy])
            .await?
            .is_empty()
    {
        return Err(no_policy(policy));
    }
    if !references::missing(conn, Table::NotificationChannels, &rule.channel_ids)
        .await?
        .is_empty()
    {
        return Err(no_channel());
    }
    Ok(())
}

fn no_policy(id: i64) -> AppError {
    AppError::invalid(
        "escalation_policy_id",
        format!("there is no escalation policy {id}"),
    )
}

fn no_channel() -> AppError {
    AppError::invalid(
        "notification_channel_ids",
        "names a notification channel that does not exist",
    )
}

/// Inserts a rule, or with `id` replaces that one, as saved by `user_id` (none: by Vigil
/// itself); returns its id (None: no such rule). A channel or escalation policy that does not
/// exist is refused by its foreign key and answered 422 on its field.
pub async fn store(
    conn: &mut PgConnection,
    id: Option<i64>,
    rule: &ValidRule,
    user_id: Option<i64>,
) -> AppResult<Option<i64>> {
    let stored = sqlx::query_scalar!(
        r#"WITH input AS (
               SELECT $2::text AS name, $3::text AS rule_group, $4::text AS description,
                      $5::text AS query, $6::text AS comparison, $7::float8 AS warning_threshold,
                      $8::float8 AS critical_threshold, $9::bigint AS for_ms,
                      $10::bigint AS interval_ms, $11::bigint AS keep_firing_for_ms,
                      $12::text AS no_data_state, $13::text AS error_state, $14::jsonb AS labels,
                      $15::jsonb AS annotations, $16::boolean AS enabled, $17::bigint AS updated_by,
                      $18::bigint AS escalation_policy_id, $19::text[] AS incident_group_by
           ), inserted AS (
               INSERT INTO alert_rules (name, rule_group, description, query, comparison,
                                        warning_threshold, critical_threshold, for_ms,
                                        interval_ms, keep_firing_for_ms, no_data_state,
                                        error_state, labels, annotations, enabled, updated_by,
                                        escalation_policy_id, incident_group_by)
               SELECT * FROM input WHERE $1::bigint IS NULL
               RETURNING id
           ), updated AS (
               UPDATE alert_rules r
               SET name = i.name, rule_group = i.rule_group, description = i.description,
                   query = i.query, comparison = i.comparison,
                   warning_threshold = i.warning_threshold,
                   critical_threshold = i.critical_threshold, for_ms = i.for_ms,
                   interval_ms = i.interval_ms, keep_firing_for_ms = i.keep_firing_for_ms,
                   no_data_state = i.no_data_state, error_state = i.error_state,
                   labels = i.labels, annotations = i.annotations, enabled = i.enabled,
                   updated_by = i.updated_by,
                   escalation_policy_id = i.escalation_policy_id,
                   incident_group_by = i.incident_group_by, updated_at = now(),
                   next_eval_at = now()
               FROM input i
               WHERE r.id = $1
               RETURNING r.id
           )
           SELECT id AS "id!" FROM inserted UNION ALL SELECT id FROM updated"#,
        id,
        rule.name,
        rule.group,
        rule.description,
        rule.query,
        rule.comparison.symbol(),
        rule.warning,
        rule.critical,
        millis(rule.for_duration),
        millis(rule.interval),
        millis(rule.keep_firing_for),
        state_text(&rule.no_data_state),
        state_text(&rule.error_state),
        serde_json::to_value(&rule.labels).unwrap_or_default(),
        serde_json::to_value(&rule.annotations).unwrap_or_default(),
        rule.enabled,
        user_id,
        rule.escalation_policy_id,
        &rule.incident_group_by
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| match error::constraint(&e) {
        Some("alert_rules_group_name_key") => name_taken(),
        Some("alert_rules_escalation_policy_id_fkey") => {
            no_policy(rule.escalation_policy_id.unwrap_or_default())
        }
        _ => e.into(),
    })?;
    let Some(id) = stored else {
        return Ok(None);
    };
    sqlx::query!("DELETE FROM alert_rule_channels WHERE rule_id = $1", id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO alert_rule_channels (rule_id, channel_id) SELECT $1, unnest($2::bigint[])",
        id,
        &rule.channel_ids
    )
    .execute(&mut *conn)
    .await
    .on_constraint("alert_rule_channels_channel_id_fkey", no_channel)?;
    Ok(Some(id))
}

/// Rules name notification channels and escalation policies (`references`).
pub const REFERRERS: &[Referrer] = &[
    crate::referrer!(
        NotificationChannels,
        "alert rules",
        "SELECT r.name FROM alert_rules r JOIN alert_rule_channels c ON c.rule_id = r.id
         WHERE c.channel_id = $1 ORDER BY r.rule_group, lower(r.name)"
    ),
    crate::referrer!(
        EscalationPolicies,
        "alert rules",
        "SELECT name FROM alert_rules WHERE escalation_policy_id = $1
         ORDER BY rule_group, lower(name)"
    ),
];

async fn list_rules(
    _user: AuthUser,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<AlertRuleList>> {
    Ok(Json(AlertRuleList {
        rules: select(
            &mut *state.db.acquire().await?,
            None,
            query.group.as_deref(),
        )
        .await?,
    }))
}

async fn get_rule(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<AlertRule>> {
    find(&mut *state.db.acquire().await?, id).await.map(Json)
}

async fn create_rule(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(request): Json<AlertRuleRequest>,
) -> AppResult<(StatusCode, Json<AlertRule>)> {
    let mut tx = state.db.begin().await?;
    let saved = insert(
        &mut tx,
        editor.audit_actor(),
        Some(editor.id),
        &request,
        &state.config.query,
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// Checks and creates a rule, saved by `updated_by` (none: by Vigil itself) and recorded as
/// done by `actor`; the API and demo mode's seeding both create rules through here. The caller
/// commits.
pub async fn insert(
    conn: &mut PgConnection,
    actor: AuditActor<'_>,
    updated_by: Option<i64>,
    request: &AlertRuleRequest,
    query_limits: &QueryLimits,
) -> AppResult<AlertRule> {
    let rule = validate(request, query_limits).map_err(AppError::Validation)?;
    check_references(conn, &rule).await?;
    let id = store(&mut *conn, None, &rule, updated_by)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("inserting a rule returned no id")))?;
    audit::record(
        &mut *conn,
        actor,
        "alert_rule.create",
        Target::of("alert_rule", id),
        json!({ "name": rule.name, "group": rule.group }),
    )
    .await?;
    find(&mut *conn, id).await
}

/// The id of the rule named `name` in `group` (names are unique in a group regardless of
/// case).
pub async fn id_by_name<'e>(
    db: impl PgExecutor<'e>,
    group: &str,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM alert_rules WHERE rule_group = $1 AND lower(name) = lower($2)",
        group.trim(),
        name.trim()
    )
    .fetch_optional(db)
    .await
}

/// Saves the rule an SLO generates as `rule.name` (creating or replacing it); returns its id.
/// The caller has validated the rule and commits.
pub async fn store_generated(
    conn: &mut PgConnection,
    slo_id: i64,
    rule: &ValidRule,
) -> AppResult<i64> {
    let existing = sqlx::query_scalar!(
        "SELECT id FROM alert_rules WHERE slo_id = $1 AND name = $2",
        slo_id,
        rule.name
    )
    .fetch_optional(&mut *conn)
    .await?;
    check_references(conn, rule).await?;
    let id = store(&mut *conn, existing, rule, None)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a generated rule vanished")))?;
    sqlx::query!(
        "UPDATE alert_rules SET slo_id = $2 WHERE id = $1",
        id,
        slo_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Deletes the rules an SLO generated, except those in `keep`.
pub async fn delete_generated(
    conn: &mut PgConnection,
    slo_id: i64,
    keep: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM alert_rules WHERE slo_id = $1 AND id <> ALL($2)",
        slo_id,
        keep
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The ids of the rules each of `slo_ids` generated.
pub async fn generated_by(
    conn: &mut PgConnection,
    slo_ids: &[i64],
) -> Result<BTreeMap<i64, Vec<i64>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT slo_id AS "slo_id!", id FROM alert_rules WHERE slo_id = ANY($1) ORDER BY id"#,
        slo_ids
    )
    .fetch_all(conn)
    .await?;
    let mut by_slo: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for row in rows {
        by_slo.entry(row.slo_id).or_default().push(row.id);
    }
    Ok(by_slo)
}

/// Refuses to change a rule an SLO generated (409), and answers 404 for no rule.
async fn refuse_generated(conn: &mut PgConnection, id: i64) -> AppResult<()> {
    let slo = sqlx::query_scalar!("SELECT slo_id FROM alert_rules WHERE id = $1", id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found("There is no alert rule with this id."))?;
    match slo {
        Some(slo) => Err(AppError::conflict(format!(
            "This rule is generated by SLO {slo} and is read-only; change the SLO instead."
        ))),
        None => Ok(()),
    }
}

async fn replace_rule(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<AlertRuleRequest>,
) -> AppResult<Json<AlertRule>> {
    let rule = validate(&request, &state.config.query).map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    refuse_generated(&mut tx, id).await?;
    check_references(&mut tx, &rule).await?;
    store(&mut tx, Some(id), &rule, Some(editor.id))
        .await?
        .ok_or_else(|| AppError::not_found("There is no alert rule with this id."))?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "alert_rule.update",
        Target::of("alert_rule", id),
        json!({ "name": rule.name, "group": rule.group }),
    )
    .await?;
    let saved = find(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(saved))
}

async fn delete_rule(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    refuse_generated(&mut tx, id).await?;
    let name = sqlx::query_scalar!("DELETE FROM alert_rules WHERE id = $1 RETURNING name", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::not_found("There is no alert rule with this id."))?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "alert_rule.delete",
        Target::of("alert_rule", id),
        json!({ "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AlertRuleRequest {
        serde_json::from_value(json!({
            "name": "High error rate",
            "query": "sum by (job) (rate(http_requests_total{status=\"500\"}[5m]))",
            "comparison": ">",
            "warning_threshold": 1.0,
            "critical_threshold": 5.0,
            "for": "5m",
        }))
        .unwrap()
    }

    #[test]
    fn a_good_rule_passes_with_defaults() {
        let rule = validate(&request(), &QueryLimits::default()).unwrap();
        assert_eq!(rule.group, "default");
        assert_eq!(rule.interval, Duration::from_secs(60));
        assert_eq!(rule.for_duration, Duration::from_secs(300));
        assert!(rule.enabled);
    }

    #[test]
    fn thresholds_must_be_ordered_for_the_comparison() {
        let mut r = request();
        r.critical_threshold = Some(0.5);
        let errors = validate(&r, &QueryLimits::default())
            .unwrap_err()
            .to_string();
        assert!(errors.contains("critical_threshold must be at least the warning threshold"));
        r.comparison = Comparison::Below;
        assert!(
            validate(&r, &QueryLimits::default()).is_ok(),
            "for < critical is the lower one"
        );
        r.warning_threshold = None;
        r.critical_threshold = None;
        let errors = validate(&r, &QueryLimits::default())
            .unwrap_err()
            .to_string();
        assert!(errors.contains("warning_threshold set a warning or a critical"));
    }

    #[test]
    fn bad_promql_is_reported_with_a_position() {
        for (query, expected) in [
            ("rate(x[5m]", "\"(\" at character 5 is never closed"),
            ("sum(x))", "unexpected \")\" at character 7"),
            ("x{job=\"a}", "string starting at character 7"),
            ("x >", "is not valid PromQL"),
            ("x[5m]", "must give an instant vector"),
            ("", "is required"),
        ] {
            let problem = check_query(query, &QueryLimits::default()).unwrap_err();
            assert!(problem.contains(expected), "{query}: {problem}");
        }
        assert!(check_query("up == 0 # down", &QueryLimits::default()).is_ok());
    }

    #[test]
    fn durations_labels_and_templates_are_checked_per_field() {
        let mut r = request();
        r.for_duration = "five minutes".into();
        r.interval = "0s".into();
        r.labels.insert("team".into(), "db".into());
        r.labels.insert("bad-name".into(), "x".into());
        r.annotations.summary = "{{ $value".into();
        r.annotations.runbook_url = "wiki/page".into();
        let errors = validate(&r, &QueryLimits::default())
            .unwrap_err()
            .to_string();
        for field in [
            "for \"five minutes\" is not a duration",
            "interval must be at least 1s",
            "labels \"bad-name\" is not a valid label name",
            "annotations.summary \"{{\" at character 1 is never closed",
            "annotations.runbook_url must be an http",
        ] {
            assert!(errors.contains(field), "{field} missing from {errors}");
        }
    }
}
