//! Administration: users, teams, API keys, the audit log, and who may touch them.

mod common;

use axum::http::{Method, StatusCode};
use common::{PASSWORD, TestApp};
use serde_json::json;
use vigil_shared::Role;
use vigil_shared::admin::{ApiKeyList, AuditLogPage, CreatedApiKey, Team, UserList};
use vigil_shared::auth::User;
use vigil_shared::directory::UserDirectory;
use vigil_shared::status::BuildInfo;

/// Every admin endpoint with a plausible body.
fn admin_endpoints(
    user_id: i64,
    team_id: i64,
    key_id: i64,
) -> Vec<(Method, String, Option<serde_json::Value>)> {
    let new_user = json!({ "email": "x@example.com", "password": "long enough", "role": "viewer" });
    vec![
        (Method::GET, "/api/v1/users".into(), None),
        (Method::POST, "/api/v1/users".into(), Some(new_user)),
        (Method::GET, format!("/api/v1/users/{user_id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/users/{user_id}"),
            Some(json!({ "role": "admin" })),
        ),
        (
            Method::POST,
            format!("/api/v1/users/{user_id}/password"),
            Some(json!({ "password": "long enough" })),
        ),
        (Method::GET, "/api/v1/teams".into(), None),
        (
            Method::POST,
            "/api/v1/teams".into(),
            Some(json!({ "name": "sre" })),
        ),
        (Method::GET, format!("/api/v1/teams/{team_id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/teams/{team_id}"),
            Some(json!({ "name": "ops" })),
        ),
        (Method::DELETE, format!("/api/v1/teams/{team_id}"), None),
        (Method::GET, "/api/v1/api-keys".into(), None),
        (
            Method::POST,
            "/api/v1/api-keys".into(),
            Some(json!({ "name": "ci", "scopes": ["read"] })),
        ),
        (Method::DELETE, format!("/api/v1/api-keys/{key_id}"), None),
        (Method::GET, "/api/v1/audit-log".into(), None),
        (
            Method::GET,
            format!("/api/v1/users/{user_id}/contact-methods"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/users/{user_id}/contact-methods"),
            Some(json!({ "kind": "email", "address": "x@example.com" })),
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{user_id}/contact-methods/1"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/users/{user_id}/contact-methods/deliveries"),
            None,
        ),
    ]
}

#[tokio::test]
async fn every_admin_endpoint_is_refused_to_other_roles_and_to_anonymous_callers() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let target = app.create_user("target@example.com", Role::Viewer).await;
    let team: Team = admin
        .post("/api/v1/teams", &json!({ "name": "payments" }))
        .await
        .json();
    let key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "ci", "scopes": ["read", "ingest"] }),
        )
        .await
        .json();
    let endpoints = admin_endpoints(target, team.id, key.key.id);

    for role in [Role::Editor, Role::Responder, Role::Viewer] {
        let mut client = app.login_as(role).await;
        for (method, path, body) in &endpoints {
            let response = client
                .request(
                    method.clone(),
                    path,
                    body.as_ref().map(|b| serde_json::to_vec(b).unwrap()),
                )
                .await;
            assert_eq!(
                response.status,
                StatusCode::FORBIDDEN,
                "{role} {method} {path}: {}",
                response.text()
            );
            assert_eq!(response.error().error.code, "forbidden");
        }
    }
    for (method, path, body) in &endpoints {
        let response = app
            .anonymous()
            .request(
                method.clone(),
                path,
                body.as_ref().map(|b| serde_json::to_vec(b).unwrap()),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "anonymous {method} {path}"
        );
    }
    // An API key, even one made by an admin, is not an admin.
    for (method, path, body) in &endpoints {
        let response = app
            .with_api_key(&key.secret)
            .request(
                method.clone(),
                path,
                body.as_ref().map(|b| serde_json::to_vec(b).unwrap()),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "api key {method} {path}"
        );
    }
    // Nothing changed behind the refusals.
    let target_now: User = admin.get(&format!("/api/v1/users/{target}")).await.json();
    assert_eq!(target_now.role, Role::Viewer);
}

#[tokio::test]
async fn every_role_reads_the_user_and_team_directories_but_not_roles_or_members() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let person = app.create_user("person@example.com", Role::Responder).await;
    let gone = app.create_user("gone@example.com", Role::Viewer).await;
    admin
        .patch(
            &format!("/api/v1/users/{gone}"),
            &json!({ "disabled": true }),
        )
        .await;
    let team: Team = admin
        .post(
            "/api/v1/teams",
            &json!({ "name": "payments", "member_ids": [person] }),
        )
        .await
        .json();

    for role in [Role::Viewer, Role::Responder, Role::Editor, Role::Admin] {
        let mut client = app.login_as(role).await;
        let response = client.get("/api/v1/users/directory").await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{role}: {}",
            response.text()
        );
        let users: UserDirectory = response.json();
        let listed = users.users.iter().find(|u| u.id == person).unwrap();
        assert_eq!(
            (
                listed.email.as_str(),
                listed.display_name.as_str(),
                listed.disabled
            ),
            ("person@example.com", "person", false)
        );
        assert!(users.users.iter().any(|u| u.id == gone && u.disabled));
        // Only what the directory promises: no roles, teams or login times.
        let raw: serde_json::Value = response.json();
        let mut fields: Vec<&String> = raw["users"][0].as_object().unwrap().keys().collect();
        fields.sort();
        assert_eq!(fields, ["disabled", "display_name", "email", "id"]);

        let response = client.get("/api/v1/teams/directory").await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{role}: {}",
            response.text()
        );
        let raw: serde_json::Value = response.json();
        assert_eq!(
            raw,
            json!({ "teams": [{ "id": team.id, "name": "payments" }] })
        );
    }
    for path in ["/api/v1/users/directory", "/api/v1/teams/directory"] {
        let response = app.anonymous().get(path).await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "anonymous {path}"
        );
    }
}

#[tokio::test]
async fn an_admin_creates_lists_and_changes_users() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;

    let response = admin
        .post(
            "/api/v1/users",
            &json!({ "email": " New.Person@Example.com ", "password": "long enough", "role": "responder" }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let created: User = response.json();
    assert_eq!(created.email, "new.person@example.com");
    assert_eq!(created.display_name, "new.person");
    assert_eq!(created.role, Role::Responder);

    let list: UserList = admin.get("/api/v1/users").await.json();
    assert!(list.users.iter().any(|u| u.id == created.id));

    let updated: User = admin
        .patch(
            &format!("/api/v1/users/{}", created.id),
            &json!({ "role": "editor", "display_name": "Newt" }),
        )
        .await
        .json();
    assert_eq!(updated.role, Role::Editor);
    assert_eq!(updated.display_name, "Newt");
    assert!(!updated.disabled);

    // The new user logs in with the password the admin set.
    app.login("new.person@example.com", "long enough").await;
}

#[tokio::test]
async fn creating_a_user_reports_every_bad_field_and_duplicate_emails() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;

    let invalid = admin
        .post(
            "/api/v1/users",
            &json!({ "email": "not-an-email", "password": "short", "role": "viewer" }),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = invalid.error().error.fields;
    assert!(fields["email"].contains("email address"), "{fields:?}");
    assert!(fields["password"].contains("at least 8"), "{fields:?}");

    let bad_role = admin
        .post(
            "/api/v1/users",
            &json!({ "email": "a@example.com", "password": "long enough", "role": "root" }),
        )
        .await;
    assert_eq!(bad_role.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_role.error().error.message.contains("role"),
        "{}",
        bad_role.text()
    );

    app.create_user("taken@example.com", Role::Viewer).await;
    let duplicate = admin
        .post(
            "/api/v1/users",
            &json!({ "email": "TAKEN@example.com", "password": "long enough", "role": "viewer" }),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert!(duplicate.error().error.fields.contains_key("email"));
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_disabled() {
    let app = TestApp::spawn().await;
    let admin_id = app.create_user("boss@example.com", Role::Admin).await;
    let mut admin = app.login("boss@example.com", PASSWORD).await;

    let demote = admin
        .patch(
            &format!("/api/v1/users/{admin_id}"),
            &json!({ "role": "editor" }),
        )
        .await;
    assert_eq!(demote.status, StatusCode::CONFLICT);
    assert!(demote.error().error.fields.contains_key("role"));
    let disable = admin
        .patch(
            &format!("/api/v1/users/{admin_id}"),
            &json!({ "disabled": true }),
        )
        .await;
    assert_eq!(disable.status, StatusCode::CONFLICT);
    assert!(disable.error().error.fields.contains_key("disabled"));

    // With a second admin, the first may step down.
    let second = app.create_user("deputy@example.com", Role::Admin).await;
    let demoted = admin
        .patch(
            &format!("/api/v1/users/{admin_id}"),
            &json!({ "role": "editor" }),
        )
        .await;
    assert_eq!(demoted.status, StatusCode::OK, "{}", demoted.text());

    // And now the deputy is the last one.
    let mut deputy = app.login("deputy@example.com", PASSWORD).await;
    let response = deputy
        .patch(
            &format!("/api/v1/users/{second}"),
            &json!({ "disabled": true }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = TestApp::spawn().await;
    let a = app.create_user("a@example.com", Role::Admin).await;
    let b = app.create_user("b@example.com", Role::Admin).await;
    let mut client_a = app.login("a@example.com", PASSWORD).await;
    let mut client_b = app.login("b@example.com", PASSWORD).await;
    let demote_b = format!("/api/v1/users/{b}");
    let demote_a = format!("/api/v1/users/{a}");
    let body = json!({ "role": "viewer" });

    // Hold the admin rows so that both requests get past authentication and wait at the
    // lock together: the moment the safeguard exists for.
    let mut blocker = app.db.begin().await.unwrap();
    sqlx::query("SELECT id FROM users WHERE role = 'admin' FOR UPDATE")
        .fetch_all(&mut *blocker)
        .await
        .unwrap();
    let release = async {
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&app.db)
            .await
            .unwrap();
            if waiting == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        blocker.commit().await.unwrap();
    };

    let (first, second, ()) = tokio::join!(
        client_a.patch(&demote_b, &body),
        client_b.patch(&demote_a, &body),
        release
    );

    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let admins: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(admins, 1);
}

#[tokio::test]
async fn an_admin_password_reset_works_and_ends_the_users_sessions() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let id = app.create_user("ada@example.com", Role::Viewer).await;
    let mut ada = app.login("ada@example.com", PASSWORD).await;

    let short = admin
        .post(
            &format!("/api/v1/users/{id}/password"),
            &json!({ "password": "x" }),
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);

    let reset = admin
        .post(
            &format!("/api/v1/users/{id}/password"),
            &json!({ "password": "reset by admin" }),
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    assert_eq!(
        ada.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login("ada@example.com", "reset by admin").await;

    let missing = admin
        .post(
            "/api/v1/users/999999/password",
            &json!({ "password": "reset by admin" }),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn teams_are_created_with_members_renamed_and_deleted() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let ada = app.create_user("ada@example.com", Role::Responder).await;
    let bob = app.create_user("bob@example.com", Role::Responder).await;

    let response = admin
        .post("/api/v1/teams", &json!({ "name": "Payments", "description": "on call for payments", "member_ids": [ada, bob] }))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let team: Team = response.json();
    assert_eq!(team.members.len(), 2);

    let user: User = admin.get(&format!("/api/v1/users/{ada}")).await.json();
    assert_eq!(user.teams[0].name, "Payments");

    let duplicate = admin
        .post("/api/v1/teams", &json!({ "name": "payments" }))
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert!(duplicate.error().error.fields.contains_key("name"));

    let unknown_member = admin
        .post(
            "/api/v1/teams",
            &json!({ "name": "search", "member_ids": [424242] }),
        )
        .await;
    assert_eq!(unknown_member.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown_member
            .error()
            .error
            .fields
            .contains_key("member_ids")
    );

    let renamed: Team = admin
        .patch(
            &format!("/api/v1/teams/{}", team.id),
            &json!({ "name": "Billing", "member_ids": [bob] }),
        )
        .await
        .json();
    assert_eq!(renamed.name, "Billing");
    assert_eq!(renamed.members.len(), 1);
    assert_eq!(renamed.members[0].user_id, bob);

    assert_eq!(
        admin
            .delete(&format!("/api/v1/teams/{}", team.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin
            .get(&format!("/api/v1/teams/{}", team.id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_api_key_is_shown_once_stored_hashed_and_honours_its_scopes() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;

    let response = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "grafana", "scopes": ["read"] }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let read_key: CreatedApiKey = response.json();
    assert!(read_key.secret.starts_with("vgl_"));
    assert!(read_key.secret.starts_with(&read_key.key.prefix));

    let listed = admin.get("/api/v1/api-keys").await;
    assert!(
        !listed.text().contains(&read_key.secret),
        "the secret must not be listed"
    );
    let stored: Vec<u8> = sqlx::query_scalar("SELECT key_hash FROM api_keys WHERE id = $1")
        .bind(read_key.key.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_ne!(stored, read_key.secret.as_bytes());

    let info = app
        .with_api_key(&read_key.secret)
        .get("/api/v1/status/buildinfo")
        .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text());
    assert_eq!(info.json::<BuildInfo>().version, env!("CARGO_PKG_VERSION"));

    let ingest_key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "otel", "scopes": ["ingest"] }),
        )
        .await
        .json();
    let wrong_scope = app
        .with_api_key(&ingest_key.secret)
        .get("/api/v1/status/buildinfo")
        .await;
    assert_eq!(wrong_scope.status, StatusCode::FORBIDDEN);
    assert!(wrong_scope.error().error.message.contains("read"));

    let garbage = app
        .with_api_key("vgl_not_a_real_key")
        .get("/api/v1/status/buildinfo")
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);

    assert_eq!(
        admin
            .delete(&format!("/api/v1/api-keys/{}", read_key.key.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let revoked = app
        .with_api_key(&read_key.secret)
        .get("/api/v1/status/buildinfo")
        .await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    let keys: ApiKeyList = admin.get("/api/v1/api-keys").await.json();
    let shown = keys
        .api_keys
        .iter()
        .find(|k| k.id == read_key.key.id)
        .unwrap();
    assert!(shown.revoked_at.is_some());
    assert!(shown.last_used_at.is_some());
}

#[tokio::test]
async fn api_key_requests_are_validated() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let response = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "", "scopes": [], "expires_at": "2001-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = response.error().error.fields;
    for field in ["name", "scopes", "expires_at"] {
        assert!(
            fields.contains_key(field),
            "{field} missing from {fields:?}"
        );
    }
    let bad_scope = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "x", "scopes": ["write"] }),
        )
        .await;
    assert_eq!(bad_scope.status, StatusCode::BAD_REQUEST);

    let expired_key_id: i64 = {
        let key: CreatedApiKey = admin
            .post(
                "/api/v1/api-keys",
                &json!({ "name": "soon", "scopes": ["read"] }),
            )
            .await
            .json();
        sqlx::query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1")
            .bind(key.key.id)
            .execute(&app.db)
            .await
            .unwrap();
        let refused = app
            .with_api_key(&key.secret)
            .get("/api/v1/status/buildinfo")
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        key.key.id
    };
    assert_eq!(
        admin.delete("/api/v1/api-keys/987654").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .delete(&format!("/api/v1/api-keys/{expired_key_id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn state_changes_are_written_to_the_audit_log_with_actor_and_target() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let created: User = admin
        .post(
            "/api/v1/users",
            &json!({ "email": "ada@example.com", "password": "long enough", "role": "viewer" }),
        )
        .await
        .json();
    admin
        .patch(
            &format!("/api/v1/users/{}", created.id),
            &json!({ "role": "editor" }),
        )
        .await;
    admin.post("/api/v1/teams", &json!({ "name": "sre" })).await;
    admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "ci", "scopes": ["read"] }),
        )
        .await;

    let page: AuditLogPage = admin.get("/api/v1/audit-log?limit=50").await.json();
    let actions: Vec<&str> = page.entries.iter().map(|e| e.action.as_str()).collect();
    for expected in [
        "user.create",
        "user.update",
        "team.create",
        "api_key.create",
        "auth.login",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let update = page
        .entries
        .iter()
        .find(|e| e.action == "user.update")
        .unwrap();
    assert!(update.actor.starts_with("admin-"));
    assert_eq!(update.target_type.as_deref(), Some("user"));
    assert_eq!(update.target_id, Some(created.id.to_string()));

    let filtered: AuditLogPage = admin.get("/api/v1/audit-log?action=user.").await.json();
    assert!(
        filtered
            .entries
            .iter()
            .all(|e| e.action.starts_with("user."))
    );

    let first: AuditLogPage = admin.get("/api/v1/audit-log?limit=2").await.json();
    assert_eq!(first.entries.len(), 2);
    let before = first.next_before.expect("more pages follow");
    let second: AuditLogPage = admin
        .get(&format!("/api/v1/audit-log?limit=2&before={before}"))
        .await
        .json();
    assert!(second.entries.iter().all(|e| e.id < before));

    let bad_limit = admin.get("/api/v1/audit-log?limit=0").await;
    assert_eq!(bad_limit.status, StatusCode::BAD_REQUEST);
    let bad_type = admin.get("/api/v1/audit-log?before=yesterday").await;
    assert_eq!(bad_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_type.error().error.code, "invalid_query");
}
