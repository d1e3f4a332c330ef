//! Vigil's Alertmanager API next to a real Alertmanager (Debian's 0.25): the same alert and
//! silence posted to both must read back the same way.
//!
//! Needs `prometheus-alertmanager` on PATH. Without it the test says so and passes, unless
//! VIGIL_REQUIRE_PEERS=1 (set by scripts/test.sh, which installs it).

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use chrono::{DateTime, TimeDelta, Utc};
use common::TestApp;
use common::process::{Server, request};
use serde_json::{Value, json};
use vigil_shared::Role;
use vigil_shared::admin::CreatedApiKey;

const ALERTMANAGER: &str = "prometheus-alertmanager";

fn peer_available() -> bool {
    let found = Command::new(ALERTMANAGER)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("VIGIL_REQUIRE_PEERS").as_deref() != Ok("1"),
            "{ALERTMANAGER} is required (VIGIL_REQUIRE_PEERS=1) but not installed"
        );
        eprintln!(
            "SKIPPED: {ALERTMANAGER} is not installed (apt-get install prometheus-alertmanager)"
        );
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A body sent with `Transfer-Encoding: chunked`, joined.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_owned();
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

async fn alertmanager(
    address: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let text = body.map(Value::to_string);
    let response = request(address, method, path, &[], text.as_deref()).await;
    let chunked = response
        .headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(&response.body)
    } else {
        response.body
    };
    (
        response.status,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

async fn vigil(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    if body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = app.send(builder.body(body).unwrap()).await;
    (
        response.status.as_u16(),
        serde_json::from_str(&response.text()).unwrap_or(Value::Null),
    )
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// The parts of a GettableAlert both must agree on.
fn comparable(alert: &Value) -> Value {
    json!({
        "labels": alert["labels"],
        "annotations": alert["annotations"],
        "fingerprint": alert["fingerprint"],
        "generatorURL": alert["generatorURL"],
        "startsAt": time(&alert["startsAt"]).timestamp_millis(),
        "endsAt": time(&alert["endsAt"]).timestamp_millis(),
        "state": alert["status"]["state"],
        "silenced": alert["status"]["silencedBy"].as_array().map(Vec::len),
        "keys": alert.as_object().unwrap().keys().cloned().collect::<Vec<_>>(),
        "statusKeys": alert["status"].as_object().unwrap().keys().cloned().collect::<Vec<_>>(),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn vigil_answers_the_alertmanager_api_as_alertmanager_does() {
    if !peer_available() {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("am-peer-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("alertmanager.yml"),
        "route:\n  receiver: vigil\nreceivers:\n  - name: vigil\n",
    )
    .unwrap();
    let port = free_port();
    let _alertmanager = Server(
        Command::new(ALERTMANAGER)
            .arg(format!(
                "--config.file={}",
                dir.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let am = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "Alertmanager did not start");
        if tokio::net::TcpStream::connect(&am).await.is_ok()
            && alertmanager(&am, "GET", "/api/v2/status", None).await.0 == 200
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "prometheus", "scopes": ["ingest", "read"] }),
        )
        .await
        .json();
    let key = key.secret;

    let now = Utc::now().duration_trunc_ms();
    let alerts = json!([{
        "labels": { "alertname": "InstanceDown", "instance": "web-1:9100", "job": "node", "severity": "critical" },
        "annotations": { "summary": "web-1:9100 is down" },
        "startsAt": (now - TimeDelta::minutes(3)).to_rfc3339(),
        "endsAt": (now + TimeDelta::minutes(4)).to_rfc3339(),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    }]);
    assert_eq!(
        alertmanager(&am, "POST", "/api/v2/alerts", Some(&alerts))
            .await
            .0,
        200
    );
    assert_eq!(
        vigil(
            &app,
            &key,
            "POST",
            "/alertmanager/api/v2/alerts",
            Some(&alerts)
        )
        .await
        .0,
        200
    );

    // Alertmanager shows a new alert as "unprocessed" for a moment.
    let read_am = || async {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, listed) = alertmanager(&am, "GET", "/api/v2/alerts", None).await;
            if listed[0]["status"]["state"] != "unprocessed" || Instant::now() > deadline {
                return listed;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let theirs = read_am().await;
    let (_, ours) = vigil(&app, &key, "GET", "/alertmanager/api/v2/alerts", None).await;
    assert_eq!(
        comparable(&ours[0]),
        comparable(&theirs[0]),
        "\nvigil {ours}\nalertmanager {theirs}"
    );

    // The same silence, as amtool posts it.
    let silence = json!({
        "matchers": [
            { "name": "alertname", "value": "InstanceDown", "isRegex": false, "isEqual": true },
            { "name": "instance", "value": "web-.*", "isRegex": true, "isEqual": true }
        ],
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + TimeDelta::hours(2)).to_rfc3339(),
        "createdBy": "rosa",
        "comment": "maintenance of web-1"
    });
    let (status, am_created) = alertmanager(&am, "POST", "/api/v2/silences", Some(&silence)).await;
    assert_eq!(status, 200, "{am_created}");
    let mut responder = app.login_as(Role::Responder).await;
    let ours_created: Value = responder
        .post("/alertmanager/api/v2/silences", &silence)
        .await
        .json();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&ours_created), keys(&am_created));

    let am_id = am_created["silenceID"].as_str().unwrap();
    let our_id = ours_created["silenceID"].as_str().unwrap();
    let (_, theirs) = alertmanager(&am, "GET", &format!("/api/v2/silence/{am_id}"), None).await;
    let (_, ours) = vigil(
        &app,
        &key,
        "GET",
        &format!("/alertmanager/api/v2/silence/{our_id}"),
        None,
    )
    .await;
    assert_eq!(
        keys(&ours),
        keys(&theirs),
        "\nvigil {ours}\nalertmanager {theirs}"
    );
    assert_eq!(ours["status"], theirs["status"]);
    assert_eq!(ours["matchers"], theirs["matchers"]);
    assert_eq!(ours["comment"], theirs["comment"]);
    assert_eq!(time(&ours["endsAt"]), time(&theirs["endsAt"]));

    let theirs = read_am().await;
    let (_, ours) = vigil(&app, &key, "GET", "/alertmanager/api/v2/alerts", None).await;
    assert_eq!(
        comparable(&ours[0]),
        comparable(&theirs[0]),
        "silenced:\nvigil {ours}\nalertmanager {theirs}"
    );
    assert_eq!(ours[0]["status"]["state"], "suppressed");

    assert_eq!(
        alertmanager(&am, "DELETE", &format!("/api/v2/silence/{am_id}"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        responder
            .delete(&format!("/alertmanager/api/v2/silence/{our_id}"))
            .await
            .status
            .as_u16(),
        200
    );
    let (_, theirs) = alertmanager(&am, "GET", &format!("/api/v2/silence/{am_id}"), None).await;
    let (_, ours) = vigil(
        &app,
        &key,
        "GET",
        &format!("/alertmanager/api/v2/silence/{our_id}"),
        None,
    )
    .await;
    assert_eq!(ours["status"], theirs["status"]);
    assert_eq!(ours["status"]["state"], "expired");
}

trait TruncateMs {
    fn duration_trunc_ms(self) -> Self;
}

impl TruncateMs for DateTime<Utc> {
    /// Whole milliseconds: both servers keep at least that much precision.
    fn duration_trunc_ms(self) -> Self {
        DateTime::from_timestamp_millis(self.timestamp_millis()).unwrap()
    }
}
