//! Who is calling, as extractors. Handlers state what they need in their signature:
//! `AuthUser` (any logged-in user), `Responder`, `Editor`, `Admin` (that role or higher),
//! `ReadAccess` / `IngestAccess` (a user, or an API key with that scope). Every check happens
//! here, on the server, before the handler runs.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use uuid::Uuid;
use vigil_shared::Role;
use vigil_shared::admin::ApiKeyScope;

use super::token::{TokenError, hash_token};
use crate::audit::AuditActor;
use crate::error::AppError;
use crate::state::AppState;

pub const ACCESS_COOKIE: &str = "vigil_access";
pub const REFRESH_COOKIE: &str = "vigil_refresh";

/// A logged-in user, checked against the database on every request: disabling a user, changing
/// their role or logging out takes effect at once, not when the access token expires.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// The login (refresh-token family) this request's session belongs to.
    pub family: Uuid,
    pub ip: Option<String>,
}

impl AuthUser {
    pub fn audit_actor(&self) -> AuditActor<'_> {
        AuditActor {
            label: &self.email,
            user_id: Some(self.id),
            ip: self.ip.as_deref(),
        }
    }

    fn require(self, role: Role) -> Result<Self, AppError> {
        if self.role.includes(role) {
            Ok(self)
        } else {
            Err(AppError::forbidden(format!(
                "This needs the {role} role; you are {} {}.",
                article(self.role),
                self.role
            )))
        }
    }
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Admin | Role::Editor => "an",
        Role::Viewer | Role::Responder => "a",
    }
}

/// The client's address: the socket peer, or, when Vigil is configured to trust its reverse
/// proxy, the last `X-Forwarded-For` hop — the address that proxy saw and appended. (Hops
/// before it are whatever the client chose to send.)
#[derive(Clone, Debug)]
pub struct ClientIp(pub Option<String>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, state.config.trust_proxy_headers)))
    }
}

fn client_ip(parts: &Parts, trust_proxy_headers: bool) -> Option<String> {
    if trust_proxy_headers
        && let Some(last) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .next_back()
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return Some(last.to_owned());
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

fn bearer_token(parts: &Parts) -> Option<Result<&str, AppError>> {
    let value = parts.headers.get(AUTHORIZATION)?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            AppError::unauthorized("The Authorization header must be `Bearer <API key>`.")
        });
    Some(parsed)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(ACCESS_COOKIE) else {
            if parts.headers.contains_key(AUTHORIZATION) {
                return Err(AppError::forbidden(
                    "API keys can only use the ingestion and read APIs; this needs a logged-in user.",
                ));
            }
            return Err(AppError::unauthorized("Log in to continue."));
        };
        let now = chrono::Utc::now().timestamp();
        let claims =
            state
                .signing_key
                .verify(cookie.value(), now)
                .map_err(|error| match error {
                    TokenError::Expired => AppError::Unauthorized {
                        code: "session_expired",
                        message: "Your session has expired; log in again.".to_owned(),
                    },
                    _ => AppError::unauthorized("Your session is not valid; log in again."),
                })?;

        let row = sqlx::query!(
            r#"SELECT u.id, u.email, u.role AS "role: Role", u.disabled,
                      EXISTS (SELECT 1 FROM refresh_tokens t
                              WHERE t.family_id = $2 AND t.revoked_at IS NOT NULL) AS "revoked!"
               FROM users u WHERE u.id = $1"#,
            claims.sub,
            claims.fam
        )
        .fetch_optional(&state.db)
        .await?;
        let Some(row) = row.filter(|row| !row.disabled && !row.revoked) else {
            return Err(AppError::unauthorized(
                "Your session has ended; log in again.",
            ));
        };
        Ok(AuthUser {
            id: row.id,
            email: row.email,
            role: row.role,
            family: claims.fam,
            ip: client_ip(parts, state.config.trust_proxy_headers),
        })
    }
}

macro_rules! role_gate {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(pub AuthUser);

        impl FromRequestParts<AppState> for $name {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
                let user = AuthUser::from_request_parts(parts, state).await?;
                user.require($role).map($name)
            }
        }
    };
}

role_gate!(
    /// A user who may act on incidents and create silences.
    Responder,
    Role::Responder
);
role_gate!(
    /// A user who may change configuration: rules, dashboards, policies, schedules, channels.
    Editor,
    Role::Editor
);
role_gate!(
    /// A user who may manage users, teams, API keys and settings.
    Admin,
    Role::Admin
);

/// An API key that authenticated a request.
#[derive(Clone, Debug)]
pub struct ApiKeyCaller {
    pub id: i64,
    pub name: String,
    pub label: String,
    pub scopes: Vec<ApiKeyScope>,
    pub ip: Option<String>,
}

/// Whoever is calling an endpoint that machine clients may also use.
#[derive(Clone, Debug)]
pub enum Caller {
    User(AuthUser),
    ApiKey(ApiKeyCaller),
}

impl Caller {
    pub fn audit_actor(&self) -> AuditActor<'_> {
        match self {
            Caller::User(user) => user.audit_actor(),
            Caller::ApiKey(key) => AuditActor {
                label: &key.label,
                user_id: None,
                ip: key.ip.as_deref(),
            },
        }
    }
}

async fn api_key_caller(
    parts: &Parts,
    state: &AppState,
    token: &str,
    scope: ApiKeyScope,
) -> Result<ApiKeyCaller, AppError> {
    let hash = hash_token(token);
    let key = sqlx::query!(
        r#"SELECT id, name, scopes FROM api_keys
           WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"#,
        hash
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| AppError::unauthorized("The API key is not valid (unknown, expired or revoked)."))?;

    let scopes: Vec<ApiKeyScope> = key
        .scopes
        .iter()
        .filter_map(|s| ApiKeyScope::parse(s))
        .collect();
    if !scopes.contains(&scope) {
        return Err(AppError::forbidden(format!(
            "This API key lacks the `{}` scope.",
            scope.as_str()
        )));
    }
    // At most one write a minute per key, so busy clients do not write on every request.
    sqlx::query!(
        "UPDATE api_keys SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        key.id
    )
    .execute(&state.db)
    .await?;

    Ok(ApiKeyCaller {
        id: key.id,
        label: format!("api-key:{}", key.name),
        name: key.name,
        scopes,
        ip: client_ip(parts, state.config.trust_proxy_headers),
    })
}

async fn caller_with(
    parts: &mut Parts,
    state: &AppState,
    scope: ApiKeyScope,
    user_role: Role,
) -> Result<Caller, AppError> {
    match bearer_token(parts) {
        Some(token) => {
            let token = token?.to_owned();
            api_key_caller(parts, state, &token, scope)
                .await
                .map(Caller::ApiKey)
        }
        None => {
            let user = AuthUser::from_request_parts(parts, state).await?;
            user.require(user_role).map(Caller::User)
        }
    }
}

/// A logged-in user, or an API key with the `read` scope.
#[derive(Clone, Debug)]
pub struct ReadAccess(pub Caller);

impl FromRequestParts<AppState> for ReadAccess {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        caller_with(parts, state, ApiKeyScope::Read, Role::Viewer)
            .await
            .map(ReadAccess)
    }
}

/// An editor (or admin), or an API key with the `ingest` scope.
#[derive(Clone, Debug)]
pub struct IngestAccess(pub Caller);

impl FromRequestParts<AppState> for IngestAccess {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        caller_with(parts, state, ApiKeyScope::Ingest, Role::Editor)
            .await
            .map(IngestAccess)
    }
}
