//! Sessions: issuing the access/refresh token pair, the cookies that carry them, and revocation.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::extract::{ACCESS_COOKIE, REFRESH_COOKIE};
use super::token::{AccessClaims, new_opaque_token};
use crate::config::AppConfig;
use crate::state::AppState;

/// The refresh cookie is only ever sent to the auth endpoints that use it.
const REFRESH_COOKIE_PATH: &str = "/api/v1/auth";

pub struct IssuedSession {
    pub access_token: String,
    pub refresh_token: String,
}

/// Issues a new access token and a new refresh token in `family` (a fresh family for a login,
/// the same one for a rotation).
pub async fn issue(
    conn: &mut PgConnection,
    state: &AppState,
    user_id: i64,
    family: Uuid,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<IssuedSession, sqlx::Error> {
    let config = &state.config;
    let (refresh_token, hash) = new_opaque_token("");
    let refresh_ttl = config.refresh_token_ttl.as_secs_f64();
    sqlx::query!(
        "INSERT INTO refresh_tokens (family_id, user_id, token_hash, expires_at, ip, user_agent)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, $6)",
        family,
        user_id,
        hash,
        refresh_ttl,
        ip,
        user_agent.map(|ua| ua.chars().take(300).collect::<String>())
    )
    .execute(&mut *conn)
    .await?;
    let now = chrono::Utc::now().timestamp();
    let access_token = state.signing_key.sign(&AccessClaims {
        sub: user_id,
        fam: family,
        iat: now,
        exp: now + config.access_token_ttl.as_secs() as i64,
    });
    Ok(IssuedSession {
        access_token,
        refresh_token,
    })
}

/// Both tokens as HttpOnly, SameSite=Strict cookies: scripts cannot read them and other sites
/// cannot make the browser send them.
pub fn set_cookies(jar: CookieJar, config: &AppConfig, session: IssuedSession) -> CookieJar {
    jar.add(cookie(
        config,
        ACCESS_COOKIE,
        session.access_token,
        "/",
        config.access_token_ttl,
    ))
    .add(cookie(
        config,
        REFRESH_COOKIE,
        session.refresh_token,
        REFRESH_COOKIE_PATH,
        config.refresh_token_ttl,
    ))
}

pub fn clear_cookies(jar: CookieJar, config: &AppConfig) -> CookieJar {
    jar.add(cookie(
        config,
        ACCESS_COOKIE,
        String::new(),
        "/",
        std::time::Duration::ZERO,
    ))
    .add(cookie(
        config,
        REFRESH_COOKIE,
        String::new(),
        REFRESH_COOKIE_PATH,
        std::time::Duration::ZERO,
    ))
}

fn cookie(
    config: &AppConfig,
    name: &'static str,
    value: String,
    path: &'static str,
    max_age: std::time::Duration,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(config.cookie_secure)
        .path(path)
        .max_age(time::Duration::seconds(max_age.as_secs() as i64))
        .build()
}

/// Ends one login: its refresh tokens stop working and so do access tokens naming it.
pub async fn revoke_family<'e>(db: impl PgExecutor<'e>, family: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
        family
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Ends every login of a user, except `keep` (the caller's own, when changing one's password).
pub async fn revoke_all_for_user<'e>(
    db: impl PgExecutor<'e>,
    user_id: i64,
    keep: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now()
         WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR family_id <> $2)",
        user_id,
        keep
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Removes refresh tokens a week after they expired (the week keeps recent history for
/// investigating a reuse alarm).
pub async fn prune_expired(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let deleted =
        sqlx::query!("DELETE FROM refresh_tokens WHERE expires_at < now() - interval '7 days'")
            .execute(pool)
            .await?;
    Ok(deleted.rows_affected())
}

/// Background worker: prunes expired sessions hourly until shut down. Idempotent, so every
/// replica may run it.
pub async fn prune_worker(pool: sqlx::PgPool, shutdown: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match prune_expired(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned expired sessions"),
            Err(error) => tracing::warn!(%error, "pruning expired sessions failed"),
        }
        if let Err(error) = super::attempts::prune_failed_logins(&pool).await {
            tracing::warn!(%error, "pruning old failed logins failed");
        }
    }
}
