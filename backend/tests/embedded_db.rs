//! The embedded PostgreSQL cluster, and how the server behaves when its database goes away.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::StatusCode;
use common::remote_write::{encode, post, series};
use common::{TestApp, throwaway_cluster_options};
use serde_json::json;
use sqlx::{Connection, PgConnection};
use vigil::config::AppConfig;
use vigil::db::{self, EmbeddedCluster, PoolSettings};
use vigil::ingest::remote_write::WriteRequest;
use vigil_shared::admin::CreatedApiKey;

fn data_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start(dir: &Path) -> EmbeddedCluster {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || EmbeddedCluster::start(&dir, &throwaway_cluster_options()))
        .await
        .unwrap()
        .expect("the embedded cluster should start")
}

async fn release(cluster: EmbeddedCluster) {
    tokio::task::spawn_blocking(move || cluster.release())
        .await
        .unwrap()
        .expect("the embedded cluster should stop");
}

fn is_running(dir: &Path) -> bool {
    dir.join("postgres/data/postmaster.pid").exists()
}

#[tokio::test]
async fn the_embedded_cluster_starts_from_nothing_stops_and_keeps_its_data() {
    let dir = data_dir("embedded");

    let cluster = start(&dir).await;
    assert!(dir.join("postgres/data/PG_VERSION").exists(), "initdb ran");
    db::ensure_database(&cluster, "vigil").await.unwrap();
    let mut conn = PgConnection::connect_with(&cluster.connect_options("vigil"))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE kept (note text)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO kept VALUES ('still here')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    release(cluster).await;
    assert!(!is_running(&dir), "the last user out stops the cluster");

    let cluster = start(&dir).await;
    let mut conn = PgConnection::connect_with(&cluster.connect_options("vigil"))
        .await
        .unwrap();
    let note: String = sqlx::query_scalar("SELECT note FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(note, "still here");
    conn.close().await.unwrap();
    release(cluster).await;
}

#[tokio::test]
async fn a_second_user_joins_the_running_cluster_and_the_last_one_out_stops_it() {
    let dir = data_dir("shared");
    let server = start(&dir).await;
    let cli = start(&dir).await;
    assert_eq!(server.pgdata(), cli.pgdata());

    release(cli).await;
    assert!(
        is_running(&dir),
        "the cluster must outlive a user that leaves first"
    );
    let mut conn = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    conn.close().await.unwrap();

    release(server).await;
    assert!(!is_running(&dir));
}

#[tokio::test]
async fn a_dead_database_gives_503s_and_the_server_recovers_without_a_restart() {
    let dir = data_dir("outage");
    let cluster = start(&dir).await;
    db::ensure_database(&cluster, "vigil").await.unwrap();
    let pool = db::pool_options(&PoolSettings {
        max_connections: 3,
        acquire_timeout: Duration::from_secs(1),
    })
    .connect_with(db::quiet(cluster.connect_options("vigil")))
    .await
    .unwrap();
    db::migrate(&pool).await.unwrap();
    let app = TestApp::over(pool, AppConfig::default()).await;
    app.create_user("ada@example.com", vigil_shared::Role::Admin)
        .await;
    let mut admin = app.login("ada@example.com", common::PASSWORD).await;
    assert_eq!(admin.get("/api/v1/users").await.status, StatusCode::OK);
    let key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "prometheus", "scopes": ["ingest", "read"] }),
        )
        .await
        .json();
    let now = chrono::Utc::now().timestamp_millis();
    let write = |value: f64| {
        post(
            &key.secret,
            encode(&WriteRequest {
                timeseries: vec![series(&[("__name__", "outage_probe")], &[(now, value)])],
                metadata: vec![],
            }),
        )
    };

    release(cluster).await;
    // Ingestion is refused, not acknowledged, while nothing can be committed.
    let refused = app.send(write(1.0)).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert!(refused.header("retry-after").is_some());
    let down = admin.get("/api/v1/users").await;
    assert_eq!(
        down.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        down.text()
    );
    assert_eq!(down.error().error.code, "unavailable");
    assert!(down.header("retry-after").is_some());
    assert!(
        !down.text().contains("socket"),
        "no database detail may leak: {}",
        down.text()
    );
    let ready = app.anonymous().get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);

    let cluster = start(&dir).await;
    let mut recovered = None;
    for _ in 0..20 {
        let response = admin.get("/api/v1/users").await;
        if response.status == StatusCode::OK {
            recovered = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        recovered.is_some(),
        "the server did not recover after the database came back"
    );
    assert_eq!(app.anonymous().get("/readyz").await.status, StatusCode::OK);
    // The retried write lands, and only it.
    assert_eq!(app.send(write(2.0)).await.status, StatusCode::NO_CONTENT);
    let stored = app
        .send(
            axum::http::Request::get(
                "/prometheus/api/v1/query?query=count_over_time(outage_probe[1h])",
            )
            .header("authorization", format!("Bearer {}", key.secret))
            .body(axum::body::Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text());
    assert!(
        stored.text().contains(r#""1"]"#),
        "one sample stored: {}",
        stored.text()
    );
    app.db.close().await;
    release(cluster).await;
}
