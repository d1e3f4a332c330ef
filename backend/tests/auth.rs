//! Logging in and out, session refresh and revocation, lockout and rate limits.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{PASSWORD, TestApp};
use serde_json::json;
use vigil::auth::token::AccessClaims;
use vigil::config::AppConfig;
use vigil_shared::Role;
use vigil_shared::auth::User;

fn credentials(email: &str, password: &str) -> serde_json::Value {
    json!({ "email": email, "password": password })
}

#[tokio::test]
async fn logging_in_returns_the_user_and_sets_httponly_strict_cookies() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Editor).await;

    let mut client = app.anonymous();
    let response = client
        .post(
            "/api/v1/auth/login",
            &credentials("Ada@Example.com", PASSWORD),
        )
        .await;

    assert_eq!(response.status, StatusCode::OK);
    let user: User = response.json();
    assert_eq!(user.email, "ada@example.com");
    assert_eq!(user.role, Role::Editor);
    let cookies = response.set_cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in &cookies {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    }
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("vigil_access=") && c.contains("Path=/;"))
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("vigil_refresh=") && c.contains("Path=/api/v1/auth"))
    );
    assert!(
        !response.text().contains("password"),
        "the hash must never be sent"
    );

    let me = client.get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json::<User>().email, "ada@example.com");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Viewer).await;

    let wrong_password = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            &credentials("ada@example.com", "not the password"),
        )
        .await;
    let unknown_email = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            &credentials("nobody@example.com", PASSWORD),
        )
        .await;

    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.error(), unknown_email.error());
    assert!(wrong_password.set_cookies().is_empty());
}

#[tokio::test]
async fn empty_login_fields_are_named_in_the_error() {
    let app = TestApp::spawn().await;
    let response = app
        .anonymous()
        .post("/api/v1/auth/login", &credentials(" ", ""))
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = response.error().error;
    assert_eq!(error.code, "validation_failed");
    assert!(error.fields.contains_key("email"));
    assert!(error.fields.contains_key("password"));
}

#[tokio::test]
async fn five_failed_logins_lock_that_address_out_of_the_account_even_against_the_right_password() {
    let app = TestApp::spawn_with(AppConfig {
        trust_proxy_headers: true,
        ..common::test_config()
    })
    .await;
    app.create_user("ada@example.com", Role::Viewer).await;

    for attempt in 1..=5 {
        let response = app
            .anonymous()
            .via_ip("203.0.113.5")
            .post(
                "/api/v1/auth/login",
                &credentials("ada@example.com", "guess"),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let locked = app
        .anonymous()
        .via_ip("203.0.113.5")
        .post(
            "/api/v1/auth/login",
            &credentials("ada@example.com", PASSWORD),
        )
        .await;

    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.error().error.code, "too_many_requests");
    let retry_after: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (800..=900).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    let lockouts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'auth.lockout'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(lockouts, 1);
    // Ada, elsewhere, is not kept out of her own account.
    let elsewhere = app
        .anonymous()
        .via_ip("198.51.100.20")
        .post(
            "/api/v1/auth/login",
            &credentials("ada@example.com", PASSWORD),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.text());
}

#[tokio::test]
async fn a_lockout_ends_after_its_duration_and_a_success_resets_the_count() {
    let mut config = AppConfig::default();
    config.lockout.duration = Duration::from_secs(1);
    // This test is about the stored lockout, not the in-memory attempt limit.
    config.login_limit_per_account.attempts = 100;
    let app = TestApp::spawn_with(config).await;
    app.create_user("ada@example.com", Role::Viewer).await;

    for _ in 0..5 {
        app.anonymous()
            .post(
                "/api/v1/auth/login",
                &credentials("ada@example.com", "guess"),
            )
            .await;
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    app.login("ada@example.com", PASSWORD).await;

    // The count restarted: four more failures do not lock.
    for _ in 0..4 {
        app.anonymous()
            .post(
                "/api/v1/auth/login",
                &credentials("ada@example.com", "guess"),
            )
            .await;
    }
    app.login("ada@example.com", PASSWORD).await;
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_address_across_accounts() {
    let config = AppConfig {
        trust_proxy_headers: true,
        ..AppConfig::default()
    };
    let limit = config.login_limit_per_ip.attempts;
    let app = TestApp::spawn_with(config).await;

    for n in 0..limit {
        let response = app
            .anonymous()
            .via_ip("203.0.113.7")
            .post(
                "/api/v1/auth/login",
                &credentials(&format!("user{n}@example.com"), "guess"),
            )
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    let limited = app
        .anonymous()
        .via_ip("203.0.113.7")
        .post(
            "/api/v1/auth/login",
            &credentials("another@example.com", "guess"),
        )
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());

    let elsewhere = app
        .anonymous()
        .via_ip("198.51.100.1")
        .post(
            "/api/v1/auth/login",
            &credentials("another@example.com", "guess"),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_team_behind_one_address_logs_in_beyond_the_limit() {
    let config = AppConfig {
        trust_proxy_headers: true,
        ..AppConfig::default()
    };
    let limit = config.login_limit_per_ip.attempts;
    let app = TestApp::spawn_with(config).await;
    app.create_user("ada@example.com", Role::Viewer).await;
    // Only failures use up the address's attempts.
    for _ in 0..limit + 5 {
        let response = app
            .anonymous()
            .via_ip("203.0.113.8")
            .post(
                "/api/v1/auth/login",
                &credentials("ada@example.com", PASSWORD),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    }
}

#[tokio::test]
async fn guessing_at_one_account_from_many_addresses_is_limited_but_its_owner_still_gets_in() {
    let config = AppConfig {
        trust_proxy_headers: true,
        ..AppConfig::default()
    };
    let limit = config.login_limit_per_account.attempts;
    let app = TestApp::spawn_with(config).await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let attempt = |ip: String, email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.anonymous()
                .via_ip(&ip)
                .post("/api/v1/auth/login", &credentials(email, password))
                .await
                .status
        }
    };
    // Ada has logged in from her office before.
    assert_eq!(
        attempt("198.51.100.7".into(), "ada@example.com", PASSWORD).await,
        StatusCode::OK
    );
    for n in 0..limit {
        for email in ["ada@example.com", "nobody@example.com"] {
            let status = attempt(format!("203.0.113.{n}"), email, "guess").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{email}");
        }
    }
    // Past the limit, attempts from new addresses are refused, for an existing account as
    // for one that does not exist, the right password included…
    for email in ["ada@example.com", "nobody@example.com"] {
        let status = attempt("192.0.2.99".into(), email, PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{email}");
    }
    // …but not from where Ada logged in before.
    assert_eq!(
        attempt("198.51.100.7".into(), "ada@example.com", PASSWORD).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ada@example.com", Role::Viewer).await;
    sqlx::query("UPDATE users SET disabled = true WHERE id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    let response = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            &credentials("ada@example.com", PASSWORD),
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.error().error.message.contains("disabled"));
}

#[tokio::test]
async fn refreshing_rotates_the_refresh_token_and_keeps_the_session() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let mut client = app.login("ada@example.com", PASSWORD).await;
    let first_refresh = client.cookies["vigil_refresh"].clone();
    let first_access = client.cookies["vigil_access"].clone();

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let response = client.post_empty("/api/v1/auth/refresh").await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json::<User>().email, "ada@example.com");
    assert_ne!(client.cookies["vigil_refresh"], first_refresh);
    assert_ne!(client.cookies["vigil_access"], first_access);
    assert_eq!(client.get("/api/v1/auth/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_login() {
    let config = AppConfig {
        refresh_reuse_grace: Duration::ZERO,
        ..AppConfig::default()
    };
    let app = TestApp::spawn_with(config).await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let mut victim = app.login("ada@example.com", PASSWORD).await;
    let stolen = victim.cookies["vigil_refresh"].clone();

    assert_eq!(
        victim.post_empty("/api/v1/auth/refresh").await.status,
        StatusCode::OK
    );

    let mut thief = app.anonymous();
    thief.cookies.insert("vigil_refresh".to_owned(), stolen);
    let reuse = thief.post_empty("/api/v1/auth/refresh").await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reuse.error().error.code, "session_revoked");

    // The legitimate holder's newer tokens died with the family.
    assert_eq!(
        victim.post_empty("/api/v1/auth/refresh").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        victim.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let alarms: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'auth.refresh_reuse'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(alarms, 1);
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_do_not_end_the_session() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let mut tab = app.login("ada@example.com", PASSWORD).await;
    let shared = tab.cookies["vigil_refresh"].clone();

    assert_eq!(
        tab.post_empty("/api/v1/auth/refresh").await.status,
        StatusCode::OK
    );
    let mut other_tab = app.anonymous();
    other_tab.cookies.insert("vigil_refresh".to_owned(), shared);
    let late = other_tab.post_empty("/api/v1/auth/refresh").await;

    assert_eq!(late.status, StatusCode::UNAUTHORIZED);
    assert_eq!(late.error().error.code, "refresh_superseded");
    assert_eq!(tab.get("/api/v1/auth/me").await.status, StatusCode::OK);
    assert_eq!(
        tab.post_empty("/api/v1/auth/refresh").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn logging_out_revokes_both_tokens() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let mut client = app.login("ada@example.com", PASSWORD).await;
    let saved = client.cookies.clone();

    let response = client.post_empty("/api/v1/auth/logout").await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(client.cookies.is_empty(), "logout must clear the cookies");

    // Even someone who kept copies of the cookies is out.
    let mut replay = app.anonymous();
    replay.cookies = saved;
    assert_eq!(
        replay.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        replay.post_empty("/api/v1/auth/refresh").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Logging out again is harmless.
    assert_eq!(
        app.anonymous()
            .post_empty("/api/v1/auth/logout")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn requests_without_a_session_get_401_in_the_error_format() {
    let app = TestApp::spawn().await;
    let response = app.anonymous().get("/api/v1/auth/me").await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error().error.code, "unauthorized");
}

#[tokio::test]
async fn expired_and_forged_access_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let id = app.create_user("ada@example.com", Role::Admin).await;
    let now = chrono::Utc::now().timestamp();
    let expired = app.state.signing_key.sign(&AccessClaims {
        sub: id,
        fam: uuid::Uuid::new_v4(),
        iat: now - 3_600,
        exp: now - 60,
    });
    let mut client = app.anonymous();
    client.cookies.insert("vigil_access".to_owned(), expired);
    let response = client.get("/api/v1/auth/me").await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error().error.code, "session_expired");

    let forged =
        vigil::auth::token::SigningKey::from_bytes(b"guessed".to_vec()).sign(&AccessClaims {
            sub: id,
            fam: uuid::Uuid::new_v4(),
            iat: now,
            exp: now + 600,
        });
    client.cookies.insert("vigil_access".to_owned(), forged);
    assert_eq!(
        client.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let id = app.create_user("ada@example.com", Role::Editor).await;
    let mut ada = app.login("ada@example.com", PASSWORD).await;

    let response = admin
        .patch(&format!("/api/v1/users/{id}"), &json!({ "disabled": true }))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());

    assert_eq!(
        ada.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        ada.post_empty("/api/v1/auth/refresh").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn changing_ones_password_keeps_this_session_and_ends_the_others() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let mut laptop = app.login("ada@example.com", PASSWORD).await;
    let mut phone = app.login("ada@example.com", PASSWORD).await;

    let wrong = laptop
        .post(
            "/api/v1/auth/password",
            &json!({ "current_password": "nope", "new_password": "a brand new secret" }),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.error().error.fields.contains_key("current_password"));

    let changed = laptop
        .post(
            "/api/v1/auth/password",
            &json!({ "current_password": PASSWORD, "new_password": "a brand new secret" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text());
    assert_eq!(laptop.get("/api/v1/auth/me").await.status, StatusCode::OK);
    assert_eq!(
        phone.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login("ada@example.com", "a brand new secret").await;
}

#[tokio::test]
async fn logins_and_failures_are_audited() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Viewer).await;
    app.login("ada@example.com", PASSWORD).await;
    app.anonymous()
        .post(
            "/api/v1/auth/login",
            &credentials("ada@example.com", "guess"),
        )
        .await;

    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(actions.contains(&"auth.login".to_owned()), "{actions:?}");
    assert!(
        actions.contains(&"auth.login_failed".to_owned()),
        "{actions:?}"
    );
}
