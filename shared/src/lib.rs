//! Wire types of Vigil's HTTP API: what the server sends and accepts, shared with the
//! WASM frontend so both sides agree at compile time. Server-only code stays out of here.

pub mod admin;
pub mod alerting;
pub mod auth;
pub mod contact;
pub mod dashboard;
pub mod directory;
pub mod error;
pub mod incident;
pub mod live;
pub mod notify;
pub mod prometheus;
pub mod role;
pub mod schedule;
pub mod scrape;
pub mod slo;
pub mod status;

pub use role::Role;
