//! On-call schedules end to end on a real database: who may read and change them, per-field
//! validation, who is on call across Europe/Berlin's DST changes, weekly and custom
//! rotations, and overrides winning over the rotation and cut into the calendar's shifts.

mod common;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use common::{Client, TestApp};
use serde_json::{Value, json};
use vigil::oncall::schedules;
use vigil_shared::Role;
use vigil_shared::schedule::{
    OnCall, OnCallList, Override, OverrideList, Schedule, ScheduleList, ShiftList,
};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// Creates a schedule as `editor`, asserting it worked.
async fn create(editor: &mut Client<'_>, body: Value) -> Schedule {
    let created = editor.post("/api/v1/schedules", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()
}

/// Who is on call at `at`, through the API.
async fn on_call(client: &mut Client<'_>, id: i64, at: &str) -> OnCall {
    let response = client
        .get(&format!("/api/v1/schedules/{id}/oncall?at={at}"))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// The final shifts of `[from, to)`: (user, start, end, is_override).
async fn shifts(
    client: &mut Client<'_>,
    id: i64,
    from: &str,
    to: &str,
) -> Vec<(i64, DateTime<Utc>, DateTime<Utc>, bool)> {
    let response = client
        .get(&format!(
            "/api/v1/schedules/{id}/shifts?from={from}&to={to}"
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response
        .json::<ShiftList>()
        .shifts
        .into_iter()
        .map(|s| (s.user_id, s.starts_at, s.ends_at, s.is_override))
        .collect()
}

async fn add_override(
    editor: &mut Client<'_>,
    id: i64,
    user: i64,
    from: &str,
    to: &str,
) -> Override {
    let created = editor
        .post(
            &format!("/api/v1/schedules/{id}/overrides"),
            &json!({ "user_id": user, "starts_at": from, "ends_at": to }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()
}

/// The user on call at `at`, through the function escalation uses.
async fn on_call_at(app: &TestApp, id: i64, at: &str) -> Option<i64> {
    let mut conn = app.db.acquire().await.unwrap();
    schedules::on_call_at(&mut conn, id, utc(at)).await.unwrap()
}

async fn people(app: &TestApp, names: &[&str]) -> Vec<i64> {
    let mut ids = Vec::new();
    for name in names {
        ids.push(
            app.create_user(&format!("{name}@example.com"), Role::Responder)
                .await,
        );
    }
    ids
}

#[tokio::test]
async fn everyone_reads_schedules_but_only_editors_change_them() {
    let app = TestApp::spawn().await;
    let ids = people(&app, &["ana", "ben"]).await;
    let mut editor = app.login_as(Role::Editor).await;
    let body = json!({
        "name": "Platform primary",
        "timezone": "Europe/Berlin",
        "rotation": "daily",
        "start_date": "2026-01-05",
        "handoff_time": "09:00",
        "participants": ids,
    });
    let schedule = create(&mut editor, body.clone()).await;
    let id = schedule.id;
    assert_eq!(schedule.schedule.name, "Platform primary");
    assert_eq!(schedule.schedule.handoff_time, "09:00");
    assert_eq!(schedule.schedule.shift_hours, None);

    let override_body = json!({
        "user_id": ids[1], "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z",
    });
    for role in [Role::Viewer, Role::Responder] {
        let mut reader = app.login_as(role).await;
        let list = reader.get("/api/v1/schedules").await;
        assert_eq!(list.status, StatusCode::OK, "{role}: {}", list.text());
        assert_eq!(
            list.json::<ScheduleList>().schedules,
            vec![schedule.clone()]
        );
        for path in [
            format!("/api/v1/schedules/{id}"),
            format!("/api/v1/schedules/{id}/oncall"),
            format!("/api/v1/schedules/{id}/shifts"),
            format!("/api/v1/schedules/{id}/overrides"),
        ] {
            let read = reader.get(&path).await;
            assert_eq!(
                read.status,
                StatusCode::OK,
                "{role} GET {path}: {}",
                read.text()
            );
        }
        let writes = [
            reader.post("/api/v1/schedules", &body).await,
            reader
                .request(
                    Method::PUT,
                    &format!("/api/v1/schedules/{id}"),
                    Some(serde_json::to_vec(&body).unwrap()),
                )
                .await,
            reader
                .post(&format!("/api/v1/schedules/{id}/overrides"), &override_body)
                .await,
            reader
                .delete(&format!("/api/v1/schedules/{id}/overrides/1"))
                .await,
            reader.delete(&format!("/api/v1/schedules/{id}")).await,
        ];
        for write in writes {
            assert_eq!(
                write.status,
                StatusCode::FORBIDDEN,
                "{role}: {}",
                write.text()
            );
        }
    }
    let anonymous = app.anonymous().get("/api/v1/schedules").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let mut changed = body.clone();
    changed["name"] = json!("Platform secondary");
    changed["rotation"] = json!("custom");
    changed["shift_hours"] = json!(8);
    let replaced = editor
        .request(
            Method::PUT,
            &format!("/api/v1/schedules/{id}"),
            Some(serde_json::to_vec(&changed).unwrap()),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text());
    let replaced: Schedule = replaced.json();
    assert_eq!(replaced.schedule.name, "Platform secondary");
    assert_eq!(replaced.schedule.shift_hours, Some(8));

    let added = add_override(
        &mut editor,
        id,
        ids[1],
        "2030-01-01T00:00:00Z",
        "2030-01-02T00:00:00Z",
    )
    .await;
    let removed = editor
        .delete(&format!("/api/v1/schedules/{id}/overrides/{}", added.id))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text());
    let deleted = editor.delete(&format!("/api/v1/schedules/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());
    let gone = editor.get(&format!("/api/v1/schedules/{id}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(on_call_at(&app, id, "2030-01-01T12:00:00Z").await, None);

    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE target_type = 'schedule' AND target_id = $1
         ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        audited,
        [
            "schedule.create",
            "schedule.update",
            "schedule.override_create",
            "schedule.override_delete",
            "schedule.delete",
        ]
    );
}

#[tokio::test]
async fn invalid_schedules_and_overrides_are_rejected_field_by_field() {
    let app = TestApp::spawn().await;
    let ids = people(&app, &["cara"]).await;
    let mut editor = app.login_as(Role::Editor).await;

    let everything_wrong = editor
        .post(
            "/api/v1/schedules",
            &json!({
                "name": "  ",
                "timezone": "Mars/Olympus_Mons",
                "rotation": "daily",
                "shift_hours": 12,
                "start_date": "2026-01-05",
                "handoff_time": "9am",
                "participants": [],
            }),
        )
        .await;
    assert_eq!(
        everything_wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        everything_wrong.text()
    );
    let fields = everything_wrong.error().error.fields;
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "handoff_time",
            "name",
            "participants",
            "shift_hours",
            "timezone"
        ]
    );
    assert!(
        fields["timezone"].contains("Mars/Olympus_Mons"),
        "{fields:?}"
    );
    assert!(fields["shift_hours"].contains("custom"), "{fields:?}");

    let base = json!({
        "name": "Databases",
        "timezone": "UTC",
        "rotation": "custom",
        "start_date": "2026-01-05",
        "participants": ids,
    });
    let cases = [
        (json!({}), "shift_hours", "required"),
        (
            json!({ "shift_hours": 0 }),
            "shift_hours",
            "between 1 and 2160",
        ),
        (
            json!({ "shift_hours": 2161 }),
            "shift_hours",
            "between 1 and 2160",
        ),
        (
            json!({ "shift_hours": 8, "handoff_time": "24:00" }),
            "handoff_time",
            "HH:MM",
        ),
        (
            json!({ "shift_hours": 8, "participants": [ids[0], 987654] }),
            "participants",
            "987654",
        ),
        (
            json!({ "shift_hours": 8, "name": "x".repeat(101) }),
            "name",
            "100",
        ),
    ];
    for (change, field, says) in cases {
        let mut body = base.clone();
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let rejected = editor.post("/api/v1/schedules", &body).await;
        assert_eq!(
            rejected.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{change}: {}",
            rejected.text()
        );
        let fields = rejected.error().error.fields;
        assert_eq!(fields.len(), 1, "{change}: {fields:?}");
        assert!(fields[field].contains(says), "{change}: {fields:?}");
    }

    let mut body = base.clone();
    body["rotation"] = json!("monthly");
    let unknown_rotation = editor.post("/api/v1/schedules", &body).await;
    assert_eq!(unknown_rotation.status, StatusCode::BAD_REQUEST);

    let mut body = base.clone();
    body["shift_hours"] = json!(8);
    let schedule = create(&mut editor, body.clone()).await;
    body["name"] = json!("DATABASES");
    let duplicate = editor.post("/api/v1/schedules", &body).await;
    assert_eq!(
        duplicate.status,
        StatusCode::CONFLICT,
        "{}",
        duplicate.text()
    );
    assert!(duplicate.error().error.fields.contains_key("name"));

    let overrides = format!("/api/v1/schedules/{}/overrides", schedule.id);
    let backwards = editor
        .post(
            &overrides,
            &json!({
                "user_id": 987654,
                "starts_at": "2030-01-02T00:00:00Z",
                "ends_at": "2030-01-02T00:00:00Z",
            }),
        )
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = backwards.error().error.fields;
    assert!(fields["ends_at"].contains("after starts_at"), "{fields:?}");
    assert!(fields["user_id"].contains("987654"), "{fields:?}");
    let elsewhere = editor
        .post(
            "/api/v1/schedules/987654/overrides",
            &json!({
                "user_id": ids[0],
                "starts_at": "2030-01-01T00:00:00Z",
                "ends_at": "2030-01-02T00:00:00Z",
            }),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);

    let path = format!("/api/v1/schedules/{}/shifts", schedule.id);
    let too_wide = editor
        .get(&format!(
            "{path}?from=2026-01-01T00:00:00Z&to=2026-03-05T00:00:00Z"
        ))
        .await;
    assert_eq!(too_wide.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_wide.error().error.fields["to"].contains("62 days"));
    let backwards = editor
        .get(&format!(
            "{path}?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    let not_a_time = editor
        .get(&format!(
            "/api/v1/schedules/{}/oncall?at=yesterday",
            schedule.id
        ))
        .await;
    assert_eq!(not_a_time.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn daily_handoffs_stay_at_nine_berlin_time_across_both_dst_changes() {
    let app = TestApp::spawn().await;
    let [ana, ben, cara]: [i64; 3] = people(&app, &["ana", "ben", "cara"])
        .await
        .try_into()
        .unwrap();
    let mut editor = app.login_as(Role::Editor).await;
    let spring = create(
        &mut editor,
        json!({
            "name": "Berlin spring",
            "timezone": "Europe/Berlin",
            "rotation": "daily",
            "start_date": "2026-03-27",
            "handoff_time": "09:00",
            "participants": [ana, ben, cara],
        }),
    )
    .await
    .id;
    let mut viewer = app.login_as(Role::Viewer).await;

    // 09:00 CET is 08:00 UTC until the clocks go forward on 2026-03-29, then 07:00 UTC.
    let before = on_call(&mut viewer, spring, "2026-03-27T07:59:59Z").await;
    assert_eq!((before.user_id, before.shift), (None, None));
    assert_eq!(
        on_call(&mut viewer, spring, "2026-03-27T08:00:00Z")
            .await
            .user_id,
        Some(ana)
    );
    assert_eq!(
        on_call(&mut viewer, spring, "2026-03-28T08:00:00Z")
            .await
            .user_id,
        Some(ben)
    );
    assert_eq!(
        on_call(&mut viewer, spring, "2026-03-29T06:59:59Z")
            .await
            .user_id,
        Some(ben)
    );
    let after = on_call(&mut viewer, spring, "2026-03-29T07:00:00Z").await;
    assert_eq!(after.user_id, Some(cara));
    assert_eq!(after.user_email.as_deref(), Some("cara@example.com"));
    let shift = after.shift.unwrap();
    assert_eq!(
        (shift.starts_at, shift.ends_at, shift.is_override),
        (
            utc("2026-03-29T07:00:00Z"),
            utc("2026-03-30T07:00:00Z"),
            false
        )
    );
    assert_eq!(
        on_call_at(&app, spring, "2026-03-29T07:00:00Z").await,
        Some(cara)
    );

    let calendar = shifts(
        &mut viewer,
        spring,
        "2026-03-28T00:00:00Z",
        "2026-03-30T00:00:00Z",
    )
    .await;
    assert_eq!(
        calendar,
        [
            (
                ana,
                utc("2026-03-27T08:00:00Z"),
                utc("2026-03-28T08:00:00Z"),
                false
            ),
            (
                ben,
                utc("2026-03-28T08:00:00Z"),
                utc("2026-03-29T07:00:00Z"),
                false
            ),
            (
                cara,
                utc("2026-03-29T07:00:00Z"),
                utc("2026-03-30T07:00:00Z"),
                false
            ),
        ]
    );
    assert_eq!(calendar[1].2 - calendar[1].1, TimeDelta::hours(23));

    // 09:00 CEST is 07:00 UTC until the clocks go back on 2026-10-25, then 08:00 UTC.
    let autumn = create(
        &mut editor,
        json!({
            "name": "Berlin autumn",
            "timezone": "Europe/Berlin",
            "rotation": "daily",
            "start_date": "2026-10-24",
            "handoff_time": "09:00",
            "participants": [ana, ben],
        }),
    )
    .await
    .id;
    assert_eq!(
        on_call(&mut viewer, autumn, "2026-10-24T07:00:00Z")
            .await
            .user_id,
        Some(ana)
    );
    assert_eq!(
        on_call(&mut viewer, autumn, "2026-10-25T07:59:59Z")
            .await
            .user_id,
        Some(ana)
    );
    let handed_off = on_call(&mut viewer, autumn, "2026-10-25T08:00:00Z").await;
    assert_eq!(handed_off.user_id, Some(ben));
    let long_shift = on_call(&mut viewer, autumn, "2026-10-24T12:00:00Z")
        .await
        .shift
        .unwrap();
    assert_eq!(
        long_shift.ends_at - long_shift.starts_at,
        TimeDelta::hours(25)
    );
    assert_eq!(
        on_call_at(&app, autumn, "2026-10-26T08:00:00Z").await,
        Some(ana)
    );
}

#[tokio::test]
async fn weekly_rotations_hand_over_in_participant_order() {
    let app = TestApp::spawn().await;
    let [ana, ben, cara]: [i64; 3] = people(&app, &["ana", "ben", "cara"])
        .await
        .try_into()
        .unwrap();
    let mut editor = app.login_as(Role::Editor).await;
    // Mondays at 10:00 Berlin time, across the spring change on 2026-03-29.
    let id = create(
        &mut editor,
        json!({
            "name": "Weekly",
            "timezone": "Europe/Berlin",
            "rotation": "weekly",
            "start_date": "2026-03-09",
            "handoff_time": "10:00",
            "participants": [cara, ana, ben],
        }),
    )
    .await
    .id;
    let mut responder = app.login_as(Role::Responder).await;
    let weeks = [
        ("2026-03-09T09:00:00Z", cara),
        ("2026-03-16T08:59:59Z", cara),
        ("2026-03-16T09:00:00Z", ana),
        ("2026-03-23T09:00:00Z", ben),
        // 10:00 CEST: 08:00 UTC from here on.
        ("2026-03-30T07:59:59Z", ben),
        ("2026-03-30T08:00:00Z", cara),
        ("2026-04-06T08:00:00Z", ana),
    ];
    for (at, expected) in weeks {
        assert_eq!(
            on_call(&mut responder, id, at).await.user_id,
            Some(expected),
            "{at}"
        );
        assert_eq!(on_call_at(&app, id, at).await, Some(expected), "{at}");
    }
    let calendar = shifts(
        &mut responder,
        id,
        "2026-03-09T00:00:00Z",
        "2026-04-06T00:00:00Z",
    )
    .await;
    let order: Vec<i64> = calendar.iter().map(|s| s.0).collect();
    assert_eq!(order, [cara, ana, ben, cara]);
    assert_eq!(calendar[2].2 - calendar[2].1, TimeDelta::hours(7 * 24 - 1));
}

#[tokio::test]
async fn custom_rotations_hand_over_every_twelve_hours_of_elapsed_time() {
    let app = TestApp::spawn().await;
    let [ana, ben]: [i64; 2] = people(&app, &["ana", "ben"]).await.try_into().unwrap();
    let mut editor = app.login_as(Role::Editor).await;
    // New York moves to EDT on 2026-03-08; 12 h shifts ignore it.
    let id = create(
        &mut editor,
        json!({
            "name": "Twelve hours",
            "timezone": "America/New_York",
            "rotation": "custom",
            "shift_hours": 12,
            "start_date": "2026-03-07",
            "handoff_time": "08:00",
            "participants": [ana, ben],
        }),
    )
    .await
    .id;
    let calendar = shifts(
        &mut editor,
        id,
        "2026-03-07T13:00:00Z",
        "2026-03-09T13:00:00Z",
    )
    .await;
    let expected: Vec<_> = (0..4)
        .map(|k| {
            let start = utc("2026-03-07T13:00:00Z") + TimeDelta::hours(12 * k);
            let user = if k % 2 == 0 { ana } else { ben };
            (user, start, start + TimeDelta::hours(12), false)
        })
        .collect();
    assert_eq!(calendar, expected);
    assert_eq!(
        on_call(&mut editor, id, "2026-03-09T00:59:59Z")
            .await
            .user_id,
        Some(ana)
    );
    assert_eq!(
        on_call(&mut editor, id, "2026-03-09T01:00:00Z")
            .await
            .user_id,
        Some(ben)
    );
}

#[tokio::test]
async fn overrides_win_and_are_cut_into_the_shifts() {
    let app = TestApp::spawn().await;
    let [ana, ben, cara, dan]: [i64; 4] = people(&app, &["ana", "ben", "cara", "dan"])
        .await
        .try_into()
        .unwrap();
    let mut editor = app.login_as(Role::Editor).await;
    let id = create(
        &mut editor,
        json!({
            "name": "With overrides",
            "timezone": "UTC",
            "rotation": "daily",
            "start_date": "2030-01-01",
            "handoff_time": "09:00",
            "participants": [ana, ben],
        }),
    )
    .await
    .id;
    let cover = add_override(
        &mut editor,
        id,
        cara,
        "2030-01-01T12:00:00Z",
        "2030-01-01T18:00:00Z",
    )
    .await;
    assert_eq!(cover.user_email, "cara@example.com");

    let now = on_call(&mut editor, id, "2030-01-01T13:00:00Z").await;
    assert_eq!(now.user_id, Some(cara));
    let shift = now.shift.unwrap();
    assert!(shift.is_override);
    assert_eq!(
        (shift.starts_at, shift.ends_at),
        (utc("2030-01-01T12:00:00Z"), utc("2030-01-01T18:00:00Z"))
    );
    assert_eq!(
        on_call_at(&app, id, "2030-01-01T13:00:00Z").await,
        Some(cara)
    );
    // The rotation's shift resumes after the override, but ends where the override began.
    let resumed = on_call(&mut editor, id, "2030-01-01T20:00:00Z")
        .await
        .shift
        .unwrap();
    assert_eq!(
        (resumed.user_id, resumed.starts_at),
        (ana, utc("2030-01-01T18:00:00Z"))
    );
    let earlier = on_call(&mut editor, id, "2030-01-01T10:00:00Z")
        .await
        .shift
        .unwrap();
    assert_eq!(earlier.ends_at, utc("2030-01-01T12:00:00Z"));

    // The On-call dashboard's question, every schedule at once (by name), overrides included.
    let other = create(
        &mut editor,
        json!({
            "name": "Another rota",
            "timezone": "UTC",
            "rotation": "daily",
            "start_date": "2030-01-01",
            "handoff_time": "09:00",
            "participants": [dan],
        }),
    )
    .await
    .id;
    let mut viewer = app.login_as(Role::Viewer).await;
    let everywhere = viewer
        .get("/api/v1/oncall?at=2030-01-01T13:00:00Z")
        .await
        .json::<OnCallList>();
    assert_eq!(everywhere.at, utc("2030-01-01T13:00:00Z"));
    let who: Vec<(i64, Option<i64>, Option<bool>)> = everywhere
        .on_call
        .iter()
        .map(|o| {
            (
                o.schedule_id,
                o.user_id,
                o.shift.as_ref().map(|s| s.is_override),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            (other, Some(dan), Some(false)),
            (id, Some(cara), Some(true))
        ]
    );
    assert_eq!(
        everywhere.on_call[1],
        on_call(&mut viewer, id, "2030-01-01T13:00:00Z").await
    );
    let refused = viewer.get("/api/v1/oncall?at=yesterday").await;
    assert!(refused.status.is_client_error(), "{}", refused.status);
    assert_eq!(
        app.anonymous().get("/api/v1/oncall").await.status,
        StatusCode::UNAUTHORIZED
    );

    // A newer override over part of the older one wins there.
    let newer = add_override(
        &mut editor,
        id,
        dan,
        "2030-01-01T16:00:00Z",
        "2030-01-02T10:00:00Z",
    )
    .await;
    assert_eq!(
        on_call_at(&app, id, "2030-01-01T17:00:00Z").await,
        Some(dan)
    );
    let calendar = shifts(
        &mut editor,
        id,
        "2030-01-01T00:00:00Z",
        "2030-01-03T00:00:00Z",
    )
    .await;
    assert_eq!(
        calendar,
        [
            (
                ana,
                utc("2030-01-01T09:00:00Z"),
                utc("2030-01-01T12:00:00Z"),
                false
            ),
            (
                cara,
                utc("2030-01-01T12:00:00Z"),
                utc("2030-01-01T16:00:00Z"),
                true
            ),
            (
                dan,
                utc("2030-01-01T16:00:00Z"),
                utc("2030-01-02T10:00:00Z"),
                true
            ),
            (
                ben,
                utc("2030-01-02T10:00:00Z"),
                utc("2030-01-03T09:00:00Z"),
                false
            ),
        ]
    );

    let listed: OverrideList = editor
        .get(&format!("/api/v1/schedules/{id}/overrides"))
        .await
        .json();
    let listed: Vec<(i64, i64)> = listed.overrides.iter().map(|o| (o.id, o.user_id)).collect();
    assert_eq!(listed, [(cover.id, cara), (newer.id, dan)]);

    // Removing the newer override gives the time back to the older one and the rotation.
    let removed = editor
        .delete(&format!("/api/v1/schedules/{id}/overrides/{}", newer.id))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let again = editor
        .delete(&format!("/api/v1/schedules/{id}/overrides/{}", newer.id))
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        on_call_at(&app, id, "2030-01-01T17:00:00Z").await,
        Some(cara)
    );
    assert_eq!(
        on_call_at(&app, id, "2030-01-02T08:00:00Z").await,
        Some(ana)
    );
}

#[tokio::test]
async fn a_schedule_an_escalation_policy_pages_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let ids = people(&app, &["ana"]).await;
    let mut editor = app.login_as(Role::Editor).await;
    let id = create(
        &mut editor,
        json!({
            "name": "Paged",
            "timezone": "UTC",
            "rotation": "daily",
            "start_date": "2026-01-01",
            "participants": ids,
        }),
    )
    .await
    .id;
    let policy = editor
        .post(
            "/api/v1/escalation-policies",
            &json!({
                "name": "Storage",
                "levels": [{ "delay_minutes": 0, "targets": [{ "kind": "schedule", "id": id }] }],
            }),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text());
    let policy_id = policy.json::<Value>()["id"].as_i64().unwrap();
    let refused = editor.delete(&format!("/api/v1/schedules/{id}")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    assert_eq!(
        refused.error().error.message,
        "This schedule is still used by escalation policies (Storage); remove it from them first."
    );

    let policy_path = format!("/api/v1/escalation-policies/{policy_id}");
    assert_eq!(
        editor.delete(&policy_path).await.status,
        StatusCode::NO_CONTENT
    );
    let deleted = editor.delete(&format!("/api/v1/schedules/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());
}
