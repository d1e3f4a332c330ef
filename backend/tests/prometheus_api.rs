//! The Prometheus HTTP API as Grafana and promtool use it: shapes, parameters, errors, roles.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestApp;
use serde_json::{Value, json};
use vigil::metrics::model::{Labels, Sample, SeriesWrite, WriteBatch};
use vigil_shared::Role;
use vigil_shared::admin::CreatedApiKey;

/// Writes `http_requests_total` for two instances, one sample every 15 s for the last 10 min,
/// and returns the time (ms, a multiple of 15 s) of the newest sample.
async fn seed(app: &TestApp) -> i64 {
    let now = chrono::Utc::now().timestamp_millis() / 15_000 * 15_000;
    let mut batch = WriteBatch::default();
    for (instance, per_step) in [("a", 10.0), ("b", 20.0)] {
        batch.series.push(SeriesWrite {
            labels: Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("instance", instance),
            ]),
            samples: (0..=40)
                .map(|i| Sample {
                    timestamp_ms: now - (40 - i) * 15_000,
                    value: i as f64 * per_step,
                })
                .collect(),
        });
    }
    batch.metadata.push(vigil::metrics::MetricMetadata {
        metric: "http_requests_total".into(),
        kind: vigil::metrics::MetricType::Counter,
        unit: String::new(),
        help: "Requests served.".into(),
    });
    let outcome = app.state.metrics.write(batch).await.unwrap();
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    now
}

async fn reader_key(app: &TestApp) -> String {
    let mut admin = app.login_as(Role::Admin).await;
    let key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "grafana", "scopes": ["read"] }),
        )
        .await
        .json();
    key.secret
}

fn get(key: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap()
}

fn form_post(key: &str, path: &str, form: &str) -> Request<Body> {
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

fn seconds(ms: i64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

#[tokio::test]
async fn an_instant_query_answers_in_prometheus_shape() {
    let app = TestApp::spawn().await;
    let key = reader_key(&app).await;
    let now = seed(&app).await;
    let path = format!(
        "/prometheus/api/v1/query?query={}&time={}",
        urlencode("sum by (job) (rate(http_requests_total[5m]))"),
        seconds(now)
    );
    let response = app.send(get(&key, &path)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body: Value = response.json();
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["resultType"], "vector");
    let result = &body["data"]["result"][0];
    assert_eq!(result["metric"], json!({ "job": "api" }));
    assert_eq!(result["value"][0].as_f64().unwrap(), now as f64 / 1000.0);
    // 10 + 20 per 15 s = 2 per second; evenly spaced samples need no extrapolation correction.
    let value: f64 = result["value"][1].as_str().unwrap().parse().unwrap();
    assert!((value - 2.0).abs() < 1e-9, "{value}");
}

#[tokio::test]
async fn a_range_query_answers_a_sorted_matrix_and_accepts_a_form_post() {
    let app = TestApp::spawn().await;
    let key = reader_key(&app).await;
    let now = seed(&app).await;
    let form = format!(
        "query={}&start={}&end={}&step=60",
        urlencode("http_requests_total"),
        seconds(now - 300_000),
        seconds(now)
    );
    let response = app
        .send(form_post(&key, "/prometheus/api/v1/query_range", &form))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body: Value = response.json();
    assert_eq!(body["data"]["resultType"], "matrix");
    let series = body["data"]["result"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0]["metric"]["instance"], "a");
    assert_eq!(series[1]["metric"]["instance"], "b");
    let values = series[0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 6, "one point per step from start to end");
    assert_eq!(values[5], json!([now as f64 / 1000.0, "400"]));
    assert_eq!(values[0][1], "200");
}

#[tokio::test]
async fn a_range_selector_in_an_instant_query_answers_a_matrix_of_raw_samples() {
    let app = TestApp::spawn().await;
    let key = reader_key(&app).await;
    let now = seed(&app).await;
    let path = format!(
        "/prometheus/api/v1/query?query={}&time={}",
        urlencode("http_requests_total{instance=\"a\"}[1m]"),
        seconds(now)
    );
    let body: Value = app.send(get(&key, &path)).await.json();
    assert_eq!(body["data"]["resultType"], "matrix");
    // [now - 60 s, now] holds the samples at -60, -45, -30, -15 and 0 s.
    assert_eq!(
        body["data"]["result"][0]["values"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn scalars_and_strings_answer_as_prometheus_does() {
    let app = TestApp::spawn().await;
    let key = reader_key(&app).await;
    let body: Value = app
        .send(get(&key, "/prometheus/api/v1/query?query=1%2B2&time=1000"))
        .await
        .json();
    assert_eq!(
        body["data"],
        json!({ "resultType": "scalar", "result": [1000.0, "3"] })
    );
    let body: Value = app
        .send(get(
            &key,
            "/prometheus/api/v1/query?query=%22hello%22&time=1000",
        ))
        .await
        .json();
    assert_eq!(
        body["data"],
        json!({ "resultType": "string", "result": [1000.0, "hello"] })
    );
    let body: Value = app
        .send(get(&key, "/prometheus/api/v1/query?query=1%2F0&time=1000"))
        .await
        .json();
    assert_eq!(body["data"]["result"][1], "+Inf");
}

#[tokio::test]
async fn bad_queries_and_parameters_get_bad_data_errors_in_prometheus_shape() {
    let app = TestApp::spawn().await;
    let key = reader_key(&app).await;
    for (path, fragment) in [
        (
            "/prometheus/api/v1/query?query=sum(",
            "invalid parameter \"query\"",
        ),
        ("/prometheus/api/v1/query?query=", "empty query"),
        (
            "/prometheus/api/v1/query?query=up&time=yesterday",
            "invalid parameter \"time\"",
        ),
        (
            "/prometheus/api/v1/query_range?query=up&start=10&end=20",
            "invalid parameter \"step\"",
        ),
        (
            "/prometheus/api/v1/query_range?query=up&start=20&end=10&step=1",
            "end timestamp must not be before start",
        ),
        (
            "/prometheus/api/v1/query_range?query=up&start=10&end=20&step=-1",
            "zero or negative",
        ),
        (
            "/prometheus/api/v1/query_range?query=up&start=0&end=100000&step=1",
            "11,000 points",
        ),
        (
            "/prometheus/api/v1/query_range?query=up[5m]&start=0&end=10&step=1",
            "invalid expression type \"range vector\"",
        ),
        (
            "/prometheus/api/v1/query?query=nosuchfunction(up)",
            "invalid parameter \"query\"",
        ),
        ("/prometheus/api/v1/series", "no match[] parameter provided"),
        (
            "/prometheus/api/v1/series?match[]=rate(up[5m])",
            "is not a series selector",
        ),
        (
            "/prometheus/api/v1/label/bad-name/values",
            "invalid label name",
        ),
    ] {
        let response = app.send(get(&key, path)).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            response.text()
        );
        let body: Value = response.json();
        assert_eq!(body["status"], "error", "{path}");
        assert_eq!(body["errorType"], "bad_data", "{path}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(fragment), "{path}: {message}");
    }
}

#[tokio::test]
async fn evaluation_errors_are_execution_errors() {
    let app = TestApp::spawn().await;
    let key = reader_key(&app).await;
    seed(&app).await;
    // Both instances match the one-to-one group on the right: many-to-many.
    let path = format!(
        "/prometheus/api/v1/query?query={}",
        urlencode("http_requests_total + on(job) http_requests_total")
    );
    let response = app.send(get(&key, &path)).await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text()
    );
    let body: Value = response.json();
    assert_eq!(body["errorType"], "execution");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("many-to-many matching not allowed")
    );
}

#[tokio::test]
async fn series_labels_values_and_metadata_describe_what_is_stored() {
    let app = TestApp::spawn().await;
    let key = reader_key(&app).await;
    seed(&app).await;

    let body: Value = app
        .send(get(
            &key,
            "/prometheus/api/v1/series?match[]=http_requests_total%7Binstance%3D%22b%22%7D",
        ))
        .await
        .json();
    assert_eq!(
        body["data"],
        json!([{ "__name__": "http_requests_total", "instance": "b", "job": "api" }])
    );
    let body: Value = app
        .send(get(&key, "/prometheus/api/v1/labels"))
        .await
        .json();
    assert_eq!(body["data"], json!(["__name__", "instance", "job"]));
    let body: Value = app
        .send(get(&key, "/prometheus/api/v1/label/instance/values"))
        .await
        .json();
    assert_eq!(body["data"], json!(["a", "b"]));
    let body: Value = app
        .send(get(
            &key,
            "/prometheus/api/v1/label/__name__/values?match[]=%7Bjob%3D%22api%22%7D",
        ))
        .await
        .json();
    assert_eq!(body["data"], json!(["http_requests_total"]));
    let body: Value = app
        .send(get(&key, "/prometheus/api/v1/metadata"))
        .await
        .json();
    assert_eq!(
        body["data"]["http_requests_total"],
        json!([{ "type": "counter", "help": "Requests served.", "unit": "" }])
    );
    // A time range far in the past matches nothing.
    let body: Value = app
        .send(get(
            &key,
            "/prometheus/api/v1/series?match[]=http_requests_total&start=0&end=100",
        ))
        .await
        .json();
    assert_eq!(body["data"], json!([]));
}

#[tokio::test]
async fn every_logged_in_role_and_read_keys_may_query_but_not_others() {
    let app = TestApp::spawn().await;
    let path = "/prometheus/api/v1/query?query=1";
    let anonymous = app
        .send(Request::get(path).body(Body::empty()).unwrap())
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json();
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "unauthorized");

    for role in [Role::Viewer, Role::Responder, Role::Editor, Role::Admin] {
        let mut client = app.login_as(role).await;
        assert_eq!(client.get(path).await.status, StatusCode::OK, "{role}");
    }
    let mut admin = app.login_as(Role::Admin).await;
    let ingest: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "writer", "scopes": ["ingest"] }),
        )
        .await
        .json();
    let response = app.send(get(&ingest.secret, path)).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let body: Value = response.json();
    assert_eq!(body["errorType"], "forbidden");
}

#[tokio::test]
async fn grafana_finds_a_prometheus_compatible_build_info() {
    let app = TestApp::spawn().await;
    let key = reader_key(&app).await;
    let body: Value = app
        .send(get(&key, "/prometheus/api/v1/status/buildinfo"))
        .await
        .json();
    assert_eq!(body["data"]["version"], "2.42.0");
    let body: Value = app
        .send(form_post(
            &key,
            "/prometheus/api/v1/query_exemplars",
            "query=up&start=0&end=1",
        ))
        .await
        .json();
    assert_eq!(body, json!({ "status": "success", "data": [] }));
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
