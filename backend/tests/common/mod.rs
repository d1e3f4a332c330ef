//! Test harness: the real router over a real PostgreSQL database, fresh for every test.
//!
//! Databases are cloned from a template that has every migration applied (cloning takes
//! milliseconds; migrating each one would not). The server is `VIGIL_TEST_DATABASE_URL` when
//! set, otherwise a throwaway cluster under `target/tmp/` started through Vigil's own embedded
//! PostgreSQL support.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

pub mod process;
pub mod receivers;
pub mod remote_write;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::OnceLock;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tower::ServiceExt as _;
use vigil::config::AppConfig;
use vigil::db::{self, EmbeddedCluster, EmbeddedOptions, PoolSettings};
use vigil::outbound::{self, Outbound};
use vigil::router::router;
use vigil::state::{AppState, ServerInfo};
use vigil_shared::Role;
use vigil_shared::auth::User;
use vigil_shared::error::ErrorBody;

pub const PASSWORD: &str = "correct horse battery";

static CLUSTER: OnceLock<EmbeddedCluster> = OnceLock::new();

/// Settings for a throwaway cluster: durability off, speed on.
pub fn throwaway_cluster_options() -> EmbeddedOptions {
    EmbeddedOptions {
        settings: [
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    }
}

/// Connection options for the test server's maintenance database.
async fn server_options() -> PgConnectOptions {
    if let Ok(url) = std::env::var("VIGIL_TEST_DATABASE_URL") {
        return PgConnectOptions::from_str(&url)
            .expect("VIGIL_TEST_DATABASE_URL is not a valid URL");
    }
    let cluster = tokio::task::spawn_blocking(|| {
        CLUSTER.get_or_init(|| {
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("vigil-test-pg");
            EmbeddedCluster::start(&dir, &throwaway_cluster_options())
                .expect("cannot start the test PostgreSQL")
        })
    })
    .await
    .unwrap();
    cluster.connect_options("postgres")
}

/// Creates a fresh database with every migration applied and returns options to reach it.
pub async fn fresh_database() -> PgConnectOptions {
    let server = server_options().await;
    let mut admin = PgConnection::connect_with(&server.clone().database("postgres"))
        .await
        .expect("cannot connect to the test PostgreSQL");

    let mut fingerprint = Sha256::new();
    for migration in db::MIGRATOR.iter() {
        fingerprint.update(migration.version.to_le_bytes());
        fingerprint.update(&migration.checksum);
    }
    let digest = fingerprint.finalize();
    let template = format!(
        "vigil_tpl_{}",
        digest[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );

    // One test process creates the template; the others wait for it.
    sqlx::query("SELECT pg_advisory_lock(7000001)")
        .execute(&mut admin)
        .await
        .unwrap();
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {template}_building"))
            .execute(&mut admin)
            .await
            .unwrap();
        let mut conn =
            PgConnection::connect_with(&server.clone().database(&format!("{template}_building")))
                .await
                .unwrap();
        db::MIGRATOR
            .run(&mut conn)
            .await
            .expect("migrations failed on the template");
        conn.close().await.unwrap();
        sqlx::query(&format!(
            "ALTER DATABASE {template}_building RENAME TO {template}"
        ))
        .execute(&mut admin)
        .await
        .unwrap();
    }
    sqlx::query("SELECT pg_advisory_unlock(7000001)")
        .execute(&mut admin)
        .await
        .unwrap();

    let name = format!("vigil_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        .execute(&mut admin)
        .await
        .expect("cannot create a test database");
    admin.close().await.unwrap();
    server.database(&name)
}

/// A fresh database (as [`fresh_database`]) as a URL, for the real `vigil` binary's
/// `DATABASE_URL`.
pub async fn fresh_database_url() -> String {
    let options = fresh_database().await;
    let database = options.get_database().expect("a fresh database has a name");
    if let Ok(server) = std::env::var("VIGIL_TEST_DATABASE_URL") {
        let mut url = reqwest::Url::parse(&server).expect("VIGIL_TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{database}"));
        return url.to_string();
    }
    let socket = options
        .get_socket()
        .expect("the test cluster listens on a socket");
    format!(
        "postgresql://{}@localhost/{database}?host={}&port={}",
        options.get_username(),
        socket.display(),
        options.get_port()
    )
}

/// The application under test, with its own database.
pub struct TestApp {
    pub state: AppState,
    pub db: PgPool,
    router: Router,
}

/// The server's defaults, except that outbound requests may reach loopback, where the tests'
/// receivers (webhooks, mail servers, scrape targets) listen.
pub fn test_config() -> AppConfig {
    AppConfig {
        outbound: Outbound::allowing(vec![outbound::loopback(), outbound::loopback_v6()]),
        ..AppConfig::default()
    }
}

/// Where the tests' receivers may be reached (see [`test_config`]).
pub fn loopback_allowed() -> Outbound {
    test_config().outbound
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(test_config()).await
    }

    pub async fn spawn_with(config: AppConfig) -> Self {
        let options = fresh_database().await;
        let pool = db::pool_options(&PoolSettings {
            max_connections: 5,
            ..PoolSettings::default()
        })
        .connect_with(db::quiet(options))
        .await
        .expect("cannot connect to the test database");
        Self::over(pool, config).await
    }

    /// The application over an existing pool (for tests that control the database server).
    pub async fn over(pool: PgPool, config: AppConfig) -> Self {
        let info = ServerInfo {
            started_at: chrono::Utc::now(),
            database_mode: "external",
        };
        let state = AppState::new(pool.clone(), config, info)
            .await
            .expect("cannot build the application state");
        TestApp {
            router: router(state.clone()),
            state,
            db: pool,
        }
    }

    /// The response with its body unread, for streams (Server-Sent Events).
    pub async fn open(&self, request: Request<Body>) -> axum::response::Response {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible")
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// A client without a session.
    pub fn anonymous(&self) -> Client<'_> {
        Client {
            app: self,
            cookies: HashMap::new(),
            bearer: None,
            forwarded_for: None,
            fetch_site: "same-origin",
        }
    }

    /// A client authenticating with an API key.
    pub fn with_api_key(&self, key: &str) -> Client<'_> {
        Client {
            bearer: Some(key.to_owned()),
            ..self.anonymous()
        }
    }

    /// A new API key with `scopes`, created through the API by a new admin; its secret.
    pub async fn api_key(&self, scopes: &[&str]) -> String {
        let mut admin = self.login_as(Role::Admin).await;
        let created: vigil_shared::admin::CreatedApiKey = admin
            .post(
                "/api/v1/api-keys",
                &serde_json::json!({ "name": format!("{} key", scopes.join("+")), "scopes": scopes }),
            )
            .await
            .json();
        created.secret
    }

    /// Creates a user directly in the database (password [`PASSWORD`]).
    pub async fn create_user(&self, email: &str, role: Role) -> i64 {
        let user = vigil::users::NewUser::parse(&vigil_shared::admin::CreateUserRequest {
            email: email.to_owned(),
            display_name: String::new(),
            password: PASSWORD.to_owned(),
            role,
        })
        .unwrap();
        vigil::users::upsert_with_password(&self.db, &user)
            .await
            .unwrap()
    }

    /// A logged-in client for a new user with `role`.
    pub async fn login_as(&self, role: Role) -> Client<'_> {
        let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        self.create_user(&email, role).await;
        self.login(&email, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Client<'_> {
        let mut client = self.anonymous();
        let response = client
            .post(
                "/api/v1/auth/login",
                &serde_json::json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "login as {email} failed: {}",
            response.text()
        );
        let user: User = response.json();
        assert_eq!(user.email, email);
        client
    }
}

/// A browser-like client: keeps the cookies the server sets and sends them back.
pub struct Client<'a> {
    app: &'a TestApp,
    pub cookies: HashMap<String, String>,
    bearer: Option<String>,
    forwarded_for: Option<String>,
    /// The `Sec-Fetch-Site` the browser would send: Vigil's own pages call it same-origin.
    fetch_site: &'static str,
}

impl<'a> Client<'a> {
    /// The same browser, but the requests come from another site's page.
    pub fn on_another_site(mut self) -> Self {
        self.fetch_site = "cross-site";
        self
    }

    /// Pretends requests come from `ip` (needs `trust_proxy_headers`).
    pub fn via_ip(mut self, ip: &str) -> Self {
        self.forwarded_for = Some(ip.to_owned());
        self
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, body: &impl Serialize) -> TestResponse {
        self.request(Method::POST, path, Some(serde_json::to_vec(body).unwrap()))
            .await
    }

    pub async fn post_empty(&mut self, path: &str) -> TestResponse {
        self.request(Method::POST, path, None).await
    }

    pub async fn patch(&mut self, path: &str, body: &impl Serialize) -> TestResponse {
        self.request(Method::PATCH, path, Some(serde_json::to_vec(body).unwrap()))
            .await
    }

    pub async fn delete(&mut self, path: &str) -> TestResponse {
        self.request(Method::DELETE, path, None).await
    }

    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        json: Option<Vec<u8>>,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(cookie) = self.cookie_header() {
            builder = builder.header(header::COOKIE, cookie);
        }
        if let Some(key) = &self.bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        if let Some(ip) = &self.forwarded_for {
            builder = builder.header("x-forwarded-for", ip);
        }
        builder = builder.header("sec-fetch-site", self.fetch_site);
        let body = match json {
            Some(bytes) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let response = self.app.send(builder.body(body).unwrap()).await;
        self.store_cookies(&response.headers);
        response
    }

    /// The `Cookie` header this client would send.
    pub fn cookie_header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        Some(
            self.cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    fn store_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = text.contains("Max-Age=0");
            if expired || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("unexpected body ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as Vigil's error format; panics if it is not.
    pub fn error(&self) -> ErrorBody {
        self.json()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}
