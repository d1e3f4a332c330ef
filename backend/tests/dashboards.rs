//! Dashboards over the real API and database: what each role may do, dashboards hidden by
//! role and by team (404 everywhere), editing by team, stale saves, versions and restore,
//! bad models answered 422 on their JSON path, provisioned dashboards, home dashboards, and
//! teams still named by a dashboard.

mod common;

use axum::http::{Method, StatusCode};
use common::{Client, PASSWORD, TestApp, TestResponse};
use serde_json::{Value, json};
use vigil::dashboards::store;
use vigil_shared::Role;
use vigil_shared::admin::Team;
use vigil_shared::dashboard::{
    Dashboard, DashboardModel, DashboardSummary, DashboardVersion, HomeDashboard, HomeDashboards,
};

/// A small valid model: one time-series panel using a variable, placed on the grid.
fn model(title: &str) -> Value {
    json!({
        "title": title,
        "tags": ["demo"],
        "variables": [{ "name": "job", "source": { "kind": "custom", "values": ["api", "db"] } }],
        "panels": {
            "cpu": { "kind": "time_series", "title": "CPU",
                     "queries": [{ "expr": "rate(cpu_seconds_total{job=\"$job\"}[$__rate_interval])" }] }
        },
        "layout": [{ "items": [{ "panel": "cpu", "x": 0, "y": 0, "w": 12, "h": 8 }] }]
    })
}

fn with(mut model: Value, field: &str, value: Value) -> Value {
    model[field] = value;
    model
}

async fn put(client: &mut Client<'_>, path: &str, body: &Value) -> TestResponse {
    client
        .request(Method::PUT, path, Some(serde_json::to_vec(body).unwrap()))
        .await
}

async fn create(client: &mut Client<'_>, model: Value) -> Dashboard {
    let response = client
        .post("/api/v1/dashboards", &json!({ "model": model }))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

async fn listed(client: &mut Client<'_>) -> Vec<String> {
    let response = client.get("/api/v1/dashboards").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let list: Vec<DashboardSummary> = response.json();
    list.into_iter().map(|d| d.title).collect()
}

/// A user with `role` (their id and a logged-in client).
async fn user(app: &TestApp, role: Role) -> (i64, Client<'_>) {
    let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
    let id = app.create_user(&email, role).await;
    (id, app.login(&email, PASSWORD).await)
}

async fn team(admin: &mut Client<'_>, name: &str, members: &[i64]) -> i64 {
    let response = admin
        .post(
            "/api/v1/teams",
            &json!({ "name": name, "member_ids": members }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json::<Team>().id
}

fn field_error(response: &TestResponse, field: &str) -> String {
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text()
    );
    let error = response.error();
    error
        .error
        .fields
        .get(field)
        .unwrap_or_else(|| panic!("no error on {field}: {}", response.text()))
        .clone()
}

#[tokio::test]
async fn each_role_reads_and_only_editors_and_admins_write() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let shared = create(&mut admin, model("Shared")).await;
    assert_eq!(shared.version, 1);
    assert!(shared.can_edit);
    assert_eq!(shared.uid.len(), 12);

    for role in [Role::Viewer, Role::Responder] {
        let mut client = app.login_as(role).await;
        assert_eq!(listed(&mut client).await, ["Shared"]);
        let read: Dashboard = client
            .get(&format!("/api/v1/dashboards/{}", shared.uid))
            .await
            .json();
        assert_eq!(read.id, shared.id);
        assert!(!read.can_edit, "{role} may not edit");
        let path = format!("/api/v1/dashboards/{}", shared.id);
        let refused = [
            client
                .post("/api/v1/dashboards", &json!({ "model": model("Mine") }))
                .await,
            put(
                &mut client,
                &path,
                &json!({ "model": model("X"), "version": 1 }),
            )
            .await,
            client.delete(&path).await,
            client
                .post(
                    &format!("{path}/restore"),
                    &json!({ "version": 1, "from_version": 1 }),
                )
                .await,
        ];
        for response in refused {
            assert_eq!(
                response.status,
                StatusCode::FORBIDDEN,
                "{role}: {}",
                response.text()
            );
        }
    }

    for role in [Role::Editor, Role::Admin] {
        let mut client = app.login_as(role).await;
        let mine = create(&mut client, model(&format!("By {role}"))).await;
        let path = format!("/api/v1/dashboards/{}", mine.id);
        let response = put(
            &mut client,
            &path,
            &json!({ "model": model(&format!("By {role}, renamed")), "version": 1,
                     "message": "renamed" }),
        )
        .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        let saved: Dashboard = response.json();
        assert_eq!(saved.version, 2);
        assert_eq!(saved.model.title, format!("By {role}, renamed"));
        assert!(saved.updated_by.is_some());
        // Everyone's dashboards are everyone's to edit by default.
        let other: Dashboard = client
            .get(&format!("/api/v1/dashboards/{}", shared.id))
            .await
            .json();
        assert!(other.can_edit);
        assert_eq!(client.delete(&path).await.status, StatusCode::NO_CONTENT);
        assert_eq!(client.get(&path).await.status, StatusCode::NOT_FOUND);
    }

    // Filters: words in the title, tag and folder.
    create(
        &mut admin,
        with(
            with(model("Payments latency"), "folder", json!("Payments")),
            "tags",
            json!(["payments"]),
        ),
    )
    .await;
    let titles = |response: TestResponse| {
        response
            .json::<Vec<DashboardSummary>>()
            .into_iter()
            .map(|d| d.title)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(admin.get("/api/v1/dashboards?q=latency").await),
        ["Payments latency"]
    );
    assert_eq!(
        titles(admin.get("/api/v1/dashboards?tag=demo").await),
        ["Shared"]
    );
    assert_eq!(
        titles(admin.get("/api/v1/dashboards?folder=Payments").await),
        ["Payments latency"]
    );
    assert_eq!(
        titles(admin.get("/api/v1/dashboards?q=100%25").await),
        Vec::<String>::new()
    );
    assert_eq!(
        titles(admin.get("/api/v1/dashboards?q=&tag=&folder=").await),
        ["Shared", "Payments latency"]
    );

    // API keys with the read scope read; they never write.
    let key = app.api_key(&["read"]).await;
    let mut machine = app.with_api_key(&key);
    assert_eq!(listed(&mut machine).await, ["Shared", "Payments latency"]);
    let read = machine
        .get(&format!("/api/v1/dashboards/{}", shared.id))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.json::<Dashboard>().can_edit);
    let write = machine
        .post("/api/v1/dashboards", &json!({ "model": model("Robot") }))
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.anonymous().get("/api/v1/dashboards").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Every write is in the audit log.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'dashboard.%' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "dashboard.create",
            "dashboard.create",
            "dashboard.update",
            "dashboard.delete",
            "dashboard.create",
            "dashboard.update",
            "dashboard.delete",
            "dashboard.create",
        ]
    );
}

#[tokio::test]
async fn hidden_dashboards_are_404_everywhere_and_teams_let_members_in() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let (viewer_in_team, mut member) = user(&app, Role::Viewer).await;
    let (_, mut outsider) = user(&app, Role::Viewer).await;
    let (_, mut editor) = user(&app, Role::Editor).await;
    let payments = team(&mut admin, "payments", &[viewer_in_team]).await;

    let editors_only = create(
        &mut admin,
        with(
            model("Editors only"),
            "viewable_by",
            json!({ "roles": ["editor"] }),
        ),
    )
    .await;
    let team_only = create(
        &mut admin,
        with(
            model("Payments team"),
            "viewable_by",
            json!({ "teams": [payments] }),
        ),
    )
    .await;
    create(&mut admin, model("Everyone")).await;

    assert_eq!(listed(&mut outsider).await, ["Everyone"]);
    assert_eq!(listed(&mut member).await, ["Everyone", "Payments team"]);
    assert_eq!(listed(&mut editor).await, ["Editors only", "Everyone"]);
    assert_eq!(
        listed(&mut admin).await,
        ["Editors only", "Everyone", "Payments team"]
    );

    for hidden in [&editors_only, &team_only] {
        for key in [hidden.id.to_string(), hidden.uid.clone()] {
            let base = format!("/api/v1/dashboards/{key}");
            for path in [
                base.clone(),
                format!("{base}/versions"),
                format!("{base}/versions/1"),
            ] {
                let response = outsider.get(&path).await;
                assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
            }
        }
    }
    // An editor outside the team cannot change what they cannot see, nor learn it exists.
    let path = format!("/api/v1/dashboards/{}", team_only.id);
    let writes = [
        put(
            &mut editor,
            &path,
            &json!({ "model": model("Mine now"), "version": 1 }),
        )
        .await,
        editor.delete(&path).await,
        editor
            .post(
                &format!("{path}/restore"),
                &json!({ "version": 1, "from_version": 1 }),
            )
            .await,
        put(
            &mut editor,
            "/api/v1/account/home-dashboard",
            &json!({ "dashboard_id": team_only.id }),
        )
        .await,
    ];
    assert_eq!(writes[0].status, StatusCode::NOT_FOUND);
    assert_eq!(writes[1].status, StatusCode::NOT_FOUND);
    assert_eq!(writes[2].status, StatusCode::NOT_FOUND);
    field_error(&writes[3], "dashboard_id");
    let nonexistent = outsider.get("/api/v1/dashboards/999999").await;
    assert_eq!(
        writes[0].error().error.message,
        nonexistent.error().error.message,
        "a hidden dashboard reads as one that does not exist"
    );

    // An API key reads as a viewer in no team.
    let key = app.api_key(&["read"]).await;
    let mut machine = app.with_api_key(&key);
    assert_eq!(listed(&mut machine).await, ["Everyone"]);
    let response = machine
        .get(&format!("/api/v1/dashboards/{}", team_only.uid))
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);

    // The team's member sees it by id and by uid.
    for key in [team_only.id.to_string(), team_only.uid.clone()] {
        let response = member.get(&format!("/api/v1/dashboards/{key}")).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    }
    assert_eq!(
        member
            .get(&format!("/api/v1/dashboards/{}", editors_only.id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn editable_by_team_limits_who_saves() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let (in_team, mut team_editor) = user(&app, Role::Editor).await;
    let (viewer_id, mut team_viewer) = user(&app, Role::Viewer).await;
    let (_, mut other_editor) = user(&app, Role::Editor).await;
    let sre = team(&mut admin, "sre", &[in_team, viewer_id]).await;
    let dashboard = create(
        &mut admin,
        with(model("SRE"), "editable_by", json!({ "teams": [sre] })),
    )
    .await;
    let path = format!("/api/v1/dashboards/{}", dashboard.id);

    let seen: Dashboard = other_editor.get(&path).await.json();
    assert!(!seen.can_edit);
    let listed: Vec<DashboardSummary> = other_editor.get("/api/v1/dashboards").await.json();
    assert!(!listed[0].can_edit);
    let refused = put(
        &mut other_editor,
        &path,
        &json!({ "model": with(model("SRE"), "editable_by", json!({ "teams": [sre] })), "version": 1 }),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert_eq!(
        other_editor.delete(&path).await.status,
        StatusCode::FORBIDDEN
    );

    // A viewer in the team still only views.
    let seen: Dashboard = team_viewer.get(&path).await.json();
    assert!(!seen.can_edit);

    let seen: Dashboard = team_editor.get(&path).await.json();
    assert!(seen.can_edit);
    let saved = put(
        &mut team_editor,
        &path,
        &json!({ "model": with(model("SRE v2"), "editable_by", json!({ "teams": [sre] })),
                 "version": 1 }),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
}

#[tokio::test]
async fn stale_saves_conflict_and_versions_restore() {
    let app = TestApp::spawn().await;
    let (_, mut ada) = user(&app, Role::Editor).await;
    let (_, mut bob) = user(&app, Role::Editor).await;
    let original = create(&mut ada, model("Checkout")).await;
    let path = format!("/api/v1/dashboards/{}", original.id);

    let saved = put(
        &mut ada,
        &path,
        &json!({ "model": model("Checkout v2"), "version": 1, "message": "renamed" }),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    let ada_email = saved.json::<Dashboard>().updated_by.unwrap();

    // Bob started from version 1 too.
    let stale = put(
        &mut bob,
        &path,
        &json!({ "model": model("Checkout (Bob)"), "version": 1 }),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text());
    let message = stale.error().error.message;
    assert!(message.contains("Version 2"), "{message}");
    assert!(message.contains(&ada_email), "{message}");
    assert!(message.contains("version 1 you started from"), "{message}");
    let missing = put(
        &mut bob,
        &path,
        &json!({ "model": model("Checkout (Bob)") }),
    )
    .await;
    field_error(&missing, "version");

    let versions: Vec<DashboardVersion> = bob.get(&format!("{path}/versions")).await.json();
    let summary: Vec<(i32, Option<&str>, &str)> = versions
        .iter()
        .map(|v| (v.version, v.author.as_deref(), v.message.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (2, Some(ada_email.as_str()), "renamed"),
            (1, Some(ada_email.as_str()), "")
        ]
    );
    let first: DashboardModel = bob.get(&format!("{path}/versions/1")).await.json();
    assert_eq!(first.title, "Checkout");
    assert_eq!(
        bob.get(&format!("{path}/versions/7")).await.status,
        StatusCode::NOT_FOUND
    );

    let stale_restore = bob
        .post(
            &format!("{path}/restore"),
            &json!({ "version": 1, "from_version": 1 }),
        )
        .await;
    assert_eq!(stale_restore.status, StatusCode::CONFLICT);
    let restored = bob
        .post(
            &format!("{path}/restore"),
            &json!({ "version": 1, "from_version": 2 }),
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text());
    let restored: Dashboard = restored.json();
    assert_eq!(restored.version, 3);
    assert_eq!(restored.model, first);
    let versions: Vec<DashboardVersion> = bob.get(&format!("{path}/versions")).await.json();
    assert_eq!(versions[0].version, 3);
    assert_eq!(versions[0].message, "restored version 1");
    assert_ne!(versions[0].author.as_deref(), Some(ada_email.as_str()));
}

#[tokio::test]
async fn the_newest_hundred_versions_are_kept() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let dashboard = create(&mut editor, model("Busy")).await;
    let path = format!("/api/v1/dashboards/{}", dashboard.id);
    for version in 1..=104 {
        let response = put(
            &mut editor,
            &path,
            &json!({ "model": model(&format!("Busy {version}")), "version": version }),
        )
        .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    }
    let versions: Vec<DashboardVersion> = editor.get(&format!("{path}/versions")).await.json();
    assert_eq!(versions.len(), 100);
    assert_eq!(versions.first().unwrap().version, 105);
    assert_eq!(versions.last().unwrap().version, 6);
    assert_eq!(
        editor.get(&format!("{path}/versions/5")).await.status,
        StatusCode::NOT_FOUND
    );
    let sixth: DashboardModel = editor.get(&format!("{path}/versions/6")).await.json();
    assert_eq!(sixth.title, "Busy 5");
}

#[tokio::test]
async fn bad_models_are_refused_on_their_json_path() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;

    let mut bad_expr = model("Bad");
    bad_expr["panels"]["x"] = json!({ "kind": "stat", "queries": [{ "expr": "rate(up[5m]" }] });
    let response = editor
        .post("/api/v1/dashboards", &json!({ "model": bad_expr }))
        .await;
    let problem = field_error(&response, "panels.x.queries[0].expr");
    assert!(problem.contains("PromQL"), "{problem}");

    let mut undefined = model("Bad");
    undefined["panels"]["cpu"]["queries"][0]["expr"] = json!("up{job=\"$nope\"} > $nope");
    let response = editor
        .post("/api/v1/dashboards", &json!({ "model": undefined }))
        .await;
    field_error(&response, "panels.cpu.queries[0].expr");

    let mut missing_panel = model("Bad");
    missing_panel["layout"][0]["items"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "panel": "ghost", "x": 12, "y": 0, "w": 12, "h": 8 }));
    let response = editor
        .post("/api/v1/dashboards", &json!({ "model": missing_panel }))
        .await;
    assert!(field_error(&response, "layout[0].items[1].panel").contains("ghost"));

    let response = editor
        .post(
            "/api/v1/dashboards",
            &json!({ "model": with(model("Bad"), "viewable_by", json!({ "teams": [424242] })) }),
        )
        .await;
    assert!(field_error(&response, "viewable_by.teams[0]").contains("424242"));

    let mut unknown_kind = model("Bad");
    unknown_kind["panels"]["cpu"]["kind"] = json!("pie_chart_3d");
    let response = editor
        .post("/api/v1/dashboards", &json!({ "model": unknown_kind }))
        .await;
    assert!(field_error(&response, "panels.cpu.kind").contains("pie_chart_3d"));

    let response = editor
        .post(
            "/api/v1/dashboards",
            &json!({ "model": with(model("Bad"), "variables", json!([{ "name": "__x" }])) }),
        )
        .await;
    field_error(&response, "variables[0].name");
    let response = editor
        .post("/api/v1/dashboards", &json!({ "model": model(" ") }))
        .await;
    field_error(&response, "title");
    let response = editor
        .post("/api/v1/dashboards", &json!({ "title": "No model" }))
        .await;
    assert!(field_error(&response, "body").contains("model"));

    let response = editor
        .post(
            "/api/v1/dashboards",
            &json!({ "model": model("Uid"), "uid": "12345" }),
        )
        .await;
    field_error(&response, "uid");
    let first = editor
        .post(
            "/api/v1/dashboards",
            &json!({ "model": model("Uid"), "uid": "node-full" }),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let clash = editor
        .post(
            "/api/v1/dashboards",
            &json!({ "model": model("Uid 2"), "uid": "node-full" }),
        )
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert!(clash.error().error.fields.contains_key("uid"));

    // Bounds come first: too many panels, and a body over 2 MB.
    let mut crowded = model("Crowded");
    for i in 0..301 {
        crowded["panels"][format!("p{i}")] = json!({ "kind": "text", "text": "hi" });
    }
    let response = editor
        .post("/api/v1/dashboards", &json!({ "model": crowded }))
        .await;
    field_error(&response, "panels");
    let huge = with(
        model("Huge"),
        "description",
        json!("x".repeat(2 * 1024 * 1024)),
    );
    let response = editor
        .post("/api/v1/dashboards", &json!({ "model": huge }))
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Under 2 MB but over the global 1 MB: the dashboards' own limit applies.
    let mut big = model("Big");
    for i in 0..20 {
        big["panels"][format!("t{i}")] = json!({ "kind": "text", "text": "x".repeat(60_000) });
    }
    let response = editor
        .post("/api/v1/dashboards", &json!({ "model": big }))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());

    let titles = listed(&mut editor).await;
    assert_eq!(titles, ["Big", "Uid"]);

    // The number of dashboards is bounded too.
    sqlx::query(
        "INSERT INTO dashboards (uid, title, model)
         SELECT 'filler-' || n, 'Filler', '{}' FROM generate_series(1, $1 - 2) AS n",
    )
    .bind(store::MAX_DASHBOARDS)
    .execute(&app.db)
    .await
    .unwrap();
    let response = editor
        .post(
            "/api/v1/dashboards",
            &json!({ "model": model("One too many") }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.text());
    assert!(response.error().error.message.contains("10000 dashboards"));
}

#[tokio::test]
async fn provisioned_dashboards_are_read_only() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let mut admin = app.login_as(Role::Admin).await;
    let built_in: DashboardModel = serde_json::from_value(model("Platform overview")).unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    let id = store::upsert_provisioned(&mut conn, "platform", &built_in, "built-in")
        .await
        .unwrap();
    // Unchanged: nothing new; changed: a new version by nobody.
    let again = store::upsert_provisioned(&mut conn, "platform", &built_in, "built-in")
        .await
        .unwrap();
    assert_eq!(again, id);
    let path = format!("/api/v1/dashboards/{id}");
    let read: Dashboard = admin.get(&path).await.json();
    assert_eq!(
        (read.version, read.provisioned.as_deref()),
        (1, Some("built-in"))
    );
    assert!(!read.can_edit);
    let mut changed = built_in.clone();
    changed.description = "Vigil itself".to_owned();
    store::upsert_provisioned(&mut conn, "platform", &changed, "built-in")
        .await
        .unwrap();
    let versions: Vec<DashboardVersion> = admin.get(&format!("{path}/versions")).await.json();
    assert_eq!(versions[0].version, 2);
    assert_eq!(versions[0].author, None);
    assert_eq!(versions[0].message, "provisioned from built-in");

    for client in [&mut editor, &mut admin] {
        let save = put(
            client,
            &path,
            &json!({ "model": model("Mine"), "version": 2 }),
        )
        .await;
        assert_eq!(save.status, StatusCode::CONFLICT, "{}", save.text());
        assert!(
            save.error()
                .error
                .message
                .contains("provisioned from built-in")
        );
        assert!(save.error().error.message.contains("copy"));
        assert_eq!(client.delete(&path).await.status, StatusCode::CONFLICT);
    }

    // A uid taken by a dashboard made by hand is not provisioned over.
    let by_hand = editor
        .post(
            "/api/v1/dashboards",
            &json!({ "model": model("Mine"), "uid": "mine" }),
        )
        .await;
    assert_eq!(by_hand.status, StatusCode::CREATED);
    assert!(
        store::upsert_provisioned(&mut conn, "mine", &built_in, "files/mine.json")
            .await
            .is_err()
    );

    // A provisioning pass removes what its files no longer hold, and nothing else.
    store::upsert_provisioned(&mut conn, "a", &built_in, "files/a.json")
        .await
        .unwrap();
    store::upsert_provisioned(&mut conn, "b", &built_in, "files/b.json")
        .await
        .unwrap();
    let removed = store::remove_provisioned_except(&mut conn, "files/", &["a".to_owned()])
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let uids: Vec<String> = admin
        .get("/api/v1/dashboards")
        .await
        .json::<Vec<DashboardSummary>>()
        .into_iter()
        .map(|d| d.uid)
        .collect();
    let mut uids = uids;
    uids.sort();
    assert_eq!(uids, ["a", "mine", "platform"]);
}

#[tokio::test]
async fn home_dashboards_resolve_user_then_team_then_role() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let (viewer_id, mut viewer) = user(&app, Role::Viewer).await;
    let (_, mut editor) = user(&app, Role::Editor).await;

    let home: HomeDashboard = viewer.get("/api/v1/home-dashboard").await.json();
    assert_eq!((home.dashboard, home.chosen_by.as_str()), (None, "none"));

    let by_role = create(&mut admin, model("For viewers")).await;
    let by_team = create(&mut admin, model("For the team")).await;
    let own = create(&mut admin, model("My own")).await;
    let hidden = create(
        &mut admin,
        with(
            model("Admins only"),
            "viewable_by",
            json!({ "roles": ["admin"] }),
        ),
    )
    .await;
    let team_a = team(&mut admin, "a", &[viewer_id]).await;
    let team_b = team(&mut admin, "b", &[viewer_id]).await;

    // Only admins read or set the shared homes.
    for client in [&mut viewer, &mut editor] {
        assert_eq!(
            client.get("/api/v1/home-dashboards").await.status,
            StatusCode::FORBIDDEN
        );
        let response = put(client, "/api/v1/home-dashboards", &json!({})).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN);
    }
    let response = put(
        &mut admin,
        "/api/v1/home-dashboards",
        &json!({ "roles": { "viewer": 999999 }, "teams": { "424242": by_team.id, "x": by_team.id } }),
    )
    .await;
    field_error(&response, "roles.viewer");
    field_error(&response, "teams.424242");
    field_error(&response, "teams.x");

    let chosen = |home: HomeDashboard| (home.dashboard.map(|d| d.title), home.chosen_by);
    let set = json!({ "roles": { "viewer": by_role.id, "editor": by_team.id },
                      "teams": { team_b.to_string(): by_team.id, team_a.to_string(): hidden.id } });
    let response = put(&mut admin, "/api/v1/home-dashboards", &set).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let homes: HomeDashboards = admin.get("/api/v1/home-dashboards").await.json();
    assert_eq!(homes.roles.get(&Role::Viewer), Some(&by_role.id));
    assert_eq!(homes.teams.get(&team_b.to_string()), Some(&by_team.id));

    // Team a's home is hidden from the viewer, so team b's (the next team) applies.
    let home: HomeDashboard = viewer.get("/api/v1/home-dashboard").await.json();
    assert_eq!(
        chosen(home),
        (Some("For the team".to_owned()), "team".to_owned())
    );
    let home: HomeDashboard = editor.get("/api/v1/home-dashboard").await.json();
    assert_eq!(
        chosen(home),
        (Some("For the team".to_owned()), "role".to_owned())
    );

    let response = put(
        &mut viewer,
        "/api/v1/account/home-dashboard",
        &json!({ "dashboard_id": hidden.id }),
    )
    .await;
    field_error(&response, "dashboard_id");
    let response = put(
        &mut viewer,
        "/api/v1/account/home-dashboard",
        &json!({ "dashboard_id": own.id }),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        chosen(response.json()),
        (Some("My own".to_owned()), "user".to_owned())
    );

    // Without their own choice and their teams' homes, the role's applies.
    put(
        &mut viewer,
        "/api/v1/account/home-dashboard",
        &json!({ "dashboard_id": null }),
    )
    .await;
    let only_roles = json!({ "roles": { "viewer": by_role.id } });
    put(&mut admin, "/api/v1/home-dashboards", &only_roles).await;
    let home: HomeDashboard = viewer.get("/api/v1/home-dashboard").await.json();
    assert_eq!(
        chosen(home),
        (Some("For viewers".to_owned()), "role".to_owned())
    );

    // Deleting the dashboard clears the homes that named it.
    admin
        .delete(&format!("/api/v1/dashboards/{}", by_role.id))
        .await;
    let home: HomeDashboard = viewer.get("/api/v1/home-dashboard").await.json();
    assert_eq!(chosen(home), (None, "none".to_owned()));
}

#[tokio::test]
async fn a_team_named_by_a_dashboard_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let ops = team(&mut admin, "ops", &[]).await;
    let dashboard = create(
        &mut admin,
        with(model("Ops board"), "editable_by", json!({ "teams": [ops] })),
    )
    .await;
    let refused = admin.delete(&format!("/api/v1/teams/{ops}")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    let message = refused.error().error.message;
    assert!(message.contains("dashboards (Ops board)"), "{message}");

    let saved = put(
        &mut admin,
        &format!("/api/v1/dashboards/{}", dashboard.id),
        &json!({ "model": model("Ops board"), "version": 1 }),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    assert_eq!(
        admin.delete(&format!("/api/v1/teams/{ops}")).await.status,
        StatusCode::NO_CONTENT
    );
}
