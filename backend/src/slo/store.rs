//! The `slos` table: SLO definitions as stored, read back checked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json as SqlJson;
use sqlx::{PgConnection, PgExecutor};
use vigil_shared::slo::{Sli, SloRequest, SloWindow};

use super::definition::{self, ValidSlo};
use crate::error::{self, AppError, AppResult};
use crate::promql::QueryLimits;

/// An SLO as stored, its definition checked again on the way out (a definition that no
/// longer passes fails loudly rather than being half-used).
#[derive(Clone, Debug)]
pub struct StoredSlo {
    pub id: i64,
    pub valid: ValidSlo,
    pub history_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<i64>,
}

struct Row {
    id: i64,
    name: String,
    service: String,
    owner_team_id: Option<i64>,
    description: String,
    labels: SqlJson<BTreeMap<String, String>>,
    sli: SqlJson<Sli>,
    objective: f64,
    slo_window: SqlJson<SloWindow>,
    burn_alerts: bool,
    min_events: f64,
    history_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    updated_by: Option<i64>,
}

impl Row {
    fn checked(self) -> Result<StoredSlo, sqlx::Error> {
        let request = SloRequest {
            name: self.name,
            service: self.service,
            owner_team_id: self.owner_team_id,
            description: self.description,
            labels: self.labels.0,
            sli: self.sli.0,
            objective: self.objective,
            window: self.slo_window.0,
            burn_alerts: self.burn_alerts,
            min_events: self.min_events,
        };
        let valid = definition::validate(&request, &QueryLimits::default()).map_err(|e| {
            sqlx::Error::Decode(format!("stored SLO {} does not validate: {e}", self.id).into())
        })?;
        Ok(StoredSlo {
            id: self.id,
            valid,
            history_until: self.history_until,
            created_at: self.created_at,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
        })
    }
}

/// One SLO, or every SLO (by service and name).
pub async fn select(
    conn: &mut PgConnection,
    id: Option<i64>,
) -> Result<Vec<StoredSlo>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        r#"SELECT id, name, service, owner_team_id, description,
                  labels AS "labels!: SqlJson<BTreeMap<String, String>>",
                  sli AS "sli!: SqlJson<Sli>", objective,
                  slo_window AS "slo_window!: SqlJson<SloWindow>", burn_alerts, min_events,
                  history_until, created_at, updated_at, updated_by
           FROM slos WHERE $1::bigint IS NULL OR id = $1
           ORDER BY service, lower(name)"#,
        id
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(Row::checked)
    .collect()
}

pub async fn find(conn: &mut PgConnection, id: i64) -> AppResult<StoredSlo> {
    select(conn, Some(id)).await?.pop().ok_or_else(not_found)
}

pub fn not_found() -> AppError {
    AppError::not_found("There is no SLO with this id.")
}

/// Locks one SLO for its history's update; None when it is gone or another replica holds it.
pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<Option<StoredSlo>, sqlx::Error> {
    let locked = sqlx::query_scalar!(
        "SELECT id FROM slos WHERE id = $1 FOR UPDATE SKIP LOCKED",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    match locked {
        Some(_) => Ok(select(conn, Some(id)).await?.pop()),
        None => Ok(None),
    }
}

/// The id of the SLO named `name` (names are unique regardless of case).
pub async fn id_by_name<'e>(
    db: impl PgExecutor<'e>,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM slos WHERE lower(name) = lower($1)",
        name.trim()
    )
    .fetch_optional(db)
    .await
}

/// Every SLO's name, by id.
pub async fn names(
    conn: &mut PgConnection,
) -> Result<std::collections::HashMap<i64, String>, sqlx::Error> {
    let rows = sqlx::query!("SELECT id, name FROM slos")
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

pub async fn ids<'e>(db: impl PgExecutor<'e>) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM slos ORDER BY id")
        .fetch_all(db)
        .await
}

pub async fn set_history_until(
    conn: &mut PgConnection,
    id: i64,
    until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE slos SET history_until = $2 WHERE id = $1",
        id,
        until
    )
    .execute(conn)
    .await?;
    Ok(())
}

fn name_taken() -> AppError {
    AppError::conflict_on("name", "An SLO with this name already exists.")
}

fn no_team(id: i64) -> AppError {
    AppError::invalid("owner_team_id", format!("there is no team {id}"))
}

/// Inserts an SLO, or with `id` replaces that one (its history starts again when its SLI
/// changed: the old minutes measured something else). Returns the id; None: no such SLO.
pub async fn save(
    conn: &mut PgConnection,
    id: Option<i64>,
    slo: &ValidSlo,
    user_id: Option<i64>,
) -> AppResult<Option<i64>> {
    let r = &slo.request;
    if id.is_none() {
        refuse_beyond(&mut *conn, "slos", MAX_SLOS, "SLOs").await?;
    }
    let saved = sqlx::query_scalar!(
        r#"WITH input AS (
               SELECT $2::text AS name, $3::text AS service, $4::bigint AS owner_team_id,
                      $5::text AS description, $6::jsonb AS labels, $7::jsonb AS sli,
                      $8::float8 AS objective, $9::jsonb AS slo_window,
                      $10::boolean AS burn_alerts, $11::float8 AS min_events,
                      $12::bigint AS updated_by
           ), inserted AS (
               INSERT INTO slos (name, service, owner_team_id, description, labels, sli,
                                 objective, slo_window, burn_alerts, min_events, updated_by)
               SELECT * FROM input WHERE $1::bigint IS NULL
               RETURNING id
           ), updated AS (
               UPDATE slos s
               SET name = i.name, service = i.service, owner_team_id = i.owner_team_id,
                   description = i.description, labels = i.labels, sli = i.sli,
                   objective = i.objective, slo_window = i.slo_window,
                   burn_alerts = i.burn_alerts, min_events = i.min_events,
                   updated_by = i.updated_by, updated_at = now(),
                   history_until = CASE WHEN s.sli = i.sli THEN s.history_until END
               FROM input i
               WHERE s.id = $1
               RETURNING s.id, s.history_until IS NULL AS reset
           )
           SELECT id AS "id!" FROM inserted UNION ALL SELECT id FROM updated"#,
        id,
        r.name,
        r.service,
        r.owner_team_id,
        r.description,
        serde_json::to_value(&r.labels).unwrap_or_default(),
        serde_json::to_value(&r.sli).unwrap_or_default(),
        r.objective,
        serde_json::to_value(&r.window).unwrap_or_default(),
        r.burn_alerts,
        r.min_events,
        user_id
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| match error::constraint(&e) {
        Some("slos_name_key") => name_taken(),
        Some("slos_owner_team_id_fkey") => no_team(r.owner_team_id.unwrap_or_default()),
        _ => e.into(),
    })?;
    let Some(id) = saved else {
        return Ok(None);
    };
    // A reset history is computed again from the raw samples.
    sqlx::query!(
        "DELETE FROM slo_minutes m USING slos s
         WHERE s.id = $1 AND m.slo_id = s.id AND s.history_until IS NULL",
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM slo_hours h USING slos s
         WHERE s.id = $1 AND h.slo_id = s.id AND s.history_until IS NULL",
        id
    )
    .execute(&mut *conn)
    .await?;
    Ok(Some(id))
}

/// Most SLOs: each costs a history pass every 30 s and a status in every list.
pub const MAX_SLOS: i64 = 1_000;

/// Refuses (409) to add to `table` (of this area) once it holds `max` rows of `what`.
pub async fn refuse_beyond(
    conn: &mut PgConnection,
    table: &'static str,
    max: i64,
    what: &str,
) -> AppResult<()> {
    let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(conn)
        .await?;
    if count >= max {
        return Err(AppError::conflict(format!(
            "There are {count} {what} already, the most Vigil keeps; delete some first."
        )));
    }
    Ok(())
}

/// Deletes an SLO (with its history, maintenance windows and burn rules); its name, or None.
pub async fn delete(conn: &mut PgConnection, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("DELETE FROM slos WHERE id = $1 RETURNING name", id)
        .fetch_optional(conn)
        .await
}

/// SLOs name their owner team (`references`).
pub const REFERRERS: &[crate::references::Referrer] = &[crate::referrer!(
    Teams,
    "SLOs",
    "SELECT name FROM slos WHERE owner_team_id = $1 ORDER BY lower(name)"
)];
