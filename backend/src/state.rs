//! What every handler can reach: the database, configuration, keys, the metric store and the
//! live-update bus. Areas import this file; only `router.rs` imports the areas.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::auth::limiter::LoginLimiter;
use crate::auth::token::SigningKey;
use crate::config::AppConfig;
use crate::events::EventBus;
use crate::metrics::MetricStore;
use crate::ops::metrics::Metrics;
use crate::web::assets::WebAssets;

/// Facts about this running server.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    pub started_at: DateTime<Utc>,
    /// `embedded` or `external`.
    pub database_mode: &'static str,
}

/// What every handler can reach. Cheap to clone: everything is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<AppConfig>,
    pub signing_key: Arc<SigningKey>,
    pub login_limiter: Arc<LoginLimiter>,
    /// Vigil's own metrics, exposed at `/metrics`.
    pub telemetry: Arc<Metrics>,
    /// The metric store (samples written by clients and read by PromQL).
    pub metrics: Arc<MetricStore>,
    pub info: Arc<ServerInfo>,
    pub web: Arc<WebAssets>,
    /// Live changes for `/api/v1/events` subscribers.
    pub events: Arc<EventBus>,
}

impl AppState {
    /// Builds the state over a migrated database (the signing key lives there).
    pub async fn new(db: PgPool, config: AppConfig, info: ServerInfo) -> anyhow::Result<Self> {
        let signing_key = SigningKey::load_or_create(&db).await?;
        let login_limiter =
            LoginLimiter::new(config.login_limit_per_ip, config.login_limit_per_account);
        let web = WebAssets::load(config.web_dir.as_deref());
        let metrics = MetricStore::open(db.clone(), config.metrics.clone()).await?;
        Ok(AppState {
            db,
            telemetry: Arc::new(Metrics::new(info.started_at)),
            metrics: Arc::new(metrics),
            signing_key: Arc::new(signing_key),
            login_limiter: Arc::new(login_limiter),
            config: Arc::new(config),
            info: Arc::new(info),
            web: Arc::new(web),
            events: Arc::new(EventBus::default()),
        })
    }
}
