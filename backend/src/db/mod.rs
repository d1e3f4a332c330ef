//! The database: where it is (embedded cluster or `DATABASE_URL`), the connection pool, and
//! migrations.

pub mod embedded;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::de::{DeserializeOwned, IntoDeserializer as _};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use tokio_util::sync::CancellationToken;

pub use embedded::{EmbeddedCluster, EmbeddedOptions};

/// Every migration, compiled into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Where the database is.
#[derive(Clone, Debug)]
pub enum DatabaseSource {
    /// An existing PostgreSQL, by URL.
    Url(String),
    /// Vigil's own cluster in this data directory.
    Embedded(PathBuf),
}

#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a connection before answering 503.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 20,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// An open database: the pool, plus the embedded cluster when Vigil runs one.
pub struct Database {
    pub pool: PgPool,
    cluster: Option<Arc<EmbeddedCluster>>,
}

impl Database {
    /// Connects (starting the embedded cluster first if that is the source). Migrations are
    /// not run here: see [`migrate`].
    pub async fn open(source: &DatabaseSource, settings: &PoolSettings) -> anyhow::Result<Self> {
        let (options, cluster) = match source {
            DatabaseSource::Url(url) => {
                let options = PgConnectOptions::from_str(url)
                    .context("DATABASE_URL is not a valid PostgreSQL URL")?;
                (options, None)
            }
            DatabaseSource::Embedded(data_dir) => {
                let data_dir = data_dir.clone();
                let cluster = tokio::task::spawn_blocking(move || {
                    EmbeddedCluster::start(&data_dir, &EmbeddedOptions::default())
                })
                .await
                .context("the embedded database start-up panicked")??;
                ensure_database(&cluster, embedded::DATABASE_NAME).await?;
                (
                    cluster.connect_options(embedded::DATABASE_NAME),
                    Some(Arc::new(cluster)),
                )
            }
        };
        let pool = pool_options(settings)
            .connect_with(quiet(options))
            .await
            .context("cannot connect to PostgreSQL")?;
        Ok(Database { pool, cluster })
    }

    /// `embedded` or `external`, as the status API reports it.
    pub fn mode(&self) -> &'static str {
        if self.cluster.is_some() {
            "embedded"
        } else {
            "external"
        }
    }

    /// The embedded cluster's URL, for people who want to look inside with `psql`.
    pub fn embedded_url(&self) -> Option<String> {
        self.cluster
            .as_ref()
            .map(|c| c.url(embedded::DATABASE_NAME))
    }

    /// The embedded cluster, when Vigil runs one (to supervise it).
    pub fn embedded(&self) -> Option<Arc<EmbeddedCluster>> {
        self.cluster.clone()
    }

    /// Closes the pool and leaves the embedded cluster (stopping it if nobody else uses it).
    pub async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            tokio::task::spawn_blocking(move || cluster.release())
                .await
                .context("the embedded database shut-down panicked")??;
        }
        Ok(())
    }
}

pub fn pool_options(settings: &PoolSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(1)
        .acquire_timeout(settings.acquire_timeout)
        // Connections idle for a while are checked before use, so a restarted database is
        // reconnected to without restarting Vigil. One returned moments ago was checked then
        // (sqlx pings every connection given back): checking it again would add a round trip
        // to every checkout under load.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                use sqlx::Connection as _;
                if meta.idle_for >= Duration::from_secs(1) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Keeps the embedded cluster running: every second, checks that its postmaster lives and
/// starts it again if not (logging why it was down, and calling `on_restart`), waiting longer
/// between attempts that fail (1 s doubling to a minute). The pool reconnects by itself:
/// connections to the old postmaster fail once and are replaced. Returns on `shutdown`.
pub async fn supervise_embedded(
    cluster: Arc<EmbeddedCluster>,
    on_restart: impl Fn() + Send + 'static,
    shutdown: CancellationToken,
) {
    const CHECK_EVERY: Duration = Duration::from_secs(1);
    const LONGEST_WAIT: Duration = Duration::from_secs(60);
    let mut wait = CHECK_EVERY;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        let checked = cluster.clone();
        match tokio::task::spawn_blocking(move || checked.restart_if_down()).await {
            Ok(Ok(None)) => wait = CHECK_EVERY,
            Ok(Ok(Some(reason))) => {
                tracing::warn!(%reason, "the embedded PostgreSQL was down and has been restarted");
                on_restart();
                wait = CHECK_EVERY;
            }
            Ok(Err(error)) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    retry_in_s = wait.as_secs(),
                    "the embedded PostgreSQL is down and could not be restarted yet"
                );
                wait = (wait * 2).min(LONGEST_WAIT);
            }
            Err(panic) => {
                tracing::error!(%panic, "checking the embedded PostgreSQL panicked");
                wait = (wait * 2).min(LONGEST_WAIT);
            }
        }
    }
}

/// Statement logging at INFO would drown everything else; keep only slow statements.
pub fn quiet(options: PgConnectOptions) -> PgConnectOptions {
    options
        .log_statements(tracing::log::LevelFilter::Debug)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1))
}

/// Creates `name` in the embedded cluster if it is missing.
pub async fn ensure_database(cluster: &EmbeddedCluster, name: &str) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect_with(&quiet(cluster.connect_options("postgres")))
        .await
        .context("cannot connect to the embedded PostgreSQL")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        sqlx::query(&format!(
            "CREATE DATABASE \"{}\"",
            name.replace('"', "\"\"")
        ))
        .execute(&mut admin)
        .await
        .with_context(|| format!("cannot create database {name}"))?;
    }
    admin.close().await?;
    Ok(())
}

/// Applies pending migrations. Safe with several replicas: sqlx holds an advisory lock.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("database migration failed")
}

/// Whether every migration known to this binary has been applied.
pub async fn migrations_applied(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    Ok(applied.unwrap_or(0) >= latest)
}

/// A value of a checked text column (a status, a state) as its enum, by its serde name. A value
/// this build does not know is an error, never a default: a default would show, and act on, a
/// state the row is not in.
pub fn stored<T: DeserializeOwned>(column: &str, text: &str) -> Result<T, sqlx::Error> {
    T::deserialize(text.into_deserializer()).map_err(|_: serde::de::value::Error| {
        sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: format!("unknown value {text:?}").into(),
        }
    })
}

#[cfg(test)]
mod tests {
    use vigil_shared::incident::IncidentStatus;

    use super::*;

    #[test]
    fn a_stored_status_this_build_does_not_know_is_an_error() {
        assert_eq!(
            stored::<IncidentStatus>("incidents.status", "acknowledged").unwrap(),
            IncidentStatus::Acknowledged
        );
        let error = stored::<IncidentStatus>("incidents.status", "snoozed").unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"error occurred while decoding column incidents.status: unknown value "snoozed""#
        );
        assert!(stored::<IncidentStatus>("incidents.status", "Triggered").is_err());
    }
}
