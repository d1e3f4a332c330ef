//! OTLP/HTTP metrics into the real store: payloads encoded the way OTel SDKs and the collector
//! encode them (protobuf through prost, JSON with string int64s, gzip), and bad ones.

mod common;

use std::io::Write as _;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestApp;
use prost::Message;
use serde_json::{Value, json};
use vigil::config::AppConfig;
use vigil::ingest::otlp::{
    ExponentialHistogram, ExponentialHistogramDataPoint, ExportMetricsServiceRequest,
    ExportMetricsServiceResponse, FLAG_NO_RECORDED_VALUE, Gauge, Histogram, HistogramDataPoint,
    InstrumentationScope, KeyValue, Metric, MetricData, NumberDataPoint, NumberValue, Resource,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, TEMPORALITY_CUMULATIVE,
    TEMPORALITY_DELTA, ValueAtQuantile,
};
use vigil::metrics::model::is_stale_nan;
use vigil_shared::Role;
use vigil_shared::admin::CreatedApiKey;

fn now_ns() -> u64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64
}

fn attributes(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs.iter().map(|(k, v)| KeyValue::string(k, v)).collect()
}

fn number(time: u64, labels: &[(&str, &str)], value: NumberValue) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes(labels),
        start_time_unix_nano: time - 60_000_000_000,
        time_unix_nano: time,
        value: Some(value),
        flags: 0,
    }
}

fn metric(name: &str, unit: &str, description: &str, data: MetricData) -> Metric {
    Metric {
        name: name.into(),
        description: description.into(),
        unit: unit.into(),
        data: Some(data),
    }
}

/// A request as the OTel SDKs build it: one resource, one scope.
fn request(resource: &[(&str, &str)], metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: attributes(resource),
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "shop.checkout".into(),
                    version: "1.0.0".into(),
                }),
                metrics,
            }],
        }],
    }
}

fn post(key: &str, content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::post("/v1/metrics")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

fn protobuf(key: &str, request: &ExportMetricsServiceRequest) -> Request<Body> {
    post(key, "application/x-protobuf", request.encode_to_vec())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn key(app: &TestApp) -> String {
    let mut admin = app.login_as(Role::Admin).await;
    let key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "otel collector", "scopes": ["ingest", "read"] }),
        )
        .await
        .json();
    key.secret
}

/// An instant query through the Prometheus API: (labels, value) per series, sorted.
async fn query(app: &TestApp, key: &str, expr: &str, time_ns: u64) -> Vec<(Value, String)> {
    let path = format!(
        "/prometheus/api/v1/query?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("query", expr)
            .append_pair("time", &format!("{:.3}", time_ns as f64 / 1e9 + 1.0))
            .finish()
    );
    let response = app.with_api_key(key).get(&path).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{expr}: {}",
        response.text()
    );
    let body: Value = response.json();
    let mut result: Vec<(Value, String)> = body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"].clone(),
                s["value"][1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    result.sort_by_key(|(labels, _)| labels.to_string());
    result
}

async fn value(app: &TestApp, key: &str, expr: &str, time_ns: u64) -> String {
    let result = query(app, key, expr, time_ns).await;
    assert_eq!(result.len(), 1, "{expr}: {result:?}");
    result[0].1.clone()
}

fn resource() -> Vec<(&'static str, &'static str)> {
    vec![
        ("service.name", "checkout"),
        ("service.namespace", "shop"),
        ("service.instance.id", "pod-7"),
        ("host.name", "node-1"),
        ("telemetry.sdk.language", "python"),
    ]
}

#[tokio::test]
async fn every_metric_kind_lands_as_prometheus_series_with_resource_labels() {
    let app = TestApp::spawn().await;
    let key = key(&app).await;
    let t = now_ns() - 30_000_000_000;
    let export = request(
        &resource(),
        vec![
            metric(
                "http.server.requests",
                "{request}",
                "Requests served.",
                MetricData::Sum(Sum {
                    data_points: vec![
                        number(t, &[("http.method", "GET")], NumberValue::AsInt(42)),
                        number(t, &[("http.method", "POST")], NumberValue::AsInt(7)),
                    ],
                    aggregation_temporality: TEMPORALITY_CUMULATIVE,
                    is_monotonic: true,
                }),
            ),
            metric(
                "queue.depth",
                "",
                "Jobs waiting.",
                MetricData::Sum(Sum {
                    data_points: vec![number(t, &[], NumberValue::AsInt(-3))],
                    aggregation_temporality: TEMPORALITY_CUMULATIVE,
                    is_monotonic: false,
                }),
            ),
            metric(
                "process.memory.usage",
                "By",
                "Resident memory.",
                MetricData::Gauge(Gauge {
                    data_points: vec![number(t, &[], NumberValue::AsDouble(1.5e6))],
                }),
            ),
            metric(
                "http.server.duration",
                "s",
                "Request latency.",
                MetricData::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes: attributes(&[("http.route", "/pay")]),
                        start_time_unix_nano: t - 60_000_000_000,
                        time_unix_nano: t,
                        count: 10,
                        sum: Some(2.5),
                        bucket_counts: vec![3, 5, 2],
                        explicit_bounds: vec![0.1, 0.5],
                        flags: 0,
                    }],
                    aggregation_temporality: TEMPORALITY_CUMULATIVE,
                }),
            ),
            metric(
                "rpc.latency",
                "ms",
                "",
                MetricData::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        attributes: vec![],
                        start_time_unix_nano: t - 60_000_000_000,
                        time_unix_nano: t,
                        count: 4,
                        sum: 100.0,
                        quantile_values: vec![
                            ValueAtQuantile {
                                quantile: 0.5,
                                value: 20.0,
                            },
                            ValueAtQuantile {
                                quantile: 0.99,
                                value: 45.0,
                            },
                        ],
                        flags: 0,
                    }],
                }),
            ),
        ],
    );
    let response = app.send(protobuf(&key, &export)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/x-protobuf")
    );
    let answer = ExportMetricsServiceResponse::decode(response.body.as_ref()).unwrap();
    assert_eq!(answer.partial_success, None, "nothing was refused");

    let requests = query(&app, &key, "http_server_requests_total", t).await;
    assert_eq!(
        requests,
        vec![
            (
                json!({"__name__": "http_server_requests_total", "http_method": "GET",
                       "instance": "pod-7", "job": "shop/checkout", "service_name": "checkout"}),
                "42".to_owned()
            ),
            (
                json!({"__name__": "http_server_requests_total", "http_method": "POST",
                       "instance": "pod-7", "job": "shop/checkout", "service_name": "checkout"}),
                "7".to_owned()
            ),
        ]
    );
    assert_eq!(value(&app, &key, "queue_depth", t).await, "-3");
    assert_eq!(
        value(&app, &key, "process_memory_usage_bytes", t).await,
        "1500000"
    );

    let buckets = query(&app, &key, "http_server_duration_seconds_bucket", t).await;
    let by_le: Vec<(&str, &str)> = buckets
        .iter()
        .map(|(labels, v)| (labels["le"].as_str().unwrap(), v.as_str()))
        .collect();
    assert_eq!(by_le, vec![("+Inf", "10"), ("0.1", "3"), ("0.5", "8")]);
    assert_eq!(buckets[0].0["http_route"], "/pay");
    assert_eq!(
        value(&app, &key, "http_server_duration_seconds_sum", t).await,
        "2.5"
    );
    assert_eq!(
        value(&app, &key, "http_server_duration_seconds_count", t).await,
        "10"
    );
    let median: f64 = value(
        &app,
        &key,
        "histogram_quantile(0.5, http_server_duration_seconds_bucket)",
        t,
    )
    .await
    .parse()
    .unwrap();
    assert!((median - 0.26).abs() < 1e-9, "{median}");

    assert_eq!(
        value(
            &app,
            &key,
            r#"rpc_latency_milliseconds{quantile="0.99"}"#,
            t
        )
        .await,
        "45"
    );
    assert_eq!(
        value(&app, &key, "rpc_latency_milliseconds_count", t).await,
        "4"
    );

    // Other resource attributes go to target_info, as Prometheus does.
    let info = query(&app, &key, "target_info", t).await;
    assert_eq!(
        info,
        vec![(
            json!({"__name__": "target_info", "host_name": "node-1", "instance": "pod-7",
                   "job": "shop/checkout", "service_name": "checkout",
                   "telemetry_sdk_language": "python"}),
            "1".to_owned()
        )]
    );

    let metadata: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT metric, type, unit, help FROM metric_metadata ORDER BY metric")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let expected = [
        (
            "http_server_duration_seconds",
            "histogram",
            "seconds",
            "Request latency.",
        ),
        (
            "http_server_requests_total",
            "counter",
            "",
            "Requests served.",
        ),
        (
            "process_memory_usage_bytes",
            "gauge",
            "bytes",
            "Resident memory.",
        ),
        ("queue_depth", "gauge", "", "Jobs waiting."),
        ("rpc_latency_milliseconds", "summary", "milliseconds", ""),
    ];
    for (metric, kind, unit, help) in expected {
        assert!(
            metadata
                .iter()
                .any(|m| (m.0.as_str(), m.1.as_str(), m.2.as_str(), m.3.as_str())
                    == (metric, kind, unit, help)),
            "{metric} metadata missing from {metadata:?}"
        );
    }
}

/// OTLP JSON as the collector's and the JS SDK's exporters write it: camelCase, int64 as
/// strings, enums as numbers or names, ids in hex (exemplars, which Vigil ignores).
fn collector_json(t: u64) -> Value {
    json!({
        "resourceMetrics": [{
            "resource": {
                "attributes": [
                    {"key": "service.name", "value": {"stringValue": "frontend"}},
                    {"key": "process.pid", "value": {"intValue": "4242"}}
                ]
            },
            "scopeMetrics": [{
                "scope": {"name": "@opentelemetry/instrumentation-http", "version": "0.52.0"},
                "metrics": [
                    {
                        "name": "page.views",
                        "unit": "1",
                        "sum": {
                            "dataPoints": [{
                                "attributes": [
                                    {"key": "page", "value": {"stringValue": "/home"}},
                                    {"key": "cached", "value": {"boolValue": true}}
                                ],
                                "startTimeUnixNano": (t - 60_000_000_000).to_string(),
                                "timeUnixNano": t.to_string(),
                                "asInt": "9007199254740993",
                                "exemplars": [{
                                    "timeUnixNano": t.to_string(),
                                    "asInt": "1",
                                    "traceId": "5b8efff798038103d269b633813fc60c",
                                    "spanId": "eee19b7ec3c1b174"
                                }]
                            }],
                            "aggregationTemporality": 2,
                            "isMonotonic": true
                        }
                    },
                    {
                        "name": "cpu.utilization",
                        "unit": "1",
                        "gauge": {"dataPoints": [{"timeUnixNano": t.to_string(), "asDouble": 0.25}]}
                    },
                    {
                        "name": "fetch.duration",
                        "unit": "ms",
                        "histogram": {
                            "dataPoints": [{
                                "timeUnixNano": t.to_string(),
                                "count": "3",
                                "sum": 30.0,
                                "bucketCounts": ["1", "2", "0"],
                                "explicitBounds": [5, 50]
                            }],
                            "aggregationTemporality": "AGGREGATION_TEMPORALITY_CUMULATIVE"
                        }
                    }
                ]
            }]
        }]
    })
}

#[tokio::test]
async fn collector_json_is_read_with_string_int64s_and_gzip_and_answered_in_json() {
    let app = TestApp::spawn().await;
    let key = key(&app).await;
    let t = now_ns() - 10_000_000_000;
    let body = collector_json(t).to_string().into_bytes();
    let mut request = post(&key, "application/json", gzip(&body));
    request
        .headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.json::<Value>(), json!({}));

    let views = query(&app, &key, "page_views_total", t).await;
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(
        views[0].0,
        json!({"__name__": "page_views_total", "cached": "true", "job": "frontend",
               "page": "/home", "service_name": "frontend"})
    );
    // A string int64 beyond 2^53 is read exactly, then stored as the nearest f64.
    assert_eq!(
        views[0].1.parse::<f64>().unwrap(),
        9007199254740993_i64 as f64
    );
    assert_eq!(value(&app, &key, "cpu_utilization_ratio", t).await, "0.25");
    assert_eq!(
        value(
            &app,
            &key,
            r#"fetch_duration_milliseconds_bucket{le="50"}"#,
            t
        )
        .await,
        "3"
    );
    let info = query(&app, &key, "target_info", t).await;
    assert_eq!(info[0].0["process_pid"], "4242");

    // Uncompressed JSON works too.
    let t2 = t + 1_000_000_000;
    let response = app
        .send(post(
            &key,
            "application/json; charset=utf-8",
            collector_json(t2).to_string().into_bytes(),
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(value(&app, &key, "cpu_utilization_ratio", t2).await, "0.25");
}

#[tokio::test]
async fn refused_points_are_counted_in_partial_success_and_the_rest_stored() {
    let app = TestApp::spawn().await;
    let key = key(&app).await;
    let t = now_ns() - 5_000_000_000;
    let long_value = "x".repeat(3000);
    let export = request(
        &[("service.name", "billing")],
        vec![
            metric(
                "ok.gauge",
                "",
                "",
                MetricData::Gauge(Gauge {
                    data_points: vec![
                        number(t, &[], NumberValue::AsDouble(1.0)),
                        // Too old for the store (an hour is the default).
                        number(t - 7_200_000_000_000, &[], NumberValue::AsDouble(2.0)),
                        // A label value over the length limit.
                        number(t, &[("big", &long_value)], NumberValue::AsDouble(3.0)),
                    ],
                }),
            ),
            metric(
                "delta.requests",
                "",
                "",
                MetricData::Sum(Sum {
                    data_points: vec![
                        number(t, &[], NumberValue::AsInt(1)),
                        number(t, &[("a", "b")], NumberValue::AsInt(2)),
                    ],
                    aggregation_temporality: TEMPORALITY_DELTA,
                    is_monotonic: true,
                }),
            ),
            metric(
                "exp.latency",
                "s",
                "",
                MetricData::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![ExponentialHistogramDataPoint {
                        time_unix_nano: t,
                        count: 1,
                    }],
                    aggregation_temporality: TEMPORALITY_CUMULATIVE,
                }),
            ),
        ],
    );
    let response = app.send(protobuf(&key, &export)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let partial = ExportMetricsServiceResponse::decode(response.body.as_ref())
        .unwrap()
        .partial_success
        .expect("partial_success");
    assert_eq!(partial.rejected_data_points, 5, "{}", partial.error_message);
    for reason in ["delta temporality", "exponential histograms", "old", "big"] {
        assert!(
            partial.error_message.contains(reason),
            "{reason} missing from {}",
            partial.error_message
        );
    }
    assert_eq!(value(&app, &key, "ok_gauge", t).await, "1");
    assert!(
        query(&app, &key, "delta_requests_total", t)
            .await
            .is_empty()
    );

    // The same in JSON: the count is an int64, so a string.
    let mut json_export = collector_json(t);
    json_export["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]["aggregationTemporality"] =
        json!("AGGREGATION_TEMPORALITY_DELTA");
    let response = app
        .send(post(
            &key,
            "application/json",
            json_export.to_string().into_bytes(),
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body: Value = response.json();
    assert_eq!(body["partialSuccess"]["rejectedDataPoints"], "1");
    assert!(
        body["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("page.views: delta temporality")
    );
}

#[tokio::test]
async fn a_point_without_a_recorded_value_becomes_a_staleness_marker() {
    let app = TestApp::spawn().await;
    let key = key(&app).await;
    let t = now_ns() - 20_000_000_000;
    let mut ended = number(t + 5_000_000_000, &[], NumberValue::AsDouble(0.0));
    ended.flags = FLAG_NO_RECORDED_VALUE;
    ended.value = None;
    let export = request(
        &[("service.name", "worker")],
        vec![metric(
            "jobs.running",
            "",
            "",
            MetricData::Gauge(Gauge {
                data_points: vec![number(t, &[], NumberValue::AsInt(3)), ended],
            }),
        )],
    );
    let response = app.send(protobuf(&key, &export)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(value(&app, &key, "jobs_running", t).await, "3");
    assert!(
        query(&app, &key, "jobs_running", t + 6_000_000_000)
            .await
            .is_empty(),
        "the series ended at the marker"
    );
    let values: Vec<f64> = sqlx::query_scalar("SELECT value FROM metric_samples ORDER BY ts")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(values.len(), 2);
    assert!(is_stale_nan(values[1]));
}

#[tokio::test]
async fn unreadable_bodies_get_a_4xx_naming_the_problem() {
    let mut config = AppConfig::default();
    config.ingest.max_decompressed_bytes = 1024 * 1024;
    let app = TestApp::spawn_with(config).await;
    let key = key(&app).await;
    let export = request(
        &[("service.name", "x")],
        vec![metric(
            "up",
            "",
            "",
            MetricData::Gauge(Gauge {
                data_points: vec![number(now_ns(), &[], NumberValue::AsInt(1))],
            }),
        )],
    );
    let raw = export.encode_to_vec();

    let truncated = app
        .send(post(
            &key,
            "application/x-protobuf",
            raw[..raw.len() - 3].to_vec(),
        ))
        .await;
    assert_eq!(truncated.status, StatusCode::BAD_REQUEST);
    let error = truncated.error().error;
    assert_eq!(error.code, "malformed_payload");
    assert!(error.message.contains("protobuf"), "{}", error.message);

    let bad_json = app
        .send(post(
            &key,
            "application/json",
            b"{\"resourceMetrics\": [".to_vec(),
        ))
        .await;
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);
    assert!(bad_json.error().error.message.contains("JSON"));

    let wrong_shape = app
        .send(post(
            &key,
            "application/json",
            br#"{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "up", "gauge": {"dataPoints": [{"timeUnixNano": "soon"}]}}]}]}]}"#.to_vec(),
        ))
        .await;
    assert_eq!(wrong_shape.status, StatusCode::BAD_REQUEST);
    let message = wrong_shape.error().error.message;
    assert!(
        message.contains(
            "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].timeUnixNano"
        ),
        "{message}"
    );

    let wrong_type = app.send(post(&key, "text/plain", raw.clone())).await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(wrong_type.error().error.message.contains("text/plain"));

    let mut wrong_encoding = protobuf(&key, &export);
    wrong_encoding
        .headers_mut()
        .insert(header::CONTENT_ENCODING, "br".parse().unwrap());
    assert_eq!(
        app.send(wrong_encoding).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    let mut not_gzip = protobuf(&key, &export);
    not_gzip
        .headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let response = app.send(not_gzip).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.error().error.message.contains("gzip"));

    let huge = app
        .send(post(
            &key,
            "application/x-protobuf",
            vec![0u8; 17 * 1024 * 1024],
        ))
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.error().error.code, "payload_too_large");

    // 4 MiB of zeros gzip to a few KiB: small on the wire, over the 1 MiB decompressed limit.
    let bomb = gzip(&vec![0u8; 4 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024);
    let mut request = post(&key, "application/x-protobuf", bomb);
    request
        .headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.error().error.message.contains("decompresses"));

    // Nothing above stored anything.
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM metric_samples")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn only_ingest_keys_and_editors_may_export() {
    let app = TestApp::spawn().await;
    let body = request(
        &[("service.name", "x")],
        vec![metric(
            "up",
            "",
            "",
            MetricData::Gauge(Gauge {
                data_points: vec![number(now_ns(), &[], NumberValue::AsInt(1))],
            }),
        )],
    )
    .encode_to_vec();
    let anonymous = app
        .send(
            Request::post("/v1/metrics")
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
        app.send(post(
            &read_key.secret,
            "application/x-protobuf",
            body.clone()
        ))
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    for (role, expected) in [
        (Role::Viewer, StatusCode::FORBIDDEN),
        (Role::Editor, StatusCode::OK),
    ] {
        let client = app.login_as(role).await;
        let request = Request::post("/v1/metrics")
            .header(header::COOKIE, client.cookie_header().unwrap())
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body.clone()))
            .unwrap();
        assert_eq!(app.send(request).await.status, expected, "{role}");
    }
}
