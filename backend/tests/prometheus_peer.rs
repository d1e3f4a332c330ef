//! Vigil next to a real Prometheus (Debian's 2.42): Prometheus scrapes Vigil's /metrics and
//! remote-writes everything to Vigil; then `promtool query range` asks both servers the same
//! questions over the same data, and the answers must agree. Prometheus also sends the alerts
//! of its rules to Vigil as to an Alertmanager.
//!
//! Needs `prometheus` and `promtool` on PATH. Without them the test says so and passes,
//! unless VIGIL_REQUIRE_PEERS=1 (set by scripts/test.sh, which installs them).

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::{Arc, Mutex};

use common::process::{Server, VIGIL, create_api_key, login_cookie, request, wait_for_banner};
use serde_json::{Value, json};

fn peers_available() -> bool {
    let found = ["prometheus", "promtool"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !found {
        assert!(
            std::env::var("VIGIL_REQUIRE_PEERS").as_deref() != Ok("1"),
            "prometheus/promtool are required (VIGIL_REQUIRE_PEERS=1) but not installed"
        );
        eprintln!(
            "SKIPPED: prometheus and promtool are not installed (apt-get install prometheus)"
        );
    }
    found
}

/// A webhook receiver on 127.0.0.1 keeping the bodies it gets; answers its URL.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let kept = kept.clone();
            async move { kept.lock().unwrap().push(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/hook"), received)
}

/// Makes Vigil's default notification policy send to `url` (a new webhook channel) after a
/// one-second group wait.
async fn notify_webhook(vigil: &str, cookie: &str, url: &str) {
    let auth = [("Cookie", cookie)];
    let body = json!({ "name": "peer hook", "kind": "webhook", "url": url }).to_string();
    let created = request(
        vigil,
        "POST",
        "/api/v1/notification-channels",
        &auth,
        Some(&body),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let channel: Value = serde_json::from_str(&created.body).unwrap();
    let listed = request(vigil, "GET", "/api/v1/notification-policies", &auth, None).await;
    let listed: Value = serde_json::from_str(&listed.body).unwrap();
    let mut default = listed["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["is_default"] == true)
        .unwrap()
        .clone();
    default["channel_ids"] = json!([channel["id"]]);
    default["group_wait"] = json!("1s");
    let path = format!("/api/v1/notification-policies/{}", default["id"]);
    let updated = request(vigil, "PUT", &path, &auth, Some(&default.to_string())).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn promtool_range(server: &str, key: Option<&str>, expr: &str, start: f64, end: f64) -> Value {
    let mut command = Command::new("promtool");
    command.args(["query", "range", "-o", "json"]);
    if let Some(key) = key {
        command.arg(format!("--header=Authorization=Bearer {key}"));
    }
    let output = command
        .arg(format!("--start={start}"))
        .arg(format!("--end={end}"))
        .arg("--step=1s")
        .arg(server)
        .arg(expr)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "promtool against {server} failed for {expr}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// Series as (labels, [(time, value)]) sorted, for comparison.
fn normalise(result: &Value) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = result
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|s| {
            let labels = s["metric"].to_string();
            let values = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_f64().unwrap(),
                        p[1].as_str().unwrap().parse::<f64>().unwrap_or(f64::NAN),
                    )
                })
                .collect();
            (labels, values)
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    series
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_prometheus_remote_writes_to_vigil_and_promtool_gets_the_same_answers_from_both() {
    if !peers_available() {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("peer-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut vigil = Server::spawn(
        Command::new(VIGIL)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                // Prometheus scrapes Vigil as job "vigil" here; Vigil's own scrape would
                // write the same series twice.
                "--no-self-scrape",
                "--web-dir",
                "/nonexistent",
            ])
            .env_remove("DATABASE_URL")
            .env("VIGIL_DATA_DIR", dir.join("vigil"))
            .env("VIGIL_ADMIN_PASSWORD", "peer test password")
            // The test's webhook receiver listens on loopback, refused by default.
            .env("VIGIL_OUTBOUND_ALLOW", "127.0.0.0/8")
            .env("VIGIL_LOG_FORMAT", "json"),
    );
    let vigil_address = tokio::task::block_in_place(|| wait_for_banner(&mut vigil.0));
    let key = create_api_key(
        &vigil_address,
        "admin@vigil.local",
        "peer test password",
        r#"["ingest","read"]"#,
    )
    .await;

    let (hook_url, hook) = webhook_receiver().await;
    let cookie = login_cookie(&vigil_address, "admin@vigil.local", "peer test password").await;
    notify_webhook(&vigil_address, &cookie, &hook_url).await;

    let prometheus_port = free_port();
    std::fs::write(
        dir.join("rules.yml"),
        "groups:\n  - name: peer\n    rules:\n      - alert: VigilIsUp\n        expr: up{job=\"vigil\"} == 1\n        labels:\n          severity: warning\n        annotations:\n          summary: Vigil answers scrapes\n",
    )
    .unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files: ['{rules}']\n\
         alerting:\n  alertmanagers:\n    - path_prefix: /alertmanager\n      authorization:\n        credentials: {key}\n      static_configs:\n        - targets: ['{vigil_address}']\n\
         scrape_configs:\n  - job_name: vigil\n    static_configs:\n      - targets: ['{vigil_address}']\n\
         remote_write:\n  - url: http://{vigil_address}/prometheus/api/v1/write\n    authorization:\n      credentials: {key}\n    queue_config:\n      batch_send_deadline: 1s\n      max_samples_per_send: 500\n",
        rules = dir.join("rules.yml").display()
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let mut prometheus = Server(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // Wait until Prometheus has scraped for a while and Vigil has received it all.
    let started = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let deadline = Instant::now() + Duration::from_secs(90);
    let end = started + 12.0;
    loop {
        assert!(
            Instant::now() < deadline,
            "Vigil never received Prometheus' samples up to {end}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        if now < end + 3.0 {
            continue;
        }
        let path = format!(
            "/prometheus/api/v1/query?query=timestamp(up%7Bjob%3D%22vigil%22%7D)&time={now}"
        );
        let auth = format!("Bearer {key}");
        let response = request(
            &vigil_address,
            "GET",
            &path,
            &[("Authorization", &auth)],
            None,
        )
        .await;
        if response.status != 200 {
            continue;
        }
        let value: Value = serde_json::from_str(&response.body).unwrap();
        let latest = value["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if latest >= end {
            break;
        }
    }

    let prometheus_url = format!("http://127.0.0.1:{prometheus_port}");
    let vigil_url = format!("http://{vigil_address}/prometheus");
    let start = started + 2.0;
    let mut compared = 0;
    for expr in [
        "up",
        "scrape_samples_scraped",
        "sum by (job) (rate(vigil_http_requests_total[5s]))",
        "max_over_time(scrape_duration_seconds[4s])",
        "vigil_http_requests_total > 0",
        "count by (route) (vigil_http_requests_total)",
    ] {
        let theirs = normalise(&promtool_range(&prometheus_url, None, expr, start, end));
        let ours = normalise(&promtool_range(&vigil_url, Some(&key), expr, start, end));
        assert!(!theirs.is_empty(), "Prometheus has no answer for {expr}");
        assert_eq!(
            theirs.iter().map(|s| &s.0).collect::<Vec<_>>(),
            ours.iter().map(|s| &s.0).collect::<Vec<_>>(),
            "series differ for {expr}"
        );
        for ((labels, a), (_, b)) in theirs.iter().zip(&ours) {
            assert_eq!(
                a.len(),
                b.len(),
                "{expr} {labels}: points differ:\nprometheus {a:?}\nvigil      {b:?}"
            );
            for ((ta, va), (tb, vb)) in a.iter().zip(b) {
                assert_eq!(ta, tb, "{expr} {labels}");
                let same =
                    (va.is_nan() && vb.is_nan()) || (va - vb).abs() <= 1e-9 * va.abs().max(1.0);
                assert!(same, "{expr} {labels} at {ta}: prometheus {va}, vigil {vb}");
            }
        }
        compared += 1;
    }
    assert_eq!(compared, 6);

    // Prometheus' alert reached Vigil through its Alertmanager API.
    let auth = format!("Bearer {key}");
    let mut alerts = Value::Null;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let response = request(
            &vigil_address,
            "GET",
            "/alertmanager/api/v2/alerts?filter=alertname%3D%22VigilIsUp%22",
            &[("Authorization", &auth)],
            None,
        )
        .await;
        alerts = serde_json::from_str(&response.body).unwrap_or_default();
        if alerts.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let alert = &alerts[0];
    assert_eq!(alert["labels"]["job"], "vigil", "{alerts}");
    assert_eq!(alert["labels"]["severity"], "warning");
    assert_eq!(alert["annotations"]["summary"], "Vigil answers scrapes");
    assert!(
        alert["generatorURL"]
            .as_str()
            .unwrap()
            .contains(&prometheus_port.to_string())
    );

    // And it was routed like Vigil's own alerts: the default policy's webhook got it, in
    // Alertmanager's webhook shape.
    let deadline = Instant::now() + Duration::from_secs(30);
    let message = loop {
        let found = hook
            .lock()
            .unwrap()
            .iter()
            .filter_map(|body| serde_json::from_str::<Value>(body).ok())
            .find(|m| m["groupLabels"]["alertname"] == "VigilIsUp");
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline, "no notification for VigilIsUp");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(message["version"], "4");
    assert_eq!(message["status"], "firing");
    assert_eq!(message["receiver"], "peer hook");
    assert_eq!(message["alerts"][0]["labels"]["job"], "vigil");
    assert!(
        message["alerts"][0]["generatorURL"]
            .as_str()
            .unwrap()
            .contains(&prometheus_port.to_string())
    );

    drop(prometheus.0.kill());
    prometheus.0.wait().unwrap();
    assert!(vigil.stop_with(nix::sys::signal::Signal::SIGTERM));
}
