//! `/api/v1/dashboards` and home dashboards. Every role (and API keys with the read scope)
//! reads what it may see; editors write what they may edit; a dashboard the caller may not
//! see answers 404 on every endpoint, by id and by uid.

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sqlx::{PgConnection, Postgres, Transaction};
use vigil_shared::dashboard::{
    Dashboard, DashboardModel, DashboardSummary, DashboardVersion, HomeDashboard, HomeDashboards,
    OwnHomeDashboard, RestoreDashboard, SaveDashboard,
};

use super::access::Who;
use super::store::{self, Filter, Home, HomeScope, Key, Listed, Stored};
use super::validate;
use crate::audit::{self, Target};
use crate::auth::{Admin, AuthUser, Editor, ReadAccess};
use crate::error::{AppError, AppResult, FieldErrors, Json, Path, Query};
use crate::references::{self, Table};
use crate::state::AppState;
use crate::users;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboards", get(list).post(create))
        .route(
            "/dashboards/{key}",
            get(get_one).put(save).delete(delete_one),
        )
        .route("/dashboards/{key}/versions", get(versions))
        .route("/dashboards/{key}/versions/{version}", get(version))
        .route("/dashboards/{key}/restore", post(restore))
        .route("/home-dashboard", get(home))
        .route("/account/home-dashboard", put(set_own_home))
        .route("/home-dashboards", get(shared_homes).put(set_shared_homes))
        .layer(DefaultBodyLimit::max(validate::MAX_BODY_BYTES))
}

/// A body read as `T`, a mismatch answered 422 on its path in the model (`panels.x.kind`)
/// rather than as one message for the whole body.
pub(super) fn parse<T: DeserializeOwned>(body: Value) -> AppResult<T> {
    serde_path_to_error::deserialize(body).map_err(|error| {
        let path = error.path().to_string();
        let field = match path.strip_prefix("model.") {
            Some(field) => field,
            // A field missing from the body itself.
            None if path == "." => "body",
            None => &path,
        };
        AppError::invalid(field, error.into_inner().to_string())
    })
}

/// The dashboard `key` names if `who` sees it, else 404 (the two are not told apart).
async fn visible(conn: &mut PgConnection, who: &Who, key: &str) -> AppResult<Stored> {
    store::find(conn, &Key::parse(key))
        .await?
        .filter(|d| who.sees(&d.model.viewable_by))
        .ok_or_else(store::not_found)
}

/// The dashboard `key` names, locked, if `who` sees it and may change it: 404 when they do
/// not see it, 403 when they may only look, 409 when it is provisioned.
async fn editable(conn: &mut PgConnection, who: &Who, key: &str) -> AppResult<Stored> {
    let current = store::lock(conn, &Key::parse(key))
        .await?
        .filter(|d| who.sees(&d.model.viewable_by))
        .ok_or_else(store::not_found)?;
    if !who.edits(&current.model.viewable_by, &current.model.editable_by) {
        return Err(AppError::forbidden(
            "You may look at this dashboard but not change it; save it as a copy.",
        ));
    }
    if let Some(source) = &current.provisioned {
        return Err(AppError::conflict(format!(
            "This dashboard is provisioned from {source}; save it as a copy."
        )));
    }
    Ok(current)
}

/// A stored dashboard as the API answers it to `who`.
async fn shown(conn: &mut PgConnection, who: &Who, stored: Stored) -> AppResult<Dashboard> {
    let updated_by = match stored.updated_by {
        Some(id) => users::emails(&mut *conn, &[id]).await?.remove(&id),
        None => None,
    };
    Ok(Dashboard {
        can_edit: stored.provisioned.is_none()
            && who.edits(&stored.model.viewable_by, &stored.model.editable_by),
        id: stored.id,
        uid: stored.uid,
        version: stored.version,
        model: stored.model,
        provisioned: stored.provisioned,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        updated_by,
    })
}

fn summary(who: &Who, listed: Listed) -> DashboardSummary {
    DashboardSummary {
        can_edit: listed.provisioned.is_none()
            && who.edits(&listed.viewable_by, &listed.editable_by),
        id: listed.id,
        uid: listed.uid,
        title: listed.title,
        tags: listed.tags,
        folder: listed.folder,
        version: listed.version,
        provisioned: listed.provisioned,
        updated_at: listed.updated_at,
    }
}

pub(super) fn summary_of(who: &Who, stored: Stored) -> DashboardSummary {
    summary(
        who,
        Listed {
            id: stored.id,
            uid: stored.uid,
            title: stored.model.title.trim().to_owned(),
            tags: stored.model.tags,
            folder: stored.model.folder,
            version: stored.version,
            provisioned: stored.provisioned,
            updated_at: stored.updated_at,
            viewable_by: stored.model.viewable_by,
            editable_by: stored.model.editable_by,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListParams {
    q: Option<String>,
    tag: Option<String>,
    folder: Option<String>,
}

/// Longest search term or filter.
const MAX_FILTER: usize = 200;

async fn list(
    ReadAccess(caller): ReadAccess,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> AppResult<Json<Vec<DashboardSummary>>> {
    let mut problems = FieldErrors::new();
    for (field, value) in [
        ("q", &params.q),
        ("tag", &params.tag),
        ("folder", &params.folder),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > MAX_FILTER)
        {
            problems.add(field, format!("must be at most {MAX_FILTER} characters"));
        }
    }
    problems.into_result()?;
    let filter = Filter {
        query: params
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty()),
        tag: params.tag.filter(|t| !t.is_empty()),
        folder: params.folder.filter(|f| !f.is_empty()),
    };
    let mut conn = state.db.acquire().await?;
    let who = Who::caller(&mut conn, &caller).await?;
    let listed = store::list(&mut conn, &who, &filter).await?;
    Ok(Json(
        listed
            .into_iter()
            .filter(|d| who.sees(&d.viewable_by))
            .map(|d| summary(&who, d))
            .collect(),
    ))
}

async fn get_one(
    ReadAccess(caller): ReadAccess,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> AppResult<Json<Dashboard>> {
    let mut conn = state.db.acquire().await?;
    let who = Who::caller(&mut conn, &caller).await?;
    let stored = visible(&mut conn, &who, &key).await?;
    Ok(Json(shown(&mut conn, &who, stored).await?))
}

fn audit_details(stored: &Stored, message: &str) -> Value {
    json!({ "uid": stored.uid, "title": stored.model.title, "version": stored.version,
            "message": message })
}

/// The end of every write that leaves a dashboard: the audit entry, the commit, and the
/// dashboard as the caller now sees it.
async fn written(
    mut tx: Transaction<'_, Postgres>,
    editor: &AuthUser,
    who: &Who,
    action: &str,
    stored: Stored,
    details: Value,
) -> AppResult<Dashboard> {
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        action,
        Target::of("dashboard", stored.id),
        details,
    )
    .await?;
    let shown = shown(&mut tx, who, stored).await?;
    tx.commit().await?;
    Ok(shown)
}

async fn create(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Json(body): Json<Value>,
) -> AppResult<(StatusCode, Json<Dashboard>)> {
    let request: SaveDashboard = parse(body)?;
    let mut tx = state.db.begin().await?;
    let who = Who::user(&mut tx, &editor).await?;
    let stored = store::create(
        &mut tx,
        &request.model,
        request.uid.as_deref(),
        Some(editor.id),
        &request.message,
    )
    .await?;
    let details = audit_details(&stored, &request.message);
    let shown = written(tx, &editor, &who, "dashboard.create", stored, details).await?;
    Ok((StatusCode::CREATED, Json(shown)))
}

/// The 409 for a save or restore started from `started` when `current` is newer.
async fn stale(conn: &mut PgConnection, current: &Stored, started: i32) -> AppResult<AppError> {
    let by = match current.updated_by {
        Some(id) => users::emails(&mut *conn, &[id]).await?.remove(&id),
        None => None,
    };
    let by = by.map_or_else(String::new, |email| format!(" by {email}"));
    Ok(AppError::conflict_on(
        "version",
        format!(
            "Version {} of this dashboard was saved{by} after the version {started} you \
             started from; reload it, or save yours as a copy.",
            current.version
        ),
    ))
}

async fn save(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> AppResult<Json<Dashboard>> {
    let request: SaveDashboard = parse(body)?;
    let mut tx = state.db.begin().await?;
    let who = Who::user(&mut tx, &editor).await?;
    let current = editable(&mut tx, &who, &key).await?;
    let Some(started) = request.version else {
        return Err(AppError::invalid(
            "version",
            "is needed: the version you started from",
        ));
    };
    if started != current.version {
        return Err(stale(&mut tx, &current, started).await?);
    }
    let stored = store::update(
        &mut tx,
        &current,
        &request.model,
        Some(editor.id),
        &request.message,
    )
    .await?;
    let details = audit_details(&stored, &request.message);
    let shown = written(tx, &editor, &who, "dashboard.update", stored, details).await?;
    Ok(Json(shown))
}

async fn delete_one(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let who = Who::user(&mut tx, &editor).await?;
    let current = editable(&mut tx, &who, &key).await?;
    store::delete(&mut tx, current.id).await?;
    audit::record(
        &mut *tx,
        editor.audit_actor(),
        "dashboard.delete",
        Target::of("dashboard", current.id),
        json!({ "uid": current.uid, "title": current.model.title }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn versions(
    ReadAccess(caller): ReadAccess,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> AppResult<Json<Vec<DashboardVersion>>> {
    let mut conn = state.db.acquire().await?;
    let who = Who::caller(&mut conn, &caller).await?;
    let stored = visible(&mut conn, &who, &key).await?;
    let rows = store::versions(&mut conn, stored.id).await?;
    let authors: Vec<i64> = rows.iter().filter_map(|row| row.author).collect();
    let emails = users::emails(&mut *conn, &authors).await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| DashboardVersion {
                version: row.version,
                created_at: row.created_at,
                author: row.author.and_then(|id| emails.get(&id).cloned()),
                message: row.message,
            })
            .collect(),
    ))
}

fn no_version(version: i32) -> String {
    format!(
        "there is no version {version} of this dashboard (the newest {} are kept)",
        store::KEPT_VERSIONS
    )
}

async fn version(
    ReadAccess(caller): ReadAccess,
    State(state): State<AppState>,
    Path((key, version)): Path<(String, i32)>,
) -> AppResult<Json<DashboardModel>> {
    let mut conn = state.db.acquire().await?;
    let who = Who::caller(&mut conn, &caller).await?;
    let stored = visible(&mut conn, &who, &key).await?;
    let model = store::version_model(&mut conn, stored.id, version)
        .await?
        .ok_or_else(|| AppError::not_found(no_version(version)))?;
    Ok(Json(model))
}

async fn restore(
    Editor(editor): Editor,
    State(state): State<AppState>,
    Path(key): Path<String>,
    Json(request): Json<RestoreDashboard>,
) -> AppResult<Json<Dashboard>> {
    let mut tx = state.db.begin().await?;
    let who = Who::user(&mut tx, &editor).await?;
    let current = editable(&mut tx, &who, &key).await?;
    if request.from_version != current.version {
        return Err(stale(&mut tx, &current, request.from_version).await?);
    }
    let model = store::version_model(&mut tx, current.id, request.version)
        .await?
        .ok_or_else(|| AppError::invalid("version", no_version(request.version)))?;
    let message = match request.message.trim() {
        "" => format!("restored version {}", request.version),
        message => message.to_owned(),
    };
    let stored = store::update(&mut tx, &current, &model, Some(editor.id), &message).await?;
    let details = json!({ "uid": stored.uid, "title": stored.model.title,
                          "version": stored.version, "restored": request.version });
    let shown = written(tx, &editor, &who, "dashboard.restore", stored, details).await?;
    Ok(Json(shown))
}

/// The caller's home dashboard: their own choice, else their teams' (the lowest team id
/// with one), else their role's — skipping any they may not see.
async fn resolve_home(conn: &mut PgConnection, user: &AuthUser) -> AppResult<HomeDashboard> {
    let who = Who::user(&mut *conn, user).await?;
    for Home {
        scope,
        dashboard_id,
    } in store::homes_for(&mut *conn, Some(user.id), &who).await?
    {
        let Some(stored) = store::find(&mut *conn, &Key::Id(dashboard_id)).await? else {
            continue;
        };
        if !who.sees(&stored.model.viewable_by) {
            continue;
        }
        let chosen_by = match scope {
            HomeScope::User(_) => "user",
            HomeScope::Team(_) => "team",
            HomeScope::Role(_) => "role",
        };
        return Ok(HomeDashboard {
            dashboard: Some(summary_of(&who, stored)),
            chosen_by: chosen_by.to_owned(),
        });
    }
    Ok(HomeDashboard {
        dashboard: None,
        chosen_by: "none".to_owned(),
    })
}

async fn home(user: AuthUser, State(state): State<AppState>) -> AppResult<Json<HomeDashboard>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(resolve_home(&mut conn, &user).await?))
}

async fn set_own_home(
    user: AuthUser,
    State(state): State<AppState>,
    Json(request): Json<OwnHomeDashboard>,
) -> AppResult<Json<HomeDashboard>> {
    let mut tx = state.db.begin().await?;
    if let Some(id) = request.dashboard_id {
        let who = Who::user(&mut tx, &user).await?;
        let seen = store::find(&mut tx, &Key::Id(id))
            .await?
            .is_some_and(|d| who.sees(&d.model.viewable_by));
        if !seen {
            return Err(AppError::invalid(
                "dashboard_id",
                format!("there is no dashboard {id} you can see"),
            ));
        }
    }
    store::set_home(&mut tx, HomeScope::User(user.id), request.dashboard_id).await?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "home_dashboard.set_own",
        Target::of("user", user.id),
        json!({ "dashboard_id": request.dashboard_id }),
    )
    .await?;
    let home = resolve_home(&mut tx, &user).await?;
    tx.commit().await?;
    Ok(Json(home))
}

async fn read_shared_homes(conn: &mut PgConnection) -> AppResult<HomeDashboards> {
    let mut homes = HomeDashboards::default();
    for home in store::shared_homes(conn).await? {
        match home.scope {
            HomeScope::Role(role) => {
                homes.roles.insert(role, home.dashboard_id);
            }
            HomeScope::Team(team) => {
                homes.teams.insert(team.to_string(), home.dashboard_id);
            }
            HomeScope::User(_) => {}
        }
    }
    Ok(homes)
}

async fn shared_homes(
    _admin: Admin,
    State(state): State<AppState>,
) -> AppResult<Json<HomeDashboards>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(read_shared_homes(&mut conn).await?))
}

/// Every scope an admin's request sets, checked: team keys are ids of teams, dashboards exist.
async fn checked_homes(
    conn: &mut PgConnection,
    request: &HomeDashboards,
) -> AppResult<Vec<(HomeScope, i64)>> {
    let mut problems = FieldErrors::new();
    if request.teams.len() > references::MAX_IDS {
        return Err(AppError::invalid(
            "teams",
            format!("at most {} teams", references::MAX_IDS),
        ));
    }
    let mut scopes: Vec<(String, HomeScope, i64)> = request
        .roles
        .iter()
        .map(|(role, id)| (format!("roles.{role}"), HomeScope::Role(*role), *id))
        .collect();
    for (team, id) in &request.teams {
        match team.parse::<i64>() {
            Ok(team_id) => scopes.push((format!("teams.{team}"), HomeScope::Team(team_id), *id)),
            Err(_) => problems.add(&format!("teams.{team}"), "must be a team id"),
        }
    }
    let teams: Vec<i64> = scopes
        .iter()
        .filter_map(|(_, scope, _)| match scope {
            HomeScope::Team(team) => Some(*team),
            _ => None,
        })
        .collect();
    let missing_teams = references::missing(conn, Table::Teams, &teams).await?;
    let dashboards: Vec<i64> = scopes.iter().map(|(_, _, id)| *id).collect();
    let missing_dashboards = store::missing(conn, &dashboards).await?;
    for (field, scope, id) in &scopes {
        if let HomeScope::Team(team) = scope
            && missing_teams.contains(team)
        {
            problems.add(field, format!("there is no team {team}"));
        } else if missing_dashboards.contains(id) {
            problems.add(field, format!("there is no dashboard {id}"));
        }
    }
    problems.into_result()?;
    Ok(scopes
        .into_iter()
        .map(|(_, scope, id)| (scope, id))
        .collect())
}

async fn set_shared_homes(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Json(request): Json<HomeDashboards>,
) -> AppResult<Json<HomeDashboards>> {
    let mut tx = state.db.begin().await?;
    let scopes = checked_homes(&mut tx, &request).await?;
    store::clear_shared_homes(&mut tx).await?;
    for (scope, id) in scopes {
        store::set_home(&mut tx, scope, Some(id)).await?;
    }
    audit::record(
        &mut *tx,
        admin.audit_actor(),
        "home_dashboards.update",
        Target::none(),
        json!({ "roles": request.roles, "teams": request.teams }),
    )
    .await?;
    let homes = read_shared_homes(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(homes))
}
