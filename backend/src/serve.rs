//! `vigil serve`: open the database, migrate, seed, start workers, serve HTTP until a signal,
//! then shut down in order (finish requests, stop workers, close the database).

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;
use vigil_shared::Role;
use vigil_shared::admin::CreateUserRequest;

use crate::cli::args::{DatabaseArgs, ServeArgs};
use crate::config::AppConfig;
use crate::db::{self, Database};
use crate::metrics::StoreConfig;
use crate::notify::send::SmtpRelay;
use crate::router;
use crate::state::{AppState, ServerInfo};
use crate::{dashboards, demo, scrape, users, workers};

pub async fn run(database_args: &DatabaseArgs, args: ServeArgs) -> anyhow::Result<()> {
    let started_at = Utc::now();
    // Listen for signals before anything else, so one arriving during start-up is honoured
    // (with an orderly shutdown) rather than killing the process and orphaning PostgreSQL.
    let signals = ShutdownSignals::listen()?;
    // Settings are checked before anything starts, so a mistake costs no database start-up.
    let smtp = args.smtp_relay()?;
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting Vigil");
    let database = Database::open(&database_args.source(), &database_args.pool_settings()).await?;
    let outcome = serve_with(&database, args, smtp, started_at, signals).await;
    if let Err(error) = database.close().await {
        tracing::error!(error = format!("{error:#}"), "closing the database failed");
    }
    outcome
}

async fn serve_with(
    database: &Database,
    args: ServeArgs,
    smtp: Option<SmtpRelay>,
    started_at: chrono::DateTime<Utc>,
    signals: ShutdownSignals,
) -> anyhow::Result<()> {
    let pool = database.pool.clone();
    tracing::info!("applying database migrations");
    db::migrate(&pool).await?;

    let config = AppConfig {
        cookie_secure: args.cookie_secure,
        trust_proxy_headers: args.trust_proxy_headers,
        web_dir: Some(args.web_dir.clone()),
        metrics: StoreConfig {
            retention: Duration::from_secs(u64::from(args.retention_days) * 86_400),
            query_cache_bytes: args.query_cache_mb << 20,
            max_concurrent_queries: args.query_max_concurrency as usize,
            ..StoreConfig::default()
        },
        query: args.query_limits(),
        rule_import_max: args.rule_import_max as usize,
        outbound: args.outbound_allow.clone(),
        smtp,
        // An empty value counts as not given, as deployment templates pass `VAR=`.
        dashboards_dir: args
            .dashboards_dir
            .clone()
            .filter(|dir| !dir.as_os_str().is_empty()),
        ..AppConfig::default()
    };
    let info = ServerInfo {
        started_at,
        database_mode: database.mode(),
    };
    let state = AppState::new(pool.clone(), config, info).await?;

    let credentials = bootstrap_users(&pool, &args).await?;
    if args.demo {
        demo::seed::seed(&pool, Utc::now())
            .await
            .context("setting up the demo's team, schedule, escalation policy and alert rules")?;
    }
    let built_in = dashboards::provision::provision_built_in(&pool)
        .await
        .context("provisioning the built-in dashboards")?;
    if args.demo {
        dashboards::provision::set_missing_role_homes(&pool, &built_in, &demo::DEMO_HOMES)
            .await
            .context("setting the demo users' home dashboards")?;
    }

    let shutdown = CancellationToken::new();
    let mut workers = workers::start(&state, shutdown.clone());
    if let Some(cluster) = database.embedded() {
        let (telemetry, stop) = (state.telemetry.clone(), shutdown.clone());
        workers.supervise("embedded database supervision", move || {
            let telemetry = telemetry.clone();
            db::supervise_embedded(
                cluster.clone(),
                move || telemetry.record_database_restart(),
                stop.clone(),
            )
        });
    }
    if args.demo {
        let (metrics, stop) = (state.metrics.clone(), shutdown.clone());
        workers.supervise("demo workload", move || {
            demo::workload::run(metrics.clone(), stop.clone())
        });
    }

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    if !args.no_self_scrape {
        let (metrics, telemetry, db, stop) = (
            state.metrics.clone(),
            state.telemetry.clone(),
            state.db.clone(),
            shutdown.clone(),
        );
        let instance = address.to_string();
        workers.supervise("self-scrape", move || {
            scrape::worker::self_scrape_worker(
                metrics.clone(),
                telemetry.clone(),
                db.clone(),
                instance.clone(),
                stop.clone(),
            )
        });
    }
    print_banner(
        &address.to_string(),
        credentials.as_ref(),
        database.embedded_url(),
    );

    let app = router::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(tuned(listener), app)
        .with_graceful_shutdown(signals.received())
        .await
        .context("the HTTP server failed")?;

    tracing::info!("finishing background work");
    shutdown.cancel();
    if tokio::time::timeout(Duration::from_secs(10), workers.wait())
        .await
        .is_err()
    {
        tracing::warn!("background workers did not stop within 10 seconds");
    }
    Ok(())
}

/// Who can log in, to print at start-up: the demo users, or the first admin.
struct Credentials {
    users: Vec<(String, Role)>,
    password: String,
    generated: bool,
}

async fn bootstrap_users(
    pool: &sqlx::PgPool,
    args: &ServeArgs,
) -> anyhow::Result<Option<Credentials>> {
    if args.demo {
        let (password, generated) = chosen_or_generated(args.demo_password.as_deref());
        demo::seed_users(pool, &password).await?;
        return Ok(Some(Credentials {
            users: demo::DEMO_USERS
                .iter()
                .map(|(email, _, role)| ((*email).to_owned(), *role))
                .collect(),
            password,
            generated,
        }));
    }
    if users::count(pool).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = chosen_or_generated(args.admin_password.as_deref());
    let admin = users::NewUser::parse(&CreateUserRequest {
        email: args.admin_email.clone(),
        display_name: "Administrator".to_owned(),
        password: password.clone(),
        role: Role::Admin,
    })
    .map_err(|e| anyhow::anyhow!("the first admin: {e}"))?;
    users::upsert_with_password(pool, &admin).await?;
    Ok(Some(Credentials {
        users: vec![(admin.email.to_string(), Role::Admin)],
        password,
        generated,
    }))
}

/// The password given, or a generated one (and whether it was generated). An empty value
/// counts as not given: deployment templates often pass `VAR=` for "unset".
fn chosen_or_generated(given: Option<&str>) -> (String, bool) {
    match given.filter(|p| !p.is_empty()) {
        Some(password) => (password.to_owned(), false),
        None => (demo::random_password(), true),
    }
}

fn print_banner(address: &str, credentials: Option<&Credentials>, embedded_url: Option<String>) {
    let mut banner = format!(
        "\n  Vigil {} is ready at http://{address}\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(credentials) = credentials {
        let note = if credentials.generated {
            " (generated for this start)"
        } else {
            ""
        };
        banner.push_str(&format!(
            "\n  Log in with password {}{note} as:\n",
            credentials.password
        ));
        for (email, role) in &credentials.users {
            banner.push_str(&format!("    {email:<24} {role}\n"));
        }
    }
    if let Some(url) = embedded_url {
        banner.push_str(&format!("\n  Embedded PostgreSQL: psql \"{url}\"\n"));
    }
    banner.push_str("\n  Stop with Ctrl-C.\n");
    println!("{banner}");
}

/// SIGINT (Ctrl-C) and SIGTERM (what `docker stop` and systemd send), registered at once.
struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    fn listen() -> anyhow::Result<Self> {
        Ok(ShutdownSignals {
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        })
    }

    /// Resolves when either signal arrives (or has arrived since `listen`).
    async fn received(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

/// The listener with Nagle's algorithm off on every connection: a response written in parts
/// must not wait for the client's delayed acknowledgment (tens of milliseconds) between them.
pub fn tuned(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    fn no_delay(tcp: &mut tokio::net::TcpStream) {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot turn Nagle's algorithm off");
        }
    }
    listener.tap_io(no_delay as fn(&mut tokio::net::TcpStream))
}
