//! `vigil serve`: open the database, migrate, seed, start workers, serve HTTP until a signal,
//! then shut down in order (finish requests, stop workers, close the database).

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use vigil_shared::Role;
use vigil_shared::admin::CreateUserRequest;

use crate::app::{self, AppState, ServerInfo};
use crate::cli::{DatabaseArgs, ServeArgs};
use crate::config::AppConfig;
use crate::db::{self, Database};
use crate::{demo, users, workers};

pub async fn run(database_args: &DatabaseArgs, args: ServeArgs) -> anyhow::Result<()> {
    let started_at = Utc::now();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting Vigil");
    let database = Database::open(&database_args.source(), &database_args.pool_settings()).await?;
    let outcome = serve_with(&database, args, started_at).await;
    if let Err(error) = database.close().await {
        tracing::error!(error = format!("{error:#}"), "closing the database failed");
    }
    outcome
}

async fn serve_with(
    database: &Database,
    args: ServeArgs,
    started_at: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let pool = database.pool.clone();
    tracing::info!("applying database migrations");
    db::migrate(&pool).await?;

    let config = AppConfig {
        cookie_secure: args.cookie_secure,
        trust_proxy_headers: args.trust_proxy_headers,
        web_dir: Some(args.web_dir.clone()),
        ..AppConfig::default()
    };
    let info = ServerInfo {
        started_at,
        database_mode: database.mode(),
    };
    let state = AppState::new(pool.clone(), config, info).await?;

    let credentials = bootstrap_users(&pool, &args).await?;

    let shutdown = CancellationToken::new();
    let workers = workers::start(&state, shutdown.clone());

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    print_banner(
        &address.to_string(),
        credentials.as_ref(),
        database.embedded_url(),
    );

    let app = app::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
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
        let (password, generated) = match &args.demo_password {
            Some(password) => (password.clone(), false),
            None => (demo::random_password(), true),
        };
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
    let (password, generated) = match &args.admin_password {
        Some(password) => (password.clone(), false),
        None => (demo::random_password(), true),
    };
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

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and systemd send).
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
