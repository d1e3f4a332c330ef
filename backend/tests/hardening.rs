//! Attacks and careless input that once ended or stalled the server, each answered now with
//! a clear 4xx while the server keeps serving: queries too deep or too big, stored rules that
//! could not be evaluated, and the other findings of the hardening review.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::process::{Server, login_cookie, wait_for_banner};
use common::{TestApp, fresh_database_url};
use serde_json::{Value, json};
use vigil::config::AppConfig;
use vigil::promql::QueryLimits;
use vigil_shared::Role;
use vigil_shared::admin::CreatedApiKey;

const ADMIN_PASSWORD: &str = "hardening admin pass";

fn data_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `1+1+…+1` with `terms` ones: the query that overflowed a worker's stack at 2,375 terms.
fn chain(first: &str, terms: usize) -> String {
    let mut query = first.to_owned();
    for _ in 1..terms {
        query.push_str("+1");
    }
    query
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn read_key(app: &TestApp) -> String {
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

fn get_with_key(key: &str, path: impl AsRef<str>) -> Request<Body> {
    Request::get(path.as_ref())
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap()
}

fn post_query(key: &str, path: &str, query: &str) -> Request<Body> {
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form(&[
            ("query", query),
            ("time", "1700000000"),
        ])))
        .unwrap()
}

#[tokio::test]
async fn a_query_thousands_of_terms_long_is_refused_and_the_server_still_answers() {
    let app = TestApp::spawn().await;
    let key = read_key(&app).await;
    for query in [chain("1", 2_375), chain("vector(1)", 3_000)] {
        let refused = app
            .send(post_query(&key, "/prometheus/api/v1/query", &query))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{}",
            refused.text()
        );
        let body: Value = refused.json();
        assert_eq!(body["errorType"], "bad_data");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("--query-max-depth"),
            "{body}"
        );
    }
    // Nested brackets, unary minus and function calls are bounded the same way.
    for query in [
        format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000)),
        format!("{}1", "-".repeat(5_000)),
        format!("{}up{}", "abs(".repeat(2_000), ")".repeat(2_000)),
    ] {
        let refused = app
            .send(post_query(&key, "/prometheus/api/v1/query_range", &query))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{}",
            refused.text()
        );
    }
    let fine = app
        .send(post_query(
            &key,
            "/prometheus/api/v1/query",
            &chain("1", 50),
        ))
        .await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.text());
    assert!(fine.text().contains(r#""50""#), "{}", fine.text());
}

#[tokio::test]
async fn subqueries_over_the_sample_budget_are_refused_before_they_allocate() {
    let app = TestApp::spawn().await;
    let key = read_key(&app).await;
    for query in [
        "count_over_time(vector(1)[2d:1ms])",
        "count_over_time(vector(1)[6h:1ms])",
        "max_over_time(count_over_time(vector(1)[2h:1ms])[2h:1ms])",
    ] {
        let refused = app
            .send(post_query(&key, "/prometheus/api/v1/query", query))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            refused.text()
        );
        let body: Value = refused.json();
        assert_eq!(body["errorType"], "execution");
        assert!(
            body["error"].as_str().unwrap().contains("too many samples"),
            "{body}"
        );
    }
    let fine = app
        .send(post_query(
            &key,
            "/prometheus/api/v1/query",
            "count_over_time(vector(1)[1h:1s])",
        ))
        .await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.text());
    // Windows are closed at both ends in Prometheus 2.x: 3,601 steps.
    assert!(fine.text().contains(r#""3601""#), "{}", fine.text());
}

#[tokio::test]
async fn the_sample_budget_and_timeout_are_the_servers_settings() {
    let app = TestApp::spawn_with(AppConfig {
        query: QueryLimits {
            max_samples: 5_000,
            timeout: Duration::from_secs(60),
            max_depth: 20,
        },
        ..AppConfig::default()
    })
    .await;
    let key = read_key(&app).await;
    let refused = app
        .send(post_query(
            &key,
            "/prometheus/api/v1/query",
            "count_over_time(vector(1)[2h:1s])",
        ))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text().contains("more than 5000"),
        "{}",
        refused.text()
    );
    let deep = app
        .send(post_query(
            &key,
            "/prometheus/api/v1/query",
            &chain("1", 21),
        ))
        .await;
    assert_eq!(deep.status, StatusCode::BAD_REQUEST);
    assert!(deep.text().contains("21 levels deep"), "{}", deep.text());
    // A range query's points count too: at a 60 s step (1,441 steps) two operands and their
    // value fit in 5,000 samples' worth; at a 20 s step (4,321 steps), four operands do not.
    let range = get_with_key(
        &key,
        "/prometheus/api/v1/query_range?query=vector(1)%20or%20vector(2)&start=0&end=86400&step=60",
    );
    assert_eq!(app.send(range).await.status, StatusCode::OK);
    let range = get_with_key(
        &key,
        "/prometheus/api/v1/query_range?query=(vector(1)%2Bvector(2))%2B(vector(3)%2Bvector(4))&start=0&end=86400&step=20",
    );
    let refused = app.send(range).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text()
    );
}

#[tokio::test]
async fn a_query_that_runs_out_of_time_is_stopped_and_answered_503_timeout() {
    let app = TestApp::spawn().await;
    let key = read_key(&app).await;
    // 10,001 steps, each sorting the 3,600 values of its window: seconds of work.
    let slow = get_with_key(
        &key,
        "/prometheus/api/v1/query_range?query=quantile_over_time(0.5,vector(1)[1h:1s])\
         &start=0&end=600000&step=60&timeout=100ms",
    );
    let started = std::time::Instant::now();
    let answer = app.send(slow).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.text()
    );
    let body: Value = answer.json();
    assert_eq!(body["errorType"], "timeout", "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the evaluation must stop soon after its deadline, not run on"
    );
}

fn rule(query: &str) -> Value {
    json!({
        "name": "Deep", "group": "attack", "query": query, "comparison": ">",
        "critical_threshold": 0, "for": "0s", "interval": "1m",
    })
}

#[tokio::test]
async fn rules_too_deep_to_evaluate_cannot_be_saved_or_imported() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let refused = editor
        .post("/api/v1/alert-rules", &rule(&chain("vector(1)", 3_000)))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.error().error.fields;
    assert!(fields["query"].contains("--query-max-depth"), "{fields:?}");

    let yaml = format!(
        "groups:\n- name: attack\n  rules:\n  - alert: Deep\n    expr: {} > 1\n",
        chain("vector(1)", 3_000)
    );
    let report: Value = editor
        .post("/api/v1/alert-rules/import", &json!({ "yaml": yaml }))
        .await
        .json();
    assert_eq!(report["imported"].as_array().unwrap().len(), 0, "{report}");
    assert!(
        report["errors"][0]["fields"]["expr"]
            .as_str()
            .unwrap()
            .contains("too large"),
        "{report}"
    );
}

#[tokio::test]
async fn a_rule_file_import_is_capped() {
    let app = TestApp::spawn_with(AppConfig {
        rule_import_max: 10,
        ..AppConfig::default()
    })
    .await;
    let mut editor = app.login_as(Role::Editor).await;
    let mut yaml = "groups:\n- name: many\n  rules:\n".to_owned();
    for i in 0..11 {
        yaml.push_str(&format!("  - alert: Rule{i}\n    expr: up == 0\n"));
    }
    let refused = editor
        .post("/api/v1/alert-rules/import", &json!({ "yaml": yaml }))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.error().error.fields;
    assert!(
        fields["yaml"].contains("holds 11 rules; at most 10"),
        "{fields:?}"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_rules")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing of a refused import is stored");
}

/// `vigil serve` on a fresh database, with a first admin.
fn serve(database_url: &str, dir: &Path) -> Command {
    let mut command = Command::new(common::process::VIGIL);
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--web-dir",
            "/nonexistent",
            "--no-self-scrape",
        ])
        .env("DATABASE_URL", database_url)
        .env("VIGIL_DATA_DIR", dir)
        .env("VIGIL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("VIGIL_LOG_FORMAT", "json");
    command
}

/// Peak resident memory of a process, in MiB (`VmHWM`).
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/<pid>/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib / 1024
}

async fn query_over_http(address: &str, cookie: &str, query: &str) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let answer = reqwest::Client::new()
        .post(format!("http://{address}/prometheus/api/v1/query"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("query", query)]))
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_server_refuses_deep_and_huge_queries_and_stays_up_and_small() {
    let url = fresh_database_url().await;
    let dir = data_dir("hardening-queries");
    let mut server = Server::spawn(&mut serve(&url, &dir));
    let address = tokio::task::block_in_place(|| wait_for_banner(&mut server.0));
    let cookie = login_cookie(&address, "admin@vigil.local", ADMIN_PASSWORD).await;

    let (status, body) = query_over_http(&address, &cookie, &chain("1", 2_375)).await;
    assert_eq!(status, 400, "{body}");
    for query in [
        "count_over_time(vector(1)[2d:1ms])",
        "count_over_time(vector(1)[6h:1ms])",
    ] {
        let (status, body) = query_over_http(&address, &cookie, query).await;
        assert_eq!(status, 422, "{query}: {body}");
    }
    let (status, body) = query_over_http(&address, &cookie, "1+1").await;
    assert_eq!(status, 200, "{body}");
    let peak = peak_rss_mib(server.0.id());
    assert!(peak < 300, "the server's memory peaked at {peak} MiB");
    assert!(
        matches!(server.0.try_wait(), Ok(None)),
        "the server must still run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_rule_too_deep_to_evaluate_does_not_stop_a_start_and_is_marked_in_error() {
    let url = fresh_database_url().await;
    // Stored as an older Vigil (or a hand in psql) could have stored it: unchecked.
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO alert_rules (name, rule_group, query, comparison, critical_threshold,
                                  for_ms, interval_ms, keep_firing_for_ms, no_data_state,
                                  error_state)
         VALUES ('Deep', 'attack', $1, '>', 0, 0, 1000, 0, 'ok', 'keep') RETURNING id",
    )
    .bind(chain("vector(1)", 3_000))
    .fetch_one(&mut conn)
    .await
    .unwrap();

    let dir = data_dir("hardening-rule");
    let mut server = Server::spawn(&mut serve(&url, &dir));
    let address = tokio::task::block_in_place(|| wait_for_banner(&mut server.0));
    let mut last_error = None;
    for _ in 0..60 {
        last_error = sqlx::query_scalar::<_, Option<String>>(
            "SELECT last_error FROM alert_rules WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if last_error.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let last_error = last_error.expect("the rule was evaluated and marked in error");
    assert!(last_error.contains("--query-max-depth"), "{last_error}");
    let (status, _) = common::process::http(&address, "GET", "/readyz", None).await;
    assert_eq!(status, 200);
    assert!(
        matches!(server.0.try_wait(), Ok(None)),
        "the server must still run"
    );
}

const REFUSED_ADDRESSES: [&str; 6] = [
    "http://127.0.0.1:9/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:9/hook",
    "http://0.0.0.0:9/hook",
    "http://localhost:9/hook",
    "http://[::ffff:127.0.0.1]:9/hook",
];

#[tokio::test]
async fn webhooks_channels_and_scrape_targets_cannot_point_at_internal_addresses() {
    let app = TestApp::spawn_with(AppConfig::default()).await;
    let mut viewer = app.login_as(Role::Viewer).await;
    let mut editor = app.login_as(Role::Editor).await;
    for url in REFUSED_ADDRESSES {
        let method = viewer
            .post(
                "/api/v1/auth/me/contact-methods",
                &json!({ "kind": "webhook", "address": url }),
            )
            .await;
        assert_eq!(method.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let fields = method.error().error.fields;
        assert!(fields["address"].contains("--outbound-allow"), "{fields:?}");

        let channel = editor
            .post(
                "/api/v1/notification-channels",
                &json!({ "name": "internal", "kind": "webhook", "url": url }),
            )
            .await;
        assert_eq!(channel.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert!(channel.error().error.fields.contains_key("url"));

        let target = editor
            .post(
                "/api/v1/scrape-targets",
                &json!({ "job": "internal", "url": url, "interval": "15s", "timeout": "5s" }),
            )
            .await;
        assert_eq!(target.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert!(target.error().error.fields.contains_key("url"));
    }
    let mail = editor
        .post(
            "/api/v1/notification-channels",
            &json!({
                "name": "mail", "kind": "email", "to": ["ops@example.com"],
                "from": "vigil@example.com", "smtp_host": "169.254.169.254",
            }),
        )
        .await;
    assert_eq!(mail.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mail.error().error.fields.contains_key("smtp_host"));
    // Private ranges stay open: real receivers live there.
    let private = viewer
        .post(
            "/api/v1/auth/me/contact-methods",
            &json!({ "kind": "webhook", "address": "http://10.20.30.40/hook" }),
        )
        .await;
    assert_eq!(private.status, StatusCode::CREATED, "{}", private.text());
}

/// A receiver that answers every request with `status`, a `Location` and a secret body.
async fn leaky_receiver(status: u16, location: &str) -> (std::net::SocketAddr, String) {
    let location = location.to_owned();
    let app = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move {
            (
                StatusCode::from_u16(status).unwrap(),
                [(header::LOCATION, location)],
                "INTERNAL-SECRET-BODY db_password=hunter2",
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let port = address.port();
    (
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        format!("http://127.0.0.1:{port}"),
    )
}

#[tokio::test]
async fn a_receivers_reply_is_never_shown_and_webhooks_follow_no_redirect() {
    let app = TestApp::spawn().await; // loopback opened, where the receivers listen
    let mut viewer = app.login_as(Role::Viewer).await;
    let (_, failing) = leaky_receiver(500, "/").await;
    let (_, redirecting) = leaky_receiver(302, "http://169.254.169.254/latest/").await;
    for (url, status) in [(failing, "500"), (redirecting, "302")] {
        let method: Value = viewer
            .post(
                "/api/v1/auth/me/contact-methods",
                &json!({ "kind": "webhook", "address": format!("{url}/hook") }),
            )
            .await
            .json();
        let delivery = viewer
            .post_empty(&format!(
                "/api/v1/auth/me/contact-methods/{}/test",
                method["id"]
            ))
            .await;
        assert_eq!(delivery.status, StatusCode::OK, "{}", delivery.text());
        let delivery: Value = delivery.json();
        let error = delivery["last_error"].as_str().unwrap();
        assert!(error.contains(status), "{error}");
        assert!(!error.contains("SECRET"), "the reply leaked: {error}");
        assert!(!delivery.to_string().contains("hunter2"));
    }
}

#[tokio::test]
async fn a_scrape_target_redirecting_to_a_refused_address_is_not_followed() {
    let opened = vigil::outbound::Outbound::parse("127.0.0.1/32").unwrap();
    let app = TestApp::spawn_with(AppConfig {
        outbound: opened.clone(),
        ..AppConfig::default()
    })
    .await;
    let (receiver, _) = leaky_receiver(302, "").await;
    // The receiver listens on every address; 127.0.0.2 reaches it too, but is not opened.
    let (_, redirect) = leaky_receiver(
        302,
        &format!("http://127.0.0.2:{}/metrics", receiver.port()),
    )
    .await;
    let mut editor = app.login_as(Role::Editor).await;
    let target: Value = editor
        .post(
            "/api/v1/scrape-targets",
            &json!({ "job": "redirected", "url": format!("{redirect}/metrics"), "interval": "15s", "timeout": "5s" }),
        )
        .await
        .json();
    let now = chrono::Utc::now();
    let scraper = vigil::scrape::worker::Scraper::new(
        app.db.clone(),
        app.state.metrics.clone(),
        opened,
        app.state.telemetry.clone(),
    );
    assert_eq!(scraper.scrape_due(now).await.unwrap(), 1);
    let shown: Value = editor
        .get(&format!("/api/v1/scrape-targets/{}", target["id"]))
        .await
        .json();
    let error = shown["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("127.0.0.2 is a loopback address"), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_embedded_postgresql_is_restarted_and_nothing_acknowledged_is_lost() {
    use common::remote_write::{encode, series};
    use vigil::ingest::remote_write::WriteRequest;

    let dir = data_dir("hardening-supervised");
    let mut command = serve("", &dir);
    command.env_remove("DATABASE_URL");
    let mut server = Server::spawn(&mut command);
    let address = tokio::task::block_in_place(|| wait_for_banner(&mut server.0));
    let key = common::process::create_api_key(
        &address,
        "admin@vigil.local",
        ADMIN_PASSWORD,
        r#"["ingest", "read"]"#,
    )
    .await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let base = chrono::Utc::now().timestamp_millis() / 1000 * 1000 - 600_000;
    let write = |i: i64| {
        let body = encode(&WriteRequest {
            timeseries: vec![series(
                &[("__name__", "hardening_probe")],
                &[(base + i * 100, i as f64)],
            )],
            metadata: vec![],
        });
        client
            .post(format!("http://{address}/prometheus/api/v1/write"))
            .bearer_auth(&key)
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", "snappy")
            .header("x-prometheus-remote-write-version", "0.1.0")
            .body(body)
            .send()
    };

    let mut acknowledged = Vec::new();
    let (mut refused, mut after_refusal) = (0, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut i = 0;
    while after_refusal < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "ingestion did not resume within 2 minutes ({} refused)",
            refused
        );
        if i == 20 {
            let pid: i32 = std::fs::read_to_string(dir.join("postgres/data/postmaster.pid"))
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
        }
        let answer = write(i).await.unwrap();
        match answer.status().as_u16() {
            204 => {
                acknowledged.push(base + i * 100);
                if refused > 0 {
                    after_refusal += 1;
                }
            }
            503 => {
                assert!(answer.headers().contains_key("retry-after"));
                refused += 1;
            }
            other => panic!(
                "write {i} answered {other}: {}",
                answer.text().await.unwrap()
            ),
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        refused > 0,
        "writes were refused while the database was down"
    );
    assert!(
        matches!(server.0.try_wait(), Ok(None)),
        "the server itself was never restarted"
    );

    let query = form(&[
        ("query", "hardening_probe[1h]"),
        ("time", &((base + 1_000_000) as f64 / 1000.0).to_string()),
    ]);
    let stored: Value = serde_json::from_str(
        &client
            .get(format!("http://{address}/prometheus/api/v1/query?{query}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let times: std::collections::HashSet<i64> = stored["data"]["result"][0]["values"]
        .as_array()
        .unwrap_or_else(|| panic!("{stored}"))
        .iter()
        .map(|pair| (pair[0].as_f64().unwrap() * 1000.0).round() as i64)
        .collect();
    let lost: Vec<&i64> = acknowledged.iter().filter(|t| !times.contains(t)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged samples were lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    let metrics = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("vigil_embedded_database_restarts_total 1"),
        "{metrics}"
    );
    assert!(server.stop_with(nix::sys::signal::Signal::SIGTERM));
}

#[tokio::test]
async fn a_handler_that_panics_is_answered_500_and_the_server_goes_on() {
    let app = TestApp::spawn().await;
    let routes = axum::Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                let empty: Vec<u8> = Vec::new();
                // An index out of bounds, as a bug would have it.
                empty[std::hint::black_box(3)].to_string()
            }),
        )
        .route("/fine", axum::routing::get(|| async { "fine" }));
    let router = vigil::router::with_middleware(routes, app.state.clone());
    for _ in 0..3 {
        let answer = tower::ServiceExt::oneshot(
            router.clone(),
            Request::get("/boom").body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(answer.headers().contains_key("x-request-id"));
        let body = http_body_util::BodyExt::collect(answer.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "internal", "{body}");
        assert!(!body.to_string().contains("index out of bounds"), "{body}");
    }
    let fine =
        tower::ServiceExt::oneshot(router, Request::get("/fine").body(Body::empty()).unwrap())
            .await
            .unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
}

/// A client's request with a raw body and content type (what a forged form would send).
async fn send_raw(
    client: &common::Client<'_>,
    app: &TestApp,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    origin: Option<&str>,
    body: &str,
) -> common::TestResponse {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, client.cookie_header().unwrap())
        .header(header::HOST, "vigil.example");
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    app.send(request.body(Body::from(body.to_owned())).unwrap())
        .await
}

#[tokio::test]
async fn text_postgresql_cannot_store_is_refused_with_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let mut responder = app.login_as(Role::Responder).await;
    let incident: Value = responder
        .post("/api/v1/incidents", &json!({ "title": "Disk full" }))
        .await
        .json();
    let id = &incident["id"];
    assert!(id.is_i64(), "{incident}");

    for path in [
        "/api/v1/incidents?q=a%00b",
        "/api/v1/incidents?service=%00",
        "/api/v1/incidents/export?q=%00",
        "/api/v1/audit-log?action=%00",
        "/api/v1/audit-log?actor=x%00",
    ] {
        let refused = admin.get(path).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            refused.text()
        );
        let fields = refused.error().error.fields;
        assert_eq!(fields.len(), 1, "{path}: {fields:?}");
        assert!(fields.values().all(|m| m.contains("NUL")), "{fields:?}");
    }

    let nul = "a\u{0}b";
    let mut editor = app.login_as(Role::Editor).await;
    let bodies: Vec<(Role, String, Value, &str)> = vec![
        (
            Role::Responder,
            "/api/v1/incidents".to_owned(),
            json!({ "title": nul }),
            "title",
        ),
        (
            Role::Responder,
            format!("/api/v1/incidents/{id}/notes"),
            json!({ "message": nul }),
            "message",
        ),
        (
            Role::Editor,
            "/api/v1/scrape-targets".to_owned(),
            json!({ "job": "node", "url": "http://10.0.0.1:9100/metrics", "interval": "15s",
                    "timeout": "5s", "labels": { "env": nul } }),
            "labels.env",
        ),
        (
            Role::Admin,
            "/api/v1/teams".to_owned(),
            json!({ "name": nul }),
            "name",
        ),
        (
            Role::Responder,
            "/api/v1/silences".to_owned(),
            json!({ "matchers": [{ "name": "job", "value": "api", "isRegex": false }],
                    "ends_at": "2999-01-01T00:00:00Z", "comment": nul }),
            "comment",
        ),
        (
            Role::Editor,
            "/alertmanager/api/v2/alerts".to_owned(),
            json!([{ "labels": { "alertname": nul } }]),
            "0.labels.alertname",
        ),
    ];
    for (role, path, body, field) in bodies {
        let client = match role {
            Role::Admin => &mut admin,
            Role::Editor => &mut editor,
            _ => &mut responder,
        };
        let refused = client.post(&path, &body).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            refused.text()
        );
        let fields = refused.error().error.fields;
        assert!(fields.contains_key(field), "{path}: {fields:?}");
    }
    // Nothing of it was stored, and the server answers as before.
    assert_eq!(
        responder.get("/api/v1/incidents").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn cookie_authenticated_changes_on_another_site_are_refused() {
    let app = TestApp::spawn().await;
    let mut responder = app.login_as(Role::Responder).await;
    let incident: Value = responder
        .post("/api/v1/incidents", &json!({ "title": "Disk full" }))
        .await
        .json();
    let acknowledge = format!("/api/v1/incidents/{}/acknowledge", incident["id"]);

    // What a forged form or fetch from another site sends.
    for (content_type, body) in [
        (Some("text/plain"), r#"{"message":"x"}"#),
        (Some("application/x-www-form-urlencoded"), "message=x"),
        (None, ""),
    ] {
        let refused = send_raw(
            &responder,
            &app,
            "POST",
            &acknowledge,
            content_type,
            Some("https://evil.example"),
            body,
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{content_type:?}");
    }
    let mut elsewhere = app.login_as(Role::Responder).await.on_another_site();
    assert_eq!(
        elsewhere.post_empty(&acknowledge).await.status,
        StatusCode::FORBIDDEN
    );
    // From Vigil's own origin, the body's type must be JSON.
    let wrong_type = send_raw(
        &responder,
        &app,
        "POST",
        &acknowledge,
        Some("text/plain"),
        Some("http://vigil.example"),
        r#"{"message":"x"}"#,
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // remote_write with a cookie and no content type is refused too.
    let mut editor = app.login_as(Role::Editor).await;
    let write = send_raw(
        &editor,
        &app,
        "POST",
        "/prometheus/api/v1/write",
        None,
        Some("http://vigil.example"),
        "\u{1}\u{2}",
    )
    .await;
    assert_eq!(write.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let still_triggered: Value = editor
        .get(&format!("/api/v1/incidents/{}", incident["id"]))
        .await
        .json();
    assert_eq!(still_triggered["status"], "triggered");
    // The same origin acknowledges; an API key needs no origin.
    let fine = send_raw(
        &responder,
        &app,
        "POST",
        &acknowledge,
        None,
        Some("http://vigil.example"),
        "",
    )
    .await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.text());
}

async fn login_attempt(app: &TestApp, email: &str, password: &str) -> common::TestResponse {
    app.anonymous()
        .via_ip("203.0.113.77")
        .post(
            "/api/v1/auth/login",
            &json!({ "email": email, "password": password }),
        )
        .await
}

#[tokio::test]
async fn login_answers_the_same_for_unknown_and_existing_accounts_lockout_included() {
    let app = TestApp::spawn_with(AppConfig {
        trust_proxy_headers: true,
        ..AppConfig::default()
    })
    .await;
    app.create_user("admin@vigil.local", Role::Admin).await;
    let mut timings = Vec::new();
    for attempt in 1..=7 {
        let (mut answers, mut took) = (Vec::new(), Vec::new());
        for email in ["admin@vigil.local", "nobody@vigil.local"] {
            let started = std::time::Instant::now();
            let answer = login_attempt(&app, email, "wrong guess").await;
            took.push(started.elapsed());
            answers.push((
                answer.status,
                answer.error().error.message,
                answer
                    .header("retry-after")
                    .map(|s| s.parse::<i64>().unwrap()),
            ));
        }
        assert_eq!(answers[0].0, answers[1].0, "attempt {attempt}");
        assert_eq!(answers[0].1, answers[1].1, "attempt {attempt}");
        // Lockouts started moments apart may round to seconds differently.
        match (answers[0].2, answers[1].2) {
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1, "attempt {attempt}: {a} / {b}"),
            (a, b) => assert_eq!(a, b, "attempt {attempt}"),
        }
        let expected = if attempt <= 5 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(answers[0].0, expected, "attempt {attempt}");
        timings.push(took);
    }
    // Both sides verify a password hash: their times are of one kind (tens of ms, not one
    // side instant). Each is compared with the other over the unlocked attempts.
    let (known, unknown): (Vec<f64>, Vec<f64>) = timings[..5]
        .iter()
        .map(|t| (t[0].as_secs_f64(), t[1].as_secs_f64()))
        .unzip();
    let (known, unknown) = (
        known.iter().sum::<f64>() / 5.0,
        unknown.iter().sum::<f64>() / 5.0,
    );
    assert!(
        unknown > known / 3.0 && unknown < known * 3.0,
        "known {known:.3}s, unknown {unknown:.3}s"
    );
}

#[tokio::test]
async fn nobody_can_lock_the_admin_out_from_elsewhere() {
    let app = TestApp::spawn_with(AppConfig {
        trust_proxy_headers: true,
        ..AppConfig::default()
    })
    .await;
    app.create_user("admin@vigil.local", Role::Admin).await;
    for _ in 0..6 {
        login_attempt(&app, "admin@vigil.local", "wrong guess").await;
    }
    assert_eq!(
        login_attempt(&app, "admin@vigil.local", common::PASSWORD)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing address is locked out"
    );
    let admin = app
        .anonymous()
        .via_ip("198.51.100.1")
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "admin@vigil.local", "password": common::PASSWORD }),
        )
        .await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text());
}

#[tokio::test]
async fn csv_exports_make_formula_cells_inert() {
    let app = TestApp::spawn().await;
    let mut responder = app.login_as(Role::Responder).await;
    for title in [
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "@SUM(1+1)",
        "-2+3",
        "+1",
    ] {
        let opened = responder
            .post(
                "/api/v1/incidents",
                &json!({ "title": title, "service": "=cmd|' /C calc'!A0" }),
            )
            .await;
        assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text());
    }
    let csv = responder.get("/api/v1/incidents/export").await.text();
    for line in csv.lines().skip(1) {
        // Every cell of ours that could start a formula starts with an apostrophe instead.
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "a live formula cell in {line:?}"
            );
        }
    }
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(csv.contains("'@SUM(1+1)"), "{csv}");
    assert!(csv.contains("'=cmd|"), "{csv}");
}

#[tokio::test]
async fn ingested_labels_holding_nul_are_refused_not_stored() {
    use common::remote_write::{encode, post, series};
    use vigil::ingest::remote_write::WriteRequest;

    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "prometheus", "scopes": ["ingest", "read"] }),
        )
        .await
        .json();
    let now = chrono::Utc::now().timestamp_millis();
    let write = app
        .send(post(
            &key.secret,
            encode(&WriteRequest {
                timeseries: vec![
                    series(
                        &[("__name__", "nul_probe"), ("job", "a\u{0}b")],
                        &[(now, 1.0)],
                    ),
                    series(&[("__name__", "nul_probe"), ("job", "fine")], &[(now, 2.0)]),
                ],
                metadata: vec![vigil::ingest::remote_write::WireMetadata {
                    r#type: 1,
                    metric_family_name: "nul_probe".into(),
                    help: "help\u{0}text".into(),
                    unit: "\u{0}".into(),
                }],
            }),
        ))
        .await;
    assert!(
        write.status.is_client_error() || write.status.is_success(),
        "{}: {}",
        write.status,
        write.text()
    );
    // OTLP's JSON encoding carries attributes as strings too.
    let otlp = json!({ "resourceMetrics": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "x\u{0}y" } }] },
        "scopeMetrics": [{ "metrics": [{ "name": "nul.gauge", "gauge": { "dataPoints": [
            { "asDouble": 1.0, "timeUnixNano": format!("{}", now * 1_000_000) }
        ] } }] }]
    }] });
    let otlp = app
        .send(
            Request::post("/v1/metrics")
                .header(header::AUTHORIZATION, format!("Bearer {}", key.secret))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(otlp.to_string()))
                .unwrap(),
        )
        .await;
    assert!(
        otlp.status.as_u16() < 500,
        "{}: {}",
        otlp.status,
        otlp.text()
    );
    // The alerts Prometheus posts.
    let mut editor = app.login_as(Role::Editor).await;
    let alerts = editor
        .post(
            "/alertmanager/api/v2/alerts",
            &json!([{ "labels": { "alertname": "A", "x": "\u{0}" } }]),
        )
        .await;
    assert_eq!(alerts.status, StatusCode::UNPROCESSABLE_ENTITY);
    let stored = app
        .send(
            Request::get("/prometheus/api/v1/query?query=nul_probe")
                .header(header::AUTHORIZATION, format!("Bearer {}", key.secret))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text());
    assert!(stored.text().contains("\"fine\""), "{}", stored.text());
    assert!(!stored.text().contains("a\\u0000b"), "{}", stored.text());
}

#[tokio::test]
async fn guesses_sent_at_once_are_all_counted_before_the_lockout() {
    let app = TestApp::spawn_with(AppConfig {
        trust_proxy_headers: true,
        ..AppConfig::default()
    })
    .await;
    app.create_user("admin@vigil.local", Role::Admin).await;
    let guesses = (0..20).map(|n| {
        let app = &app;
        async move {
            login_attempt(app, "admin@vigil.local", &format!("guess {n}"))
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(checked <= 5, "{checked} guesses were checked: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_subquery_over_many_series_is_refused_before_it_fills_memory() {
    let app = TestApp::spawn().await;
    let key = read_key(&app).await;
    // 200 series: their points at 1 ms steps over 2 h would be 1.4 G values.
    let now = chrono::Utc::now().timestamp_millis() / 1000 * 1000;
    let mut batch = vigil::metrics::WriteBatch::default();
    for i in 0..200 {
        batch.series.push(vigil::metrics::SeriesWrite {
            labels: vigil::metrics::Labels::from_pairs([
                ("__name__", "wide_metric"),
                ("instance", format!("i{i}").as_str()),
            ]),
            samples: vec![vigil::metrics::Sample {
                timestamp_ms: now - 60_000,
                value: i as f64,
            }],
        });
    }
    app.state.metrics.write(batch).await.unwrap();
    for query in [
        "max_over_time(wide_metric[2h:1ms])",
        "sum(count_over_time(wide_metric[30m:1ms]))",
    ] {
        let refused = app
            .send(
                Request::get(format!(
                    "/prometheus/api/v1/query?{}",
                    form(&[("query", query), ("time", &(now / 1000).to_string())])
                ))
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .body(Body::empty())
                .unwrap(),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            refused.text()
        );
    }
    // A range query over every series at its finest step is charged per series too.
    let range = app
        .send(
            Request::get(format!(
                "/prometheus/api/v1/query_range?{}",
                form(&[
                    ("query", "wide_metric"),
                    ("start", &((now - 10_999_000) / 1000).to_string()),
                    ("end", &(now / 1000).to_string()),
                    ("step", "1"),
                ])
            ))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(range.status, StatusCode::OK, "{}", range.text());
}

#[tokio::test]
async fn prometheus_api_parameters_holding_nul_are_refused() {
    let app = TestApp::spawn().await;
    let key = read_key(&app).await;
    for path in [
        "/prometheus/api/v1/metadata?metric=a%00b",
        "/prometheus/api/v1/series?match[]=up&start=%00",
        "/prometheus/api/v1/label/job/values?match[]=up%00",
        "/prometheus/api/v1/query?query=up%00",
    ] {
        let refused = app.send(get_with_key(&key, path)).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            refused.text()
        );
        assert!(refused.text().contains("NUL"), "{path}: {}", refused.text());
    }
}
