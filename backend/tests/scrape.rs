//! Scrape targets over the API, and the scrape worker against a local target serving the
//! Prometheus text format.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{TimeDelta, Utc};
use common::TestApp;
use serde_json::json;
use vigil::metrics::model::Labels;
use vigil::promql::{Engine, QueryOutput};
use vigil::scrape::worker::{Scraper, scrape_self};
use vigil_shared::Role;
use vigil_shared::scrape::{ScrapeTarget, ScrapeTargetList, TargetHealth};

/// What the local target serves: (status, body, delay).
type Served = Arc<Mutex<(u16, String, Duration)>>;

async fn target(body: &str) -> (String, Served) {
    let served: Served = Arc::new(Mutex::new((200, body.to_owned(), Duration::ZERO)));
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get({
            let served = served.clone();
            move || {
                let served = served.clone();
                async move {
                    let (status, body, delay) = served.lock().unwrap().clone();
                    tokio::time::sleep(delay).await;
                    (StatusCode::from_u16(status).unwrap(), body)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/metrics"), served)
}

async fn instant(app: &TestApp, query: &str, time_ms: i64) -> Vec<(Labels, f64)> {
    match Engine::raw_only(&app.state.metrics)
        .instant(query, time_ms)
        .await
        .unwrap()
    {
        QueryOutput::Vector { samples, .. } => samples,
        other => panic!("{query}: {other:?}"),
    }
}

const METRICS: &str = "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.42\n\
# TYPE jobs_total counter\njobs_total{queue=\"mail\",job=\"worker\"} 7\njobs_total{queue=\"sms\",job=\"worker\"} 3\n";

#[tokio::test]
async fn the_worker_scrapes_targets_with_their_labels_and_marks_what_disappears_stale() {
    let app = TestApp::spawn().await;
    let (url, served) = target(METRICS).await;
    let mut editor = app.login_as(Role::Editor).await;
    let created = editor
        .post(
            "/api/v1/scrape-targets",
            &json!({ "job": "node", "url": url, "interval": "15s", "timeout": "1s", "labels": { "env": "test" } }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created: ScrapeTarget = created.json();
    let now = Utc::now() - TimeDelta::minutes(5);
    sqlx::query("UPDATE scrape_targets SET next_scrape_at = $1")
        .bind(now)
        .execute(&app.db)
        .await
        .unwrap();
    let scraper = Scraper::new(
        app.db.clone(),
        app.state.metrics.clone(),
        app.state.config.outbound.clone(),
        app.state.telemetry.clone(),
    );
    assert_eq!(scraper.scrape_due(now).await.unwrap(), 1);
    assert_eq!(
        scraper.scrape_due(now).await.unwrap(),
        0,
        "not due again yet"
    );
    // What the scrape stored is counted as ingested, as the Platform overview shows it: the
    // target's three samples and the three Vigil adds (up, scrape_duration_seconds,
    // scrape_samples_scraped).
    let exposition = app.anonymous().get("/metrics").await.text();
    let counted = exposition
        .lines()
        .find_map(|line| line.strip_prefix("vigil_ingested_samples_total{protocol=\"scrape\"} "))
        .unwrap_or_else(|| panic!("no scrape count in {exposition}"));
    assert_eq!(counted.parse::<f64>().unwrap(), 6.0, "{exposition}");

    let at = now.timestamp_millis() + 1_000;
    let load = instant(&app, "node_load1", at).await;
    assert_eq!(load.len(), 1);
    let instance = url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    assert_eq!(load[0].0.get("job"), Some("node"));
    assert_eq!(load[0].0.get("instance"), Some(instance));
    assert_eq!(load[0].0.get("env"), Some("test"));
    assert_eq!(load[0].1, 0.42);
    let jobs = instant(&app, "jobs_total", at).await;
    assert_eq!(jobs.len(), 2);
    assert!(
        jobs.iter()
            .all(|(l, _)| l.get("exported_job") == Some("worker") && l.get("job") == Some("node"))
    );
    assert_eq!(instant(&app, "up{job=\"node\"}", at).await[0].1, 1.0);
    assert_eq!(
        instant(&app, "scrape_samples_scraped{job=\"node\"}", at).await[0].1,
        3.0
    );
    let shown: ScrapeTarget = editor
        .get(&format!("/api/v1/scrape-targets/{}", created.id))
        .await
        .json();
    assert_eq!(shown.health, TargetHealth::Up);
    assert_eq!(shown.last_sample_count, Some(3));

    // The sms series goes away: it is marked stale at the next scrape.
    served.lock().unwrap().1 = METRICS.replace("jobs_total{queue=\"sms\",job=\"worker\"} 3\n", "");
    let next = now + TimeDelta::seconds(15);
    assert_eq!(scraper.scrape_due(next).await.unwrap(), 1);
    let after = next.timestamp_millis() + 1_000;
    assert_eq!(instant(&app, "jobs_total", after).await.len(), 1);

    // The target fails: up is 0, everything else is stale, the error is shown.
    served.lock().unwrap().0 = 500;
    let failing = next + TimeDelta::seconds(15);
    scraper.scrape_due(failing).await.unwrap();
    let after = failing.timestamp_millis() + 1_000;
    assert_eq!(instant(&app, "up{job=\"node\"}", after).await[0].1, 0.0);
    assert!(instant(&app, "node_load1", after).await.is_empty());
    let shown: ScrapeTarget = editor
        .get(&format!("/api/v1/scrape-targets/{}", created.id))
        .await
        .json();
    assert_eq!(shown.health, TargetHealth::Down);
    assert!(shown.last_error.unwrap().contains("500"));

    // A slow target times out.
    *served.lock().unwrap() = (200, METRICS.to_owned(), Duration::from_secs(3));
    let slow = failing + TimeDelta::seconds(15);
    scraper.scrape_due(slow).await.unwrap();
    let shown: ScrapeTarget = editor
        .get(&format!("/api/v1/scrape-targets/{}", created.id))
        .await
        .json();
    assert!(
        shown.last_error.unwrap().contains("timed out"),
        "timeout honoured"
    );

    // Garbage is a failed scrape naming the line.
    *served.lock().unwrap() = (
        200,
        "node_load1 0.5\nnot valid at all\n".to_owned(),
        Duration::ZERO,
    );
    scraper
        .scrape_due(slow + TimeDelta::seconds(15))
        .await
        .unwrap();
    let shown: ScrapeTarget = editor
        .get(&format!("/api/v1/scrape-targets/{}", created.id))
        .await
        .json();
    assert!(shown.last_error.unwrap().contains("line 2"));
}

#[tokio::test]
async fn vigil_scrapes_its_own_metrics() {
    let app = TestApp::spawn().await;
    app.anonymous().get("/healthz").await;
    let now = Utc::now();
    scrape_self(
        &app.state.metrics,
        &app.state.telemetry,
        &app.db,
        "127.0.0.1:8080",
        now,
    )
    .await
    .unwrap();
    let at = now.timestamp_millis();
    let up = instant(&app, "up{job=\"vigil\"}", at).await;
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].0.get("instance"), Some("127.0.0.1:8080"));
    assert_eq!(up[0].1, 1.0);
    assert_eq!(
        instant(&app, "vigil_build_info{job=\"vigil\"}", at)
            .await
            .len(),
        1
    );
    assert!(
        !instant(&app, "vigil_http_requests_total{job=\"vigil\"}", at)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn targets_are_validated_and_written_by_editors_only() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.anonymous().get("/api/v1/scrape-targets").await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut viewer = app.login_as(Role::Viewer).await;
    assert_eq!(
        viewer.get("/api/v1/scrape-targets").await.status,
        StatusCode::OK
    );
    let target = json!({ "job": "node", "url": "http://127.0.0.1:9100/metrics" });
    assert_eq!(
        viewer.post("/api/v1/scrape-targets", &target).await.status,
        StatusCode::FORBIDDEN
    );
    let mut editor = app.login_as(Role::Editor).await;
    let bad = editor
        .post(
            "/api/v1/scrape-targets",
            &json!({ "job": "", "url": "ftp://x", "interval": "10s", "timeout": "30s", "labels": { "job": "x" } }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = bad.error().error.fields;
    for field in ["job", "url", "timeout", "labels"] {
        assert!(fields.contains_key(field), "{field}: {fields:?}");
    }
    let created: ScrapeTarget = editor.post("/api/v1/scrape-targets", &target).await.json();
    assert_eq!(created.target.interval, "15s");
    assert_eq!(created.health, TargetHealth::Unknown);
    assert_eq!(
        editor.post("/api/v1/scrape-targets", &target).await.status,
        StatusCode::CONFLICT
    );
    let path = format!("/api/v1/scrape-targets/{}", created.id);
    let patched = editor
        .request(
            Method::PATCH,
            &path,
            Some(serde_json::to_vec(&json!({ "job": "node", "url": "http://127.0.0.1:9100/metrics", "interval": "1m" })).unwrap()),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    assert_eq!(patched.json::<ScrapeTarget>().target.interval, "1m");
    assert_eq!(viewer.delete(&path).await.status, StatusCode::FORBIDDEN);
    assert_eq!(editor.delete(&path).await.status, StatusCode::NO_CONTENT);
    let list: ScrapeTargetList = viewer.get("/api/v1/scrape-targets").await.json();
    assert!(list.targets.is_empty());
}
