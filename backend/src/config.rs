//! Settings the HTTP application runs with, resolved from the command line before start-up.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::limiter::Limit;
use crate::metrics::store::StoreConfig;
use crate::notify::send::SmtpRelay;
use crate::outbound::Outbound;
use crate::promql::limits::QueryLimits;

#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Mark cookies `Secure` (set this when Vigil is served over HTTPS).
    pub cookie_secure: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_proxy_headers: bool,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// A rotated refresh token presented again within this long is taken for two tabs
    /// refreshing at once (the browser already holds the successor), not for theft.
    pub refresh_reuse_grace: Duration,
    pub lockout: LockoutPolicy,
    pub login_limit_per_ip: Limit,
    pub login_limit_per_account: Limit,
    /// Largest request body the JSON API accepts.
    pub body_limit_bytes: usize,
    /// The built web frontend (`index.html` and `assets/`); `None` serves a notice instead.
    pub web_dir: Option<PathBuf>,
    /// Ingestion body limits.
    pub ingest: IngestLimits,
    /// Metric storage: retention, accepted time window, write concurrency, label limits.
    pub metrics: StoreConfig,
    /// What one query or rule evaluation may cost.
    pub query: QueryLimits,
    /// Where webhooks, contact methods, channels and scrape targets may send (the default
    /// refusals plus the ranges `--outbound-allow` opened).
    pub outbound: Outbound,
    /// Most rules one Prometheus rule file import may hold.
    pub rule_import_max: usize,
    /// The mail relay users' email contact methods and scheduled SLA reports are sent through
    /// (`--smtp-url`); without one, such deliveries fail at once.
    pub smtp: Option<SmtpRelay>,
    /// A directory of dashboard files (Vigil's or Grafana's JSON, or YAML) to provision and
    /// keep in step with (`--dashboards-dir`).
    pub dashboards_dir: Option<PathBuf>,
}

/// Consecutive failed logins that lock an account, and for how long.
#[derive(Clone, Debug)]
pub struct LockoutPolicy {
    pub max_failures: i32,
    pub duration: Duration,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            cookie_secure: false,
            trust_proxy_headers: false,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_reuse_grace: Duration::from_secs(10),
            lockout: LockoutPolicy {
                max_failures: 5,
                duration: Duration::from_secs(15 * 60),
            },
            login_limit_per_ip: Limit {
                attempts: 30,
                per: Duration::from_secs(60),
            },
            login_limit_per_account: Limit {
                attempts: 10,
                per: Duration::from_secs(60),
            },
            body_limit_bytes: 1024 * 1024,
            web_dir: None,
            ingest: IngestLimits::default(),
            metrics: StoreConfig::default(),
            query: QueryLimits::default(),
            rule_import_max: 1000,
            outbound: Outbound::default(),
            smtp: None,
            dashboards_dir: None,
        }
    }
}

/// Limits on ingestion request bodies.
#[derive(Clone, Debug)]
pub struct IngestLimits {
    /// Largest body as sent (compressed).
    pub max_body_bytes: usize,
    /// Largest body after decompression.
    pub max_decompressed_bytes: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_body_bytes: 16 * 1024 * 1024,
            max_decompressed_bytes: 64 * 1024 * 1024,
        }
    }
}
