//! `/api/v1/auth/…`: logging in and out, refreshing sessions, who am I, changing one's own
//! password.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::USER_AGENT};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use serde_json::json;
use uuid::Uuid;
use vigil_shared::auth::{ChangePasswordRequest, LoginRequest, User};

use super::attempts::{limits_key, lock_out};
use super::token::hash_token;
use super::{ACCESS_COOKIE, AuthUser, ClientIp, REFRESH_COOKIE, password, session};
use crate::audit::{self, AuditActor, Target};
use crate::error::{AppError, AppResult, FieldErrors, Json};
use crate::state::AppState;
use crate::users;

/// One message for every credential failure, so answers do not reveal which emails exist.
const INVALID_CREDENTIALS: &str = "Invalid email or password.";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .route("/auth/password", post(change_password))
}

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(USER_AGENT).and_then(|v| v.to_str().ok())
}

fn too_many(message: String, retry_after: Duration) -> AppError {
    AppError::TooManyRequests {
        message,
        retry_after,
    }
}

fn minutes(duration: Duration) -> u64 {
    duration.as_secs().div_ceil(60).max(1)
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    Json(request): Json<LoginRequest>,
) -> AppResult<(CookieJar, Json<User>)> {
    let mut errors = FieldErrors::new();
    if request.email.trim().is_empty() {
        errors.add("email", "is required");
    }
    if request.password.is_empty() {
        errors.add("password", "is required");
    }
    errors.into_result()?;
    let email = request.email.trim().to_lowercase();

    if email.chars().count() > 254 {
        return Err(AppError::invalid("email", "must be at most 254 characters"));
    }
    let client = ip.as_deref().map(limits_key).unwrap_or_default();

    // Every check below answers alike for accounts that exist and ones that do not: the
    // limits and lockouts are kept per email typed, and an unknown account's password is
    // checked against a decoy hash.
    if let Err(wait) = state.login_limiter.address_attempt(&client) {
        return Err(too_many(
            format!(
                "Too many login attempts; try again in {} seconds.",
                wait.as_secs()
            ),
            wait,
        ));
    }
    let actor = AuditActor::anonymous(ip.as_deref());
    let lockout = &state.config.lockout;
    // The attempt is counted before the password is checked, so that attempts made at once
    // all count: the failure that reaches the limit locks this address out of this account,
    // and attempts beyond it are not checked at all.
    let attempt = sqlx::query!(
        r#"INSERT INTO login_attempts AS f (email, client, failures)
           VALUES ($1, $2, 1)
           ON CONFLICT (email, client) DO UPDATE
           SET failures = CASE WHEN f.locked_until > now() THEN f.failures
                               ELSE f.failures + 1 END,
               updated_at = now()
           RETURNING failures,
                     GREATEST(locked_until - now(), interval '0') AS "locked_for!",
                     last_success_at IS NOT NULL AS "known!""#,
        email,
        client
    )
    .fetch_one(&state.db)
    .await?;
    let mut locked_for = Duration::from_micros(attempt.locked_for.microseconds.max(0) as u64);
    // More attempts than allowed failures are under way at once: the extra ones are not
    // checked, and start the lockout.
    if locked_for.is_zero() && attempt.failures > lockout.max_failures {
        let mut tx = state.db.begin().await?;
        // Attempts made at once may all pass the limit; the one that starts the lockout
        // records it.
        if lock_out(&mut tx, &email, &client, lockout.max_failures + 1, lockout).await? {
            audit::record(
                &mut *tx,
                actor,
                "auth.lockout",
                Target::none(),
                json!({ "email": email }),
            )
            .await?;
        }
        tx.commit().await?;
        locked_for = lockout.duration;
    }
    if !locked_for.is_zero() {
        return Err(too_many(
            format!(
                "Too many failed logins for this account from your address: try again in {} \
                 minute(s).",
                minutes(locked_for)
            ),
            locked_for,
        ));
    }
    // From an address that has logged into this account before, the account's owner is not
    // held up; from others, attempts at one account are limited across every address.
    if !attempt.known
        && let Err(wait) = state.login_limiter.account_attempt(&email)
    {
        return Err(too_many(
            format!(
                "Too many login attempts for this account; try again in {} seconds.",
                wait.as_secs()
            ),
            wait,
        ));
    }

    let account = sqlx::query!(
        "SELECT id, password_hash, disabled FROM users WHERE lower(email) = $1",
        email
    )
    .fetch_optional(&state.db)
    .await?;
    let password_hash = account.as_ref().map(|a| a.password_hash.as_str());
    let password_matches = password::verify(&request.password, password_hash).await?;
    let account_id = account.as_ref().map(|a| a.id);

    let Some(account) = account.filter(|_| password_matches) else {
        let mut tx = state.db.begin().await?;
        // The failure that reaches the limit starts the lockout at once.
        let locked = lock_out(&mut tx, &email, &client, lockout.max_failures, lockout).await?;
        let target = match account_id {
            Some(id) => Target::of("user", id),
            None => Target::none(),
        };
        let action = if locked {
            "auth.lockout"
        } else {
            "auth.login_failed"
        };
        audit::record(&mut *tx, actor, action, target, json!({ "email": email })).await?;
        tx.commit().await?;
        return Err(AppError::unauthorized(INVALID_CREDENTIALS));
    };

    if account.disabled {
        return Err(AppError::forbidden(
            "This account is disabled; ask an administrator to enable it.",
        ));
    }

    let mut tx = state.db.begin().await?;
    sqlx::query!(
        "UPDATE users SET last_login_at = now() WHERE id = $1",
        account.id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE login_attempts SET failures = 0, last_success_at = now(), updated_at = now()
         WHERE email = $1 AND client = $2",
        email,
        client
    )
    .execute(&mut *tx)
    .await?;
    let session = session::issue(
        &mut tx,
        &state,
        account.id,
        Uuid::new_v4(),
        ip.as_deref(),
        user_agent(&headers),
    )
    .await?;
    let user = users::find(&mut *tx, account.id)
        .await?
        .ok_or_else(|| AppError::unauthorized(INVALID_CREDENTIALS))?;
    audit::record(
        &mut *tx,
        AuditActor {
            label: &user.email,
            user_id: Some(user.id),
            ip: ip.as_deref(),
        },
        "auth.login",
        Target::of("user", user.id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    state.login_limiter.succeeded(&client, &email);
    Ok((
        session::set_cookies(jar, &state.config, session),
        Json(user),
    ))
}

async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
) -> AppResult<(CookieJar, Json<User>)> {
    let Some(presented) = jar.get(REFRESH_COOKIE) else {
        return Err(AppError::unauthorized(
            "There is no session to refresh; log in.",
        ));
    };
    let hash = hash_token(presented.value());

    let mut tx = state.db.begin().await?;
    let token = sqlx::query!(
        r#"SELECT t.id, t.family_id, t.user_id, u.email, u.disabled,
                  t.expires_at <= now() AS "expired!",
                  t.revoked_at IS NOT NULL AS "revoked!",
                  now() - t.rotated_at AS rotated_ago
           FROM refresh_tokens t JOIN users u ON u.id = t.user_id
           WHERE t.token_hash = $1
           FOR UPDATE OF t"#,
        hash
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::unauthorized("Your session is not valid; log in again."))?;

    if token.revoked || token.expired {
        return Err(AppError::unauthorized(
            "Your session has ended; log in again.",
        ));
    }
    if let Some(ago) = token.rotated_ago {
        let grace = state.config.refresh_reuse_grace.as_micros() as i64;
        if ago.months == 0 && ago.days == 0 && ago.microseconds < grace {
            return Err(AppError::Unauthorized {
                code: "refresh_superseded",
                message: "This session was refreshed a moment ago; retry the request.".to_owned(),
            });
        }
        // An old token came back: someone kept a copy. End the whole login.
        session::revoke_family(&mut *tx, token.family_id).await?;
        audit::record(
            &mut *tx,
            AuditActor {
                label: &token.email,
                user_id: Some(token.user_id),
                ip: ip.as_deref(),
            },
            "auth.refresh_reuse",
            Target::of("user", token.user_id),
            json!({ "family": token.family_id }),
        )
        .await?;
        tx.commit().await?;
        return Err(AppError::Unauthorized {
            code: "session_revoked",
            message: "This session was ended because an old token was reused; log in again."
                .to_owned(),
        });
    }
    if token.disabled {
        session::revoke_family(&mut *tx, token.family_id).await?;
        tx.commit().await?;
        return Err(AppError::unauthorized("This account is disabled."));
    }

    sqlx::query!(
        "UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1",
        token.id
    )
    .execute(&mut *tx)
    .await?;
    let session = session::issue(
        &mut tx,
        &state,
        token.user_id,
        token.family_id,
        ip.as_deref(),
        user_agent(&headers),
    )
    .await?;
    let user = users::find(&mut *tx, token.user_id)
        .await?
        .ok_or_else(|| AppError::unauthorized("Your session has ended; log in again."))?;
    tx.commit().await?;
    Ok((
        session::set_cookies(jar, &state.config, session),
        Json(user),
    ))
}

/// Ends the caller's login (refresh family) and clears the cookies. Idempotent.
async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
) -> AppResult<(CookieJar, StatusCode)> {
    let from_refresh = match jar.get(REFRESH_COOKIE) {
        Some(cookie) => sqlx::query!(
            "SELECT family_id, user_id FROM refresh_tokens WHERE token_hash = $1",
            hash_token(cookie.value())
        )
        .fetch_optional(&state.db)
        .await?
        .map(|row| (row.family_id, row.user_id)),
        None => None,
    };
    // An expired access token still names its login; its signature is what matters here.
    let from_access = jar
        .get(ACCESS_COOKIE)
        .and_then(|cookie| state.signing_key.verify(cookie.value(), i64::MIN).ok())
        .map(|claims| (claims.fam, claims.sub));

    if let Some((family, user_id)) = from_refresh.or(from_access) {
        let mut tx = state.db.begin().await?;
        session::revoke_family(&mut *tx, family).await?;
        let email = sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", user_id)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or_default();
        audit::record(
            &mut *tx,
            AuditActor {
                label: &email,
                user_id: Some(user_id),
                ip: ip.as_deref(),
            },
            "auth.logout",
            Target::of("user", user_id),
            json!({}),
        )
        .await?;
        tx.commit().await?;
    }
    Ok((
        session::clear_cookies(jar, &state.config),
        StatusCode::NO_CONTENT,
    ))
}

async fn me(user: AuthUser, State(state): State<AppState>) -> AppResult<Json<User>> {
    users::find(&state.db, user.id)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::unauthorized("Your session has ended; log in again."))
}

async fn change_password(
    user: AuthUser,
    State(state): State<AppState>,
    Json(request): Json<ChangePasswordRequest>,
) -> AppResult<StatusCode> {
    let new_password = password::NewPassword::parse(&request.new_password)
        .map_err(|e| AppError::invalid("new_password", e))?;
    let stored = sqlx::query_scalar!("SELECT password_hash FROM users WHERE id = $1", user.id)
        .fetch_one(&state.db)
        .await?;
    if !password::verify(&request.current_password, Some(&stored)).await? {
        return Err(AppError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    let hash = password::hash(&new_password).await?;
    let mut tx = state.db.begin().await?;
    sqlx::query!(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        user.id,
        hash
    )
    .execute(&mut *tx)
    .await?;
    // Other sessions may belong to whoever learnt the old password; this one stays.
    session::revoke_all_for_user(&mut *tx, user.id, Some(user.family)).await?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "auth.change_password",
        Target::of("user", user.id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
