//! References between areas are foreign keys: deleting what something still refers to is
//! refused with 409 naming the referrers, an unknown id is refused with 422 naming the field,
//! and the migration that introduced the join tables reports the dangling ids it found.

mod common;

use std::borrow::Cow;

use axum::http::StatusCode;
use common::{Client, TestApp};
use serde_json::{Value, json};
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection};
use vigil::db;
use vigil_shared::Role;

/// Creates something over the API and returns its id.
async fn create(client: &mut Client<'_>, path: &str, body: Value) -> i64 {
    let created = client.post(path, &body).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{path}: {}",
        created.text()
    );
    created.json::<Value>()["id"].as_i64().unwrap()
}

fn rule(name: &str, channels: &[i64], policy: Option<i64>) -> Value {
    json!({
        "name": name,
        "query": "up == 0",
        "comparison": ">",
        "critical_threshold": 0,
        "notification_channel_ids": channels,
        "escalation_policy_id": policy,
    })
}

fn schedule(name: &str, participants: &[i64]) -> Value {
    json!({
        "name": name,
        "timezone": "UTC",
        "rotation": "weekly",
        "start_date": "2026-01-05",
        "participants": participants,
    })
}

fn policy(name: &str, targets: Value) -> Value {
    json!({ "name": name, "levels": [{ "delay_minutes": 0, "targets": targets }] })
}

/// Asserts a delete is refused with exactly `message`, and that the row is still there.
async fn refused(client: &mut Client<'_>, path: &str, message: &str) {
    let response = client.delete(path).await;
    assert_eq!(
        response.status,
        StatusCode::CONFLICT,
        "{path}: {}",
        response.text()
    );
    assert_eq!(response.error().error.message, message, "{path}");
    assert_eq!(
        client.get(path).await.status,
        StatusCode::OK,
        "{path} survives"
    );
}

#[tokio::test]
async fn deleting_what_is_still_referenced_is_refused_naming_the_referrers() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let ana = app.create_user("ana@example.com", Role::Responder).await;
    let ben = app.create_user("ben@example.com", Role::Responder).await;
    let team = create(&mut admin, "/api/v1/teams", json!({ "name": "payments" })).await;
    let channel = create(
        &mut admin,
        "/api/v1/notification-channels",
        json!({
            "name": "ops mail", "kind": "email", "to": ["ops@example.com"],
            "from": "vigil@example.com", "smtp_host": "127.0.0.1", "smtp_port": 2525,
            "smtp_tls": "none",
        }),
    )
    .await;
    let rota = create(
        &mut admin,
        "/api/v1/schedules",
        schedule("Primary rota", &[ana]),
    )
    .await;
    let paging = create(
        &mut admin,
        "/api/v1/escalation-policies",
        policy(
            "Payments paging",
            json!([
                { "kind": "team", "id": team },
                { "kind": "channel", "id": channel },
                { "kind": "schedule", "id": rota },
                { "kind": "user", "id": ben },
            ]),
        ),
    )
    .await;
    create(
        &mut admin,
        "/api/v1/alert-rules",
        rule("Checkout down", &[channel], Some(paging)),
    )
    .await;
    create(
        &mut admin,
        "/api/v1/notification-policies",
        json!({ "name": "payments route", "channel_ids": [channel], "escalation_policy_id": paging }),
    )
    .await;

    let team_path = format!("/api/v1/teams/{team}");
    refused(
        &mut admin,
        &team_path,
        "This team is still used by escalation policies (Payments paging); remove it from them \
         first.",
    )
    .await;
    let channel_path = format!("/api/v1/notification-channels/{channel}");
    refused(
        &mut admin,
        &channel_path,
        "This channel is still used by alert rules (Checkout down), notification policies \
         (payments route) and escalation policies (Payments paging); remove it from them first.",
    )
    .await;
    let rota_path = format!("/api/v1/schedules/{rota}");
    refused(
        &mut admin,
        &rota_path,
        "This schedule is still used by escalation policies (Payments paging); remove it from \
         them first.",
    )
    .await;
    refused(
        &mut admin,
        &format!("/api/v1/users/{ana}"),
        "This user is still used by schedules (Primary rota); remove it from them first.",
    )
    .await;
    refused(
        &mut admin,
        &format!("/api/v1/users/{ben}"),
        "This user is still used by escalation policies (Payments paging); remove it from them \
         first.",
    )
    .await;
    let paging_path = format!("/api/v1/escalation-policies/{paging}");
    refused(
        &mut admin,
        &paging_path,
        "This escalation policy is still used by alert rules (Checkout down) and notification \
         policies (payments route); remove it from them first.",
    )
    .await;

    // Nothing refers to an unused team or user: they go.
    let spare = create(&mut admin, "/api/v1/teams", json!({ "name": "spare" })).await;
    let spare_path = format!("/api/v1/teams/{spare}");
    assert_eq!(
        admin.delete(&spare_path).await.status,
        StatusCode::NO_CONTENT
    );
    let carl = app.create_user("carl@example.com", Role::Viewer).await;
    let carl_path = format!("/api/v1/users/{carl}");
    assert_eq!(
        admin.delete(&carl_path).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(admin.get(&carl_path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_users_is_for_admins_and_never_the_last_admin_or_yourself() {
    let app = TestApp::spawn().await;
    let dora = app.create_user("dora@example.com", Role::Viewer).await;
    let path = format!("/api/v1/users/{dora}");
    for role in [Role::Viewer, Role::Responder, Role::Editor] {
        let mut client = app.login_as(role).await;
        assert_eq!(
            client.delete(&path).await.status,
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }
    let mut admin = app.login_as(Role::Admin).await;
    let me = admin.get("/api/v1/auth/me").await.json::<Value>()["id"]
        .as_i64()
        .unwrap();
    let myself = admin.delete(&format!("/api/v1/users/{me}")).await;
    assert_eq!(myself.status, StatusCode::CONFLICT, "{}", myself.text());
    assert_eq!(admin.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(admin.delete(&path).await.status, StatusCode::NOT_FOUND);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'user.delete'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn unknown_ids_are_refused_on_the_field_that_names_them() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let ana = app.create_user("ana@example.com", Role::Responder).await;
    let missing = 987_654_i64;
    let cases = [
        (
            "/api/v1/alert-rules",
            rule("Ghost channel", &[missing], None),
            "notification_channel_ids",
            "names a notification channel that does not exist".to_owned(),
        ),
        (
            "/api/v1/alert-rules",
            rule("Ghost policy", &[], Some(missing)),
            "escalation_policy_id",
            format!("there is no escalation policy {missing}"),
        ),
        (
            "/api/v1/notification-policies",
            json!({ "name": "ghost route", "channel_ids": [missing] }),
            "channel_ids",
            format!("there is no notification channel {missing}"),
        ),
        (
            "/api/v1/notification-policies",
            json!({ "name": "ghost paging", "escalation_policy_id": missing }),
            "escalation_policy_id",
            format!("there is no escalation policy {missing}"),
        ),
        (
            "/api/v1/schedules",
            schedule("Ghost rota", &[ana, missing]),
            "participants",
            format!("there is no user with id {missing}"),
        ),
        (
            "/api/v1/teams",
            json!({ "name": "ghosts", "member_ids": [ana, missing] }),
            "member_ids",
            "names a user that does not exist".to_owned(),
        ),
    ];
    for (path, body, field, message) in cases {
        let response = admin.post(path, &body).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}: {}",
            response.text()
        );
        assert_eq!(
            response.error().error.fields[field],
            message,
            "{path} {body}"
        );
    }

    // An escalation target is answered on its level, for each kind.
    for kind in ["user", "team", "schedule", "channel"] {
        let body = json!({
            "name": format!("ghost {kind}"),
            "levels": [
                { "delay_minutes": 0, "targets": [{ "kind": "user", "id": ana }] },
                { "delay_minutes": 5, "targets": [{ "kind": kind, "id": missing }] },
            ],
        });
        let response = admin.post("/api/v1/escalation-policies", &body).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{kind}: {}",
            response.text()
        );
        assert_eq!(
            response.error().error.fields["levels.1"],
            format!("level 2: there is no {kind} {missing}")
        );
    }

    // An override for nobody.
    let rota = create(&mut admin, "/api/v1/schedules", schedule("Rota", &[ana])).await;
    let response = admin
        .post(
            &format!("/api/v1/schedules/{rota}/overrides"),
            &json!({ "user_id": missing, "starts_at": "2030-01-01T00:00:00Z",
                     "ends_at": "2030-01-02T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text()
    );
    assert_eq!(
        response.error().error.fields["user_id"],
        format!("there is no user with id {missing}")
    );

    // Nothing half-written was left behind by the refusals.
    let policies: i64 = sqlx::query_scalar("SELECT count(*) FROM escalation_policies")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(policies, 0);
    let rules: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_rules")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rules, 0);
}

/// Migration 0017 moves ids kept by hand into join tables; ids naming nothing are reported.
#[tokio::test]
async fn the_join_table_migration_keeps_what_exists_and_reports_dangling_ids() {
    let options = common::fresh_database().await;
    let mut admin = PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .unwrap();
    let name = format!("vigil_migration_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut conn = PgConnection::connect_with(&options.database(&name))
        .await
        .unwrap();
    let before = Migrator {
        migrations: Cow::Owned(
            db::MIGRATOR
                .iter()
                .filter(|m| m.version < 17)
                .cloned()
                .collect(),
        ),
        ..db::MIGRATOR
    };
    before.run(&mut conn).await.unwrap();

    let setup = r#"
        INSERT INTO users (id, email, password_hash, role)
            OVERRIDING SYSTEM VALUE VALUES (1, 'ana@example.com', 'x', 'responder'),
                                           (2, 'ben@example.com', 'x', 'responder');
        INSERT INTO teams (id, name) OVERRIDING SYSTEM VALUE VALUES (10, 'payments');
        INSERT INTO notification_channels (id, name, kind)
            OVERRIDING SYSTEM VALUE VALUES (20, 'ops', 'webhook');
        INSERT INTO schedules (id, name, timezone, rotation, start_date, participants)
            OVERRIDING SYSTEM VALUE VALUES (30, 'Rota', 'UTC', 'daily', '2026-01-01', '{2,99,1,2}');
        INSERT INTO escalation_policies (id, name, levels) OVERRIDING SYSTEM VALUE VALUES
            (40, 'Paging', '[{"delay_minutes": 0, "targets": [{"kind": "team", "id": 77},
                                                            {"kind": "schedule", "id": 30}]},
                             {"delay_minutes": 15, "targets": [{"kind": "channel", "id": 20},
                                                             {"kind": "user", "id": 98}]}]');
        INSERT INTO alert_rules (id, name, rule_group, query, comparison, critical_threshold,
                                 for_ms, interval_ms, keep_firing_for_ms, no_data_state,
                                 error_state, channel_ids, escalation_policy_id)
            OVERRIDING SYSTEM VALUE VALUES (50, 'Down', 'default', 'up == 0', '>', 0, 0, 60000, 0,
                                            'ok', 'ok', '{20,21}', 40);
        UPDATE notification_policies SET channel_ids = '{22,20}' WHERE is_default;
    "#;
    sqlx::raw_sql(setup).execute(&mut conn).await.unwrap();
    db::MIGRATOR.run(&mut conn).await.unwrap();

    let participants: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM schedule_participants WHERE schedule_id = 30 ORDER BY position",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        participants,
        [2, 1, 2],
        "order kept, the unknown user 99 dropped"
    );
    let targets: Vec<(i32, i32, String)> = sqlx::query_as(
        "SELECT level, position,
                concat_ws(',', 'user ' || user_id, 'team ' || team_id,
                          'schedule ' || schedule_id, 'channel ' || channel_id)
         FROM escalation_targets WHERE policy_id = 40 ORDER BY level, position",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let targets: Vec<(i32, i32, &str)> = targets
        .iter()
        .map(|(level, position, target)| (*level, *position, target.as_str()))
        .collect();
    assert_eq!(targets, [(0, 0, "schedule 30"), (1, 0, "channel 20")]);
    let delays: Vec<i32> = sqlx::query_scalar(
        "SELECT delay_minutes FROM escalation_levels WHERE policy_id = 40 ORDER BY level",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(delays, [0, 15]);
    let rule_channels: Vec<i64> =
        sqlx::query_scalar("SELECT channel_id FROM alert_rule_channels WHERE rule_id = 50")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(rule_channels, [20]);
    let policy_channels: Vec<i64> =
        sqlx::query_scalar("SELECT channel_id FROM notification_policy_channels")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(policy_channels, [20]);

    let reported: Vec<(String, String, Value)> = sqlx::query_as(
        "SELECT target_type, target_id, details FROM audit_log
         WHERE action = 'migration.dangling_reference' ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let reported: Vec<(String, String, String, i64)> = reported
        .into_iter()
        .map(|(kind, id, details)| {
            (
                kind,
                id,
                details["missing_kind"].as_str().unwrap().to_owned(),
                details["missing_id"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("alert_rule", "50", "channel", 21),
        ("escalation_policy", "40", "team", 77),
        ("escalation_policy", "40", "user", 98),
        ("notification_policy", "1", "channel", 22),
        ("schedule", "30", "user", 99),
    ];
    assert_eq!(
        reported,
        expected
            .iter()
            .map(|(k, id, mk, mid)| (k.to_string(), id.to_string(), mk.to_string(), *mid))
            .collect::<Vec<_>>()
    );
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_field_names_at_most_five_hundred_ids() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let ids: Vec<i64> = (1..=501).collect();
    let cases = [
        (
            "/api/v1/alert-rules",
            rule("Many", &ids, None),
            "notification_channel_ids",
        ),
        (
            "/api/v1/notification-policies",
            json!({ "name": "many", "channel_ids": ids }),
            "channel_ids",
        ),
        (
            "/api/v1/teams",
            json!({ "name": "many", "member_ids": ids }),
            "member_ids",
        ),
    ];
    for (path, body, field) in cases {
        let response = admin.post(path, &body).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(
            response.error().error.fields[field].starts_with("at most 500"),
            "{path}: {}",
            response.text()
        );
    }
}
