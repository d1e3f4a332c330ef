//! The Alertmanager API v2 under `/alertmanager/api/v2/`, so Prometheus (with
//! `alerting.alertmanagers` pointing at Vigil, `path_prefix: /alertmanager`), `amtool` and
//! Grafana talk to Vigil as to an Alertmanager.
//!
//! Alerts posted here join the same alert list as those of Vigil's own rules. As in
//! Alertmanager, an alert without `endsAt` is considered resolved five minutes after it was
//! last sent (Prometheus re-sends firing alerts every minute), and one whose `endsAt` has passed
//! is resolved.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use vigil_shared::alerting::{
    AlertState, MatchOp, Matcher, Severity, SilenceRequest, SilenceState,
};
use vigil_shared::live::LiveEvent;

use super::fingerprint::alertmanager_fingerprint;
use super::silences::{self, CompiledMatcher};
use super::{inbox, inhibition};
use crate::audit::{self, Target};
use crate::auth::{IngestAccess, ReadAccess, Responder};
use crate::error::{AppError, AppResult, FieldErrors, Json, Path};
use crate::events;
use crate::metrics::model::{Labels, is_valid_label_name};
use crate::state::AppState;

/// How long an alert sent without `endsAt` stays firing unless sent again.
pub const RESOLVE_TIMEOUT: TimeDelta = TimeDelta::minutes(5);
const RECEIVER: &str = "vigil";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/alertmanager/api/v2/alerts",
            get(get_alerts).post(post_alerts),
        )
        .route(
            "/alertmanager/api/v2/silences",
            get(get_silences).post(post_silence),
        )
        .route(
            "/alertmanager/api/v2/silence/{id}",
            get(get_silence).delete(delete_silence),
        )
        .route("/alertmanager/api/v2/status", get(status))
        .route("/alertmanager/api/v2/receivers", get(receivers))
        .route("/alertmanager/api/v2/alerts/groups", post(not_supported))
}

async fn not_supported() -> AppError {
    AppError::MethodNotAllowed(
        "Alert groups are not offered by Vigil's Alertmanager API.".to_owned(),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    generator_url: String,
}

fn severity_of(labels: &BTreeMap<String, String>) -> Severity {
    match labels
        .get("severity")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("critical" | "page" | "error" | "high") => Severity::Critical,
        Some("info" | "informational" | "low" | "none") => Severity::Info,
        _ => Severity::Warning,
    }
}

/// Alertmanager's fingerprint is over every label; so is this one.
fn fingerprint(labels: &BTreeMap<String, String>) -> Uuid {
    Labels::from_pairs(labels.iter().map(|(n, v)| (n.as_str(), v.as_str()))).fingerprint()
}

fn check(alerts: &[PostableAlert]) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    for (i, alert) in alerts.iter().enumerate() {
        if alert.labels.is_empty() {
            errors.add(&format!("[{i}].labels"), "at least one label is required");
        }
        if let Some(name) = alert.labels.keys().find(|n| !is_valid_label_name(n)) {
            errors.add(
                &format!("[{i}].labels"),
                format!("{name:?} is not a valid label name"),
            );
        }
        if let (Some(start), Some(end)) = (alert.starts_at, alert.ends_at)
            && end < start
        {
            errors.add(&format!("[{i}].endsAt"), "is before startsAt");
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

async fn post_alerts(
    _caller: IngestAccess,
    State(state): State<AppState>,
    Json(alerts): Json<Vec<PostableAlert>>,
) -> AppResult<StatusCode> {
    check(&alerts).map_err(AppError::Validation)?;
    let now = Utc::now();
    let mut tx = state.db.begin().await?;
    for alert in &alerts {
        receive(&mut tx, alert, now).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::OK)
}

/// Stores one posted alert: starts or refreshes a live alert, or resolves it.
async fn receive(
    conn: &mut PgConnection,
    alert: &PostableAlert,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let fingerprint = fingerprint(&alert.labels);
    let starts_at = alert.starts_at.unwrap_or(now);
    let ends_at = alert.ends_at.unwrap_or(now + RESOLVE_TIMEOUT);
    let severity = severity_of(&alert.labels);
    let labels = serde_json::to_value(&alert.labels).unwrap_or_default();
    let annotations = serde_json::to_value(&alert.annotations).unwrap_or_default();
    let live = sqlx::query_scalar!(
        "SELECT id FROM alerts
         WHERE rule_id IS NULL AND fingerprint = $1 AND state IN ('pending', 'firing')
         FOR UPDATE",
        fingerprint
    )
    .fetch_optional(&mut *conn)
    .await?;
    match (live, ends_at <= now) {
        (Some(id), true) => resolve(conn, id, ends_at, now).await,
        (None, true) => Ok(()),
        (Some(id), false) => {
            sqlx::query!(
                "UPDATE alerts SET annotations = $2, ends_at = $3, generator_url = $4,
                                   updated_at = $5
                 WHERE id = $1",
                id,
                annotations,
                ends_at,
                alert.generator_url,
                now
            )
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
        (None, false) => {
            let id = sqlx::query_scalar!(
                "INSERT INTO alerts (rule_id, fingerprint, labels, annotations, state, severity,
                                     active_at, fired_at, last_true_at, ends_at, generator_url,
                                     updated_at)
                 VALUES (NULL, $1, $2, $3, 'firing', $4, $5, $5, $6, $7, $8, $6)
                 RETURNING id",
                fingerprint,
                labels,
                annotations,
                severity.as_str(),
                starts_at,
                now,
                ends_at,
                alert.generator_url
            )
            .fetch_one(&mut *conn)
            .await?;
            inbox::post(conn, id).await?;
            record(
                conn,
                id,
                AlertState::Inactive,
                AlertState::Firing,
                severity,
                now,
            )
            .await
        }
    }
}

async fn resolve(
    conn: &mut PgConnection,
    id: i64,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let severity = sqlx::query_scalar!(
        "UPDATE alerts SET state = 'resolved', resolved_at = $2, updated_at = $3
         WHERE id = $1 RETURNING severity",
        id,
        at.min(now),
        now
    )
    .fetch_one(&mut *conn)
    .await?;
    let severity = crate::db::stored("alerts.severity", &severity)?;
    record(
        conn,
        id,
        AlertState::Firing,
        AlertState::Resolved,
        severity,
        now,
    )
    .await
}

async fn record(
    conn: &mut PgConnection,
    id: i64,
    from: AlertState,
    to: AlertState,
    severity: Severity,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO alert_history (alert_id, at, from_state, to_state, severity)
         VALUES ($1, $2, $3, $4, $5)",
        id,
        now,
        from.as_str(),
        to.as_str(),
        severity.as_str()
    )
    .execute(&mut *conn)
    .await?;
    let event = LiveEvent::Alert {
        id,
        rule_id: None,
        state: to,
        severity,
    };
    events::publish(conn, &event).await
}

/// Resolves external alerts whose `endsAt` has passed without a refresh.
pub async fn resolve_expired(db: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let mut tx = db.begin().await?;
    let expired = sqlx::query!(
        "SELECT id, ends_at AS \"ends_at!\" FROM alerts
         WHERE rule_id IS NULL AND state = 'firing' AND ends_at <= $1
         FOR UPDATE SKIP LOCKED",
        now
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in &expired {
        resolve(&mut tx, row.id, row.ends_at, now).await?;
    }
    tx.commit().await?;
    Ok(expired.len())
}

/// `GET /alerts` parameters: `active`, `silenced`, `inhibited` (booleans, default true) and
/// `filter` (repeated matchers such as `alertname="HighLatency"`).
struct AlertsQuery {
    active: bool,
    silenced: bool,
    inhibited: bool,
    filter: Vec<String>,
}

impl AlertsQuery {
    fn parse(raw: Option<&str>) -> AppResult<Self> {
        let mut query = AlertsQuery {
            active: true,
            silenced: true,
            inhibited: true,
            filter: Vec::new(),
        };
        for (name, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let flag = || match value.as_ref() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(AppError::invalid(&name, "must be true or false")),
            };
            match name.as_ref() {
                "active" => query.active = flag()?,
                "silenced" => query.silenced = flag()?,
                "inhibited" => query.inhibited = flag()?,
                "unprocessed" => {
                    flag()?;
                }
                "filter" => query.filter.push(value.into_owned()),
                _ => {}
            }
        }
        Ok(query)
    }
}

/// Parses an Alertmanager filter matcher: `name="value"`, `name!=value`, `name=~"re"`, `name!~re`.
pub fn parse_matcher(text: &str) -> Result<Matcher, String> {
    let text = text
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim();
    let (at, op) = ["=~", "!~", "!=", "="]
        .iter()
        .filter_map(|op| text.find(op).map(|at| (at, *op)))
        .min_by_key(|(at, op)| (*at, std::cmp::Reverse(op.len())))
        .ok_or_else(|| format!("{text:?} is not a matcher such as alertname=\"Foo\""))?;
    let name = text[..at].trim();
    let value = text[at + op.len()..].trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
        .replace("\\\"", "\"");
    if !is_valid_label_name(name) {
        return Err(format!("{name:?} is not a valid label name"));
    }
    let op = match op {
        "=" => MatchOp::Equal,
        "!=" => MatchOp::NotEqual,
        "=~" => MatchOp::Regex,
        _ => MatchOp::NotRegex,
    };
    Ok(Matcher {
        name: name.to_owned(),
        value,
        op,
    })
}

async fn get_alerts(
    _caller: ReadAccess,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<Vec<Value>>> {
    let query = AlertsQuery::parse(raw.as_deref())?;
    let filters = query
        .filter
        .iter()
        .map(|f| parse_matcher(f).and_then(|m| CompiledMatcher::new(&m)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::invalid("filter", e))?;
    let now = Utc::now();
    let rows = sqlx::query!(
        r#"SELECT a.id, a.active_at, a.fired_at, a.updated_at, a.ends_at, a.generator_url,
                  r.interval_ms AS "interval_ms?",
                  a.labels AS "labels!: SqlJson<BTreeMap<String, String>>",
                  a.annotations AS "annotations!: SqlJson<BTreeMap<String, String>>"
           FROM alerts a LEFT JOIN alert_rules r ON r.id = a.rule_id
           WHERE a.state = 'firing'
           ORDER BY a.active_at"#
    )
    .fetch_all(&state.db)
    .await?;
    let active = silences::active(&state.db, now).await?;
    let inhibitors = inhibition::load(&state.db).await?;
    let firing = inhibition::firing(&state.db).await?;
    let fingerprints: BTreeMap<i64, String> = firing
        .iter()
        .map(|(id, labels)| (*id, alertmanager_fingerprint(labels)))
        .collect();
    let mut out = Vec::new();
    for row in rows {
        let labels = row.labels.0;
        if !filters.iter().all(|f| f.matches(&labels)) {
            continue;
        }
        let silenced_by = silences::silenced_by(&active, &labels);
        let inhibited_by: Vec<&String> =
            inhibition::inhibited_by(&inhibitors, &firing, row.id, &labels)
                .iter()
                .filter_map(|id| fingerprints.get(id))
                .collect();
        let suppressed = !silenced_by.is_empty() || !inhibited_by.is_empty();
        let wanted = if !inhibited_by.is_empty() {
            query.inhibited
        } else if suppressed {
            query.silenced
        } else {
            query.active
        };
        if !wanted {
            continue;
        }
        // Vigil's own rule alerts end, unless re-evaluated, after a few intervals (as
        // Prometheus sets endsAt when it sends them).
        let ends_at = row.ends_at.unwrap_or_else(|| {
            now + TimeDelta::milliseconds(4 * row.interval_ms.unwrap_or(60_000))
        });
        out.push(json!({
            "labels": labels,
            "annotations": row.annotations.0,
            "startsAt": row.fired_at.unwrap_or(row.active_at),
            "endsAt": ends_at,
            "updatedAt": row.updated_at,
            "fingerprint": alertmanager_fingerprint(&labels),
            "generatorURL": row.generator_url,
            "receivers": [{ "name": RECEIVER }],
            "status": {
                "state": if suppressed { "suppressed" } else { "active" },
                "silencedBy": silenced_by,
                "inhibitedBy": inhibited_by,
            },
        }));
    }
    Ok(Json(out))
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmMatcher {
    name: String,
    value: String,
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

impl From<&Matcher> for AmMatcher {
    fn from(m: &Matcher) -> Self {
        AmMatcher {
            name: m.name.clone(),
            value: m.value.clone(),
            is_regex: matches!(m.op, MatchOp::Regex | MatchOp::NotRegex),
            is_equal: matches!(m.op, MatchOp::Equal | MatchOp::Regex),
        }
    }
}

impl From<&AmMatcher> for Matcher {
    fn from(m: &AmMatcher) -> Self {
        Matcher {
            name: m.name.clone(),
            value: m.value.clone(),
            op: match (m.is_regex, m.is_equal) {
                (false, true) => MatchOp::Equal,
                (false, false) => MatchOp::NotEqual,
                (true, true) => MatchOp::Regex,
                (true, false) => MatchOp::NotRegex,
            },
        }
    }
}

fn gettable(silence: &vigil_shared::alerting::Silence) -> Value {
    json!({
        "id": silence.id,
        "status": { "state": match silence.state {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        } },
        "updatedAt": silence.updated_at,
        "matchers": silence.matchers.iter().map(AmMatcher::from).collect::<Vec<_>>(),
        "startsAt": silence.starts_at,
        "endsAt": silence.ends_at,
        "createdBy": silence.created_by,
        "comment": silence.comment,
    })
}

async fn get_silences(
    _caller: ReadAccess,
    State(state): State<AppState>,
) -> AppResult<Json<Vec<Value>>> {
    let all = silences::select(&state.db, None, Utc::now()).await?;
    Ok(Json(all.iter().map(gettable).collect()))
}

async fn get_silence(
    _caller: ReadAccess,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let silence = silences::find(&state.db, silences::parse_id(&id)?).await?;
    Ok(Json(gettable(&silence)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: Option<String>,
    matchers: Vec<AmMatcher>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

/// Creates a silence, or with `id` replaces one (ending the old and starting a new, as
/// Alertmanager does when matchers change).
async fn post_silence(
    Responder(user): Responder,
    State(state): State<AppState>,
    Json(posted): Json<PostableSilence>,
) -> AppResult<Json<Value>> {
    let now = Utc::now();
    let request = SilenceRequest {
        matchers: posted.matchers.iter().map(Matcher::from).collect(),
        starts_at: Some(posted.starts_at.max(now)),
        ends_at: posted.ends_at,
        comment: posted.comment.clone(),
    };
    let silence = silences::validate(&request, now).map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    if let Some(old) = posted.id.as_deref().filter(|id| !id.is_empty()) {
        let old = silences::parse_id(old)?;
        if !silences::expire(&mut *tx, old, now).await? {
            return Err(AppError::not_found("There is no silence with this id."));
        }
    }
    let created_by = if posted.created_by.trim().is_empty() {
        user.email.clone()
    } else {
        format!("{} (as {})", user.email, posted.created_by.trim())
    };
    let id = silences::insert(&mut *tx, &silence, &created_by).await?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "silence.create",
        Target::of("silence", id),
        json!({ "via": "alertmanager_api", "replaces": posted.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({ "silenceID": id.to_string() })))
}

async fn delete_silence(
    Responder(user): Responder,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = silences::parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    if !silences::expire(&mut *tx, id, Utc::now()).await? {
        return Err(AppError::not_found("There is no silence with this id."));
    }
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "silence.expire",
        Target::of("silence", id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::OK)
}

async fn status(_caller: ReadAccess, State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "cluster": { "name": "vigil", "status": "ready", "peers": [] },
        "versionInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "revision": "",
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "",
        },
        "config": { "original": "" },
        "uptime": state.info.started_at,
    }))
}

async fn receivers(_caller: ReadAccess) -> Json<Value> {
    Json(json!([{ "name": RECEIVER }]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_as_amtool_writes_them() {
        let m = parse_matcher("alertname=\"High Latency\"").unwrap();
        assert_eq!(
            (m.name.as_str(), m.op, m.value.as_str()),
            ("alertname", MatchOp::Equal, "High Latency")
        );
        assert_eq!(parse_matcher("job=~\"pay.*\"").unwrap().op, MatchOp::Regex);
        assert_eq!(parse_matcher("job!=api").unwrap().op, MatchOp::NotEqual);
        assert_eq!(
            parse_matcher("{job!~\"a|b\"}").unwrap().op,
            MatchOp::NotRegex
        );
        assert!(parse_matcher("nonsense").is_err());
    }
}
