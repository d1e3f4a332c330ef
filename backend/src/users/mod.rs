//! Users: the admin API to list, create, change and delete them, and the queries other areas
//! use to read them. A user is usually disabled rather than deleted; a deleted user's name
//! stays in incident timelines and the audit log (they keep it as text), and deleting someone
//! a schedule or escalation policy still pages is refused.

pub mod contact_methods;
pub mod email;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::json;
use sqlx::types::Json as SqlJson;
use std::collections::HashMap;

use sqlx::{PgExecutor, PgPool};
use vigil_shared::Role;
use vigil_shared::admin::{CreateUserRequest, ResetPasswordRequest, UpdateUserRequest, UserList};
use vigil_shared::auth::{TeamRef, User};
use vigil_shared::directory::{DirectoryUser, UserDirectory};

pub use email::Email;

use crate::audit::{self, AuditActor, Target};
use crate::auth::{self, Admin, AuthUser, password, session};
use crate::error::{AppError, AppResult, FieldErrors, Json, OnConstraint, Path};
use crate::references::{self, Table};
use crate::state::AppState;

pub const MAX_DISPLAY_NAME: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/directory", get(directory))
        .route(
            "/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/users/{id}/password", post(reset_password))
        .merge(contact_methods::routes())
}

/// A display name as given, trimmed; empty means "use the email's local part".
fn parse_display_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(format!("must be at most {MAX_DISPLAY_NAME} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(name.to_owned())
}

/// A validated request to create a user, also used by the CLI and demo seeding.
pub struct NewUser {
    pub email: Email,
    pub display_name: String,
    pub password: password::NewPassword,
    pub role: Role,
}

impl NewUser {
    pub fn parse(request: &CreateUserRequest) -> AppResult<Self> {
        let mut errors = FieldErrors::new();
        let email = Email::parse(&request.email)
            .map_err(|e| errors.add("email", e))
            .ok();
        let display_name = parse_display_name(&request.display_name)
            .map_err(|e| errors.add("display_name", e))
            .ok();
        let password = password::NewPassword::parse(&request.password)
            .map_err(|e| errors.add("password", e))
            .ok();
        errors.into_result()?;
        let (Some(email), Some(mut display_name), Some(password)) = (email, display_name, password)
        else {
            unreachable!("every field parsed when no error was recorded");
        };
        if display_name.is_empty() {
            display_name = email.local_part().to_owned();
        }
        Ok(NewUser {
            email,
            display_name,
            password,
            role: request.role,
        })
    }
}

/// Creates a user and records it in the audit log; 409 on a taken email.
pub async fn create(pool: &PgPool, actor: AuditActor<'_>, user: &NewUser) -> AppResult<User> {
    let hash = password::hash(&user.password).await?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO users (email, display_name, password_hash, role)
         VALUES ($1, $2, $3, $4) RETURNING id",
        user.email.as_str(),
        user.display_name,
        hash,
        user.role as Role
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint("users_email_key", || {
        AppError::conflict_on("email", "A user with this email already exists.")
    })?;
    audit::record(
        &mut *tx,
        actor,
        "user.create",
        Target::of("user", id),
        json!({ "email": user.email.as_str(), "role": user.role }),
    )
    .await?;
    let created = find(&mut *tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    tx.commit().await?;
    Ok(created)
}

/// Sets a user's password (and role) by email, creating the user if needed. For bootstrap
/// paths (demo users, first admin) where the caller decides the password.
pub async fn upsert_with_password(pool: &PgPool, user: &NewUser) -> anyhow::Result<i64> {
    let hash = password::hash(&user.password).await?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO users (email, display_name, password_hash, role)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (lower(email)) DO UPDATE
            SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role,
                disabled = false, updated_at = now()
         RETURNING id",
        user.email.as_str(),
        user.display_name,
        hash,
        user.role as Role
    )
    .fetch_one(&mut *tx)
    .await?;
    auth::attempts::forget_failed_logins(&mut tx, user.email.as_str()).await?;
    audit::record(
        &mut *tx,
        AuditActor::SYSTEM,
        "user.bootstrap",
        Target::of("user", id),
        json!({ "email": user.email.as_str(), "role": user.role }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The id of the user with `email` (emails are unique regardless of case).
pub async fn id_by_email<'e>(
    db: impl PgExecutor<'e>,
    email: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM users WHERE lower(email) = lower($1)",
        email.trim()
    )
    .fetch_optional(db)
    .await
}

/// The emails of the users `ids`, by id (ids of no user are left out).
pub async fn emails<'e>(
    db: impl PgExecutor<'e>,
    ids: &[i64],
) -> Result<HashMap<i64, String>, sqlx::Error> {
    let rows = sqlx::query!("SELECT id, email FROM users WHERE id = ANY($1)", ids)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.email)).collect())
}

/// The email of user `id` if they may be paged (they exist and are not disabled).
pub async fn active_email<'e>(
    db: impl PgExecutor<'e>,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT email FROM users WHERE id = $1 AND NOT disabled", id)
        .fetch_optional(db)
        .await
}

/// One user as the API shows it, with their teams.
pub async fn find<'e>(db: impl PgExecutor<'e>, id: i64) -> Result<Option<User>, sqlx::Error> {
    Ok(select(db, Some(id)).await?.pop())
}

/// Users as the API shows them, with their teams: one, or all ordered by email.
async fn select<'e>(db: impl PgExecutor<'e>, id: Option<i64>) -> Result<Vec<User>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT u.id, u.email, u.display_name, u.role AS "role: Role", u.disabled,
                  u.created_at, u.last_login_at,
                  COALESCE((SELECT json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.name)
                            FROM team_members m JOIN teams t ON t.id = m.team_id
                            WHERE m.user_id = u.id), '[]') AS "teams!: SqlJson<Vec<TeamRef>>"
           FROM users u
           WHERE $1::bigint IS NULL OR u.id = $1
           ORDER BY lower(u.email)"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| User {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            role: row.role,
            disabled: row.disabled,
            teams: row.teams.0,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
        })
        .collect())
}

pub async fn count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM users"#)
        .fetch_one(pool)
        .await
}

async fn list_users(
    Admin(_admin): Admin,
    State(state): State<AppState>,
) -> AppResult<Json<UserList>> {
    let users = select(&state.db, None).await?;
    Ok(Json(UserList { users }))
}

/// Every user's id, email and display name, for anyone logged in: schedules and escalation
/// policies are edited by editors, who must be able to pick people (and everyone reads whom
/// they name). Roles, teams and login times stay admin-only.
async fn directory(
    _user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<UserDirectory>> {
    let users = select(&state.db, None)
        .await?
        .into_iter()
        .map(|u| DirectoryUser {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            disabled: u.disabled,
        })
        .collect();
    Ok(Json(UserDirectory { users }))
}

async fn create_user(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Json(request): Json<CreateUserRequest>,
) -> AppResult<(StatusCode, Json<User>)> {
    let new_user = NewUser::parse(&request)?;
    let user = create(&state.db, admin.audit_actor(), &new_user).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn get_user(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<User>> {
    find(&state.db, id)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::not_found("There is no user with this id."))
}

async fn update_user(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<UpdateUserRequest>,
) -> AppResult<Json<User>> {
    let display_name = request
        .display_name
        .as_deref()
        .map(parse_display_name)
        .transpose()
        .map_err(|e| AppError::invalid("display_name", e))?;

    let mut tx = state.db.begin().await?;
    // Lock every active admin row first: two admins demoting each other at the same moment
    // must not both succeed and leave nobody in charge.
    let active_admins = sqlx::query_scalar!(
        "SELECT id FROM users WHERE role = 'admin' AND NOT disabled FOR UPDATE"
    )
    .fetch_all(&mut *tx)
    .await?;
    let current = sqlx::query!(
        r#"SELECT role AS "role: Role", disabled FROM users WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found("There is no user with this id."))?;

    let new_role = request.role.unwrap_or(current.role);
    let new_disabled = request.disabled.unwrap_or(current.disabled);
    let was_active_admin = current.role == Role::Admin && !current.disabled;
    let stays_active_admin = new_role == Role::Admin && !new_disabled;
    if was_active_admin && !stays_active_admin && active_admins.len() <= 1 {
        let field = if request.disabled == Some(true) {
            "disabled"
        } else {
            "role"
        };
        return Err(AppError::conflict_on(
            field,
            "This is the last active admin; make someone else an admin first.",
        ));
    }

    sqlx::query!(
        "UPDATE users SET role = $2, disabled = $3, display_name = COALESCE($4, display_name),
                          updated_at = now()
         WHERE id = $1",
        id,
        new_role as Role,
        new_disabled,
        display_name
    )
    .execute(&mut *tx)
    .await?;
    if new_disabled && !current.disabled {
        session::revoke_all_for_user(&mut *tx, id, None).await?;
    }
    audit::record(
        &mut *tx,
        admin.audit_actor(),
        "user.update",
        Target::of("user", id),
        json!({
            "role": request.role,
            "disabled": request.disabled,
            "display_name": display_name,
        }),
    )
    .await?;
    let user = find(&mut *tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    tx.commit().await?;
    Ok(Json(user))
}

/// Deletes a user with their sessions, contact methods and team memberships. Refused for
/// yourself, for the last active admin, and while a schedule or an escalation policy still
/// pages them (they would silently page nobody).
async fn delete_user(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    if id == admin.id {
        return Err(AppError::conflict(
            "You cannot delete yourself; ask another admin.",
        ));
    }
    let mut tx = state.db.begin().await?;
    // Locked as in `update_user`: two admins deleting each other leave one.
    let active_admins = sqlx::query_scalar!(
        "SELECT id FROM users WHERE role = 'admin' AND NOT disabled FOR UPDATE"
    )
    .fetch_all(&mut *tx)
    .await?;
    if active_admins == [id] {
        return Err(AppError::conflict(
            "This is the last active admin; make someone else an admin first.",
        ));
    }
    let deleted = sqlx::query_scalar!("DELETE FROM users WHERE id = $1 RETURNING email", id)
        .fetch_optional(&mut *tx)
        .await;
    let email = references::refuse_delete(deleted, &state.db, Table::Users, id)
        .await?
        .ok_or_else(|| AppError::not_found("There is no user with this id."))?;
    audit::record(
        &mut *tx,
        admin.audit_actor(),
        "user.delete",
        Target::of("user", id),
        json!({ "email": email }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset_password(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<ResetPasswordRequest>,
) -> AppResult<StatusCode> {
    let password = password::NewPassword::parse(&request.password)
        .map_err(|e| AppError::invalid("password", e))?;
    let hash = password::hash(&password).await?;
    let mut tx = state.db.begin().await?;
    let email = sqlx::query_scalar!(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1 RETURNING email",
        id,
        hash
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found("There is no user with this id."))?;
    // A new password is a fresh start from every address.
    auth::attempts::forget_failed_logins(&mut tx, &email).await?;
    // Whoever knew the old password may hold a session; end them all.
    session::revoke_all_for_user(&mut *tx, id, None).await?;
    audit::record(
        &mut *tx,
        admin.audit_actor(),
        "user.reset_password",
        Target::of("user", id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
