//! Prometheus remote_write into the real store, with real encodings and bad ones.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestApp;
use common::remote_write::{encode, post, series};
use prost::Message as _;
use serde_json::json;
use vigil::ingest::remote_write::{WireMetadata, WriteRequest};
use vigil::metrics::model::{is_stale_nan, stale_nan};
use vigil_shared::Role;
use vigil_shared::admin::CreatedApiKey;

async fn ingest_key(app: &TestApp) -> String {
    let mut admin = app.login_as(Role::Admin).await;
    let key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "prometheus", "scopes": ["ingest"] }),
        )
        .await
        .json();
    key.secret
}

async fn stored(app: &TestApp, metric: &str) -> Vec<(i64, f64)> {
    app.state.metrics.catalog.refresh(&app.db).await.unwrap();
    let matcher = promql_parser::label::Matcher::new(
        promql_parser::label::MatchOp::Equal,
        "__name__",
        metric,
    );
    let selected = app.state.metrics.catalog.select(&[matcher]);
    let ids: Vec<i64> = selected.iter().map(|(id, _)| *id).collect();
    let samples = app
        .state
        .metrics
        .samples(&ids, 0, i64::MAX / 4)
        .await
        .unwrap();
    samples
        .iter()
        .flat_map(|samples| samples.iter().map(|s| (s.timestamp_ms, s.value)))
        .collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn a_write_request_is_committed_before_the_204() {
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let t = now_ms() - 60_000;
    let request = WriteRequest {
        timeseries: vec![
            series(
                &[
                    ("__name__", "http_requests_total"),
                    ("job", "api"),
                    ("code", "200"),
                ],
                &[(t, 1.0), (t + 15_000, 5.0)],
            ),
            series(
                &[
                    ("__name__", "http_requests_total"),
                    ("job", "api"),
                    ("code", "500"),
                ],
                &[(t, 0.0)],
            ),
        ],
        metadata: vec![WireMetadata {
            r#type: 1,
            metric_family_name: "http_requests_total".into(),
            help: "Requests served.".into(),
            unit: String::new(),
        }],
    };
    let response = app.send(post(&key, encode(&request))).await;
    assert_eq!(
        response.status,
        StatusCode::NO_CONTENT,
        "{}",
        response.text()
    );

    let mut samples = stored(&app, "http_requests_total").await;
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(samples, vec![(t, 0.0), (t, 1.0), (t + 15_000, 5.0)]);
    let help: String =
        sqlx::query_scalar("SELECT help FROM metric_metadata WHERE metric = 'http_requests_total'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(help, "Requests served.");
}

#[tokio::test]
async fn special_values_and_out_of_order_samples_are_kept_faithfully() {
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let t = now_ms() - 120_000;
    let request = WriteRequest {
        timeseries: vec![series(
            &[("__name__", "odd_values")],
            &[
                (t + 30_000, f64::INFINITY),
                (t, f64::NEG_INFINITY),
                (t + 15_000, f64::NAN),
                (t + 45_000, stale_nan()),
            ],
        )],
        metadata: vec![],
    };
    let response = app.send(post(&key, encode(&request))).await;
    assert_eq!(
        response.status,
        StatusCode::NO_CONTENT,
        "{}",
        response.text()
    );
    let samples = stored(&app, "odd_values").await;
    let times: Vec<i64> = samples.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        vec![t, t + 15_000, t + 30_000, t + 45_000],
        "read back in time order"
    );
    assert_eq!(samples[0].1, f64::NEG_INFINITY);
    assert!(samples[1].1.is_nan() && !is_stale_nan(samples[1].1));
    assert_eq!(samples[2].1, f64::INFINITY);
    assert!(
        is_stale_nan(samples[3].1),
        "the staleness marker must survive storage"
    );
}

#[tokio::test]
async fn bad_series_and_too_old_samples_are_refused_and_the_rest_stored() {
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let now = now_ms();
    let request = WriteRequest {
        timeseries: vec![
            series(
                &[("__name__", "good")],
                &[(now - 1_000, 1.0), (now - 3 * 3_600_000, 2.0)],
            ),
            series(&[("__name__", "bad"), ("not-a-label", "x")], &[(now, 1.0)]),
            series(&[("__name__", "future")], &[(now + 3_600_000, 1.0)]),
        ],
        metadata: vec![],
    };
    let response = app.send(post(&key, encode(&request))).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let error = response.error().error;
    assert_eq!(error.code, "samples_rejected");
    assert!(
        error.message.starts_with("3 samples rejected"),
        "{}",
        error.message
    );
    assert!(error.message.contains("not-a-label"), "{}", error.message);
    assert_eq!(stored(&app, "good").await, vec![(now - 1_000, 1.0)]);
    assert!(stored(&app, "future").await.is_empty());
}

#[tokio::test]
async fn unreadable_bodies_get_a_4xx_naming_the_problem() {
    let app = TestApp::spawn().await;
    let key = ingest_key(&app).await;
    let good = encode(&WriteRequest {
        timeseries: vec![series(&[("__name__", "up")], &[(now_ms(), 1.0)])],
        metadata: vec![],
    });

    let garbage = app
        .send(post(&key, b"definitely not snappy".to_vec()))
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert!(garbage.error().error.message.contains("snappy"));

    let raw = WriteRequest {
        timeseries: vec![series(&[("__name__", "up")], &[(now_ms(), 1.0)])],
        metadata: vec![],
    }
    .encode_to_vec();
    let truncated = snap::raw::Encoder::new()
        .compress_vec(&raw[..raw.len() - 4])
        .unwrap();
    let response = app.send(post(&key, truncated)).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.error().error.message.contains("protobuf"));

    let mut wrong_type = post(&key, good.clone());
    wrong_type
        .headers_mut()
        .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    assert_eq!(
        app.send(wrong_type).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    let mut wrong_encoding = post(&key, good.clone());
    wrong_encoding
        .headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    assert_eq!(
        app.send(wrong_encoding).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    let huge = vec![0u8; 17 * 1024 * 1024];
    let response = app.send(post(&key, huge)).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.error().error.code, "payload_too_large");
}

#[tokio::test]
async fn only_ingest_keys_and_editors_may_write() {
    let app = TestApp::spawn().await;
    let body = encode(&WriteRequest {
        timeseries: vec![series(&[("__name__", "up")], &[(now_ms(), 1.0)])],
        metadata: vec![],
    });
    let anonymous = app
        .send(
            Request::post("/prometheus/api/v1/write")
                .header(header::CONTENT_TYPE, "application/x-protobuf")
                .body(Body::from(body.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let mut admin = app.login_as(Role::Admin).await;
    let read_key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "grafana", "scopes": ["read"] }),
        )
        .await
        .json();
    assert_eq!(
        app.send(post(&read_key.secret, body.clone())).await.status,
        StatusCode::FORBIDDEN
    );

    for (role, expected) in [
        (Role::Viewer, StatusCode::FORBIDDEN),
        (Role::Responder, StatusCode::FORBIDDEN),
        (Role::Editor, StatusCode::NO_CONTENT),
    ] {
        let client = app.login_as(role).await;
        let request = Request::post("/prometheus/api/v1/write")
            .header(header::COOKIE, client.cookie_header().unwrap())
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_ENCODING, "snappy")
            .body(Body::from(body.clone()))
            .unwrap();
        assert_eq!(app.send(request).await.status, expected, "{role}");
    }
}

#[tokio::test]
async fn writers_beyond_the_limit_get_429_with_retry_after_and_nothing_is_lost() {
    let app = TestApp::spawn_with(vigil::config::AppConfig {
        metrics: vigil::metrics::StoreConfig {
            max_concurrent_writes: 1,
            write_wait: std::time::Duration::from_millis(300),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let key = ingest_key(&app).await;
    let body = |value: f64| {
        encode(&WriteRequest {
            timeseries: vec![series(&[("__name__", "busy_probe")], &[(now_ms(), value)])],
            metadata: vec![],
        })
    };
    // Hold the samples table so the first write keeps its slot while it waits.
    let mut blocker = app.db.begin().await.unwrap();
    sqlx::query("LOCK TABLE metric_samples IN EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let first = {
        let request = post(&key, body(1.0));
        let app = &app;
        async move { app.send(request).await }
    };
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let response = app.send(post(&key, body(2.0))).await;
        blocker.rollback().await.unwrap();
        response
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(
        second.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        second.text()
    );
    assert!(second.header("retry-after").is_some());
    assert_eq!(first.status, StatusCode::NO_CONTENT, "{}", first.text());
    assert_eq!(stored(&app, "busy_probe").await.len(), 1);
}
