//! The command line's arguments, as clap parses them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use vigil_shared::Role;

use crate::db::{DatabaseSource, PoolSettings};
use crate::notify::send::{SmtpRelay, SmtpServer};
use crate::outbound::Outbound;
use crate::promql::QueryLimits;
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "vigil",
    version,
    about = "Self-hosted observability: metrics, alerts, incidents and SLA reports in one binary.",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the database is. Shared by every command, so `vigil user create` finds the same
/// database as `vigil serve`.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL. Without it, Vigil runs its own PostgreSQL in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for Vigil's state, including the embedded PostgreSQL cluster.
    #[arg(
        long,
        env = "VIGIL_DATA_DIR",
        default_value = "./vigil-data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Most database connections this process opens.
    #[arg(
        long,
        env = "VIGIL_DB_MAX_CONNECTIONS",
        default_value_t = 20,
        global = true
    )]
    pub db_max_connections: u32,
}

impl DatabaseArgs {
    pub fn source(&self) -> DatabaseSource {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => DatabaseSource::Url(url.clone()),
            _ => DatabaseSource::Embedded(self.data_dir.clone()),
        }
    }

    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections,
            ..PoolSettings::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: API, web UI and background workers on one port.
    Serve(ServeArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Apply pending database migrations and exit (`serve` also does this at start-up).
    Migrate,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "VIGIL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Seed demo users (one per role; see --demo-password) and run the demo workload: three
    /// synthetic services (checkout, payments, search) with 6 hours of history, live data
    /// every 15 s, and scheduled latency spikes, error bursts and CPU saturation. Also sets up
    /// (when missing) a team, an on-call schedule, an escalation policy and alert rules that
    /// fire on that trouble.
    #[arg(long, env = "VIGIL_DEMO")]
    pub demo: bool,

    /// Password for the demo users. Without it, a random one is generated and printed.
    #[arg(long, env = "VIGIL_DEMO_PASSWORD", hide_env_values = true)]
    pub demo_password: Option<String>,

    /// Email of the admin created on the first start when there are no users (not with --demo).
    #[arg(long, env = "VIGIL_ADMIN_EMAIL", default_value = "admin@vigil.local")]
    pub admin_email: String,

    /// Password of that first admin. Without it, a random one is generated and printed once.
    #[arg(long, env = "VIGIL_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Do not scrape Vigil's own metrics (by default it does, every 15 s, as job "vigil").
    #[arg(long, env = "VIGIL_NO_SELF_SCRAPE")]
    pub no_self_scrape: bool,

    /// How long metric samples are kept, in days (whole days are dropped at once).
    #[arg(long, env = "VIGIL_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub retention_days: u32,

    /// Memory for recently queried raw samples, in MiB, so refreshing dashboards read only
    /// what changed since their last refresh (0 turns the cache off).
    #[arg(long, env = "VIGIL_QUERY_CACHE_MB", default_value_t = 128)]
    pub query_cache_mb: usize,

    /// Most samples one query (or one rule evaluation) may hold in memory at once, counting
    /// samples read and points computed, about 16 bytes each; a query needing more is refused
    /// with a 422.
    #[arg(long, env = "VIGIL_QUERY_MAX_SAMPLES", default_value_t = QueryLimits::default().max_samples as u64, value_parser = clap::value_parser!(u64).range(1000..))]
    pub query_max_samples: u64,

    /// Longest one query (or rule evaluation) may run, as a duration such as 30s or 2m.
    #[arg(long, env = "VIGIL_QUERY_TIMEOUT", default_value = "2m", value_parser = parse_timeout)]
    pub query_timeout: Duration,

    /// Queries and rule evaluations that read and compute at once; more wait (within their
    /// timeout). Memory for queries is at most this many times --query-max-samples samples.
    #[arg(long, env = "VIGIL_QUERY_MAX_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub query_max_concurrency: u32,

    /// Deepest PromQL expression accepted: `a + b + c` is 3 levels deep. Deeper queries, and
    /// rules, are refused before they are evaluated.
    #[arg(long, env = "VIGIL_QUERY_MAX_DEPTH", default_value_t = QueryLimits::default().max_depth as u32, value_parser = clap::value_parser!(u32).range(8..=4096))]
    pub query_max_depth: u32,

    /// Address ranges that webhooks, contact methods, notification channels and scrape
    /// targets may reach although Vigil refuses them by default (loopback, link-local such as
    /// 169.254.169.254, unspecified, multicast), separated by commas: e.g. 127.0.0.1/32 to
    /// scrape an exporter on this host. Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7)
    /// are always allowed.
    #[arg(long, env = "VIGIL_OUTBOUND_ALLOW", default_value = "", value_parser = Outbound::parse, hide_default_value = true)]
    pub outbound_allow: Outbound,

    /// Most rules one import of a Prometheus rule file may hold.
    #[arg(long, env = "VIGIL_RULE_IMPORT_MAX", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rule_import_max: u32,

    /// Directory of dashboard files to provision: *.json, *.yaml and *.yml, in Vigil's model
    /// or as Grafana exports them. Loaded at start and again when a file changes (checked
    /// every 10 s); each is read-only in the UI (save a copy to change it), a removed file
    /// removes its dashboard, and a broken one is logged and skipped. A file's uid is its
    /// own, or made from its name.
    #[arg(long, env = "VIGIL_DASHBOARDS_DIR")]
    pub dashboards_dir: Option<PathBuf>,

    /// Directory of the built web frontend (holding index.html and assets/).
    #[arg(long, env = "VIGIL_WEB_DIR", default_value = "frontend/dist")]
    pub web_dir: PathBuf,

    /// Log format.
    #[arg(long, env = "VIGIL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,

    /// Mark session cookies Secure; set it when users reach Vigil over HTTPS.
    #[arg(long, env = "VIGIL_COOKIE_SECURE")]
    pub cookie_secure: bool,

    /// Take client addresses from X-Forwarded-For; only behind a reverse proxy you trust.
    #[arg(long, env = "VIGIL_TRUST_PROXY_HEADERS")]
    pub trust_proxy_headers: bool,

    /// Mail server for users' email contact methods and scheduled SLA reports (needs
    /// --smtp-from):
    /// smtp://[user:password@]host[:port] or smtps://…. With a user name, smtp:// upgrades
    /// with STARTTLS (port 587 by default); without one it speaks plain SMTP (port 25), as a
    /// local relay expects; smtps:// is TLS from the start (port 465). Add ?tls=none,
    /// ?tls=starttls or ?tls=tls to choose. Without it, email contact methods and scheduled
    /// reports fail.
    #[arg(long, env = "VIGIL_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of those emails: vigil@example.com or "Vigil <vigil@example.com>".
    #[arg(long, env = "VIGIL_SMTP_FROM")]
    pub smtp_from: Option<String>,
}

impl ServeArgs {
    /// The limits every query and rule evaluation runs within.
    pub fn query_limits(&self) -> QueryLimits {
        QueryLimits {
            max_samples: usize::try_from(self.query_max_samples).unwrap_or(usize::MAX),
            timeout: self.query_timeout,
            max_depth: self.query_max_depth as usize,
        }
    }

    /// The mail relay from --smtp-url and --smtp-from; none when the URL is unset or empty
    /// (deployment templates often pass `VAR=` for "unset").
    pub fn smtp_relay(&self) -> anyhow::Result<Option<SmtpRelay>> {
        let Some(url) = self.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let server = SmtpServer::parse(url).map_err(|e| anyhow::anyhow!("--smtp-url {e}"))?;
        let from = self
            .smtp_from
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!("--smtp-from (VIGIL_SMTP_FROM) is required with --smtp-url")
            })?;
        SmtpRelay::new(server, from)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("--smtp-from: {e}"))
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (works while a server is running on the same data directory).
    Create(CreateUserArgs),
}

#[derive(Debug, Args)]
pub struct CreateUserArgs {
    #[arg(long)]
    pub email: String,

    /// The password; `-` reads it from standard input (keeps it out of the process list).
    #[arg(long)]
    pub password: String,

    #[arg(long, value_parser = parse_role)]
    pub role: Role,

    /// Name shown in the UI (defaults to the part of the email before the @).
    #[arg(long, default_value = "")]
    pub display_name: String,
}

fn parse_timeout(value: &str) -> Result<Duration, String> {
    match crate::promql::api::parse_duration(value) {
        Some(ms) if ms > 0 => Ok(Duration::from_millis(ms as u64)),
        _ => Err("must be a positive duration such as 30s or 2m".to_owned()),
    }
}

fn parse_role(value: &str) -> Result<Role, String> {
    value.parse::<Role>().map_err(|e| e.to_string())
}
