//! Scrape targets: URLs serving Prometheus metrics that Vigil fetches on a schedule.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A target as the form sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScrapeTargetRequest {
    pub job: String,
    pub url: String,
    /// How often to scrape (Prometheus duration).
    #[serde(default = "default_interval")]
    pub interval: String,
    /// How long one scrape may take; at most the interval.
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// Labels added to every scraped sample.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_interval() -> String {
    "15s".to_owned()
}

fn default_timeout() -> String {
    "10s".to_owned()
}

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetHealth {
    Unknown,
    Up,
    Down,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScrapeTarget {
    pub id: i64,
    #[serde(flatten)]
    pub target: ScrapeTargetRequest,
    pub health: TargetHealth,
    pub last_scrape_at: Option<DateTime<Utc>>,
    pub last_duration_ms: Option<i32>,
    pub last_error: Option<String>,
    pub last_sample_count: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScrapeTargetList {
    pub targets: Vec<ScrapeTarget>,
}
