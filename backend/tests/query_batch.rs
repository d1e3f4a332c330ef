//! `POST /api/v1/query/batch`: a dashboard's queries in one request answer exactly as the
//! Prometheus API answers them one by one; a failing query fails only its item; identical
//! items are evaluated once; bounds are refused before any work; every role may ask.

mod common;

use axum::http::StatusCode;
use common::{Client, TestApp, test_config};
use serde_json::{Value, json};
use vigil::config::AppConfig;
use vigil::metrics::model::{Labels, Sample, SeriesWrite, WriteBatch};
use vigil::promql::QueryLimits;
use vigil_shared::Role;
use vigil_shared::dashboard::BatchAnswer;

/// Writes 30 minutes of a request counter (two instances) and a latency histogram, a sample
/// every 15 s, and returns the time (whole seconds) of the newest.
async fn seed(app: &TestApp) -> i64 {
    let now = chrono::Utc::now().timestamp() / 60 * 60;
    let times = |per_step: f64| -> Vec<Sample> {
        (0..=120)
            .map(|i| Sample {
                timestamp_ms: (now - (120 - i) * 15) * 1000,
                value: i as f64 * per_step,
            })
            .collect()
    };
    let mut batch = WriteBatch::default();
    for (instance, per_step) in [("a", 10.0), ("b", 20.0)] {
        batch.series.push(SeriesWrite {
            labels: Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("instance", instance),
            ]),
            samples: times(per_step),
        });
    }
    for (le, per_step) in [("0.1", 6.0), ("0.5", 9.0), ("+Inf", 10.0)] {
        batch.series.push(SeriesWrite {
            labels: Labels::from_pairs([
                ("__name__", "http_request_duration_seconds_bucket"),
                ("job", "api"),
                ("le", le),
            ]),
            samples: times(per_step),
        });
    }
    let outcome = app.state.metrics.write(batch).await.unwrap();
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    now
}

fn range(id: &str, expr: &str, start: i64, end: i64, step: i64) -> Value {
    json!({ "id": id, "expr": expr, "start": start, "end": end, "step": step })
}

fn instant(id: &str, expr: &str, time: i64) -> Value {
    json!({ "id": id, "expr": expr, "end": time })
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What the Prometheus API answers for one item, asked on its own: `data`, or the error.
async fn one_by_one(client: &mut Client<'_>, item: &Value) -> Result<Value, String> {
    let expr = encode(item["expr"].as_str().unwrap());
    let path = match item.get("step") {
        Some(step) => format!(
            "/prometheus/api/v1/query_range?query={expr}&start={}&end={}&step={step}",
            item["start"], item["end"]
        ),
        None => format!("/prometheus/api/v1/query?query={expr}&time={}", item["end"]),
    };
    let body: Value = client.get(&path).await.json();
    match body["status"].as_str() {
        Some("success") => Ok(body["data"].clone()),
        _ => Err(body["error"].as_str().unwrap().to_owned()),
    }
}

async fn ask(client: &mut Client<'_>, items: &[Value]) -> BatchAnswer {
    let response = client
        .post("/api/v1/query/batch", &json!({ "queries": items }))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// A counter of Vigil's own `/metrics`.
async fn counter(app: &TestApp, name: &str) -> f64 {
    let text = app.anonymous().get("/metrics").await.text();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}_total ")))
        .unwrap_or_else(|| panic!("{name} is not in /metrics"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn range_and_instant_items_answer_as_the_prometheus_api_does_one_by_one() {
    let app = TestApp::spawn().await;
    let now = seed(&app).await;
    let mut viewer = app.login_as(Role::Viewer).await;
    let start = now - 1800;
    let items = [
        range("rate", "rate(http_requests_total[5m])", start, now, 60),
        range(
            "sum",
            "sum by (job) (rate(http_requests_total[5m]))",
            start,
            now,
            30,
        ),
        range(
            "p90",
            "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
            start,
            now,
            60,
        ),
        instant("stat", "sum(rate(http_requests_total[5m]))", now),
        instant("scalar", "scalar(count(http_requests_total)) * 2", now - 90),
        instant("raw", "http_requests_total{instance=\"a\"}[1m]", now),
        range("none", "absent_metric_here", start, now, 60),
        range("typo", "sum(rate(http_requests_total[5m])", start, now, 60),
        range("matrix", "http_requests_total[5m]", start, now, 60),
    ];
    let answer = ask(&mut viewer, &items).await;
    assert_eq!(answer.results.len(), items.len());
    for (item, result) in items.iter().zip(&answer.results) {
        assert_eq!(
            result.id,
            item["id"].as_str().unwrap(),
            "answers keep the order"
        );
        let alone = one_by_one(&mut viewer, item).await;
        match alone {
            Ok(data) => {
                assert_eq!(result.error, None, "{}", result.id);
                assert_eq!(
                    serde_json::to_value(result.data.as_ref().unwrap()).unwrap(),
                    data,
                    "{}",
                    result.id
                );
            }
            Err(message) => {
                assert_eq!(result.data, None, "{}", result.id);
                assert_eq!(
                    result.error.as_deref(),
                    Some(message.as_str()),
                    "{}",
                    result.id
                );
            }
        }
    }
    // The answers hold data, and the two bad queries failed alone.
    let rate = serde_json::to_value(answer.results[0].data.as_ref().unwrap()).unwrap();
    assert_eq!(rate["resultType"], "matrix");
    assert_eq!(rate["result"].as_array().unwrap().len(), 2);
    // 31 steps; at the first, the window holds only the first sample (no rate yet).
    assert_eq!(rate["result"][0]["values"].as_array().unwrap().len(), 30);
    let failed: Vec<&str> = answer
        .results
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(failed, ["typo", "matrix"]);
    assert!(
        answer.results[7]
            .error
            .as_deref()
            .unwrap()
            .contains("unclosed left parenthesis")
    );
}

#[tokio::test]
async fn a_query_over_the_sample_limit_fails_alone() {
    let app = TestApp::spawn_with(AppConfig {
        query: QueryLimits {
            max_samples: 100,
            ..QueryLimits::default()
        },
        ..test_config()
    })
    .await;
    let now = seed(&app).await;
    let mut viewer = app.login_as(Role::Viewer).await;
    let answer = ask(
        &mut viewer,
        &[
            range("big", "rate(http_requests_total[30m])", now - 1800, now, 60),
            instant("small", "1 + 1", now),
        ],
    )
    .await;
    let error = answer.results[0].error.as_deref().unwrap();
    assert!(error.contains("--query-max-samples"), "{error}");
    let small = serde_json::to_value(answer.results[1].data.as_ref().unwrap()).unwrap();
    assert_eq!(small["result"][1], "2");
}

#[tokio::test]
async fn identical_items_are_evaluated_once_and_answered_alike() {
    let app = TestApp::spawn().await;
    let now = seed(&app).await;
    let mut viewer = app.login_as(Role::Viewer).await;
    let expr = "sum by (instance) (rate(http_requests_total[5m]))";
    let answer = ask(
        &mut viewer,
        &[
            range("cpu/A", expr, now - 1800, now, 60),
            range("cpu-copy/A", expr, now - 1800, now, 60),
            range("other-step", expr, now - 1800, now, 30),
            // An instant query is at `end`: its start does not tell it apart.
            instant("stat", expr, now),
            json!({ "id": "stat-2", "expr": expr, "start": now - 60, "end": now }),
        ],
    )
    .await;
    let ids: Vec<&str> = answer.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["cpu/A", "cpu-copy/A", "other-step", "stat", "stat-2"]);
    assert!(answer.results[0].data.is_some());
    assert_eq!(answer.results[0].data, answer.results[1].data);
    assert_ne!(answer.results[0].data, answer.results[2].data);
    assert_eq!(answer.results[3].data, answer.results[4].data);
    assert_eq!(counter(&app, "vigil_query_batch_items").await, 5.0);
    assert_eq!(counter(&app, "vigil_query_batch_evaluations").await, 3.0);
}

#[tokio::test]
async fn bounds_are_refused_before_any_query_runs() {
    let app = TestApp::spawn().await;
    let now = seed(&app).await;
    let mut viewer = app.login_as(Role::Viewer).await;
    let refused = |field: &'static str, items: Vec<Value>| (field, items);
    let cases = [
        refused("queries", vec![instant("q", "up", now); 201]),
        refused(
            "queries[1].expr",
            vec![
                instant("ok", "up", now),
                instant("q", &"x".repeat(10_241), now),
            ],
        ),
        refused("queries[0].step", vec![range("q", "up", now - 60, now, 0)]),
        refused("queries[0].end", vec![range("q", "up", now, now - 60, 15)]),
        refused(
            "queries[0].step",
            vec![range("q", "up", now - 86_400 * 30, now, 1)],
        ),
        refused(
            "queries[0].start",
            vec![json!({ "id": "q", "expr": "up", "end": now, "step": 60 })],
        ),
        refused("queries[0].end", vec![instant("q", "up", 1e12 as i64)]),
        refused("queries[0].id", vec![instant(&"i".repeat(201), "up", now)]),
    ];
    for (field, items) in cases {
        let response = viewer
            .post("/api/v1/query/batch", &json!({ "queries": items }))
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            response.text()
        );
        let error = response.error();
        assert!(
            error.error.fields.contains_key(field),
            "{field}: {:?}",
            error.error.fields
        );
    }
    // A malformed body is refused as such.
    let response = viewer
        .post(
            "/api/v1/query/batch",
            &json!({ "queries": [{ "id": "q", "expr": "up" }] }),
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.text()
    );
    assert!(response.text().contains("end"), "{}", response.text());
    // 200 items are accepted; none of the refused batches ran anything.
    let answer = ask(&mut viewer, &vec![instant("q", "1", now); 200]).await;
    assert_eq!(answer.results.len(), 200);
    assert_eq!(counter(&app, "vigil_query_batch_evaluations").await, 1.0);
}

#[tokio::test]
async fn every_role_and_read_keys_may_ask_and_nobody_else() {
    let app = TestApp::spawn().await;
    let now = seed(&app).await;
    let items = json!({ "queries": [instant("q", "count(http_requests_total)", now)] });
    for role in [Role::Viewer, Role::Responder, Role::Editor, Role::Admin] {
        let mut client = app.login_as(role).await;
        let response = client.post("/api/v1/query/batch", &items).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{role}: {}",
            response.text()
        );
    }
    let response = app.anonymous().post("/api/v1/query/batch", &items).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);

    let read = app.api_key(&["read"]).await;
    let ingest = app.api_key(&["ingest"]).await;
    let response = app
        .with_api_key(&read)
        .post("/api/v1/query/batch", &items)
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let answer: BatchAnswer = response.json();
    let data = serde_json::to_value(answer.results[0].data.as_ref().unwrap()).unwrap();
    assert_eq!(data["result"][0]["value"][1], "2");
    let response = app
        .with_api_key(&ingest)
        .post("/api/v1/query/batch", &items)
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}
