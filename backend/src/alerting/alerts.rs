//! Evaluating rules on their schedule and storing the alerts they raise, and the
//! `/api/v1/alerts` endpoints that read them.
//!
//! A replica claims a due rule by locking its row (`FOR UPDATE SKIP LOCKED`) and keeps the
//! lock until the alerts it computed are committed, with the rule's next evaluation time moved
//! on. Another replica skips a locked rule and, after the commit, finds it not due: each rule
//! is evaluated once per interval however many replicas run. A replica that dies mid-way
//! leaves the transaction to roll back, and the next one to look takes the rule over.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::types::Json as SqlJson;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use vigil_shared::alerting::{
    Alert, AlertHistory, AlertHistoryEntry, AlertList, AlertState, RuleAnnotations, Severity,
};
use vigil_shared::live::LiveEvent;

use super::evaluator::{self, Change, LiveAlert, Outcome, RuleSpec};
use super::record::AlertRecord;
use super::{inbox, inhibition, silences};
use crate::auth::AuthUser;
use crate::db;
use crate::error::{AppError, AppResult, Json, Path, Query};
use crate::events;
use crate::metrics::MetricStore;
use crate::metrics::model::Labels;
use crate::ops::metrics::Metrics;
use crate::promql::{Engine, QueryLimits, QueryOutput};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list_alerts))
        .route("/alerts/{id}", get(get_alert))
        .route("/alerts/{id}/history", get(alert_history))
}

/// What evaluating rules needs.
#[derive(Clone)]
pub struct Evaluator {
    pub db: PgPool,
    pub store: Arc<MetricStore>,
    pub telemetry: Arc<Metrics>,
    /// Rules evaluated at once.
    pub concurrency: usize,
    /// What one rule's query may cost (the server's query limits).
    pub limits: QueryLimits,
}

impl Evaluator {
    pub fn new(state: &AppState) -> Self {
        Evaluator {
            db: state.db.clone(),
            store: state.metrics.clone(),
            telemetry: state.telemetry.clone(),
            concurrency: 4,
            limits: state.config.query.clone(),
        }
    }

    /// Evaluates every rule due at `now`, as of `now`; returns how many were evaluated.
    pub async fn evaluate_due(&self, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..self.concurrency.max(1) {
            let this = self.clone();
            tasks.spawn(async move {
                let mut evaluated = 0;
                while this.evaluate_one(now).await? {
                    evaluated += 1;
                }
                Ok::<_, sqlx::Error>(evaluated)
            });
        }
        let mut total = 0;
        let mut failure = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(n)) => total += n,
                Ok(Err(error)) => failure = Some(error),
                Err(panic) => tracing::error!(%panic, "a rule evaluation task panicked"),
            }
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(total),
        }
    }

    /// Claims and evaluates one due rule; false when none is due (or all are being evaluated).
    async fn evaluate_one(&self, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let row = sqlx::query!(
            r#"SELECT id, name, query, comparison, warning_threshold, critical_threshold, for_ms,
                      interval_ms, keep_firing_for_ms, no_data_state, error_state,
                      labels AS "labels!: SqlJson<BTreeMap<String, String>>",
                      annotations AS "annotations!: SqlJson<RuleAnnotations>"
               FROM alert_rules
               WHERE enabled AND next_eval_at <= $1
               ORDER BY next_eval_at
               LIMIT 1
               FOR UPDATE SKIP LOCKED"#,
            now
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let started = Instant::now();
        let spec = RuleSpec {
            name: row.name,
            comparison: db::stored("alert_rules.comparison", &row.comparison)?,
            warning: row.warning_threshold,
            critical: row.critical_threshold,
            for_ms: row.for_ms,
            keep_firing_for_ms: row.keep_firing_for_ms,
            no_data_state: db::stored("alert_rules.no_data_state", &row.no_data_state)?,
            error_state: db::stored("alert_rules.error_state", &row.error_state)?,
            labels: row.labels.0,
            summary: row.annotations.0.summary,
            description: row.annotations.0.description,
            runbook_url: row.annotations.0.runbook_url,
        };
        let now_ms = now.timestamp_millis();
        let engine = Engine::new(&self.store).with_limits(self.limits.clone());
        let outcome = match engine.instant(&row.query, now_ms).await {
            Ok(QueryOutput::Vector { samples, .. }) => Outcome::Series(samples),
            Ok(QueryOutput::Scalar { value, .. }) => {
                Outcome::Series(vec![(Labels::default(), value)])
            }
            Ok(_) => Outcome::Failed("the query gives neither a vector nor a scalar".to_owned()),
            Err(error) => Outcome::Failed(error.to_string()),
        };
        let error = match &outcome {
            Outcome::Failed(message) => Some(message.clone()),
            Outcome::Series(_) => None,
        };
        let live = live_alerts(&mut tx, row.id).await?;
        let changes = evaluator::step(&spec, &live, &outcome, now_ms);
        store_changes(&mut tx, row.id, &changes, now).await?;
        sqlx::query!(
            "UPDATE alert_rules
             SET next_eval_at = $2::timestamptz + make_interval(secs => $3::bigint / 1000.0),
                 last_eval_at = $2, last_eval_ms = $4, last_error = $5
             WHERE id = $1",
            row.id,
            now,
            row.interval_ms,
            started.elapsed().as_millis().min(i32::MAX as u128) as i32,
            error
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.telemetry
            .record_rule_evaluation(started.elapsed().as_secs_f64(), error.is_some());
        if let Some(error) = error {
            tracing::debug!(rule = row.id, %error, "a rule's query failed");
        }
        Ok(true)
    }
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

async fn live_alerts(conn: &mut PgConnection, rule_id: i64) -> Result<Vec<LiveAlert>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, fingerprint, state, severity, value, active_at, fired_at, last_true_at,
                  keep_firing_since,
                  labels AS "labels!: SqlJson<BTreeMap<String, String>>",
                  annotations AS "annotations!: SqlJson<BTreeMap<String, String>>"
           FROM alerts WHERE rule_id = $1 AND state IN ('pending', 'firing')"#,
        rule_id
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(LiveAlert {
                id: Some(row.id),
                fingerprint: row.fingerprint,
                labels: row.labels.0,
                annotations: row.annotations.0,
                state: db::stored("alerts.state", &row.state)?,
                severity: db::stored("alerts.severity", &row.severity)?,
                value: row.value.unwrap_or(f64::NAN),
                active_at: row.active_at.timestamp_millis(),
                fired_at: row.fired_at.map(|t| t.timestamp_millis()),
                resolved_at: None,
                last_true_at: row.last_true_at.timestamp_millis(),
                keep_firing_since: row.keep_firing_since.map(|t| t.timestamp_millis()),
            })
        })
        .collect()
}

/// A firing alert as notify routes it.
pub struct RoutingAlert {
    pub id: i64,
    /// When it started firing or last changed severity.
    pub updated_at: DateTime<Utc>,
    pub labels: BTreeMap<String, String>,
    /// Its rule's own notification channels.
    pub rule_channels: Vec<i64>,
}

/// Those of `ids` still firing, as notify routes them.
pub async fn firing_for_routing(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<Vec<RoutingAlert>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT a.id, a.updated_at, a.labels AS "labels!: SqlJson<BTreeMap<String, String>>",
                  ARRAY(SELECT c.channel_id FROM alert_rule_channels c
                        WHERE c.rule_id = a.rule_id ORDER BY c.channel_id) AS "rule_channels!"
           FROM alerts a WHERE a.id = ANY($1) AND a.state = 'firing' ORDER BY a.id"#,
        ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RoutingAlert {
            id: r.id,
            updated_at: r.updated_at,
            labels: r.labels.0,
            rule_channels: r.rule_channels,
        })
        .collect())
}

/// A firing alert as an incident takes it, with what its rule says about incidents.
pub struct IncidentAlert {
    pub id: i64,
    pub rule_id: Option<i64>,
    pub rule_name: Option<String>,
    pub severity: Severity,
    pub escalation_policy_id: Option<i64>,
    /// The rule's `incident_group_by` (none for alerts without a rule).
    pub group_by: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Alert `id` if it is still firing, as an incident takes it.
pub async fn firing_for_incident(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<IncidentAlert>, sqlx::Error> {
    let Some(row) = sqlx::query!(
        r#"SELECT a.id, a.rule_id, a.severity, r.name AS "rule_name?", r.escalation_policy_id,
                  r.incident_group_by AS "group_by?",
                  a.labels AS "labels!: SqlJson<BTreeMap<String, String>>",
                  a.annotations AS "annotations!: SqlJson<BTreeMap<String, String>>"
           FROM alerts a LEFT JOIN alert_rules r ON r.id = a.rule_id
           WHERE a.id = $1 AND a.state = 'firing'"#,
        id
    )
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(IncidentAlert {
        id: row.id,
        rule_id: row.rule_id,
        rule_name: row.rule_name,
        severity: db::stored("alerts.severity", &row.severity)?,
        escalation_policy_id: row.escalation_policy_id,
        group_by: row.group_by.unwrap_or_default(),
        labels: row.labels.0,
        annotations: row.annotations.0,
    }))
}

/// The alerts `ids`, in the order of `ids` (ids of no alert left out).
pub async fn by_ids(conn: &mut PgConnection, ids: &[i64]) -> Result<Vec<AlertRecord>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT a.id, r.name AS "rule_name?", a.state, a.severity, a.value, a.active_at,
                  a.fired_at, a.resolved_at, a.generator_url,
                  a.labels AS "labels!: SqlJson<BTreeMap<String, String>>",
                  a.annotations AS "annotations!: SqlJson<BTreeMap<String, String>>"
           FROM unnest($1::bigint[]) WITH ORDINALITY AS wanted(id, position)
           JOIN alerts a ON a.id = wanted.id
           LEFT JOIN alert_rules r ON r.id = a.rule_id
           ORDER BY wanted.position"#,
        ids
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(AlertRecord {
                id: r.id,
                rule_name: r.rule_name,
                state: db::stored("alerts.state", &r.state)?,
                severity: db::stored("alerts.severity", &r.severity)?,
                value: r.value,
                active_at: r.active_at,
                fired_at: r.fired_at,
                resolved_at: r.resolved_at,
                generator_url: r.generator_url,
                labels: r.labels.0,
                annotations: r.annotations.0,
            })
        })
        .collect()
}

/// Those of the alerts `ids` that are in one of `states`.
pub async fn in_states(
    conn: &mut PgConnection,
    ids: &[i64],
    states: &[AlertState],
) -> Result<HashSet<i64>, sqlx::Error> {
    let states: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    let ids = sqlx::query_scalar!(
        "SELECT id FROM alerts WHERE id = ANY($1) AND state = ANY($2)",
        ids,
        &states as &[&str]
    )
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().collect())
}

async fn store_changes(
    conn: &mut PgConnection,
    rule_id: i64,
    changes: &[Change],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for change in changes {
        let alert = &change.alert;
        let labels = serde_json::to_value(&alert.labels).unwrap_or_default();
        let annotations = serde_json::to_value(&alert.annotations).unwrap_or_default();
        let id = match alert.id {
            Some(id) => {
                sqlx::query!(
                    "UPDATE alerts
                     SET labels = $2, annotations = $3, state = $4, severity = $5, value = $6,
                         fired_at = $7, resolved_at = $8, last_true_at = $9,
                         keep_firing_since = $10, updated_at = $11
                     WHERE id = $1",
                    id,
                    labels,
                    annotations,
                    alert.state.as_str(),
                    alert.severity.as_str(),
                    finite(alert.value),
                    alert.fired_at.map(time),
                    alert.resolved_at.map(time),
                    time(alert.last_true_at),
                    alert.keep_firing_since.map(time),
                    now
                )
                .execute(&mut *conn)
                .await?;
                id
            }
            None => {
                sqlx::query_scalar!(
                    "INSERT INTO alerts (rule_id, fingerprint, labels, annotations, state,
                                         severity, value, active_at, fired_at, last_true_at,
                                         updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     RETURNING id",
                    rule_id,
                    alert.fingerprint,
                    labels,
                    annotations,
                    alert.state.as_str(),
                    alert.severity.as_str(),
                    finite(alert.value),
                    time(alert.active_at),
                    alert.fired_at.map(time),
                    time(alert.last_true_at),
                    now
                )
                .fetch_one(&mut *conn)
                .await?
            }
        };
        if change.is_news() {
            inbox::post(conn, id).await?;
        }
        if change.is_transition() {
            sqlx::query!(
                "INSERT INTO alert_history (alert_id, at, from_state, to_state, from_severity,
                                            severity, value)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                id,
                now,
                change.from.as_str(),
                alert.state.as_str(),
                change.severity_from.map(Severity::as_str),
                alert.severity.as_str(),
                finite(alert.value)
            )
            .execute(&mut *conn)
            .await?;
            let event = LiveEvent::Alert {
                id,
                rule_id: Some(rule_id),
                state: alert.state,
                severity: alert.severity,
            };
            events::publish(&mut *conn, &event).await?;
        }
    }
    Ok(())
}

/// Background worker: evaluates due rules every second until shutdown, and resolves alerts
/// from the Alertmanager API that were not sent again in time.
pub async fn evaluator_worker(evaluator: Evaluator, shutdown: CancellationToken) {
    let mut ticker = crate::ticker::Ticker::every(Duration::from_secs(1), shutdown);
    while ticker.tick().await {
        let evaluating = evaluator.evaluate_due(Utc::now());
        ticker.run("evaluating alert rules", evaluating).await;
        let resolving = super::alertmanager::resolve_expired(&evaluator.db, Utc::now());
        ticker
            .run("resolving timed-out external alerts", resolving)
            .await;
    }
}

#[derive(Deserialize)]
struct AlertQuery {
    /// `live` (pending and firing, the default), `all`, or one state.
    state: Option<String>,
    severity: Option<String>,
    rule: Option<i64>,
    limit: Option<i64>,
}

async fn select_alerts(
    db: &PgPool,
    id: Option<i64>,
    states: &[&str],
    severity: Option<&str>,
    rule: Option<i64>,
    limit: i64,
) -> Result<Vec<Alert>, sqlx::Error> {
    let states: Vec<String> = states.iter().map(|s| (*s).to_owned()).collect();
    let rows = sqlx::query!(
        r#"SELECT a.id, a.rule_id, r.name AS "rule_name?", a.fingerprint, a.state, a.severity,
                  a.value, a.active_at, a.fired_at, a.resolved_at, a.updated_at,
                  a.labels AS "labels!: SqlJson<BTreeMap<String, String>>",
                  a.annotations AS "annotations!: SqlJson<BTreeMap<String, String>>"
           FROM alerts a LEFT JOIN alert_rules r ON r.id = a.rule_id
           WHERE ($1::bigint IS NULL OR a.id = $1)
             AND a.state = ANY($2)
             AND ($3::text IS NULL OR a.severity = $3)
             AND ($4::bigint IS NULL OR a.rule_id = $4)
           ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
                    a.active_at DESC
           LIMIT $5"#,
        id,
        &states,
        severity,
        rule,
        limit
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Alert {
                id: row.id,
                rule_id: row.rule_id,
                rule_name: row.rule_name,
                fingerprint: row.fingerprint.to_string(),
                labels: row.labels.0,
                annotations: row.annotations.0,
                state: db::stored("alerts.state", &row.state)?,
                severity: db::stored("alerts.severity", &row.severity)?,
                value: row.value,
                active_at: row.active_at,
                fired_at: row.fired_at,
                resolved_at: row.resolved_at,
                updated_at: row.updated_at,
                silenced_by: Vec::new(),
                inhibited_by: Vec::new(),
            })
        })
        .collect()
}

/// Marks each live alert with the silences that match it and the alerts inhibiting it now.
async fn mark_silenced(db: &PgPool, alerts: &mut [Alert]) -> Result<(), sqlx::Error> {
    let active = silences::active(db, Utc::now()).await?;
    let inhibitors = inhibition::load(db).await?;
    let firing = if inhibitors.is_empty() {
        Vec::new()
    } else {
        inhibition::firing(db).await?
    };
    for alert in alerts {
        if matches!(alert.state, AlertState::Pending | AlertState::Firing) {
            alert.silenced_by = silences::silenced_by(&active, &alert.labels);
            alert.inhibited_by =
                inhibition::inhibited_by(&inhibitors, &firing, alert.id, &alert.labels);
        }
    }
    Ok(())
}

async fn list_alerts(
    _user: AuthUser,
    State(state): State<AppState>,
    Query(query): Query<AlertQuery>,
) -> AppResult<Json<AlertList>> {
    let states: Vec<&str> = match query.state.as_deref().unwrap_or("live") {
        "live" => vec!["pending", "firing"],
        "all" => vec!["inactive", "pending", "firing", "resolved"],
        one => match AlertState::parse(one) {
            Some(state) => vec![state.as_str()],
            None => {
                return Err(AppError::invalid(
                    "state",
                    "must be live, all, inactive, pending, firing or resolved",
                ));
            }
        },
    };
    let severity = match query.severity.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            Severity::parse(text)
                .ok_or_else(|| AppError::invalid("severity", "must be info, warning or critical"))?
                .as_str(),
        ),
    };
    let limit = query.limit.unwrap_or(500).clamp(1, 5_000);
    let mut alerts = select_alerts(&state.db, None, &states, severity, query.rule, limit).await?;
    mark_silenced(&state.db, &mut alerts).await?;
    Ok(Json(AlertList { alerts }))
}

async fn find_alert(db: &PgPool, id: i64) -> AppResult<Alert> {
    let mut found = select_alerts(
        db,
        Some(id),
        &["inactive", "pending", "firing", "resolved"],
        None,
        None,
        1,
    )
    .await?;
    mark_silenced(db, &mut found).await?;
    found
        .pop()
        .ok_or_else(|| AppError::not_found("There is no alert with this id."))
}

async fn get_alert(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<Alert>> {
    find_alert(&state.db, id).await.map(Json)
}

async fn alert_history(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<AlertHistory>> {
    let alert = find_alert(&state.db, id).await?;
    let rows = sqlx::query!(
        "SELECT at, from_state, to_state, from_severity, severity, value
         FROM alert_history WHERE alert_id = $1 ORDER BY at, id",
        id
    )
    .fetch_all(&state.db)
    .await?;
    let history = rows
        .into_iter()
        .map(|row| {
            Ok(AlertHistoryEntry {
                at: row.at,
                from_state: db::stored("alert_history.from_state", &row.from_state)?,
                to_state: db::stored("alert_history.to_state", &row.to_state)?,
                from_severity: row
                    .from_severity
                    .as_deref()
                    .map(|s| db::stored("alert_history.from_severity", s))
                    .transpose()?,
                severity: db::stored("alert_history.severity", &row.severity)?,
                value: row.value,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Json(AlertHistory { alert, history }))
}
