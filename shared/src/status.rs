//! What a running Vigil says about itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BuildInfo {
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub database: DatabaseInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    /// `embedded` when Vigil runs its own PostgreSQL cluster, `external` with `DATABASE_URL`.
    pub mode: String,
    pub server_version: String,
    pub timescaledb: Option<String>,
}
