//! API keys for machine clients (admin): created with scopes, shown once, stored hashed,
//! revoked rather than deleted so the audit log can still name them.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use chrono::Utc;
use serde_json::json;
use sqlx::PgExecutor;
use vigil_shared::admin::{ApiKey, ApiKeyList, ApiKeyScope, CreateApiKeyRequest, CreatedApiKey};

use crate::audit::{self, Target};
use crate::auth::Admin;
use crate::auth::token::new_opaque_token;
use crate::error::{AppError, AppResult, FieldErrors, Json, Path};
use crate::state::AppState;

/// Every key starts with this, so leaked keys are easy to spot (and to scan for).
pub const KEY_PREFIX: &str = "vgl_";
/// How much of a key is kept in clear to tell keys apart.
const SHOWN_PREFIX_LEN: usize = 12;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api-keys", get(list_api_keys).post(create_api_key))
        .route("/api-keys/{id}", delete(revoke_api_key))
}

async fn select<'e>(db: impl PgExecutor<'e>, id: Option<i64>) -> Result<Vec<ApiKey>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT k.id, k.name, k.prefix, k.scopes, u.email AS "created_by?", k.created_at,
                  k.expires_at, k.last_used_at, k.revoked_at
           FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
           WHERE $1::bigint IS NULL OR k.id = $1
           ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ApiKey {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            scopes: row
                .scopes
                .iter()
                .filter_map(|s| ApiKeyScope::parse(s))
                .collect(),
            created_by: row.created_by,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
        .collect())
}

async fn list_api_keys(
    Admin(_admin): Admin,
    State(state): State<AppState>,
) -> AppResult<Json<ApiKeyList>> {
    Ok(Json(ApiKeyList {
        api_keys: select(&state.db, None).await?,
    }))
}

async fn create_api_key(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Json(request): Json<CreateApiKeyRequest>,
) -> AppResult<(StatusCode, Json<CreatedApiKey>)> {
    let mut errors = FieldErrors::new();
    let name = request.name.trim();
    if name.is_empty() {
        errors.add("name", "is required");
    } else if name.chars().count() > 100 {
        errors.add("name", "must be at most 100 characters");
    }
    let mut scopes: Vec<&str> = request.scopes.iter().map(|s| s.as_str()).collect();
    scopes.sort_unstable();
    scopes.dedup();
    if scopes.is_empty() {
        errors.add("scopes", "choose at least one scope (ingest, read)");
    }
    if request.expires_at.is_some_and(|at| at <= Utc::now()) {
        errors.add("expires_at", "must be in the future");
    }
    errors.into_result()?;

    let (secret, hash) = new_opaque_token(KEY_PREFIX);
    let prefix: String = secret.chars().take(SHOWN_PREFIX_LEN).collect();
    let scopes: Vec<String> = scopes.into_iter().map(str::to_owned).collect();

    let mut tx = state.db.begin().await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO api_keys (name, prefix, key_hash, scopes, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        name,
        prefix,
        hash,
        &scopes,
        admin.id,
        request.expires_at
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        admin.audit_actor(),
        "api_key.create",
        Target::of("api_key", id),
        json!({ "name": name, "scopes": scopes, "prefix": prefix }),
    )
    .await?;
    let key = select(&mut *tx, Some(id))
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("api key"))?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key, secret })))
}

/// Revokes a key. Revoking an already revoked key changes nothing and still answers 204.
async fn revoke_api_key(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let key = sqlx::query!(
        r#"SELECT name, revoked_at IS NOT NULL AS "already_revoked!" FROM api_keys WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found("There is no API key with this id."))?;
    if !key.already_revoked {
        sqlx::query!("UPDATE api_keys SET revoked_at = now() WHERE id = $1", id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut *tx,
            admin.audit_actor(),
            "api_key.revoke",
            Target::of("api_key", id),
            json!({ "name": key.name }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
