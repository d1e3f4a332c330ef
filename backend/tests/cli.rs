//! The `vigil` binary as people run it: `serve`, `user create`, `--help`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::process::{
    Server, VIGIL, http, login_cookie, request, wait_for_banner, wait_for_banner_text,
};
use common::throwaway_cluster_options;
use nix::sys::signal::Signal;
use sqlx::{Connection, PgConnection};
use vigil::db::EmbeddedCluster;

fn data_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn vigil(data_dir: &Path) -> Command {
    let mut command = Command::new(VIGIL);
    command
        .env_remove("DATABASE_URL")
        .env("VIGIL_DATA_DIR", data_dir);
    command
}

fn is_running(dir: &Path) -> bool {
    dir.join("postgres/data/postmaster.pid").exists()
}

async fn user_exists(cluster: &EmbeddedCluster, email: &str) -> bool {
    let mut conn = PgConnection::connect_with(&cluster.connect_options("vigil"))
        .await
        .unwrap();
    let exists = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
        .bind(email)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    exists
}

#[tokio::test]
async fn user_create_joins_the_cluster_of_a_running_server_and_leaves_it_running() {
    let dir = data_dir("cli-join");
    let cluster = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            EmbeddedCluster::start(&dir, &throwaway_cluster_options())
        })
        .await
        .unwrap()
        .unwrap()
    };
    vigil::db::ensure_database(&cluster, "vigil").await.unwrap();

    let output = vigil(&dir)
        .args([
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--password",
            "long enough",
            "--role",
            "admin",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Created admin ops@example.com"));
    assert!(is_running(&dir), "the server's cluster must keep running");
    assert!(user_exists(&cluster, "ops@example.com").await);

    let duplicate = vigil(&dir)
        .args([
            "user",
            "create",
            "--email",
            "OPS@example.com",
            "--password",
            "long enough",
            "--role",
            "viewer",
        ])
        .output()
        .unwrap();
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));

    tokio::task::spawn_blocking(move || cluster.release())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn user_create_alone_starts_the_cluster_and_stops_it_afterwards() {
    let dir = data_dir("cli-alone");
    let mut child = vigil(&dir)
        .args([
            "user",
            "create",
            "--email",
            "first@example.com",
            "--password",
            "-",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"from standard input\n")
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !is_running(&dir),
        "a cluster started for one command must be stopped after it"
    );
}

#[test]
fn user_create_refuses_bad_input_before_touching_the_database() {
    let dir = data_dir("cli-bad");
    let output = vigil(&dir)
        .args([
            "user",
            "create",
            "--email",
            "nope",
            "--password",
            "short",
            "--role",
            "viewer",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("email"), "{stderr}");
    assert!(stderr.contains("password"), "{stderr}");
    assert!(!dir.join("postgres").exists());

    let bad_role = vigil(&dir)
        .args([
            "user",
            "create",
            "--email",
            "a@example.com",
            "--password",
            "long enough",
            "--role",
            "root",
        ])
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"));
}

#[test]
fn serve_refuses_bad_smtp_settings_before_touching_the_database() {
    let dir = data_dir("serve-bad-smtp");
    for (url, from, problem) in [
        ("http://mail.example.com", "vigil@example.com", "--smtp-url"),
        (
            "smtp://mail.example.com?tls=maybe",
            "vigil@example.com",
            "tls=maybe",
        ),
        ("smtp://mail.example.com", "", "--smtp-from"),
        ("smtp://mail.example.com", "not an address", "--smtp-from"),
    ] {
        let output = vigil(&dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--smtp-url", url])
            .env("VIGIL_SMTP_FROM", from)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!output.status.success(), "{url} {from:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(problem), "{url} {from:?}: {stderr}");
        assert!(!stderr.contains("hunter2"));
    }
    assert!(!dir.join("postgres").exists());
}

#[test]
fn help_describes_every_command_and_flag() {
    let top = Command::new(VIGIL).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&top.stdout);
    for word in ["serve", "user", "migrate", "--database-url", "--data-dir"] {
        assert!(text.contains(word), "`vigil --help` lacks {word}:\n{text}");
    }
    let serve = Command::new(VIGIL)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&serve.stdout);
    for word in [
        "--listen",
        "--demo",
        "--demo-password",
        "--web-dir",
        "VIGIL_LISTEN",
        "127.0.0.1:8080",
        "--smtp-url",
        "VIGIL_SMTP_URL",
        "--smtp-from",
        "VIGIL_SMTP_FROM",
        "--dashboards-dir",
        "VIGIL_DASHBOARDS_DIR",
    ] {
        assert!(
            text.contains(word),
            "`vigil serve --help` lacks {word}:\n{text}"
        );
    }
    let create = Command::new(VIGIL)
        .args(["user", "create", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&create.stdout);
    for word in ["--email", "--password", "--role"] {
        assert!(
            text.contains(word),
            "`vigil user create --help` lacks {word}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_with_demo_users_on_the_embedded_database_and_stops_cleanly() {
    let dir = data_dir("serve");
    let dashboards = dir.with_extension("dashboards");
    std::fs::create_dir_all(&dashboards).unwrap();
    std::fs::write(
        dashboards.join("team.yaml"),
        "title: Team board\npanels: {}\nlayout: []\n",
    )
    .unwrap();
    std::fs::write(dashboards.join("broken.json"), "{").unwrap();
    let mut server = Server::spawn(
        vigil(&dir)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--demo",
                "--web-dir",
                "/nonexistent",
            ])
            .env("VIGIL_DASHBOARDS_DIR", &dashboards)
            .env("VIGIL_DEMO_PASSWORD", "demo password")
            .env("VIGIL_LOG_FORMAT", "json"),
    );
    let address = tokio::task::block_in_place(|| wait_for_banner(&mut server.0));

    let (status, _) = http(&address, "GET", "/readyz", None).await;
    assert_eq!(status, 200);
    for email in [
        "admin@vigil.local",
        "editor@vigil.local",
        "responder@vigil.local",
        "viewer@vigil.local",
    ] {
        let credentials = format!(r#"{{"email":"{email}","password":"demo password"}}"#);
        let (status, body) = http(&address, "POST", "/api/v1/auth/login", Some(&credentials)).await;
        assert_eq!(status, 200, "{email}: {body}");
    }
    // The demo's escalation policy and alert rules are there from the start.
    let cookie = login_cookie(&address, "viewer@vigil.local", "demo password").await;
    let headers = [("Cookie", cookie.as_str())];
    let policies = request(
        &address,
        "GET",
        "/api/v1/escalation-policies",
        &headers,
        None,
    )
    .await;
    assert!(
        policies.body.contains(r#""name":"Default""#),
        "{}",
        policies.body
    );
    let rules = request(
        &address,
        "GET",
        "/api/v1/alert-rules?group=demo",
        &headers,
        None,
    )
    .await;
    let rules: serde_json::Value = serde_json::from_str(&rules.body).unwrap();
    assert_eq!(rules["rules"].as_array().map(Vec::len), Some(3), "{rules}");
    // The viewer lands on Service health; the dashboards directory is provisioned beside the
    // built-ins, its broken file skipped.
    let home = request(&address, "GET", "/api/v1/home-dashboard", &headers, None).await;
    assert!(
        home.body.contains(r#""uid":"service-health""#),
        "{}",
        home.body
    );
    let mut listed = String::new();
    for _ in 0..50 {
        listed = request(&address, "GET", "/api/v1/dashboards", &headers, None)
            .await
            .body;
        if listed.contains(r#""uid":"team""#) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for uid in ["platform-overview", "on-call", "sla-overview", "team"] {
        assert!(
            listed.contains(&format!(r#""uid":"{uid}""#)),
            "{uid}: {listed}"
        );
    }

    assert!(
        server.stop_with(Signal::SIGTERM),
        "vigil serve did not exit cleanly"
    );
    assert!(
        !is_running(&dir),
        "the embedded PostgreSQL must stop with the server"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_a_first_admin_when_the_database_has_no_users() {
    let dir = data_dir("serve-first");
    let mut server = Server::spawn(
        vigil(&dir)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--web-dir",
                "/nonexistent",
            ])
            .env("VIGIL_ADMIN_PASSWORD", "first admin pass")
            .env("VIGIL_LOG_FORMAT", "json"),
    );
    let address = tokio::task::block_in_place(|| wait_for_banner(&mut server.0));
    let (status, body) = http(
        &address,
        "POST",
        "/api/v1/auth/login",
        Some(r#"{"email":"admin@vigil.local","password":"first admin pass"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        server.stop_with(Signal::SIGINT),
        "Ctrl-C must stop vigil cleanly"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_admin_password_variable_counts_as_unset() {
    let dir = data_dir("serve-empty-env");
    let mut server = Server::spawn(
        vigil(&dir)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--web-dir",
                "/nonexistent",
            ])
            .env("VIGIL_ADMIN_PASSWORD", "")
            .env("VIGIL_LOG_FORMAT", "json"),
    );
    let (_, banner) = tokio::task::block_in_place(|| wait_for_banner_text(&mut server.0));
    assert!(banner.contains("generated for this start"), "{banner}");
    assert!(banner.contains("admin@vigil.local"), "{banner}");
    // Stopped right after the banner: the signal must still shut down cleanly.
    assert!(
        server.stop_with(Signal::SIGTERM),
        "vigil serve did not exit cleanly"
    );
    assert!(
        !is_running(&dir),
        "the embedded PostgreSQL must stop with the server"
    );
}
