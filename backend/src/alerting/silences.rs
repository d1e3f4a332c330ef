//! Silences: label matchers and a time window during which matching alerts notify nobody
//! (they still show, marked as silenced). Alertmanager's model, so its API and `amtool` work.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Utc};
use regex::Regex;
use serde::Deserialize;
use serde_json::json;
use sqlx::types::Json as SqlJson;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;
use vigil_shared::alerting::{
    MatchOp, Matcher, Silence, SilenceList, SilenceRequest, SilenceState,
};

use crate::audit::{self, Target};
use crate::auth::{AuthUser, Responder};
use crate::error::{AppError, AppResult, FieldErrors, Json, Path, Query};
use crate::metrics::model::is_valid_label_name;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/silences", get(list_silences).post(create_silence))
        .route("/silences/{id}", get(get_silence).delete(expire_silence))
}

/// A matcher ready to test labels (regexes anchored at both ends, as Prometheus does).
#[derive(Clone, Debug)]
pub struct CompiledMatcher {
    name: String,
    op: MatchOp,
    value: String,
    regex: Option<Regex>,
}

impl CompiledMatcher {
    pub fn new(matcher: &Matcher) -> Result<Self, String> {
        let regex = match matcher.op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?:{})$", matcher.value)).map_err(|e| {
                    format!("{:?} is not a valid regular expression: {e}", matcher.value)
                })?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(CompiledMatcher {
            name: matcher.name.clone(),
            op: matcher.op,
            value: matcher.value.clone(),
            regex,
        })
    }

    /// Whether `labels` satisfy the matcher (a missing label has the empty value).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            _ => false,
        }
    }

    fn matches_empty(&self) -> bool {
        self.matches(&BTreeMap::new())
    }
}

/// Checks matchers as Alertmanager does: valid names and regexes, and at least one matcher
/// that an empty label set would fail (a silence must not match everything).
pub fn compile(matchers: &[Matcher]) -> Result<Vec<CompiledMatcher>, String> {
    if matchers.is_empty() {
        return Err("at least one matcher is required".to_owned());
    }
    let compiled = matchers
        .iter()
        .map(|m| {
            if !is_valid_label_name(&m.name) {
                return Err(format!("{:?} is not a valid label name", m.name));
            }
            CompiledMatcher::new(m)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if compiled.iter().all(CompiledMatcher::matches_empty) {
        return Err(
            "at least one matcher must not match the empty string (it would silence everything)"
                .to_owned(),
        );
    }
    Ok(compiled)
}

/// A silence in force now, ready for matching.
pub struct ActiveSilence {
    pub id: Uuid,
    matchers: Vec<CompiledMatcher>,
}

impl ActiveSilence {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }
}

/// The silences active at `now`.
pub async fn active<'e>(
    db: impl PgExecutor<'e>,
    now: DateTime<Utc>,
) -> Result<Vec<ActiveSilence>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, matchers AS "matchers!: SqlJson<Vec<Matcher>>"
           FROM silences WHERE starts_at <= $1 AND ends_at > $1"#,
        now
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            // Stored matchers were checked when saved; skip any that no longer compile.
            let matchers = row
                .matchers
                .0
                .iter()
                .map(CompiledMatcher::new)
                .collect::<Result<_, _>>();
            matchers.ok().map(|matchers| ActiveSilence {
                id: row.id,
                matchers,
            })
        })
        .collect())
}

/// Ids of the silences among `active` that match `labels`.
pub fn silenced_by(active: &[ActiveSilence], labels: &BTreeMap<String, String>) -> Vec<String> {
    active
        .iter()
        .filter(|s| s.matches(labels))
        .map(|s| s.id.to_string())
        .collect()
}

pub fn state_at(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SilenceState {
    if now < starts_at {
        SilenceState::Pending
    } else if now < ends_at {
        SilenceState::Active
    } else {
        SilenceState::Expired
    }
}

/// A silence that passed validation.
pub struct ValidSilence {
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
}

pub fn validate(request: &SilenceRequest, now: DateTime<Utc>) -> Result<ValidSilence, FieldErrors> {
    let mut errors = FieldErrors::new();
    if let Err(problem) = compile(&request.matchers) {
        errors.add("matchers", problem);
    }
    let starts_at = request.starts_at.unwrap_or(now);
    if request.ends_at <= starts_at {
        errors.add("ends_at", "must be after the start");
    } else if request.ends_at <= now {
        errors.add("ends_at", "must be in the future");
    }
    let comment = request.comment.trim();
    if comment.is_empty() {
        errors.add("comment", "is required: say why these alerts are silenced");
    } else if comment.chars().count() > 2_000 {
        errors.add("comment", "must be at most 2000 characters");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidSilence {
        matchers: request.matchers.clone(),
        starts_at,
        ends_at: request.ends_at,
        comment: comment.to_owned(),
    })
}

pub async fn insert<'e>(
    db: impl PgExecutor<'e>,
    silence: &ValidSilence,
    created_by: &str,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment)
         VALUES ($1, $2, $3, $4, $5, $6)",
        id,
        serde_json::to_value(&silence.matchers).unwrap_or_default(),
        silence.starts_at,
        silence.ends_at,
        created_by,
        silence.comment
    )
    .execute(db)
    .await?;
    Ok(id)
}

/// Whether `created_by` already made a silence starting at `starts_at` (for silences Vigil
/// makes itself, such as those of maintenance windows).
pub async fn made_by<'e>(
    db: impl PgExecutor<'e>,
    created_by: &str,
    starts_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM silences WHERE created_by = $1 AND starts_at = $2)
           AS "exists!""#,
        created_by,
        starts_at
    )
    .fetch_one(db)
    .await
}

/// Ends, as of `now`, the silences whose creator starts with `prefix` (those Vigil made
/// for something that changed): active ones expire, future ones go. Returns how many.
pub async fn end_made_by(
    conn: &mut PgConnection,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let pattern = format!("{}%", prefix.replace('%', "\\%").replace('_', "\\_"));
    let removed = sqlx::query!(
        "DELETE FROM silences WHERE created_by LIKE $1 AND starts_at >= $2",
        pattern,
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let expired = sqlx::query!(
        "UPDATE silences SET ends_at = $2, updated_at = now()
         WHERE created_by LIKE $1 AND starts_at < $2 AND ends_at > $2",
        pattern,
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(removed + expired)
}

/// Silences, newest first: one, or all (optionally only those in a state).
pub async fn select<'e>(
    db: impl PgExecutor<'e>,
    id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<Silence>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, matchers AS "matchers!: SqlJson<Vec<Matcher>>", starts_at, ends_at,
                  created_by, comment, updated_at
           FROM silences WHERE $1::uuid IS NULL OR id = $1
           ORDER BY ends_at <= $2, starts_at DESC"#,
        id,
        now
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Silence {
            id: row.id.to_string(),
            matchers: row.matchers.0,
            state: state_at(row.starts_at, row.ends_at, now),
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            created_by: row.created_by,
            comment: row.comment,
            updated_at: row.updated_at,
        })
        .collect())
}

pub fn parse_id(text: &str) -> AppResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| AppError::not_found("There is no silence with this id."))
}

pub async fn find<'e>(db: impl PgExecutor<'e>, id: Uuid) -> AppResult<Silence> {
    select(db, Some(id), Utc::now())
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no silence with this id."))
}

/// Ends a silence now (pending ones end before they start). False if there is none.
pub async fn expire<'e>(
    db: impl PgExecutor<'e>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        "UPDATE silences
         SET starts_at = LEAST(starts_at, $2::timestamptz - interval '1 millisecond'),
             ends_at = LEAST(ends_at, $2), updated_at = $2
         WHERE id = $1",
        id,
        now
    )
    .execute(db)
    .await?;
    Ok(updated.rows_affected() > 0)
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
}

async fn list_silences(
    _user: AuthUser,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<SilenceList>> {
    let wanted =
        match query.state.as_deref() {
            None | Some("") | Some("all") => None,
            Some(text) => Some(serde_json::from_value::<SilenceState>(json!(text)).map_err(
                |_| AppError::invalid("state", "must be pending, active, expired or all"),
            )?),
        };
    let silences = select(&state.db, None, Utc::now())
        .await?
        .into_iter()
        .filter(|s| wanted.is_none_or(|w| s.state == w))
        .collect();
    Ok(Json(SilenceList { silences }))
}

async fn get_silence(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<Silence>> {
    find(&state.db, parse_id(&id)?).await.map(Json)
}

async fn create_silence(
    Responder(user): Responder,
    State(state): State<AppState>,
    Json(request): Json<SilenceRequest>,
) -> AppResult<(StatusCode, Json<Silence>)> {
    let silence = validate(&request, Utc::now()).map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    let id = insert(&mut *tx, &silence, &user.email).await?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "silence.create",
        Target::of("silence", id),
        json!({ "matchers": silence.matchers, "ends_at": silence.ends_at, "comment": silence.comment }),
    )
    .await?;
    let saved = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

async fn expire_silence(
    Responder(user): Responder,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<Silence>> {
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    if !expire(&mut *tx, id, Utc::now()).await? {
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
    let silence = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(Json(silence))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher {
            name: name.into(),
            op,
            value: value.into(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn matchers_compare_as_alertmanager_does() {
        let alert = labels(&[
            ("alertname", "HighLatency"),
            ("job", "payments"),
            ("env", "prod"),
        ]);
        let cases = [
            (m("job", MatchOp::Equal, "payments"), true),
            (m("job", MatchOp::NotEqual, "payments"), false),
            (m("job", MatchOp::Regex, "pay.*"), true),
            (m("job", MatchOp::Regex, "pay"), false),
            (m("job", MatchOp::NotRegex, "search|checkout"), true),
            (m("team", MatchOp::Equal, ""), true),
            (m("team", MatchOp::NotEqual, ""), false),
        ];
        for (matcher, expected) in cases {
            assert_eq!(
                CompiledMatcher::new(&matcher).unwrap().matches(&alert),
                expected,
                "{matcher:?}"
            );
        }
    }

    #[test]
    fn a_silence_may_not_match_everything() {
        assert!(compile(&[]).is_err());
        assert!(
            compile(&[m("job", MatchOp::Regex, ".*")])
                .unwrap_err()
                .contains("empty string")
        );
        assert!(
            compile(&[m("job", MatchOp::Regex, "(")])
                .unwrap_err()
                .contains("regular expression")
        );
        assert!(compile(&[m("bad-name", MatchOp::Equal, "x")]).is_err());
        assert!(
            compile(&[
                m("job", MatchOp::Regex, ".*"),
                m("env", MatchOp::Equal, "prod")
            ])
            .is_ok()
        );
    }
}
