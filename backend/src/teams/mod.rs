//! Teams: named groups of users that dashboards and escalation policies can target (admin;
//! their names are listed for anyone logged in).

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use sqlx::types::Json as SqlJson;
use sqlx::{PgConnection, PgExecutor};
use vigil_shared::admin::{CreateTeamRequest, Team, TeamList, TeamMember, UpdateTeamRequest};
use vigil_shared::auth::TeamRef;
use vigil_shared::directory::TeamDirectory;

use crate::audit::{self, AuditActor, Target};
use crate::auth::{Admin, AuthUser};
use crate::error::{AppError, AppResult, FieldErrors, Json, OnConstraint, Path};
use crate::references::{self, Table};
use crate::state::AppState;

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 1_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teams", get(list_teams).post(create_team))
        .route("/teams/directory", get(directory))
        .route(
            "/teams/{id}",
            get(get_team).patch(update_team).delete(delete_team),
        )
}

fn parse_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    match name.chars().count() {
        0 => Err("is required".to_owned()),
        n if n > MAX_NAME => Err(format!("must be at most {MAX_NAME} characters")),
        _ => Ok(name.to_owned()),
    }
}

fn parse_description(input: &str) -> Result<String, String> {
    if input.chars().count() > MAX_DESCRIPTION {
        return Err(format!("must be at most {MAX_DESCRIPTION} characters"));
    }
    Ok(input.trim().to_owned())
}

fn name_taken() -> AppError {
    AppError::conflict_on("name", "A team with this name already exists.")
}

/// Teams as the API shows them: one, or all ordered by name.
async fn select<'e>(db: impl PgExecutor<'e>, id: Option<i64>) -> Result<Vec<Team>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT t.id, t.name, t.description, t.created_at,
                  COALESCE((SELECT json_agg(json_build_object('user_id', u.id, 'email', u.email,
                                                              'display_name', u.display_name)
                                            ORDER BY lower(u.email))
                            FROM team_members m JOIN users u ON u.id = m.user_id
                            WHERE m.team_id = t.id), '[]') AS "members!: SqlJson<Vec<TeamMember>>"
           FROM teams t
           WHERE $1::bigint IS NULL OR t.id = $1
           ORDER BY lower(t.name)"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Team {
            id: row.id,
            name: row.name,
            description: row.description,
            members: row.members.0,
            created_at: row.created_at,
        })
        .collect())
}

async fn find<'e>(db: impl PgExecutor<'e>, id: i64) -> AppResult<Team> {
    select(db, Some(id))
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("There is no team with this id."))
}

/// Replaces a team's members; unknown user ids are a validation error on `member_ids`.
/// The ids of team `id`'s members.
pub async fn member_ids<'e>(db: impl PgExecutor<'e>, id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id",
        id
    )
    .fetch_all(db)
    .await
}

fn no_member() -> AppError {
    AppError::invalid("member_ids", "names a user that does not exist")
}

async fn set_members(conn: &mut PgConnection, team_id: i64, member_ids: &[i64]) -> AppResult<()> {
    if member_ids.len() > references::MAX_IDS {
        return Err(AppError::invalid(
            "member_ids",
            format!("at most {} members", references::MAX_IDS),
        ));
    }
    if !references::missing(conn, Table::Users, member_ids)
        .await?
        .is_empty()
    {
        return Err(no_member());
    }
    let mut unique = member_ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    sqlx::query!("DELETE FROM team_members WHERE team_id = $1", team_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO team_members (team_id, user_id) SELECT $1, unnest($2::bigint[])",
        team_id,
        &unique
    )
    .execute(&mut *conn)
    .await
    .on_constraint("team_members_user_id_fkey", no_member)?;
    Ok(())
}

async fn list_teams(
    Admin(_admin): Admin,
    State(state): State<AppState>,
) -> AppResult<Json<TeamList>> {
    Ok(Json(TeamList {
        teams: select(&state.db, None).await?,
    }))
}

/// Every team's id and name, for anyone logged in: escalation policies page teams, and
/// everyone reads whom a policy pages. Members and descriptions stay admin-only.
async fn directory(
    _user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<TeamDirectory>> {
    let teams = select(&state.db, None)
        .await?
        .into_iter()
        .map(|t| TeamRef {
            id: t.id,
            name: t.name,
        })
        .collect();
    Ok(Json(TeamDirectory { teams }))
}

async fn get_team(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<Team>> {
    find(&state.db, id).await.map(Json)
}

async fn create_team(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Json(request): Json<CreateTeamRequest>,
) -> AppResult<(StatusCode, Json<Team>)> {
    let mut tx = state.db.begin().await?;
    let team = insert(&mut tx, admin.audit_actor(), &request).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(team)))
}

/// Checks and creates a team with its members, recording who did it; the API and demo mode's
/// seeding both create teams through here. The caller commits.
pub async fn insert(
    conn: &mut PgConnection,
    actor: AuditActor<'_>,
    request: &CreateTeamRequest,
) -> AppResult<Team> {
    let mut errors = FieldErrors::new();
    let name = parse_name(&request.name)
        .map_err(|e| errors.add("name", e))
        .ok();
    let description = parse_description(&request.description)
        .map_err(|e| errors.add("description", e))
        .ok();
    errors.into_result()?;
    let (Some(name), Some(description)) = (name, description) else {
        unreachable!("every field parsed when no error was recorded");
    };

    let id = sqlx::query_scalar!(
        "INSERT INTO teams (name, description) VALUES ($1, $2) RETURNING id",
        name,
        description
    )
    .fetch_one(&mut *conn)
    .await
    .on_constraint("teams_name_key", name_taken)?;
    set_members(conn, id, &request.member_ids).await?;
    audit::record(
        &mut *conn,
        actor,
        "team.create",
        Target::of("team", id),
        json!({ "name": name, "member_ids": request.member_ids }),
    )
    .await?;
    find(&mut *conn, id).await
}

/// The id of the team named `name` (names are unique regardless of case).
pub async fn id_by_name<'e>(
    db: impl PgExecutor<'e>,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM teams WHERE lower(name) = lower($1)",
        name.trim()
    )
    .fetch_optional(db)
    .await
}

async fn update_team(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<UpdateTeamRequest>,
) -> AppResult<Json<Team>> {
    let mut errors = FieldErrors::new();
    let name = request
        .name
        .as_deref()
        .map(parse_name)
        .transpose()
        .map_err(|e| errors.add("name", e))
        .ok()
        .flatten();
    let description = request
        .description
        .as_deref()
        .map(parse_description)
        .transpose()
        .map_err(|e| errors.add("description", e))
        .ok()
        .flatten();
    errors.into_result()?;

    let mut tx = state.db.begin().await?;
    let updated = sqlx::query!(
        "UPDATE teams SET name = COALESCE($2, name), description = COALESCE($3, description)
         WHERE id = $1",
        id,
        name,
        description
    )
    .execute(&mut *tx)
    .await
    .on_constraint("teams_name_key", name_taken)?;
    if updated.rows_affected() == 0 {
        return Err(AppError::not_found("There is no team with this id."));
    }
    if let Some(member_ids) = &request.member_ids {
        set_members(&mut tx, id, member_ids).await?;
    }
    audit::record(
        &mut *tx,
        admin.audit_actor(),
        "team.update",
        Target::of("team", id),
        json!({ "name": name, "description": description, "member_ids": request.member_ids }),
    )
    .await?;
    let team = find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(Json(team))
}

async fn delete_team(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let deleted = sqlx::query_scalar!("DELETE FROM teams WHERE id = $1 RETURNING name", id)
        .fetch_optional(&mut *tx)
        .await;
    let name = references::refuse_delete(deleted, &state.db, Table::Teams, id)
        .await?
        .ok_or_else(|| AppError::not_found("There is no team with this id."))?;
    audit::record(
        &mut *tx,
        admin.audit_actor(),
        "team.delete",
        Target::of("team", id),
        json!({ "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The ids of the teams user `user_id` belongs to, in order.
pub async fn of_user<'e>(db: impl PgExecutor<'e>, user_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id")
        .bind(user_id)
        .fetch_all(db)
        .await
}

/// The names of the teams `ids`, by id (ids of no team are left out).
pub async fn names<'e>(
    db: impl PgExecutor<'e>,
    ids: &[i64],
) -> Result<HashMap<i64, String>, sqlx::Error> {
    let rows = sqlx::query!("SELECT id, name FROM teams WHERE id = ANY($1)", ids)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}
