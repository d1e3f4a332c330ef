//! The dashboards' tables: dashboards and their versions, the teams their permissions name,
//! and home dashboards. Every write of a model checks it first (`validate::check`), so the
//! API, imports and provisioning store only dashboards that pass.
//!
//! Other areas and tasks (import, provisioning, demo homes) go through [`create`],
//! [`upsert_provisioned`], [`remove_provisioned_except`] and [`set_home`].

use chrono::{DateTime, Utc};
use sqlx::types::Json as SqlJson;
use sqlx::{FromRow, PgConnection};
use vigil_shared::Role;
use vigil_shared::dashboard::{Access, DashboardModel, MAX_LISTED};

use super::access::Who;
use super::validate;
use crate::audit::escape_like;
use crate::error::{self, AppError, AppResult};
use crate::references::{self, Referrer, Table};

/// Versions kept per dashboard, the newest ones (the issue asks for at least 50).
pub const KEPT_VERSIONS: i32 = 100;

/// Most dashboards kept: each list reads at most [`MAX_LISTED`] of them, and a search still
/// has to look through them all.
pub const MAX_DASHBOARDS: i64 = 10_000;

/// Most characters of a version's message.
pub const MAX_MESSAGE: usize = 500;

/// A dashboard as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub id: i64,
    pub uid: String,
    pub version: i32,
    pub model: DashboardModel,
    /// Where a provisioned dashboard comes from; such dashboards are read-only.
    pub provisioned: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<i64>,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    uid: String,
    version: i32,
    model: SqlJson<DashboardModel>,
    provisioned: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    updated_by: Option<i64>,
}

impl From<Row> for Stored {
    fn from(row: Row) -> Self {
        Stored {
            id: row.id,
            uid: row.uid,
            version: row.version,
            model: row.model.0,
            provisioned: row.provisioned,
            created_at: row.created_at,
            updated_at: row.updated_at,
            updated_by: row.updated_by,
        }
    }
}

const COLUMNS: &str = "id, uid, version, model, provisioned, created_at, updated_at, updated_by";

/// How an address names a dashboard: its id (all digits) or its uid (never all digits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Id(i64),
    Uid(String),
}

impl Key {
    pub fn parse(text: &str) -> Key {
        match text.parse() {
            Ok(id) => Key::Id(id),
            Err(_) => Key::Uid(text.to_owned()),
        }
    }
}

/// The answer for a dashboard that does not exist or that the caller may not see: the two
/// are not told apart.
pub fn not_found() -> AppError {
    AppError::not_found("There is no dashboard with this id or uid.")
}

/// The dashboard `key` names.
pub async fn find(conn: &mut PgConnection, key: &Key) -> Result<Option<Stored>, sqlx::Error> {
    select_one(conn, key, "").await
}

/// The dashboard `key` names, locked until the transaction ends (for a save).
pub async fn lock(conn: &mut PgConnection, key: &Key) -> Result<Option<Stored>, sqlx::Error> {
    select_one(conn, key, "FOR UPDATE").await
}

async fn select_one(
    conn: &mut PgConnection,
    key: &Key,
    suffix: &str,
) -> Result<Option<Stored>, sqlx::Error> {
    let column = match key {
        Key::Id(_) => "id",
        Key::Uid(_) => "uid",
    };
    let sql = format!("SELECT {COLUMNS} FROM dashboards WHERE {column} = $1 {suffix}");
    let query = sqlx::query_as::<_, Row>(&sql);
    let query = match key {
        Key::Id(id) => query.bind(*id),
        Key::Uid(uid) => query.bind(uid.clone()),
    };
    Ok(query.fetch_optional(conn).await?.map(Stored::from))
}

/// Creates a dashboard as version 1 (`uid`: that one, else a new one), after checking the
/// model; a uid in use is a 409 on `uid`.
pub async fn create(
    conn: &mut PgConnection,
    model: &DashboardModel,
    uid: Option<&str>,
    author: Option<i64>,
    message: &str,
) -> AppResult<Stored> {
    insert(conn, model, uid, author, message, None).await
}

async fn insert(
    conn: &mut PgConnection,
    model: &DashboardModel,
    uid: Option<&str>,
    author: Option<i64>,
    message: &str,
    provisioned: Option<&str>,
) -> AppResult<Stored> {
    let mut problems = validate::model(model);
    if let Some(uid) = uid
        && let Err(problem) = validate::uid(uid)
    {
        problems.add("uid", problem);
    }
    check_message(&mut problems, message);
    validate::teams(conn, model, &mut problems).await?;
    problems.into_result()?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM dashboards")
        .fetch_one(&mut *conn)
        .await?;
    if count >= MAX_DASHBOARDS {
        return Err(AppError::conflict(format!(
            "There are already {MAX_DASHBOARDS} dashboards, the most Vigil keeps; delete some first."
        )));
    }
    let uid = uid.map_or_else(validate::new_uid, str::to_owned);
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO dashboards (uid, title, folder, tags, model, provisioned, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (uid) DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(&uid)
    .bind(model.title.trim())
    .bind(&model.folder)
    .bind(&model.tags)
    .bind(SqlJson(model))
    .bind(provisioned)
    .bind(author)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| {
        AppError::conflict_on(
            "uid",
            format!("A dashboard with the uid {uid} already exists."),
        )
    })?;
    let stored = Stored::from(row);
    record_version(conn, &stored, author, message).await?;
    set_teams(conn, stored.id, model).await?;
    Ok(stored)
}

/// Saves `model` over `current` (locked by [`lock`]) as its next version, after checking it.
/// Whether the caller may, and started from `current`'s version, is theirs to check.
pub async fn update(
    conn: &mut PgConnection,
    current: &Stored,
    model: &DashboardModel,
    author: Option<i64>,
    message: &str,
) -> AppResult<Stored> {
    write_version(
        conn,
        current,
        model,
        author,
        message,
        current.provisioned.as_deref(),
    )
    .await
}

async fn write_version(
    conn: &mut PgConnection,
    current: &Stored,
    model: &DashboardModel,
    author: Option<i64>,
    message: &str,
    provisioned: Option<&str>,
) -> AppResult<Stored> {
    let mut problems = validate::model(model);
    check_message(&mut problems, message);
    validate::teams(conn, model, &mut problems).await?;
    problems.into_result()?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE dashboards
         SET title = $3, folder = $4, tags = $5, model = $6, provisioned = $7,
             version = version + 1, updated_at = now(), updated_by = $8
         WHERE id = $1 AND version = $2
         RETURNING {COLUMNS}"
    ))
    .bind(current.id)
    .bind(current.version)
    .bind(model.title.trim())
    .bind(&model.folder)
    .bind(&model.tags)
    .bind(SqlJson(model))
    .bind(provisioned)
    .bind(author)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::conflict("This dashboard changed meanwhile; reload it."))?;
    let stored = Stored::from(row);
    record_version(conn, &stored, author, message).await?;
    set_teams(conn, stored.id, model).await?;
    Ok(stored)
}

fn check_message(problems: &mut error::FieldErrors, message: &str) {
    if message.chars().count() > MAX_MESSAGE {
        problems.add(
            "message",
            format!("must be at most {MAX_MESSAGE} characters"),
        );
    }
}

/// Keeps `stored` as a version, and forgets versions beyond the newest [`KEPT_VERSIONS`].
async fn record_version(
    conn: &mut PgConnection,
    stored: &Stored,
    author: Option<i64>,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dashboard_versions (dashboard_id, version, model, author, message)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(stored.id)
    .bind(stored.version)
    .bind(SqlJson(&stored.model))
    .bind(author)
    .bind(message.trim())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM dashboard_versions WHERE dashboard_id = $1 AND version <= $2")
        .bind(stored.id)
        .bind(stored.version - KEPT_VERSIONS)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Mirrors the team ids of the model's permissions, so that their foreign keys hold. A team
/// deleted since the check is a 422 on the field naming it.
async fn set_teams(conn: &mut PgConnection, id: i64, model: &DashboardModel) -> AppResult<()> {
    sqlx::query("DELETE FROM dashboard_teams WHERE dashboard_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let (teams, can_edit): (Vec<i64>, Vec<bool>) = model
        .viewable_by
        .teams
        .iter()
        .map(|team| (*team, false))
        .chain(model.editable_by.teams.iter().map(|team| (*team, true)))
        .unzip();
    let inserted = sqlx::query(
        "INSERT INTO dashboard_teams (dashboard_id, team_id, can_edit)
         SELECT $1, team, can_edit FROM unnest($2::bigint[], $3::boolean[]) AS t (team, can_edit)
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&teams)
    .bind(&can_edit)
    .execute(&mut *conn)
    .await;
    match inserted {
        Err(e) if references::is_foreign_key_violation(&e) => {
            let team = error::refused_key(&e);
            Err(AppError::invalid(
                &validate::team_field(model, team),
                format!("there is no team {}", team.unwrap_or_default()),
            ))
        }
        result => result.map(|_| ()).map_err(AppError::from),
    }
}

/// Deletes a dashboard with its versions; its title, or none if there was no such dashboard.
pub async fn delete(conn: &mut PgConnection, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("DELETE FROM dashboards WHERE id = $1 RETURNING title")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Creates or updates the provisioned dashboard `uid` from `source` (a file path or
/// `built-in`): an unchanged model is left as it is, a changed one saved as a new version
/// authored by nobody. A uid taken by a dashboard that is not provisioned is a 409 on `uid`.
/// Returns the dashboard's id.
pub async fn upsert_provisioned(
    conn: &mut PgConnection,
    uid: &str,
    model: &DashboardModel,
    source: &str,
) -> AppResult<i64> {
    let message = format!("provisioned from {source}");
    match lock(conn, &Key::Uid(uid.to_owned())).await? {
        None => Ok(insert(conn, model, Some(uid), None, &message, Some(source))
            .await?
            .id),
        Some(current) if current.provisioned.is_none() => Err(AppError::conflict_on(
            "uid",
            format!("The uid {uid} belongs to a dashboard that is not provisioned."),
        )),
        Some(current)
            if current.model == *model && current.provisioned.as_deref() == Some(source) =>
        {
            Ok(current.id)
        }
        Some(current) => Ok(
            write_version(conn, &current, model, None, &message, Some(source))
                .await?
                .id,
        ),
    }
}

/// Deletes the provisioned dashboards whose source starts with `source_prefix`, except those
/// with a uid in `keep_uids` (a provisioning pass removes what its files no longer hold).
/// Returns how many were deleted.
pub async fn remove_provisioned_except(
    conn: &mut PgConnection,
    source_prefix: &str,
    keep_uids: &[String],
) -> AppResult<u64> {
    let deleted = sqlx::query(
        "DELETE FROM dashboards
         WHERE provisioned LIKE $1 || '%' ESCAPE '\\' AND NOT (uid = ANY($2))",
    )
    .bind(escape_like(source_prefix))
    .bind(keep_uids)
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected())
}

/// One line of the list, with what deciding who sees and edits it needs.
#[derive(Clone, Debug)]
pub struct Listed {
    pub id: i64,
    pub uid: String,
    pub title: String,
    pub tags: Vec<String>,
    pub folder: String,
    pub version: i32,
    pub provisioned: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub viewable_by: Access,
    pub editable_by: Access,
}

#[derive(FromRow)]
struct ListedRow {
    id: i64,
    uid: String,
    title: String,
    tags: Vec<String>,
    folder: String,
    version: i32,
    provisioned: Option<String>,
    updated_at: DateTime<Utc>,
    viewable_by: SqlJson<Access>,
    editable_by: SqlJson<Access>,
}

/// What the list is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Words in the title.
    pub query: Option<String>,
    pub tag: Option<String>,
    pub folder: Option<String>,
}

/// The dashboards `who` sees that match `filter`, by folder and title, at most
/// [`MAX_LISTED`].
pub async fn list(
    conn: &mut PgConnection,
    who: &Who,
    filter: &Filter,
) -> Result<Vec<Listed>, sqlx::Error> {
    let rows = sqlx::query_as::<_, ListedRow>(
        "SELECT d.id, d.uid, d.title, d.tags, d.folder, d.version, d.provisioned, d.updated_at,
                d.model -> 'viewable_by' AS viewable_by, d.model -> 'editable_by' AS editable_by
         FROM dashboards d
         WHERE ($1::text IS NULL OR d.title ILIKE '%' || $1 || '%' ESCAPE '\\')
           AND ($2::text IS NULL OR $2 = ANY (d.tags))
           AND ($3::text IS NULL OR d.folder = $3)
           AND ($4
                OR (jsonb_array_length(d.model -> 'viewable_by' -> 'roles') = 0
                    AND jsonb_array_length(d.model -> 'viewable_by' -> 'teams') = 0)
                OR d.model -> 'viewable_by' -> 'roles' ? $5
                OR EXISTS (SELECT 1 FROM dashboard_teams t
                           WHERE t.dashboard_id = d.id AND NOT t.can_edit
                             AND t.team_id = ANY ($6)))
         ORDER BY lower(d.folder), lower(d.title), d.id
         LIMIT $7",
    )
    .bind(filter.query.as_deref().map(escape_like))
    .bind(filter.tag.as_deref())
    .bind(filter.folder.as_deref())
    .bind(who.role == Role::Admin)
    .bind(who.role.as_str())
    .bind(&who.teams)
    .bind(MAX_LISTED as i64)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Listed {
            id: row.id,
            uid: row.uid,
            title: row.title,
            tags: row.tags,
            folder: row.folder,
            version: row.version,
            provisioned: row.provisioned,
            updated_at: row.updated_at,
            viewable_by: row.viewable_by.0,
            editable_by: row.editable_by.0,
        })
        .collect())
}

/// One saved version, without its model.
#[derive(Clone, Debug, FromRow)]
pub struct VersionRow {
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub author: Option<i64>,
    pub message: String,
}

/// The kept versions of dashboard `id`, newest first.
pub async fn versions(conn: &mut PgConnection, id: i64) -> Result<Vec<VersionRow>, sqlx::Error> {
    sqlx::query_as::<_, VersionRow>(
        "SELECT version, created_at, author, message FROM dashboard_versions
         WHERE dashboard_id = $1 ORDER BY version DESC",
    )
    .bind(id)
    .fetch_all(conn)
    .await
}

/// The model of version `version` of dashboard `id`, if it is kept.
pub async fn version_model(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
) -> Result<Option<DashboardModel>, sqlx::Error> {
    let model: Option<SqlJson<DashboardModel>> = sqlx::query_scalar(
        "SELECT model FROM dashboard_versions WHERE dashboard_id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    Ok(model.map(|model| model.0))
}

/// Whose home dashboard a row of `home_dashboards` sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HomeScope {
    Role(Role),
    Team(i64),
    User(i64),
}

/// Sets (or with `None`, clears) the home dashboard of `scope`. The dashboard must exist
/// (else 422 on `dashboard_id`); whether its audience sees it is the caller's concern.
pub async fn set_home(
    conn: &mut PgConnection,
    scope: HomeScope,
    dashboard_id: Option<i64>,
) -> AppResult<()> {
    let (role, team, user) = match scope {
        HomeScope::Role(role) => (Some(role), None, None),
        HomeScope::Team(team) => (None, Some(team), None),
        HomeScope::User(user) => (None, None, Some(user)),
    };
    sqlx::query(
        "DELETE FROM home_dashboards
         WHERE role IS NOT DISTINCT FROM $1 AND team_id IS NOT DISTINCT FROM $2
           AND user_id IS NOT DISTINCT FROM $3",
    )
    .bind(role)
    .bind(team)
    .bind(user)
    .execute(&mut *conn)
    .await?;
    let Some(dashboard_id) = dashboard_id else {
        return Ok(());
    };
    let inserted = sqlx::query(
        "INSERT INTO home_dashboards (role, team_id, user_id, dashboard_id)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(role)
    .bind(team)
    .bind(user)
    .bind(dashboard_id)
    .execute(&mut *conn)
    .await;
    match inserted {
        Err(e) if references::is_foreign_key_violation(&e) => {
            let refused = error::refused_key(&e);
            if refused == Some(dashboard_id) {
                Err(AppError::invalid(
                    "dashboard_id",
                    format!("there is no dashboard {dashboard_id}"),
                ))
            } else {
                Err(AppError::invalid(
                    "team",
                    format!("there is no team {}", refused.unwrap_or_default()),
                ))
            }
        }
        result => result.map(|_| ()).map_err(AppError::from),
    }
}

/// A row of `home_dashboards`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Home {
    pub scope: HomeScope,
    pub dashboard_id: i64,
}

#[derive(FromRow)]
struct HomeRow {
    role: Option<Role>,
    team_id: Option<i64>,
    user_id: Option<i64>,
    dashboard_id: i64,
}

impl HomeRow {
    fn home(self) -> Option<Home> {
        let scope = match (self.role, self.team_id, self.user_id) {
            (Some(role), None, None) => HomeScope::Role(role),
            (None, Some(team), None) => HomeScope::Team(team),
            (None, None, Some(user)) => HomeScope::User(user),
            _ => return None,
        };
        Some(Home {
            scope,
            dashboard_id: self.dashboard_id,
        })
    }
}

/// The home dashboards that may apply to a user (`None`: a caller with no user, an API key):
/// their own, their teams' and their role's, in that order (teams by id).
pub async fn homes_for(
    conn: &mut PgConnection,
    user: Option<i64>,
    who: &Who,
) -> Result<Vec<Home>, sqlx::Error> {
    let rows = sqlx::query_as::<_, HomeRow>(
        "SELECT role, team_id, user_id, dashboard_id FROM home_dashboards
         WHERE user_id = $1 OR team_id = ANY ($2) OR role = $3
         ORDER BY user_id IS NULL, team_id IS NULL, team_id",
    )
    .bind(user)
    .bind(&who.teams)
    .bind(who.role)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().filter_map(HomeRow::home).collect())
}

/// Every role's and team's home dashboard (users' own choices left out).
pub async fn shared_homes(conn: &mut PgConnection) -> Result<Vec<Home>, sqlx::Error> {
    let rows = sqlx::query_as::<_, HomeRow>(
        "SELECT role, team_id, user_id, dashboard_id FROM home_dashboards
         WHERE user_id IS NULL ORDER BY role, team_id",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().filter_map(HomeRow::home).collect())
}

/// Clears every role's and team's home dashboard (before an admin sets them all anew).
pub async fn clear_shared_homes(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM home_dashboards WHERE user_id IS NULL")
        .execute(conn)
        .await?;
    Ok(())
}

/// The ids of `ids` that name no dashboard, sorted.
pub async fn missing(conn: &mut PgConnection, ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT wanted FROM unnest($1::bigint[]) AS wanted
         WHERE NOT EXISTS (SELECT 1 FROM dashboards d WHERE d.id = wanted)
         GROUP BY wanted ORDER BY wanted",
    )
    .bind(ids)
    .fetch_all(conn)
    .await
}

/// Dashboards name teams in their permissions (`references`).
pub const REFERRERS: &[Referrer] = &[Referrer {
    table: Table::Teams,
    what: "dashboards",
    names: |db, id| {
        Box::pin(async move {
            sqlx::query_scalar(
                "SELECT d.title FROM dashboards d
                 WHERE EXISTS (SELECT 1 FROM dashboard_teams t
                               WHERE t.dashboard_id = d.id AND t.team_id = $1)
                 ORDER BY lower(d.title)",
            )
            .bind(id)
            .fetch_all(&db)
            .await
        })
    },
}];
