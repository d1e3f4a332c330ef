//! Users, teams, API keys and the audit log (the admin's), and the directories of users and
//! teams anyone logged in may read.

use vigil_shared::admin::{
    ApiKeyList, AuditLogPage, CreateApiKeyRequest, CreateTeamRequest, CreateUserRequest,
    CreatedApiKey, ResetPasswordRequest, Team, TeamList, UpdateTeamRequest, UpdateUserRequest,
    UserList,
};
use vigil_shared::auth::User;
use vigil_shared::directory::{TeamDirectory, UserDirectory};

use super::{ApiResult, Method, call, encode, encode_component, json};

// Users

pub async fn list_users() -> ApiResult<UserList> {
    json(Method::Get, "/api/v1/users", None).await
}

pub async fn create_user(request: &CreateUserRequest) -> ApiResult<User> {
    json(Method::Post, "/api/v1/users", encode(request)).await
}

pub async fn update_user(id: i64, request: &UpdateUserRequest) -> ApiResult<User> {
    json(
        Method::Patch,
        &format!("/api/v1/users/{id}"),
        encode(request),
    )
    .await
}

pub async fn reset_password(id: i64, request: &ResetPasswordRequest) -> ApiResult<()> {
    call(
        Method::Post,
        &format!("/api/v1/users/{id}/password"),
        encode(request),
    )
    .await
    .map(drop)
}

// Teams

pub async fn list_teams() -> ApiResult<TeamList> {
    json(Method::Get, "/api/v1/teams", None).await
}

pub async fn create_team(request: &CreateTeamRequest) -> ApiResult<Team> {
    json(Method::Post, "/api/v1/teams", encode(request)).await
}

pub async fn update_team(id: i64, request: &UpdateTeamRequest) -> ApiResult<Team> {
    json(
        Method::Patch,
        &format!("/api/v1/teams/{id}"),
        encode(request),
    )
    .await
}

pub async fn delete_team(id: i64) -> ApiResult<()> {
    call(Method::Delete, &format!("/api/v1/teams/{id}"), None)
        .await
        .map(drop)
}

// API keys

pub async fn list_api_keys() -> ApiResult<ApiKeyList> {
    json(Method::Get, "/api/v1/api-keys", None).await
}

pub async fn create_api_key(request: &CreateApiKeyRequest) -> ApiResult<CreatedApiKey> {
    json(Method::Post, "/api/v1/api-keys", encode(request)).await
}

pub async fn revoke_api_key(id: i64) -> ApiResult<()> {
    call(Method::Delete, &format!("/api/v1/api-keys/{id}"), None)
        .await
        .map(drop)
}

// Audit log

/// One page of the audit log, newest first; `before` continues from a previous page.
pub async fn audit_log(action: &str, actor: &str, before: Option<i64>) -> ApiResult<AuditLogPage> {
    let mut query = vec!["limit=100".to_owned()];
    if !action.trim().is_empty() {
        query.push(format!("action={}", encode_component(action.trim())));
    }
    if !actor.trim().is_empty() {
        query.push(format!("actor={}", encode_component(actor.trim())));
    }
    if let Some(before) = before {
        query.push(format!("before={before}"));
    }
    json(
        Method::Get,
        &format!("/api/v1/audit-log?{}", query.join("&")),
        None,
    )
    .await
}

/// Every user's name, for anyone logged in (the user list itself is the admin's).
pub async fn user_directory() -> ApiResult<UserDirectory> {
    json(Method::Get, "/api/v1/users/directory", None).await
}

pub async fn team_directory() -> ApiResult<TeamDirectory> {
    json(Method::Get, "/api/v1/teams/directory", None).await
}
