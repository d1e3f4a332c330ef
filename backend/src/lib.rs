//! Vigil's server: a library so that integration tests and the benchmark harness can build
//! the same application the binary runs.

pub mod alerting;
pub mod annotations;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod csv;
pub mod dashboards;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod incidents;
pub mod ingest;
pub mod metrics;
pub mod notify;
pub mod oncall;
pub mod ops;
pub mod outbound;
pub mod promql;
pub mod references;
pub mod router;
pub mod scrape;
pub mod serve;
pub mod slo;
pub mod state;
pub mod teams;
pub mod telemetry;
pub mod ticker;
pub mod users;
pub mod web;
pub mod workers;
