//! Vigil next to a real OTLP client: the OpenTelemetry Python SDK with its OTLP/HTTP exporter
//! (protobuf, gzip) exports a counter, an up-down counter, an observable gauge and a histogram
//! to the real `vigil` binary with an API key; the series must then answer through PromQL with
//! the names, labels and values Prometheus' OTLP receiver would give them.
//!
//! Needs the Python interpreter of a venv holding `opentelemetry-sdk` and
//! `opentelemetry-exporter-otlp-proto-http`, named by VIGIL_OTEL_PYTHON (scripts/test.sh
//! installs them with `ensure_otel_sdk`). Without it the test says so and passes, unless
//! VIGIL_REQUIRE_PEERS=1.

mod common;

use std::path::Path;
use std::process::Command;

use common::process::{Server, VIGIL, create_api_key, request, wait_for_banner};
use serde_json::Value;

fn otel_python() -> Option<String> {
    let python = std::env::var("VIGIL_OTEL_PYTHON")
        .ok()
        .filter(|p| Path::new(p).exists());
    if python.is_none() {
        assert!(
            std::env::var("VIGIL_REQUIRE_PEERS").as_deref() != Ok("1"),
            "the OpenTelemetry Python SDK is required (VIGIL_REQUIRE_PEERS=1) but \
             VIGIL_OTEL_PYTHON does not name an interpreter"
        );
        eprintln!(
            "SKIPPED: VIGIL_OTEL_PYTHON is not set (scripts/test.sh installs the SDK with \
             ensure_otel_sdk from scripts/lib.sh)"
        );
    }
    python
}

/// An instant query: each series as (labels, value).
async fn query(address: &str, key: &str, expr: &str) -> Vec<(Value, f64)> {
    let path = format!(
        "/prometheus/api/v1/query?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("query", expr)
            .finish()
    );
    let auth = format!("Bearer {key}");
    let response = request(address, "GET", &path, &[("Authorization", &auth)], None).await;
    assert_eq!(response.status, 200, "{expr}: {}", response.body);
    let body: Value = serde_json::from_str(&response.body).unwrap();
    body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"].clone(),
                s["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

async fn single(address: &str, key: &str, expr: &str) -> (Value, f64) {
    let mut result = query(address, key, expr).await;
    assert_eq!(result.len(), 1, "{expr}: {result:?}");
    result.remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_opentelemetry_python_sdk_exports_metrics_that_promql_can_read() {
    let Some(python) = otel_python() else {
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("otlp-peer-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut vigil = Server::spawn(
        Command::new(VIGIL)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--demo",
                "--web-dir",
                "/nonexistent",
            ])
            .env_remove("DATABASE_URL")
            .env("VIGIL_DATA_DIR", dir.join("vigil"))
            .env("VIGIL_DEMO_PASSWORD", "peer test password")
            .env("VIGIL_LOG_FORMAT", "json"),
    );
    let address = tokio::task::block_in_place(|| wait_for_banner(&mut vigil.0));
    let key = create_api_key(
        &address,
        "admin@vigil.local",
        "peer test password",
        r#"["ingest","read"]"#,
    )
    .await;

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/otlp_export.py");
    let output = tokio::task::block_in_place(|| {
        Command::new(&python)
            .arg(&script)
            .arg(format!("http://{address}"))
            .arg(&key)
            .output()
            .unwrap()
    });
    assert!(
        output.status.success(),
        "the SDK's exports failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // Counter: `_total`, attributes as labels, resource as job/instance/service_name.
    let (labels, card) = single(
        &address,
        &key,
        r#"orders_placed_total{payment_method="card"}"#,
    )
    .await;
    assert_eq!(card, 5.0);
    assert_eq!(labels["job"], "peer-shop");
    assert_eq!(labels["instance"], "peer-1");
    assert_eq!(labels["service_name"], "peer-shop");
    let (_, cash) = single(
        &address,
        &key,
        r#"orders_placed_total{payment_method="cash"}"#,
    )
    .await;
    assert_eq!(cash, 1.0);

    // Up-down counter: a non-monotonic sum, so a gauge without `_total`.
    assert_eq!(single(&address, &key, "queue_size").await.1, 3.0);

    // Observable gauge with a unit suffix.
    let (labels, temperature) =
        single(&address, &key, r#"room_temperature_celsius{room="lab"}"#).await;
    assert_eq!(temperature, 21.5);
    assert_eq!(labels["job"], "peer-shop");

    // Histogram with the SDK's default bounds (0, 5, 10, 25, …).
    let count = single(&address, &key, "checkout_duration_seconds_count").await;
    assert_eq!(count.1, 5.0);
    assert_eq!(count.0["http_route"], "/pay");
    let sum = single(&address, &key, "checkout_duration_seconds_sum")
        .await
        .1;
    assert!((sum - 9.324).abs() < 1e-9, "{sum}");
    for (le, expected) in [("0", 0.0), ("5", 4.0), ("10", 5.0), ("+Inf", 5.0)] {
        let expr = format!(r#"checkout_duration_seconds_bucket{{le="{le}"}}"#);
        assert_eq!(single(&address, &key, &expr).await.1, expected, "{expr}");
    }

    // Other resource attributes live on target_info.
    let (info, _) = single(&address, &key, r#"target_info{job="peer-shop"}"#).await;
    assert_eq!(info["deployment_environment"], "test");
    assert_eq!(info["telemetry_sdk_language"], "python");

    assert!(vigil.stop_with(nix::sys::signal::Signal::SIGTERM));
}
